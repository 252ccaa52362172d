"""The farm's HTTP client (requests), shared by workers, the CLI and the add-on's dispatch.

Every failure becomes a FarmError with one line a person can act on: the server is down, the
token is refused, or what the server said was wrong with the request.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

import requests

from engine.errors import HartomatError
from engine.model.artifacts import sha256_file

T = TypeVar("T")


class FarmError(HartomatError):
    """A request the farm did not answer or refused; `status` is the HTTP status (0 = no answer),
    `retry_after` the seconds a 429/503 asked the client to wait."""

    def __init__(self, message: str, status: int = 0, body: Any = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        """Server trouble worth waiting out: no answer (refused, reset, timed out), 429 or any 5xx."""
        return self.status == 0 or self.status == 429 or self.status >= 500


BACKOFF_FIRST_S = 0.2
BACKOFF_CAP_S = 5.0
RETRY_AFTER_CAP_S = 60.0


def backoff_delay(attempt: int, retry_after: float | None = None) -> float:
    """Capped exponential backoff with jitter (half to all of the step, so a farm of workers
    does not come back in lock-step); at least what the server's Retry-After asked for."""
    step = min(BACKOFF_CAP_S, BACKOFF_FIRST_S * 2 ** min(attempt, 30))
    delay = step * random.uniform(0.5, 1.0)
    if retry_after is not None:
        delay = max(delay, min(retry_after, RETRY_AFTER_CAP_S))
    return delay


def _retry_after(reply: requests.Response) -> float | None:
    try:
        return max(0.0, float(reply.headers.get("Retry-After", "")))
    except ValueError:
        return None


def _detail(reply: requests.Response) -> tuple[str, Any]:
    try:
        body = reply.json()
    except ValueError:
        return reply.text[:300] or reply.reason, None
    detail = body.get("detail") if isinstance(body, dict) else body
    if isinstance(detail, list):  # FastAPI's request validation errors
        detail = "; ".join(f"{'.'.join(str(p) for p in d.get('loc', []))}: {d.get('msg')}" for d in detail[:5])
    problems = body.get("problems") if isinstance(body, dict) else None
    if problems:
        detail = f"{detail}: " + "; ".join(p.get("message", "") for p in problems[:5])
    return str(detail), body


class FarmClient:
    def __init__(self, server: str | None = None, token: str | None = None, timeout: float = 30.0,
                 retry_s: float = 0.0) -> None:
        server = server or os.environ.get("HARTOMAT_SERVER")
        token = token or os.environ.get("HARTOMAT_TOKEN")
        if not server:
            raise FarmError("no farm server given (--server URL or $HARTOMAT_SERVER)")
        if not token:
            raise FarmError("no token given (--token T or $HARTOMAT_TOKEN)")
        self.server = server.rstrip("/")
        self.timeout = timeout
        self.retry_s = retry_s
        self.on_retry: Callable[[FarmError, float, int], None] | None = None  # told before each wait
        self.give_up: Callable[[], bool] = lambda: False  # ends retrying at once when it turns true
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def clone(self) -> FarmClient:
        """Another client for the same server and token, with its own connection pool (a
        requests.Session is not meant to be shared between threads)."""
        token = self.session.headers["Authorization"].removeprefix("Bearer ")
        twin = FarmClient(self.server, str(token), self.timeout, self.retry_s)
        twin.on_retry, twin.give_up = self.on_retry, self.give_up
        return twin

    # --- plumbing -----------------------------------------------------------------------------
    def _send(self, method: str, path: str, *, expect: tuple[int, ...] = (200, 201), timeout: float | None = None,
              **kwargs: Any) -> requests.Response:
        url = f"{self.server}{path}"
        try:
            reply = self.session.request(method, url, timeout=timeout or self.timeout, **kwargs)
        except requests.ConnectionError:
            raise FarmError(f"cannot reach the farm server at {self.server} (is `hartomat serve` running?)") from None
        except requests.Timeout:
            raise FarmError(f"the farm server at {self.server} did not answer {method} {path} in time") from None
        if reply.status_code not in expect:
            detail, body = _detail(reply)
            who = {401: "the token was refused", 403: "the token's role may not do this"}.get(reply.status_code, "")
            prefix = f"{who}: " if who else ""
            raise FarmError(f"{method} {path}: HTTP {reply.status_code}: {prefix}{detail}", reply.status_code, body,
                            _retry_after(reply))
        return reply

    def _retrying(self, call: Callable[[], T]) -> T:
        """Retry a call through transient server trouble (no answer, 429, 5xx) with capped
        exponential backoff and jitter, until retry_s have passed since its first failure."""
        first_failure: float | None = None
        attempt = 0
        while True:
            try:
                return call()
            except FarmError as exc:
                now = time.monotonic()
                first_failure = now if first_failure is None else first_failure
                delay = backoff_delay(attempt, exc.retry_after)
                if not exc.transient or now + delay - first_failure > self.retry_s or self.give_up():
                    raise
                if self.on_retry is not None:
                    self.on_retry(exc, delay, attempt)
                end = now + delay
                while (left := end - time.monotonic()) > 0 and not self.give_up():
                    time.sleep(min(left, 0.2))
                attempt += 1

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._retrying(lambda: self._send(method, path, **kwargs).json())

    # --- everyone ------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        result: dict[str, Any] = self._send("GET", "/health").json()
        return result

    def node_definitions(self) -> dict[str, Any]:
        result: dict[str, Any] = self._json("GET", "/api/workflows/node-definitions")
        return result

    # --- submitters ----------------------------------------------------------------------------
    def upload_file(self, path: str | Path) -> str:
        file_path = Path(path)
        if not file_path.is_file():
            raise FarmError(f"{file_path}: no such file")
        sha = sha256_file(file_path)
        with open(file_path, "rb") as handle:
            self._send("POST", "/api/files", data=handle,
                       headers={"X-Sha256": sha, "X-Filename": quote(file_path.name)})
        return sha

    def submit(self, steps: list[str | Path], output_type: str, webhook_url: str | None = None,
               overrides: dict[str, dict[str, Any]] | None = None, products: list[str] | None = None,
               priority: int | None = None, tags: list[str] | None = None) -> dict[str, Any]:
        """An order with one line per STEP file (uploaded) and per library product name."""
        lines: list[dict[str, Any]] = []
        extra = {"tags": tags} if tags else {}
        for step in steps:
            lines.append({"output_type": output_type, "product": Path(step).stem,
                          "step_sha256": self.upload_file(step), "overrides": overrides or {}, **extra})
        for product in products or []:
            lines.append({"output_type": output_type, "product": product, "overrides": overrides or {}, **extra})
        return self.submit_lines(lines, webhook_url, priority)

    def submit_lines(self, lines: list[dict[str, Any]], webhook_url: str | None = None,
                     priority: int | None = None) -> dict[str, Any]:
        """An order of prepared lines (output_type, product, step_sha256 of an uploaded file, overrides, tags)."""
        body: dict[str, Any] = {"lines": lines}
        if webhook_url:
            body["webhook_url"] = webhook_url
        if priority is not None:
            body["priority"] = priority
        result: dict[str, Any] = self._send("POST", "/api/orders", json=body).json()
        return result

    def order(self, order_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._json("GET", f"/api/orders/{order_id}")
        return result

    def orders(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest orders this token may see (all of them for an admin), newest first."""
        result: list[dict[str, Any]] = self._json("GET", "/api/orders", params={"limit": limit})
        return result

    def wait_order(self, order_id: str, timeout: float = 3600.0, poll_s: float = 0.5) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            order = self.order(order_id)
            if order["finished_at"] is not None or time.monotonic() > deadline:
                return order
            time.sleep(poll_s)

    def cancel_order(self, order_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._send("POST", f"/api/orders/{order_id}/cancel").json()
        return result

    def cancel_job(self, job_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._send("POST", f"/api/jobs/{job_id}/cancel").json()
        return result

    def set_priority(self, order_id: str, priority: int) -> dict[str, Any]:
        result: dict[str, Any] = self._send("POST", f"/api/orders/{order_id}/priority",
                                            json={"priority": priority}).json()
        return result

    def pause(self, order_id: str, line: str | None = None) -> dict[str, Any]:
        params = {"line": line} if line else {}
        result: dict[str, Any] = self._send("POST", f"/api/orders/{order_id}/pause", params=params).json()
        return result

    def resume(self, order_id: str, line: str | None = None) -> dict[str, Any]:
        params = {"line": line} if line else {}
        result: dict[str, Any] = self._send("POST", f"/api/orders/{order_id}/resume", params=params).json()
        return result

    def delete_order(self, order_id: str, cancel: bool = False) -> dict[str, Any]:
        """Delete an order (with `cancel`, one whose jobs still wait or run); the record that stays."""
        result: dict[str, Any] = self._send("DELETE", f"/api/orders/{order_id}",
                                            params={"cancel": "true" if cancel else "false"}).json()
        return result

    def archive(self, older_than_s: float, dry_run: bool = False) -> dict[str, Any]:
        result: dict[str, Any] = self._send("POST", "/api/archive",
                                            json={"older_than_s": older_than_s, "dry_run": dry_run}).json()
        return result

    def job(self, job_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._json("GET", f"/api/jobs/{job_id}")
        return result

    def download(self, path: str, dest: Path, expect_sha: str | None = None) -> Path:
        """Stream a file to `dest`, checking the sha256 the server declares (or `expect_sha`);
        a transfer cut by server trouble starts again."""
        return self._retrying(lambda: self._download_once(path, dest, expect_sha))

    def _download_once(self, path: str, dest: Path, expect_sha: str | None) -> Path:
        reply = self._send("GET", path, stream=True)
        want = expect_sha or reply.headers.get("X-Sha256")
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + ".part")
        try:
            with open(tmp, "wb") as handle:
                for chunk in reply.iter_content(1 << 20):
                    handle.write(chunk)
        except requests.RequestException:
            raise FarmError(f"{path}: the transfer was cut off") from None
        got = sha256_file(tmp)
        if want and got != want:
            tmp.unlink()
            raise FarmError(f"{path}: downloaded content has sha256 {got}, expected {want}", 422)
        tmp.replace(dest)
        return dest

    def fetch(self, order_id: str, out_dir: str | Path) -> list[Path]:
        """Download every published asset of an order into OUT/<line id>/<role>/<name>."""
        order = self.order(order_id)
        paths = []
        for line in order["lines"]:
            for asset in line["assets"]:
                dest = Path(out_dir) / line["id"] / _safe(asset["role"]) / _safe(asset["name"])
                paths.append(self.download(f"/api/assets/{asset['id']}", dest, asset["sha256"]))
        return paths

    # --- admins --------------------------------------------------------------------------------
    def create_token(self, role: str, name: str = "") -> str:
        token: str = self._send("POST", "/api/tokens", json={"role": role, "name": name}).json()["token"]
        return token

    def output_types(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._json("GET", "/api/output-types")
        return result

    def output_type(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self._json("GET", f"/api/output-types/{name}")
        return result

    def put_output_type(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self._send("PUT", f"/api/output-types/{name}", json=spec).json()
        return result

    def set_mode(self, name: str, mode: str) -> dict[str, Any]:
        result: dict[str, Any] = self._send("POST", f"/api/output-types/{name}/mode", json={"mode": mode}).json()
        return result

    def parity(self, name: str, last: int = 20) -> dict[str, Any]:
        result: dict[str, Any] = self._json("GET", f"/api/output-types/{name}/parity", params={"last": last})
        return result

    def save_workflow(self, document: dict[str, Any], workflow_id: str | None = None) -> dict[str, Any]:
        reply = (self._send("PUT", f"/api/workflows/{workflow_id}", json=document) if workflow_id
                 else self._send("POST", "/api/workflows", json=document))
        result: dict[str, Any] = reply.json()
        return result

    def workers(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._json("GET", "/api/workers")
        return result

    def clear_blocks(self, worker_id: str, output_type: str | None = None) -> int:
        params = {"output_type": output_type} if output_type else {}
        cleared: int = self._send("DELETE", f"/api/workers/{worker_id}/blocks", params=params).json()["cleared"]
        return cleared

    # --- workers -------------------------------------------------------------------------------
    def register(self, name: str, capabilities: list[str], tags: list[str] | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"name": name, "capabilities": capabilities}
        if tags:  # only when there are some: a server older than tags still takes an untagged worker
            body["tags"] = tags
        result: dict[str, Any] = self._json("POST", "/api/workers/register", json=body)
        return result

    def claim(self, worker_id: str, wait_s: float = 20.0) -> dict[str, Any] | None:
        """The next job, or None after waiting up to wait_s (the server long-polls)."""
        reply = self._retrying(lambda: self._send("POST", f"/api/workers/{worker_id}/claim", expect=(200, 204),
                                                  json={"wait_s": wait_s}, timeout=wait_s + self.timeout))
        if reply.status_code == 204:
            return None
        job: dict[str, Any] = reply.json()
        return job

    def heartbeat(self, job_id: str, worker_id: str, events: list[dict[str, Any]], logs: list[str],
                  once: bool = False) -> dict[str, Any]:
        """Renew the lease with progress and log lines; `once`: no retries (a worker's pulse
        thread tries again at its next beat instead, with what it could not send)."""
        def send() -> dict[str, Any]:
            result: dict[str, Any] = self._send("POST", f"/api/jobs/{job_id}/heartbeat",
                                                json={"worker_id": worker_id, "events": events, "logs": logs}).json()
            return result
        return send() if once else self._retrying(send)

    def upload_asset(self, job_id: str, worker_id: str, path: Path, role: str, kind: str, primary: bool,
                     node_id: str, provenance: dict[str, Any] | None = None) -> dict[str, Any]:
        params = {"worker_id": worker_id, "role": role, "name": path.name, "kind": kind,
                  "primary": str(primary).lower(), "node_id": node_id}
        if provenance is not None:
            params["provenance"] = json.dumps(provenance, sort_keys=True, separators=(",", ":"))
        return self._upload(f"/api/jobs/{job_id}/assets", path, params)

    def upload_part(self, job_id: str, worker_id: str, path: Path, meta: dict[str, Any]) -> dict[str, Any]:
        """Hand one output file of a part job to its assemble job (meta: node_id, port, member,
        kind, role, data as JSON text)."""
        return self._upload(f"/api/jobs/{job_id}/parts", path, {"worker_id": worker_id, "name": path.name, **meta})

    def _upload(self, route: str, path: Path, params: dict[str, Any]) -> dict[str, Any]:
        sha = sha256_file(path)

        def send() -> dict[str, Any]:
            with open(path, "rb") as handle:
                result: dict[str, Any] = self._send("POST", route, params=params, data=handle,
                                                    headers={"X-Sha256": sha}).json()
                return result
        return self._retrying(send)

    def cache_lookup(self, key: str) -> dict[str, Any] | None:
        """The farm cache's manifest for a node content key, or None on a miss."""
        try:
            result: dict[str, Any] = self._json("GET", f"/api/cache/entries/{key}")
        except FarmError as exc:
            if exc.status == 404:
                return None
            raise
        return result

    def cache_upload(self, path: Path) -> dict[str, Any]:
        return self._upload("/api/cache/files", path, {})

    def cache_put(self, key: str, manifest: dict[str, Any], worker_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._json("PUT", f"/api/cache/entries/{key}", json=manifest,
                                            params={"worker_id": worker_id})
        return result

    def farm_stats(self, output_type: str, since: str) -> dict[str, Any]:
        """Median and p90 of a job's wall and CPU seconds, CPU-hours, of an output type since `since` (7d)."""
        result: dict[str, Any] = self._json("GET", "/api/stats", params={"output_type": output_type, "since": since})
        return result

    def cache_stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self._json("GET", "/api/cache")
        return result

    def cache_clear(self, worker_id: str | None = None, token_id: str | None = None) -> int:
        """Clear the farm cache, or only one worker's (or one token's) entries."""
        params = {k: v for k, v in (("worker_id", worker_id), ("token_id", token_id)) if v}
        return int(self._json("DELETE", "/api/cache", params=params)["cleared"])

    def complete(self, job_id: str, worker_id: str, report: dict[str, Any],
                 next_wait_s: float | None = None) -> dict[str, Any]:
        """Report a job; with `next_wait_s`, also claim the next one (`next_job` in the reply)."""
        body = {"worker_id": worker_id, **report}
        if next_wait_s is not None:
            body["next"] = {"wait_s": next_wait_s}
        result: dict[str, Any] = self._json("POST", f"/api/jobs/{job_id}/complete", json=body,
                                            timeout=self.timeout + (next_wait_s or 0))
        return result

    def hand_back(self, job_id: str, worker_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._json("POST", f"/api/jobs/{job_id}/hand-back", json={"worker_id": worker_id})
        return result

    def sign_off(self, worker_id: str) -> list[str]:
        """Hand back whatever the server still holds for this worker; returns those job ids. One
        try, no retries: a worker that is stopping should not wait for a server that is down."""
        result: dict[str, Any] = self._send("POST", f"/api/workers/{worker_id}/sign-off").json()
        returned: list[str] = result["handed_back"]
        return returned

    def download_step(self, job: dict[str, Any], worker_id: str, dest_dir: Path) -> Path:
        step = job["step_file"]
        dest = dest_dir / _safe(step.get("name") or f"{job['product']}.step")
        return self.download(f"/api/files/{step['sha256']}?worker_id={worker_id}", dest, step["sha256"])


def _safe(name: str) -> str:
    from .storage import safe_name

    return safe_name(name)

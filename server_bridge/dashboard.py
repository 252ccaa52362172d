"""The dashboard: its static single-page app at `/`, and the read-only views it needs that the
API did not have (who am I, a server-side paginated order list, one line's graph and runs).

The app is built from tools/dashboard by the set-up (esbuild) into `server_bridge/dashboard/`,
which ships as package data, so `pip install ".[server]"` serves it with no Node at run time.
View answers carry an ETag; the app polls them and a 304 costs no JSON and no re-render.
The views that read the store are plain `def` routes: FastAPI runs them in its threadpool.
"""

from __future__ import annotations

import base64
import hashlib
import json
import mimetypes
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from engine.model.vocabulary import JobStatus, OrderStatus, Role

from . import orders, stats
from .api_replies import DashboardOrder, DashboardOrders, Me
from .auth import Principal
from .db import Store, loads
from .errors import openapi_responses
from .redact import for_submitters
from .storage import FileStore

STATIC = Path(__file__).parent / "dashboard"
STATIC_FILES = {"app.js": "text/javascript", "app.css": "text/css", "glb.js": "text/javascript"}
INLINE_THUMBNAIL_BYTES = 24 * 1024  # smaller thumbnails ride in the list answer: no request per row
NOT_BUILT = ("<!doctype html><title>HartOMat</title><p>The dashboard is not built: run "
             "<code>bash scripts/setup.sh</code> (it builds tools/dashboard into server_bridge/dashboard/).")

ERRORS = openapi_responses((401, 403, 422, 503))
Dependency = Callable[..., Awaitable[Principal]]


def mount(app: FastAPI, store: Store, files: FileStore, submitter: Dependency, anyone: Dependency,
          not_found: Callable[[str], Exception]) -> None:
    """Add the dashboard's page, its static files and its view routes to `app`."""

    @app.get("/", include_in_schema=False)
    async def index() -> Response:
        page = STATIC / "index.html"
        if not (STATIC / "app.js").is_file():
            return HTMLResponse(NOT_BUILT, status_code=503)
        return FileResponse(page, media_type="text/html", headers=_SECURITY_HEADERS)

    @app.get("/static/{name}", include_in_schema=False)
    async def static(name: str) -> Response:
        if name not in STATIC_FILES or not (STATIC / name).is_file():
            raise not_found(f"no dashboard file {name[:64]!r}")
        return FileResponse(STATIC / name, media_type=STATIC_FILES[name],
                            headers={"Cache-Control": "no-cache"})  # revalidated by ETag, cheap on loopback

    @app.get("/api/me", responses=ERRORS, response_model=Me)
    async def me(who: Principal = Depends(anyone)) -> dict[str, str]:
        """The calling token's role and name: what the dashboard shows and offers."""
        return {"role": who.role, "name": who.name}

    @app.get("/api/dashboard/orders", responses={200: {"model": DashboardOrders, "description": "one page of orders"},
                                                 **ERRORS})
    def order_page(request: Request, status: str | None = Query(None, max_length=32),
                         output_type: str | None = Query(None, max_length=128),
                         limit: int = Query(25, ge=1, le=200), offset: int = Query(0, ge=0, le=10_000_000),
                         who: Principal = Depends(submitter)) -> Response:
        return etagged(request, order_list(store, files, who, status or None, output_type or None, limit, offset))

    @app.get("/api/dashboard/orders/{order_id}", responses={
        200: {"model": DashboardOrder, "description": "the order with each line's graph and runs"},
        **ERRORS, **openapi_responses((404,))})
    def order_view(order_id: str, request: Request, who: Principal = Depends(submitter)) -> Response:
        if not orders.visible(store, who, order_id):
            raise not_found(f"order {order_id!r} does not exist")
        detail = order_detail(store, order_id)
        return etagged(request, detail if who.role == Role.ADMIN else for_submitters(detail))


_SECURITY_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff",
                     "Referrer-Policy": "no-referrer",
                     "Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; "
                                                "media-src 'self' blob:; style-src 'self'; "
                                                "script-src 'self'; frame-ancestors 'none'"}


def etagged(request: Request, body: Any) -> Response:
    """`body` as JSON with an ETag of its content; 304 when the caller already has it."""
    data = json.dumps(body, separators=(",", ":"), default=str).encode()
    tag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
    headers = {"ETag": tag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == tag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type="application/json", headers=headers)


def order_list(store: Store, files: FileStore, who: Principal, status: str | None, output_type: str | None,
               limit: int, offset: int) -> dict[str, Any]:
    """One page of the orders the caller may see, newest first, with progress and a thumbnail
    (inline when small), plus the total and per-status counts for the filters. Everything is
    counted in SQL."""
    mine = (who.role == Role.ADMIN, who.token_id)
    done = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)
    where = ("(? OR o.submitted_by = ?) AND (? IS NULL OR o.status = ?) AND (? IS NULL OR EXISTS "
             "(SELECT 1 FROM order_lines l WHERE l.order_id = o.id AND l.output_type = ?))")
    args = (*mine, status, status, output_type, output_type)
    rows = store.all(
        "SELECT o.id, o.status, o.created_at, o.finished_at, "
        "(SELECT count(*) FROM order_lines l WHERE l.order_id = o.id) AS lines, "
        "(SELECT group_concat(DISTINCT l.output_type) FROM order_lines l WHERE l.order_id = o.id) AS output_types, "
        "(SELECT count(*) FROM jobs j WHERE j.order_id = o.id) AS jobs, "
        "(SELECT count(*) FROM jobs j WHERE j.order_id = o.id AND j.status IN (?, ?, ?)) AS jobs_done, "
        "(SELECT a.id || ' ' || a.sha256 || ' ' || a.size || ' ' || a.name FROM media_assets a "
        " WHERE a.order_id = o.id AND a.committed = 1 AND (a.kind = 'image' OR a.role = 'thumbnail') "
        " ORDER BY a.role = 'thumbnail' DESC, a.is_primary DESC, a.created_at LIMIT 1) AS thumbnail "
        f"FROM orders o WHERE {where} ORDER BY o.created_at DESC, o.id LIMIT ? OFFSET ?", *done, *args, limit, offset)
    total = store.one(f"SELECT count(*) AS n FROM orders o WHERE {where}", *args)
    counts = {r["status"]: r["n"] for r in store.all(
        "SELECT status, count(*) AS n FROM orders o WHERE (? OR o.submitted_by = ?) GROUP BY status", *mine)}
    page = [{**dict(r), "output_types": sorted((r["output_types"] or "").split(",")) if r["output_types"] else [],
             **thumbnail(files, r["thumbnail"])} for r in rows]
    return {"orders": page, "total": total["n"] if total else 0, "limit": limit, "offset": offset,
            "counts": {s: counts.get(s, 0) for s in OrderStatus}}


def thumbnail(files: FileStore, found: str | None) -> dict[str, Any]:
    """The row's thumbnail: its asset id, and a data: URL of it when it is small and on disk."""
    if not found:
        return {"thumbnail": None, "thumbnail_data": None}
    asset_id, sha, size, name = found.split(" ", 3)
    data = None
    mime = mimetypes.guess_type(name)[0] or ""
    if int(size) <= INLINE_THUMBNAIL_BYTES and mime.startswith("image/") and files.has(sha):
        data = f"data:{mime};base64,{base64.b64encode(files.path(sha).read_bytes()).decode()}"
    return {"thumbnail": asset_id, "thumbnail_data": data}


def order_detail(store: Store, order_id: str) -> dict[str, Any]:
    """The order's status (as `GET /api/orders/{id}`) and, per line, every job (chunks too) with
    its latest run's nodes, and the frozen workflow the line runs, for the graph."""
    status = stats.with_stats(store, orders.order_status(store, order_id))
    for line in status["lines"]:
        row = store.one("SELECT d.document FROM order_lines l JOIN workflow_documents d "
                        "ON d.sha256 = l.workflow_sha256 WHERE l.id = ?", line["id"])
        line["workflow"] = graph_of(loads(row["document"]) if row else None)
        line["jobs"] = [job_view(store, j) for j in store.all(
            "SELECT * FROM jobs WHERE order_line_id = ? ORDER BY seq", line["id"])]
    return status


def graph_of(document: dict[str, Any] | None) -> dict[str, Any] | None:
    """Just what the graph view draws: node ids, steps, positions, and the edges."""
    if not document:
        return None
    nodes = [{"id": n["id"], "step": n.get("step", ""), "position": (n.get("ui") or {}).get("position")}
             for n in document.get("nodes", [])]
    edges = [{"source": e["source"], "target": e["target"]} for e in document.get("edges", [])]
    return {"name": document.get("name", ""), "family": document.get("family", ""), "nodes": nodes, "edges": edges}


JOB_FIELDS = ("id", "status", "attempts", "worker_id", "run_id", "error", "mode", "cancel_requested", "created_at",
              "updated_at", "kind", "part")  # kind and part exist once lines fan out into chunk jobs


def job_view(store: Store, job: Any) -> dict[str, Any]:
    """A job with its latest run's per-node state: live progress from heartbeats, and from the
    run's summary (once reported) each node's duration, attempt, error and outputs."""
    view: dict[str, Any] = {k: job[k] for k in job.keys() if k in JOB_FIELDS}
    part = loads(view.pop("part", None), {}) or {}  # a chunk job's part (fan-out), when there is one
    view.update(label=part.get("label", "") if isinstance(part, dict) else "",
                cancel_requested=bool(job["cancel_requested"]), nodes={}, logs=[])
    run = store.one("SELECT id, status, summary, started_at, finished_at, worker_id FROM runs WHERE job_id = ? "
                    "ORDER BY started_at DESC LIMIT 1", job["id"])
    if run is None:
        return view
    summary = loads(run["summary"], {}) or {}
    nodes: dict[str, dict[str, Any]] = {}
    for node in store.all("SELECT node_id, step, status, fraction, message FROM node_results WHERE run_id = ?",
                          run["id"]):
        nodes[node["node_id"]] = dict(node)
    for node_id, done in (summary.get("nodes") or {}).items():
        nodes[node_id] = {**nodes.get(node_id, {"node_id": node_id}), "status": done.get("status"),
                          "step": done.get("step"), "duration": done.get("duration"),
                          "attempt": done.get("attempt"), "error": done.get("error"),
                          "outputs": [_output_view(o) for o in done.get("outputs") or []]}
    logs = [r["line"] for r in store.all("SELECT line FROM job_logs WHERE job_id = ? AND run_id = ? "
                                         "ORDER BY id DESC LIMIT 400", job["id"], run["id"])]
    view.update(run={k: run[k] for k in ("id", "status", "started_at", "finished_at", "worker_id")},
                nodes=nodes, logs=logs[::-1])
    return view


def _output_view(output: dict[str, Any]) -> dict[str, Any]:
    """An output as the node panel lists it: port, kind, role, size and file name, never the
    worker's path."""
    path = str(output.get("path") or "")
    return {"port": output.get("port"), "kind": output.get("kind"), "role": output.get("role"),
            "size": output.get("size"), "file": path.replace("\\", "/").rsplit("/", 1)[-1],
            "files": len(output.get("files") or [])}

"""The pure nodes through the runtime: order_line_setup, material mapping, notify to a local
webhook receiver (signature, retries after 5xx), output_save's record."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from netns_support import loopback_only
from runtime_helpers import edge, graph, node, order_line, runtime_registry

from engine.runtime import RunOptions, run_workflow


class Receiver:
    """A tiny webhook receiver on 127.0.0.1 that answers a scripted list of status codes."""

    def __init__(self, codes: list[int]) -> None:
        self.codes, self.requests = list(codes), []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                code = receiver.codes.pop(0) if receiver.codes else 200
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver_factory():
    """Receivers, and the run that posts to them, in a loopback-only network namespace."""
    with loopback_only():
        yield from _receivers()


def _receivers():
    made: list[Receiver] = []

    def make(codes: list[int]) -> Receiver:
        made.append(Receiver(codes))
        return made[-1]

    yield make
    for receiver in made:
        receiver.close()


def run(tmp_path: Path, wf, **extra):
    return run_workflow(wf, order_line(), RunOptions(out_dir=tmp_path / "out", registry=runtime_registry(),
                                                     use_cache=False, capabilities=frozenset(), **extra))


def notify_graph(url: str, **params) -> object:
    return graph([node("notify", "notify", webhook_url=url, backoff_s=0.01, **params)], [])


def test_notify_signs_and_retries_after_server_errors(tmp_path, receiver_factory, monkeypatch):
    monkeypatch.setenv("HARTOMAT_WEBHOOK_SECRET", "s3cret")
    receiver = receiver_factory([500, 503, 200])
    result = run(tmp_path, notify_graph(receiver.url))
    assert result.status == "succeeded"
    assert len(receiver.requests) == 3
    headers, body = receiver.requests[-1]
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Hartomat-Signature"] == expected
    payload = json.loads(body)
    assert payload["order_line_id"] == "line-1" and payload["run_id"] == result.run_id
    ids = {h["X-Hartomat-Delivery"] for h, _ in receiver.requests}  # one id over the retries, also in the body
    assert ids == {payload["delivery_id"]} and payload["delivery_id"].startswith("whd-")
    data = result.node_results["notify"].outputs[0].data
    assert data["attempts"] == 3 and data["delivery_id"] == payload["delivery_id"]
    assert sum("not delivered" in line for line in result.node_results["notify"].logs) == 2


def test_notify_without_a_secret_sends_no_signature(tmp_path, receiver_factory, monkeypatch):
    """Never an HMAC under an empty key (which anyone could compute)."""
    monkeypatch.delenv("HARTOMAT_WEBHOOK_SECRET", raising=False)
    receiver = receiver_factory([200])
    result = run(tmp_path, notify_graph(receiver.url))
    assert result.status == "succeeded"
    headers, _ = receiver.requests[0]
    assert "X-Hartomat-Signature" not in headers and headers["X-Hartomat-Delivery"].startswith("whd-")


def test_notify_gives_up_after_max_attempts_naming_the_url(tmp_path, receiver_factory):
    receiver = receiver_factory([500] * 5)
    result = run(tmp_path, notify_graph(receiver.url, max_attempts=2))
    assert result.status == "failed" and len(receiver.requests) == 2
    assert receiver.url in result.node_results["notify"].error["message"]


def test_notify_retries_every_reply_but_2xx_and_never_says_which(tmp_path, receiver_factory):
    """One retry policy for every failure; the log and error read the same for a 404 as for a closed port."""
    receiver = receiver_factory([404, 401, 404])
    answered = run(tmp_path / "a", notify_graph(receiver.url, max_attempts=3))
    closed = run(tmp_path / "c", notify_graph("http://127.0.0.1:9/hook", max_attempts=3))
    assert answered.status == closed.status == "failed" and len(receiver.requests) == 3
    errors = [r.node_results["notify"].error["message"].replace(receiver.url, "URL").replace(
        "http://127.0.0.1:9/hook", "URL") for r in (answered, closed)]
    assert errors[0] == errors[1] and "404" not in errors[0]
    logs = [[line.split(": ", 1)[1] for line in r.node_results["notify"].logs if "webhook" in line]
            for r in (answered, closed)]
    assert logs[0] == logs[1]


def test_notify_without_webhook_logs_a_line(tmp_path):
    result = run(tmp_path, notify_graph(""))
    assert result.status == "succeeded"
    assert any("no webhook set" in line for line in result.node_results["notify"].logs)


def _parts_file(tmp_path: Path, parts: list[dict]) -> str:
    path = tmp_path / "parts.json"
    path.write_text(json.dumps({"parts": parts}))
    return str(path)


def test_order_line_setup_and_materials(tmp_path):
    source = _parts_file(tmp_path, [{"name": "Ball_1", "colour": None}, {"name": "housing", "colour": "#fe0000"},
                                    {"name": "cover", "colour": "#0000ff"}, {"name": "pin", "colour": None}])
    wf = graph([node("setup", "order_line_setup", work_subdir="line"),
                node("extract", "t_parts", source=source),
                node("rules", "material_map_resolve", rules=[
                    {"name_pattern": "ball*", "material": "polished_steel"},
                    {"colour": "#ff0000", "material": "plastic_red"}]),
                node("fill", "auto_populate_materials", default_material="rubber")],
               [edge("rules", "fill", "material_map", "material_map"),
                edge("extract", "rules", "cad_parts", "cad_parts"), edge("extract", "fill", "cad_parts", "cad_parts")])
    result = run(tmp_path, wf)
    assert result.status == "succeeded", result.error
    line = result.node_results["setup"].outputs[0].data
    assert Path(line["work_dir"]).is_dir() and line["work_dir"].endswith("line") and line["product"] == "bearing"
    mapping = result.node_results["fill"].outputs[0].data
    assert mapping["assignments"]["Ball_1"] == {"material": "polished_steel", "source": "rule", "rule": 0,
                                                "rule_source": "inline", "rule_label": "name_pattern=ball*",
                                                "colour": None, "name": "Ball_1"}
    assert mapping["assignments"]["housing"]["material"] == "plastic_red"
    assert mapping["assignments"]["cover"] == {"material": "cad_colour", "source": "colour", "rule": None,
                                               "colour": "#0000ff", "name": "cover"}
    assert mapping["assignments"]["pin"]["material"] == "rubber" and mapping["assumed"] == ["pin"]


def test_unknown_material_names_the_rule(tmp_path):
    source = _parts_file(tmp_path, [])
    wf = graph([node("extract", "t_parts", source=source),
                node("rules", "material_map_resolve", rules=[{"material": "unobtainium"}])],
               [edge("extract", "rules", "cad_parts", "cad_parts")])
    result = run(tmp_path, wf)
    error = result.node_results["rules"].error
    assert "rules[0].material 'unobtainium'" in error["message"] and error["expected"]

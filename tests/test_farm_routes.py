"""The farm API's shape: every operation documents its 2xx answer in /openapi.json, async routes
are only those that keep the store off the event loop, the Waker takes wakes from threads, and
no module outside the client calls its private methods."""

from __future__ import annotations

import ast
import asyncio
import inspect
import threading
from pathlib import Path

import pytest
from fastapi.routing import APIRoute

from server_bridge.app import STREAMED, api_routes, create_app
from server_bridge.client import FarmClient
from server_bridge.settings import ServerSettings
from server_bridge.waker import Waker

ROOT = Path(__file__).resolve().parents[1]
# Async routes, each with a reason it may be async: it touches no store, or it hands its store
# calls to the threadpool itself (streamed uploads, the long-poll claim, complete with `next`).
ASYNC_ROUTES = {"health", "me", "index", "static", "set_fault", "get_fault", "upload_file", "cache_upload",
                "claim", "complete", "upload_asset", "upload_part"}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory):
    return create_app(ServerSettings.from_env(tmp_path_factory.mktemp("farm-routes"), test_mode=True))


def test_every_operation_documents_its_2xx_answer(app):
    missing = []
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            ok = {code: answer for code, answer in operation["responses"].items() if code.startswith("2")}
            content = [media for answer in ok.values() for media in answer.get("content", {}).items()]
            documented = any(media == "application/json" and spec.get("schema") for media, spec in content) or \
                any(media == "application/octet-stream" for media, _ in content) or \
                any(media.startswith("text/plain") and spec.get("schema") for media, spec in content)  # /metrics
            if not documented:
                missing.append(f"{method.upper()} {path}")
    assert not missing, f"operations whose 2xx answer has no schema: {missing}"


def test_every_api_operation_is_tagged_with_the_roles_that_may_call_it(app):
    untagged = [f"{method.upper()} {path}" for path, operations in app.openapi()["paths"].items()
                if path.startswith("/api/") for method, operation in operations.items()
                if not {"admin", "submit", "worker"} & set(operation.get("tags", []))]
    assert not untagged, untagged


def test_the_guard_streams_the_upload_routes_of_the_routers(app):
    streamed = {(route.path, *route.methods) for route in api_routes(app) if route.endpoint in STREAMED}
    assert streamed == {("/api/files", "POST"), ("/api/cache/files", "POST"), ("/api/jobs/{job_id}/assets", "POST"),
                        ("/api/jobs/{job_id}/parts", "POST")}


def test_reply_models_use_the_shared_vocabulary(app):
    schemas = app.openapi()["components"]["schemas"]
    assert set(schemas["Mode"]["enum"]) == {"legacy", "graph", "shadow"}
    assert schemas["OutputType"]["properties"]["mode"]["$ref"].endswith("/Mode")
    assert {"JobStatus", "OrderStatus", "Role", "Capability"} <= set(schemas)


def test_only_routes_that_keep_the_store_off_the_loop_are_async(app):
    async_routes = {route.endpoint.__name__ for route in app.routes
                    if isinstance(route, APIRoute) and inspect.iscoroutinefunction(route.endpoint)}
    assert async_routes <= ASYNC_ROUTES, f"async routes that may block the loop: {async_routes - ASYNC_ROUTES}"


def test_a_wake_from_another_thread_reaches_the_waiter_on_the_loop():
    async def scenario() -> bool:
        waker = Waker()
        waker.bind(asyncio.get_running_loop())
        event = waker.current()
        threading.Timer(0.05, waker.wake).start()
        return await waker.wait(event, 5.0)

    assert asyncio.run(scenario())


def _private_client_calls(tree: ast.AST) -> list[int]:
    private = {name for name, _ in inspect.getmembers(FarmClient, inspect.isfunction)
               if name.startswith("_") and not name.startswith("__")}
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in private
            and not (isinstance(node.func.value, ast.Name) and node.func.value.id in ("self", "cls"))]


def test_no_module_outside_the_client_calls_its_private_methods():
    offenders = []
    for folder in ("engine", "server_bridge", "hartomat_addon", "bench", "scripts", "tests", "tools"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == ROOT / "server_bridge" / "client.py" or "node_modules" in path.parts:
                continue
            offenders += [f"{path.relative_to(ROOT)}:{line}" for line in _private_client_calls(ast.parse(path.read_text()))]
    assert not offenders, f"private FarmClient calls (add a public method to server_bridge/client.py): {offenders}"


def test_the_private_call_check_sees_a_private_call():
    assert _private_client_calls(ast.parse("client._json('GET', '/api/x')\nself._json('GET', '/')")) == [1]


def test_the_token_cache_forgets_every_token_when_any_token_is_revoked(tmp_path: Path):
    from server_bridge.auth import TokenCache, create_token, revoke_token
    from server_bridge.db import Store

    store = Store(tmp_path / "farm.sqlite")
    cache = TokenCache(store)
    worker, admin = create_token(store, "worker", "w"), create_token(store, "admin", "a")
    for token in (worker, admin):
        assert cache.cached(token) is None
        principal, stamp = cache.resolve(token)
        cache.keep(token, principal, stamp)  # type: ignore[arg-type]
    assert cache.cached(worker).role == "worker"  # type: ignore[union-attr]

    other_process = Store(tmp_path / "farm.sqlite")  # `hartomat token revoke` has its own connection
    revoke_token(other_process, "a")
    assert cache.cached(admin) is None and cache.cached(worker) is None
    assert cache.resolve(admin)[0] is None


def test_the_token_cache_keeps_nothing_read_before_a_revocation(tmp_path: Path):
    from server_bridge.auth import TokenCache, create_token, revoke_token
    from server_bridge.db import Store

    store = Store(tmp_path / "farm.sqlite")
    cache = TokenCache(store)
    token = create_token(store, "submit", "s")
    cache.cached(token)
    principal, stamp = cache.resolve(token)  # read while live ...
    revoke_token(store, "s")  # ... revoked before the guard keeps it
    cache.keep(token, principal, stamp)  # type: ignore[arg-type]
    assert cache.cached(token) is None

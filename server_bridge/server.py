"""Runs the queue server with uvicorn on a socket bound first, so port 0 works and the real
address can be printed (and written to DATA/server.json) before requests arrive."""

from __future__ import annotations

import json
import socket

from .settings import ServerSettings


def serve(settings: ServerSettings, host: str = "127.0.0.1", port: int = 8765) -> None:
    import uvicorn

    from .app import create_app

    app = create_app(settings)
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on sockets that say they are TCP,
    # and without it every answer waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    bound = sock.getsockname()[1]
    url = f"http://{host}:{bound}"
    (settings.data_dir / "server.json").write_text(json.dumps({"url": url}) + "\n")
    print(f"hartomat serve: listening on {url} (data {settings.data_dir})", flush=True)
    if settings.test_mode:
        print("hartomat serve: TEST MODE: the fault switch POST /api/test/fault is mounted", flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=2)
    uvicorn.Server(config).run(sockets=[sock])

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
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound = sock.getsockname()[1]
    url = f"http://{host}:{bound}"
    (settings.data_dir / "server.json").write_text(json.dumps({"url": url}) + "\n")
    print(f"hartomat serve: listening on {url} (data {settings.data_dir})", flush=True)
    config = uvicorn.Config(app, log_level="warning", access_log=False, timeout_graceful_shutdown=2)
    uvicorn.Server(config).run(sockets=[sock])

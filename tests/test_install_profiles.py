"""The server-only install profile: `pip install ".[server]"` into a fresh virtual environment on
Python 3.11 and on 3.13, from the wheels the set-up downloaded (no network), without bpy or OCP.
Its own `hartomat` serves, makes tokens, submits, reports status and fetches; a rendering worker
from the full set-up serves the order in between."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from farm_support import FarmServer, start_worker, stop_process, token

REPO = Path(__file__).resolve().parent.parent
TINY = {"still": {"resolution_x": 48, "resolution_y": 48, "samples": 1}, "thumbnails": {"sizes": [16]}}
SETUP_HINT = "run `bash scripts/setup.sh` (scripts/setup.d/60-server-wheels.sh)"


def interpreter(version: str) -> str:
    """The Python of that version: this venv's base for 3.11, else an installed python3.X (a
    pyenv version or the system's; pyenv's shims answer only for the selected versions)."""
    if sys.version_info[:2] == tuple(int(p) for p in version.split(".")):
        return str(getattr(sys, "_base_executable", sys.executable))
    pyenv = sorted(Path.home().glob(f".pyenv/versions/{version}*/bin/python{version}"))
    system = [Path(d) / f"python{version}" for d in ("/usr/local/bin", "/usr/bin")]
    for candidate in [*pyenv, *system]:
        if candidate.exists():
            return str(candidate)
    pytest.fail(f"no python{version} installed (pyenv or system) to test the server profile with")


def server_only_venv(version: str, where: Path) -> Path:
    """A fresh venv with `.[server]` installed from the local wheels; returns its bin folder."""
    wheels = REPO / ".cache" / "wheels" / f"server-py{version}"
    assert (wheels / ".complete").exists(), f"no server wheels for Python {version}: {SETUP_HINT}"
    subprocess.run([interpreter(version), "-m", "venv", str(where)], check=True, timeout=120)
    install = subprocess.run([str(where / "bin" / "python"), "-m", "pip", "install", "-q", "--no-index",
                              "--disable-pip-version-check", "--find-links", str(wheels), f"{REPO}[server]"],
                             capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stdout + install.stderr
    return where / "bin"


@pytest.mark.slow
@pytest.mark.parametrize("version", ["3.11", "3.13"])
def test_a_server_only_install_serves_submits_reports_and_fetches(version: str, tmp_path: Path, bearing_step):
    bin_dir = server_only_venv(version, tmp_path / "venv")
    python, hartomat = str(bin_dir / "python"), str(bin_dir / "hartomat")
    probe = subprocess.run([python, "-c", "import sys, importlib.util as u; "
                            "print(sys.version_info[:2], [m for m in ('bpy', 'OCP', 'numpy', 'PIL') if u.find_spec(m)])"],
                           capture_output=True, text=True, check=True, cwd=tmp_path)
    assert probe.stdout.strip() == f"{tuple(int(p) for p in version.split('.'))} []", probe.stdout

    data = tmp_path / "farm"
    tokens = {role: token(data, role, cli=[hartomat]) for role in ("submit", "worker")}
    server = FarmServer(data, cli=[hartomat]).start()
    worker = None
    try:
        page = server.call("GET", "/", None)  # the dashboard ships as package data of the server
        assert page.status_code == 200 and '<script defer src="/static/app.js">' in page.text, page.text[:300]
        assert all(server.call("GET", f"/static/{name}", None).status_code == 200 for name in ("app.js", "app.css"))
        def cli(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([hartomat, *args, "--server", server.url, "--token", tokens["submit"]],
                                  capture_output=True, text=True, timeout=300, cwd=tmp_path)

        sets = [f"--set={node}.{field}={json.dumps(value)}" for node, fields in TINY.items()
                for field, value in fields.items()]
        submitted = cli("submit", str(bearing_step), "--output-type", "still", *sets)
        assert submitted.returncode == 0, submitted.stderr
        order_id = submitted.stdout.strip()
        queued = cli("status", order_id, "--json")
        assert queued.returncode == 0 and json.loads(queued.stdout)["status"] == "queued", queued.stderr

        worker = start_worker(server, tokens["worker"], tmp_path / "work", f"render-{version}")
        finished = cli("status", order_id, "--wait", "--timeout", "240")
        assert finished.returncode == 0, finished.stdout + finished.stderr
        fetched = cli("fetch", order_id, "-o", str(tmp_path / "media"))
        assert fetched.returncode == 0, fetched.stderr
        stills = list((tmp_path / "media").rglob("still.png"))
        assert len(stills) == 1 and stills[0].stat().st_size > 0, fetched.stdout
    finally:
        if worker is not None:
            stop_process(worker)
        server.stop()

"""Builds the self-contained viewer page: template + inlined three.js bundle + the GLB as base64.

One file with no sibling resources, because browsers block ES modules and fetches from file://;
such a page opens from disk, from an e-mail or from a media server alike.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from ..errors import HartomatError

WEB_DIR = Path(__file__).resolve().parent
TEMPLATE = WEB_DIR / "viewer.html"
BUNDLE = WEB_DIR / "viewer.bundle.js"


@dataclass(frozen=True)
class ViewerConfig:
    """What the page script reads from its JSON block."""

    width: int = 512
    height: int = 512
    background: str = "#f0f0f0"
    azimuth: float = 35.0
    elevation: float = 25.0
    margin: float = 0.08


def load_bundle() -> str:
    """The generated three.js bundle; a clear error names the set-up step when it is missing."""
    if not BUNDLE.is_file():
        raise HartomatError(
            f"the three.js viewer bundle {BUNDLE} is missing: run scripts/setup.d/35-threejs.sh "
            "(npm ci in tools/web and an esbuild build)"
        )
    return BUNDLE.read_text(encoding="utf-8")


def _inline_script(source: str) -> str:
    """Keeps a script body from closing its own <script> element early."""
    return source.replace("</script", "<\\/script").replace("<!--", "<\\!--")


def _json_block(value: object) -> str:
    return json.dumps(value).replace("<", "\\u003c")


def render_page(glb_bytes: bytes, config: ViewerConfig, title: str) -> str:
    """The page's HTML text for one GLB."""
    fields = {
        "{{TITLE}}": html.escape(title),
        "{{BACKGROUND}}": config.background,
        "{{CONFIG}}": _json_block(asdict(config)),
        "{{GLB_BASE64}}": base64.b64encode(glb_bytes).decode("ascii"),
    }
    text = TEMPLATE.read_text(encoding="utf-8")
    for placeholder, value in fields.items():
        text = text.replace(placeholder, value)
    # The bundle goes in last so that no placeholder-like text inside it gets replaced.
    return text.replace("{{BUNDLE}}", _inline_script(load_bundle()))


def write_viewer(glb_path: Path, page_path: Path, config: ViewerConfig, title: str) -> Path:
    """Writes the viewer page of `glb_path` to `page_path`."""
    page_path.write_text(render_page(glb_path.read_bytes(), config, title), encoding="utf-8")
    return page_path

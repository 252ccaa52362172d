"""The web viewer of the threejs_render node: a self-contained HTML page and its headless snapshot.

The three.js bundle (viewer.bundle.js) is generated from tools/web by scripts/setup.d/35-threejs.sh.
"""

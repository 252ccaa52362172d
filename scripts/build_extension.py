"""Builds the HartOMat Blender extension zip and prints its path.

The zip holds the add-on package with the engine vendored inside it (`vendor/engine`: Blender
installs every extension's wheels into one shared site-packages, so no top-level `engine`), the
manifest, and the wheels the manifest lists (pydantic and friends for cp311 and cp313), fetched
once with pip into a build cache. Usage: python scripts/build_extension.py [--out DIR]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MANIFEST = REPO / "blender_manifest.toml"
CACHE = REPO / "build" / "wheel-cache"
PYTHONS = ("3.11", "3.13")
PLATFORM_TAGS = ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64")
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "vendor", "build_info.json")
WHEEL_NAME = re.compile(r"^(?P<dist>[^-]+)-(?P<version>[^-]+)-(?P<python>cp3\d+|py3)-")


def wheel_requirements(wheels: list[str]) -> dict[str, set[str]]:
    """Python version -> pinned requirements, read from the manifest's wheel file names."""
    wanted: dict[str, set[str]] = {py: set() for py in PYTHONS}
    for wheel in wheels:
        match = WHEEL_NAME.match(Path(wheel).name)
        if match is None:
            raise SystemExit(f"{MANIFEST}: wheel '{wheel}' is not a wheel file name")
        requirement = f"{match['dist'].replace('_', '-')}=={match['version']}"
        tag = match["python"]
        for py in PYTHONS:
            if tag == "py3" or tag == "cp" + py.replace(".", ""):
                wanted[py].add(requirement)
    return wanted


def fetch_wheels(wheels: list[str]) -> dict[str, Path]:
    """Each listed wheel from the cache, downloading (no dependencies, binary only) what is missing."""
    names = {Path(w).name for w in wheels}
    if not all((CACHE / name).exists() for name in names):
        CACHE.mkdir(parents=True, exist_ok=True)
        for py, requirements in wheel_requirements(wheels).items():
            platforms = [arg for tag in PLATFORM_TAGS for arg in ("--platform", tag)]
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                            "--python-version", py, "--implementation", "cp", *platforms,
                            "-d", str(CACHE), *sorted(requirements)], check=True)
    missing = sorted(name for name in names if not (CACHE / name).exists())
    if missing:
        raise SystemExit(f"pip did not provide these wheels the manifest lists: {', '.join(missing)}")
    return {name: CACHE / name for name in names}


def vendor_farm_client(target: Path) -> None:
    """The farm's HTTP client for dispatch; its absolute `engine` imports become relative ones
    (`..engine`, the vendored engine), since nothing may be installed as top-level `engine`."""
    target.mkdir(parents=True)
    (target / "__init__.py").write_text('"""The queue server client, vendored for dispatch."""\n')
    source = (REPO / "server_bridge" / "client.py").read_text()
    (target / "client.py").write_text(re.sub(r"^from engine\.", "from ..engine.", source, flags=re.M))


def stage(out_dir: Path) -> Path:
    """The extension's folder as it goes into the zip."""
    manifest = tomllib.loads(MANIFEST.read_text())
    staging = out_dir / "stage" / manifest["id"]
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(REPO / "hartomat_addon", staging, ignore=IGNORE)
    shutil.copytree(REPO / "engine", staging / "vendor" / "engine", ignore=IGNORE)
    (staging / "vendor" / "__init__.py").write_text('"""Project packages shipped inside the extension."""\n')
    vendor_farm_client(staging / "vendor" / "server_bridge")
    shutil.copy2(MANIFEST, staging / "blender_manifest.toml")
    helper = REPO / ".venv" / "bin" / "python"
    (staging / "build_info.json").write_text(json.dumps(
        {"version": manifest["version"], "helper_python": str(helper) if helper.exists() else ""}, indent=2))
    (staging / "wheels").mkdir()
    for name, path in fetch_wheels(manifest.get("wheels", [])).items():
        shutil.copy2(path, staging / "wheels" / name)
    return staging


def build(out_dir: Path) -> Path:
    staging = stage(out_dir)
    manifest = tomllib.loads(MANIFEST.read_text())
    archive = out_dir / f"{manifest['id']}-{manifest['version']}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(staging.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(staging).as_posix())
    return archive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "build" / "extension", help="output folder")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    print(build(args.out.resolve()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The still without a denoiser: Debian's Blender 4.3 (no OpenImageDenoise) against the bpy module's
denoised render of the same graph (the sample bearing, the still preset), by SSIM and noise.

Each row renders the still with `hartomat render` in a fresh process: the reference in the bpy
module (5.0, OIDN on), the others in the provisioned Blender 4.3 (through scripts/blender-chroot,
OCP from a `hartomat blender-deps` folder) with denoising off at several sample counts, and once as
shipped (`denoise: true`, which there falls back to more samples: engine/render/blender/render_setup.py).
Noise is the standard deviation of the image minus its 3x3 box blur (grey levels, 0-255), over the
whole frame: grain raises it, the product's edges set its floor (the reference's own figure).
Usage: .venv/bin/python bench/denoise_look.py [--size 256] [--samples 16] [--counts 16,64,128,256]
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from bench.perfdoc import machine  # noqa: E402

HOSTED = """
import sys
sys.path[:0] = [{repo!r}, {deps!r}]
from engine.cli import main
code = main({args!r})
sys.exit(code)
"""


def render_args(step: Path, out: Path, size: int, samples: int, denoise: bool) -> list[str]:
    return ["render", str(step), "--preset", "still", "--resolution", str(size), "--samples", str(samples),
            "--set", f"still.denoise={'true' if denoise else 'false'}", "-o", str(out), "--no-cache"]


def still_of(out: Path) -> Path:
    found = sorted(p for p in out.rglob("still.png") if "nodes" in p.parts)
    if not found:
        raise RuntimeError(f"no still.png under {out}")
    return found[0]


def in_bpy_module(args: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([str(Path(sys.executable).with_name("hartomat")), *args], check=True, capture_output=True)
    return time.perf_counter() - started


def in_blender(args: list[str], deps: Path, work: Path) -> float:
    from tests import real_blender

    script = work / "hosted_render.py"
    script.write_text(HOSTED.format(repo=str(ROOT), deps=str(deps), args=args))
    started = time.perf_counter()
    done = real_blender.run_blender(["-b", "--factory-startup", "--python-exit-code", "1", "--python", str(script)],
                                    work / "user", timeout=900)
    if done.returncode != 0:
        raise RuntimeError(done.stdout[-3000:] + done.stderr[-3000:])
    return time.perf_counter() - started


def grey(path: Path) -> np.ndarray:
    from engine.compare.images import load_image

    pixels = load_image(path).astype(np.float64)[..., :3]
    return pixels @ np.array([0.2126, 0.7152, 0.0722])


def noise(image: np.ndarray) -> float:
    padded = np.pad(image, 1, mode="edge")
    blurred = sum(padded[dy:dy + image.shape[0], dx:dx + image.shape[1]] for dy in range(3) for dx in range(3)) / 9
    return float(np.std(image - blurred))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--samples", type=int, default=16, help="the reference's (and as-shipped) samples")
    parser.add_argument("--counts", default="16,64,128,256", help="Blender 4.3 sample counts, denoise off")
    args = parser.parse_args()
    from engine.cad.samples import make_bearing_step
    from engine.compare.images import ssim
    from tests import real_blender

    work = Path(tempfile.mkdtemp(prefix="hartomat-denoise-"))
    (work / "user").mkdir()
    step = make_bearing_step(work / "bearing.step")
    deps = real_blender.make_blender_deps(work / "deps")
    rows = [("bpy module 5.0, OIDN", args.samples, True, "module")]
    rows += [("Blender 4.3, no denoiser", int(n), False, "blender") for n in args.counts.split(",")]
    rows.append(("Blender 4.3 as shipped (denoise: true)", args.samples, True, "blender"))
    results = []
    for index, (label, samples, denoise, where) in enumerate(rows):
        out = work / f"run{index}"
        call = render_args(step, out, args.size, samples, denoise)
        seconds = in_bpy_module(call) if where == "module" else in_blender(call, deps, work)
        results.append((label, samples, denoise, grey(still_of(out)), seconds))
    reference = results[0][3]
    print(f"{args.size}x{args.size} bearing still; {machine()}; load {Path('/proc/loadavg').read_text().split()[:3]}")
    print("| render | samples asked | denoise | SSIM vs reference | noise | wall s (whole process) |")
    print("|---|---|---|---|---|---|")
    for label, samples, denoise, image, seconds in results:
        print(f"| {label} | {samples} | {'on' if denoise else 'off'} | {ssim(reference, image):.3f} | "
              f"{noise(image):.2f} | {seconds:.1f} |")
    print(f"(command: {shlex.join(sys.argv)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

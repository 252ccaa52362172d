"""OCP's build of OCCT against cascadio's: the same OCCT calls, timed in one process.

Run by hand: `.venv/bin/python bench/ocp_build.py [--rounds 30] [--block 6] [inch single nested]`;
to try another OCP build, install it apart and put it first on the path:
`pip install --no-deps --target /tmp/ocp79 cadquery-ocp-novtk==7.9.3.1.1` then
`PYTHONPATH=/tmp/ocp79 .venv/bin/python bench/ocp_build.py`.
The OCP side is bench/cad.py's minimal script with cascadio's parallel meshing and one meshing pass
(cascadio meshes twice), so a ratio above 1 is the build's, not this project's code. Prints the
best-run ratio and the median of per-round ratios; it writes nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.cad import ROOT, cascadio_convert, make_inputs, serial_ocp  # noqa: E402


def rounds(source: str, target: str, count: int, block: int) -> list[tuple[float, float]]:
    """Per round, the best of `block` runs in a row of each tool, in reversed order every other round."""
    tools = [("ocp", lambda: serial_ocp(source, target, parallel=True)),
             ("cascadio", lambda: cascadio_convert(source, target))]
    result = []
    for index in range(count):
        best: dict[str, float] = {}
        for name, run in tools if index % 2 == 0 else tools[::-1]:
            for _ in range(block):
                start = time.perf_counter()
                run()
                best[name] = min(best.get(name, 1e9), time.perf_counter() - start)
        result.append((best["ocp"], best["cascadio"]))
    return result


def main() -> int:
    import OCP

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fixtures", nargs="*", default=["inch", "single", "nested"])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--block", type=int, default=6)
    parser.add_argument("--inputs", default=str(ROOT / ".cache" / "bench-cad"), help="folder for the STEP inputs")
    args = parser.parse_args()
    inputs = Path(args.inputs)
    inputs.mkdir(parents=True, exist_ok=True)
    files = make_inputs(inputs, 300)
    print(f"OCP from {Path(OCP.__file__).parent}")
    with tempfile.TemporaryDirectory() as out:
        for name in args.fixtures:
            timed = rounds(str(files[name]), str(Path(out) / "x.glb"), args.rounds, args.block)
            ocp, cascadio = min(t[0] for t in timed), min(t[1] for t in timed)
            paired = statistics.median(a / b for a, b in timed)
            print(f"{name}: OCP {ocp * 1e3:.2f} ms, cascadio {cascadio * 1e3:.2f} ms, "
                  f"best-run ratio {ocp / cascadio:.3f}, paired median {paired:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

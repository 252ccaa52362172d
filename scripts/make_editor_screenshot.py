"""Makes docs/images/editor.png: the HartOMat editor in the real Blender 4.3 (provisioned by
scripts/provision_blender.sh) after Run Locally of the still starter graph on the sample bearing
succeeded: every node green, the sidebar, and the still in an Image Editor beside the graph. The
same GUI run the tests use, at a larger render size.
Usage: python scripts/make_editor_screenshot.py [--resolution 320]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests import real_blender  # noqa: E402

TARGET = REPO / "docs" / "images" / "editor.png"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=int, default=320, help="the still's size in pixels")
    args = parser.parse_args()
    if real_blender.blender_executable() is None:
        print(real_blender.not_provisioned_reason(), file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="hartomat-shot-") as tmp:
        work = Path(tmp)
        (work / "user").mkdir()
        zip_path = real_blender.build_extension(work / "build")
        installed = real_blender.install_into_blender(zip_path, work / "user", work)
        if "HARTOMAT_INSTALLED" not in installed.stdout:
            print(installed.stdout + installed.stderr, file=sys.stderr)
            return 1
        shot, run_shot = work / "editor.png", work / "editor-run.png"
        step = work / "bearing.step"
        from engine.cad.samples import make_bearing_step

        make_bearing_step(step)
        done = real_blender.run_gui(REPO / "tests" / "blender_scripts" / "gui_driver.py", work / "user", shot,
                                    step, str(run_shot), str(args.resolution), timeout=900,
                                    env={"HARTOMAT_CACHE": str(work / "cache")})
        if "HARTOMAT_GUI_OK" not in done.stdout or real_blender.TRACEBACK in done.stdout + done.stderr:
            print(done.stdout + done.stderr, file=sys.stderr)
            return 1
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(run_shot, TARGET)
    print(TARGET)
    return 0


if __name__ == "__main__":
    sys.exit(main())

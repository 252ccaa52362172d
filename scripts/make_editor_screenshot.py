"""Makes docs/images/editor.png: the HartOMat editor in the real Blender (provisioned by
scripts/provision_blender.sh) with the still starter graph, a validation error on one node and
the sidebar, from the same GUI run the tests use. Usage: python scripts/make_editor_screenshot.py
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests import real_blender  # noqa: E402

TARGET = REPO / "docs" / "images" / "editor.png"


def main() -> int:
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
        shot = work / "editor.png"
        step = work / "sample.step"
        from engine.samples import make_single_part_step

        make_single_part_step(step)
        done = real_blender.run_gui(REPO / "tests" / "blender_scripts" / "gui_driver.py", work / "user", shot,
                                    step)
        if "HARTOMAT_GUI_OK" not in done.stdout or real_blender.TRACEBACK in done.stdout + done.stderr:
            print(done.stdout + done.stderr, file=sys.stderr)
            return 1
        TARGET.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(shot, TARGET)
    print(TARGET)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Runs inside a Blender GUI (Xvfb, 1920x1080) started WITHOUT --enable-event-simulate, so a real
X key press (x_keys.py) reaches Blender: the still starter graph runs with Run Locally as a click
starts it and its still renders as Blender's render job. While the job renders, this script's
timer keeps firing, an operator runs and the node shows the render's progress; Esc (a real key
press) stops the job: the run, the still and everything after it end cancelled, no image is
written anywhere in the run's folder and the render scene is gone. Then a tiny still runs to its
end through the same job.

Usage: DISPLAY=:N blender --python gui_render_job.py -- SCREENSHOT.png STEP_FILE
Prints HARTOMAT_JOB_GUI_OK when done.
"""

import json
import sys
import time
from pathlib import Path

import bpy

sys.path.insert(0, str(Path(__file__).resolve().parent))
import x_keys  # noqa: E402

args = sys.argv[sys.argv.index("--") + 1:]
screenshot, step_file = args[0], args[1]
TICK_S = 0.3
TREE = "job run"
# big enough that the render is still going when Esc comes (it never finishes)
SLOW = {"still": {"resolution_x": 384, "resolution_y": 384, "samples": 65536, "denoise": False},
        "thumbnails": {"sizes": [32]}}
TINY = {"still": {"resolution_x": 64, "resolution_y": 64, "samples": 4, "denoise": False},
        "thumbnails": {"sizes": [32]}}
state = {"tick": 0, "phase": "start", "job_ticks": 0, "gaps": [], "job_gaps": [], "last": 0.0}


def editor():
    window = bpy.context.window_manager.windows[0]
    area = max(window.screen.areas, key=lambda a: a.width * a.height)
    region = next(r for r in area.regions if r.type == "WINDOW")
    return window, area, region


def in_editor():
    window, area, region = editor()
    return bpy.context.temp_override(window=window, area=area, region=region)


def start_run(out_dir, overrides):
    tree = bpy.data.node_groups[TREE]
    tree.hm_step_path, tree.hm_out_dir = step_file, out_dir
    with in_editor():
        result = bpy.ops.hartomat.run_local("INVOKE_DEFAULT", tree_name=TREE, overrides=json.dumps(overrides))
    assert result == {"RUNNING_MODAL"}, result


def node(node_id):
    return next(n for n in bpy.data.node_groups[TREE].nodes if n.hm_id == node_id)


def start():
    _window, area, _region = editor()
    area.ui_type = "HartomatWorkflowTree"
    with in_editor():
        bpy.ops.node.new_node_tree(type="HartomatWorkflowTree")
        bpy.ops.hartomat.load_starter(family="still")
    tree = editor()[1].spaces.active.node_tree
    tree.name = TREE
    state["scenes"] = sorted(s.name for s in bpy.data.scenes)
    start_run(screenshot + ".cancelled-run", SLOW)


def while_rendering():
    """The still's render job runs: the UI answers; after a few ticks, Esc from the X server."""
    tree = bpy.data.node_groups[TREE]
    assert tree.hm_run_state == "running", (tree.hm_run_state, tree.hm_progress_message)
    if node("still").hm_status != "running" or not bpy.app.is_job_running("RENDER"):
        return False
    state["job_ticks"] += 1
    scene = bpy.context.window_manager.windows[0].scene.name
    assert scene in state["scenes"], f"the window shows the render scene '{scene}' while the job renders"
    with in_editor():  # an operator runs and the editor redraws while Blender renders
        assert bpy.ops.node.view_all() == {"FINISHED"}
        bpy.context.area.tag_redraw()
    message = json.loads(node("still").hm_run or "{}").get("message", "")
    if state["job_ticks"] < 5:
        return False
    assert "render job" in message, node("still").hm_run  # the node says what it waits on
    subprocess_shot(screenshot)
    print(f"render job: {state['job_ticks']} timer ticks while it rendered; the node said: {message}", flush=True)
    window = x_keys.press_escape()
    state["esc_at"] = time.monotonic()
    print("Esc sent to X window", window, flush=True)
    return True


def subprocess_shot(path):
    import subprocess

    subprocess.run(f"xwd -root -silent | xwdtopnm 2>/dev/null | pnmtopng > '{path}'", shell=True, check=True)


def cancelled():
    """Esc stopped the job: the run and its still are cancelled, nothing is half-written."""
    tree = bpy.data.node_groups[TREE]
    if tree.hm_run_state == "running":
        state["waits"] = state.get("waits", 0) + 1
        assert state["waits"] < 60, "Esc did not stop the render job"
        return False
    assert tree.hm_run_state == "cancelled", (tree.hm_run_state, tree.hm_progress_message)
    statuses = {n.hm_id: n.hm_status for n in tree.nodes}
    assert statuses["still"] == "cancelled" and statuses["thumbnails"] == "cancelled", statuses
    out = Path(tree.hm_out_dir)
    summary = json.loads((out / "run.json").read_text())
    assert summary["status"] == "cancelled" and summary["nodes"]["still"]["status"] == "cancelled", summary
    images = [str(p) for p in out.rglob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".exr", ".webp")]
    assert not images, images  # no still, no part of one, no thumbnail
    assert not summary.get("published"), summary.get("published")
    assert sorted(s.name for s in bpy.data.scenes) == state["scenes"], [s.name for s in bpy.data.scenes]
    assert not bpy.app.is_job_running("RENDER")
    print(f"cancelled {time.monotonic() - state['esc_at']:.2f} s after Esc; longest UI stall while the job "
          f"rendered: {max(state['job_gaps']):.2f} s beyond the {TICK_S} s tick", flush=True)
    print("Esc during the render: run", tree.hm_run_state, "; still", statuses["still"], "; thumbnails",
          statuses["thumbnails"], "; no image written under", out, flush=True)
    return True


def succeeded():
    tree = bpy.data.node_groups[TREE]
    if tree.hm_run_state == "running":
        return False
    assert tree.hm_run_state == "succeeded", (tree.hm_run_state, tree.hm_progress_message)
    record = json.loads(node("still").hm_run)
    assert any("rendered as Blender's render job" in line for line in record.get("log_tail", [])), record
    still = Path(tree.hm_out_dir) / "nodes" / "still" / "still.png"
    assert still.is_file(), sorted(Path(tree.hm_out_dir).rglob("*.png"))
    assert len(bpy.context.window_manager.windows) == 1  # the job opened no render window
    assert sorted(s.name for s in bpy.data.scenes) == state["scenes"]
    assert not bpy.context.preferences.is_dirty  # the job's display setting was put back untouched
    print("tiny still through the render job:", tree.hm_run_state, still.stat().st_size, "bytes", flush=True)
    return True


def tick():
    state["tick"] += 1
    now = time.monotonic()
    if state["last"]:
        state["gaps"].append(now - state["last"] - TICK_S)
        if state["phase"] == "rendering" and bpy.app.is_job_running("RENDER"):
            state["job_gaps"].append(state["gaps"][-1])
    state["last"] = now
    try:
        phase = state["phase"]
        if phase == "start":
            start()
            state["phase"] = "rendering"
        elif phase == "rendering" and while_rendering():
            state["phase"] = "cancelling"
        elif phase == "cancelling" and cancelled():
            start_run(screenshot + ".tiny-run", TINY)
            state["phase"] = "tiny"
        elif phase == "tiny" and succeeded():
            print(f"longest UI stall: {max(state['gaps']):.2f} s beyond the {TICK_S} s tick", flush=True)
            print("HARTOMAT_JOB_GUI_OK", flush=True)
            bpy.ops.wm.quit_blender()
            return None
        if state["tick"] > 1500:
            raise AssertionError(f"the render job checks did not finish in time (phase {state['phase']})")
    except Exception:
        import traceback

        traceback.print_exc()
        sys.stdout.flush()
        bpy.ops.wm.quit_blender()
        return None
    return TICK_S


bpy.app.timers.register(tick, first_interval=1.5)

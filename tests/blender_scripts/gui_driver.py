"""Runs inside a Blender GUI (Xvfb, 1920x1080): first use (an empty HartOMat editor offers the
Start panel; the header's New then Load Starter Graph fill one tree, none left empty), every node
of the starter inside the editor at a readable zoom; then the HartOMat editor with a validation
error on one node and the sidebar, lets everything draw, screenshots the X display, opens the Add
menu (menu drawing).

After the still run below: the status bar's last report is the outcome, the file saved after the
run holds the same datablocks as before it plus the still's image, the graph is framed readably
beside the Image Editor; an edit marks the run stale and auto-validation's verdict reaches the
status bar; a refused run (missing STEP) clears the last run's marks, record and still; the
failing run's report names the node and error, after Run Locally warned that this Blender has no
OpenImageDenoise.

Then runs the still preset on STEP_FILE with the Run Locally operator as a click starts it (the
modal path: the run stepped from a timer on Blender's main thread), checks every node turned
green, that the render nodes ran in this Blender's own process (run record: interpreter and pid),
the CAD nodes in the helper, and that the still opened in an Image Editor inside this window;
then screenshots the editor with the green graph and the still (RUN_SCREENSHOT).

Then starts a slow graph (a webhook notify node retrying a closed port) the same way, checks the
UI stays responsive while it runs (timers tick, operators run, the editor redraws), presses Esc
(simulated input) and checks the run record says cancelled.

Last, runs the still graph on a file that is no STEP: the extract node fails, turns red with its
error drawn on it, and the run message names node and error (RUN_SCREENSHOT.failed.png).

Usage: DISPLAY=:N blender --python gui_driver.py -- SCREENSHOT.png STEP_FILE [RUN_SCREENSHOT.png [RESOLUTION]]
Prints HARTOMAT_GUI_OK when done; Python errors inside Blender show up as tracebacks in its output.
"""

import re
import subprocess
import sys
import time
from pathlib import Path

import bpy

MODULE = "bl_ext.user_default.hartomat"
args = sys.argv[sys.argv.index("--") + 1:]
screenshot, step_file = args[0], args[1]
run_screenshot = args[2] if len(args) > 2 else screenshot + ".run.png"
resolution = int(args[3]) if len(args) > 3 else 64
state = {"tick": 0, "phase": "still", "still_ticks": 0, "ticks_while_running": 0, "esc_tick": 0}
STILL_TREE = "still run"
TICK_S = 0.7
RENDER_NODES = ("still", "thumbnails")  # in this Blender's own process (main thread)
HELPER_NODES = ("extract", "glb_export")  # OCP: in the helper interpreter
SLOW_TREE = "slow run"
SLOW_ATTEMPTS = 20
SLOW_GRAPH = {
    "version": 1, "name": "slow", "family": "still",
    "nodes": [{"id": "setup", "step": "order_line_setup", "params": {}},
              {"id": "notify", "step": "notify",
               "params": {"webhook_url": "http://127.0.0.1:9/hook", "max_attempts": SLOW_ATTEMPTS,
                          "backoff_s": 1.0, "timeout_s": 2.0}}],
    "edges": [],
}


def editor_area():
    window = bpy.context.window_manager.windows[0]
    area = max(window.screen.areas, key=lambda a: a.width * a.height)
    return window, area


def simulate(event_type, value, x, y, **modifiers):
    """Input events need `--enable-event-simulate`; without it they raise and are skipped."""
    window = bpy.context.window_manager.windows[0]
    try:
        window.event_simulate(type=event_type, value=value, x=int(x), y=int(y), **modifiers)
    except Exception as exc:  # noqa: BLE001 - only cosmetic: the sidebar tab or the pointer
        print("event simulation unavailable:", exc)


def override():
    window, area = editor_area()
    region = next(r for r in area.regions if r.type == "WINDOW")
    return bpy.context.temp_override(window=window, area=area, region=region)


def hartomat_trees():
    return [t for t in bpy.data.node_groups if t.bl_idname == "HartomatWorkflowTree"]


def first_use():
    """An empty HartOMat editor: the sidebar's HartOMat tab offers Load Starter Graph (the Start
    panel); the header's New makes an empty tree, and Load Starter Graph fills that one."""
    import addon_utils
    from bl_ext.user_default.hartomat import panels

    assert addon_utils.check(MODULE)[1], "the HartOMat extension is not enabled"
    window, area = editor_area()
    area.ui_type = "HartomatWorkflowTree"
    with override():
        bpy.ops.screen.screen_full_area()
    window, area = editor_area()
    space = area.spaces.active
    space.show_region_ui = True
    assert space.node_tree is None and not hartomat_trees()
    sidebar = next(r for r in area.regions if r.type == "UI")
    with bpy.context.temp_override(window=window, area=area, region=sidebar):
        assert panels.HARTOMAT_PT_start.poll(bpy.context), "no Start panel in an empty HartOMat editor"
        assert not panels.HARTOMAT_PT_workflow.poll(bpy.context)
    with override():
        bpy.ops.node.new_node_tree(type="HartomatWorkflowTree")  # the header's New
    (empty,) = hartomat_trees()
    assert space.node_tree == empty and not empty.nodes
    with bpy.context.temp_override(window=window, area=area, region=sidebar):
        assert panels.HARTOMAT_PT_start.poll(bpy.context)  # still offered for the empty tree
    with override():
        bpy.ops.hartomat.load_starter(family="still")
    (tree,) = hartomat_trees()  # the empty tree was filled: none is left behind
    assert tree == empty and len(tree.nodes) == 12 and tree.name == "still (migrated)", tree.name
    print("first use: New then Load Starter Graph filled the one tree", tree.name, flush=True)


def framed(area, tree, what, ticks=6):
    """nodes_in_view once the add-on's framing (a timer after the first draw) has happened: on a
    loaded machine the draw can take more than one tick; after `ticks` the check must pass."""
    try:
        return nodes_in_view(area, tree, what)
    except AssertionError:
        state[what] = state.get(what, 0) + 1
        if state[what] >= ticks:
            raise
        return None


def nodes_in_view(area, tree, what):
    """Every node's box inside the editor's main region, and the zoom (region pixels per view unit
    at UI scale 1) the framing left them at."""
    region = next(r for r in area.regions if r.type == "WINDOW")
    scale = bpy.context.preferences.system.ui_scale
    view = region.view2d
    (x0, _), (x1, _) = view.view_to_region(0, 0, clip=False), view.view_to_region(1000, 0, clip=False)
    zoom = (x1 - x0) / 1000 / scale
    outside = []
    for node in tree.nodes:
        left, top = node.location.x * scale, node.location.y * scale
        right, bottom = left + node.dimensions.x, top - node.dimensions.y
        corners = [view.view_to_region(x, y, clip=False) for x, y in ((left, top), (right, bottom))]
        if not all(0 <= cx <= region.width and 0 <= cy <= region.height for cx, cy in corners):
            outside.append((node.hm_id, corners))
    assert node.dimensions.x > 0, "the nodes were not drawn yet"
    assert not outside, f"{what}: nodes outside the {region.width}x{region.height} editor: {outside}"
    print(f"{what}: all {len(tree.nodes)} nodes inside the {region.width}x{region.height} editor at zoom "
          f"{zoom:.2f}", flush=True)
    return zoom


READABLE_ZOOM = 0.8  # node text at 80% of its size at zoom 1 (about 9 px): readable


def setup():
    _window, area = editor_area()
    tree = bpy.data.node_groups["still (migrated)"]
    zoom = framed(area, tree, "after Load Starter Graph")
    if zoom is None:
        return False
    assert zoom >= READABLE_ZOOM, f"framed at zoom {zoom:.2f}: too small to read"
    still = next(n for n in tree.nodes if n.hm_id == "still")
    tree.links.remove(next(link for link in tree.links if link.to_node == still
                           and link.to_socket.identifier == "bbox"))
    for node in tree.nodes:
        node.select = node == still
    tree.nodes.active = still
    with override():
        bpy.ops.hartomat.validate(tree_name=tree.name)
    return True


TAB_OFFSET = 234  # the HartOMat tab's centre below the sidebar's top (Group, Node, Tool, View, HartOMat)


def show_hartomat_tab():
    """Clicks the sidebar's HartOMat tab (Blender 4.3 cannot set the active tab from Python)."""
    _window, area = editor_area()
    sidebar = next(r for r in area.regions if r.type == "UI")
    x, y = sidebar.x + sidebar.width - 8, sidebar.y + sidebar.height - TAB_OFFSET
    simulate("MOUSEMOVE", "NOTHING", x, y)
    simulate("LEFTMOUSE", "PRESS", x, y)
    simulate("LEFTMOUSE", "RELEASE", x, y)


def reports():
    """The window manager's reports, oldest first, as the Info editor lists them (the status bar
    shows the last): read through a moment's Info editor in the node editor's area."""
    window = bpy.context.window_manager.windows[0]
    area = next(a for a in window.screen.areas if a.ui_type == "HartomatWorkflowTree")
    kind = area.ui_type
    area.ui_type = "INFO"
    try:
        region = next(r for r in area.regions if r.type == "WINDOW")
        with bpy.context.temp_override(window=window, area=area, region=region):
            bpy.ops.info.select_all(action="SELECT")
            bpy.ops.info.report_copy()
            bpy.ops.info.select_all(action="DESELECT")
    finally:
        area.ui_type = kind
    return [line for line in bpy.context.window_manager.clipboard.splitlines() if line.strip()]


def last_report():
    said = reports()
    return said[-1] if said else ""


def park_pointer():
    _window, area = editor_area()
    simulate("MOUSEMOVE", "NOTHING", area.x + 5, area.y + 5)


def shoot(path=None):
    subprocess.run(f"xwd -root -silent | xwdtopnm 2>/dev/null | pnmtopng > '{path or screenshot}'", shell=True,
                   check=True)


def open_menu():
    with override():
        bpy.ops.wm.call_menu(name="NODE_MT_add")


def start_still_run():
    """The still starter graph on the STEP file, started as a click does, on the editor unmaximised
    (so the still can open beside the graph in this window)."""
    import json

    with override():
        bpy.ops.hartomat.load_starter(family="still")
    only_the_editor()
    tree = next(t for t in bpy.data.node_groups if t.name.startswith("still (migrated)")
                and t.name != "still (migrated)")
    tree.name = STILL_TREE
    bpy.ops.wm.save_as_mainfile(filepath=screenshot + ".before.blend", copy=True)
    samples = 4 if resolution <= 128 else 48
    overrides = {"still": {"resolution_x": resolution, "resolution_y": resolution, "samples": samples,
                           "denoise": False},
                 "thumbnails": {"sizes": [32]}}
    click_run(tree, screenshot + ".runs", json.dumps(overrides))
    try:  # a second click while it runs is refused
        with area_override(node_editor()):
            second = bpy.ops.hartomat.run_local("INVOKE_DEFAULT", tree_name=tree.name)
    except RuntimeError as exc:
        second = str(exc)
    assert "is running already" in str(second), second


def only_the_editor():
    """Leave the maximised editor and close the layout's other areas: the graph and (after the
    run) the still share the window."""
    with override():
        bpy.ops.screen.back_to_previous()
    window = bpy.context.window_manager.windows[0]
    for area in [a for a in window.screen.areas if a.ui_type != "HartomatWorkflowTree"]:
        with bpy.context.temp_override(window=window, screen=window.screen, area=area):
            bpy.ops.screen.area_close()


def click_run(tree, out_dir, overrides=""):
    """Show `tree` in the editor and start Run Locally on it as a click does (INVOKE: modal)."""
    tree.hm_step_path = step_file
    tree.hm_out_dir = out_dir
    area = node_editor()
    area.spaces.active.node_tree = tree
    with area_override(area):
        result = bpy.ops.hartomat.run_local("INVOKE_DEFAULT", tree_name=tree.name, overrides=overrides)
    assert result == {"RUNNING_MODAL"}, result


def node_editor():
    window = bpy.context.window_manager.windows[0]
    return next(a for a in window.screen.areas if a.ui_type == "HartomatWorkflowTree")


def area_override(area):
    window = bpy.context.window_manager.windows[0]
    region = next(r for r in area.regions if r.type == "WINDOW")
    return bpy.context.temp_override(window=window, area=area, region=region)


def still_run_finished():
    """The still run ended: every node green, renders in this process, the still in this window."""
    import json
    import os

    tree = bpy.data.node_groups[STILL_TREE]
    if tree.hm_run_state in ("", "running"):
        state["still_ticks"] += 1
        return False
    assert tree.hm_run_state == "succeeded", (tree.hm_run_state, tree.hm_progress_message, tree.hm_run)
    statuses = {n.hm_id: n.hm_status for n in tree.nodes}
    assert set(statuses.values()) == {"succeeded"}, statuses
    assert not tree.hm_run_stale and not tree.hm_dirty  # the run itself is no edit
    nodes = json.loads(tree.hm_run)["nodes"]
    for node_id in RENDER_NODES:
        assert (nodes[node_id]["interpreter"], nodes[node_id]["pid"]) == (bpy.app.binary_path, os.getpid()), \
            nodes[node_id]
    for node_id in HELPER_NODES:
        assert nodes[node_id]["pid"] != os.getpid(), nodes[node_id]
    assert state["still_ticks"] >= 3, state  # the UI ran its timers between the nodes: it stayed live
    windows = bpy.context.window_manager.windows
    assert len(windows) == 1, f"{len(windows)} windows: the still must open inside this one"
    (image_area,) = [a for a in windows[0].screen.areas if a.type == "IMAGE_EDITOR"]
    image = image_area.spaces.active.image
    assert image is not None and image.filepath.endswith("still.png"), image
    print("still run:", tree.hm_run_state, "after", state["still_ticks"], "UI ticks;", "render nodes in",
          bpy.app.binary_path, "pid", os.getpid(), "; helper nodes in", nodes["extract"]["interpreter"],
          "; out", tree.hm_out_dir, flush=True)
    print(f"longest UI stall during the still run: {state.get('longest_gap', 0.0):.2f} s beyond the "
          f"{TICK_S} s tick", flush=True)
    print("image editor at", image_area.x, image_area.y, image_area.width, image_area.height, "window height",
          windows[0].height, flush=True)
    said = last_report()
    assert re.search(r"HartOMat: run \w+ succeeded in [\d.]+ s", said), said  # the status bar: the outcome
    print("status bar after the still run:", said, flush=True)
    file_unchanged_but_the_still(image.filepath)
    return True


def saved_datablocks(path):
    with bpy.data.libraries.load(path) as (saved, _):
        return {kind: sorted(getattr(saved, kind)) for kind in dir(saved) if getattr(saved, kind)}


def file_unchanged_but_the_still(still):
    """The file saved after the run holds the datablocks it held before, plus the still the Image
    Editor shows (an image datablock naming the file on disk, not packed)."""
    bpy.ops.wm.save_as_mainfile(filepath=screenshot + ".after.blend", copy=True)
    before, after = saved_datablocks(screenshot + ".before.blend"), saved_datablocks(screenshot + ".after.blend")
    added = {kind: sorted(set(after.get(kind, [])) - set(before.get(kind, []))) for kind in after}
    removed = {kind: sorted(set(before.get(kind, [])) - set(after.get(kind, []))) for kind in before}
    added, removed = {k: v for k, v in added.items() if v}, {k: v for k, v in removed.items() if v}
    assert added == {"images": [Path(still).name]} and not removed, (added, removed)
    packed = [i.name for i in bpy.data.images if i.packed_file is not None]
    assert not packed, packed
    print("file after the run: the same datablocks, plus the image", Path(still).name, flush=True)


def edit_after_the_run():
    """An edit after the run: the run shown is stale (the nodes keep its colours and say so), and
    cutting a link is an error auto-validation puts on the node and in the status bar."""
    tree = bpy.data.node_groups[STILL_TREE]
    still = next(n for n in tree.nodes if n.hm_id == "still")
    still.hm_s_samples = still.hm_s_samples + 1
    assert tree.hm_run_stale and still.hm_status == "succeeded", (tree.hm_run_stale, still.hm_status)
    link = next(link for link in tree.links if link.to_node == still and link.to_socket.identifier == "bbox")
    state["cut"] = (link.from_node.name, link.from_socket.identifier)
    tree.links.remove(link)


def auto_validated(word):
    """Auto-validation ran (a timer, a moment after the edit) and the status bar says `word`."""
    tree = bpy.data.node_groups[STILL_TREE]
    if tree.hm_dirty:
        return False
    said = last_report()
    if f"'{STILL_TREE}': " not in said:  # the report follows the validation by one event
        state["report waits"] = state.get("report waits", 0) + 1
        assert state["report waits"] < 5, f"auto-validation never reached the status bar: {said}"
        return False
    state["report waits"] = 0
    assert word in said, said
    still = next(n for n in tree.nodes if n.hm_id == "still")
    green = [n.hm_id for n in tree.nodes if n.hm_id != "still" and n.use_custom_color
             and n.color[1] > n.color[0] + 0.1]
    assert len(green) == len(tree.nodes) - 1, green  # the other nodes keep the run's colour
    assert (still.color[0] > 0.5) == (word == "error"), tuple(still.color)  # red while cut
    print(f"auto-validation in the status bar: {said}", flush=True)
    return True


def relink():
    tree = bpy.data.node_groups[STILL_TREE]
    still = next(n for n in tree.nodes if n.hm_id == "still")
    source, port = state["cut"]
    tree.links.new(next(s for s in tree.nodes[source].outputs if s.identifier == port),
                   next(s for s in still.inputs if s.identifier == "bbox"))


def start_slow_run():
    """A graph whose notify node retries a closed port for minutes, started as a user clicks Run."""
    import json

    from bl_ext.user_default.hartomat import tree_json

    tree = tree_json.load_document_into_tree(json.dumps(SLOW_GRAPH), "slow graph")
    tree.name = SLOW_TREE
    tree.use_fake_user = True
    click_run(tree, screenshot + ".slow-runs")


def slow_node():
    return next(n for n in bpy.data.node_groups[SLOW_TREE].nodes if n.hm_id == "notify")


def while_running():
    """The UI between progress updates: timers tick, operators run, the editor redraws."""
    tree = bpy.data.node_groups[SLOW_TREE]
    assert tree.hm_run_state == "running", (tree.hm_run_state, tree.hm_run)
    state["ticks_while_running"] += 1
    with area_override(node_editor()):
        assert bpy.ops.node.view_all() == {"FINISHED"}
        bpy.context.area.tag_redraw()
    if state["ticks_while_running"] >= 3 and slow_node().hm_status == "running":
        simulate("ESC", "PRESS", 5, 5)
        simulate("ESC", "RELEASE", 5, 5)
        state["esc_tick"] = state["tick"]
        return True
    return False


def slow_run_cancelled():
    import json

    tree = bpy.data.node_groups[SLOW_TREE]
    if tree.hm_run_state == "running":
        return False
    run = json.loads(tree.hm_run)
    assert run["status"] == "cancelled", run
    assert slow_node().hm_status == "cancelled", slow_node().hm_status
    record = json.loads(slow_node().hm_run)
    attempts = [line for line in record["log_tail"] if line.split(" ", 1)[-1].startswith("webhook ") and ": attempt " in line]
    assert 0 < len(attempts) < SLOW_ATTEMPTS, record["log_tail"]  # stopped early, not by giving up
    summary = json.loads((Path(tree.hm_out_dir) / "run.json").read_text())
    assert summary["status"] == "cancelled" and summary["nodes"]["notify"]["status"] == "cancelled", summary
    with area_override(node_editor()):  # still responsive after the cancel
        assert bpy.ops.node.view_all() == {"FINISHED"}
    print("modal cancel:", run["status"], "after", len(attempts), "webhook attempts;",
          state["ticks_while_running"], "UI ticks while running", flush=True)
    return True


def advance():
    """Phases after the scripted start: the modal run, then the slow run cancelled with Esc."""
    phase = state["phase"]
    if phase == "still" and still_run_finished():
        state["phase"] = "frame"
    elif phase == "frame":  # the run framed the graph beside the Image Editor
        zoom = framed(node_editor(), bpy.data.node_groups[STILL_TREE], "after the still run")
        if zoom is not None:
            assert zoom >= READABLE_ZOOM, f"framed at zoom {zoom:.2f}: too small to read"
            state["phase"] = "shoot"
    elif phase == "shoot":  # a tick later: the graph and the still have drawn
        shoot(run_screenshot)
        edit_after_the_run()
        state["phase"] = "stale"
    elif phase == "stale" and auto_validated("error"):
        relink()
        state["phase"] = "relinked"
    elif phase == "relinked" and auto_validated("valid"):
        start_slow_run()
        state["phase"] = "slow"
    elif phase == "slow" and while_running():
        state["phase"] = "cancelling"
    elif phase == "cancelling" and slow_run_cancelled():
        start_failing_run()
        state["phase"] = "failing"
    elif phase == "failing" and failing_run_failed():
        state["phase"] = "failed"
    elif phase == "failed":  # a tick later: the red node with its error has drawn
        shoot(run_screenshot + ".failed.png")
        return True
    return False


def start_failing_run():
    """First a run refused for a missing STEP file: it clears the last run's marks, inspection and
    still. Then the still graph on a file that is no STEP: the extract node fails in the helper."""
    tree = bpy.data.node_groups[STILL_TREE]
    node_editor().spaces.active.node_tree = tree
    tree.hm_step_path = screenshot + ".missing.step"
    try:
        with area_override(node_editor()):
            bpy.ops.hartomat.run_local("INVOKE_DEFAULT", tree_name=tree.name)
        raise AssertionError("a run without its STEP file started")
    except RuntimeError as exc:
        assert "missing.step' not found" in str(exc), exc
    marked = {n.hm_id: n.hm_status for n in tree.nodes if n.hm_status}
    assert marked == {"step": "failed"} and not tree.hm_run, (marked, tree.hm_run)  # the old run is gone
    images = [a.spaces.active.image for a in bpy.context.window_manager.windows[0].screen.areas
              if a.type == "IMAGE_EDITOR"]
    assert images == [None], images  # the last run's still left the Image Editor
    assert not [i for i in bpy.data.images if i.filepath.endswith("still.png")]
    print("refused run cleared the last run's marks, record and still", flush=True)
    broken = Path(screenshot + ".broken.step")
    broken.write_text("ISO-10303-21;\nthis is not a STEP body\n")
    tree.hm_step_path, tree.hm_out_dir = str(broken), screenshot + ".failed-runs"
    with area_override(node_editor()):
        result = bpy.ops.hartomat.run_local("INVOKE_DEFAULT", tree_name=tree.name)
    assert result == {"RUNNING_MODAL"}, result


def failing_run_failed():
    """The failed node is red with its error; the run message (sidebar) names node and error."""
    import json

    tree = bpy.data.node_groups[STILL_TREE]
    if tree.hm_run_state == "running":
        return False
    assert tree.hm_run_state == "failed", (tree.hm_run_state, tree.hm_progress_message)
    extract = next(n for n in tree.nodes if n.hm_id == "extract")
    message = json.loads(extract.hm_run)["error"]["message"]
    assert extract.hm_status == "failed" and extract.use_custom_color and message, extract.hm_run
    assert f"node 'extract' (occ_object_extract) failed: {message}" in tree.hm_progress_message, \
        tree.hm_progress_message
    said = reports()
    assert f"failed: node 'extract' (occ_object_extract) failed: {message}" in said[-1], said[-1]
    # Debian's Blender has no OpenImageDenoise: Run Locally said so before the (denoising) still rendered
    warned = [line for line in said if "node 'still' (blender_still) asks for denoising" in line]
    assert warned and "OpenImageDenoise" in warned[-1], said[-4:]
    print("denoise warning before the run:", warned[-1], flush=True)
    said = said[-1]
    print("failed run: node 'extract' failed:", message, flush=True)
    print("status bar after the failed run:", said, flush=True)
    return True


def tick():
    state["tick"] += 1
    step = state["tick"]
    now = time.monotonic()
    if state["phase"] == "still" and state.get("last"):  # how long the UI waited between two ticks
        state["longest_gap"] = max(state.get("longest_gap", 0.0), now - state["last"] - TICK_S)
    state["last"] = now
    try:
        if step == 1:
            first_use()
        elif step == 2:
            if not setup():
                state["tick"] -= 1  # step 2 again next tick: the framing has not happened yet
        elif step == 3:
            show_hartomat_tab()
        elif step == 4:
            park_pointer()
        elif step == 5:
            shoot()
        elif step == 6:
            open_menu()
        elif step == 8:
            tree = bpy.data.node_groups["still (migrated)"]
            # validation (and auto-validation) repaint nodes; that must not re-mark the tree dirty
            assert not tree.hm_dirty, "the tree is dirty again after validating: auto-validation would loop"
            simulate("ESC", "PRESS", 5, 5)  # close the Add menu
            simulate("ESC", "RELEASE", 5, 5)
        elif step == 9:
            start_still_run()
        elif step > 9 and advance():
            print("HARTOMAT_GUI_OK", flush=True)
            bpy.ops.wm.quit_blender()
            return None
        if step > 500:
            raise AssertionError(f"the GUI checks did not finish in time (phase {state['phase']})")
    except Exception:
        import traceback

        traceback.print_exc()
        sys.stdout.flush()
        bpy.ops.wm.quit_blender()
        return None
    return TICK_S


bpy.app.timers.register(tick, first_interval=1.5)

"""Runs inside a Blender GUI (Xvfb): shows the HartOMat editor with the still starter graph, a
validation error on one node and the sidebar, lets everything draw, screenshots the X display,
opens the Add menu (menu drawing), then quits.

Usage: DISPLAY=:N blender --python gui_driver.py -- SCREENSHOT.png
Prints HARTOMAT_GUI_OK when done; Python errors inside Blender show up as tracebacks in its output.
"""

import subprocess
import sys

import bpy

MODULE = "bl_ext.user_default.hartomat"
args = sys.argv[sys.argv.index("--") + 1:]
screenshot = args[0]
state = {"tick": 0}


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


def setup():
    import addon_utils

    assert addon_utils.check(MODULE)[1], "the HartOMat extension is not enabled"
    window, area = editor_area()
    area.ui_type = "HartomatWorkflowTree"
    with override():
        bpy.ops.screen.screen_full_area()
    window, area = editor_area()
    space = area.spaces.active
    with override():
        bpy.ops.hartomat.load_starter(family="still")
    tree = bpy.data.node_groups["still (migrated)"]
    space.node_tree = tree
    space.show_region_ui = True
    still = next(n for n in tree.nodes if n.hm_id == "still")
    tree.links.remove(next(link for link in tree.links if link.to_node == still
                           and link.to_socket.identifier == "bbox"))
    for node in tree.nodes:
        node.select = node == still
    tree.nodes.active = still
    with override():
        bpy.ops.hartomat.validate(tree_name=tree.name)
    with override():
        bpy.ops.node.view_all()


def show_hartomat_tab():
    """Ctrl+Wheel over the sidebar steps through its tabs; the HartOMat tab is the last one."""
    _window, area = editor_area()
    sidebar = next(r for r in area.regions if r.type == "UI")
    x, y = sidebar.x + sidebar.width // 2, sidebar.y + sidebar.height // 2
    simulate("MOUSEMOVE", "NOTHING", x, y)
    simulate("WHEELUPMOUSE", "PRESS", x, y, ctrl=True)


def park_pointer():
    _window, area = editor_area()
    simulate("MOUSEMOVE", "NOTHING", area.x + 5, area.y + 5)


def shoot():
    subprocess.run(f"xwd -root -silent | xwdtopnm 2>/dev/null | pnmtopng > '{screenshot}'", shell=True,
                   check=True)


def open_menu():
    with override():
        bpy.ops.wm.call_menu(name="NODE_MT_add")


def tick():
    state["tick"] += 1
    step = state["tick"]
    try:
        if step == 1:
            setup()
        elif step == 2:
            show_hartomat_tab()
        elif step == 3:
            with override():
                bpy.ops.node.view_all()
            park_pointer()
        elif step == 5:
            shoot()
        elif step == 6:
            open_menu()
        elif step == 8:
            print("HARTOMAT_GUI_OK", flush=True)
            bpy.ops.wm.quit_blender()
            return None
    except Exception:
        import traceback

        traceback.print_exc()
        sys.stdout.flush()
        bpy.ops.wm.quit_blender()
        return None
    return 0.7


bpy.app.timers.register(tick, first_interval=1.5)

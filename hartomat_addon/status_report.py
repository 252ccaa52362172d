"""A report in the status bar from code that is no operator's execute (a timer).

Blender keeps the reports of an operator called from Python to itself (printed, never shown), so
a timer's verdict (auto-validation) would never reach the status bar. A modal operator's reports
do: this one waits for one timer event of its own, reports the message and ends.
"""

from __future__ import annotations

from typing import Any

import bpy

LEVELS = [(level, level.title(), "") for level in ("INFO", "WARNING", "ERROR")]


class HARTOMAT_OT_status_report(bpy.types.Operator):
    """Show a message in the status bar"""

    bl_idname = "hartomat.status_report"
    bl_label = "HartOMat Status"
    bl_options = {"INTERNAL"}

    message: bpy.props.StringProperty(options={"SKIP_SAVE"})
    level: bpy.props.EnumProperty(items=LEVELS, default="INFO", options={"SKIP_SAVE"})

    def invoke(self, context: Any, event: Any) -> set[str]:
        if context.window is None:
            return self.execute(context)
        self._timer = context.window_manager.event_timer_add(0.01, window=context.window)
        context.window_manager.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context: Any, event: Any) -> set[str]:
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        context.window_manager.event_timer_remove(self._timer)
        return self.execute(context)

    def execute(self, context: Any) -> set[str]:
        self.report({self.level}, self.message)
        return {"FINISHED"}


def show(message: str, level: str = "INFO") -> None:
    """`message` as the status bar's latest report (GUI); printed in background mode."""
    windows = bpy.context.window_manager.windows if bpy.context.window_manager else []
    if bpy.app.background or not windows:
        print(f"{level.title()}: {message}")
        return
    with bpy.context.temp_override(window=windows[0]):
        bpy.ops.hartomat.status_report("INVOKE_DEFAULT", message=message, level=level)


CLASSES = (HARTOMAT_OT_status_report,)

"""A probe workflow: order line -> STEP fingerprint, pure nodes only, no rendering.

It checks a worker end to end (claim, STEP download, run_workflow, report) in milliseconds, so
the queue benchmark and worker smoke tests measure the farm rather than Blender.
"""

from __future__ import annotations

from typing import Any

from engine.model.vocabulary import Mode, Preset

PROBE_OUTPUT_TYPE = "probe"


def probe_workflow() -> dict[str, Any]:
    return {"version": 1, "name": "farm probe", "family": Preset.STILL,
            "nodes": [{"id": "setup", "step": "order_line_setup"}, {"id": "step", "step": "resolve_step_path"}],
            "edges": [{"source": "setup", "source_output": "order_line", "target": "step",
                       "target_input": "order_line"}]}


def install_probe(client: Any) -> dict[str, Any]:
    """Save the probe workflow and an output type `probe` linked to it (admin client)."""
    saved = client.save_workflow(probe_workflow(), "wf-probe")
    result: dict[str, Any] = client.put_output_type(PROBE_OUTPUT_TYPE, {
        "family": Preset.STILL, "artifact_kind": "step_file", "workflow_id": saved["id"], "mode": Mode.GRAPH})
    return result

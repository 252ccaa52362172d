"""Test-only nodes and fakes for the runtime tests (never registered in the shipped registry).

Module-level functions, so spawned pool processes and helper interpreters can import them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Generator
from pathlib import Path
from typing import Any

from engine.errors import CancelledError, NodeInputError
from engine.model.artifacts import Artifact, ArtifactKind
from engine.model.context import NodeCall, OrderLine
from engine.model.node_definition import NodeDefinition, NodeSettings, inp, out
from engine.model.registry import REGISTRY, NodeDefinitionRegistry
from engine.model.workflow import Workflow, WorkflowEdge, WorkflowNode

K = ArtifactKind


class ProbeSettings(NodeSettings):
    tag: str = ""
    fail_times: int = 0
    seconds: float = 0.0
    source: str = ""


def _tick(call: NodeCall) -> Artifact:
    return Artifact(kind=K.BBOX, data={"node": call.node_id, "tag": call.settings.tag})


def noop(call: NodeCall) -> dict[str, Artifact]:
    return {"out": _tick(call)}


def flaky(call: NodeCall) -> dict[str, Artifact]:
    """Fails `fail_times` times (counted in its work folder), then succeeds."""
    call.workdir.mkdir(parents=True, exist_ok=True)  # data-only nodes create their folder on demand
    counter = call.workdir / "count"
    count = int(counter.read_text()) if counter.exists() else 0
    counter.write_text(str(count + 1))
    if count < call.settings.fail_times:
        raise RuntimeError(f"flaky failure {count + 1}")
    return {"out": _tick(call)}


def slow(call: NodeCall) -> dict[str, Artifact]:
    """Works for `seconds`, reporting progress; leaves its pid in its work folder."""
    call.workdir.mkdir(parents=True, exist_ok=True)
    (call.workdir / "pid").write_text(str(os.getpid()))
    end = time.monotonic() + call.settings.seconds
    steps = 0
    while time.monotonic() < end:
        steps += 1
        call.progress(min(1.0, steps / 100), "working")
        time.sleep(0.02)
    return {"out": _tick(call)}


def where(call: NodeCall) -> dict[str, Artifact]:
    """Says which thread and process ran it."""
    return {"out": Artifact(kind=K.BBOX, data={"node": call.node_id, "thread": threading.current_thread().name,
                                               "pid": os.getpid()})}


def job(call: NodeCall) -> Any:
    """Waits on a job of its host (a thread working `seconds`) as the still waits on Blender's render
    job in the editor: one turn per step for a stepping caller. `tag` 'stopped': the job was
    stopped (Esc in Blender), the node is cancelled."""
    return call.stepwise(_job_turns(call))


def _job_turns(call: NodeCall) -> Generator[None, None, dict[str, Artifact]]:
    worker = threading.Thread(target=time.sleep, args=(call.settings.seconds,), name="host-job")
    worker.start()
    turns = 0
    while worker.is_alive():
        turns += 1
        call.progress(0.5, f"waiting on the job, turn {turns}")
        yield
        time.sleep(0.005)
    if call.settings.tag == "stopped":
        raise CancelledError(f"{call.node_id}: the host's job was stopped")
    return {"out": Artifact(kind=K.BBOX, data={"node": call.node_id, "turns": turns, "stepped": call.stepped,
                                               "thread": threading.current_thread().name})}


def rendezvous(call: NodeCall) -> dict[str, Artifact]:
    """Leaves its tag in folder `source` and waits (up to `seconds`) for another node's: two of these
    succeed only when they run at the same time."""
    folder = Path(call.settings.source)
    (folder / call.settings.tag).write_text(str(time.time()))
    end = time.monotonic() + call.settings.seconds
    while len(list(folder.iterdir())) < 2:
        if time.monotonic() > end:
            raise RuntimeError(f"{call.node_id}: no other node arrived within {call.settings.seconds} s")
        time.sleep(0.02)
    return {"out": _tick(call)}


def boom(call: NodeCall) -> dict[str, Artifact]:
    logging.getLogger("probe").warning("careful now")
    print("about to fail")
    raise RuntimeError(f"boom in {call.node_id}")


def write_file(call: NodeCall) -> dict[str, Artifact]:
    """Copies `source` (upper-cased) into an image-like file: a node with a file output."""
    source = Path(call.settings.source)
    if not source.is_file():
        raise NodeInputError(f"node '{call.node_id}': source '{source}' does not exist")
    target = call.workdir / f"{call.node_id}.txt"
    target.write_text(source.read_text().upper() + call.settings.tag)
    call.log(f"wrote {target}")
    return {"image": Artifact.from_file(K.IMAGE, target, data={"width": 1, "height": 1, "view": call.node_id})}


def parts(call: NodeCall) -> dict[str, Artifact]:
    """cad_parts read from the JSON file `source` (a stand-in for occ_object_extract)."""
    data = json.loads(Path(call.settings.source).read_text())
    return {"cad_parts": Artifact(kind=K.CAD_PARTS, data=data)}


def stamp(call: NodeCall) -> dict[str, Artifact]:
    """A different file on every run, whatever its settings: an upstream the plan cannot foresee."""
    target = call.workdir / "stamp.txt"
    target.write_text(str(time.time_ns()))
    return {"image": Artifact.from_file(K.IMAGE, target, data={"width": 1, "height": 1, "view": "stamp"})}


def echo(call: NodeCall) -> dict[str, Artifact]:
    """Copies its input image file."""
    target = call.workdir / "echo.txt"
    target.write_text(Path(str(call.require("image").path)).read_text())
    return {"image": Artifact.from_file(K.IMAGE, target, data={"width": 1, "height": 1, "view": "echo"})}


IMAGE_OUT = (out("image", K.IMAGE, role="primary_render"),)


def _def(key: str, *, render: bool = False, execution: str = "inline", outputs: Any = None,
         inputs: Any = None) -> NodeDefinition:
    return NodeDefinition(
        key=key, label=key, description=f"test-only {key}", family="test",
        settings_model=ProbeSettings,
        inputs=inputs if inputs is not None else (inp("inp", K.BBOX, required=False, multiple=True),),
        outputs=outputs if outputs is not None else (out("out", K.BBOX),),
        execution=execution, is_render=render,  # type: ignore[arg-type]
    )


TEST_NODES = {
    "t_noop": (_def("t_noop"), noop),
    "t_flaky": (_def("t_flaky"), flaky),
    "t_slow": (_def("t_slow"), slow),
    "t_boom": (_def("t_boom"), boom),
    "t_proc": (_def("t_proc", execution="process"), slow),
    "t_main": (_def("t_main", execution="main_thread"), where),
    "t_job": (_def("t_job", execution="main_thread"), job),
    "t_where": (_def("t_where"), where),
    "t_meet": (_def("t_meet", execution="process"), rendezvous),
    "t_proc_boom": (_def("t_proc_boom", execution="process"), boom),
    "t_parts": (_def("t_parts", outputs=(out("cad_parts", K.CAD_PARTS),)), parts),
    "t_file": (_def("t_file", render=True, outputs=IMAGE_OUT), write_file),
    "t_stamp": (_def("t_stamp", outputs=IMAGE_OUT), stamp),
    "t_echo": (_def("t_echo", outputs=IMAGE_OUT, inputs=(inp("image", K.IMAGE),)), echo),
}


def runtime_registry() -> NodeDefinitionRegistry:
    registry = REGISTRY.copy()
    for definition, executor in TEST_NODES.values():
        registry.register(definition, executor)
    return registry


def register_needing(registry: NodeDefinitionRegistry, base: str, key: str,
                     capabilities: tuple[str, ...]) -> NodeDefinitionRegistry:
    """Register a copy of test node `base` as `key`, needing `capabilities` (e.g. ('ocp',))."""
    definition, executor = TEST_NODES[base]
    registry.register(NodeDefinition.model_validate({**definition.model_dump(), "key": key,
                                                     "capabilities": capabilities}), executor)
    return registry


def node(node_id: str, step: str, policy: dict[str, Any] | None = None, **params: Any) -> WorkflowNode:
    return WorkflowNode.model_validate({"id": node_id, "step": step, "params": params,
                                       **({"policy": policy} if policy else {})})


def edge(source: str, target: str, source_output: str = "out", target_input: str = "inp") -> WorkflowEdge:
    return WorkflowEdge(source=source, source_output=source_output, target=target, target_input=target_input)


def graph(nodes: list[WorkflowNode], edges: list[WorkflowEdge], name: str = "test graph") -> Workflow:
    return Workflow(name=name, family="still", nodes=nodes, edges=edges)


def chain(count: int, step: str = "t_noop") -> Workflow:
    nodes = [node(f"n{i}", step) for i in range(count)]
    return graph(nodes, [edge(f"n{i}", f"n{i + 1}") for i in range(count - 1)], name=f"chain {count}")


def wide(count: int, step: str = "t_noop") -> Workflow:
    nodes = [node("root", step)] + [node(f"w{i}", step, tag=str(i)) for i in range(count - 2)] + [node("sink", step)]
    edges = [edge("root", f"w{i}") for i in range(count - 2)] + [edge(f"w{i}", "sink") for i in range(count - 2)]
    return graph(nodes, edges, name=f"wide {count}")


# -- fakes of the CAD and render executors, for legacy / shadow / fallback tests -------------------
def _png(path: Path, seed: str) -> Path:
    from PIL import Image

    digest = hashlib.sha256(seed.encode()).digest()
    image = Image.new("RGB", (16, 16), (230, 230, 230))  # a product on a backdrop: passes the publish check
    image.paste(tuple(40 + d % 150 for d in digest[:3]), (4, 4, 12, 12))
    image.save(path)
    return path


def fake_resolve_step_path(call: NodeCall) -> dict[str, Artifact]:
    line = call.require("order_line").data
    path = Path(line["step_path"] or "")
    if not path.is_file():
        raise NodeInputError(f"node '{call.node_id}': STEP file '{path}' does not exist")
    return {"step_file": Artifact.from_file(K.STEP_FILE, path, data={"product": line["product"],
                                                                      "file_name": path.name})}


def fake_extract(call: NodeCall) -> dict[str, Artifact]:
    parts = [{"name": "ball", "colour": None}, {"name": "outer_ring", "colour": "#ff0000"},
             {"name": "housing", "colour": None}]
    path = call.workdir / "cad_parts.json"
    data = {"source": call.require("step_file").path, "parts": parts}
    path.write_text(json.dumps(data))
    return {"cad_parts": Artifact(kind=K.CAD_PARTS, path=str(path), data=data)}


def fake_glb(call: NodeCall) -> dict[str, Artifact]:
    step = call.require("step_file")
    path = call.workdir / "model.glb"
    path.write_bytes(b"glTF" + (step.sha256 or "").encode())
    return {"glb": Artifact.from_file(K.GLB, path, role="glb_model", data={"nodes": 1, "meshes": 1})}


def fake_bbox(call: NodeCall) -> dict[str, Artifact]:
    return {"bbox": Artifact(kind=K.BBOX, data={"min": [0, 0, 0], "max": [1, 1, 1], "size": [1, 1, 1],
                                                "center": [0.5, 0.5, 0.5], "diagonal": 1.73, "up": "Y"})}


def fake_template(call: NodeCall) -> dict[str, Artifact]:
    path = call.workdir / "studio.blend"
    path.write_bytes(b"BLENDER-fake")
    return {"template": Artifact.from_file(K.TEMPLATE, path, data={"name": "studio", "camera": "Camera",
                                                                   "category": ""})}


def fake_still(call: NodeCall) -> dict[str, Artifact]:
    settings = call.settings
    if settings.view_name == "fail":
        raise RuntimeError("render failed (asked to)")
    view = settings.view_name or "still"
    seed = f"{call.require('glb').sha256}{settings.azimuth}{settings.elevation}{settings.resolution_x}"
    path = _png(call.workdir / f"{view}.png", seed)
    return {"image": Artifact.from_file(K.IMAGE, path, role="primary_render",
                                        data={"width": 16, "height": 16, "view": view})}


def fake_thumbnails(call: NodeCall) -> dict[str, Artifact]:
    folder = call.workdir / "thumbs"
    folder.mkdir(exist_ok=True)
    files = []
    for image in call.inputs.get("image", []):
        for size in call.settings.sizes:
            files.append(str(_png(folder / f"{Path(str(image.path)).stem}_{size}.png", f"{image.sha256}{size}")))
    return {"thumbnails": Artifact(kind=K.IMAGE_SET, path=str(folder), files=files, role="thumbnail")}


FAKES = {
    "resolve_step_path": fake_resolve_step_path,
    "occ_object_extract": fake_extract,
    "occ_glb_export": fake_glb,
    "glb_bbox": fake_bbox,
    "resolve_template": fake_template,
    "blender_still": fake_still,
    "thumbnail_save": fake_thumbnails,
}


def fake_registry() -> NodeDefinitionRegistry:
    """The shipped definitions with fake CAD/render executors, plus the test-only nodes."""
    registry = runtime_registry()
    for step, executor in FAKES.items():
        registry.register(REGISTRY.get(step), executor, replace=True)
    return registry


def fake_step_file(folder: Path) -> Path:
    """A stand-in STEP file: the fakes only fingerprint it."""
    path = folder / "part.step"
    path.write_text("ISO-10303-21;\nHEADER;\nENDSEC;\nDATA;\nENDSEC;\nEND-ISO-10303-21;\n")
    return path


def order_line(step_path: Path | None = None, **extra: Any) -> OrderLine:
    return OrderLine(id="line-1", order_id="order-1", product="bearing",
                     step_path=str(step_path) if step_path else None, **extra)

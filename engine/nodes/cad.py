"""CAD nodes: find the STEP file, read its parts, write a GLB, measure it, cache STLs.

OCP is imported only inside the functions that need it (through engine.cad.occ), so this module
loads anywhere; the runtime may call these functions in a spawned worker process.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..errors import NodeInputError
from ..model.artifacts import Artifact, ArtifactKind, sha256_file
from ..model.artifacts import ArtifactKind as K
from ..model.context import NodeCall
from ..model.node_definition import NodeDefinition, NodeSettings, inp, out
from ..model.node_settings import CodepageSetting, TessellationSettings, path_setting, setting
from ..model.registry import node
from ..model.vocabulary import Capability

STEP_SUFFIXES = (".step", ".stp")


def safe_name(name: str) -> str:
    """A file-system-safe form of a part or product name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "part"


def unique_file_names(names: list[str], items: list[Any]) -> list[tuple[str, Any]]:
    """Pair each item with a file-safe name, suffixing names that collide once made safe."""
    taken: set[str] = set()
    paired = []
    for name, item in zip(names, items, strict=True):
        base = candidate = safe_name(name)
        suffix = 2
        while candidate.lower() in taken:
            candidate, suffix = f"{base}_{suffix}", suffix + 1
        taken.add(candidate.lower())
        paired.append((candidate, item))
    return paired


# --- resolve_step_path --------------------------------------------------------------------------

def find_in_library(library: Path, product: str) -> Path:
    """The STEP file named after `product` in `library` (any depth; case-insensitive name and suffix)."""
    if not library.is_dir():
        raise NodeInputError(f"product library folder not found: {library} (looking for product '{product}')")
    wanted = product.strip().lower()
    matches = sorted(p for p in library.rglob("*")
                     if p.is_file() and p.suffix.lower() in STEP_SUFFIXES and p.stem.lower() == wanted)
    if not matches:
        raise NodeInputError(
            f"no STEP file for product '{product}' in library {library} (looked for {product}.step/.stp)")
    return matches[0]


def _step_candidate(call: NodeCall, line: dict[str, Any]) -> Path:
    settings = call.settings
    explicit = settings.step_path or line.get("step_path")
    if explicit:
        return Path(explicit).expanduser()
    product = settings.product_number or line.get("product") or ""
    if settings.library_dir and product:
        return find_in_library(Path(settings.library_dir).expanduser(), product)
    raise NodeInputError(
        f"node '{call.node_id}' (resolve_step_path): no STEP file given: set step_path, the order line's "
        f"step_path, or library_dir with a product number (order line product: '{product}')")


class ResolveStepPathSettings(NodeSettings):
    step_path: str = path_setting("", "Source", "Explicit STEP file; overrides the order line's product",
                                  root="products")
    library_dir: str = path_setting("", "Library", "Product library folder searched by product number",
                                    root="products")
    product_number: str = setting("", "Library", "Product number looked up in the library; empty = order line's")


@node(NodeDefinition(
    key="resolve_step_path", label="Resolve STEP Path", family="input", icon="FILE_FOLDER",
    description="Finds the product's STEP file (explicit path or product library lookup) and fingerprints it.",
    settings_model=ResolveStepPathSettings,
    inputs=(inp("order_line", K.ORDER_LINE),),
    outputs=(out("step_file", K.STEP_FILE),),
))
def resolve_step_path(call: NodeCall) -> dict[str, Artifact]:
    order_line = call.input("order_line")
    line = order_line.data if order_line else call.context.order_line.model_dump()
    path = _step_candidate(call, line)
    if not path.is_file():
        raise NodeInputError(f"node '{call.node_id}' (resolve_step_path): STEP file not found: {path}")
    call.log(f"STEP file {path}")
    product = line.get("product") or path.stem
    artifact = Artifact.from_file(ArtifactKind.STEP_FILE, path.resolve(),
                                  data={"product": product, "file_name": path.name})
    return {"step_file": artifact}


# --- occ_object_extract -------------------------------------------------------------------------

def step_source(call: NodeCall) -> tuple[Path, str]:
    """The STEP file path and fingerprint from the `step_file` input."""
    artifact = call.require("step_file")
    if not artifact.path:
        raise NodeInputError(f"node '{call.node_id}' ({call.step}): input 'step_file' has no path")
    path = Path(artifact.path)
    return path, artifact.sha256 or (sha256_file(path) if path.is_file() else "")


def content_counts(parts: list[Any], skipped: dict[str, str]) -> dict[str, int]:
    """Per file: solids, open shells, free surfaces, tessellated faces over the unique parts, and
    the shapes left out as annotations (no faces: PMI and annotation curves, points, text)."""
    totals = {key: sum(p.geometry.get(key, 0) for p in parts)
              for key in ("solids", "shells", "free_faces", "tessellated_faces")}
    totals["surface_parts"] = sum(1 for p in parts if p.geometry.get("shells") or p.geometry.get("free_faces"))
    totals["annotations"] = len(skipped)
    return totals


class OccObjectExtractSettings(CodepageSetting):
    read_names: bool = setting(True, "Reader", "Keep product and instance names from the STEP file")
    read_colours: bool = setting(True, "Reader", "Keep surface and solid colours")
    read_layers: bool = setting(True, "Reader", "Keep layer assignments")


@node(NodeDefinition(
    key="occ_object_extract", label="Extract CAD Objects", family="cad", icon="OUTLINER_OB_GROUP_INSTANCE",
    description="Reads the STEP with XCAF: parts, names, colours, assembly tree, instances, units.",
    settings_model=OccObjectExtractSettings,
    inputs=(inp("step_file", K.STEP_FILE),),
    outputs=(out("cad_parts", K.CAD_PARTS),),
    capabilities=(Capability.OCP,), execution="process",
))
def occ_object_extract(call: NodeCall) -> dict[str, Artifact]:
    from ..cad.category import describe_evidence, detect_category
    from ..cad.occ.assembly import walk_document
    from ..cad.occ.step_reader import shared_step

    path, sha = step_source(call)
    settings = call.settings
    call.progress(0.1, f"reading {path.name}")
    with shared_step(path, settings.read_names, settings.read_colours, settings.read_layers, sha,
                     settings.codepage) as step:
        call.check_cancelled()
        walker, tree = walk_document(step)
    parts = list(walker.parts.values())
    fallbacks = [{"key": p.key, "name": p.name, "source": p.name_source} for p in parts if p.name_source != "product"]
    document = {
        "source": str(path), "sha256": sha, "length_unit": step.length_unit,
        "codepage": step.codepage.as_json(), "warnings": list(step.codepage.warnings),
        "content": content_counts(parts, walker.skipped), "annotations": sorted(walker.skipped.values()),
        "name_fallbacks": fallbacks,
        "parts": [part.as_json() for part in parts], "tree": tree,
        "instance_total": sum(len(part.placements) for part in parts),
    }
    detected = detect_category([part.as_json() for part in parts])
    document["detected_category"] = {**detected, "source": "geometry"} if detected else None
    target = call.workdir / "cad_parts.json"
    target.write_text(json.dumps(document, indent=1))
    for warning in step.codepage.warnings:
        call.log(f"warning: {warning}")
    call.log(f"{len(parts)} parts, {document['instance_total']} instances, file unit {step.length_unit}, "
             f"code page {step.codepage.name} ({step.codepage.how}), {len(walker.skipped)} annotation shapes left out, "
             f"{len(fallbacks)} names from fallbacks")
    if detected:
        call.log(f"detected category '{detected['name']}' from the geometry: {describe_evidence(detected['evidence'])}")
    return {"cad_parts": Artifact(kind=ArtifactKind.CAD_PARTS, path=str(target), data=document,
                                  sha256=sha256_file(target), size=target.stat().st_size)}


# --- occ_glb_export -----------------------------------------------------------------------------

class OccGlbExportSettings(TessellationSettings):
    merge_faces: bool = setting(
        True, "Output", "One glTF primitive per part and colour instead of one per face (a smaller, faster GLB)"
    )
    instance_names: bool = setting(False, "Output", "Name glTF nodes after instances instead of products")


@node(NodeDefinition(
    key="occ_glb_export", label="Export GLB", family="cad", icon="EXPORT",
    description="Tessellates and writes a GLB in metres, Y-up, with names, colours and instances kept.",
    settings_model=OccGlbExportSettings,
    inputs=(inp("step_file", K.STEP_FILE),),
    outputs=(out("glb", K.GLB, role="glb_model"),),
    capabilities=(Capability.OCP,), execution="process",
))
def occ_glb_export(call: NodeCall) -> dict[str, Artifact]:
    from ..cad.occ.step_to_glb import step_to_glb
    from ..cad.occ.tessellate import MeshParams

    path, sha = step_source(call)
    settings = call.settings
    target = call.workdir / f"{safe_name(path.stem)}.glb"
    counts = step_to_glb(path, target, MeshParams.from_settings(settings), settings.merge_faces,
                         settings.instance_names, call.progress, call.check_cancelled, sha, settings.codepage)
    call.log(f"GLB {target.name}: {counts['nodes']} nodes, {counts['meshes']} meshes "
             f"({counts['shared_meshes_removed']} instance meshes shared, {counts['dropped_nodes']} non-part "
             f"nodes left out), names in code page {counts['codepage']}")
    return {"glb": Artifact.from_file(ArtifactKind.GLB, target, role="glb_model",
                                      data={"nodes": counts["nodes"], "meshes": counts["meshes"],
                                            "codepage": counts["codepage"]})}


# --- glb_bbox -----------------------------------------------------------------------------------

def glb_bounds(path: Path, parts: dict[str, Any] | None = None) -> tuple[list[float], list[float]]:
    """Scene bounds of a GLB in its own units (metres), Y-up, from every vertex (and, into
    `parts`, each part's bounds by part key)."""
    from ..cad.glb import scene_bounds

    if not path.is_file():
        raise NodeInputError(f"GLB file not found: {path}")
    try:
        bounds = scene_bounds(path, parts)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise NodeInputError(f"cannot read GLB {path}: {exc}") from exc
    if bounds is None:
        raise NodeInputError(f"GLB has no geometry: {path}")
    return bounds


def bbox_data(low: list[float], high: list[float], padding: float = 0.0) -> dict[str, Any]:
    """min/max/size/center/diagonal, with `padding` (a fraction of the size) on each side."""
    size = [h - lo for lo, h in zip(low, high, strict=True)]
    low = [lo - s * padding for lo, s in zip(low, size, strict=True)]
    high = [h + s * padding for h, s in zip(high, size, strict=True)]
    size = [h - lo for lo, h in zip(low, high, strict=True)]
    return {"min": low, "max": high, "size": size,
            "center": [(lo + h) / 2 for lo, h in zip(low, high, strict=True)],
            "diagonal": sum(s * s for s in size) ** 0.5, "up": "Y"}


class GlbBboxSettings(NodeSettings):
    padding: float = setting(0.0, "Framing", "Extra margin added on each side, as a fraction of the size", ge=0, le=1)


@node(NodeDefinition(
    key="glb_bbox", label="GLB Bounding Box", family="cad", icon="CUBE",
    description="Bounding box, size, centre and diagonal of the GLB in metres, for camera framing.",
    settings_model=GlbBboxSettings,
    inputs=(inp("glb", K.GLB),),
    outputs=(out("bbox", K.BBOX),),
))
def glb_bbox(call: NodeCall) -> dict[str, Artifact]:
    glb = call.require("glb")
    if not glb.path:
        raise NodeInputError(f"node '{call.node_id}' (glb_bbox): input 'glb' has no path")
    parts: dict[str, Any] = {}
    low, high = glb_bounds(Path(glb.path), parts)
    data = bbox_data(low, high, call.settings.padding)
    data["parts"] = {key: {"min": lo, "max": hi} for key, (lo, hi) in parts.items()}
    call.log(f"bbox size {[round(s, 4) for s in data['size']]} m, diagonal {data['diagonal']:.4f} m")
    return {"bbox": Artifact(kind=ArtifactKind.BBOX, data=data)}


# --- stl_cache_generate -------------------------------------------------------------------------

class StlCacheGenerateSettings(TessellationSettings):
    cache_dir: str = path_setting("", "Cache", "STL cache folder; empty = the run store's cache", root="scratch")
    binary: bool = setting(True, "Output", "Write binary STL")


def stl_cache_root(call: NodeCall) -> Path:
    if call.settings.cache_dir:
        return Path(call.settings.cache_dir).expanduser()
    if call.context.cache_dir:
        return Path(call.context.cache_dir) / "stl"
    return call.context.run_dir / "stl-cache"


def stl_cache_key(sha: str, settings: Any) -> str:
    """STEP fingerprint + tessellation settings (+ STL flavour) -> a folder name."""
    import hashlib

    fields = {k: settings.model_dump()[k] for k in
              ("linear_deflection", "relative_deflection", "angular_deflection", "binary", "codepage")}
    return hashlib.sha256(json.dumps([sha, fields], sort_keys=True).encode()).hexdigest()[:32]


def _cached_stls(folder: Path) -> tuple[list[str], dict[str, str]] | None:
    """(files, part key -> file name) of a complete cache folder; None when it is missing or from
    before parts had keys."""
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        return None
    content = json.loads(manifest.read_text())
    files = [str(folder / name) for name in content["files"]]
    if "parts" not in content or not all(Path(f).is_file() for f in files):
        return None
    return files, content["parts"]


def _write_stls(call: NodeCall, path: Path, sha: str, folder: Path) -> tuple[list[str], dict[str, str]]:
    from ..cad.occ.assembly import walk_document
    from ..cad.occ.step_reader import shared_step
    from ..cad.occ.stl_export import write_part_stls
    from ..cad.occ.tessellate import MeshParams, ensure_meshed

    staging = folder.with_name(folder.name + ".partial")
    staging.mkdir(parents=True, exist_ok=True)
    with shared_step(path, layers=None, fingerprint=sha, codepage=call.settings.codepage) as step:
        walker, _tree = walk_document(step, facts=False)
        parts = list(walker.parts.values())
        ensure_meshed(step, [p.label for p in parts], MeshParams.from_settings(call.settings))
        names = write_part_stls(unique_file_names([p.name for p in parts], [p.label for p in parts]), staging,
                                call.settings.binary, lambda done: call.progress(0.1 + 0.8 * done, "writing STLs"),
                                call.check_cancelled)
    by_key = {part.key: name for part, name in zip(parts, names, strict=True)}
    (staging / "manifest.json").write_text(json.dumps({"source": str(path), "files": names, "parts": by_key},
                                                      indent=1, ensure_ascii=False))
    if folder.exists():
        import shutil

        shutil.rmtree(folder)
    staging.rename(folder)
    return [str(folder / name) for name in names], by_key


@node(NodeDefinition(
    key="stl_cache_generate", label="STL Cache", family="cad", icon="MESH_DATA",
    description="Per-part STL files, cached by STEP fingerprint and tessellation settings.",
    settings_model=StlCacheGenerateSettings,
    inputs=(inp("step_file", K.STEP_FILE),),
    outputs=(out("stl_set", K.STL_SET, role="stl_parts"),),
    capabilities=(Capability.OCP,), execution="process",
))
def stl_cache_generate(call: NodeCall) -> dict[str, Artifact]:
    path, sha = step_source(call)
    key = stl_cache_key(sha, call.settings)
    folder = stl_cache_root(call) / key
    cached = _cached_stls(folder)
    hit = cached is not None
    files, by_key = cached if cached is not None else _write_stls(call, path, sha, folder)
    call.log(f"STL cache {'hit' if hit else 'miss'}: {len(files)} parts in {folder}")
    return {"stl_set": Artifact(kind=ArtifactKind.STL_SET, path=str(folder), files=files, role="stl_parts",
                                data={"cache_hit": hit, "cache_key": key, "parts": len(files), "files_by_part": by_key})}

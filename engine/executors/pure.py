"""Executors that need neither bpy nor OCP: order line set-up, material mapping, publishing
(output_save) and notification (notify)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from pathlib import Path
from typing import Any

from ..errors import HartomatError, NodeInputError
from ..model.artifacts import Artifact, ArtifactKind
from ..model.context import NodeCall
from ..model.publishing import primary_index, role_of
from ..model.trust import confine
from ..render.material_rules import PartFacts, assembly_size, describe, load_rules, rule_matches
from ..render.materials import LIBRARY

SIGNATURE_HEADER = "X-HartOMat-Signature"


# -- order_line_setup ------------------------------------------------------------------------------
def order_line_setup(call: NodeCall) -> dict[str, Artifact]:
    """The order line as an artifact, with its working folder created under the run folder."""
    line = call.context.order_line
    settings = call.settings
    work_dir = confine(settings.work_subdir or line.id, [call.context.run_dir],
                       f"node '{call.node_id}' (order_line_setup): setting 'work_subdir'")
    work_dir.mkdir(parents=True, exist_ok=True)
    data = line.model_dump(mode="json")
    if "output_type" not in line.model_fields_set:
        data["output_type"] = settings.output_type
    data["category"] = line.category or settings.product_category
    data["work_dir"] = str(work_dir)
    call.log(f"order line {line.id}: product {line.product or '-'}, output {data['output_type']}, folder {work_dir}")
    return {"order_line": Artifact(kind=ArtifactKind.ORDER_LINE, data=data)}


# -- material_map_resolve ----------------------------------------------------------------------------
def _parts(call: NodeCall) -> list[dict[str, Any]]:
    artifact = call.require("cad_parts")
    parts = artifact.data.get("parts")
    if not isinstance(parts, list):
        raise NodeInputError(f"node '{call.node_id}': cad_parts from {artifact.path or 'upstream'} has no 'parts' list")
    return parts


def part_key(part: dict[str, Any]) -> str:
    """The key a part's material map entry goes under: its part key (names can repeat); parts
    listed without one (hand-made lists) go by name."""
    return str(part.get("key") or part.get("name", ""))


def _rules(call: NodeCall) -> list[tuple[Any, int, str]]:
    """The node's own rules ('inline'), then those of its rules file, each with its index and source."""
    settings = call.settings
    try:
        from_file = load_rules(settings.material_rules or None)
    except ValueError as exc:
        raise NodeInputError(f"node '{call.node_id}': material_rules: {exc}") from None
    source = settings.material_rules or "default"
    return [(r, i, "inline") for i, r in enumerate(settings.rules)] + [(r, i, source) for i, r in enumerate(from_file)]


def _check_materials(call: NodeCall, rules: list[tuple[Any, int, str]]) -> None:
    """Keys of the built-in library are known here; a studio library's names are checked on render."""
    if call.settings.material_library:
        if not Path(call.settings.material_library).is_file():
            raise NodeInputError(f"node '{call.node_id}': material_library: {call.settings.material_library} "
                                 "is not a file")
        return
    for rule, index, source in rules:
        if rule.material not in LIBRARY:
            where = f"rules[{index}]" if source == "inline" else f"material_rules ({source}) rule {index}"
            raise NodeInputError(f"node '{call.node_id}': {where}.material '{rule.material}' is not in the "
                                 f"material library; known: {', '.join(LIBRARY)}")


def material_map_resolve(call: NodeCall) -> dict[str, Artifact]:
    """Each part gets the material of the first rule that matches its name, the order line's
    category, its colour and its geometry facts; the map records which rule it was."""
    rules = _rules(call)
    _check_materials(call, rules)
    parts = _parts(call)
    category = call.settings.category or call.context.order_line.category or ""
    size = assembly_size(parts)
    assignments: dict[str, dict[str, Any]] = {}
    for part in parts:
        facts = PartFacts(part, category, size)
        for rule, index, source in rules:
            if rule_matches(rule, facts, call.settings.case_sensitive):
                assignments[part_key(part)] = {"material": rule.material, "source": "rule", "rule": index,
                                               "rule_source": source, "rule_label": describe(rule),
                                               "colour": facts.colour, "name": facts.name}
                break
    call.log(f"{len(assignments)} of {len(parts)} parts matched a rule (category '{category or '-'}')")
    data: dict[str, Any] = {"assignments": assignments, "assumed": []}
    if call.settings.material_library:
        data["library"] = str(Path(call.settings.material_library).resolve())
    return {"material_map": Artifact(kind=ArtifactKind.MATERIAL_MAP, data=data)}


# -- auto_populate_materials ---------------------------------------------------------------------
def auto_populate_materials(call: NodeCall) -> dict[str, Artifact]:
    """Parts no rule matched get their CAD colour as a plastic, else the default material."""
    default = call.settings.default_material
    upstream = call.input("material_map")
    library = upstream.data.get("library") if upstream else None
    if default not in LIBRARY and not library:
        raise NodeInputError(f"node '{call.node_id}': default_material '{default}' is not in the material library; "
                             f"known: {', '.join(LIBRARY)}")
    assignments = dict(upstream.data.get("assignments", {})) if upstream else {}
    assumed = list(upstream.data.get("assumed", [])) if upstream else []
    for part in _parts(call):
        name, colour, key = str(part.get("name", "")), part.get("colour"), part_key(part)
        if key in assignments:
            continue
        if colour and call.settings.derive_from_colour:
            assignments[key] = {"material": "cad_colour", "source": "colour", "rule": None, "colour": colour,
                                "name": name}
        else:
            assignments[key] = {"material": default, "source": "default", "rule": None, "colour": colour,
                                "name": name}
            assumed.append(name)
    if assumed:
        call.log(f"assumed '{default}' for {len(assumed)} part(s): {', '.join(assumed[:10])}")
    data: dict[str, Any] = {"assignments": assignments, "assumed": assumed}
    if library:
        data["library"] = library
    return {"material_map": Artifact(kind=ArtifactKind.MATERIAL_MAP, data=data)}


# -- output_save --------------------------------------------------------------------------------
def output_save(call: NodeCall) -> dict[str, Artifact]:
    """Publish every media input through the run's publisher (idempotent per role and content).

    The primary output is the configured role, else the first render; exports never replace it.
    A shadow run's publisher publishes nothing.
    """
    publisher = call.context.publisher
    media = [a for a in call.inputs.get("media", []) if a.path or a.files]
    if publisher is None:
        raise HartomatError(f"node '{call.node_id}' (output_save): this run has no publisher")
    roles = [role_of(a) for a in media]
    primary = primary_index(roles, call.settings.primary_role) if call.settings.publish_primary else None
    assets = []
    for index, artifact in enumerate(media):
        call.check_cancelled()
        asset = publisher.publish(artifact, roles[index], index == primary, call.node_id, call.context.run_id)
        assets.append(asset.model_dump(mode="json"))
        call.log(f"published {roles[index]}: {asset.path}")
    if not call.context.authoritative:
        call.log(f"shadow run: {len(assets)} output(s) recorded, nothing published")
    primary_path = assets[primary]["path"] if primary is not None else None
    return {"assets": Artifact(kind=ArtifactKind.MEDIA_ASSET, data={"assets": assets, "primary": primary_path},
                               role="media_assets")}


# -- notify -----------------------------------------------------------------------------------------
def sign(body: bytes, secret: str) -> str:
    """The X-HartOMat-Signature header value: 'sha256=' + HMAC-SHA256 of the body, hex."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _notification(call: NodeCall, **data: Any) -> dict[str, Artifact]:
    return {"notification": Artifact(kind=ArtifactKind.NOTIFICATION, data=data)}


def _body(call: NodeCall) -> bytes:
    line = call.context.order_line
    assets = [a for item in call.inputs.get("assets", []) for a in item.data.get("assets", [])]
    payload = {"event": "order_line.completed", "run_id": call.context.run_id, "order_id": line.order_id,
               "order_line_id": line.id, "product": line.product, "output_type": line.output_type,
               "assets": [{k: a.get(k) for k in ("role", "path", "sha256", "size", "kind", "primary")} for a in assets]}
    return json.dumps(payload, sort_keys=True).encode()


def notify(call: NodeCall) -> dict[str, Artifact]:
    """POST a signed JSON body to the webhook, retrying connection errors, 5xx and 429 with
    exponential backoff; a log line only when no webhook is set or the run is a shadow."""
    settings = call.settings
    if not settings.webhook_url:
        call.log("no webhook set: order line done, nobody notified")
        return _notification(call, sent=False, reason="no webhook_url")
    if not call.context.authoritative:
        call.log(f"shadow run: webhook {settings.webhook_url} not called")
        return _notification(call, sent=False, reason="shadow run", url=settings.webhook_url)
    body = _body(call)
    headers = {"Content-Type": "application/json", "User-Agent": "HartOMat"}
    secret = os.environ.get(settings.secret_env, "")
    if secret:
        headers[SIGNATURE_HEADER] = sign(body, secret)
    else:
        call.log(f"warning: ${settings.secret_env} is not set: webhook sent unsigned")
    status, attempts = _deliver(call, body, headers)
    return _notification(call, sent=True, url=settings.webhook_url, status_code=status, attempts=attempts)


def _deliver(call: NodeCall, body: bytes, headers: dict[str, str]) -> tuple[int, int]:
    """POST under the run's egress policy; failures read only "delivery failed (HTTP n)" or
    "could not connect", never the transport's own words."""
    from ..egress import COULD_NOT_CONNECT, EgressRefused, delivery_failed, post

    settings = call.settings
    last = ""
    for attempt in range(1, settings.max_attempts + 1):
        call.check_cancelled()
        try:
            status = post(call.context.extras.get("egress"), settings.webhook_url, body, headers, settings.timeout_s)
        except EgressRefused as exc:
            raise NodeInputError(f"node '{call.node_id}': {exc}") from None
        if isinstance(status, int) and status < 300:
            call.log(f"webhook {settings.webhook_url}: {status} (attempt {attempt})")
            return status, attempt
        last = delivery_failed(status) if isinstance(status, int) else COULD_NOT_CONNECT
        if isinstance(status, int) and status < 500 and status != 429:
            raise NodeInputError(f"node '{call.node_id}': webhook {settings.webhook_url}: {last}")
        call.log(f"webhook attempt {attempt} failed: {last}")
        if attempt < settings.max_attempts:
            _sleep(call, settings.backoff_s * 2 ** (attempt - 1))
    raise HartomatError(f"node '{call.node_id}': webhook {settings.webhook_url}: {last} after "
                        f"{settings.max_attempts} attempts")


def _sleep(call: NodeCall, seconds: float) -> None:
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        call.check_cancelled()
        time.sleep(min(left, 0.05))

"""Nodes that end a run: publishing the media (output_save, the only authoritative publisher)
and telling the order system (notify, a signed webhook). Pure Python."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from pathlib import Path
from typing import Any, Literal

from ..errors import HartomatError, NodeInputError
from ..model.artifacts import Artifact, ArtifactKind
from ..model.artifacts import ArtifactKind as K
from ..model.context import NodeCall
from ..model.node_definition import NodeDefinition, NodeSettings, inp, out
from ..model.node_settings import setting
from ..model.publishing import primary_index, role_of
from ..model.registry import node

SIGNATURE_HEADER = "X-HartOMat-Signature"
PUBLISHABLE = (K.IMAGE, K.IMAGE_SET, K.VIDEO, K.BLEND_FILE, K.HTML_VIEWER, K.STL_SET, K.GLB)


# -- output_save --------------------------------------------------------------------------------
class OutputSaveSettings(NodeSettings):
    primary_role: str = setting("", "Publish", "Role of the order line's primary output; empty = first render")
    publish_primary: bool = setting(True, "Publish", "Set the order line's primary output")
    publish_check: Literal["fail", "warn", "off"] = setting(
        "fail", "Check", "A render that is blank, shows no product or shows it near-black (its CAD colours not "
        "dark): fail the node, publish with a warning in the log, or do not check")


CHECKED_ROLES = ("primary_render", "turntable_video")  # stills, multi-angle views, turntables


def check_before_publishing(call: NodeCall, media: list[Artifact], roles: list[str]) -> list[str]:
    """What a person would check before a render reaches a catalogue (engine.render.publish_check):
    the messages of the problems found; the node fails on them unless its policy says warn."""
    from ..render.publish_check import check_frame, frames_to_check

    if call.settings.publish_check == "off":
        return []
    messages = []
    for artifact, role in zip(media, roles, strict=True):
        if role not in CHECKED_ROLES:
            continue
        output = f"{role} {Path(artifact.path).name if artifact.path else ''}".strip()
        dark_ok = bool(artifact.data.get("dark_cad_colours"))
        for label, frame in frames_to_check(str(artifact.kind), artifact.path, artifact.files, artifact.data):
            if artifact.kind == ArtifactKind.VIDEO and not frame.is_file():  # kept by a render on another host
                call.log(f"publish check: {output} ({label}) not checked: {frame.name} is not on this host")
                continue
            messages += [problem.message() for problem in check_frame(frame, output, label, dark_ok)]
    if messages and call.settings.publish_check == "fail":
        raise NodeInputError(f"node '{call.node_id}' (output_save): " + "; ".join(messages))
    for message in messages:
        call.log(f"warning: {message}")
    return messages


@node(NodeDefinition(
    key="output_save", label="Save Outputs", family="output", icon="FILE_TICK",
    description="The only authoritative publisher: persists media assets and the order line's outputs, idempotently.",
    settings_model=OutputSaveSettings,
    inputs=(inp("media", *PUBLISHABLE, multiple=True),),
    outputs=(out("assets", K.MEDIA_ASSET),),
))
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
    check_before_publishing(call, media, roles)
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
class NotifySettings(NodeSettings):
    webhook_url: str = setting("", "Webhook", "Order system webhook; empty = log a line only", operator="url",
                               pattern=r"^(https?://.+)?$", max_length=2000)
    max_attempts: int = setting(4, "Webhook", "Delivery attempts", ge=1, le=20)
    backoff_s: float = setting(0.5, "Webhook", "First retry delay, doubled per attempt", ge=0, le=600)
    timeout_s: float = setting(10.0, "Webhook", "Per-request timeout", gt=0, le=300)
    secret_env: str = setting("HARTOMAT_WEBHOOK_SECRET", "Signing", "Environment variable with the signing secret",
                              operator="env", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")


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


@node(NodeDefinition(
    key="notify", label="Notify", family="output", icon="URL",
    description="Tells the order system: a signed webhook with retries, or a log line where none is set.",
    settings_model=NotifySettings,
    inputs=(inp("assets", K.MEDIA_ASSET, required=False, multiple=True),),
    outputs=(out("notification", K.NOTIFICATION),),
))
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

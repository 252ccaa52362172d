"""Nodes that end a run: publishing the media (output_save, the only authoritative publisher)
and telling the order system (notify, a signed webhook). Pure Python."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import field_validator

from ..egress import (
    NOT_DELIVERED,
    Attempt,
    EgressRefused,
    RetryPolicy,
    deliver,
    delivery_id,
    parse_url,
    webhook_headers,
)
from ..errors import HartomatError, NodeInputError
from ..model.artifacts import Artifact, ArtifactKind
from ..model.artifacts import ArtifactKind as K
from ..model.context import NodeCall
from ..model.node_definition import NodeDefinition, NodeSettings, inp, out
from ..model.node_settings import setting
from ..model.publishing import primary_index, role_of
from ..model.registry import node

LINE_EVENT = "order_line.completed"
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
    max_attempts: int = setting(4, "Webhook", "Delivery attempts (every reply but a 2xx is retried)", ge=1, le=20)
    backoff_s: float = setting(0.5, "Webhook", "First retry delay, doubled per attempt", ge=0, le=600)
    timeout_s: float = setting(10.0, "Webhook", "Deadline of one attempt: connect, send and reply", gt=0, le=300)
    secret_env: str = setting("HARTOMAT_WEBHOOK_SECRET", "Signing", "Environment variable with the signing secret",
                              operator="env", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")

    @field_validator("webhook_url")
    @classmethod
    def _one_url_rule(cls, url: str) -> str:
        """Malformed or ambiguous URLs are refused where the setting is made, not at delivery."""
        if url:
            parse_url(url)
        return url


def _notification(call: NodeCall, **data: Any) -> dict[str, Artifact]:
    return {"notification": Artifact(kind=ArtifactKind.NOTIFICATION, data=data)}


def _body(call: NodeCall, delivery: str) -> bytes:
    line = call.context.order_line
    assets = [a for item in call.inputs.get("assets", []) for a in item.data.get("assets", [])]
    payload = {"event": LINE_EVENT, "delivery_id": delivery, "run_id": call.context.run_id,
               "order_id": line.order_id, "order_line_id": line.id, "product": line.product,
               "output_type": line.output_type,
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
    """POST the line's result to the webhook (engine.egress.deliver: the farm server's delivery,
    at least once, one delivery id per order line); a log line only when no webhook is set or the
    run is a shadow."""
    settings = call.settings
    if not settings.webhook_url:
        call.log("no webhook set: order line done, nobody notified")
        return _notification(call, sent=False, reason="no webhook_url")
    if not call.context.authoritative:
        call.log(f"shadow run: webhook {settings.webhook_url} not called")
        return _notification(call, sent=False, reason="shadow run", url=settings.webhook_url)
    delivery = delivery_id(LINE_EVENT, call.context.order_line.id)
    body = _body(call, delivery)
    secret = os.environ.get(settings.secret_env, "")
    if not secret:
        call.log(f"warning: ${settings.secret_env} is not set: webhook sent unsigned")
    attempts = _deliver(call, body, webhook_headers(body, secret, delivery))
    return _notification(call, sent=True, url=settings.webhook_url, delivery_id=delivery, attempts=attempts)


def _deliver(call: NodeCall, body: bytes, headers: dict[str, str]) -> int:
    """Deliver under the run's egress policy; the log and error say only delivered or NOT_DELIVERED,
    never the transport's words (a submitter reads them)."""
    settings = call.settings
    retry = RetryPolicy(settings.max_attempts, settings.backoff_s, settings.timeout_s)

    def logged(attempt: int, result: Attempt) -> None:
        call.log(f"webhook {settings.webhook_url}: attempt {attempt}: "
                 + ("delivered" if result.delivered else NOT_DELIVERED))

    try:
        delivered, attempts = deliver(call.context.extras.get("egress"), settings.webhook_url, body, headers, retry,
                                      wait=lambda seconds: _sleep(call, seconds), on_attempt=logged)
    except EgressRefused as exc:
        raise NodeInputError(f"node '{call.node_id}': {exc}") from None
    if not delivered:
        raise HartomatError(f"node '{call.node_id}': webhook {settings.webhook_url}: {NOT_DELIVERED} after "
                            f"{attempts} attempts")
    return attempts


def _sleep(call: NodeCall, seconds: float) -> None:
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        call.check_cancelled()
        time.sleep(min(left, 0.05))

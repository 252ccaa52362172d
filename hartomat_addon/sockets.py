"""One socket class per artifact kind, so ports are typed and coloured by what they carry."""

from __future__ import annotations

import bpy

from .engine_link import artifacts, node_definition

KIND_COLOURS: dict[str, tuple[float, float, float, float]] = {
    "order_line": (0.85, 0.85, 0.85, 1.0),
    "step_file": (0.95, 0.55, 0.15, 1.0),
    "cad_parts": (0.85, 0.75, 0.20, 1.0),
    "glb": (0.30, 0.75, 0.95, 1.0),
    "bbox": (0.45, 0.45, 0.95, 1.0),
    "material_map": (0.90, 0.35, 0.60, 1.0),
    "template": (0.55, 0.85, 0.45, 1.0),
    "image": (0.95, 0.85, 0.45, 1.0),
    "image_set": (0.80, 0.65, 0.30, 1.0),
    "video": (0.70, 0.40, 0.90, 1.0),
    "blend_file": (0.95, 0.45, 0.25, 1.0),
    "stl_set": (0.50, 0.65, 0.70, 1.0),
    "html_viewer": (0.35, 0.85, 0.75, 1.0),
    "media_asset": (0.30, 0.95, 0.40, 1.0),
    "notification": (0.60, 0.60, 0.60, 1.0),
}
FALLBACK_COLOUR = (0.5, 0.5, 0.5, 1.0)


def socket_idname(kind: str) -> str:
    return f"HartomatSocket_{kind}"


def _make_socket_class(kind: str) -> type:
    colour = KIND_COLOURS.get(kind, FALLBACK_COLOUR)
    description = artifacts.ARTIFACT_DESCRIPTIONS.get(artifacts.ArtifactKind(kind), kind)

    def draw(self, context, layout, node, text):  # noqa: ANN001 - Blender's signature
        layout.label(text=text)

    def draw_color(self, context, node):  # noqa: ANN001
        return colour

    return type(
        socket_idname(kind),
        (bpy.types.NodeSocket,),
        {
            "bl_idname": socket_idname(kind),
            "bl_label": node_definition.words(kind),
            "__doc__": description,
            "kind": kind,
            "draw": draw,
            "draw_color": draw_color,
        },
    )


def socket_classes() -> list[type]:
    """Generated from the ArtifactKind enum: a new kind gets a socket without editing this file."""
    return [_make_socket_class(str(kind)) for kind in artifacts.ArtifactKind]

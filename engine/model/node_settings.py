"""What node settings share: the `setting(...)` field helper (editor group, tooltip, trust),
path settings, the base models several nodes extend (code page, tessellation, render), the
material rule, and the composite settings of a bridge node.

Each node's own settings model lives beside its executor, in its `engine/nodes/` module.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, create_model, field_validator

from .node_definition import NodeDefinition, NodeSettings

Reach = Literal["path", "url", "env", "interpreter"]
PathRoot = Literal["scratch", "products", "templates"]
# why a setting is operator-only, as the 422 at submit and the editor say it
OPERATOR_REASONS: dict[str, str] = {
    "path": "it names a path on the worker",
    "url": "it names a URL the worker or server sends to",
    "env": "it names an environment variable of the worker",
    "interpreter": "it names a program the worker runs",
}
TEXT_MAX = 256


def setting(default: Any, group: str, description: str, *, operator: Reach | None = None,
            root: PathRoot | None = None, **bounds: Any) -> Any:
    """A settings field with its editor group, tooltip and trust level kept in the JSON Schema.

    `operator` marks a setting an order line may not set (only an output type's admin or the
    worker's config); `root` names the configured folder a path setting must resolve inside.
    """
    extra: dict[str, Any] = {"group": group, "trust": "operator" if operator else "order"}
    if operator:
        extra["trust_reason"] = OPERATOR_REASONS[operator]
    if root:
        extra["path_root"] = root
    return Field(default, description=description, json_schema_extra=extra, **bounds)


def path_setting(default: str, group: str, description: str, root: PathRoot) -> Any:
    """An operator-only path that must resolve inside the worker's `root` folder."""
    return setting(default, group, description, operator="path", root=root)


RenderEngine = Literal["CYCLES", "WORKBENCH"]
ViewChoice = Literal["auto", "fixed"]
ImageFormat = Literal["PNG", "JPEG", "OPEN_EXR"]


class CodepageSetting(NodeSettings):
    codepage: str = setting("auto", "Reader", "Code page of names written as raw 8-bit bytes: auto (detected "
                            "from the file's strings) or a name such as cp1251, cp1252, shift_jis")

    @field_validator("codepage")
    @classmethod
    def _known_codepage(cls, value: str) -> str:
        from .codepages import check_setting

        return check_setting(value)


class TessellationSettings(CodepageSetting):
    linear_deflection: float = setting(
        0.1, "Tessellation", "Chordal deviation: mm, or a fraction of each edge when relative", gt=0, le=100
    )
    relative_deflection: bool = setting(False, "Tessellation", "Linear deflection is relative to edge length")
    angular_deflection: float = setting(0.5, "Tessellation", "Angular deviation in radians", gt=0, le=3.14)
    parallel: bool = setting(True, "Performance", "Mesh faces in parallel threads")

    @field_validator("linear_deflection", "angular_deflection")
    @classmethod
    def _not_too_fine(cls, value: float, info: ValidationInfo) -> float:
        """A mesh finer than the operator's least deflection (limits.py) could take hours and gigabytes."""
        from .limits import check_deflection

        return check_deflection(str(info.field_name), value)


class MaterialRule(BaseModel):
    """One ordered rule: the first that matches a part wins."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_max_length=TEXT_MAX)

    material: str = Field(min_length=1, description="Material name in the material library")
    name_pattern: str = Field("", description="Shell-style pattern on the part name, e.g. 'ball*' ('a|b' = either); "
                                              "empty = any")
    colour: str = Field("", description="CAD colour as #rrggbb; empty = any", pattern=r"^(#[0-9a-fA-F]{6})?$")
    colour_tolerance: float = Field(0.05, ge=0, le=1, description="Max distance in RGB (0..1) to match colour")
    category: str = Field("", description="Product category of the order line, e.g. 'bearing'; empty = any")
    shape: Literal["", "ball", "ring", "cylinder", "other"] = Field(
        "", description="Geometry fact of the part: ball, ring (turned, with a bore), cylinder (turned, solid); "
                        "empty = any")
    rotational: bool | None = Field(None, description="Part is rotationally symmetric; null = either")
    thin_walled: bool | None = Field(None, description="Part is thin-walled (cage, shield, sheet); null = either")
    min_size: float = Field(0.0, ge=0, le=1, description="Least part size relative to the assembly's")
    max_size: float = Field(1.0, ge=0, le=1, description="Largest part size relative to the assembly's")
    label: str = Field("", description="What the rule is for, recorded with each part it gives a material")


class RenderSettings(NodeSettings):
    engine: RenderEngine = setting("CYCLES", "Render", "Cycles for final images, Workbench for fast previews")
    resolution_x: int = setting(1024, "Output", "Image width in pixels", ge=16, le=16384)
    resolution_y: int = setting(1024, "Output", "Image height in pixels", ge=16, le=16384)
    samples: int = setting(64, "Render", "Cycles samples per pixel", ge=1, le=65536)
    adaptive_threshold: float = setting(0.01, "Render", "Cycles adaptive sampling noise threshold; 0 = off", ge=0, le=1)
    denoise: bool = setting(True, "Render", "Denoise where the build has a denoiser")
    transparent: bool = setting(False, "Output", "Transparent background (PNG/EXR with alpha)")
    file_format: ImageFormat = setting("PNG", "Output", "Image file format")
    margin: float = setting(0.08, "Camera", "Free border around the product, as a fraction of the frame", ge=0, le=0.45)
    focal_length: float = setting(50.0, "Camera", "Camera focal length in mm", ge=5, le=500)

    @field_validator("samples")
    @classmethod
    def _bounded_work(cls, samples: int, info: ValidationInfo) -> int:
        """Pixels x samples of a frame within the operator's limit (limits.py), checked on samples
        (validated after the resolution)."""
        from .limits import check_render_work

        width, height = info.data.get("resolution_x"), info.data.get("resolution_y")
        if isinstance(width, int) and isinstance(height, int):
            check_render_work(width, height, samples)
        return samples


def composite_settings(name: str, wrapped: Iterable[NodeDefinition]) -> type[NodeSettings]:
    """Settings of a bridge node: the settings of each wrapped step, under the step's key and in
    an editor group named after the step."""
    fields = {
        definition.key: (definition.settings_model,
                         Field(default_factory=definition.settings_model, json_schema_extra={"group": definition.label}))
        for definition in wrapped
    }
    return create_model(name, __base__=NodeSettings, **fields)  # type: ignore[call-overload, no-any-return]

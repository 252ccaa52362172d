"""Settings models of every step: types, defaults, bounds, choices and editor field groups."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .node_definition import NodeSettings

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
MAX_FRAMES = 3600
MAX_RULES = 500
MAX_THUMBNAILS = 16
ThumbnailSize = Annotated[int, Field(ge=16, le=4096)]


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


class OrderLineSetupSettings(NodeSettings):
    output_type: str = setting("still", "Order", "Output type this run produces, unless the order line says")
    product_category: str = setting("", "Order", "Product category used to pick a template; empty = any")
    work_subdir: str = setting("", "Order", "Sub-folder of the run folder for this line's files; empty = line id",
                               operator="path")


class ResolveStepPathSettings(NodeSettings):
    step_path: str = path_setting("", "Source", "Explicit STEP file; overrides the order line's product",
                                  root="products")
    library_dir: str = path_setting("", "Library", "Product library folder searched by product number",
                                    root="products")
    product_number: str = setting("", "Library", "Product number looked up in the library; empty = order line's")


class CodepageSetting(NodeSettings):
    codepage: str = setting("auto", "Reader", "Code page of names written as raw 8-bit bytes: auto (detected "
                            "from the file's strings) or a name such as cp1251, cp1252, shift_jis")

    @field_validator("codepage")
    @classmethod
    def _known_codepage(cls, value: str) -> str:
        from .codepages import check_setting

        return check_setting(value)


class OccObjectExtractSettings(CodepageSetting):
    read_names: bool = setting(True, "Reader", "Keep product and instance names from the STEP file")
    read_colours: bool = setting(True, "Reader", "Keep surface and solid colours")
    read_layers: bool = setting(True, "Reader", "Keep layer assignments")


class TessellationSettings(CodepageSetting):
    linear_deflection: float = setting(
        0.1, "Tessellation", "Chordal deviation: mm, or a fraction of each edge when relative", gt=0, le=100
    )
    relative_deflection: bool = setting(False, "Tessellation", "Linear deflection is relative to edge length")
    angular_deflection: float = setting(0.5, "Tessellation", "Angular deviation in radians", gt=0, le=3.14)
    parallel: bool = setting(True, "Performance", "Mesh faces in parallel threads")


class OccGlbExportSettings(TessellationSettings):
    merge_faces: bool = setting(
        True, "Output", "One glTF primitive per part and colour instead of one per face (a smaller, faster GLB)"
    )
    instance_names: bool = setting(False, "Output", "Name glTF nodes after instances instead of products")


class GlbBboxSettings(NodeSettings):
    padding: float = setting(0.0, "Framing", "Extra margin added on each side, as a fraction of the size", ge=0, le=1)


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


class MaterialMapResolveSettings(NodeSettings):
    rules: list[MaterialRule] = setting(
        [], "Rules", "Ordered rules from part name and CAD colour to library materials",
        max_length=MAX_RULES)
    library: str = setting("default", "Library", "Material library to resolve keys against")
    case_sensitive: bool = setting(False, "Rules", "Match part-name patterns case-sensitively")
    material_rules: str = path_setting(
        "", "Rules", "Rules file (JSON) applied after the rules above; empty = the bundled default rules",
        root="templates")
    material_library: str = path_setting(
        "", "Library", "Material library .blend whose materials the rules name; empty = the built-in library",
        root="templates")
    category: str = setting("", "Rules", "Product category for category rules; empty = the order line's")


class AutoPopulateMaterialsSettings(NodeSettings):
    default_material: str = setting("plastic_grey", "Defaults", "Material for parts with no rule and no colour")
    derive_from_colour: bool = setting(True, "Defaults", "Unmatched parts get a plastic in their CAD colour")


class ResolveTemplateSettings(NodeSettings):
    template: str = setting("", "Template", "Template name; empty = chosen by output type and category")
    library_dir: str = path_setting("", "Template", "Template library folder; empty = the bundled one",
                                    root="templates")
    category: str = setting("", "Template", "Product category; empty = the order line's")


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


class BlenderRenderSettings(RenderSettings):
    use_template_camera: bool = setting(True, "Camera", "Render through the template's camera, framed on the product")


class BlenderStillSettings(RenderSettings):
    view: ViewChoice = setting(
        "auto", "Camera", "auto: the angle that shows the most of the product; fixed: azimuth and elevation below"
    )
    azimuth: float = setting(35.0, "Camera", "Camera angle around the product in degrees (view: fixed)",
                             ge=-360, le=360)
    elevation: float = setting(25.0, "Camera", "Camera height angle in degrees (view: fixed)", ge=-89, le=89)
    view_name: str = setting("", "Output", "Name of this view in file names; empty = 'still'")
    split_job: bool = setting(False, "Farm", "On the farm, render this view in a job of its own, "
                              "beside the graph's other views")


class BlenderTurntableSettings(RenderSettings):
    frame_count: int = setting(36, "Animation", "Frames in one full turn", ge=2, le=MAX_FRAMES)
    fps: int = setting(24, "Animation", "Frames per second of the video", ge=1, le=120)
    elevation: float = setting(20.0, "Camera", "Camera height angle in degrees", ge=-89, le=89)
    view: ViewChoice = setting(
        "auto", "Camera", "auto: the turn starts at the azimuth that shows the most of the product; fixed: at 0"
    )
    video_format: Literal["MP4", "MKV"] = setting("MP4", "Video", "Container; both use H.264")
    keep_frames: bool = setting(False, "Video", "Keep the rendered frames as an image set")
    chunk_start: int = setting(0, "Chunks", "First frame of this chunk (0-based)", ge=0, le=MAX_FRAMES)
    chunk_end: int = setting(0, "Chunks", "Frame after this chunk's last; 0 = to the end", ge=0, le=MAX_FRAMES)
    chunk_size: int = setting(0, "Chunks", "On the farm, frames per job (chunks render on many workers, "
                              "one job assembles the video); 0 = one job", ge=0, le=MAX_FRAMES)


class ThreejsRenderSettings(NodeSettings):
    width: int = setting(512, "Viewer", "Snapshot and viewer canvas width", ge=64, le=4096)
    height: int = setting(512, "Viewer", "Snapshot and viewer canvas height", ge=64, le=4096)
    background: str = setting("#f0f0f0", "Viewer", "Background colour", pattern=r"^#[0-9a-fA-F]{6}$")
    snapshot: bool = setting(True, "Snapshot", "Take a PNG of the viewer with headless Chromium if available")


class ThumbnailSaveSettings(NodeSettings):
    sizes: list[ThumbnailSize] = setting([256], "Thumbnails", "Longest edge of each thumbnail in pixels",
                                         min_length=1, max_length=MAX_THUMBNAILS)
    format: Literal["PNG", "JPEG", "WEBP"] = setting("PNG", "Thumbnails", "Thumbnail file format")


class StlCacheGenerateSettings(TessellationSettings):
    cache_dir: str = path_setting("", "Cache", "STL cache folder; empty = the run store's cache", root="scratch")
    binary: bool = setting(True, "Output", "Write binary STL")


class ExportBlendSettings(NodeSettings):
    pack_resources: bool = setting(True, "Blend", "Pack images and other resources into the .blend")
    compress: bool = setting(True, "Blend", "Compress the .blend file")
    file_name: str = setting("", "Blend", "File name; empty = product name")


class OutputSaveSettings(NodeSettings):
    primary_role: str = setting("", "Publish", "Role of the order line's primary output; empty = first render")
    publish_primary: bool = setting(True, "Publish", "Set the order line's primary output")


class NotifySettings(NodeSettings):
    webhook_url: str = setting("", "Webhook", "Order system webhook; empty = log a line only", operator="url",
                               pattern=r"^(https?://.+)?$", max_length=2000)
    max_attempts: int = setting(4, "Webhook", "Delivery attempts", ge=1, le=20)
    backoff_s: float = setting(0.5, "Webhook", "First retry delay, doubled per attempt", ge=0, le=600)
    timeout_s: float = setting(10.0, "Webhook", "Per-request timeout", gt=0, le=300)
    secret_env: str = setting("HARTOMAT_WEBHOOK_SECRET", "Signing", "Environment variable with the signing secret",
                              operator="env", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")

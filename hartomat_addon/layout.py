"""Where nodes sit, and the view that frames them readably.

A graph laid out left to right in one row of depth columns (12 nodes, 9 deep) framed in a node
editor beside the sidebar and an Image Editor shrinks to unreadable text. So the depth columns
are folded into bands stacked top to bottom, as many columns per band as give the largest zoom
in the area's shape; `frame` then fits the view to the nodes once Blender has drawn them.
"""

from __future__ import annotations

from typing import Any

NODE_WIDTH = 240.0  # wide enough for the longest label ('Auto Populate Materials') and a run line
GAP_X, GAP_Y = 50.0, 40.0
BAND_GAP = 70.0


def depths(node_ids: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Each node's column: the longest path to it from a node with no inputs (cycles cut)."""
    incoming: dict[str, list[str]] = {n: [] for n in node_ids}
    for source, target in edges:
        if source in incoming and target in incoming:
            incoming[target].append(source)
    found: dict[str, int] = {}

    def depth(node: str, trail: frozenset[str]) -> int:
        if node not in found:
            parents = [p for p in incoming[node] if p not in trail]
            found[node] = 1 + max((depth(p, trail | {node}) for p in parents), default=-1)
        return found[node]

    for node in node_ids:
        depth(node, frozenset())
    return found


def _columns(node_ids: list[str], edges: list[tuple[str, str]]) -> list[list[str]]:
    by_depth = depths(node_ids, edges)
    columns: list[list[str]] = [[] for _ in range(max(by_depth.values(), default=-1) + 1)]
    for node in node_ids:  # document order within a column: stable and as the author wrote it
        columns[by_depth[node]].append(node)
    return columns


def _band_size(columns: list[list[str]], per_band: int, heights: dict[str, float]) -> tuple[float, float, list[float]]:
    """Width and height of the folded layout, and each band's height."""
    bands = [columns[i:i + per_band] for i in range(0, len(columns), per_band)]
    band_heights = [max((sum(heights[n] + GAP_Y for n in col) - GAP_Y for col in band), default=0.0)
                    for band in bands]
    width = min(per_band, len(columns)) * (NODE_WIDTH + GAP_X) - GAP_X
    return width, sum(band_heights) + BAND_GAP * (len(bands) - 1), band_heights


def best_fold(columns: list[list[str]], heights: dict[str, float], aspect: float) -> int:
    """Depth columns per band that give the largest zoom when the layout fits an area of this
    width/height `aspect`."""
    def zoom(per_band: int) -> float:
        width, height, _ = _band_size(columns, per_band, heights)
        return min(aspect / max(width, 1.0), 1.0 / max(height, 1.0))

    return max(range(1, max(1, len(columns)) + 1), key=lambda k: (zoom(k), k))


def positions(node_ids: list[str], edges: list[tuple[str, str]], heights: dict[str, float],
              aspect: float) -> dict[str, tuple[float, float]]:
    """Top-left corner of each node (Blender's node location) in the folded depth layout."""
    columns = _columns(node_ids, edges)
    per_band = best_fold(columns, heights, aspect)
    _, _, band_heights = _band_size(columns, per_band, heights)
    placed: dict[str, tuple[float, float]] = {}
    top = 0.0
    for band, band_height in enumerate(band_heights):
        for index, column in enumerate(columns[band * per_band:(band + 1) * per_band]):
            y = top
            for node in column:
                placed[node] = (index * (NODE_WIDTH + GAP_X), y)
                y -= heights[node] + GAP_Y
        top -= band_height + BAND_GAP
    return placed


# -- in Blender: place a tree's nodes, frame the editor on them --------------------------------------
HEADER, SOCKET, BODY_LINE = 36.0, 22.0, 22.0
BODY_LINES = 4  # 'id: …', the run line, the helper note, an error's first line; GAP_Y takes its second


def estimated_height(node: Any) -> float:
    """A node's drawn height in view units before Blender has drawn it (dimensions are 0 then)."""
    return HEADER + SOCKET * (len(node.inputs) + len(node.outputs)) + BODY_LINE * BODY_LINES


def graph_share(width: float, height: float) -> float:
    """The node editor's share of an area split for a run's still: the Image Editor gets a
    strip 0.6 times the area's height (at most 36% of its width), the graph the rest."""
    return max(0.5, 1.0 - min(0.6 * height, 0.36 * width) / max(width, 1.0))


def area_aspect(area: Any, image_editor_to_come: bool = False) -> float:
    """Width/height of a node editor's main region (the sidebar excluded), after the split for
    the Image Editor when one is to come; 4:3 without an area."""
    region = next((r for r in getattr(area, "regions", ()) if r.type == "WINDOW"), None)
    if region is None or region.width < 50 or region.height < 50:
        return 4 / 3
    width = float(region.width)
    if image_editor_to_come:
        width -= area.width * (1.0 - graph_share(area.width, area.height))
    return max(width, 50.0) / region.height


def arrange(tree: Any, area: Any = None, image_editor_to_come: bool = False) -> None:
    """Place the tree's nodes in the folded depth layout that reads best in `area` (a node
    editor; None: a 4:3 one), each NODE_WIDTH wide."""
    by_id = {n.hm_id: n for n in tree.nodes if n.bl_idname.startswith("HartomatNode_")}
    edges = [(link.from_node.hm_id, link.to_node.hm_id) for link in tree.links
             if getattr(link.from_node, "hm_id", None) in by_id and getattr(link.to_node, "hm_id", None) in by_id]
    heights = {i: estimated_height(n) for i, n in by_id.items()}
    placed = positions(list(by_id), edges, heights, area_aspect(area, image_editor_to_come))
    for node_id, (x, y) in placed.items():
        by_id[node_id].width = NODE_WIDTH
        by_id[node_id].location = (x, y)


def frame_soon(window: Any, area: Any) -> None:
    """Fit the node editor `area` to its nodes once Blender has drawn them (a node's size is
    known only then: a timer waits for the draw); nothing in background mode."""
    import bpy

    if bpy.app.background or window is None or area is None or area.type != "NODE_EDITOR":
        return
    area.tag_redraw()
    pointer, tries = area.as_pointer(), [FRAME_TRIES]

    def frame() -> float | None:
        try:
            found = next((a for a in window.screen.areas if a.as_pointer() == pointer), None)
            tree = getattr(found.spaces.active, "edit_tree", None) if found is not None else None
            region = next((r for r in found.regions if r.type == "WINDOW"), None) if found is not None else None
        except ReferenceError:  # the window closed meanwhile
            return None
        if region is None or tree is None:
            return None
        tries[0] -= 1
        drawn = tries[0] < FRAME_TRIES - 1 and all(n.dimensions.x > 0 for n in tree.nodes)
        if not drawn and tries[0] > 0:  # sizes change as a run's texts land: one draw after the change first
            found.tag_redraw()
            return FRAME_WAIT_S
        with bpy.context.temp_override(window=window, area=found, region=region):
            fit_view(region, list(tree.nodes))
        return None

    bpy.app.timers.register(frame, first_interval=FRAME_WAIT_S)


FRAME_WAIT_S, FRAME_TRIES = 0.05, 40
MARGIN = 1.06  # the framed nodes fill 94% of the editor's width or height


def nodes_box(nodes: list[Any], scale: float) -> tuple[float, float, float, float]:
    """xmin, ymin, xmax, ymax of the drawn nodes in view units (locations times the UI scale)."""
    boxes = [(n.location.x * scale, n.location.y * scale, n.dimensions.x, n.dimensions.y) for n in nodes]
    return (min(x for x, _, _, _ in boxes), min(y - h for _, y, _, h in boxes),
            max(x + w for x, _, w, _ in boxes), max(y for _, y, _, _ in boxes))


def fit_view(region: Any, nodes: list[Any]) -> None:
    """Zoom and pan so the nodes fill the region. Not Home (node.view_all): it widens the view by
    the region's whole aspect on top of the nodes' extent, leaving a tall graph at about half the
    zoom that fits. Runs inside a context override of the editor."""
    import bpy

    if not nodes:
        return
    xmin, ymin, xmax, ymax = nodes_box(nodes, bpy.context.preferences.system.ui_scale)
    view = region.view2d
    (left, bottom), (right, top) = view.region_to_view(0, 0), view.region_to_view(region.width, region.height)
    aspect = region.width / region.height
    width = max((xmax - xmin) * MARGIN, (ymax - ymin) * MARGIN * aspect)
    dx, dy = ((right - left) - width) / 2, ((top - bottom) - width / aspect) / 2
    bpy.ops.view2d.zoom(deltax=dx, deltay=dy)
    (left, bottom), (right, top) = view.region_to_view(0, 0), view.region_to_view(region.width, region.height)
    per_px = (right - left) / region.width
    bpy.ops.view2d.pan(deltax=round(((xmin + xmax) - (left + right)) / 2 / per_px),
                       deltay=round(((ymin + ymax) - (bottom + top)) / 2 / per_px))

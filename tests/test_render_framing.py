"""engine.render.framing: the camera distance keeps every bbox corner inside the margin, from any angle."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.render.framing import (
    Box,
    Lens,
    box_from_bbox_artifact,
    frame_box,
    orbit_distance,
    pose_at,
    project,
    turntable_azimuths,
)

sizes = st.floats(min_value=1e-4, max_value=50.0)
offsets = st.floats(min_value=-100.0, max_value=100.0)


@st.composite
def boxes(draw: st.DrawFn) -> Box:
    lo = (draw(offsets), draw(offsets), draw(offsets))
    return Box(min=lo, max=(lo[0] + draw(sizes), lo[1] + draw(sizes), lo[2] + draw(sizes)))


def _extent(box: Box, pose, lens: Lens) -> tuple[float, float, float, float]:
    points = [project(c, pose, lens) for c in box.corners()]
    assert all(p[2] > pose.clip_start for p in points), "a corner is in front of the near clip plane"
    return (min(p[0] for p in points), max(p[0] for p in points), min(p[1] for p in points), max(p[1] for p in points))


@settings(max_examples=300, deadline=None)
@given(box=boxes(), azimuth=st.floats(-360, 360), elevation=st.floats(-89, 89),
       margin=st.floats(0.0, 0.4), focal=st.floats(10, 200),
       res=st.tuples(st.integers(16, 4096), st.integers(16, 4096)))
def test_every_corner_inside_the_margin_and_one_touches_it(box, azimuth, elevation, margin, focal, res):
    lens = Lens(focal_mm=focal, res_x=res[0], res_y=res[1])
    pose = frame_box(box, azimuth, elevation, lens, margin)
    x0, x1, y0, y1 = _extent(box, pose, lens)
    eps = 1e-6
    assert margin - eps <= x0 and x1 <= 1 - margin + eps
    assert margin - eps <= y0 and y1 <= 1 - margin + eps
    touches = min(x0 - margin, 1 - margin - x1, y0 - margin, 1 - margin - y1)
    nearest = min(project(c, pose, lens)[2] for c in box.corners())
    # it fills the frame to the margin, unless the camera had to stand back so as not to touch the box
    assert touches < 1e-6 or nearest == pytest.approx(box.diagonal * 1e-3, rel=1e-6)


def test_tiny_part_gets_a_near_clip_plane_below_blenders_default():
    box = Box(min=(-0.01, -0.01, 0.0), max=(0.01, 0.01, 0.02))  # a 20 mm part
    pose = frame_box(box, 35, 25, Lens(), 0.08)
    assert pose.clip_start < 0.05 and pose.distance < 0.2
    assert pose.clip_end > pose.distance + box.diagonal


def test_front_view_looks_along_plus_y():
    box = Box(min=(-1, -1, -1), max=(1, 1, 1))
    pose = frame_box(box, 0, 0, Lens(), 0.1)
    assert pose.location[0] == pytest.approx(0) and pose.location[1] < -1 and pose.location[2] == pytest.approx(0)
    assert pose.rotation == pytest.approx((math.pi / 2, 0, 0))


def test_orbit_distance_frames_every_turntable_angle():
    box = Box(min=(-0.5, -0.05, 0), max=(0.5, 0.05, 0.2))  # long and flat: distance varies with angle
    lens = Lens(res_x=64, res_y=64)
    azimuths = turntable_azimuths(12)
    assert azimuths[0] == 0 and azimuths[-1] == pytest.approx(330)
    distance = orbit_distance(box, azimuths, 20, lens, 0.1)
    for az in azimuths:
        x0, x1, y0, y1 = _extent(box, pose_at(box, az, 20, distance), lens)
        assert 0.1 - 1e-9 <= x0 and x1 <= 0.9 + 1e-9 and 0.1 - 1e-9 <= y0 and y1 <= 0.9 + 1e-9


def test_bbox_artifact_is_converted_from_gltf_y_up():
    box = box_from_bbox_artifact({"min": [0, 1, 2], "max": [1, 3, 5]})
    assert box.min == (0, -5, 1) and box.max == (1, -2, 3)


@pytest.mark.parametrize("data, message", [
    ({}, "needs numeric"),
    ({"min": [0, 0], "max": [1, 1]}, "three finite"),
    ({"min": [0, 0, 0], "max": [1, -1, 1]}, "below min"),
    ({"min": [1, 1, 1], "max": [1, 1, 1]}, "empty"),
    ({"min": [0, 0, "x"], "max": [1, 1, 1]}, "needs numeric"),
])
def test_unusable_bbox_is_refused_with_a_reason(data, message):
    with pytest.raises(ValueError, match=message):
        box_from_bbox_artifact(data)


def test_margin_out_of_range_is_refused():
    with pytest.raises(ValueError, match="margin"):
        frame_box(Box(min=(0, 0, 0), max=(1, 1, 1)), 0, 0, Lens(), 0.5)

"""Provenance text inside media files (engine/render/media_tags.py): PNG tEXt chunks that Pillow
reads back, and an MP4 comment that ffprobe reads back, with the video's frames unchanged
whether the movie box comes after the media data or before it (faststart: offsets shift)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from engine.render.media_tags import MediaTagError, mp4_comment, png_texts, tag_mp4, tag_png


def test_png_text_chunks_are_written_replaced_and_read_by_pillow(tmp_path: Path):
    source = tmp_path / "a.png"
    Image.new("RGB", (8, 8), (200, 30, 30)).save(source, pnginfo=None)
    tagged = tag_png(source, tmp_path / "b.png", {"Software": "HartOMat", "HartOMat-Provenance": '{"a": 1}'})
    again = tag_png(tagged, tmp_path / "c.png", {"HartOMat-Provenance": '{"a": 2}'})
    with Image.open(again) as image:
        assert image.text == {"Software": "HartOMat", "HartOMat-Provenance": '{"a": 2}'}
        assert image.getpixel((3, 3)) == (200, 30, 30)
    assert png_texts(again) == {"Software": "HartOMat", "HartOMat-Provenance": '{"a": 2}'}
    assert png_texts(source) == {}
    (tmp_path / "c.txt").write_text("not an image")
    with pytest.raises(MediaTagError, match="c.txt: not a PNG file"):
        tag_png(tmp_path / "c.txt", tmp_path / "d.png", {})


def frames(path: Path) -> list[str]:
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "framemd5", "-"], capture_output=True,
                         text=True, check=True).stdout
    return [line for line in out.splitlines() if not line.startswith("#")]


@pytest.mark.parametrize("faststart", [False, True])
def test_mp4_comment_is_written_and_ffprobe_reads_it_with_the_frames_unchanged(tmp_path: Path, faststart: bool):
    source = tmp_path / "a.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=64x64:rate=10", "-t", "1",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", *(["-movflags", "+faststart"] if faststart else []),
                    str(source)], check=True)
    record = json.dumps({"blender": {"version": "5.0.1"}, "note": "é"})
    tagged = tag_mp4(source, tmp_path / "b.mp4", record)
    retagged = tag_mp4(tagged, tmp_path / "c.mp4", "second")
    assert mp4_comment(tagged) == record and mp4_comment(retagged) == "second" and mp4_comment(source) is None
    for path, expected in ((tagged, record), (retagged, "second")):
        probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format_tags=comment", "-of", "json",
                                str(path)], capture_output=True, text=True, check=True)
        assert json.loads(probe.stdout)["format"]["tags"]["comment"] == expected
        assert frames(path) == frames(source)
    picture = tmp_path / "b.png"
    Image.new("RGB", (4, 4)).save(picture)
    with pytest.raises(MediaTagError, match="b.png: not an MP4 file"):
        tag_mp4(picture, tmp_path / "x.mp4", "x")

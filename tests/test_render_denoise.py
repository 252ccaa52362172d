"""Denoising as a fact the engine knows: a Blender whose Cycles has OpenImageDenoise offers the
`denoise` capability; one without (Debian's 4.3, tests/test_blender_hosted.py) renders a still that
asks for denoising at more samples, and says so in the plan, the node's log and the run record."""

from __future__ import annotations

import subprocess
import sys

from engine.render.blender.render_setup import UNDENOISED_FACTOR, UNDENOISED_MAX, Denoising, denoising


def test_the_denoiser_where_built_in_more_samples_where_not():
    assert denoising(16, wanted=True, available=True) == Denoising(True, 16)
    assert denoising(16, wanted=False, available=False) == Denoising(False, 16)
    missing = denoising(16, wanted=True, available=False)
    assert not missing.denoiser and missing.samples == 16 * UNDENOISED_FACTOR
    assert "no OpenImageDenoise" in missing.note and f"{16 * UNDENOISED_FACTOR} samples instead of 16" in missing.note
    assert denoising(UNDENOISED_MAX, wanted=True, available=False).samples == UNDENOISED_MAX  # capped, never fewer
    assert denoising(UNDENOISED_MAX * 2, wanted=True, available=False).samples == UNDENOISED_MAX * 2


def test_the_bpy_module_offers_denoise_once_bpy_is_loaded():
    probe = ("from engine.model.capabilities import capability_report as r, detect_capabilities as d\n"
             "print(r()['denoise']); print(r(verify=True)['denoise'])\n"
             "import bpy; d.cache_clear(); print(sorted(d()))\n")
    lines = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                           timeout=120).stdout.splitlines()
    assert lines[:2] == ["not known until bpy is loaded", "None"], lines
    assert "denoise" in lines[2] and "bpy" in lines[2], lines

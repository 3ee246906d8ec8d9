"""The codec's smear of a subtitle's outline beside the redrawn screen-fixed masks (issue #12).

x264 smears a subtitle's dark outline a pixel or two past what keeps its screen value, into
the gaps between glyphs; on a reversed slowing pan those gaps are much of the background's
only views. The clean still weighs the pixels beside a frame's redrawn screen-fixed mask that
stand out from the background beyond them (``CleanPlan.fixed_rims``) below the views farther
from the text. Checked against the generator's truth: those pixels are the outline's (within
a couple of pixels of the drawn subtitle), and none lies beside letterbox bars, whose
neighbouring rows a vertical pan uncovers in a few frames only.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from tests.scenes.plan_of import stitched_plan
from tests.scenes.real import SCENES, make_scene

N, H, W = 40, 180, 320


def test_rims_are_the_subtitle_outline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scene = make_scene(SCENES["hardsub"], n=N, h=H, w=W, step=(-2.37, -0.43))
    plan = stitched_plan(monkeypatch, scene.encode(tmp_path / "clip.mkv", 8))
    assert plan.fixed_rims is not None
    # per rim pixel, its distance from the drawn subtitle (0: on it, 1-1.4: the pixel beside)
    dist = np.concatenate([
        ndimage.distance_transform_edt(~scene.overlay[k])[rim.full((H, W))]
        for k, rim in enumerate(plan.fixed_rims) if rim is not None])
    # measured: 2429 of 2768 (0.88) on the outline or the pixel beside it, 200 (0.07) 3 px
    # or more away
    assert dist.size > 1000, dist.size
    assert np.mean(dist <= 1.5) > 0.8, np.mean(dist <= 1.5)
    assert np.mean(dist > 2.5) < 0.12, np.mean(dist > 2.5)


def test_no_rim_beside_bars(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the default pan has a vertical wobble: the rows beside the bars are the few views of
    # the scene points the bars hide in most frames
    scene = make_scene(SCENES["letterbox"], n=N, h=H, w=W)
    plan = stitched_plan(monkeypatch, scene.encode(tmp_path / "clip.mkv", 8))
    bars = scene.overlay[0]
    near = ndimage.binary_dilation(bars, iterations=4) & ~bars
    got = 0 if plan.fixed_rims is None else sum(
        int((r.full((H, W)) & near).sum()) for r in plan.fixed_rims if r is not None)
    # measured: 13 pixel-frames of the 2560 pixels beside the bars (without leaving out what
    # never changes on screen: 526)
    assert got < 0.02 * near.sum(), (got, near.sum())

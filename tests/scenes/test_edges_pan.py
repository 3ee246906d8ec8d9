"""Dirty frame edges under a fast upward pan (issue #12): the places only a few frames see
clean come from those frames, not from the dirty lines.

The generator's ``edges`` scene (3 px black on the left, 2 px of fresh noise on the right, a
4 px grey line at the top of every frame), panned right and up fast (4.74, -0.86 px a
frame), encoded at 8 bits. Two
things went wrong there: the codec's ringing of the grey line, which stays put on screen as
the line does, was redrawn as screen-fixed content, so the rows under the line were left out
of every frame and the canvas's stepped top edge was averaged with the grey line; and a
panning partner's black strip, landing inside a frame, was found moving there (a column left
out of the one frame that saw it clean)."""

from __future__ import annotations

from pathlib import Path

from tests.scenes.real import SCENES, make_scene
from tests.scenes.test_fade_parallax import _region_psnr, _stitch

N, H, W = 24, 360, 640


def test_dirty_edges_fast_pan_few_region(tmp_path: Path) -> None:
    scene = make_scene(SCENES["edges"], n=N, h=H, w=W, step=(4.74, -0.86))
    summary, data, out = _stitch(scene, "edges", tmp_path)
    assert data["frames"][0]["index"] == 0
    most, few = _region_psnr(scene, summary["canvas"], out)
    # measured 37.7 / 37.7 dB; before (ringing redrawn screen-fixed, partners' strips found
    # moving) 37.7 / 36.1
    assert most > 37.2
    assert few > 37.0

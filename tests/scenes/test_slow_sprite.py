"""A character walking over a slow pan the camera eases into (issue #12): from 0.3 px/frame
on, the background's screen motion nearly cancels the character's (1.4 px/frame to the left)
at the clip's end, where it moves a quarter of a pixel per frame against the background. The
last frames' odd-one-out pairs are two frames apart and saw half a pixel of travel: their
masks held little of the character and the last frames carried that, so the character was
averaged into the places only a few frames see clean. The ends now take the mask of the
frame whose pairs see the character move (``render.foreground_track``). Truth:
tests/scenes/real.py (the world sampled exactly, the character's coverage per frame),
independent of the code under test."""

from __future__ import annotations

from pathlib import Path

from overmix.commands.options import StitchOptions
from overmix.commands.stitch import stitch
from tests.scenes.real import SCENES, few_psnr, make_scene


def test_a_character_over_a_slow_pan_is_left_out_of_the_last_frames(tmp_path: Path) -> None:
    sc = make_scene(SCENES["sprite"], n=40, h=180, w=320, step=(0.3, 0.05), sprite_speed=-1.4)
    res = stitch(sc.encode(tmp_path / "slow.mkv", 8), StitchOptions())
    psnr, count = few_psnr(sc, res)
    assert count > 1000
    # the places only a few frames see clean: 33.9 dB (old code 25.9)
    assert psnr > 31.0, psnr

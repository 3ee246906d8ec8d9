"""A pan with a hardsub AND a character walking against it (issue #12): plain alignment
follows the background.

:mod:`tests.render.lit_pan` at 320x180: soft drawn line art panned at fractional steps of
(3.3, 0.5) px with per-frame jitter, a white-on-black hardsub fixed at the bottom of the
screen (most of the strong edges) and an outlined figure moving against the pan (~2 px per
frame on screen, ~3 px against the background), with and without a 20 % fade. The truth is
the generator's own offsets. Before the refinement left out tiles that do not follow the
pair's shift, the aligner followed the character (7.6 px off under the fade) or left frames
out.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from overmix.cli import main
from overmix.registration import align_scene
from tests.render.lit_pan import lit_pan
from tests.videogen import color_tags, encode_video, rgb_to_yuv_codes

N, H, W, STEP = 24, 180, 320, (3.3, 0.5)


def _errors(xy: np.ndarray, indices: list[int], truth: np.ndarray) -> np.ndarray:
    idx = np.asarray(indices)
    return np.abs(np.asarray(xy) - (truth[idx] - truth[idx[0]])).max(axis=1)


@pytest.mark.parametrize("lit", [False, True], ids=["steady", "fade"])
def test_subtitle_and_character_pan_follows_the_background(lit: bool) -> None:
    sc = lit_pan(n=N, h=H, w=W, step=STEP, overlays=True, lit=lit)
    res = align_scene([sc.luma(k) for k in range(N)])
    assert list(res.offsets.indices) == list(range(N)) and not res.left_out
    err = _errors(res.offsets.xy, list(res.offsets.indices), sc.xy)
    assert err.max() < 0.1, f"max error {err.max():.3f} px (frame {err.argmax()})"


def test_subtitle_and_character_pan_h264_cli(tmp_path: Path, capsys) -> None:
    """The same pan under the fade, x264 8-bit crf 20, through ``overmix align --json``."""
    sc = lit_pan(n=N, h=H, w=W, step=STEP, overlays=True, lit=True,
                 convert=lambda rgb: rgb_to_yuv_codes(np.clip(rgb, 0, 1), "709", False, 8,
                                                      (2, 2)))
    video = encode_video(tmp_path / "pan.mkv", sc.rgb, codec="libx264", pix_fmt="yuv420p",
                         options={"crf": "20"}, tags=color_tags("709"))
    capsys.readouterr()
    assert main(["-q", "align", str(video), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    frames = out["frames"]
    assert [f["index"] for f in frames] == list(range(N))
    xy = np.array([[f["x"], f["y"]] for f in frames])
    err = _errors(xy, [f["index"] for f in frames], sc.xy)
    assert err.max() < 0.1, f"max error {err.max():.3f} px (frame {err.argmax()})"

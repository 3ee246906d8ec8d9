"""Soft telecine (repeat-field flags): coded frames pass through, film rate reported."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from overmix.video import open_video, probe
from overmix.video.index import PacketIndex
from overmix.video.probe import cadence
from tests.video.conftest import pyav_planes
from tests.videogen import soft_telecine_mpeg2


@pytest.mark.parametrize("fmt,ext", [("mpegts", "ts"), ("vob", "vob")])
def test_soft_telecine_passes_coded_frames(tmp_path: Path, fmt: str, ext: str) -> None:
    path, src_frames = soft_telecine_mpeg2(tmp_path / f"soft.{ext}", n=16,
                                           container_format=fmt)
    info = probe(path)
    assert info.telecine["guess"] == "soft"
    assert info.film_rate == Fraction(24000, 1001)
    assert info.frame_count == 16
    src = open_video(path)
    assert src.ivtc_decision["mode"] == "soft"
    assert src.rate == Fraction(24000, 1001)
    frames = list(src)
    ref = pyav_planes(path)
    assert len(frames) == len(ref) == 16  # the coded progressive frames, none repeated
    for f, r in zip(frames, ref, strict=True):
        assert all(np.array_equal(a, b) for a, b in zip(f.planes, r, strict=True))
        assert f.fields is None
    # a time range follows the real timestamps: 0.5 s is frame ceil(0.5 * 23.976) = 12
    part = list(open_video(path, start="0.5", frames=2))
    assert [f.index for f in part] == [12, 13]
    # the pictures are the encoded ones (lossy MPEG-2: close to the source)
    for f, s in zip(frames, src_frames, strict=True):
        assert np.mean(np.abs(f.planes[0].astype(float) - s[0])) < 3.0


def test_cadence_synthetic() -> None:
    """The detector on synthetic pts: 3:2 steps -> soft at 24000/1001; constant -> not."""
    tb = Fraction(1, 90000)
    steps = [4504, 3003] * 20
    pts = np.cumsum([0] + steps).tolist()
    idx = PacketIndex(pts, pts[::6], [0] * len(pts), True)
    got = cadence(idx, tb, Fraction(30000, 1001))
    assert got["soft"] and got["film_rate"] == Fraction(24000, 1001)
    flat = np.arange(0, 3754 * 40, 3754).tolist()
    idx2 = PacketIndex(flat, flat[::6], [0] * 40, True)
    assert not cadence(idx2, tb, Fraction(24000, 1001))["soft"]

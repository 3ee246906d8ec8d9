"""Dump -> convert gives the same PNG as converting the video frame directly."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from overmix.cli import main
from tests.videogen import make_clip


def _png(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        fr = next(c.decode(video=0))
        return fr.to_ndarray()


@pytest.mark.parametrize("pix_fmt,matrix,full", [
    ("yuv420p", "601", False),
    ("yuv420p", "709", True),
    ("yuv420p10le", "709", False),
    ("yuv420p10le", "601", True),
])
def test_dump_then_convert_equals_direct(tmp_path: Path, pix_fmt: str, matrix: str,
                                         full: bool) -> None:
    video = make_clip(tmp_path / "v.mkv", n=8, h=64, w=96, codec="libx264", pix_fmt=pix_fmt,
                      matrix=matrix, full=full, seed=5)
    dumps = tmp_path / "dumps"
    assert main(["dump", str(video), "-o", str(dumps)]) == 0
    for n, depth in ((0, "8"), (7, "16")):
        direct = tmp_path / f"direct{n}.png"
        via = tmp_path / f"via{n}.png"
        assert main(["convert", str(video), "--frame", str(n), "-o", str(direct),
                     "--depth", depth]) == 0
        assert main(["convert", str(dumps), "--frame", str(n), "-o", str(via),
                     "--depth", depth]) == 0
        a, b = _png(direct), _png(via)
        assert a.shape == b.shape == (64, 96, 3)
        assert np.array_equal(a, b)
        assert direct.read_bytes() == via.read_bytes()
    # and the colours depend on the tags (a 601 frame read as 709 differs)
    wrong = tmp_path / "wrong.png"
    assert main(["convert", str(video), "--frame", "0", "-o", str(wrong), "--matrix",
                 "709" if matrix == "601" else "601"]) == 0
    assert not np.array_equal(_png(wrong), _png(tmp_path / "direct0.png"))

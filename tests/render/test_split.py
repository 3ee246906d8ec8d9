"""The average render splits each frame's canvas rows between two threads: same result, bit
for bit, as one thread, with and without a mask, on canvases of odd height."""

from __future__ import annotations

import numpy as np
import pytest

import overmix.render.stack_average as stack_average
from overmix.color.spec import ColorInfo
from overmix.frame import Frame, PlaneLayout
from overmix.geometry import Offsets
from overmix.io.store import FrameStore
from overmix.render.stack import render
from tests.render.scene import frame_planes, to_codes

H, W = 141, 96  # odd height: 4:2:0 chroma has 71 rows
COLOR = ColorInfo(bit_depth=10)


@pytest.mark.parametrize("masked", [False, True])
def test_split_rows_give_identical_canvases(masked: bool, monkeypatch) -> None:
    xy = np.array([[0.0, 0.0], [3.37, 1.71], [7.9, -2.45], [11.2, 5.03]])
    frames = [Frame(to_codes(frame_planes(10 + x, 10 + y, H, W)), PlaneLayout(), COLOR,
                    index=k) for k, (x, y) in enumerate(xy)]
    mask = None
    if masked:
        mask = np.ones((H, W), np.float32)
        mask[60:80, 30:50] = 0.0
    off = Offsets(xy, list(range(len(xy))), W, H)
    with FrameStore.from_frames(frames) as store:
        monkeypatch.setattr(stack_average, "_SPLIT_MIN_ROWS", 32)
        two = render(store, off, mask=mask)
        monkeypatch.setattr(stack_average, "_SPLIT_MIN_ROWS", 10**6)
        one = render(store, off, mask=mask)
    assert two.coverage.shape == (off.canvas.height, off.canvas.width)
    assert np.array_equal(two.coverage, one.coverage)
    for a, b in zip(two.planes, one.planes, strict=True):
        assert np.array_equal(a, b)
    assert two.stats["holes"] == one.stats["holes"] > 0

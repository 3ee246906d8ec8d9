"""The average render deals canvas row strips to worker threads: the same result, bit for bit,
with one, two or three threads and any strip height, with and without a mask, on canvases of
odd height (4:2:0 chroma strips end on a half row)."""

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
def test_threads_and_strips_give_identical_canvases(masked: bool, monkeypatch) -> None:
    xy = np.array([[0.0, 0.0], [3.37, 1.71], [7.9, -2.45], [11.2, 5.03]])
    frames = [Frame(to_codes(frame_planes(10 + x, 10 + y, H, W)), PlaneLayout(), COLOR,
                    index=k) for k, (x, y) in enumerate(xy)]
    mask = None
    if masked:
        mask = np.ones((H, W), np.float32)
        mask[60:80, 30:50] = 0.0
    off = Offsets(xy, list(range(len(xy))), W, H)
    results = []
    with FrameStore.from_frames(frames) as store:
        for threads, rows in ((1, 10**6), (1, 32), (2, 32), (3, 8), (2, 2)):
            monkeypatch.setenv("OVERMIX_THREADS", str(threads))
            monkeypatch.setattr(stack_average, "STRIP_ROWS", rows)
            results.append(render(store, off, mask=mask))
    one = results[0]
    assert one.coverage.shape == (off.canvas.height, off.canvas.width)
    for other in results[1:]:
        assert np.array_equal(other.coverage, one.coverage)
        for a, b in zip(other.planes, one.planes, strict=True):
            assert np.array_equal(a, b)
        assert other.stats["holes"] == one.stats["holes"] > 0


@pytest.mark.parametrize("method", ["median", "max"])
def test_statistics_renders_same_with_any_threads(method: str, monkeypatch) -> None:
    """The statistics renders resample frames in threads, each into its own stack slot: the
    same canvas with one or three threads, per-frame weights included (the weak-frame drop
    follows frame order)."""
    xy = np.array([[0.0, 0.0], [3.37, 1.71], [7.9, -2.45], [11.2, 5.03], [14.6, 2.2]])
    frames = [Frame(to_codes(frame_planes(10 + x, 10 + y, H, W)), PlaneLayout(), COLOR,
                    index=k) for k, (x, y) in enumerate(xy)]
    off = Offsets(xy, list(range(len(xy))), W, H)

    def weights(k: int) -> np.ndarray | None:
        if k % 2 == 0:
            return None
        m = np.ones((H, W), np.float32)
        m[20 * k:20 * k + 30, 10:60] = 1e-4  # an outlier patch, a different place per frame
        return m

    results = []
    with FrameStore.from_frames(frames) as store:
        for threads in (1, 3):
            monkeypatch.setenv("OVERMIX_THREADS", str(threads))
            results.append(render(store, off, method=method, frame_weights=weights,
                                  tile_budget=200_000))  # several bands
    one, three = results
    assert np.array_equal(one.coverage, three.coverage)
    for a, b in zip(one.planes, three.planes, strict=True):
        assert np.array_equal(a, b, equal_nan=True)

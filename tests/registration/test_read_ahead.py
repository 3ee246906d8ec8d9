"""Frames read ahead on a second thread (overmix.registration.ahead) still come in order, one
read at a time, and a failed read is raised in its turn; what is made ahead of small frames,
a batch at a time, is what the one-frame functions make of each."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from overmix.registration.ahead import frames_ahead
from overmix.registration.framestats import histograms, is_flat
from overmix.registration.pyramid import CODE_GAIN, prepare
from overmix.registration.static import _down2, _edges
from overmix.registration.tiles import _energy


def _reader(shape: tuple[int, int], broken: int) -> tuple[object, list[int]]:
    busy = threading.Lock()
    calls: list[int] = []

    def read(k: int) -> np.ndarray:
        assert busy.acquire(blocking=False), "two reads at once"
        try:
            calls.append(k)
            if k == broken:
                raise ValueError(f"frame {k} is broken")
            return np.full(shape, k / 100, np.float32)
        finally:
            busy.release()

    return read, calls


@pytest.mark.parametrize("shape", [(500, 500), (90, 160)])  # one ahead / in batches
def test_in_order_one_at_a_time_and_errors_in_turn(shape: tuple[int, int]) -> None:
    read, calls = _reader(shape, 9)
    frames = frames_ahead(read, 12)  # type: ignore[arg-type]
    for k in range(9):
        f = next(frames)
        # a small frame made ahead is released: its pyramid's codes hold its values
        v = f.y[0, 0] if f.codes is None else f.codes[0][0, 0] / CODE_GAIN - 0.5
        assert round(float(v) * 100) == k
    with pytest.raises(ValueError, match="frame 9"):
        next(frames)
    frames.close()
    assert calls == sorted(calls) and calls[:10] == list(range(10))
    tiny = list(frames_ahead(lambda k: np.full((4, 4), k, np.int16), 3))  # not float: as read
    assert [int(f.y[0, 0]) for f in tiny] == [0, 1, 2]


@pytest.mark.parametrize("shape", [(270, 480), (120, 200)])  # a two- and a one-level pyramid
def test_small_frames_products_are_the_one_frame_values(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(4)
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w]
    ys = [(0.5 + 0.3 * np.sin(xx / (5 + k) + yy / 7) + 0.02 * rng.standard_normal(shape))
          .astype(np.float64 if k % 2 else np.float32) for k in range(20)]
    ys[6] = np.full(shape, 0.3, np.float32)  # flat
    got = list(frames_ahead(lambda k: ys[k], len(ys), detect=True))
    assert len(got) == len(ys) and got[0].codes is None  # frame 0 is the caller's to make
    for k, f in enumerate(got[1:], 1):
        p = prepare(ys[k])
        assert f.codes is not None and len(f.codes) == len(p.levels)
        for c, lv in zip(f.codes, p.levels, strict=True):
            np.testing.assert_array_equal(c, lv.img)
        np.testing.assert_array_equal(f.energy, _energy(p))
        assert f.flat == is_flat(p) and f.flat == (k == 6)
        np.testing.assert_array_equal(
            f.hist, histograms(p.levels[-1].img[None], len(p.levels))[0])
        if len(p.levels) > 1:
            np.testing.assert_array_equal(f.half, p.levels[1].img)
            assert f.unit == CODE_GAIN
        else:
            np.testing.assert_array_equal(f.half, _down2(ys[k]))
            assert f.unit == 1.0
        np.testing.assert_array_equal(f.edges, _edges(f.half, f.unit))
        assert f.range3 is not None  # the classification's 3x3 ranges of the coarsest level
        win = np.lib.stride_tricks.sliding_window_view(p.levels[-1].img, (3, 3))
        np.testing.assert_array_equal(f.range3[0], win.min(axis=(2, 3)))
        np.testing.assert_array_equal(f.range3[1], win.max(axis=(2, 3)))
    assert any(f.edges.any() for f in got[1:])  # type: ignore[union-attr]
    # a frame of another size is the caller's to report: nothing made of its batch
    odd = [*ys[:5], np.zeros((h + 1, w), np.float32), *ys[6:8]]
    made = list(frames_ahead(lambda k: odd[k], len(odd)))
    assert made[4].codes is not None and made[4].y.shape == (h, w)
    assert made[5].codes is None and made[5].y.shape == (h + 1, w)

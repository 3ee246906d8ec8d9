"""FrameStore: frames kept as codes, spilled past the budget, checked for consistency."""

from __future__ import annotations

import numpy as np
import pytest

from overmix.color.spec import ColorInfo, Range
from overmix.errors import InputError
from overmix.frame import Family, Frame, PlaneLayout
from overmix.io.store import FrameStore


def _frame(k: int, h: int = 8, w: int = 12, depth: int = 10, **kw) -> Frame:
    rng = np.random.default_rng(k)
    dt = np.uint16 if depth > 8 else np.uint8
    hi = (1 << depth) - 1
    planes = (rng.integers(0, hi, (h, w)).astype(dt),
              rng.integers(0, hi, ((h + 1) // 2, (w + 1) // 2)).astype(dt),
              rng.integers(0, hi, ((h + 1) // 2, (w + 1) // 2)).astype(dt))
    return Frame(planes, PlaneLayout(Family.YCBCR, 2, 2), ColorInfo(bit_depth=depth),
                 index=k + 5, **kw)


@pytest.mark.parametrize("budget", [0, 400, 1 << 30])
def test_store_round_trips_codes_in_memory_and_spilled(budget: int) -> None:
    frames = [_frame(k) for k in range(5)]
    with FrameStore.from_frames(frames, budget_bytes=budget) as store:
        assert len(store) == 5
        assert store.indices == [5, 6, 7, 8, 9]
        assert store.shape == (8, 12)
        if budget == 0:
            assert store.spilled == 5 and store.memory_bytes == 0
        elif budget == 400:
            assert 0 < store.spilled < 5
        else:
            assert store.spilled == 0
        for k, f in enumerate(frames):
            g = store.frame(k)
            assert g.index == f.index
            for a, b in zip(f.planes, g.planes, strict=True):
                assert a.dtype == b.dtype and np.array_equal(a, b)
        tmp = store._tmp
    assert tmp is None or not tmp.exists()  # spill folder removed on close


def test_store_working_planes_are_float32_in_range() -> None:
    y = np.full((4, 4), 940, np.uint16)  # 10-bit limited white
    c = np.full((2, 2), 512, np.uint16)  # neutral chroma
    f = Frame((y, c, c.copy()), PlaneLayout(), ColorInfo(bit_depth=10))
    with FrameStore.from_frames([f], budget_bytes=0) as store:
        lum = store.luma(0)
        assert lum.dtype == np.float32 and np.allclose(lum, 1.0)
        planes = store.planes(0)
        assert planes[1].shape == (2, 2) and np.allclose(planes[1], 0.0)


def test_store_rejects_frames_of_another_size_or_format() -> None:
    with pytest.raises(InputError, match="different sizes"):
        FrameStore.from_frames([_frame(0), _frame(1, h=10)])
    with pytest.raises(InputError, match="different formats"):
        FrameStore.from_frames([_frame(0), _frame(1, depth=8)])


def test_store_owns_its_arrays() -> None:
    f = _frame(0)
    with FrameStore.from_frames([f]) as store:
        f.planes[0][:] = 0
        assert store.frame(0).planes[0].any()


@pytest.mark.parametrize("family, depth", [(Family.RGB, 8), (Family.YCBCR, 10),
                                           (Family.GRAY, 16)])
def test_spilled_luma_is_read_in_strips_with_the_same_values(family: Family, depth: int,
                                                             monkeypatch) -> None:
    """A spilled frame's luma is made a strip of rows at a time from its plane files (and
    the luma of whole planes in memory a strip at a time too): the same float32 values as
    the luma of the whole frame's codes, for any strip height."""
    import overmix.io.store as store_mod

    rng = np.random.default_rng(depth)
    dt = np.uint16 if depth > 8 else np.uint8
    h, w = 37, 23
    shapes = {Family.RGB: [(h, w)] * 3, Family.YCBCR: [(h, w), (19, 12), (19, 12)],
              Family.GRAY: [(h, w)]}[family]
    planes = tuple(rng.integers(0, 1 << depth, s).astype(dt) for s in shapes)
    layout = PlaneLayout(family, 2, 2) if family == Family.YCBCR else PlaneLayout(family)
    full = Range.FULL if family == Family.RGB else Range.LIMITED
    f = Frame(planes, layout, ColorInfo(bit_depth=depth, range=full))
    with FrameStore.from_frames([f], budget_bytes=0) as store:
        assert store.spilled == 1
        want = store.luma_of(planes)
        if family == Family.RGB:  # BT.709 weights of the working R'G'B' (independent sum)
            ref = sum(c * p.astype(np.float64) for c, p in
                      zip((0.2126, 0.7152, 0.0722), planes, strict=True)) / 255
            np.testing.assert_allclose(want, ref, atol=1e-6)
        for rows in (1, 5, h, 1000):
            monkeypatch.setattr(store_mod, "LUMA_STRIP_BYTES", 4 * w * rows)
            got = store.luma(0)
            assert got.dtype == np.float32 and np.array_equal(got, want)
            assert np.array_equal(store.luma_of(planes), want)

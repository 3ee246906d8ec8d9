"""The strip splat of the average render (:mod:`overmix.render.strips`): against a direct
per-sample loop (clamped taps, coverage, affine) and the whole-plane
:func:`~overmix.render.resample.splat` (to float32 rounding), bit for bit the same whatever
the strip cuts."""

from __future__ import annotations

import numpy as np
import pytest

from overmix.render.resample import AxisPlan, axis_plan, splat
from overmix.render.strips import GroupSplat
from tests.render.test_resample_numpy import _ref_resample


def _plan(off: float, n_src: int, n_dst: int) -> AxisPlan:
    plan = axis_plan(0.0, 1, n_dst, off, 1, n_src, (off - 0.5, off + n_src - 0.5), "cubic")
    assert plan is not None
    return plan


CASES = [  # (x, y) of the frame on a 40 x 30 canvas: inside, cut by every edge, whole pixel
    (3.37, 2.71), (-4.6, -3.2), (15.2, 11.9), (5.0, 4.0), (0.5, 7.25)]


@pytest.mark.parametrize("x, y", CASES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_strips_equal_splat_and_loop(x: float, y: float, weighted: bool, dtype: type) -> None:
    rng = np.random.default_rng(5)
    h, w, ch, cw = 19, 27, 30, 40
    top = 255 if dtype is np.uint8 else 1023
    srcs = [rng.integers(0, top + 1, (h, w)).astype(dtype) for _ in range(3)]
    px, py = _plan(x, w, cw), _plan(y, h, ch)
    a, b = 1 / 876.0, -64 / 876.0
    w2 = rng.uniform(0, 1, (py.hi - py.lo, px.hi - px.lo)).astype(np.float32) \
        if weighted else None
    want = np.zeros((3, ch, cw), np.float32)
    wwant = np.zeros((ch, cw), np.float32)
    for p in range(3):
        splat(srcs[p], px, py, want[p], wwant if p == 0 else None, a=a, b=b, w2=w2)
    first = None
    for cuts in ([0, ch], [0, 1, 2, 9, 10, 17, ch], list(range(ch + 1)), [0, 8, 16, 24, ch]):
        got = np.zeros_like(want)
        wgot = np.zeros_like(wwant)
        one = GroupSplat.make(srcs, px, py, got, wgot, a, b, w2)
        assert one is not None
        bufs: dict[str, np.ndarray] = {}
        for i0, i1 in zip(cuts[:-1], cuts[1:], strict=True):
            i0, i1 = max(i0, py.lo), min(i1, py.hi)
            if i0 < i1:
                one.run(i0, i1, bufs)
        if first is None:
            first = got
        assert np.array_equal(got, first)  # the same bits wherever a strip is cut
        np.testing.assert_allclose(got, want, rtol=0, atol=2e-6)
        assert np.array_equal(wgot, wwant)
    # and the values themselves, against the direct sum over the clamped taps
    cov = np.multiply.outer(py.cover, px.cover) if w2 is None else w2
    for p in range(3):
        ref = np.zeros((ch, cw))
        ref[py.lo:py.hi, px.lo:px.hi] = cov * (a * _ref_resample(srcs[p], px, py) + b)
        np.testing.assert_allclose(want[p], ref, atol=3e-6)
    ref_w = np.zeros((ch, cw))
    ref_w[py.lo:py.hi, px.lo:px.hi] = cov
    np.testing.assert_allclose(wwant, ref_w, atol=1e-7)


def test_other_pitches_are_refused() -> None:
    """A chroma plane read at twice its pitch (--chroma full) is left to splat()."""
    src = np.zeros((10, 12), np.uint8)
    px = axis_plan(0.0, 1, 30, 2.3, 2, 12, (1.3, 25.3), "cubic")
    py = axis_plan(0.0, 1, 25, 1.7, 2, 10, (0.7, 20.7), "cubic")
    assert px is not None and py is not None
    acc = np.zeros((1, 25, 30), np.float32)
    assert GroupSplat.make([src], px, py, acc, None, 1.0, 0.0, None) is None


@pytest.mark.parametrize("h, w, r", [(37, 53, 3), (64, 64, 4), (29, 40, 1), (100, 7, 2)])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_reduce_box_codes_equals_reduce_box(h: int, w: int, r: int, dtype: type) -> None:
    """The clean check's reduction from the codes (exact block sums, weighted afterwards)
    against the whole-plane reduction of the float combination."""
    from overmix.warp import reduce_box, reduce_box_codes

    rng = np.random.default_rng(h)
    top = 255 if dtype is np.uint8 else 65535
    planes = [rng.integers(0, top + 1, (h, w)).astype(dtype) for _ in range(3)]
    coef, off = (0.2126 / top, 0.7152 / top, 0.0722 / top), -16 / 219
    luma = sum(c * p.astype(np.float64) for c, p in zip(coef, planes, strict=True)) + off
    got = reduce_box_codes(planes, coef, off, r)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, reduce_box(luma.astype(np.float32), r), rtol=0, atol=2e-6)
    # the block means themselves, on a constant-per-block plane (no smoothing effect)
    blocks = np.kron(np.arange(12).reshape(3, 4), np.ones((r, r), int)).astype(dtype)
    flat = reduce_box_codes([blocks], (1.0,), 0.0, r)
    if r > 1:
        assert flat.shape == (3, 4)
        # [1, 2, 1] / 4 smoothing of a linear ramp keeps its inner values
        np.testing.assert_allclose(flat[1, 1:3], [5.0, 6.0], atol=1e-6)


@pytest.mark.parametrize("frames, h, w", [(1, 7, 9), (5, 40, 33), (300, 61, 2000)])
def test_add_covers_equals_outer_sums(frames: int, h: int, w: int) -> None:
    """The weight sums added at the end of a render, against one outer product per frame
    (many frames and a wide canvas split the product into several BLAS calls)."""
    from overmix.render.strips import Cover, add_covers

    rng = np.random.default_rng(frames)
    covers, want = [], np.full((h, w), 0.5)
    for _ in range(frames):
        y0, x0 = int(rng.integers(0, h - 2)), int(rng.integers(0, w - 2))
        cy = rng.uniform(0.1, 1, int(rng.integers(1, h - y0 + 1))).astype(np.float32)
        cx = rng.uniform(0.1, 1, int(rng.integers(1, w - x0 + 1))).astype(np.float32)
        covers.append(Cover(y0, cy, x0, cx))
        want[y0:y0 + cy.size, x0:x0 + cx.size] += np.multiply.outer(cy, cx)
    got = np.full((h, w), 0.5, np.float32)
    add_covers(got, covers)
    np.testing.assert_allclose(got, want, rtol=2e-6, atol=0)

"""Siting-aware chroma resampling."""

from __future__ import annotations

import numpy as np
import pytest

from overmix.color.chroma import (
    FILTERS,
    chroma_positions,
    downsample,
    kernel_weights,
    resample,
    upsample,
)
from overmix.color.spec import ChromaLocation
from overmix.errors import UnsupportedError

SITINGS = [ChromaLocation.LEFT, ChromaLocation.CENTER, ChromaLocation.TOPLEFT,
           ChromaLocation.TOP, ChromaLocation.BOTTOMLEFT, ChromaLocation.BOTTOM]


def sited_xy(loc: ChromaLocation, sx: int, sy: int) -> tuple[float, float]:
    # H.273 figure E-1, written out here independently of ChromaLocation.offset.
    left = loc in (ChromaLocation.LEFT, ChromaLocation.TOPLEFT, ChromaLocation.BOTTOMLEFT)
    fy = {ChromaLocation.TOPLEFT: 0.0, ChromaLocation.TOP: 0.0,
          ChromaLocation.BOTTOMLEFT: 1.0, ChromaLocation.BOTTOM: 1.0}.get(loc, 0.5)
    return (0.0 if left else 0.5) * (sx - 1), fy * (sy - 1)


@pytest.mark.parametrize("loc", SITINGS)
@pytest.mark.parametrize("sub", [(2, 2), (2, 1), (4, 1), (1, 2)])
@pytest.mark.parametrize("flt", ["bilinear", "bicubic"])
def test_linear_ramp_is_exact_in_interior(loc, sub, flt):
    sx, sy = sub
    h, w = 24, 40
    ox, oy = sited_xy(loc, sx, sy)
    ch, cw = -(-h // sy), -(-w // sx)
    # Chroma samples of the plane f(x, y) = 3x - 2y + 7 taken at their sited luma positions.
    xs = sx * np.arange(cw) + ox
    ys = sy * np.arange(ch) + oy
    c = 3 * xs[None, :] - 2 * ys[:, None] + 7
    up = upsample(c, sub_x=sx, sub_y=sy, location=loc, out_shape=(h, w), filter=flt)
    yy, xx = np.mgrid[0:h, 0:w]
    want = 3 * xx - 2 * yy + 7.0
    # Interior: luma centres with a full kernel footprint inside the chroma grid.
    m = 2 if flt == "bilinear" else 3
    inner = (slice(m * sy, h - m * sy), slice(m * sx, w - m * sx))
    np.testing.assert_allclose(up[inner], want[inner], atol=2e-4)
    # And exact for every luma centre that lies between the first and last chroma sample.
    inside = (xx >= xs[0]) & (xx <= xs[-1]) & (yy >= ys[0]) & (yy <= ys[-1])
    if flt == "bilinear":
        np.testing.assert_allclose(up[inside], want[inside], atol=2e-4)


def test_left_vs_center_differ_by_half_luma_sample():
    # Same chroma samples, read with two sitings: center-sited samples lie 0.5 luma px to the
    # right, so the center result at x equals the left result at x - 0.5 (a quarter of a
    # chroma sample in 4:2:0).
    cw = 20
    ramp = np.tile(np.arange(cw, dtype=np.float64) * 8.0, (6, 1))
    kw = dict(sub_x=2, sub_y=2, out_shape=(12, 2 * cw), filter="bilinear")
    left = upsample(ramp, location=ChromaLocation.LEFT, **kw)
    center = upsample(ramp, location=ChromaLocation.CENTER, **kw)
    inner = slice(2, 2 * cw - 2)
    np.testing.assert_allclose(left[:, inner] - center[:, inner], 8.0 * 0.25, atol=1e-5)
    # A smooth non-linear signal sampled at each siting is recovered at the luma centres by
    # both; read with the wrong siting it is off by the half-sample shift.
    f = lambda x: np.sin(x / 5.0)  # noqa: E731
    xs_left = 2.0 * np.arange(cw)
    xs_center = xs_left + 0.5
    x = np.arange(2 * cw)
    for loc, xs in ((ChromaLocation.LEFT, xs_left), (ChromaLocation.CENTER, xs_center)):
        c = np.tile(f(xs), (6, 1))
        up = upsample(c, location=loc, filter="lanczos", **{k: v for k, v in kw.items()
                                                              if k != "filter"})
        np.testing.assert_allclose(up[3, 6:-6], f(x[6:-6]), atol=1e-2)
    wrong = upsample(np.tile(f(xs_center), (6, 1)), location=ChromaLocation.LEFT,
                     filter="lanczos", sub_x=2, sub_y=2, out_shape=(12, 2 * cw))
    np.testing.assert_allclose(wrong[3, 6:-6], f(x[6:-6] + 0.5), atol=1e-2)
    assert np.abs(wrong[3, 6:-6] - f(x[6:-6])).max() > 0.08


def test_vertical_siting_topleft_vs_left():
    col = np.arange(10, dtype=np.float64)[:, None] * np.ones((1, 4))
    kw = dict(sub_x=2, sub_y=2, out_shape=(20, 8), filter="bilinear")
    left = upsample(col, location=ChromaLocation.LEFT, **kw)  # rows at 2i + 0.5
    top = upsample(col, location=ChromaLocation.TOPLEFT, **kw)  # rows at 2i
    np.testing.assert_allclose(top[2:-2, 3] - left[2:-2, 3], 0.25, atol=1e-6)


def test_edges_replicate():
    c = np.array([[10.0, 20.0, 30.0]])
    up = upsample(c, sub_x=2, sub_y=1, location=ChromaLocation.CENTER, out_shape=(1, 6),
                  filter="bilinear")
    # Luma x = 0 is chroma coordinate -0.25, outside the grid: the edge sample repeats.
    assert up[0, 0] == pytest.approx(10.0) and up[0, -1] == pytest.approx(30.0)
    for flt in FILTERS:
        flat = upsample(np.full((3, 4), 7.0), sub_x=2, sub_y=2, location=ChromaLocation.LEFT,
                        out_shape=(6, 8), filter=flt)
        np.testing.assert_allclose(flat, 7.0, rtol=1e-6)


@pytest.mark.parametrize("flt", list(FILTERS))
def test_weights_normalised_and_clamped(flt):
    pos = np.linspace(-3.3, 12.7, 57)
    wt = kernel_weights(pos, 10, flt)
    np.testing.assert_allclose(wt.weight.sum(axis=1), 1.0, atol=1e-6)
    assert wt.index.min() >= 0 and wt.index.max() <= 9
    assert wt.weight.dtype == np.float32 and wt.index.dtype == np.int32


def test_lanczos3_weights_follow_the_formula():
    u = 4.3
    wt = kernel_weights([u], 20, "lanczos")
    k = np.arange(2, 8)
    d = k - u
    raw = np.sinc(d) * np.sinc(d / 3)
    np.testing.assert_array_equal(wt.index[0], k)
    np.testing.assert_allclose(wt.weight[0], raw / raw.sum(), atol=1e-7)
    # Catmull-Rom (Keys a = -0.5) at offset 0.5: [-1/16, 9/16, 9/16, -1/16].
    cr = kernel_weights([4.5], 20, "bicubic")
    np.testing.assert_allclose(cr.weight[0], [-1 / 16, 9 / 16, 9 / 16, -1 / 16], atol=1e-7)


def test_integer_positions_cost_one_tap():
    for flt in ("bilinear", "bicubic", "lanczos"):
        wt = kernel_weights(np.arange(8.0), 8, flt)
        assert wt.taps == 1
        np.testing.assert_array_equal(wt.index[:, 0], np.arange(8))


def test_downsample_area_weights_follow_siting():
    x = np.zeros((4, 16))
    x[:, 6] = 1.0  # an impulse at luma column 6
    left = downsample(x, sub_x=2, sub_y=2, location=ChromaLocation.LEFT)
    center = downsample(x, sub_x=2, sub_y=2, location=ChromaLocation.CENTER)
    # Left: chroma j at luma 2j, footprint [2j-1, 2j+1]: weights 1/4, 1/2, 1/4.
    np.testing.assert_allclose(left[0, 2:5], [0.0, 0.5, 0.0], atol=1e-7)
    odd = np.roll(x, 1, axis=1)  # impulse at luma column 7, between chroma 3 and 4
    np.testing.assert_allclose(
        downsample(odd, sub_x=2, sub_y=2, location=ChromaLocation.LEFT)[0, 2:6],
        [0.0, 0.25, 0.25, 0.0], atol=1e-7)
    # Center: footprint [2j-0.5, 2j+1.5]: box of 2.
    np.testing.assert_allclose(center[0, 3], 0.5)
    np.testing.assert_allclose(center[0, [2, 4]], 0.0)
    # A linear ramp downsampled at the sited positions gives the ramp there.
    ramp = np.tile(np.arange(16.0), (4, 1)) * 2.0 + 1.0
    for loc in (ChromaLocation.LEFT, ChromaLocation.CENTER):
        d = downsample(ramp, sub_x=2, sub_y=2, location=loc)
        ox, _ = sited_xy(loc, 2, 2)
        np.testing.assert_allclose(d[0, 1:-1], 2.0 * (2 * np.arange(1, 7) + ox) + 1.0,
                                   atol=1e-5)


def test_resample_generic_positions_and_errors():
    plane = np.arange(30, dtype=np.float32).reshape(5, 6)
    rows = kernel_weights(np.array([0.5, 2.0]), 5, "bilinear")
    cols = kernel_weights(chroma_positions(3, 2, 0.0), 6, "bilinear")  # x = 0, 0.5, 1.0
    out = resample(plane, rows, cols)
    np.testing.assert_allclose(out, [[3.0, 3.5, 4.0], [12.0, 12.5, 13.0]])
    with pytest.raises(UnsupportedError):
        kernel_weights([0.0], 4, "gaussian")
    with pytest.raises(UnsupportedError):
        resample(plane.T, rows, cols)

"""Colour conversion against independently written float64 textbook formulas (DESIGN §4).

The reference here does not use overmix's matrices or resampler: Kr/Kb are typed in from the
standards, the Y'CbCr → R'G'B' matrix is the numerical inverse of the encoder equations, and
chroma is upsampled with ``np.interp`` at the sited positions (which clamps at the edges).
"""

from __future__ import annotations

import numpy as np
import pytest

from overmix.color.convert import (
    codes_to_working,
    range_constants,
    to_rgb,
    to_rgb_codes,
    working_to_codes,
)
from overmix.color.matrices import reinterpret, rgb_to_ycbcr, ycbcr_to_rgb
from overmix.color.spec import ChromaLocation, ColorInfo, Matrix, Range

# Kr, Kb from the standards (BT.601-7, BT.709-6, BT.2020-2, SMPTE 240M, FCC).
KRKB = {
    Matrix.BT470BG: (0.299, 0.114),
    Matrix.SMPTE170M: (0.299, 0.114),
    Matrix.BT709: (0.2126, 0.0722),
    Matrix.BT2020_NCL: (0.2627, 0.0593),
    Matrix.SMPTE240M: (0.212, 0.087),
    Matrix.FCC: (0.30, 0.11),
}


def ref_decode_matrix(matrix: Matrix) -> np.ndarray:
    kr, kb = KRKB[matrix]
    kg = 1 - kr - kb
    # Encoder: Y = Kr R + Kg G + Kb B; Cb = (B - Y)/(2(1-Kb)); Cr = (R - Y)/(2(1-Kr)).
    y = np.array([kr, kg, kb])
    cb = (np.array([0, 0, 1.0]) - y) / (2 * (1 - kb))
    cr = (np.array([1.0, 0, 0]) - y) / (2 * (1 - kr))
    return np.linalg.inv(np.stack([y, cb, cr]))


def ref_working(codes: np.ndarray, n: int, rng: Range, chroma: bool) -> np.ndarray:
    c = codes.astype(np.float64)
    if rng == Range.LIMITED:
        s = 2.0 ** (n - 8)
        return (c - 128 * s) / (224 * s) if chroma else (c - 16 * s) / (219 * s)
    return (c - 2 ** (n - 1)) / (2**n - 1) if chroma else c / (2**n - 1)


def ref_upsample(c: np.ndarray, h: int, w: int, sx: int, sy: int, loc: ChromaLocation):
    # Chroma sample (i, j) at luma (x = sx*j + ox, y = sy*i + oy), H.273 figure E-1.
    fx = 0.0 if loc in (ChromaLocation.LEFT, ChromaLocation.TOPLEFT) else 0.5
    fy = 0.0 if loc == ChromaLocation.TOPLEFT else 0.5
    ox, oy = fx * (sx - 1), fy * (sy - 1)
    xs = sx * np.arange(c.shape[1]) + ox
    ys = sy * np.arange(c.shape[0]) + oy
    tmp = np.stack([np.interp(np.arange(w), xs, row) for row in c])
    return np.stack([np.interp(np.arange(h), ys, col) for col in tmp.T]).T


def ref_rgb16(planes, n, rng, matrix, sx, sy, loc):
    y = ref_working(planes[0], n, rng, False)
    h, w = y.shape
    cb = ref_upsample(ref_working(planes[1], n, rng, True), h, w, sx, sy, loc)
    cr = ref_upsample(ref_working(planes[2], n, rng, True), h, w, sx, sy, loc)
    rgb = np.einsum("ij,jhw->hwi", ref_decode_matrix(matrix), np.stack([y, cb, cr]))
    return np.round(np.clip(rgb, 0, 1) * 65535).astype(np.int64), rgb


def random_planes(rs, n, h, w, sx, sy):
    top = 2**n - 1
    ch, cw = -(-h // sy), -(-w // sx)
    dt = np.uint8 if n <= 8 else np.uint16
    # Smooth-ish content plus some codes outside the nominal range (full code span).
    return [rs.integers(0, top + 1, (h, w)).astype(dt),
            rs.integers(0, top + 1, (ch, cw)).astype(dt),
            rs.integers(0, top + 1, (ch, cw)).astype(dt)]


@pytest.mark.parametrize("matrix", list(KRKB))
@pytest.mark.parametrize("rng", [Range.LIMITED, Range.FULL])
@pytest.mark.parametrize("n", [8, 10, 12])
@pytest.mark.parametrize("sub", [(2, 2), (2, 1), (1, 1)])
def test_matches_textbook_within_one_16bit_code(matrix, rng, n, sub):
    rs = np.random.default_rng(n * 100 + int(matrix) * 7 + int(rng))
    sx, sy = sub
    h, w = 21, 34  # odd height: partial chroma row at the edge
    planes = random_planes(rs, n, h, w, sx, sy)
    for loc in (ChromaLocation.LEFT, ChromaLocation.CENTER, ChromaLocation.TOPLEFT):
        color = ColorInfo(matrix=matrix, range=rng, chroma_location=loc, bit_depth=n)
        want, want_f = ref_rgb16(planes, n, rng, matrix, sx, sy, loc)
        got = to_rgb_codes(planes, color, depth=16, sub_x=sx, sub_y=sy)
        assert got.dtype == np.uint16
        assert np.abs(got.astype(np.int64) - want).max() <= 1
        got_f = to_rgb(planes, color, sub_x=sx, sub_y=sy)
        assert got_f.dtype == np.float32
        np.testing.assert_allclose(got_f, want_f, atol=2e-6 * max(1, np.abs(want_f).max()))


def test_float_output_is_not_clipped():
    color = ColorInfo(matrix=Matrix.BT709, range=Range.LIMITED, bit_depth=8)
    y = np.array([[0, 255]], np.uint8)
    c = np.array([[128]], np.uint8)
    rgb = to_rgb([y, c, c], color, sub_x=2, sub_y=1)
    assert rgb[0, 0, 0] < 0 and rgb[0, 1, 0] > 1  # super-black and super-white kept
    np.testing.assert_allclose(rgb[0, :, 1], [-16 / 219, 239 / 219], rtol=1e-6)


def _cube(n: int, step: int):
    codes = np.unique(np.r_[np.arange(0, 2**n, step), 2**n - 1])
    yy, bb, rr = np.meshgrid(codes, codes, codes, indexing="ij")
    dt = np.uint8 if n <= 8 else np.uint16
    return codes, [a.reshape(len(codes), -1).astype(dt) for a in (yy, bb, rr)]


@pytest.mark.parametrize(
    ("n", "step", "matrix", "rng"),
    [(8, 1, Matrix.BT709, Range.LIMITED), (8, 1, Matrix.BT470BG, Range.FULL),
     (10, 9, Matrix.BT2020_NCL, Range.LIMITED)],
)
def test_code_cube_no_wraparound(n, step, matrix, rng):
    codes, planes = _cube(n, step)
    k = len(codes)
    color = ColorInfo(matrix=matrix, range=rng, bit_depth=n)
    out = to_rgb_codes(planes, color, depth=16, sub_x=1, sub_y=1).reshape(k, k, k, 3)
    # Monotone: R' rises with Y' and Cr, B' with Y' and Cb, G' rises with Y' and falls with Cb, Cr.
    d = np.diff(out.astype(np.int32), axis=0)
    assert (d >= 0).all()
    assert (np.diff(out[..., 0].astype(np.int32), axis=2) >= 0).all()
    assert (np.diff(out[..., 2].astype(np.int32), axis=1) >= 0).all()
    assert (np.diff(out[..., 1].astype(np.int32), axis=1) <= 0).all()
    assert (np.diff(out[..., 1].astype(np.int32), axis=2) <= 0).all()
    # Clipped, not wrapped: the extreme corners saturate.
    assert tuple(out[-1, -1, -1][[0, 2]]) == (65535, 65535)
    assert tuple(out[0, 0, 0][[0, 2]]) == (0, 0)
    assert out[-1, 0, 0, 1] == 65535 and out[0, -1, -1, 1] == 0
    # And it is the textbook value (strided sample to keep the reference cheap).
    sel = (slice(None, None, 5),) * 3
    sub = [p.reshape(k, k, k)[sel].reshape(-1, 1) for p in planes]
    y, cb, cr = (ref_working(sub[0], n, rng, False), ref_working(sub[1], n, rng, True),
                 ref_working(sub[2], n, rng, True))
    rgb = np.einsum("ij,jhw->hwi", ref_decode_matrix(matrix), np.stack([y, cb, cr]))
    want = np.round(np.clip(rgb, 0, 1) * 65535).reshape(-1, 3)
    assert np.abs(out[sel].reshape(-1, 3).astype(np.int64) - want).max() <= 1


@pytest.mark.parametrize("n", list(range(1, 17)))
@pytest.mark.parametrize("rng", [Range.LIMITED, Range.FULL])
def test_codes_round_trip_every_depth(n, rng):
    codes = np.arange(2**n, dtype=np.uint8 if n <= 8 else np.uint16)
    for chroma in (False, True):
        w = codes_to_working(codes, bit_depth=n, range=rng, chroma=chroma)
        assert w.dtype == np.float32 and np.all(np.diff(w) > 0)
        back = working_to_codes(w, bit_depth=n, range=rng, chroma=chroma)
        assert back.dtype == codes.dtype
        np.testing.assert_array_equal(back, codes)


def test_working_to_codes_rounds_and_clamps():
    v = np.array([-0.3, 0.0, 0.5 / 219, 0.49 / 219, 1.0, 1.7])
    got = working_to_codes(v, bit_depth=8, range=Range.LIMITED)
    np.testing.assert_array_equal(got, [0, 16, 17, 16, 235, 255])


def test_range_constants_scale_with_depth():
    assert range_constants(10, Range.LIMITED) == (64.0, 876.0, 512.0, 896.0)
    assert range_constants(12, Range.FULL) == (0.0, 4095.0, 2048.0, 4095.0)
    # 10-bit studio white/black/neutral chroma → exactly 1, 0, 0 (Overmix gives 253/254/253).
    w = codes_to_working(np.array([940, 64]), bit_depth=10, range=Range.LIMITED)
    c = codes_to_working(np.array([512]), bit_depth=10, range=Range.LIMITED, chroma=True)
    assert list(w) == [1.0, 0.0] and c[0] == 0.0


@pytest.mark.parametrize("matrix", [*KRKB, Matrix.YCGCO, Matrix.RGB])
def test_rgb_ycbcr_round_trip(matrix):
    rs = np.random.default_rng(1)
    rgb = rs.random((5, 7, 3)).astype(np.float32)
    y, cb, cr = rgb_to_ycbcr(rgb, matrix)
    if matrix in KRKB:
        kr, kb = KRKB[matrix]
        np.testing.assert_allclose(
            y, kr * rgb[..., 0] + (1 - kr - kb) * rgb[..., 1] + kb * rgb[..., 2], atol=1e-6
        )
        assert np.abs(cb).max() <= 0.5 + 1e-6 and np.abs(cr).max() <= 0.5 + 1e-6
    np.testing.assert_allclose(ycbcr_to_rgb(y, cb, cr, matrix), rgb, atol=2e-6)


def test_reinterpret_repairs_wrong_matrix_screenshot():
    rs = np.random.default_rng(2)
    truth = rs.random((4, 4, 3)).astype(np.float32) * 0.8 + 0.1
    ycc = rgb_to_ycbcr(truth, Matrix.BT709)  # the HD video's Y'CbCr
    shown = ycbcr_to_rgb(*ycc, Matrix.BT470BG)  # a player decoded it as BT.601
    assert np.abs(shown - truth).max() > 0.02
    np.testing.assert_allclose(reinterpret(shown, Matrix.BT470BG, Matrix.BT709), truth, atol=1e-5)
    # and the reverse direction undoes it
    np.testing.assert_allclose(reinterpret(truth, Matrix.BT709, Matrix.BT470BG), shown, atol=1e-5)


def test_gray_rgb_alpha_linear_and_untagged():
    g = np.array([[16, 126, 235]], np.uint8)
    out = to_rgb([g], ColorInfo(matrix=Matrix.GRAY, bit_depth=8), family="gray")
    np.testing.assert_allclose(out[0, :, 0], [0, 110 / 219, 1], rtol=1e-6)
    assert np.all(out[..., 0] == out[..., 2])
    full = ColorInfo(matrix=Matrix.RGB, range=Range.FULL, bit_depth=16)
    r = np.array([[0, 65535]], np.uint16)
    b = np.array([[32768, 1]], np.uint16)
    a = np.array([[65535, 0]], np.uint16)
    out = to_rgb([r, r, b], full, family="rgb", alpha=a)
    assert out.shape == (1, 2, 4)
    np.testing.assert_allclose(out[0, :, 2], [32768 / 65535, 1 / 65535])
    np.testing.assert_array_equal(out[0, :, 3], [1, 0])
    codes = to_rgb_codes([r, r, b], full, family="rgb", alpha=a, depth=16)
    np.testing.assert_array_equal(codes[0], [[0, 0, 32768, 65535], [65535, 65535, 1, 0]])
    lin = to_rgb([g], ColorInfo(matrix=Matrix.GRAY, bit_depth=8), family="gray", linear=True)
    np.testing.assert_allclose(lin[0, 1, 0], (110 / 219) ** 2.4, rtol=1e-5)
    # UNSPECIFIED matrix: SD → BT.601.
    y = np.full((4, 4), 126, np.uint8)
    cr = np.full((2, 2), 200, np.uint8)
    cb = np.full((2, 2), 128, np.uint8)
    un = to_rgb([y, cb, cr], ColorInfo(matrix=Matrix.UNSPECIFIED, bit_depth=8))
    assert abs(un[0, 0, 0] - (110 / 219 + 1.402 * 72 / 224)) < 1e-5


@pytest.mark.parametrize("matrix", [Matrix.BT709, Matrix.BT2020_NCL, Matrix.SMPTE240M])
@pytest.mark.parametrize("n", [8, 10, 16])
@pytest.mark.parametrize("rng", [Range.LIMITED, Range.FULL])
def test_from_rgb_inverts_to_rgb_444(matrix, n, rng):
    from overmix.color.convert import from_rgb

    rs = np.random.default_rng(n)
    lo = 16 if rng == Range.LIMITED else 0
    s = 2 ** (n - 8)
    dt = np.uint8 if n <= 8 else np.uint16
    # Codes whose R'G'B' stays in gamut are recovered exactly (out-of-gamut ones get clipped).
    rgb0 = rs.uniform(0.02, 0.98, (9, 11, 3))
    kr, kb = KRKB[matrix]
    yw = kr * rgb0[..., 0] + (1 - kr - kb) * rgb0[..., 1] + kb * rgb0[..., 2]
    cbw = (rgb0[..., 2] - yw) / (2 * (1 - kb))
    crw = (rgb0[..., 0] - yw) / (2 * (1 - kr))
    if rng == Range.LIMITED:
        codes = [np.rint((16 + 219 * yw) * s), np.rint((128 + 224 * cbw) * s),
                 np.rint((128 + 224 * crw) * s)]
    else:
        top = 2**n - 1
        codes = [np.rint(yw * top), np.rint(cbw * top + 2 ** (n - 1)),
                 np.rint(crw * top + 2 ** (n - 1))]
    codes = [c.astype(dt) for c in codes]
    assert lo * s <= codes[0].min()
    color = ColorInfo(matrix=matrix, range=rng, bit_depth=n)
    rgb = to_rgb(codes, color, sub_x=1, sub_y=1)
    back = from_rgb(rgb, color, sub_x=1, sub_y=1)
    for a, b in zip(back, codes, strict=True):
        assert a.dtype == dt
        assert np.abs(a.astype(np.int64) - b).max() <= (1 if n == 16 else 0)


@pytest.mark.parametrize("loc", [ChromaLocation.LEFT, ChromaLocation.CENTER])
def test_from_rgb_420_flat_blocks_and_siting(loc):
    from overmix.color.convert import from_rgb

    color = ColorInfo(matrix=Matrix.BT709, range=Range.LIMITED, chroma_location=loc, bit_depth=10)
    rs = np.random.default_rng(3)
    blocks = rs.uniform(0.1, 0.9, (3, 4, 3))
    rgb = np.repeat(np.repeat(blocks, 8, 0), 8, 1)
    y, cb, cr = from_rgb(rgb, color)
    assert y.shape == (24, 32) and cb.shape == (12, 16)
    # chroma samples fully inside a block equal the block's Cb/Cr codes
    _, cbw, _ = rgb_to_ycbcr(blocks.astype(np.float32), Matrix.BT709)
    want = np.rint(512 + 896 * cbw.astype(np.float64))
    np.testing.assert_array_equal(cb[1:3, 1:3], want[0, 0])
    # round trip back to RGB inside the blocks within 10-bit precision
    rgb2 = to_rgb([y, cb, cr], color)
    assert np.abs(rgb2 - rgb)[2:6, 2:6].max() < 3 / 876

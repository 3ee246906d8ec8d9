"""The numpy Gauss-Newton sums against a direct per-pixel evaluation of their definition."""

from __future__ import annotations

import numpy as np
import pytest

from overmix.registration.refine import HIST_SCALE, NBINS, NSUMS, gn_accumulate


def _kernel(frac: float) -> np.ndarray:
    x = np.arange(12) - 5 - frac
    v = np.sinc(x) * np.sinc(x / 6)
    return (v / v.sum()).astype(np.float32)


def _sample(img: np.ndarray, y: int, x: int, ky: np.ndarray, kx: np.ndarray) -> float:
    """img resampled at integer (y, x) + kernel phase: taps y - 5 .. y + 6."""
    win = img[y - 5:y + 7, x - 5:x + 7].astype(np.float64)
    return float(ky.astype(np.float64) @ win @ kx.astype(np.float64))


@pytest.mark.parametrize("matmul", [True, False])
@pytest.mark.parametrize("use_valid,c2", [(0, 0.0), (1, 0.01)])
def test_gn_sums_match_definition(use_valid: int, c2: float, matmul: bool,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    if not matmul:  # the slice path of large tiles
        monkeypatch.setattr("overmix.registration.refine._MATMUL_MAX", 0)
    rng = np.random.default_rng(3)
    h, w = 48, 56
    a_img = rng.random((h, w)).astype(np.float32)
    b_img = rng.random((h, w)).astype(np.float32)
    a_valid = rng.random((h, w)) > 0.2
    b_valid = rng.random((h, w)) > 0.2
    tiles = np.array([[16, 14], [20, 30]], np.int64)
    band, cols = 5, 7
    off = (1, -1, -2, 0)  # a_off_y, a_off_x, b_off_y, b_off_x
    rnd = (0, 1, -1, 0)
    ks = (_kernel(0.3), _kernel(0.7), _kernel(0.1), _kernel(0.6))
    alpha, beta = 0.9, 0.01
    hist = np.zeros((2, NBINS), np.int64)
    got = gn_accumulate(a_img, b_img, a_valid, b_valid, use_valid, tiles, band, cols, *off, *rnd,
                        *ks, c2, hist, alpha, beta)

    want = np.zeros((2, NSUMS))
    want_hist = np.zeros((2, NBINS), np.int64)
    for t, (q0, qx0) in enumerate(tiles):
        def m(y: int, x: int) -> float:
            sa = _sample(a_img, y + off[0], x + off[1], ks[0], ks[1])
            sb = _sample(b_img, y + off[2], x + off[3], ks[2], ks[3])
            return 0.5 * (sa + alpha * sb + beta)

        for qy in range(q0, q0 + band):
            for qx in range(qx0, qx0 + cols):
                wgt = 1.0
                if use_valid and not (a_valid[qy + rnd[0], qx + rnd[1]]
                                      and b_valid[qy + rnd[2], qx + rnd[3]]):
                    wgt = 0.0
                a = _sample(a_img, qy + off[0], qx + off[1], ks[0], ks[1]) * wgt
                b = _sample(b_img, qy + off[2], qx + off[3], ks[2], ks[3]) * wgt
                gx = (m(qy, qx - 2) - 8 * m(qy, qx - 1) + 8 * m(qy, qx + 1)
                      - m(qy, qx + 2)) * wgt / 12
                gy = (m(qy - 2, qx) - 8 * m(qy - 1, qx) + 8 * m(qy + 1, qx)
                      - m(qy + 2, qx)) * wgt / 12
                r = a - alpha * b - beta * wgt
                if wgt > 0:
                    want_hist[t, min(int(abs(r) * HIST_SCALE), NBINS - 1)] += 1
                rw = 1 / (1 + r * r / c2) if c2 > 0 else 1.0
                want[t] += [rw * gx * gx, rw * gx * gy, rw * gy * gy, rw * gx * r, rw * gy * r,
                            wgt, a, b, a * a, b * b, a * b, r * r]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    assert np.abs(hist - want_hist).sum() <= 2  # a residual exactly on a bin edge may move

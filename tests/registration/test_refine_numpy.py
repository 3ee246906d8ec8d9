"""The numpy Gauss-Newton sums against a direct per-pixel evaluation of their definition."""

from __future__ import annotations

import numpy as np
import pytest

from overmix.registration.refine import HIST_SCALE, NBINS, NSUMS, gn_accumulate, gn_batch


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

    want, want_hist = _definition(a_img, b_img, a_valid if use_valid else None,
                                  b_valid if use_valid else None, tiles, band, cols, off, rnd,
                                  ks, c2, alpha, beta)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    assert np.abs(hist - want_hist).sum() <= 2  # a residual exactly on a bin edge may move


def _definition(a_img: np.ndarray, b_img: np.ndarray, a_valid: np.ndarray | None,
                b_valid: np.ndarray | None, tiles: np.ndarray, band: int, cols: int,
                off: tuple[int, ...], rnd: tuple[int, ...], ks: tuple[np.ndarray, ...],
                c2: float, alpha: float, beta: float) -> tuple[np.ndarray, np.ndarray]:
    """The sums and residual histogram per tile, pixel by pixel from their definition."""
    use_valid = a_valid is not None or b_valid is not None
    want = np.zeros((len(tiles), NSUMS))
    want_hist = np.zeros((len(tiles), NBINS), np.int64)
    for t, (q0, qx0) in enumerate(tiles):
        def m(y: int, x: int) -> float:
            sa = _sample(a_img, y + off[0], x + off[1], ks[0], ks[1])
            sb = _sample(b_img, y + off[2], x + off[3], ks[2], ks[3])
            return 0.5 * (sa + alpha * sb + beta)

        for qy in range(q0, q0 + band):
            for qx in range(qx0, qx0 + cols):
                wgt = 1.0
                if use_valid and not (
                        (a_valid is None or a_valid[qy + rnd[0], qx + rnd[1]])
                        and (b_valid is None or b_valid[qy + rnd[2], qx + rnd[3]])):
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
    return want, want_hist


@pytest.mark.parametrize("matmul", [True, False])
@pytest.mark.parametrize("layout", ["uneven", "even", "per tile"])
def test_batched_pairs_match_definition(matmul: bool, layout: str,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Three pairs in one call, each with its own shift (kernel phases and window offsets
    from d/2 and -d/2), masks, robust scale and gain: the sums and histogram of each pair
    are those of its tiles by the definition. ``layout``: the pairs have different tile
    counts (resampled a pair at a time), as many (all pairs in one product per pass, tiles
    side by side), or the tiles are resampled one at a time (the large tiles' way)."""
    if not matmul:
        monkeypatch.setattr("overmix.registration.refine._MATMUL_MAX", 0)
    if layout == "per tile":
        monkeypatch.setattr("overmix.registration.refine._GROUP_MAX", 0)
    rng = np.random.default_rng(5)
    h, w = 48, 60
    imgs = [rng.random((h, w)).astype(np.float32) for _ in range(3)]
    valid = [rng.random((h, w)) > 0.2, None, rng.random((h, w)) > 0.3]
    jobs = [(0, 1), (2, 1), (0, 2)]  # (a, b) image of each pair
    tiles = [np.array([[16, 14], [20, 30]], np.int64), np.array([[18, 22]], np.int64),
             np.array([[15, 16], [24, 28], [17, 36]], np.int64)]
    if layout == "even":
        tiles = [np.concatenate([t, t + 1])[:2] for t in tiles]
    shifts = np.array([[1.3, -0.7], [-2.45, 3.9], [0.5, 0.25]])  # (dx, dy)
    c2 = np.array([0.0, 0.01, 0.004])
    alpha, beta = np.array([1.0, 0.9, 1.1]), np.array([0.0, 0.01, -0.02])
    band, cols = 5, 7
    got, hist = gn_batch([imgs[a] for a, _ in jobs], [imgs[b] for _, b in jobs],
                         [valid[a] for a, _ in jobs], [valid[b] for _, b in jobs], tiles, band,
                         cols, shifts, 1.0, c2, alpha, beta)
    assert got.shape == (3, NSUMS) and hist.shape == (3, NBINS)
    for j, (ia, ib) in enumerate(jobs):
        dx, dy = shifts[j]
        half = (dy / 2, dx / 2, -dy / 2, -dx / 2)
        off = tuple(int(np.floor(v)) for v in half)
        rnd = tuple(int(np.round(v)) for v in half)
        ks = tuple(_kernel(v - o) for v, o in zip(half, off, strict=True))
        want, want_hist = _definition(imgs[ia], imgs[ib], valid[ia], valid[ib], tiles[j], band,
                                      cols, off, rnd, ks, c2[j], alpha[j], beta[j])
        np.testing.assert_allclose(got[j], want.sum(axis=0), rtol=2e-4, atol=1e-5)
        assert np.abs(hist[j] - want_hist.sum(axis=0)).sum() <= 2

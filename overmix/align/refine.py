"""Sums of the sub-pixel refinement: one symmetric Gauss-Newton step (numpy).

For a shift ``d`` the kernel resamples ``ref`` at ``q + d/2`` and ``mov`` at ``q - d/2`` on an
integer grid ``q`` (rows in bands), with separable kernels whose weights are the same for every
pixel (the fractional phase of a translation is constant), and accumulates the normal equations
of ``r = a - b`` against the gradient of ``m = (a + b) / 2`` (five-point derivative), plus the
sums needed for ZNCC and the residual.

All tiles are gathered into one ``(tiles, rows, cols)`` stack and each 1-D pass is a weighted
sum of ``taps`` shifted slices (numpy; no numba on the default stitch path). The passes run in
float32 like the resampled planes, the gradients, residuals and sums in float64.
"""

from __future__ import annotations

import numpy as np

__all__ = ["gn_accumulate", "NSUMS", "NBINS", "HIST_SCALE"]

# hxx, hxy, hyy, bx, by, n, sa, sb, saa, sbb, sab, srr
NSUMS = 12
# histogram of |residual|: NBINS bins of 1 / HIST_SCALE luma units
NBINS = 96
HIST_SCALE = 512.0


def _windows(img: np.ndarray, r0: np.ndarray, c0: np.ndarray, nr: int,
             nc: int) -> np.ndarray:
    """``img[r0[k]:r0[k] + nr, c0[k]:c0[k] + nc]`` for every tile k: (tiles, nr, nc)."""
    rows = r0[:, None, None] + np.arange(nr)[None, :, None]
    cols = c0[:, None, None] + np.arange(nc)[None, None, :]
    return img[rows, cols]


def _resample_tiles(img: np.ndarray, r0: np.ndarray, c0: np.ndarray, nrows: int, ncols: int,
                    ky: np.ndarray, kx: np.ndarray) -> np.ndarray:
    """Separable resampling of the tile windows starting at (r0, c0): float32
    (tiles, nrows, ncols), ``out[r, c] = Σ_ty Σ_tx ky[ty] kx[tx] img[r0 + r + ty, c0 + c + tx]``
    (x pass first, then y, each summed tap by tap in float32)."""
    taps = kx.shape[0]
    win = _windows(img, r0, c0, nrows + taps - 1, ncols + taps - 1)
    tmp = np.zeros((win.shape[0], nrows + taps - 1, ncols), np.float32)
    for t in range(taps):
        tmp += np.float32(kx[t]) * win[:, :, t:t + ncols]
    out = np.zeros((win.shape[0], nrows, ncols), np.float32)
    for t in range(taps):
        out += np.float32(ky[t]) * tmp[:, t:t + nrows, :]
    return out


def gn_accumulate(a_img: np.ndarray, b_img: np.ndarray, a_valid: np.ndarray,
                  b_valid: np.ndarray, use_valid: int, tiles: np.ndarray, band_rows: int,
                  cols: int, a_off_y: int, a_off_x: int, b_off_y: int, b_off_x: int,
                  a_round_y: int, a_round_x: int, b_round_y: int, b_round_x: int,
                  kya: np.ndarray, kxa: np.ndarray, kyb: np.ndarray, kxb: np.ndarray,
                  c2: float, hist: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """Sums of one Gauss-Newton step, one row per tile (shape (n_tiles, NSUMS), float64).

    Parameters
    ----------
    a_img, b_img : float32 (h, w)
        ref and mov planes.
    a_valid, b_valid : bool (h, w)
        Pixels whose resampling kernel stays within valid pixels (used if ``use_valid``).
    tiles : int64 (n_tiles, 2)
        First q-row and q-column of each tile; each tile has ``band_rows`` rows and ``cols``
        columns. The caller guarantees that the rows/columns +-2 around them, and the
        kernel taps around those, are inside the planes.
    a_off_y, a_off_x : int
        ``floor`` of ref's shift d/2 (so ref sample of q is at q + a_off + frac).
    b_off_y, b_off_x : int
        Same for mov's shift -d/2.
    a_round_y .. b_round_x : int
        Nearest-integer offsets used to look up the validity masks.
    kya, kxa, kyb, kxb : float32 (2R,)
        Separable kernel weights; tap t reads sample ``q + off - R + 1 + t``.
    c2 : float
        Squared scale of the robust (Cauchy) weight ``1 / (1 + r^2 / c2)`` of the normal
        equations, so pixels that do not follow the shift (animation, an unmasked overlay)
        count less; 0 = plain least squares. ZNCC and residual sums stay unweighted.
    hist : int64 (n_tiles, NBINS)
        Filled with a histogram of ``|r|`` in bins of 1/HIST_SCALE (last bin: overflow), for
        the robust scale of the next step.
    alpha, beta : float
        Gain and offset that map mov's values onto ref's (fades, flashes): the residual is
        ``r = a - (alpha * b + beta)`` and the gradient that of ``(a + alpha * b + beta) / 2``.
        The sums ``sb``, ``sbb``, ``sab`` stay on the raw ``b`` (to estimate them).
    """
    nb = tiles.shape[0]
    taps = kya.shape[0]
    R = taps // 2
    rows_s = band_rows + 4
    cols_s = cols + 4
    q0 = tiles[:, 0].astype(np.int64)
    qx0 = tiles[:, 1].astype(np.int64)
    sa_ = _resample_tiles(a_img, q0 - 2 + a_off_y - R + 1, qx0 - 2 + a_off_x - R + 1,
                          rows_s, cols_s, kya, kxa)
    sb_ = _resample_tiles(b_img, q0 - 2 + b_off_y - R + 1, qx0 - 2 + b_off_x - R + 1,
                          rows_s, cols_s, kyb, kxb)
    mm = (0.5 * (sa_ + alpha * sb_.astype(np.float64) + beta)).astype(np.float32)
    mm = mm.astype(np.float64)
    inner = (slice(None), slice(2, rows_s - 2), slice(2, cols_s - 2))
    if use_valid:
        ok = _windows(a_valid, q0 + a_round_y, qx0 + a_round_x, band_rows, cols) \
            & _windows(b_valid, q0 + b_round_y, qx0 + b_round_x, band_rows, cols)
        wgt = ok.astype(np.float64)
    else:
        ok = None
        wgt = np.ones((nb, band_rows, cols))
    a = sa_[inner] * wgt
    b = sb_[inner] * wgt
    ny, nx = rows_s - 2, cols_s - 2  # five-point derivative (Fornberg) along x and y of m
    gx = (mm[:, 2:ny, 0:nx - 2] - 8.0 * mm[:, 2:ny, 1:nx - 1] + 8.0 * mm[:, 2:ny, 3:nx + 1]
          - mm[:, 2:ny, 4:nx + 2]) * (wgt / 12.0)
    gy = (mm[:, 0:ny - 2, 2:nx] - 8.0 * mm[:, 1:ny - 1, 2:nx] + 8.0 * mm[:, 3:ny + 1, 2:nx]
          - mm[:, 4:ny + 2, 2:nx]) * (wgt / 12.0)
    r = a - alpha * b - beta * wgt
    hb = np.minimum((np.abs(r) * HIST_SCALE).astype(np.int64), NBINS - 1)
    hb += (np.arange(nb, dtype=np.int64) * NBINS)[:, None, None]
    hist += np.bincount(hb.ravel() if ok is None else hb[ok],
                        minlength=nb * NBINS).reshape(nb, NBINS).astype(hist.dtype)
    rw = 1.0 / (1.0 + r * r / c2) if c2 > 0.0 else np.ones_like(r)
    out = np.empty((nb, NSUMS))
    ax = (1, 2)
    rgx = rw * gx
    rgy = rw * gy
    out[:, 0] = (rgx * gx).sum(axis=ax)
    out[:, 1] = (rgx * gy).sum(axis=ax)
    out[:, 2] = (rgy * gy).sum(axis=ax)
    out[:, 3] = (rgx * r).sum(axis=ax)
    out[:, 4] = (rgy * r).sum(axis=ax)
    out[:, 5] = wgt.sum(axis=ax)
    out[:, 6] = a.sum(axis=ax)
    out[:, 7] = b.sum(axis=ax)
    out[:, 8] = (a * a).sum(axis=ax)
    out[:, 9] = (b * b).sum(axis=ax)
    out[:, 10] = (a * b).sum(axis=ax)
    out[:, 11] = (r * r).sum(axis=ax)
    return out

"""Numba kernel of the sub-pixel refinement: one symmetric Gauss-Newton step.

For a shift ``d`` the kernel resamples ``ref`` at ``q + d/2`` and ``mov`` at ``q - d/2`` on an
integer grid ``q`` (rows in bands), with separable kernels whose weights are the same for every
pixel (the fractional phase of a translation is constant), and accumulates the normal equations
of ``r = a - b`` against the gradient of ``m = (a + b) / 2`` (five-point derivative), plus the
sums needed for ZNCC and the residual.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["gn_accumulate", "NSUMS", "NBINS", "HIST_SCALE"]

# hxx, hxy, hyy, bx, by, n, sa, sb, saa, sbb, sab, srr
NSUMS = 12
# histogram of |residual|: NBINS bins of 1 / HIST_SCALE luma units
NBINS = 96
HIST_SCALE = 512.0


@njit(cache=True, inline="always", fastmath=True)
def _hpass(img: np.ndarray, row0: int, col0: int, nrows: int, ncols: int, k: np.ndarray,
           out: np.ndarray) -> None:
    taps = k.shape[0]
    for r in range(nrows):
        src = img[row0 + r]
        dst = out[r]
        for c in range(ncols):
            dst[c] = 0.0
        for t in range(taps):
            kt = k[t]
            base = col0 + t
            for c in range(ncols):
                dst[c] += kt * src[base + c]


@njit(cache=True, inline="always", fastmath=True)
def _vpass(tmp: np.ndarray, nrows: int, ncols: int, k: np.ndarray, out: np.ndarray) -> None:
    taps = k.shape[0]
    for r in range(nrows):
        for c in range(ncols):
            out[r, c] = 0.0
        for t in range(taps):
            kt = k[t]
            row = tmp[r + t]
            for c in range(ncols):
                out[r, c] += kt * row[c]


@njit(cache=True, fastmath=True, nogil=True)
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
    out = np.zeros((nb, NSUMS))
    rows_s = band_rows + 4
    cols_s = cols + 4
    for bi in range(nb):
        q0 = tiles[bi, 0]
        qx0 = tiles[bi, 1]
        tmp = np.empty((rows_s + taps - 1, cols_s), np.float32)
        sa_ = np.empty((rows_s, cols_s), np.float32)
        sb_ = np.empty((rows_s, cols_s), np.float32)
        mm = np.empty((rows_s, cols_s), np.float32)
        _hpass(a_img, q0 - 2 + a_off_y - R + 1, qx0 - 2 + a_off_x - R + 1,
               rows_s + taps - 1, cols_s, kxa, tmp)
        _vpass(tmp, rows_s, cols_s, kya, sa_)
        _hpass(b_img, q0 - 2 + b_off_y - R + 1, qx0 - 2 + b_off_x - R + 1,
               rows_s + taps - 1, cols_s, kxb, tmp)
        _vpass(tmp, rows_s, cols_s, kyb, sb_)
        for i in range(rows_s):
            for j in range(cols_s):
                mm[i, j] = 0.5 * (sa_[i, j] + alpha * sb_[i, j] + beta)
        hxx = hxy = hyy = bx = by = n = 0.0
        s_a = s_b = s_aa = s_bb = s_ab = s_rr = 0.0
        for i in range(2, rows_s - 2):
            qy = q0 + i - 2
            m0 = mm[i]
            mu1, mu2, md1, md2 = mm[i - 1], mm[i - 2], mm[i + 1], mm[i + 2]
            ra, rb = sa_[i], sb_[i]
            for j in range(2, cols_s - 2):
                wgt = 1.0
                if use_valid:
                    qx = qx0 + j - 2
                    if not (a_valid[qy + a_round_y, qx + a_round_x]
                            and b_valid[qy + b_round_y, qx + b_round_x]):
                        wgt = 0.0
                a = ra[j] * wgt
                b = rb[j] * wgt
                gx = (m0[j - 2] - 8.0 * m0[j - 1] + 8.0 * m0[j + 1] - m0[j + 2]) * (wgt / 12.0)
                gy = (mu2[j] - 8.0 * mu1[j] + 8.0 * md1[j] - md2[j]) * (wgt / 12.0)
                r = a - alpha * b - beta * wgt
                if wgt > 0.0:
                    hb = int(abs(r) * HIST_SCALE)
                    hist[bi, min(hb, NBINS - 1)] += 1
                rw = 1.0 / (1.0 + r * r / c2) if c2 > 0.0 else 1.0
                hxx += rw * gx * gx
                hxy += rw * gx * gy
                hyy += rw * gy * gy
                bx += rw * gx * r
                by += rw * gy * r
                n += wgt
                s_a += a
                s_b += b
                s_aa += a * a
                s_bb += b * b
                s_ab += a * b
                s_rr += r * r
        o = out[bi]
        o[0] = hxx
        o[1] = hxy
        o[2] = hyy
        o[3] = bx
        o[4] = by
        o[5] = n
        o[6] = s_a
        o[7] = s_b
        o[8] = s_aa
        o[9] = s_bb
        o[10] = s_ab
        o[11] = s_rr
    return out

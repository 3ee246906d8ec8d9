"""Fused Y'CbCr → R'G'B' numba kernel of :mod:`overmix.color.convert` (``engine="numba"``).

Kept apart so that importing :mod:`overmix.color.convert` (and the stitch output path, which
uses the numpy engine) does not import numba.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["ycbcr_kernel"]


@njit(cache=True, nogil=True)
def ycbcr_kernel(yp, cbp, crp, iy, wy, ix, wx, consts, m, qmax, out):  # pragma: no cover
    """Range removal, separable chroma interpolation and the matrix in one pass per row.

    ``out`` is float32 (``qmax == 0``: unclipped working R'G'B') or an integer array
    (``qmax > 0``: ``floor(clip(v, 0, 1) · qmax + 0.5)``).
    """
    h, w = yp.shape
    cw = cbp.shape[1]
    y_off, inv_ys, c_off, inv_cs = consts[0], 1.0 / consts[1], consts[2], 1.0 / consts[3]
    m00, m01, m02 = m[0, 0], m[0, 1], m[0, 2]
    m10, m11, m12 = m[1, 0], m[1, 1], m[1, 2]
    m20, m21, m22 = m[2, 0], m[2, 1], m[2, 2]
    ty = iy.shape[1]
    tx = ix.shape[1]
    rb = np.empty(cw, dtype=np.float64)
    rr = np.empty(cw, dtype=np.float64)
    for i in range(h):
        # Vertical chroma pass: the (interpolated) chroma row for luma row i, as working values.
        for k in range(cw):
            rb[k] = 0.0
            rr[k] = 0.0
        for t in range(ty):
            wt = wy[i, t]
            if wt != 0.0:
                r = iy[i, t]
                for k in range(cw):
                    rb[k] += wt * cbp[r, k]
                    rr[k] += wt * crp[r, k]
        for k in range(cw):
            rb[k] = (rb[k] - c_off) * inv_cs
            rr[k] = (rr[k] - c_off) * inv_cs
        for j in range(w):
            cb = 0.0
            cr = 0.0
            for t in range(tx):
                wt = wx[j, t]
                cb += wt * rb[ix[j, t]]
                cr += wt * rr[ix[j, t]]
            yv = (yp[i, j] - y_off) * inv_ys
            r = m00 * yv + m01 * cb + m02 * cr
            g = m10 * yv + m11 * cb + m12 * cr
            b = m20 * yv + m21 * cb + m22 * cr
            if qmax > 0:
                r = min(max(r, 0.0), 1.0) * qmax + 0.5
                g = min(max(g, 0.0), 1.0) * qmax + 0.5
                b = min(max(b, 0.0), 1.0) * qmax + 0.5
                out[i, j, 0] = int(r)
                out[i, j, 1] = int(g)
                out[i, j, 2] = int(b)
            else:
                out[i, j, 0] = r
                out[i, j, 1] = g
                out[i, j, 2] = b

"""Numba kernel of the 2-D warp gather of :mod:`overmix.render.transform` (rotated frames).

Kept apart and imported only when a rotated frame is rendered, so the default renders (numpy
only) never import numba (its compiler costs about 100 MB of resident memory).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["KERNEL_IDS", "gather_2d"]

# kernel name -> (id, taps) as in overmix.render.resample.KERNELS
KERNEL_IDS = {"cubic": 0, "lanczos3": 1, "linear": 2}


@njit(cache=True, nogil=True)
def _kernel(kind, x):  # pragma: no cover - numba
    """Keys' cubic convolution (a = -0.5), Lanczos-3 or the triangle at signed distance x
    (:func:`overmix.render.transform._kernel_at`)."""
    ax = abs(x)
    if kind == 0:
        a = -0.5
        a2 = ax * ax
        a3 = a2 * ax
        if ax < 1:
            return (a + 2) * a3 - (a + 3) * a2 + 1
        if ax < 2:
            return a * a3 - 5 * a * a2 + 8 * a * ax - 4 * a
        return 0.0
    if kind == 1:
        if ax < 3:
            if x == 0.0:
                return 1.0
            px = math.pi * x
            return math.sin(px) / px * (math.sin(px / 3) / (px / 3))
        return 0.0
    return max(1.0 - ax, 0.0)


@njit(cache=True, nogil=True)
def _weights(kind, taps, stretch, pos, n, idx, w, tmp):  # pragma: no cover - numba
    """Clamped tap indices and normalised float32 weights at ``pos`` along an axis of ``n``
    samples (:func:`overmix.render.transform._axis_weights`)."""
    first = int(math.floor(pos)) - (taps // 2 - 1)
    s = 0.0
    for t in range(taps):
        k = _kernel(kind, (pos - (first + t)) / stretch)
        tmp[t] = k
        s += k
    if s == 0.0:
        s = 1.0
    for t in range(taps):
        w[t] = np.float32(tmp[t] / s)
        i = first + t
        idx[t] = 0 if i < 0 else (n - 1 if i > n - 1 else i)


@njit(cache=True, nogil=True)
def gather_2d(src, coef, r0, r1, lo, hi, kind, taps, stretch, out):  # pragma: no cover
    """out[I - r0, J - lo] = Σ_ty wv[ty] Σ_tx wu[tx] src[iv[ty], iu[tx]] for canvas rows
    [r0, r1) and columns [lo, hi), at source position ``u = u0 + uJ·J + uI·I``,
    ``v = v0 + vJ·J + vI·I`` (``coef``), in float32 in the order of the numpy gather (x taps
    summed per y tap, then scaled and summed over y taps)."""
    u0, uj, ui, v0, vj, vi = coef[0], coef[1], coef[2], coef[3], coef[4], coef[5]
    nr, nc = src.shape
    iu = np.empty(taps, np.int64)
    iv = np.empty(taps, np.int64)
    wu = np.empty(taps, np.float32)
    wv = np.empty(taps, np.float32)
    tmp = np.empty(taps, np.float64)
    for r in range(r0, r1):
        for c in range(lo, hi):
            u = u0 + uj * c + ui * r
            v = v0 + vj * c + vi * r
            _weights(kind, taps, stretch, u, nc, iu, wu, tmp)
            _weights(kind, taps, stretch, v, nr, iv, wv, tmp)
            acc = np.float32(0.0)
            for ty in range(taps):
                line = src[iv[ty]]
                row = np.float32(0.0)
                for tx in range(taps):
                    row += np.float32(line[iu[tx]]) * wu[tx]
                acc += row * wv[ty]
            out[r - r0, c - lo] = acc

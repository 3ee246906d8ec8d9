"""Numba kernels of the statistics renders (median, min/max, winsorized, sigma-clip,
min-/max-luma, difference) of :mod:`overmix.render.stack`.

Kept apart so the default ``average`` render (numpy only) never imports numba: importing it
and starting its compiler costs about 100 MB of resident memory.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

__all__ = ["count_var", "pick_by_luma", "reduce_kernel"]

@njit(cache=True, nogil=True)
def _count_var(stack, count, i0, i1):  # pragma: no cover - numba
    """count[i, j] = non-NaN values; returns (Σ per-pixel variance, pixels) over pixels with
    ≥ 2 values, for rows i0..i1-1. Reads the stack row by row (contiguous) to stay cache
    friendly."""
    k, h, w = stack.shape
    s1 = np.zeros(w)
    s2 = np.zeros(w)
    c = np.zeros(w, np.int64)
    vsum = 0.0
    vn = 0
    for i in range(i0, i1):
        s1[:] = 0.0
        s2[:] = 0.0
        c[:] = 0
        for t in range(k):
            for j in range(w):
                v = stack[t, i, j]
                if v == v:
                    s1[j] += v
                    s2[j] += v * v
                    c[j] += 1
        for j in range(w):
            count[i, j] = c[j]
            if c[j] >= 2:
                m = s1[j] / c[j]
                var = s2[j] / c[j] - m * m
                vsum += var if var > 0 else 0.0
                vn += 1
    return vsum, vn


@njit(cache=True, nogil=True)
def _select(b, n, kth):  # pragma: no cover - numba
    """Partial sort of b[:n] in place so that b[kth] is the kth smallest (Hoare quickselect,
    median-of-3 pivot); everything before it is ≤ it."""
    lo, hi = 0, n - 1
    while hi > lo:
        mid = (lo + hi) // 2
        # median of three to b[mid]
        if b[mid] < b[lo]:
            b[mid], b[lo] = b[lo], b[mid]
        if b[hi] < b[lo]:
            b[hi], b[lo] = b[lo], b[hi]
        if b[hi] < b[mid]:
            b[hi], b[mid] = b[mid], b[hi]
        pivot = b[mid]
        i, j = lo, hi
        while i <= j:
            while b[i] < pivot:
                i += 1
            while b[j] > pivot:
                j -= 1
            if i <= j:
                b[i], b[j] = b[j], b[i]
                i += 1
                j -= 1
        if kth <= j:
            hi = j
        elif kth >= i:
            lo = i
        else:
            break
    return b[kth]


@njit(cache=True, nogil=True)
def _reduce_kernel(stack, mode, param, out, i0, i1):  # pragma: no cover - numba
    k, h, w = stack.shape
    rows = np.empty((w, max(k, 1)), np.float32)  # row i of every frame, compacted per pixel
    cnt = np.zeros(w, np.int64)
    for i in range(i0, i1):
        cnt[:] = 0
        for t in range(k):
            for j in range(w):
                v = stack[t, i, j]
                if v == v:
                    rows[j, cnt[j]] = v
                    cnt[j] += 1
        for j in range(w):
            n = cnt[j]
            b = rows[j]
            if n == 0:
                out[i, j] = np.nan
                continue
            if mode == 1 or mode == 2:
                m = b[0]
                for t in range(1, n):
                    if (mode == 1 and b[t] < m) or (mode == 2 and b[t] > m):
                        m = b[t]
                out[i, j] = m
            elif mode == 5:
                s = 0.0
                for t in range(n):
                    s += b[t]
                mean = s / n
                d = 0.0
                for t in range(n):
                    d += abs(b[t] - mean)
                out[i, j] = d / n
            elif mode == 0:
                out[i, j] = _median(b, n)
            elif mode == 3:
                g = int(param * n)
                lo = _select(b, n, g)
                hi = _select(b, n, n - 1 - g)
                s = 0.0
                for t in range(n):
                    s += min(max(b[t], lo), hi)
                out[i, j] = s / n
            else:
                out[i, j] = _sigma_clip(b, n, param)


@njit(cache=True, nogil=True)
def _median(b, n):  # pragma: no cover - numba
    """Median of b[:n] (b reordered): the mean of the two middle values when n is even."""
    hi = _select(b, n, n // 2)
    if n % 2 == 0:
        lo = b[0]
        for t in range(1, n // 2):
            if b[t] > lo:
                lo = b[t]
        return 0.5 * (lo + hi)
    return hi


@njit(cache=True, nogil=True)
def _sigma_clip(b, n, param):  # pragma: no cover - numba
    """Mean of b[:n] after iterative clipping at ``param`` σ around the median (b reordered).
    O(n) per iteration: quickselect for the median, the kept values compacted in place."""
    m = n
    for _ in range(5):
        if m < 3:
            break
        med = _median(b, m)
        s = 0.0
        ss = 0.0
        for t in range(m):
            s += b[t]
            ss += b[t] * b[t]
        mu = s / m
        sd = np.sqrt(max(ss / m - mu * mu, 0.0))
        lo, hi = med - param * sd, med + param * sd
        nm = 0
        for t in range(m):
            if lo <= b[t] <= hi:
                b[nm] = b[t]
                nm += 1
        if nm == m or nm == 0:  # nm == 0 cannot happen (values at the median are kept)
            break
        m = nm
    s = 0.0
    for t in range(m):
        s += b[t]
    return s / m


@njit(cache=True, nogil=True)
def _pick_by_luma(ly, cb, cr, sx, sy, ox, oy, sign, out_cb, out_cr, i0,
                  i1):  # pragma: no cover - numba
    k, lh, lw = ly.shape
    _, h, w = cb.shape
    for i in range(i0, i1):
        y = sy * i + oy
        y0 = int(np.floor(y))
        fy = y - y0
        ya = min(max(y0, 0), lh - 1)
        yb = min(max(y0 + 1, 0), lh - 1)
        for j in range(w):
            x = sx * j + ox
            x0 = int(np.floor(x))
            fx = x - x0
            xa = min(max(x0, 0), lw - 1)
            xb = min(max(x0 + 1, 0), lw - 1)
            best = np.inf
            pick = -1
            for t in range(k):
                c = cb[t, i, j]
                if c != c:
                    continue
                v = ((1 - fy) * ((1 - fx) * ly[t, ya, xa] + fx * ly[t, ya, xb])
                     + fy * ((1 - fx) * ly[t, yb, xa] + fx * ly[t, yb, xb]))
                if v != v:  # a neighbour is outside this frame: use the nearest luma sample
                    v = ly[t, ya if fy < 0.5 else yb, xa if fx < 0.5 else xb]
                    if v != v:
                        continue
                v = sign * v
                if v < best:
                    best = v
                    pick = t
            if pick >= 0:
                out_cb[i, j] = cb[pick, i, j]
                out_cr[i, j] = cr[pick, i, j]


# ----------------------------------------------------------------------------- threads
# The kernels release the GIL (nogil) and every output row depends only on its own input
# rows, so the wrappers below cut the rows into one range per core and run them in threads:
# the same values as one call (only the variance sum is added in two parts).

_MIN_ROWS = 16  # fewer rows than this per thread are not worth a thread


def _row_ranges(h: int) -> list[tuple[int, int]]:
    parts = max(1, min(os.cpu_count() or 1, 4, h // _MIN_ROWS))
    cuts = [h * p // parts for p in range(parts + 1)]
    return [(a, b) for a, b in zip(cuts[:-1], cuts[1:], strict=True) if b > a]


def _run_rows(fn, h, *args):
    """``fn(*args, i0, i1)`` over row ranges covering ``[0, h)``, in threads; the results."""
    ranges = _row_ranges(h)
    if len(ranges) <= 1:
        return [fn(*args, 0, h)]
    with ThreadPoolExecutor(len(ranges)) as pool:
        return list(pool.map(lambda r: fn(*args, r[0], r[1]), ranges))


def count_var(stack: np.ndarray, count: np.ndarray) -> tuple[float, int]:
    """count[i, j] = non-NaN values of ``stack[:, i, j]`` (stack (k, h, w) float32); returns
    (Σ per-pixel variance, pixels) over the pixels with ≥ 2 values."""
    parts = _run_rows(_count_var, stack.shape[1], stack, count)
    return float(sum(p[0] for p in parts)), int(sum(p[1] for p in parts))


def reduce_kernel(stack: np.ndarray, mode: int, param: float, out: np.ndarray) -> None:
    """out[i, j] = the statistic ``mode`` of the non-NaN values of ``stack[:, i, j]``
    (0 median, 1 min, 2 max, 3 winsorized, 4 sigma-clip, 5 mean absolute deviation)."""
    _run_rows(_reduce_kernel, stack.shape[1], stack, mode, param, out)


def pick_by_luma(ly: np.ndarray, cb: np.ndarray, cr: np.ndarray, sx: float, sy: float,
                 ox: float, oy: float, sign: float, out_cb: np.ndarray,
                 out_cr: np.ndarray) -> None:
    """Each chroma sample from the frame whose Y' at its position is the min (sign 1) or max
    (sign -1)."""
    _run_rows(_pick_by_luma, cb.shape[1], ly, cb, cr, sx, sy, ox, oy, sign, out_cb, out_cr)

"""Sub-pixel resampling of a placed frame plane onto a canvas plane (separable, numba).

The motion is a pure translation, so along each axis every canvas sample sees the frame at the
same fractional phase (or, for ``--chroma full``, at one of ``step`` phases). An
:class:`AxisPlan` holds, per canvas sample along one axis, the first source tap and the tap
weights; :func:`resample_plane` applies the x plan to the needed source rows and then the y
plan (two 1-D passes, numba loops).

Kernels
-------
``cubic`` (default)
    Keys' cubic convolution with a = -0.5 (Catmull-Rom), 4 taps. Interpolating: at phase 0 the
    weights are (0, 1, 0, 0), so whole-pixel offsets reproduce the frame exactly.
``lanczos3``
    ``sinc(x)·sinc(x/3)`` for ``|x| < 3``, 6 taps, normalised to sum 1 (also a delta at 0).
``linear``
    Triangle, 2 taps (used for masks).

Coverage
--------
A frame covers the luma area ``[x_k - 0.5 + b, x_k + W - 0.5 - b]`` (its pixels' footprints,
minus a ``border`` of b pixels). A canvas sample stands for its own footprint (``step`` luma
pixels wide); its coverage weight along an axis is the fraction of that footprint inside the
frame's area, so weights fade over one sample at the frame edges (soft seams, and no canvas
column is lost to a 0.3-pixel offset). Samples whose taps reach past the frame edge take the
edge sample (clamping), i.e. at most half a sample of extrapolation. The 2-D weight is the
product of the two axis weights.

References
----------
R. Keys, "Cubic convolution interpolation for digital image processing", IEEE TASSP 29(6),
1981. doi:10.1109/TASSP.1981.1163711
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from overmix.errors import UsageError
from overmix.render.canvas import PlaneGrid

__all__ = ["KERNELS", "AxisPlan", "accumulate", "axis_plan", "kernel_weights",
           "resample_plane", "splat"]

KERNELS: dict[str, int] = {"cubic": 4, "lanczos3": 6, "linear": 2}  # taps

_SNAP = 1e-6  # phases this close to a whole sample are whole (float noise in offsets)


def kernel_weights(kernel: str, frac: np.ndarray) -> np.ndarray:
    """Tap weights for fractional phases ``frac`` in [0, 1).

    Returns float64 (n, taps); tap t sits at source index ``floor(u) - (taps/2 - 1) + t``.
    """
    taps = KERNELS.get(kernel)
    if taps is None:
        raise UsageError(f"unknown kernel {kernel!r} (use {', '.join(KERNELS)})")
    rel = np.arange(taps, dtype=np.float64) - (taps // 2 - 1)  # tap positions rel. floor(u)
    x = np.abs(np.asarray(frac, dtype=np.float64)[:, None] - rel[None, :])
    if kernel == "cubic":
        a = -0.5  # Keys (1981) cubic convolution, a = -0.5 (Catmull-Rom)
        w = np.where(x < 1, (a + 2) * x**3 - (a + 3) * x**2 + 1,
                     np.where(x < 2, a * x**3 - 5 * a * x**2 + 8 * a * x - 4 * a, 0.0))
    elif kernel == "lanczos3":
        w = np.where(x < 3, np.sinc(x) * np.sinc(x / 3), 0.0)
        w /= w.sum(axis=1, keepdims=True)
    else:
        w = np.clip(1 - x, 0, None)
    return w


@dataclass(frozen=True)
class AxisPlan:
    """How the canvas samples ``[lo, hi)`` along one axis read one frame plane.

    Attributes
    ----------
    lo, hi : int
        Canvas sample range the frame touches (coverage > 0).
    start : ndarray int64 (hi - lo,)
        Unclamped source index of each sample's first tap.
    weights : ndarray float32 (hi - lo, taps)
    cover : ndarray float32 (hi - lo,)
        Coverage weight in (0, 1].
    n_src : int
        Source samples along this axis (taps are clamped to [0, n_src - 1]).
    """

    lo: int
    hi: int
    start: np.ndarray
    weights: np.ndarray
    cover: np.ndarray
    n_src: int

    def sub(self, a: int, b: int) -> AxisPlan | None:
        """The part of the plan inside canvas samples ``[a, b)``, or None if empty."""
        lo, hi = max(a, self.lo), min(b, self.hi)
        if lo >= hi:
            return None
        s = slice(lo - self.lo, hi - self.lo)
        return AxisPlan(lo, hi, self.start[s], self.weights[s], self.cover[s], self.n_src)

    @property
    def src_range(self) -> tuple[int, int]:
        """Inclusive clamped source index range the taps read."""
        taps = self.weights.shape[1]
        a = int(np.clip(self.start.min(), 0, self.n_src - 1))
        b = int(np.clip(self.start.max() + taps - 1, 0, self.n_src - 1))
        return a, b


def axis_plan(dst0: float, dst_step: int, dst_n: int, src0: float, src_step: int, src_n: int,
              area: tuple[float, float], kernel: str = "cubic") -> AxisPlan | None:
    """Plan one axis: canvas samples at ``dst0 + dst_step·j`` reading source samples at
    ``src0 + src_step·u`` (both in frame-0 luma coordinates), with the frame covering the
    luma interval ``area``. None when the frame does not reach the canvas along this axis.
    """
    j = np.arange(dst_n, dtype=np.float64)
    pos = dst0 + dst_step * j
    half = dst_step / 2.0
    cover = (np.minimum(pos + half, area[1]) - np.maximum(pos - half, area[0])) / dst_step
    (idx,) = np.nonzero(cover > 1e-6)
    if idx.size == 0:
        return None
    lo, hi = int(idx[0]), int(idx[-1]) + 1
    u = (pos[lo:hi] - src0) / src_step
    base = np.floor(u)
    frac = u - base
    up = frac > 1 - _SNAP
    base[up] += 1
    frac[up] = 0.0
    frac[frac < _SNAP] = 0.0
    taps = KERNELS[kernel]
    start = base.astype(np.int64) - (taps // 2 - 1)
    w = kernel_weights(kernel, frac).astype(np.float32)
    return AxisPlan(lo, hi, start, w, np.clip(cover[lo:hi], 0, 1).astype(np.float32), src_n)


def plan_axes(dst: PlaneGrid, src: PlaneGrid, area_x: tuple[float, float],
              area_y: tuple[float, float], kernel: str = "cubic",
              ) -> tuple[AxisPlan, AxisPlan] | None:
    """Both axis plans for a frame plane (grid ``src``) onto a canvas plane (grid ``dst``)."""
    px = axis_plan(dst.x0, dst.step_x, dst.cols, src.x0, src.step_x, src.cols, area_x, kernel)
    if px is None:
        return None
    py = axis_plan(dst.y0, dst.step_y, dst.rows, src.y0, src.step_y, src.rows, area_y, kernel)
    if py is None:
        return None
    return px, py


@njit(cache=True)
def _pass_x(src, r0, r1, start, w, out):  # pragma: no cover - numba
    width = src.shape[1]
    n, taps = w.shape
    for r in range(r0, r1 + 1):
        for j in range(n):
            s = start[j]
            acc = 0.0
            if s >= 0 and s + taps <= width:
                for t in range(taps):
                    acc += w[j, t] * src[r, s + t]
            else:
                for t in range(taps):
                    k = s + t
                    k = 0 if k < 0 else (width - 1 if k >= width else k)
                    acc += w[j, t] * src[r, k]
            out[r - r0, j] = acc


@njit(cache=True)
def _pass_y(tmp, r0, n_src, start, w, out):  # pragma: no cover - numba
    n, taps = w.shape
    nx = tmp.shape[1]
    for i in range(n):
        for j in range(nx):
            out[i, j] = 0.0
        for t in range(taps):
            wt = w[i, t]
            if wt == 0.0:
                continue
            k = start[i] + t
            k = 0 if k < 0 else (n_src - 1 if k >= n_src else k)
            k -= r0
            for j in range(nx):
                out[i, j] += wt * tmp[k, j]


def resample_plane(src: np.ndarray, px: AxisPlan, py: AxisPlan) -> np.ndarray:
    """Frame plane ``src`` (float32 (rows, cols)) sampled at canvas samples
    ``[py.lo, py.hi) x [px.lo, px.hi)``; returns float32 (py.hi - py.lo, px.hi - px.lo)."""
    src = np.ascontiguousarray(src, dtype=np.float32)
    r0, r1 = py.src_range
    tmp = np.empty((r1 - r0 + 1, px.hi - px.lo), np.float32)
    _pass_x(src, r0, r1, px.start, px.weights, tmp)
    out = np.empty((py.hi - py.lo, px.hi - px.lo), np.float32)
    _pass_y(tmp, r0, py.n_src, py.start, py.weights, out)
    return out


@njit(cache=True)
def _acc(acc, vals, wy, wx, w2, i0, j0, power):  # pragma: no cover - numba
    ny, nx = w2.shape if w2.shape[0] > 0 else (wy.shape[0], wx.shape[0])
    use2 = w2.shape[0] > 0
    for i in range(ny):
        for j in range(nx):
            w = w2[i, j] if use2 else wy[i] * wx[j]
            if w == 0.0:
                continue
            if power == 0:
                acc[i0 + i, j0 + j] += w
            elif power == 1:
                acc[i0 + i, j0 + j] += w * vals[i, j]
            else:
                v = vals[i, j]
                acc[i0 + i, j0 + j] += w * v * v


_NO_W2 = np.zeros((0, 0), np.float32)


def accumulate(acc: np.ndarray, vals: np.ndarray | None, px: AxisPlan, py: AxisPlan,
               w2: np.ndarray | None = None, power: int = 1) -> None:
    """``acc[py.lo:py.hi, px.lo:px.hi] += w · vals**power`` with ``w = cover_y ⊗ cover_x``
    (or ``w2`` when given, e.g. coverage times a mask); ``power`` 0 adds the weights."""
    v = _NO_W2 if vals is None else vals
    _acc(acc, v, py.cover, px.cover, _NO_W2 if w2 is None else w2, py.lo, px.lo, power)


@njit(cache=True, nogil=True)  # nogil: render splits a frame's rows between threads
def _splat(src, r0, r1, xs, wx, ys, wy, n_src_y, cy, cx, w2, use_w2, a, b, acc, wacc, add_w,
           i0, j0, tmp, row):  # pragma: no cover - numba
    width = src.shape[1]
    nx, tx = wx.shape
    for r in range(r0, r1 + 1):
        for j in range(nx):
            s = xs[j]
            v = 0.0
            if tx == 4 and s >= 0 and s + 4 <= width:  # the cubic case, unrolled
                v = (wx[j, 0] * src[r, s] + wx[j, 1] * src[r, s + 1]
                     + wx[j, 2] * src[r, s + 2] + wx[j, 3] * src[r, s + 3])
            elif s >= 0 and s + tx <= width:
                for t in range(tx):
                    v += wx[j, t] * src[r, s + t]
            else:
                for t in range(tx):
                    k = s + t
                    k = 0 if k < 0 else (width - 1 if k >= width else k)
                    v += wx[j, t] * src[r, k]
            tmp[r - r0, j] = v
    ny, ty = wy.shape
    for i in range(ny):
        for j in range(nx):
            row[j] = 0.0
        for t in range(ty):
            wt = wy[i, t]
            if wt == 0.0:
                continue
            k = ys[i] + t
            k = 0 if k < 0 else (n_src_y - 1 if k >= n_src_y else k)
            k -= r0
            for j in range(nx):
                row[j] += wt * tmp[k, j]
        ci = cy[i]
        if use_w2:
            for j in range(nx):
                w = w2[i, j]
                acc[i0 + i, j0 + j] += w * (a * row[j] + b)
                if add_w:
                    wacc[i0 + i, j0 + j] += w
        else:
            for j in range(nx):
                w = ci * cx[j]
                acc[i0 + i, j0 + j] += w * (a * row[j] + b)
            if add_w:
                for j in range(nx):
                    wacc[i0 + i, j0 + j] += ci * cx[j]


def splat(src: np.ndarray, px: AxisPlan, py: AxisPlan, acc: np.ndarray,
          wacc: np.ndarray | None, *, a: float = 1.0, b: float = 0.0,
          w2: np.ndarray | None = None) -> None:
    """Resample ``src`` (any numeric dtype, e.g. native codes) at the canvas samples of
    ``px x py`` and add ``w · (a · value + b)`` to ``acc`` (and ``w`` to ``wacc`` when given),
    ``w = cover_y ⊗ cover_x`` or ``w2``.

    Fuses the two passes of :func:`resample_plane` with the accumulation and the affine
    code → working conversion (exact to float rounding because the kernel weights sum to 1),
    so no float copy of the frame and no resampled frame is ever allocated.
    """
    r0, r1 = py.src_range
    tmp = np.empty((r1 - r0 + 1, px.hi - px.lo), np.float32)
    row = np.empty(px.hi - px.lo, np.float32)
    use_w2 = w2 is not None
    _splat(np.ascontiguousarray(src), r0, r1, px.start, px.weights, py.start, py.weights,
           py.n_src, py.cover, px.cover, w2 if use_w2 else _NO_W2, use_w2, float(a), float(b),
           acc, acc if wacc is None else wacc, wacc is not None, py.lo, px.lo, tmp, row)

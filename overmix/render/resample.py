"""Sub-pixel resampling of a placed frame plane onto a canvas plane (separable, numpy).

The motion is a pure translation, so along each axis every canvas sample sees the frame at the
same fractional phase (or, for ``--chroma full``, at one of ``step`` phases). An
:class:`AxisPlan` holds, per canvas sample along one axis, the first source tap and the tap
weights; :func:`resample_plane` applies the x plan to the needed source rows and then the y
plan (two 1-D passes, each a weighted sum of ``taps`` gathered (shifted) slices in numpy:
no numba on the default stitch path).

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


def _taps_sum(src: np.ndarray, start: np.ndarray, w: np.ndarray, axis: int) -> np.ndarray:
    """One 1-D pass along ``axis`` of float32 ``src``: sample j is
    ``Σ_t w[j, t] · src[clip(start[j] + t, 0, len - 1)]`` (float32, ``len`` = src's extent).

    A translation plan reads consecutive source indices with the same weights for every
    sample: the samples whose taps all lie inside are a sum of ``taps`` scaled slices; only
    the few samples at the ends (clamped taps), or a plan of another shape, gather.
    """
    n, taps = w.shape
    lim = src.shape[axis]
    shape = list(src.shape)
    shape[axis] = n
    out = np.empty(shape, np.float32)  # every sample is written below (interior or edge)
    if n == 0:
        return out

    def cut(a: int, b: int) -> tuple[slice, ...]:
        return (slice(a, b), slice(None)) if axis == 0 else (slice(None), slice(a, b))

    def along(v: np.ndarray) -> np.ndarray:  # a per-sample vector shaped to broadcast
        return v[:, None] if axis == 0 else v[None, :]

    ja = jb = 0
    if n == 1 or bool(np.all(np.diff(start) == 1)):
        s0 = int(start[0])
        ja, jb = max(0, -s0), min(n, lim - taps + 1 - s0)
    if ja < jb:
        const = bool(np.all(w[ja:jb] == w[ja]))
        dst = out[cut(ja, jb)]
        tmp: np.ndarray | None = None
        for t in range(taps):
            if const and w[ja, t] == 0.0 and (tmp is not None or t < taps - 1):
                continue  # a whole-pixel phase has one non-zero tap
            v = src[cut(s0 + ja + t, s0 + jb + t)]
            wt = w[ja, t] if const else along(w[ja:jb, t])
            if tmp is None:  # the first tap writes the output directly (no zeroing pass)
                np.multiply(v, wt, out=dst)
                tmp = np.empty_like(dst)
            else:
                np.multiply(v, wt, out=tmp)
                dst += tmp
    else:
        ja = jb = n
    edge = np.r_[0:ja, jb:n]
    if edge.size:
        idx = np.clip(start[edge, None] + np.arange(taps), 0, lim - 1)
        acc = np.zeros_like(out[cut(0, edge.size)])
        for t in range(taps):
            acc += np.take(src, idx[:, t], axis=axis) * along(w[edge, t])
        if axis == 0:
            out[edge] = acc
        else:
            out[:, edge] = acc
    return out


def _pass_x(src: np.ndarray, r0: int, r1: int, start: np.ndarray,
            w: np.ndarray) -> np.ndarray:
    """Rows ``r0..r1`` of ``src`` (any numeric dtype) resampled along x: float32
    (r1 - r0 + 1, n), ``out[:, j] = Σ_t w[j, t] · src[:, clip(start[j] + t)]``."""
    rows = np.asarray(src[r0:r1 + 1], dtype=np.float32)
    return _taps_sum(rows, start, w, 1)


def _pass_y(tmp: np.ndarray, r0: int, n_src: int, start: np.ndarray,
            w: np.ndarray) -> np.ndarray:
    """``tmp`` (x-resampled source rows ``r0..``) resampled along y: float32 (n, cols),
    ``out[i] = Σ_t w[i, t] · tmp[clip(start[i] + t, 0, n_src - 1) - r0]``. ``tmp`` holds every
    row the clamped taps read (``AxisPlan.src_range``), so clamping to its own rows is the
    same."""
    assert r0 + tmp.shape[0] <= n_src
    return _taps_sum(tmp, start - r0, w, 0)


def resample_plane(src: np.ndarray, px: AxisPlan, py: AxisPlan) -> np.ndarray:
    """Frame plane ``src`` (float32 (rows, cols)) sampled at canvas samples
    ``[py.lo, py.hi) x [px.lo, px.hi)``; returns float32 (py.hi - py.lo, px.hi - px.lo)."""
    src = np.asarray(src, dtype=np.float32)
    r0, r1 = py.src_range
    tmp = _pass_x(src, r0, r1, px.start, px.weights)
    return _pass_y(tmp, r0, py.n_src, py.start, py.weights)


def accumulate(acc: np.ndarray, vals: np.ndarray | None, px: AxisPlan, py: AxisPlan,
               w2: np.ndarray | None = None, power: int = 1) -> None:
    """``acc[py.lo:py.hi, px.lo:px.hi] += w · vals**power`` with ``w = cover_y ⊗ cover_x``
    (or ``w2`` when given, e.g. coverage times a mask); ``power`` 0 adds the weights."""
    w = np.multiply.outer(py.cover, px.cover) if w2 is None else w2
    dst = acc[py.lo:py.hi, px.lo:px.hi]
    if power == 0 or vals is None:
        dst += w
    elif power == 1:
        dst += w * vals
    else:
        dst += w * vals * vals


def splat(src: np.ndarray, px: AxisPlan, py: AxisPlan, acc: np.ndarray,
          wacc: np.ndarray | None, *, a: float = 1.0, b: float = 0.0,
          w2: np.ndarray | None = None) -> None:
    """Resample ``src`` (any numeric dtype, e.g. native codes) at the canvas samples of
    ``px x py`` and add ``w · (a · value + b)`` to ``acc`` (and ``w`` to ``wacc`` when given),
    ``w = cover_y ⊗ cover_x`` or ``w2``.

    Applies the two passes of :func:`resample_plane` straight to the codes and the affine
    code → working conversion afterwards (exact to float rounding because the kernel weights
    sum to 1), so no float copy of the whole frame is made; numpy releases the GIL in the
    array operations, so row ranges can run on different threads.
    """
    r0, r1 = py.src_range
    # the gain a rides on the y kernel (a few numbers instead of a pass over the plane)
    wy = py.weights if a == 1.0 else py.weights * np.float32(a)
    vals = _pass_y(_pass_x(src, r0, r1, px.start, px.weights), r0, py.n_src, py.start, wy)
    if b != 0.0:
        vals += np.float32(b)
    dst = acc[py.lo:py.hi, px.lo:px.hi]
    if w2 is not None:
        vals *= w2
        dst += vals
        if wacc is not None:
            wacc[py.lo:py.hi, px.lo:px.hi] += w2
        return
    # coverage is 1 inside the frame: only the partly covered edge rows/columns are weighted
    ey = np.flatnonzero(py.cover != 1.0)
    ex = np.flatnonzero(px.cover != 1.0)
    if ey.size:
        vals[ey] *= py.cover[ey, None]
    if ex.size:
        vals[:, ex] *= px.cover[None, ex]
    dst += vals
    if wacc is not None:
        wdst = wacc[py.lo:py.hi, px.lo:px.hi]
        if ey.size or ex.size:
            wdst += np.multiply.outer(py.cover, px.cover)
        else:
            wdst += np.float32(1.0)

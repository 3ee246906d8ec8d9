"""Resampling a frame plane through its full transform (zoom/rotation) onto a canvas plane.

Geometry (DESIGN §4 "Transforms"): frame k's luma pixel centre (column j, row i) lies at
frame-0 coordinates ``X = x + s·(j·cos a − i·sin a)``, ``Y = y + s·(j·sin a + i·cos a)``; a
plane subsampled by ``(sx, sy)`` with chroma offset ``(ox, oy)`` has its sample (row v,
column u) at frame luma ``(sx·u + ox, sy·v + oy)``. The canvas plane's sample (I, J) lies at
``(X, Y) = (x0 + step_x·J, y0 + step_y·I)`` (:class:`~overmix.render.canvas.PlaneGrid`, canvas
pitch c included). Composed, the canvas sample reads the source plane at the affine position
``u = u0 + uJ·J + uI·I``, ``v = v0 + vJ·J + vI·I`` — a 2-D map when the frame is rotated, so the
kernel is evaluated per sample (a tensor product of 1-D kernel weights along u and v) and the
taps are gathered, sample by sample in compiled code (:mod:`overmix.render.warp_kernels`,
numba, imported only when a rotated frame is rendered; ~2.5x the numpy gather), in row
bands: memory stays bounded.

When a canvas sample is coarser than the source samples (``--canvas-scale`` above the frame's
own scale) the kernel is stretched by that ratio (an anti-aliasing low-pass of the same shape),
with proportionally more taps.

An unrotated frame (zoom only) maps canvas columns to source columns and rows to rows, so the
same weights are applied in two 1-D passes (x over the source rows the band needs, then y):
the result is the 2-D path's, at a fraction of its gathers.

Coverage: a canvas sample's weight is the fraction of its footprint, projected on the frame's
u and v axes, that lies inside the frame's area (its samples' footprint hull minus ``border``),
the product of the two; so edges fade over one sample as in :mod:`overmix.render.resample`.
Taps past the frame edge take the edge sample (clamping).

Phase weighting (the ``average`` render): every interpolating kernel blurs a little at a
fractional phase, and the mean of frames resampled at phases spread over a sample is the
scene convolved with the whole kernel, which caps a canvas of sharp, box-sampled line art near
40 dB however many frames it averages. A frame's resampled value is exact where its own sample
lies on the canvas sample and worst half a sample away, so each value counts by
``exp(-(φu² + φv²) / (2·0.2²))``, φ the distance (source samples) from the nearest source
sample along u and v (:func:`warp_phase`): where the frames' samples fall at many phases (a
zoom or rotation moves them across the canvas) the canvas takes its values mostly from the
samples that sit on it, and where every frame has the same phase the weights are equal (the
plain mean). The normalised sum divides by these weights; the coverage the render reports is
the plain one. A canvas sample coarser than the source (a stretched, anti-aliasing kernel) is
not weighted.

Translation-only scenes on a pitch-1 canvas never come here (the separable path of
:mod:`overmix.render.resample` is exact and faster for them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from overmix.render.canvas import PlaneGrid
from overmix.render.resample import KERNELS, AxisPlan

__all__ = ["WarpPlan", "WarpRows", "plan_warp", "warp_cover", "warp_phase", "warp_values",
           "warp_splat"]

# Canvas samples per band of the 2-D gather (bounds the float64 temporaries to a few MB).
_BAND_SAMPLES = 1 << 16
# Width (source samples) of the phase weight (see the module docstring): narrow enough that
# the canvas of sharp line art is not capped by the kernel's blur, wide enough that uniform
# phases still average about half the frames' noise away.
PHASE_SIGMA = 0.2


@dataclass(frozen=True)
class WarpPlan:
    """How canvas plane samples ``[rows_lo, rows_hi) x [lo, hi)`` read one frame plane.

    ``lo``/``hi`` are the canvas columns (the role of the x :class:`AxisPlan`); the rows are
    in :class:`WarpRows`. ``coef`` = (u0, uJ, uI, v0, vJ, vI) maps canvas sample (I, J) to the
    source plane's (u = column, v = row); ``area_u``/``area_v`` is the frame's extent in source
    samples; ``half_u``/``half_v`` the half-extent of a canvas sample's footprint along u/v
    (source samples); ``stretch`` the kernel stretch (>= 1); ``n_rows``/``n_cols`` the source
    plane's size.
    """

    lo: int
    hi: int
    rows_lo: int
    rows_hi: int
    coef: tuple[float, float, float, float, float, float]
    area_u: tuple[float, float]
    area_v: tuple[float, float]
    half_u: float
    half_v: float
    stretch: float
    kernel: str
    n_rows: int
    n_cols: int

    def rows(self) -> WarpRows:
        return WarpRows(self.rows_lo, self.rows_hi, self)

    def with_kernel(self, kernel: str) -> WarpPlan:
        return replace(self, kernel=kernel)


@dataclass(frozen=True)
class WarpRows:
    """The canvas rows ``[lo, hi)`` of a :class:`WarpPlan` (the role of the y AxisPlan)."""

    lo: int
    hi: int
    plan: WarpPlan

    def sub(self, a: int, b: int) -> WarpRows | None:
        lo, hi = max(a, self.lo), min(b, self.hi)
        return None if lo >= hi else WarpRows(lo, hi, self.plan)


def plan_warp(dst: PlaneGrid, src: PlaneGrid, x: float, y: float, scale: float,
              angle_deg: float, border: float, kernel: str = "cubic") -> WarpPlan | None:
    """Plan a frame plane (``src``: its grid in the frame's *own* luma coordinates, i.e. placed
    at (0, 0)) seen through the frame's transform ``(x, y, scale, angle)`` onto canvas plane
    ``dst``; ``border`` luma pixels at the frame's edges are left out. None when the frame
    misses the canvas plane."""
    a = math.radians(angle_deg)
    ca, sa = math.cos(a), math.sin(a)
    # canvas (I, J) -> frame-0 (X, Y) -> frame luma (fx, fy) = R(-a)(X - x, Y - y) / s
    #   -> source sample (u, v) = ((fx - src.x0) / src.step_x, (fy - src.y0) / src.step_y)
    def lin(cx: float, cy: float, c0: float, step: float) -> tuple[float, float, float]:
        # (cx·(X − x) + cy·(Y − y)) / s, X = dst.x0 + dst.step_x·J, Y = dst.y0 + dst.step_y·I,
        # then minus c0, over step: (constant, per J, per I)
        k0 = (cx * (dst.x0 - x) + cy * (dst.y0 - y)) / scale
        return ((k0 - c0) / step, cx * dst.step_x / scale / step, cy * dst.step_y / scale / step)

    u0, uj, ui = lin(ca, sa, src.x0, src.step_x)
    v0, vj, vi = lin(-sa, ca, src.y0, src.step_y)
    b = float(border)
    area_u = (-0.5 + b / src.step_x, src.cols - 0.5 - b / src.step_x)
    area_v = (-0.5 + b / src.step_y, src.rows - 0.5 - b / src.step_y)
    if area_u[1] <= area_u[0] or area_v[1] <= area_v[0]:
        return None
    half_u = 0.5 * (abs(uj) + abs(ui))
    half_v = 0.5 * (abs(vj) + abs(vi))
    # canvas bounding box of the frame's area: invert the affine map at the area's corners
    m = np.array([[uj, ui], [vj, vi]])
    inv = np.linalg.inv(m)
    corners = np.array([[area_u[0], area_v[0]], [area_u[1], area_v[0]],
                        [area_u[0], area_v[1]], [area_u[1], area_v[1]]])
    ji = (corners - np.array([u0, v0])) @ inv.T  # (4, 2): J, I
    pad = 1.0 + max(abs(inv[0, 0]) * half_u + abs(inv[0, 1]) * half_v,
                    abs(inv[1, 0]) * half_u + abs(inv[1, 1]) * half_v)
    lo = max(0, math.floor(float(ji[:, 0].min()) - pad))
    hi = min(dst.cols, math.ceil(float(ji[:, 0].max()) + pad) + 1)
    rlo = max(0, math.floor(float(ji[:, 1].min()) - pad))
    rhi = min(dst.rows, math.ceil(float(ji[:, 1].max()) + pad) + 1)
    if lo >= hi or rlo >= rhi:
        return None
    # a canvas sample coarser than the source's: widen the kernel (anti-aliasing)
    stretch = max(1.0, math.hypot(uj, vj), math.hypot(ui, vi))
    if stretch < 1.0 + 1e-6:
        stretch = 1.0
    return WarpPlan(lo, hi, rlo, rhi, (u0, uj, ui, v0, vj, vi), area_u, area_v, half_u, half_v,
                    stretch, kernel, src.rows, src.cols)


def _positions(p: WarpPlan, r0: int, r1: int) -> tuple[np.ndarray, np.ndarray]:
    """Source (u, v) of canvas samples rows [r0, r1) x columns [p.lo, p.hi): float64."""
    u0, uj, ui, v0, vj, vi = p.coef
    jj = np.arange(p.lo, p.hi, dtype=np.float64)[None, :]
    ii = np.arange(r0, r1, dtype=np.float64)[:, None]
    return u0 + uj * jj + ui * ii, v0 + vj * jj + vi * ii


def _cover(p: WarpPlan, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Coverage weight in [0, 1] (float32) of canvas samples at source positions (u, v)."""
    cu = (np.minimum(u + p.half_u, p.area_u[1]) - np.maximum(u - p.half_u, p.area_u[0])) \
        / (2 * p.half_u)
    cv = (np.minimum(v + p.half_v, p.area_v[1]) - np.maximum(v - p.half_v, p.area_v[0])) \
        / (2 * p.half_v)
    w = np.clip(cu, 0.0, 1.0) * np.clip(cv, 0.0, 1.0)
    w[w <= 1e-6] = 0.0
    return w.astype(np.float32)


def _phase(p: WarpPlan, u: np.ndarray, v: np.ndarray) -> np.ndarray | None:
    """Phase weights (float32, u's shape) of canvas samples at source positions (u, v), or
    None (all 1) when the kernel is stretched."""
    if p.stretch > 1.0:
        return None
    fu = u - np.round(u)
    fv = v - np.round(v)
    q = fu * fu + fv * fv  # (u and v may be a row and a column: broadcast)
    q *= -0.5 / PHASE_SIGMA**2
    return np.exp(q).astype(np.float32)


def warp_phase(px: WarpPlan, py: WarpRows) -> np.ndarray | None:
    """Phase weights (float32 (rows, cols)) of the canvas samples of ``px x py``, or None when
    they are all 1 (see the module docstring)."""
    u, v = _positions(px, py.lo, py.hi)
    return _phase(px, u, v)


def _axis_weights(kernel: str, pos: np.ndarray, stretch: float,
                  n: int) -> tuple[np.ndarray, np.ndarray]:
    """Clamped tap indices (taps, *pos.shape) int64 and normalised float32 weights of the
    kernel (stretched by ``stretch``) at positions ``pos`` along an axis of ``n`` samples."""
    taps = _taps(kernel, stretch)
    first = np.floor(pos).astype(np.int64) - (taps // 2 - 1)
    idx = first[None] + np.arange(taps).reshape((-1,) + (1,) * pos.ndim)
    w = _kernel_at(kernel, (pos[None] - idx) / stretch)
    s = w.sum(axis=0)
    w = (w / np.where(s == 0, 1.0, s)).astype(np.float32)
    return np.clip(idx, 0, n - 1), w


def _kernel_at(kernel: str, x: np.ndarray) -> np.ndarray:
    """The kernel at signed distances ``x`` (float64, same shape): Keys' cubic convolution
    with a = -0.5 (Keys 1981), Lanczos-3 ``sinc(x)·sinc(x/3)``, or the triangle."""
    ax = np.abs(x)
    if kernel == "cubic":
        a = -0.5
        return np.where(ax < 1, (a + 2) * ax**3 - (a + 3) * ax**2 + 1,
                        np.where(ax < 2, a * ax**3 - 5 * a * ax**2 + 8 * a * ax - 4 * a, 0.0))
    if kernel == "lanczos3":
        return np.where(ax < 3, np.sinc(x) * np.sinc(x / 3), 0.0)
    return np.clip(1.0 - ax, 0.0, None)


def _separable(p: WarpPlan) -> bool:
    """An unrotated frame: u depends on the canvas column only, v on the row only."""
    return p.coef[2] == 0.0 and p.coef[4] == 0.0


def _band(p: WarpPlan, src: np.ndarray, r0: int, r1: int,
          phase: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Values (float32, raw source units), coverage and (with ``phase``) phase weights of
    canvas rows [r0, r1)."""
    if _separable(p):
        return _band_separable(p, src, r0, r1, phase)
    return _band_2d(p, src, r0, r1, phase)


def _band_separable(p: WarpPlan, src: np.ndarray, r0: int, r1: int,
                    phase: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """:func:`_band` of an unrotated frame in two 1-D passes (the same tensor-product
    weights as :func:`_band_2d`, summed in the same order: x taps, then y taps)."""
    u0, uj, _, v0, _, vi = p.coef
    u = u0 + uj * np.arange(p.lo, p.hi, dtype=np.float64)
    v = v0 + vi * np.arange(r0, r1, dtype=np.float64)
    cover = _cover(p, u[None, :], v[:, None])
    ph = _phase(p, u[None, :], v[:, None]) if phase else None
    iu, wu = _axis_weights(p.kernel, u, p.stretch, p.n_cols)
    iv, wv = _axis_weights(p.kernel, v, p.stretch, p.n_rows)
    s0, s1 = int(iv.min()), int(iv.max()) + 1
    rows = np.asarray(src[s0:s1], np.float32)
    tmp = np.zeros((s1 - s0, u.size), np.float32)
    for t in range(iu.shape[0]):
        tmp += rows[:, iu[t]] * wu[t][None, :]
    out = np.zeros((v.size, u.size), np.float32)
    for t in range(iv.shape[0]):
        out += tmp[iv[t] - s0] * wv[t][:, None]
    return out, cover, ph


def _band_2d(p: WarpPlan, src: np.ndarray, r0: int, r1: int,
             phase: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """:func:`_band` of any frame: per canvas sample, the 2-D taps of :func:`_axis_weights`'
    weights gathered and summed in float32 (compiled: :mod:`overmix.render.warp_kernels`)."""
    from overmix.render.warp_kernels import KERNEL_IDS, gather_2d

    u, v = _positions(p, r0, r1)
    cover = _cover(p, u, v)
    ph = _phase(p, u, v) if phase else None
    out = np.empty(u.shape, np.float32)
    gather_2d(src, np.asarray(p.coef, np.float64), r0, r1, p.lo, p.hi, KERNEL_IDS[p.kernel],
              _taps(p.kernel, p.stretch), p.stretch, out)
    return out, cover, ph


def _taps(kernel: str, stretch: float) -> int:
    """Taps of ``kernel`` stretched by ``stretch`` (as :func:`_axis_weights`)."""
    return 2 * math.ceil(KERNELS[kernel] / 2 * stretch - 1e-9)


def _bands(p: WarpPlan, r0: int, r1: int) -> list[tuple[int, int]]:
    # (the temporaries are float32 rows and, for the 2-D path, the float64 positions)
    budget = _BAND_SAMPLES * (8 if _separable(p) else 2)
    step = max(1, budget // max(1, p.hi - p.lo))
    return [(a, min(r1, a + step)) for a in range(r0, r1, step)]


def warp_values(src: np.ndarray, px: WarpPlan, py: WarpRows) -> np.ndarray:
    """Source plane ``src`` (any numeric dtype) at canvas samples ``[py.lo, py.hi) x
    [px.lo, px.hi)``: float32 in the source's units."""
    src = np.ascontiguousarray(src)
    out = np.empty((py.hi - py.lo, px.hi - px.lo), np.float32)
    for a, b in _bands(px, py.lo, py.hi):
        out[a - py.lo:b - py.lo] = _band(px, src, a, b)[0]
    return out


def warp_cover(px: WarpPlan, py: WarpRows) -> np.ndarray:
    """Coverage weights (float32 (rows, cols)) of the canvas samples of ``px x py``."""
    u, v = _positions(px, py.lo, py.hi)
    return _cover(px, u, v)


def warp_splat(src: np.ndarray, px: WarpPlan, py: WarpRows, acc: np.ndarray,
               wacc: np.ndarray | None, *, a: float = 1.0, b: float = 0.0,
               w2: np.ndarray | None = None, phase: bool = False,
               cacc: np.ndarray | None = None) -> None:
    """:func:`overmix.render.resample.splat` through a transform: add ``w · (a · value + b)``
    to ``acc`` and ``w`` to ``wacc``, ``w`` = coverage (or ``w2``), times the phase weight
    with ``phase``; the coverage (or ``w2``) itself is added to ``cacc`` when given."""
    src = np.ascontiguousarray(src)
    for r0, r1 in _bands(px, py.lo, py.hi):
        vals, cover, ph = _band(px, src, r0, r1, phase)
        w = cover if w2 is None else w2[r0 - py.lo:r1 - py.lo]
        if cacc is not None:
            cacc[r0:r1, px.lo:px.hi] += w
        if ph is not None:
            w = w * ph
        if a != 1.0:
            vals *= np.float32(a)
        if b != 0.0:
            vals += np.float32(b)
        vals *= w
        acc[r0:r1, px.lo:px.hi] += vals
        if wacc is not None:
            wacc[r0:r1, px.lo:px.hi] += w


def warp_mask(valid: np.ndarray, px: WarpPlan, py: WarpRows) -> np.ndarray:
    """A validity plane (source plane samples, 1 = use) resampled bilinearly (stretched like
    the image kernel) at the canvas samples of ``px x py`` and multiplied by the coverage;
    the caller shrinks masked regions by the kernel support first."""
    lin = px.with_kernel("linear")
    m = warp_values(np.asarray(valid, np.float32), lin, WarpRows(py.lo, py.hi, lin))
    np.clip(m, 0.0, 1.0, out=m)
    m *= warp_cover(px, py)
    return m


def is_warp(plan: object) -> bool:
    return isinstance(plan, (WarpPlan, WarpRows))


def axis_or_warp_cover(px: AxisPlan | WarpPlan, py: AxisPlan | WarpRows) -> np.ndarray:
    """Coverage weights of a frame's canvas samples for either kind of plan."""
    if isinstance(px, WarpPlan):
        assert isinstance(py, WarpRows)
        return warp_cover(px, py)
    assert isinstance(py, AxisPlan)
    return np.multiply.outer(py.cover, px.cover)

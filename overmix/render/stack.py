"""Stacking placed frames into a canvas: average and per-pixel statistics (DESIGN §6 "Render").

Every frame plane is resampled at its exact sub-pixel position onto the canvas plane with the
same siting (:mod:`overmix.render.canvas`, :mod:`overmix.render.resample`), then combined:

``average``
    Running weighted sums, one pass over the frames. Memory: per canvas plane a float32 sum
    and a float32 weight (Cb and Cr share theirs) — about 2x the float32 canvas — plus one
    frame's planes; the sums are divided in place and become the canvas. float32 sums of
    weights ≤ 1 over n ≤ 10^4 frames keep a relative error below 1e-6, well under a 16-bit
    output step.
``median``, ``min``, ``max``
    Per plane and per pixel over the covering frames (the true median: the mean of the two
    middle values for an even count).
``min-luma``, ``max-luma``
    The frame with the darkest (brightest) Y' wins; Y' is the per-pixel min (max), and each
    chroma sample is taken from the frame whose Y' *at that chroma sample's position*
    (bilinear on the luma stack at the co-sited point) is the min (max), so colours stay
    consistent (steam removal).
``winsorized``
    Mean after clamping each pixel's values to the values at ranks ``⌊0.2 n⌋`` and
    ``n − 1 − ⌊0.2 n⌋`` (20 % winsorized mean).
``sigma-clip``
    Mean of the values within ``2.5 σ`` of the median (σ = standard deviation of the values
    kept so far), iterated up to 5 times or until fewer than 3 values remain. Centring on the
    median lets one outlier among few frames be rejected (about the mean, an outlier among n
    values can never lie beyond ``(n − 1)/√n`` σ).
``difference``
    Where frames disagree: per-pixel mean absolute deviation of Y' from the per-pixel mean,
    in working units (0 = all frames agree); a gray canvas.

The statistics renders stack the covering frames in **row bands** of the canvas
(``(frames, band rows, canvas cols)`` float32 with NaN where a frame does not reach), sized so a
band's stacks fit ``tile_budget`` bytes, and read the frames once per band. Memory is bounded
by the budget plus the canvas.

Weights and coverage: a frame's weight at a canvas sample is its coverage (fraction of the
sample's footprint inside the frame minus ``border``, see :mod:`overmix.render.resample`) times
its validity: the mask (frame coordinates, 1 = use, 0 = ignore) and its alpha. Masked regions
are shrunk by the kernel support (minimum filter) before they are resampled (bilinear), so no
tap reads a masked sample. A canvas sample with zero total weight is a hole: its coverage is 0
and its value 0.

References
----------
- W. J. Dixon, "Simplified estimation from censored normal samples", Ann. Math. Statist. 31,
  1960 (winsorized mean).
- Siril documentation, "Stacking: rejection algorithms" (iterative sigma clipping).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from overmix.color.convert import range_constants
from overmix.color.spec import ColorInfo
from overmix.errors import AlignmentError, InputError, UsageError
from overmix.frame import Family, PlaneLayout
from overmix.geometry import Canvas, Offsets
from overmix.io.store import FrameStore
from overmix.progress import ProgressCallback, no_progress
from overmix.providers import PlaneProvider
from overmix.render.canvas import PlaneGrid, canvas_grid, canvas_layout, frame_grid
from overmix.render.names import RENDERS
from overmix.render.resample import (
    KERNELS,
    AxisPlan,
    accumulate,
    plan_axes,
    resample_plane,
    splat,
)
from overmix.render.transform import (
    WarpPlan,
    WarpRows,
    axis_or_warp_cover,
    plan_warp,
    warp_mask,
    warp_splat,
    warp_values,
)

__all__ = ["RENDERS", "FrameWeights", "PlaneProvider", "RenderResult", "render"]


_MODES = {"median": 0, "min": 1, "max": 2, "winsorized": 3, "sigma-clip": 4, "difference": 5}
WINSOR_FRACTION = 0.2
SIGMA_KAPPA = 2.5
DEFAULT_TILE_BUDGET = 256 * 1024 * 1024
# Smallest summed frame weight that gives a canvas value; below it a sample is a hole.
COVER_MIN = 1e-6
MAX_CANVAS_PIXELS = 1_000_000_000  # beyond this an offsets file is almost surely wrong


# Per-frame weights: provider position -> float32 (h, w) in [0, 1] (frame coords) or None.
FrameWeights = Callable[[int], "np.ndarray | None"]


@dataclass
class RenderResult:
    """A rendered canvas.

    Attributes
    ----------
    planes : tuple of ndarray, float32
        Working planes of the canvas (Y' in [0, 1], Cb/Cr in [-0.5, 0.5]; one plane for gray
        and for the ``difference`` render), each at its own resolution per ``layout``.
    layout : PlaneLayout
        Layout of ``planes`` (4:4:4 with ``full_chroma``; gray for ``difference``).
    color : ColorInfo
        The source colour (siting of canvas chroma relative to the canvas origin is the same).
    coverage : ndarray, float32, (H, W)
        Per canvas luma pixel: summed frame weight (``average``) or number of covering frames.
    canvas : Canvas
    method : str
    stats : dict
        ``frames``, ``residual`` (RMS over pixels covered twice or more of the per-pixel
        standard deviation of Y' across frames, working units; ``average`` only with
        ``disagreement=True``), ``holes`` (uncovered pixels), ``seconds``.
    """

    planes: tuple[np.ndarray, ...]
    layout: PlaneLayout
    color: ColorInfo
    coverage: np.ndarray
    canvas: Canvas
    method: str
    stats: dict[str, object] = field(default_factory=dict)

    @property
    def alpha(self) -> np.ndarray:
        """float32 (H, W): 1 where some frame reaches, 0 in holes."""
        return (self.coverage > 0).astype(np.float32)

    @property
    def has_holes(self) -> bool:
        return bool(self.stats.get("holes", 0))


# --------------------------------------------------------------------------------- geometry


@dataclass
class _FramePlan:
    """One frame's plans, per plane group (planes sharing a sample grid)."""

    n: int  # row in the offsets
    k: int  # provider position
    # (planes, x plan, y plan): AxisPlans for a translation, a WarpPlan and its WarpRows for
    # a scaled/rotated frame or a canvas of pitch != 1 (overmix.render.transform)
    groups: list[tuple[tuple[int, ...], AxisPlan | WarpPlan, AxisPlan | WarpRows] | None]


def _groups(layout: PlaneLayout) -> list[tuple[int, ...]]:
    if layout.family == Family.YCBCR:
        return [(0,), (1, 2)]
    return [tuple(range(layout.nplanes))]


def _plan_frames(offsets: Offsets, positions: Sequence[int], canvas: Canvas, layout: PlaneLayout,
                 color: ColorInfo, height: int, width: int, *, border: int, kernel: str,
                 full_chroma: bool) -> list[_FramePlan]:
    loc = color.chroma_location
    plans: list[_FramePlan] = []
    b = float(border)
    scales, angles = offsets.scales, offsets.angles
    for n, ((x, y), k) in enumerate(zip(offsets.xy, positions, strict=True)):
        groups: list[tuple[tuple[int, ...], AxisPlan | WarpPlan, AxisPlan | WarpRows] | None]
        groups = []
        warp = offsets.transformed(n) or canvas.scale != 1.0
        for g in _groups(layout):
            dst = canvas_grid(canvas, layout, loc, g[0], full_chroma=full_chroma)
            if warp:  # through the frame's full transform (2-D resampling)
                own = frame_grid(0.0, 0.0, height, width, layout, loc, g[0])
                wp = plan_warp(dst, own, float(x), float(y), float(scales[n]),
                               float(angles[n]), b, kernel)
                groups.append(None if wp is None else (g, wp, wp.rows()))
                continue
            src = frame_grid(float(x), float(y), height, width, layout, loc, g[0])
            pp = plan_axes(dst, src, *_area(src, b), kernel)
            groups.append(None if pp is None else (g, pp[0], pp[1]))
        plans.append(_FramePlan(n, int(k), groups))
    return plans


def _area(src: PlaneGrid, border: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """Luma-coordinate extent of a placed frame plane: the hull of its samples' footprints
    (each ``step`` luma pixels wide), minus ``border`` luma pixels on each side. For luma this
    is ``[x_k - 0.5, x_k + W - 0.5]``; using each plane's own footprints makes a frame at a
    whole-pixel offset cover its own chroma samples with weight exactly 1."""
    ax = (src.x0 - src.step_x / 2 + border, src.x(src.cols - 1) + src.step_x / 2 - border)
    ay = (src.y0 - src.step_y / 2 + border, src.y(src.rows - 1) + src.step_y / 2 - border)
    return ax, ay


def _shrunk_valid(valid: np.ndarray, layout: PlaneLayout, plane: int,
                  taps: int) -> np.ndarray:
    """Validity (luma frame coords) on plane ``plane``'s samples, shrunk by ``taps``."""
    sx, sy = layout.plane_scale(plane)
    v = valid
    if (sx, sy) != (1, 1):  # a chroma sample is valid only if its whole cell is
        h, w = v.shape
        ch, cw = -(-h // sy), -(-w // sx)
        v = np.pad(v, ((0, ch * sy - h), (0, cw * sx - w)), mode="edge")
        v = v.reshape(ch, sy, cw, sx).min(axis=(1, 3))
    from scipy import ndimage  # imported when needed: it costs ~0.2 s at start-up

    return ndimage.minimum_filter(v.astype(np.float32), size=taps, mode="nearest")


def _mask_weights(valid: np.ndarray, layout: PlaneLayout, plane: int, px: AxisPlan,
                  py: AxisPlan, dst_grid: PlaneGrid, src_grid: PlaneGrid,
                  area_x: tuple[float, float],
                  area_y: tuple[float, float], taps: int) -> np.ndarray:
    """Validity (frame coords, 1 = use) as a weight on the canvas samples of ``px x py``."""
    v = _shrunk_valid(valid, layout, plane, taps)
    lin = plan_axes(dst_grid, src_grid, area_x, area_y, "linear")
    assert lin is not None
    lx, ly = lin[0].sub(px.lo, px.hi), lin[1].sub(py.lo, py.hi)
    assert lx is not None and ly is not None
    m = resample_plane(v, lx, ly)
    np.clip(m, 0.0, 1.0, out=m)
    m *= py.cover[:, None]
    m *= px.cover[None, :]
    return m


# --------------------------------------------------------------------------------- render


def render(provider: PlaneProvider, offsets: Offsets, *, positions: Sequence[int] | None = None,
           method: str = "average", kernel: str = "cubic", border: int = 0,
           mask: np.ndarray | None = None, gains: np.ndarray | None = None,
           full_chroma: bool = False, tile_budget: int = DEFAULT_TILE_BUDGET,
           canvas: Canvas | None = None, disagreement: bool = False,
           frame_weights: FrameWeights | None = None,
           progress: ProgressCallback = no_progress) -> RenderResult:
    """Render the frames of ``provider`` placed at ``offsets`` onto their canvas.

    Parameters
    ----------
    provider : PlaneProvider
        Frames (``planes(k)`` gives float32 working planes at native resolution).
    offsets : Offsets
        Row n places provider frame ``positions[n]`` (default n) at ``offsets.xy[n]``
        (frame-0 luma pixels). The canvas is ``offsets.canvas``.
    method : str
        One of :data:`RENDERS`.
    kernel : str
        ``cubic`` (Catmull-Rom, default) or ``lanczos3``.
    border : int
        Luma pixels ignored along each frame edge.
    mask : ndarray or None
        (h, w) in frame coordinates; 1 = use, 0 = ignore (fractions weight).
    gains : ndarray or None
        (n, 2) per offsets row: ``(a, b)`` with frame Y' = a · scene Y' + b
        (:func:`overmix.render.lighting.estimate_gains`); undone before stacking:
        ``Y' ← (Y' − b) / a``, ``Cb, Cr ← C / a``.
    full_chroma : bool
        Render Cb/Cr at luma resolution (4:4:4 canvas) straight from the subsampled frames.
    tile_budget : int
        Bytes for the frame stacks of one band (statistics renders).
    canvas : Canvas or None
        Render onto this canvas instead of ``offsets.canvas`` (e.g. the canvas shared by all
        animation frames). Frames reaching outside it are cut.
    disagreement : bool
        ``average`` only: also accumulate Σw·Y'² to report ``stats["residual"]`` (one more
        float32 luma canvas). The statistics renders always report it (from their stacks).
    frame_weights : callable or None
        ``frame_weights(position)`` -> float32 (h, w) in [0, 1] in that frame's coordinates
        (luma resolution; 1 = use), or None for "all usable": per-frame masks (overlays,
        moving foreground) multiplied into the frame's validity with ``mask`` and its alpha.
        Chroma planes see it at their own grid (see :func:`_mask_weights`). ``average``
        weights by it; the statistics renders stack a frame's sample where its validity is at
        least half the best validity among the frames covering that sample (so a small floor
        weight marks a fallback that is used only where no frame sees the place cleanly).
    progress : ProgressCallback
        Stage ``"render"``.

    Returns
    -------
    RenderResult
    """
    if method not in RENDERS:
        raise UsageError(f"unknown render {method!r} (use {', '.join(RENDERS)})")
    if kernel not in KERNELS or kernel == "linear":
        raise UsageError(f"unknown kernel {kernel!r} (use cubic or lanczos3)")
    layout, color, shape = provider.layout, provider.color, provider.shape
    if layout is None or color is None or shape is None or len(offsets) == 0:
        raise AlignmentError("nothing to render: no frames")
    height, width = shape
    if border < 0 or 2 * border >= min(height, width):
        raise UsageError(f"--border {border} leaves nothing of a {width}x{height} frame")
    if positions is None:
        positions = list(range(len(offsets)))
    if mask is not None and mask.shape != (height, width):
        raise UsageError(
            f"mask is {mask.shape[1]}x{mask.shape[0]}, the frames are {width}x{height}"
        )
    if gains is not None:
        gains = np.asarray(gains, dtype=np.float32).reshape(len(offsets), 2)
    if layout.family != Family.YCBCR:
        full_chroma = False
    if canvas is None:
        canvas = offsets.canvas
    if canvas.width * canvas.height > MAX_CANVAS_PIXELS:
        raise InputError(
            f"the offsets span a {canvas.width}x{canvas.height} canvas (over "
            f"{MAX_CANVAS_PIXELS // 10**6} megapixels); check the offsets"
        )
    t0 = time.perf_counter()
    plans = _plan_frames(offsets, positions, canvas, layout, color, height, width,
                         border=border, kernel=kernel, full_chroma=full_chroma)
    ctx = _Ctx(provider, offsets, plans, canvas, layout, color, height, width, border, kernel,
               mask, gains, full_chroma, progress, frame_weights)
    if method == "average":
        result = _render_average(ctx, disagreement)
    else:
        result = _render_stacks(ctx, method, tile_budget)
    result.stats["seconds"] = time.perf_counter() - t0
    return result


@dataclass
class _Ctx:
    provider: PlaneProvider
    offsets: Offsets
    plans: list[_FramePlan]
    canvas: Canvas
    layout: PlaneLayout
    color: ColorInfo
    height: int
    width: int
    border: int
    kernel: str
    mask: np.ndarray | None
    gains: np.ndarray | None
    full_chroma: bool
    progress: ProgressCallback
    frame_weights: FrameWeights | None = None

    @property
    def out_layout(self) -> PlaneLayout:
        return canvas_layout(self.layout, full_chroma=self.full_chroma)

    def planes(self, fp: _FramePlan) -> tuple[np.ndarray, ...]:
        planes = tuple(self.provider.planes(fp.k))
        if self.gains is not None:
            a, b = (float(v) for v in self.gains[fp.n])
            if (a != 1 or b != 0) and a > 0:
                inv = np.float32(1.0 / a)
                lum = (planes[0] - np.float32(b)) * inv
                rest = tuple(p * inv for p in planes[1:]) if self.layout.family == \
                    Family.YCBCR else tuple((p - np.float32(b)) * inv for p in planes[1:])
                planes = (lum, *rest)
        return planes

    def affine(self, fp: _FramePlan) -> list[tuple[float, float]]:
        """Per plane ``(a, b)``: working value = a · code + b (range removed, DESIGN §4, and
        the frame's lighting undone)."""
        yo, ys, co, cs = range_constants(self.color.bit_depth, self.color.range)
        ycc = self.layout.family == Family.YCBCR
        out = [(1.0 / cs, -co / cs) if ycc and p > 0 else (1.0 / ys, -yo / ys)
               for p in range(self.layout.nplanes)]
        if self.gains is not None:
            la, lb = (float(v) for v in self.gains[fp.n])
            if (la != 1 or lb != 0) and la > 0:
                out = [(a / la, b / la) if ycc and p > 0 else (a / la, (b - lb) / la)
                       for p, (a, b) in enumerate(out)]
        return out

    def valid(self, fp: _FramePlan) -> np.ndarray | None:
        """Validity plane of a frame (mask x alpha x frame weights), or None when all
        valid."""
        v = self.mask
        alpha_fn = getattr(self.provider, "alpha", None)
        a = alpha_fn(fp.k) if alpha_fn is not None else None
        if a is not None:
            v = a if v is None else v * a
        fw = self.frame_weights(fp.k) if self.frame_weights is not None else None
        if fw is not None:
            if fw.shape != (self.height, self.width):
                raise UsageError(f"frame weights are {fw.shape[1]}x{fw.shape[0]}, the frames "
                                 f"are {self.width}x{self.height}")
            fw = np.asarray(fw, np.float32)
            v = fw if v is None else v * fw
        return v

    def weights(self, fp: _FramePlan, valid: np.ndarray | None, plane: int,
                px: AxisPlan | WarpPlan, py: AxisPlan | WarpRows) -> np.ndarray | None:
        if valid is None:
            return None
        if isinstance(px, WarpPlan):
            assert isinstance(py, WarpRows)
            taps = int(np.ceil(KERNELS[self.kernel] * px.stretch))
            return warp_mask(_shrunk_valid(valid, self.layout, plane, taps), px, py)
        assert isinstance(py, AxisPlan)
        x, y = self.offsets.xy[fp.n]
        loc = self.color.chroma_location
        dst = canvas_grid(self.canvas, self.layout, loc, plane, full_chroma=self.full_chroma)
        src = frame_grid(float(x), float(y), self.height, self.width, self.layout, loc, plane)
        return _mask_weights(valid, self.layout, plane, px, py, dst, src,
                             *_area(src, float(self.border)), KERNELS[self.kernel])

    def plane_shape(self, plane: int) -> tuple[int, int]:
        return self.out_layout.plane_shape(plane, self.canvas.height, self.canvas.width)


def _render_average(ctx: _Ctx, disagreement: bool) -> RenderResult:
    nplanes = ctx.layout.nplanes
    sums = [np.zeros(ctx.plane_shape(p), np.float32) for p in range(nplanes)]
    groups = _groups(ctx.layout)
    wsums = [np.zeros(ctx.plane_shape(g[0]), np.float32) for g in groups]
    sq = np.zeros(ctx.plane_shape(0), np.float32) if disagreement else None
    total = len(ctx.plans)
    ctx.progress("render", 0, total)
    # Straight from the codes only when planes(k) is FrameStore's own conversion; a wrapper
    # that changes the planes (overlay removal, ...) must be read through planes(k).
    fused = sq is None and getattr(type(ctx.provider), "planes", None) is FrameStore.planes
    pool = None
    if fused and total > 1 and ctx.plane_shape(0)[0] >= 2 * _SPLIT_MIN_ROWS \
            and (os.cpu_count() or 1) > 1:
        from concurrent.futures import ThreadPoolExecutor

        pool = ThreadPoolExecutor(2)
    try:
        for done, fp in enumerate(ctx.plans, 1):
            if fused:  # straight from the codes: no float copy of the frame, no resampled one
                codes = ctx.provider.frame(fp.k).planes  # type: ignore[attr-defined]
                jobs = _splat_jobs(ctx, fp, codes, sums, wsums, 2 if pool else 1)
                if pool is not None and len(jobs) > 1:
                    for f in [pool.submit(_run_jobs, j) for j in jobs]:
                        f.result()
                else:
                    for j in jobs:
                        _run_jobs(j)
                del codes, jobs
                ctx.progress("render", done, total)
                continue
            _add_resampled(ctx, fp, sums, wsums, sq)
            ctx.progress("render", done, total)
    finally:
        if pool is not None:
            pool.shutdown()
    return _finish_average(ctx, sums, wsums, sq, groups, total)


# Canvas rows below which a frame is not split between two threads.
_SPLIT_MIN_ROWS = 64
_Job = tuple[np.ndarray, AxisPlan, AxisPlan, np.ndarray, "np.ndarray | None", float, float,
             "np.ndarray | None"]


def _splat_jobs(ctx: _Ctx, fp: _FramePlan, codes: Sequence[np.ndarray],
                sums: list[np.ndarray], wsums: list[np.ndarray], parts: int) -> list[list[_Job]]:
    """The splats of one frame, in ``parts`` lists over disjoint canvas row ranges (every
    plane cut at the same luma row), so the lists can run on different threads: each canvas
    sample gets the same additions in the same order either way (identical results)."""
    affine = ctx.affine(fp)
    valid = ctx.valid(fp)
    out: list[list[_Job]] = [[] for _ in range(parts)]
    y0 = y1 = 0
    if parts > 1 and fp.groups[0] is not None:
        y0, y1 = fp.groups[0][2].lo, fp.groups[0][2].hi
        if y1 - y0 < 2 * _SPLIT_MIN_ROWS:
            parts = 1
    for gi, entry in enumerate(fp.groups):
        if entry is None:
            continue
        g, px, py = entry
        w2 = ctx.weights(fp, valid, g[0], px, py)
        sy = max(1, round(ctx.plane_shape(0)[0] / max(1, ctx.plane_shape(g[0])[0])))
        cuts = [py.lo, py.hi] if parts == 1 else \
            [py.lo, max(py.lo, min(py.hi, (y0 + (y1 - y0) // 2) // sy)), py.hi]
        for part in range(len(cuts) - 1):
            sub = py.sub(cuts[part], cuts[part + 1])
            if sub is None:
                continue
            w2p = None if w2 is None else w2[sub.lo - py.lo:sub.hi - py.lo]
            for n, p in enumerate(g):
                a, b = affine[p]
                out[part].append((codes[p], px, sub, sums[p], wsums[gi] if n == 0 else None,
                                  a, b, w2p))
    return [j for j in out if j]


def _run_jobs(jobs: list[_Job]) -> None:
    for src, px, py, acc, wacc, a, b, w2 in jobs:
        if isinstance(px, WarpPlan):
            warp_splat(src, px, py, acc, wacc, a=a, b=b, w2=w2)  # type: ignore[arg-type]
        else:
            splat(src, px, py, acc, wacc, a=a, b=b, w2=w2)


def _values(src: np.ndarray, px: AxisPlan | WarpPlan,
            py: AxisPlan | WarpRows) -> np.ndarray:
    """A frame plane at the canvas samples of ``px x py`` (either kind of plan)."""
    if isinstance(px, WarpPlan):
        assert isinstance(py, WarpRows)
        return warp_values(src, px, py)
    assert isinstance(py, AxisPlan)
    return resample_plane(src, px, py)


def _add_resampled(ctx: _Ctx, fp: _FramePlan, sums: list[np.ndarray],
                   wsums: list[np.ndarray], sq: np.ndarray | None) -> None:
    """One frame through its working planes (a wrapper provider, or the disagreement)."""
    planes = ctx.planes(fp)
    valid = ctx.valid(fp)
    for gi, entry in enumerate(fp.groups):
        if entry is None:
            continue
        g, px, py = entry
        w2 = ctx.weights(fp, valid, g[0], px, py)
        if w2 is None and isinstance(px, WarpPlan):
            w2 = axis_or_warp_cover(px, py)
        accumulate(wsums[gi], None, px, py, w2, power=0)  # type: ignore[arg-type]
        for p in g:
            vals = _values(planes[p], px, py)
            accumulate(sums[p], vals, px, py, w2, power=1)  # type: ignore[arg-type]
            if p == 0 and sq is not None:
                accumulate(sq, vals, px, py, w2, power=2)  # type: ignore[arg-type]
            del vals
    del planes


def _finish_average(ctx: _Ctx, sums: list[np.ndarray], wsums: list[np.ndarray],
                    sq: np.ndarray | None, groups: list[tuple[int, ...]],
                    total: int) -> RenderResult:
    # mean = sum / weight in place: the sums become the canvas (no temporaries)
    for gi, g in enumerate(groups):
        for p in g:
            _divide(sums[p], wsums[gi])
    residual = _residual(sq, sums[0], wsums[0]) if sq is not None else None
    del sq
    lw = wsums[0]
    # a weight too small to give a value (_divide wrote 0) is a hole, not an opaque black
    # pixel: coverage and alpha then do not flip with last-bit changes of the offsets
    lw[lw <= COVER_MIN] = 0.0
    holes = _count_holes(lw)
    _fill_chroma_holes(sums, wsums, ctx.layout)
    stats: dict[str, object] = {"frames": total, "holes": holes}
    if residual is not None:
        stats["residual"] = residual
    return RenderResult(tuple(sums), ctx.out_layout, ctx.color, lw, ctx.canvas, "average", stats)


def _divide(s: np.ndarray, w: np.ndarray) -> None:
    """``s /= w`` in place (float32, same shape) where ``w > COVER_MIN``, else 0."""
    ok = w > COVER_MIN
    np.divide(s, w, out=s, where=ok)
    s[~ok] = 0.0


def _count_holes(w: np.ndarray) -> int:
    """Canvas samples with weight ``<= COVER_MIN``."""
    return int(np.count_nonzero(w <= COVER_MIN))


def _residual(sq: np.ndarray, mean: np.ndarray, w: np.ndarray) -> float:
    """RMS over pixels with total weight > 1.5 of the per-pixel weighted std of Y'."""
    ok = w > 1.5
    n = int(np.count_nonzero(ok))
    if not n:
        return 0.0
    m = mean[ok].astype(np.float64)
    v = sq[ok] / w[ok].astype(np.float64) - m * m
    return float(np.sqrt(np.maximum(v, 0.0).sum() / n))


def _fill_chroma_holes(planes: list[np.ndarray], weights: list[np.ndarray],
                       layout: PlaneLayout) -> None:
    """Give uncovered chroma samples their nearest covered value, so chroma upsampling next
    to a hole does not pull colour towards grey. (Luma holes stay 0 under alpha 0.)"""
    if layout.family != Family.YCBCR or len(weights) < 2:
        return
    hole = weights[1] <= COVER_MIN
    if not hole.any() or hole.all():
        return
    from scipy import ndimage

    _, (ii, jj) = ndimage.distance_transform_edt(hole, return_indices=True)
    for p in (1, 2):
        planes[p][hole] = planes[p][ii[hole], jj[hole]]


# ------------------------------------------------------------------------- statistics


def _render_stacks(ctx: _Ctx, method: str, tile_budget: int) -> RenderResult:
    # numba kernels, imported here so the average render does not load numba
    from overmix.render.stack_kernels import count_var as _count_var
    from overmix.render.stack_kernels import pick_by_luma as _pick_by_luma

    out_layout = ctx.out_layout
    gray_out = method == "difference"
    nplanes = 1 if gray_out else ctx.layout.nplanes
    groups = [tuple(p for p in g if p < nplanes) for g in _groups(ctx.layout)]
    groups = [g for g in groups if g]
    csx, csy = out_layout.plane_scale(1) if nplanes > 1 else (1, 1)
    if ctx.layout.family != Family.YCBCR:
        csx, csy = 1, 1
    ch, cw = ctx.canvas.height, ctx.canvas.width
    n = len(ctx.plans)
    per_row = n * cw * 4 * (1 + (nplanes - 1) / (csx * csy))
    band = int(tile_budget // max(per_row, 1))
    band = max(csy, band - band % csy)
    outs = [np.zeros(out_layout.plane_shape(p, ch, cw), np.float32) for p in range(nplanes)]
    count = np.zeros((ch, cw), np.float32)
    ycc = ctx.layout.family == Family.YCBCR and nplanes > 1
    ccount = np.zeros(outs[1].shape, np.float32) if ycc else None
    res_sum, res_n = 0.0, 0
    nbands = -(-ch // band)
    ctx.progress("render", 0, nbands * n)
    steps = 0
    mode = _MODES.get(method, 1 if method == "min-luma" else 2)
    sign = 1.0 if method == "min-luma" else -1.0
    loc = ctx.color.chroma_location
    cox, coy = (loc.offset(csx, csy) if out_layout.family == Family.YCBCR and nplanes > 1
                else (0.0, 0.0))
    for r0 in range(0, ch, band):
        r1 = min(ch, r0 + band)
        rows = []  # per group: canvas rows [a, b) of that group's plane
        for g in groups:
            sy = 1 if g[0] == 0 else csy
            rows.append((r0 // sy, -(-r1 // sy)))
        cover = [fp for fp in ctx.plans
                 if fp.groups[0] is not None and fp.groups[0][2].lo < r1
                 and fp.groups[0][2].hi > r0]
        k = len(cover)
        stacks = [np.full((k, rows[gi][1] - rows[gi][0], outs[p].shape[1]), np.nan, np.float32)
                  for gi, g in enumerate(groups) for p in g]
        # per group, each frame's validity (weight / coverage) where frames carry weights
        vstacks: list[np.ndarray | None] = [None] * len(groups)
        for slot, fp in enumerate(cover):
            planes = ctx.planes(fp)
            valid = ctx.valid(fp)
            for gi, g in enumerate(groups):
                entry = fp.groups[gi]
                if entry is None:
                    continue
                _, px, py0 = entry
                a, b = rows[gi]
                py = py0.sub(a, b)
                if py is None:
                    continue
                cov = axis_or_warp_cover(px, py)
                w2 = ctx.weights(fp, valid, g[0], px, py)
                if w2 is not None:
                    if vstacks[gi] is None:
                        vstacks[gi] = np.zeros(stacks[g[0]].shape, np.float32)
                        for s2, fp2 in enumerate(cover[:slot]):  # earlier frames: valid = 1
                            e2 = fp2.groups[gi]
                            q2 = None if e2 is None else e2[2].sub(a, b)
                            if q2 is not None:
                                vstacks[gi][s2, q2.lo - a:q2.hi - a, e2[1].lo:e2[1].hi] = 1.0
                    vstacks[gi][slot, py.lo - a:py.hi - a, px.lo:px.hi] = \
                        np.divide(w2, cov, out=np.zeros_like(w2), where=cov > COVER_MIN)
                elif vstacks[gi] is not None:
                    vstacks[gi][slot, py.lo - a:py.hi - a, px.lo:px.hi] = 1.0
                miss = (cov if w2 is None else w2) <= COVER_MIN
                for p in g:
                    vals = _values(planes[p], px, py)
                    vals[miss] = np.nan
                    stacks[p][slot, py.lo - a:py.hi - a, px.lo:px.hi] = vals
            steps += 1
            ctx.progress("render", steps, nbands * n)
        steps += n - k
        for gi, g in enumerate(groups):
            _drop_weak(stacks, g, vstacks[gi])
        del vstacks
        ly = stacks[0]
        # coverage count, and the per-pixel variance of Y' where ≥ 2 frames (no temporaries)
        vs, vn = _count_var(ly, count[r0:r1])
        res_sum += vs
        res_n += vn
        if method in ("min-luma", "max-luma") and not ycc and nplanes > 1:
            # R'G'B': the whole pixel comes from the frame with the extreme BT.709 luma.
            lum = 0.2126 * stacks[0] + 0.7152 * stacks[1] + 0.0722 * stacks[2]
            pick = np.where(np.isnan(lum), np.inf, sign * lum).argmin(axis=0)[None]
            for p in range(nplanes):
                outs[p][r0:r1] = np.take_along_axis(stacks[p], pick, axis=0)[0]
        elif method in ("min-luma", "max-luma"):
            outs[0][r0:r1] = _reduce(ly, 1 if method == "min-luma" else 2)
            if nplanes > 1:
                a, b = rows[1]
                c1 = np.full((b - a, outs[1].shape[1]), np.nan, np.float32)
                c2 = np.full_like(c1, np.nan)
                _pick_by_luma(ly, stacks[1], stacks[2], float(csx), float(csy), float(cox),
                              float(coy), sign, c1, c2)
                outs[1][a:b], outs[2][a:b] = c1, c2
        else:
            for gi, g in enumerate(groups):
                a, b = rows[gi]
                for p in g:
                    outs[p][a:b] = _reduce(stacks[p], mode)
        if ccount is not None:
            a, b = rows[1]
            if method in ("min-luma", "max-luma"):
                ccount[a:b] = ~np.isnan(outs[1][a:b])
            else:
                _count_var(stacks[1], ccount[a:b])
        del stacks, ly  # before the next band allocates its stacks
    ctx.progress("render", nbands * n, nbands * n)
    for o in outs:
        np.nan_to_num(o, copy=False, nan=0.0)
    holes = int(np.count_nonzero(count == 0))
    if ccount is not None:
        _fill_chroma_holes(outs, [count, ccount], ctx.layout)
    residual = float(np.sqrt(res_sum / res_n)) if res_n else 0.0
    layout = PlaneLayout(Family.GRAY, 1, 1) if gray_out else out_layout
    return RenderResult(tuple(outs), layout, ctx.color, count, ctx.canvas, method,
                        {"frames": n, "residual": residual, "holes": holes})


def _drop_weak(stacks: list[np.ndarray], group: tuple[int, ...],
               vstack: np.ndarray | None) -> None:
    """Per-frame weights in the statistics renders: a frame's sample takes part where its
    validity is at least half the best validity among the frames there (and above
    ``COVER_MIN``), so masked-out frames drop out wherever some frame sees the place cleanly
    and still fill places no frame sees cleanly (their floor weight)."""
    if vstack is None:
        return
    best = vstack.max(axis=0) if vstack.shape[0] else None
    if best is None:
        return
    weak = vstack < np.maximum(np.float32(0.5) * best, np.float32(COVER_MIN))[None]
    for p in group:
        stacks[p][weak] = np.nan


def _reduce(stack: np.ndarray, mode: int) -> np.ndarray:
    out = np.empty(stack.shape[1:], np.float32)
    if stack.shape[0] == 0:
        out[:] = np.nan
        return out
    from overmix.render.stack_kernels import reduce_kernel  # numba: statistics renders only

    param = WINSOR_FRACTION if mode == 3 else SIGMA_KAPPA
    reduce_kernel(np.ascontiguousarray(stack), mode, param, out)
    return out

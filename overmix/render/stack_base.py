"""Shared parts of the renderers of :mod:`overmix.render.stack`: the result type, the
per-frame sample plans, the render context (a frame's working planes, validity and weights on
the canvas) and the hole handling common to the average and the statistics renders.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from overmix.color.convert import range_constants
from overmix.color.spec import ColorInfo
from overmix.errors import UsageError
from overmix.frame import Family, PlaneLayout
from overmix.geometry import Canvas, Offsets
from overmix.progress import ProgressCallback
from overmix.providers import PlaneProvider
from overmix.render.canvas import PlaneGrid, canvas_grid, canvas_layout, frame_grid
from overmix.render.fill import EXCLUDED, cell_any, fill_excluded, fill_steps
from overmix.render.resample import (
    KERNELS,
    AxisPlan,
    plan_axes,
    resample_plane,
)
from overmix.render.transform import (
    WarpPlan,
    WarpRows,
    plan_warp,
    warp_mask,
    warp_values,
)

DEFAULT_TILE_BUDGET = 256 * 1024 * 1024
# Smallest summed frame weight that gives a canvas value; below it a sample is a hole.
COVER_MIN = 1e-9  # well below the clean still's floor weight (consensus.FLOOR)
NEAR = 0.01  # weight of a usable sample next to a left-out one (see _mask_weights)
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
        # every frame of a transformed scene through the 2-D path: one weighting (phase)
        warp = offsets.has_transform or canvas.scale != 1.0
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


@dataclass
class _Valid:
    """A frame's validity (frame coords, luma resolution, 1 = use): ``hard`` (``mask`` x
    alpha) is shrunk by the kernel support so no tap reads a masked sample; ``soft`` (the
    per-frame weights) is not: its excluded samples are filled from their usable neighbours
    instead (:mod:`overmix.render.fill`), so the usable samples next to them still count."""

    hard: np.ndarray | None
    soft: np.ndarray | None


def _cell_min(v: np.ndarray, layout: PlaneLayout, plane: int) -> np.ndarray:
    """Validity on plane ``plane``'s samples: a chroma sample is valid only if its whole
    cell is."""
    sx, sy = layout.plane_scale(plane)
    if (sx, sy) != (1, 1):
        h, w = v.shape
        ch, cw = -(-h // sy), -(-w // sx)
        v = np.pad(v, ((0, ch * sy - h), (0, cw * sx - w)), mode="edge")
        # the cell's samples as strided views, one minimum each (a reduction over the
        # reshaped axes took ~16 ms per 720p plane)
        cells = [v[i::sy, j::sx] for i in range(sy) for j in range(sx)]
        out = cells[0].copy()
        for c in cells[1:]:
            np.minimum(out, c, out=out)
        v = out
    return v


def _shrunk_valid(valid: _Valid, layout: PlaneLayout, plane: int, taps: int) -> np.ndarray:
    """Validity on plane ``plane``'s samples, its hard part shrunk by ``taps``."""
    out = None
    if valid.hard is not None:
        from scipy import ndimage  # imported when needed: it costs ~0.2 s at start-up

        out = ndimage.minimum_filter(_cell_min(valid.hard, layout, plane).astype(np.float32),
                                     size=taps, mode="nearest")
    if valid.soft is not None:
        soft = _cell_min(valid.soft, layout, plane).astype(np.float32)
        out = soft if out is None else out * soft
    assert out is not None
    return out


def _mask_weights(valid: _Valid, layout: PlaneLayout, plane: int, px: AxisPlan,
                  py: AxisPlan, dst_grid: PlaneGrid, src_grid: PlaneGrid,
                  area_x: tuple[float, float],
                  area_y: tuple[float, float], taps: int, *, near: bool = False) -> np.ndarray:
    """Validity (frame coords, 1 = use) as a weight on the canvas samples of ``px x py``.

    With ``near``, a usable sample whose kernel reaches a left-out one keeps a weight of
    :data:`NEAR` of its own instead of none: better than the left-out samples where no frame
    sees the place whole (the few frames that see the background beside a character)."""
    v = _shrunk_valid(valid, layout, plane, taps)
    if near:
        own = _shrunk_valid(valid, layout, plane, 1)
        v = np.maximum(v, np.float32(NEAR) * own)
    lin = plan_axes(dst_grid, src_grid, area_x, area_y, "linear")
    assert lin is not None
    lx, ly = lin[0].sub(px.lo, px.hi), lin[1].sub(py.lo, py.hi)
    assert lx is not None and ly is not None
    m = resample_plane(v, lx, ly)
    np.clip(m, 0.0, 1.0, out=m)
    m *= py.cover[:, None]
    m *= px.cover[None, :]
    return m


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

    def valid(self, fp: _FramePlan) -> _Valid | None:
        """Validity of a frame (mask x alpha, and the frame weights), or None when all
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
        return None if v is None and fw is None else _Valid(v, fw)

    def fill(self, fp: _FramePlan, planes: Sequence[np.ndarray],
             valid: _Valid | None) -> Sequence[np.ndarray]:
        """The frame's planes (working values or codes) with the samples its weights exclude
        filled from usable neighbours as far as the kernel reaches (:mod:`.fill`)."""
        if valid is None or valid.soft is None:
            return planes
        bad = valid.soft < EXCLUDED
        if not bad.any():
            return planes
        taps = float(KERNELS[self.kernel])
        g0 = fp.groups[0]
        if g0 is not None and isinstance(g0[1], WarpPlan):
            taps *= g0[1].stretch
        steps = fill_steps(taps)
        out = []
        for p, plane in enumerate(planes):
            sx, sy = self.layout.plane_scale(p)
            out.append(fill_excluded(plane, cell_any(bad, sy, sx), steps))
        return out

    def weights(self, fp: _FramePlan, valid: _Valid | None, plane: int,
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
                             *_area(src, float(self.border)), KERNELS[self.kernel],
                             near=self.frame_weights is not None)

    def plane_shape(self, plane: int) -> tuple[int, int]:
        return self.out_layout.plane_shape(plane, self.canvas.height, self.canvas.width)


def _values(src: np.ndarray, px: AxisPlan | WarpPlan,
            py: AxisPlan | WarpRows) -> np.ndarray:
    """A frame plane at the canvas samples of ``px x py`` (either kind of plan)."""
    if isinstance(px, WarpPlan):
        assert isinstance(py, WarpRows)
        return warp_values(src, px, py)
    assert isinstance(py, AxisPlan)
    return resample_plane(src, px, py)


def _count_holes(w: np.ndarray) -> int:
    """Canvas samples with weight ``<= COVER_MIN``."""
    return int(np.count_nonzero(w <= COVER_MIN))


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


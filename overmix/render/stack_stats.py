"""The statistics renders of :mod:`overmix.render.stack` (median, min/max, by-luma, robust
means, difference): the covering frames stacked in row bands of the canvas under a memory
budget, each band reduced per pixel by the numba kernels of :mod:`overmix.render.stack_kernels`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from overmix.frame import Family, PlaneLayout
from overmix.io.prefetch import prefetch
from overmix.render.stack_base import (
    COVER_MIN,
    RenderResult,
    _Ctx,
    _fill_chroma_holes,
    _FramePlan,
    _groups,
    _values,
)
from overmix.render.transform import (
    axis_or_warp_cover,
)

_MODES = {"median": 0, "min": 1, "max": 2, "winsorized": 3, "sigma-clip": 4, "difference": 5}
WINSOR_FRACTION = 0.2
SIGMA_KAPPA = 2.5


@dataclass
class _Bands:
    """The fixed layout of one statistics render: output planes, plane groups, chroma
    subsampling and siting, band height."""

    method: str
    nplanes: int
    groups: list[tuple[int, ...]]
    csx: int
    csy: int
    cox: float
    coy: float
    band: int
    ycc: bool
    outs: list[np.ndarray]
    count: np.ndarray
    ccount: np.ndarray | None


def _plan_bands(ctx: _Ctx, method: str, tile_budget: int) -> _Bands:
    out_layout = ctx.out_layout
    nplanes = 1 if method == "difference" else ctx.layout.nplanes
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
    loc = ctx.color.chroma_location
    cox, coy = (loc.offset(csx, csy) if out_layout.family == Family.YCBCR and nplanes > 1
                else (0.0, 0.0))
    return _Bands(method, nplanes, groups, csx, csy, cox, coy, band, ycc, outs, count, ccount)


def _render_stacks(ctx: _Ctx, method: str, tile_budget: int) -> RenderResult:
    # numba kernels, imported here so the average render does not load numba
    from overmix.render.stack_kernels import count_var as _count_var

    bs = _plan_bands(ctx, method, tile_budget)
    ch = ctx.canvas.height
    n = len(ctx.plans)
    res_sum, res_n = 0.0, 0
    nbands = -(-ch // bs.band)
    ctx.progress("render", 0, nbands * n)
    steps = 0
    for r0 in range(0, ch, bs.band):
        r1 = min(ch, r0 + bs.band)
        rows = []  # per group: canvas rows [a, b) of that group's plane
        for g in bs.groups:
            sy = 1 if g[0] == 0 else bs.csy
            rows.append((r0 // sy, -(-r1 // sy)))
        stacks, steps = _fill_band(ctx, bs, rows, r0, r1, steps, nbands * n)
        ly = stacks[0]
        # coverage count, and the per-pixel variance of Y' where ≥ 2 frames (no temporaries)
        vs, vn = _count_var(ly, bs.count[r0:r1])
        res_sum += vs
        res_n += vn
        _reduce_band(bs, stacks, rows, r0, r1)
        if bs.ccount is not None:
            a, b = rows[1]
            if method in ("min-luma", "max-luma"):
                bs.ccount[a:b] = ~np.isnan(bs.outs[1][a:b])
            else:
                _count_var(stacks[1], bs.ccount[a:b])
        del stacks, ly  # before the next band allocates its stacks
    ctx.progress("render", nbands * n, nbands * n)
    for o in bs.outs:
        np.nan_to_num(o, copy=False, nan=0.0)
    holes = int(np.count_nonzero(bs.count == 0))
    if bs.ccount is not None:
        _fill_chroma_holes(bs.outs, [bs.count, bs.ccount], ctx.layout)
    residual = float(np.sqrt(res_sum / res_n)) if res_n else 0.0
    layout = PlaneLayout(Family.GRAY, 1, 1) if method == "difference" else ctx.out_layout
    return RenderResult(tuple(bs.outs), layout, ctx.color, bs.count, ctx.canvas, method,
                        {"frames": n, "residual": residual, "holes": holes})


def _fill_band(ctx: _Ctx, bs: _Bands, rows: list[tuple[int, int]], r0: int, r1: int,
               steps: int, total: int) -> tuple[list[np.ndarray], int]:
    """The stacks ``(frames, band rows, canvas cols)`` of one row band (NaN where a frame
    does not reach or is dropped as weak); returns them and the progress steps done.

    Frames are resampled by one thread per core (:func:`overmix.io.prefetch.prefetch`; numpy
    releases the GIL), each into its own slot of the stacks, so the stacks are the same
    whatever the threads; the validity bookkeeping follows in frame order."""
    n = len(ctx.plans)
    groups, outs = bs.groups, bs.outs
    cover = [fp for fp in ctx.plans
             if fp.groups[0] is not None and fp.groups[0][2].lo < r1
             and fp.groups[0][2].hi > r0]
    k = len(cover)
    stacks = [np.full((k, rows[gi][1] - rows[gi][0], outs[p].shape[1]), np.nan, np.float32)
              for gi, g in enumerate(groups) for p in g]
    # per group, each frame's validity (weight / coverage) where frames carry weights
    vstacks: list[np.ndarray | None] = [None] * len(groups)

    def fill(slot: int) -> list[_Validity | None]:
        return _fill_frame(ctx, groups, rows, stacks, slot, cover[slot])

    for slot, valids in enumerate(prefetch(fill, range(k))):
        for gi, g in enumerate(groups):
            got = valids[gi]
            if got is None:  # the frame misses this group's rows of the band
                continue
            a, b = rows[gi]
            (lo, hi, c0, c1), v = got
            if v is not None:
                if vstacks[gi] is None:
                    vstacks[gi] = _earlier_valid(stacks[g[0]].shape, cover[:slot], gi, a, b)
                vstacks[gi][slot, lo - a:hi - a, c0:c1] = v
            elif vstacks[gi] is not None:
                vstacks[gi][slot, lo - a:hi - a, c0:c1] = 1.0
        steps += 1
        ctx.progress("render", steps, total)
    steps += n - k
    for gi, g in enumerate(groups):
        _drop_weak(stacks, g, vstacks[gi])
    return stacks, steps


# A frame's part of a band, per group: its canvas rows [lo, hi) and columns [c0, c1), and its
# validity there (weight / coverage) when it carries weights, else None.
_Validity = tuple[tuple[int, int, int, int], "np.ndarray | None"]


def _fill_frame(ctx: _Ctx, groups: list[tuple[int, ...]], rows: list[tuple[int, int]],
                stacks: list[np.ndarray], slot: int,
                fp: _FramePlan) -> list[_Validity | None]:
    """Frame ``fp`` resampled into slot ``slot`` of the band's stacks (NaN where it does not
    reach or carries no weight); per group its :data:`_Validity` (None: not in the band)."""
    valid = ctx.valid(fp)
    planes = ctx.fill(fp, ctx.planes(fp), valid)
    out: list[_Validity | None] = []
    for gi, g in enumerate(groups):
        entry = fp.groups[gi]
        a, b = rows[gi]
        py = None if entry is None else entry[2].sub(a, b)
        if entry is None or py is None:
            out.append(None)
            continue
        px = entry[1]
        cov = axis_or_warp_cover(px, py)
        w2 = ctx.weights(fp, valid, g[0], px, py)
        v = None if w2 is None else \
            np.divide(w2, cov, out=np.zeros_like(w2), where=cov > COVER_MIN)
        out.append(((py.lo, py.hi, px.lo, px.hi), v))
        miss = (cov if w2 is None else w2) <= COVER_MIN
        for p in g:
            vals = _values(planes[p], px, py)
            vals[miss] = np.nan
            stacks[p][slot, py.lo - a:py.hi - a, px.lo:px.hi] = vals
    return out


def _earlier_valid(shape: tuple[int, ...], earlier: list[_FramePlan], gi: int, a: int,
                   b: int) -> np.ndarray:
    """A group's validity stack when the first weighted frame appears: the frames stacked
    before it (``earlier``) carry no weights, so they are valid (1) wherever they reach."""
    v = np.zeros(shape, np.float32)
    for s2, fp2 in enumerate(earlier):
        e2 = fp2.groups[gi]
        q2 = None if e2 is None else e2[2].sub(a, b)
        if q2 is not None:
            v[s2, q2.lo - a:q2.hi - a, e2[1].lo:e2[1].hi] = 1.0
    return v


def _reduce_band(bs: _Bands, stacks: list[np.ndarray], rows: list[tuple[int, int]], r0: int,
                 r1: int) -> None:
    """Reduce one band's stacks into the output planes (``bs.outs``) per ``bs.method``."""
    from overmix.render.stack_kernels import pick_by_luma as _pick_by_luma

    method, nplanes, outs, ly = bs.method, bs.nplanes, bs.outs, stacks[0]
    sign = 1.0 if method == "min-luma" else -1.0
    if method in ("min-luma", "max-luma") and not bs.ycc and nplanes > 1:
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
            _pick_by_luma(ly, stacks[1], stacks[2], float(bs.csx), float(bs.csy),
                          float(bs.cox), float(bs.coy), sign, c1, c2)
            outs[1][a:b], outs[2][a:b] = c1, c2
    else:
        mode = _MODES.get(method, 1 if method == "min-luma" else 2)
        for gi, g in enumerate(bs.groups):
            a, b = rows[gi]
            for p in g:
                outs[p][a:b] = _reduce(stacks[p], mode)


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

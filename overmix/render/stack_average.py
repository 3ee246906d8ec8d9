"""The ``average`` render of :mod:`overmix.render.stack`: running weighted sums, one pass over
the frames (straight from the codes when the provider is a plain :class:`FrameStore`, a frame
split between two threads over disjoint canvas rows), divided in place into the canvas.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from overmix.io.store import FrameStore
from overmix.render.resample import (
    AxisPlan,
    accumulate,
    splat,
)
from overmix.render.stack_base import (
    COVER_MIN,
    RenderResult,
    _count_holes,
    _Ctx,
    _fill_chroma_holes,
    _FramePlan,
    _groups,
    _values,
)
from overmix.render.transform import (
    WarpPlan,
    axis_or_warp_cover,
    warp_phase,
    warp_splat,
)


def _render_average(ctx: _Ctx, disagreement: bool) -> RenderResult:
    nplanes = ctx.layout.nplanes
    sums = [np.zeros(ctx.plane_shape(p), np.float32) for p in range(nplanes)]
    groups = _groups(ctx.layout)
    wsums = [np.zeros(ctx.plane_shape(g[0]), np.float32) for g in groups]
    # frames through a transform are phase-weighted (overmix.render.transform): the sums
    # divide by those weights, the coverage reported is the plain one, summed apart
    warped = any(isinstance(e[1], WarpPlan) for fp in ctx.plans for e in fp.groups
                 if e is not None)
    covs = [np.zeros_like(w) for w in wsums] if warped else None
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
                jobs = _splat_jobs(ctx, fp, codes, sums, wsums, covs, 2 if pool else 1)
                if pool is not None and len(jobs) > 1:
                    for f in [pool.submit(_run_jobs, j) for j in jobs]:
                        f.result()
                else:
                    for j in jobs:
                        _run_jobs(j)
                del codes, jobs
                ctx.progress("render", done, total)
                continue
            _add_resampled(ctx, fp, sums, wsums, covs, sq)
            ctx.progress("render", done, total)
    finally:
        if pool is not None:
            pool.shutdown()
    return _finish_average(ctx, sums, wsums, covs, sq, groups, total)


# Canvas rows below which a frame is not split between two threads.
_SPLIT_MIN_ROWS = 64
_Job = tuple[np.ndarray, AxisPlan, AxisPlan, np.ndarray, "np.ndarray | None", float, float,
             "np.ndarray | None", "np.ndarray | None"]


def _splat_jobs(ctx: _Ctx, fp: _FramePlan, codes: Sequence[np.ndarray],
                sums: list[np.ndarray], wsums: list[np.ndarray],
                covs: list[np.ndarray] | None, parts: int) -> list[list[_Job]]:
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
                                  a, b, w2p, covs[gi] if covs is not None and n == 0
                                  else None))
    return [j for j in out if j]


def _run_jobs(jobs: list[_Job]) -> None:
    for src, px, py, acc, wacc, a, b, w2, cacc in jobs:
        if isinstance(px, WarpPlan):
            warp_splat(src, px, py, acc, wacc, a=a, b=b, w2=w2,  # type: ignore[arg-type]
                       phase=True, cacc=cacc)
        else:  # (a translation frame is warped too when any frame of the scene is)
            splat(src, px, py, acc, wacc, a=a, b=b, w2=w2)


def _add_resampled(ctx: _Ctx, fp: _FramePlan, sums: list[np.ndarray],
                   wsums: list[np.ndarray], covs: list[np.ndarray] | None,
                   sq: np.ndarray | None) -> None:
    """One frame through its working planes (a wrapper provider, or the disagreement)."""
    planes = ctx.planes(fp)
    valid = ctx.valid(fp)
    for gi, entry in enumerate(fp.groups):
        if entry is None:
            continue
        g, px, py = entry
        w2 = ctx.weights(fp, valid, g[0], px, py)
        if isinstance(px, WarpPlan):
            if w2 is None:
                w2 = axis_or_warp_cover(px, py)
            if covs is not None:
                accumulate(covs[gi], None, px, py, w2, power=0)  # type: ignore[arg-type]
            ph = warp_phase(px, py)  # type: ignore[arg-type]
            if ph is not None:
                w2 = w2 * ph
        accumulate(wsums[gi], None, px, py, w2, power=0)  # type: ignore[arg-type]
        for p in g:
            vals = _values(planes[p], px, py)
            accumulate(sums[p], vals, px, py, w2, power=1)  # type: ignore[arg-type]
            if p == 0 and sq is not None:
                accumulate(sq, vals, px, py, w2, power=2)  # type: ignore[arg-type]
            del vals
    del planes


def _finish_average(ctx: _Ctx, sums: list[np.ndarray], wsums: list[np.ndarray],
                    covs: list[np.ndarray] | None, sq: np.ndarray | None,
                    groups: list[tuple[int, ...]], total: int) -> RenderResult:
    # mean = sum / weight in place: the sums become the canvas (no temporaries); when
    # phase-weighted, a value wherever the plain coverage gives one
    for gi, g in enumerate(groups):
        ok = None if covs is None else (covs[gi] > COVER_MIN) & (wsums[gi] > 0)
        for p in g:
            _divide(sums[p], wsums[gi], ok)
    residual = _residual(sq, sums[0], wsums[0], None if covs is None else covs[0]) \
        if sq is not None else None
    del sq
    if covs is not None:
        wsums = covs
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


def _divide(s: np.ndarray, w: np.ndarray, ok: np.ndarray | None = None) -> None:
    """``s /= w`` in place (float32, same shape) where ``ok`` (default ``w > COVER_MIN``),
    else 0."""
    if ok is None:
        ok = w > COVER_MIN
    np.divide(s, w, out=s, where=ok)
    s[~ok] = 0.0


def _residual(sq: np.ndarray, mean: np.ndarray, w: np.ndarray,
              cover: np.ndarray | None = None) -> float:
    """RMS over pixels with total coverage > 1.5 of the per-pixel weighted std of Y' (``w``
    the weights summed, ``cover`` the coverage when it differs)."""
    ok = (w if cover is None else cover) > 1.5
    n = int(np.count_nonzero(ok))
    if not n:
        return 0.0
    m = mean[ok].astype(np.float64)
    v = sq[ok] / w[ok].astype(np.float64) - m * m
    return float(np.sqrt(np.maximum(v, 0.0).sum() / n))

"""The ``average`` render of :mod:`overmix.render.stack`: running weighted sums, one pass over
the frames (straight from the codes when the provider is a plain :class:`FrameStore`, in
canvas row strips shared by worker threads), divided in place into the canvas.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable

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
from overmix.render.strips import (
    MIN_STRIP_ROWS,
    STRIP_ROWS,
    STRIPS_PER_WORKER,
    Cover,
    GroupSplat,
    add_covers,
)
from overmix.render.transform import (
    WarpPlan,
    WarpRows,
    axis_or_warp_cover,
    warp_phase,
    warp_splat,
)


def _render_average(ctx: _Ctx, disagreement: bool) -> RenderResult:
    groups = _groups(ctx.layout)
    # one (planes, H, W) sum per plane group (the strip splat adds to all its planes at once)
    stacked = [np.zeros((len(g), *ctx.plane_shape(g[0])), np.float32) for g in groups]
    sums = [stacked[gi][i] for gi, g in enumerate(groups) for i in range(len(g))]
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
    if fused:
        _splat_frames(ctx, stacked, wsums, covs)
    else:
        for done, fp in enumerate(ctx.plans, 1):
            _add_resampled(ctx, fp, sums, wsums, covs, sq)
            ctx.progress("render", done, total)
    return _finish_average(ctx, sums, wsums, covs, sq, groups, total)


def _splat_frames(ctx: _Ctx, sums: list[np.ndarray], wsums: list[np.ndarray],
                  covs: list[np.ndarray] | None) -> None:
    """Every frame splatted straight from its codes (no float copy of the frame, no
    resampled one), in canvas row strips (:mod:`overmix.render.strips`).

    With two or more cores the strips are dealt in turn to :func:`render_threads` worker
    threads, each owning its strips for the whole render (numpy releases the GIL); the main
    thread reads the next frame and plans its strips meanwhile. Each canvas sample gets the
    same additions in the same frame order whichever thread owns it (identical results)."""
    workers = render_threads()
    bands = _bands(ctx, workers)
    total = len(ctx.plans)
    # the plain coverage of the strip-splatted frames is added at the end, all at once
    covers: list[list[Cover]] = [[] for _ in wsums]
    if workers == 1:
        bufs: dict[str, np.ndarray] = {}
        for done, fp in enumerate(ctx.plans, 1):
            for jobs in _strip_jobs(ctx, fp, sums, wsums, covs, bands, 1, covers):
                _run(jobs, bufs)
            ctx.progress("render", done, total)
    else:
        crew = _Crew(workers)
        try:
            for done, fp in enumerate(ctx.plans, 1):
                crew.submit(_strip_jobs(ctx, fp, sums, wsums, covs, bands, workers, covers))
                ctx.progress("render", done - 1, total)
        finally:
            crew.close()
        ctx.progress("render", total, total)
    for w, c in zip(wsums, covers, strict=True):
        add_covers(w, c)


def render_threads() -> int:
    """Threads of the average render: the cores, at most 4 (``OVERMIX_THREADS`` overrides,
    as for decoding)."""
    from overmix.io.prefetch import decode_workers

    return decode_workers()


def _bands(ctx: _Ctx, workers: int = 1) -> list[int]:
    """Luma canvas row cuts of the strips ``[0, step, 2 step, ..., H]``, on whole chroma
    rows: ``STRIP_ROWS`` rows, fewer on a canvas that would give one of several ``workers``
    fewer than ``STRIPS_PER_WORKER`` strips (not below ``MIN_STRIP_ROWS``)."""
    h = ctx.plane_shape(0)[0]
    step = STRIP_ROWS
    if workers > 1:
        step = min(step, max(MIN_STRIP_ROWS, -(-h // (STRIPS_PER_WORKER * workers))))
    for g in _groups(ctx.layout):
        sy = _row_ratio(ctx, g[0])
        step = max(sy, step - step % sy)
    return [*range(0, h, step), h]


def _row_ratio(ctx: _Ctx, plane: int) -> int:
    """Luma canvas rows per row of ``plane``'s canvas."""
    return max(1, round(ctx.plane_shape(0)[0] / max(1, ctx.plane_shape(plane)[0])))


_Job = tuple[Callable[..., None], tuple[object, ...]]


def _strip_jobs(ctx: _Ctx, fp: _FramePlan, sums: list[np.ndarray], wsums: list[np.ndarray],
                covs: list[np.ndarray] | None, bands: list[int], workers: int,
                covers: list[list[Cover]]) -> list[list[_Job]]:
    """The splats of one frame (``sums``: one (planes, H, W) array per plane group; ``covs``
    the plain coverage sums of a phase-weighted render), per worker: strip b of every plane
    goes to worker ``b % workers`` (so a worker always adds to the same canvas rows). A
    group splatted whole without per-sample weights leaves its coverage to ``covers[group]``
    (:func:`~overmix.render.strips.add_covers`) instead of adding it strip by strip."""
    codes = ctx.provider.frame(fp.k).planes  # type: ignore[attr-defined]
    affine = ctx.affine(fp)
    valid = ctx.valid(fp)
    codes = ctx.fill(fp, codes, valid)
    out: list[list[_Job]] = [[] for _ in range(workers)]
    for gi, entry in enumerate(fp.groups):
        if entry is None:
            continue
        g, px, py = entry
        w2 = ctx.weights(fp, valid, g[0], px, py)
        sy = _row_ratio(ctx, g[0])
        nrows = ctx.plane_shape(g[0])[0]
        cuts = [min(c // sy, nrows) for c in bands[:-1]] + [nrows]
        a, b = affine[g[0]]
        whole = None
        if covs is None and all(affine[p] == (a, b) for p in g):
            whole = GroupSplat.make([codes[p] for p in g], px, py, sums[gi],
                                    wsums[gi] if w2 is not None else None, a, b, w2)
            if whole is not None and w2 is None:
                covers[gi].append(Cover(py.lo, py.cover, px.lo, px.cover))
        for s in range(len(cuts) - 1):
            i0, i1 = max(cuts[s], py.lo), min(cuts[s + 1], py.hi)
            if i0 >= i1:
                continue
            if whole is not None:
                out[s % workers].append((whole.run, (i0, i1)))
                continue
            sub = py.sub(i0, i1)
            w2p = None if w2 is None else w2[i0 - py.lo:i1 - py.lo]
            for n, p in enumerate(g):
                pa, pb = affine[p]
                first = n == 0
                out[s % workers].append((_splat_sub, (
                    codes[p], px, sub, sums[gi][n], wsums[gi] if first else None, pa, pb, w2p,
                    covs[gi] if covs is not None and first else None)))
    return out


def _splat_sub(src: np.ndarray, px: AxisPlan | WarpPlan, py: AxisPlan | WarpRows,
               acc: np.ndarray, wacc: np.ndarray | None, a: float, b: float,
               w2: np.ndarray | None, cacc: np.ndarray | None,
               bufs: dict[str, np.ndarray]) -> None:
    """A strip of a plan the strip path does not take (a transform, other pitches)."""
    if isinstance(px, WarpPlan):
        warp_splat(src, px, py, acc, wacc, a=a, b=b, w2=w2,  # type: ignore[arg-type]
                   phase=True, cacc=cacc)
    else:  # (a translation frame is warped too when any frame of the scene is)
        splat(src, px, py, acc, wacc, a=a, b=b, w2=w2)  # type: ignore[arg-type]


def _run(jobs: list[_Job], bufs: dict[str, np.ndarray]) -> None:
    for fn, args in jobs:
        fn(*args, bufs)


class _Crew:
    """Worker threads, each running its own queue of job lists in order (bounded: the
    main thread waits when a worker is :data:`AHEAD` frames behind). The first error is
    raised by :meth:`close` (the workers then skip the rest)."""

    AHEAD = 2

    def __init__(self, n: int) -> None:
        self.queues: list[queue.Queue[list[_Job] | None]] = [
            queue.Queue(self.AHEAD) for _ in range(n)]
        self.error: BaseException | None = None
        self.threads = [threading.Thread(target=self._work, args=(q,), daemon=True,
                                         name="overmix-render") for q in self.queues]
        for t in self.threads:
            t.start()

    def _work(self, q: queue.Queue[list[_Job] | None]) -> None:
        bufs: dict[str, np.ndarray] = {}
        while (jobs := q.get()) is not None:
            if self.error is None:
                try:
                    _run(jobs, bufs)
                except BaseException as exc:  # noqa: BLE001 - re-raised by close()
                    self.error = exc

    def submit(self, per_worker: list[list[_Job]]) -> None:
        if self.error is not None:
            raise self.error
        for q, jobs in zip(self.queues, per_worker, strict=True):
            if jobs:
                q.put(jobs)

    def close(self) -> None:
        for q in self.queues:
            q.put(None)
        for t in self.threads:
            t.join()
        if self.error is not None:
            raise self.error


def _add_resampled(ctx: _Ctx, fp: _FramePlan, sums: list[np.ndarray],
                   wsums: list[np.ndarray], covs: list[np.ndarray] | None,
                   sq: np.ndarray | None) -> None:
    """One frame through its working planes (a wrapper provider, or the disagreement)."""
    valid = ctx.valid(fp)
    planes = ctx.fill(fp, ctx.planes(fp), valid)
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

"""The restoration stages of a stitch, on the rendered canvases (DESIGN §6 "Restore"):
``--mosaic``, ``--scale`` (multi-frame super-resolution) and ``--deconvolve``.

Each stage imports its algorithm on first use: they load scipy, which a default stitch (no
restoration) does not need."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from overmix.commands.options import StitchOptions
from overmix.commands.stages import load_mask, positions
from overmix.errors import InputError
from overmix.frame import Family
from overmix.geometry import Offsets
from overmix.io.store import FrameStore
from overmix.progress import ProgressCallback, no_progress
from overmix.render.stack import RenderResult


def restore_canvas(store: FrameStore, offsets: Offsets, renders: list[RenderResult],
                   opts: StitchOptions, progress: ProgressCallback = no_progress,
                   ) -> list[RenderResult]:
    """Restoration stages on the rendered canvases (``--scale``, ``--deconvolve``,
    ``--mosaic``, ``--jpeg``, ``--logo``); each returns new RenderResults."""
    if opts.mosaic == "auto":
        renders = [_restore_mosaic(store, offsets, r, a, progress)
                   for a, r in zip(sorted(set(offsets.anim)), renders, strict=True)]
    if opts.scale is not None:
        renders = [_restore_scale(store, offsets, r, a, opts, progress)
                   for a, r in zip(sorted(set(offsets.anim)), renders, strict=True)]
    if opts.deconvolve:
        renders = [_restore_deconvolve(r, opts, progress) for r in renders]
    return renders


def _anim_rows(store: FrameStore, offsets: Offsets, anim: int) -> tuple[list[int], np.ndarray]:
    """Store positions and offsets of the frames of animation frame ``anim``."""
    pos = positions(store, offsets)
    rows = [n for n, g in enumerate(offsets.anim) if g == anim]
    return [pos[n] for n in rows], offsets.xy[rows]


def _restore_scale(store: FrameStore, offsets: Offsets, res: RenderResult, anim: int,
                   opts: StitchOptions, progress: ProgressCallback) -> RenderResult:
    """``--scale S``: multi-frame super-resolution of every plane (overmix.restore.superres)."""


    assert store.layout is not None and store.color is not None and opts.scale is not None
    pos, xy = _anim_rows(store, offsets, anim)
    lay = store.layout
    sub = (lay.sub_x, lay.sub_y) if lay.family == Family.YCBCR else (1, 1)
    valid = None
    if opts.mask or opts.border > 0:  # the same samples the render ignores
        assert store.shape is not None
        valid = np.ones(store.shape, np.float32)
        if opts.mask:
            valid[load_mask(opts.mask, store.shape)] = 0.0
        b = opts.border
        if b > 0:
            valid[:b], valid[-b:], valid[:, :b], valid[:, -b:] = 0.0, 0.0, 0.0, 0.0
    from overmix.restore.superres import superresolve_planes
    planes, weight = superresolve_planes(
        lambda k: store.planes(pos[k]), len(pos), xy, res.canvas, scale=float(opts.scale),
        subsampling=sub, chroma_offset=store.color.chroma_location.offset(*sub),
        ycbcr=lay.family == Family.YCBCR,
        full_chroma=lay.family == Family.YCBCR and res.layout.sub_x == 1 and sub != (1, 1),
        valid=valid, progress=progress)
    stats = {**res.stats, "scale": float(opts.scale), "holes": int((weight <= 0).sum())}
    return replace(res, planes=planes, coverage=weight, stats=stats)


def _restore_deconvolve(res: RenderResult, opts: StitchOptions,
                        progress: ProgressCallback) -> RenderResult:
    """``--deconvolve SIGMA[:ITERS]``: Richardson-Lucy on Y' (every plane for RGB)."""


    assert opts.deconvolve is not None
    from overmix.restore.deconvolve import parse_deconvolve, richardson_lucy
    from overmix.restore.inpaint import fill_nearest

    sigma, iters = parse_deconvolve(opts.deconvolve)
    planes = list(res.planes)
    which = range(len(planes)) if res.layout.family == Family.RGB else [0]
    valid = res.coverage > 0
    for p in which:
        src = fill_nearest(planes[p], valid) if not valid.all() else planes[p]
        out = richardson_lucy(src, sigma=sigma, iterations=iters, progress=progress)
        planes[p] = np.where(valid, np.clip(out, 0.0, 1.0), planes[p]).astype(np.float32)
    return replace(res, planes=tuple(planes), stats={**res.stats, "deconvolve": opts.deconvolve})


def _restore_mosaic(store: FrameStore, offsets: Offsets, res: RenderResult, anim: int,
                    progress: ProgressCallback) -> RenderResult:
    """``--mosaic auto``: detect a screen-fixed mosaic and recover the drawing under it."""


    assert store.layout is not None and store.color is not None
    pos, xy = _anim_rows(store, offsets, anim)
    from overmix.restore.mosaic import detect_mosaic, recover_mosaic

    info = detect_mosaic(lambda k: store.luma(pos[k]), len(pos))
    if info is None:
        raise InputError("--mosaic auto: no mosaic censor found in the frames")
    lay = store.layout
    planes = list(res.planes)
    out = recover_mosaic(lambda k: store.luma(pos[k]), len(pos), xy, res.canvas, info,
                         progress=progress)
    planes[0] = out.plane
    sub = (lay.sub_x, lay.sub_y) if lay.family == Family.YCBCR else (1, 1)
    native = res.layout.sub_x == sub[0] and res.layout.sub_y == sub[1]
    if len(planes) > 1 and native and sub[0] == sub[1] and info.block % sub[0] == 0 \
            and all(ph % sub[0] == 0 for ph in info.phase):
        off = store.color.chroma_location.offset(*sub) if sub != (1, 1) else (0.0, 0.0)
        for p in range(1, len(planes)):
            planes[p] = recover_mosaic(lambda k, p=p: store.planes(pos[k])[p], len(pos), xy,
                                       res.canvas, info, plane_sub=sub, plane_offset=off,
                                       progress=progress).plane
    stats = {**res.stats, "mosaic": {"block": info.block, "phase": list(info.phase),
                                     "recovered_fraction": out.recovered_fraction}}
    return replace(res, planes=tuple(planes), stats=stats)

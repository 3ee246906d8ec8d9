"""``overmix stitch``: source -> store -> align -> render -> restore -> output (DESIGN §1, §6).

The driver runs the stages of :mod:`overmix.commands.stages` (load, mask, render), the
placement of :mod:`overmix.commands.placement` (align, animation, overlay, lighting, the
clean-still consensus and the second alignment: what ``align`` runs too),
:mod:`overmix.commands.restoration` (mosaic, super-resolution, deconvolution) and
:mod:`overmix.commands.output` (colour conversion once, at the end).
``--jpeg`` inputs take their own driver (:mod:`overmix.commands.stitch_jpeg`).

Everything stays in Y'CbCr working planes until the last stage. Progress goes to one callback
with the stages ``load``, ``align``, ``render`` (and the optional ones' own names).
"""

from __future__ import annotations

import os
import time

import numpy as np

from overmix.commands.clean_ahead import CleanReads
from overmix.commands.clean_plan import CleanPlan
from overmix.commands.keep import paste_kept
from overmix.commands.options import StitchOptions
from overmix.commands.output import (
    STITCH_SUFFIXES,
    StitchResult,
    project_drops,
    write_output,
    write_overlay,
    write_project,
)
from overmix.commands.paths import check_not_input, check_output_file
from overmix.commands.placement import place_and_light, settle
from overmix.commands.restoration import restore_canvas
from overmix.commands.stages import (
    OverlayInfo,
    find_overlay,
    loaded,
    merge_animation,
    positions,
    render_canvas,
    settle_load_time,
    union,
)
from overmix.geometry import Offsets
from overmix.io.spill import ArraySpill, made_once
from overmix.io.store import FrameStore
from overmix.memory import release_memory
from overmix.progress import ProgressCallback, no_progress
from overmix.registration.masks import SceneMasks
from overmix.render.resample import KERNELS
from overmix.render.stack import RenderResult

__all__ = ["StitchOptions", "StitchResult", "stitch", "summarize"]


def stitch(input_path: str | os.PathLike[str], opts: StitchOptions | None = None,
           progress: ProgressCallback = no_progress, *,
           output: str | os.PathLike[str] | None = None) -> StitchResult:
    """Stitch the frames of ``input_path`` into one canvas (written to ``output`` if given).

    Raises
    ------
    InputError, AlignmentError, UsageError, UnsupportedError, OutputError
        With a one-line message naming the problem (frames of different sizes or formats, a
        single frame, frames that do not overlap, offsets for frames not in the input, ...).
    """
    opts = (opts or StitchOptions()).check()
    logo_file = opts.logo if opts.logo not in ("auto", "off", "on") else None
    check_not_input([input_path, opts.mask, opts.offsets, logo_file],
                    [output, opts.save_offsets, opts.save_project, opts.extract_overlay])
    if output is not None:
        check_output_file(output, suffixes=STITCH_SUFFIXES)
    if opts.jpeg:
        from overmix.commands.stitch_jpeg import stitch_jpeg  # lazy: restore.jpeg loads scipy

        return stitch_jpeg(input_path, opts, progress, output=output)
    timings: dict[str, float] = {}
    with loaded(input_path, opts, progress, timings) as (store, ignore):
        offsets, overlay, masks, gains, lighting, reads = place_and_light(
            store, opts, ignore, progress, timings)
        settle_load_time(store, timings)
        t = time.perf_counter()
        relit: dict[str, object] = {}
        renders, plan, offsets = _render(store, offsets, opts, ignore, overlay, gains,
                                         progress, masks, timings, reads, relit)
        lighting = relit or lighting
        placed = overlay
        if overlay is None and opts.logo == "auto":
            overlay = plan.overlay  # found by the clean still
        if opts.save_offsets:
            offsets.save(opts.save_offsets)
        if opts.extract_overlay:
            # the clean still's mask takes a logo's antialiased rim too, and its alpha there
            # is a guess: the file holds the overlay found against the stitched background
            shown = placed if placed is not None else \
                find_overlay(store, offsets, opts, None, progress)
            write_overlay(shown, store, opts.extract_overlay, opts)
        warnings: list[str] = []
        if opts.save_project:
            write_project(store, offsets, opts.save_project,
                          union(ignore, None if overlay is None else overlay.mask))
            warnings += project_drops(offsets)
        timings["render"] = time.perf_counter() - t - timings.get("consensus", 0.0)
        summary = summarize(store, offsets, renders, timings)
        if lighting is not None:
            summary["lighting"] = lighting
        if plan.overlay is not None:
            summary["overlay_pixels"] = int(plan.overlay.mask.sum())
        if plan.consensus is not None:
            summary["masked"] = dict(plan.consensus.stats)
            if plan.edge_mask is not None:  # dirty border lines left out of every frame
                summary["masked"]["frame_edges"] = dict(plan.edges or {})
        if warnings:
            summary["warnings"] = [*summary.get("warnings", []), *warnings]
    result = StitchResult(renders, offsets, offsets.canvas, renders[0].color, summary, masks)
    release_memory()
    if output is not None:
        t = time.perf_counter()
        files = write_output(result, output, opts)
        timings["output"] = time.perf_counter() - t
        summary["outputs"] = [str(f) for f in files]
    return result


def _render(store: FrameStore, offsets: Offsets, opts: StitchOptions,
            ignore: np.ndarray | None, overlay: OverlayInfo | None,
            gains: np.ndarray | None, progress: ProgressCallback,
            masks: SceneMasks | None = None, timings: dict[str, float] | None = None,
            reads: CleanReads | None = None, relit: dict[str, object] | None = None
            ) -> tuple[list[RenderResult], CleanPlan, Offsets]:
    """Clean-still masks (timed as ``consensus`` into ``timings``), render (lighting
    ``gains`` undone, None: as decoded), animation merge and restoration (stage
    ``render``); returns the canvases, the clean-still plan and the final offsets
    (:func:`overmix.commands.placement.settle`: what ``align`` writes too, with the lighting
    gains fitted again without a second plane; ``relit`` filled as ``settle`` fills it)."""
    t = time.perf_counter()
    plan, offsets = settle(store, offsets, opts, ignore, overlay, gains, progress, masks,
                           reads=reads, relit=relit)
    if gains is not None:  # fitted again without a second plane (settle)
        gains = None if offsets.gains is None else np.asarray(offsets.gains, np.float64)
    if timings is not None:
        timings["consensus"] = time.perf_counter() - t
    assert plan is not None
    provider, weights, fweights = store, None, None
    ov = plan.overlay
    if opts.overlays == "remove" and ov is not None and ov.alpha is not None:
        from overmix.restore.overlay import OverlayRemoved  # lazy: scipy

        provider = OverlayRemoved(store, ov.color or [], ov.alpha)
    if len(set(offsets.anim)) == 1:
        pos = positions(store, offsets)
        fweights = plan.frame_weights({p: n for n, p in enumerate(pos)}, opts.overlays,
                                      KERNELS[opts.kernel],
                                      None if offsets.has_transform else offsets.xy,
                                      store.luma)
    elif opts.logo != "off" and ov is not None and ov.alpha is not None:
        from overmix.restore.overlay import overlay_weights

        weights = overlay_weights(ov.alpha)
    again = fweights is not None and opts.render == "average" and \
        not offsets.has_transform and offsets.canvas.scale == 1.0
    with ArraySpill(opts.tmp_dir) as spill:
        if again:
            # asked for again by the doubt and the second render: made once (~0.16 s a 720p
            # frame), read back from the spill folder (~1 ms)
            fweights = made_once(fweights, spill)  # type: ignore[arg-type]
        renders = render_canvas(provider, offsets, opts, ignore, gains,  # type: ignore
                                progress, weights=weights, frame_weights=fweights)
        if again:
            from overmix.commands.clean_doubt import doubt_weights

            # the places no frame sees at full weight beside a moving thing: their views
            # chosen on their values (overmix.render.doubtful), rendered again
            decided = doubt_weights(fweights, {p: n for n, p in enumerate(pos)},  # type: ignore
                                    offsets, plan.moving_mask, store.luma,
                                    renders[0].planes[0], renders[0].coverage)
            if decided is not None:
                renders = render_canvas(provider, offsets, opts, ignore, gains,  # type: ignore
                                        progress, weights=weights, frame_weights=decided)
    renders = merge_animation(provider, offsets, opts, renders, ignore, gains,  # type: ignore
                              weights, progress)
    if len(renders) == 1:
        renders = [paste_kept(store, offsets, opts, plan, renders[0], progress)]
    return restore_canvas(store, offsets, renders, opts, progress), plan, offsets


def summarize(store: FrameStore, offsets: Offsets, renders: list[RenderResult] | None,
              timings: dict[str, float]) -> dict[str, object]:
    """The summary of a stitch or an alignment (see :class:`StitchResult`)."""
    cv = offsets.canvas
    out: dict[str, object] = {
        "input_frames": len(store),
        "frames": len(offsets),
        "frame_size": {"width": offsets.frame_width, "height": offsets.frame_height},
        "canvas": cv.to_json(),
        "timings": timings,
    }
    for key in ("residual_rms", "residual_max", "rejected_pairs", "unaligned_frames",
                "motion", "left_out", "masks", "follow"):
        if key in offsets.extra:
            out[key if key != "residual_rms" else "residual_px"] = offsets.extra[key]
    follow = offsets.extra.get("follow")
    if isinstance(follow, dict) and follow.get("warning"):  # the alignment's doubt
        out["warnings"] = [str(follow["warning"])]
    if "left_out" in offsets.extra:
        out["used_frames"] = [int(i) for i in offsets.indices]
    if renders:
        out["render"] = renders[0].method
        if "residual" in renders[0].stats:
            out["disagreement"] = float(renders[0].stats["residual"])  # type: ignore[arg-type]
        out["holes"] = int(renders[0].stats.get("holes", 0))
        out["animation_frames"] = len(renders)
    return out

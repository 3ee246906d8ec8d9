"""Where every frame goes: the offsets ``stitch`` renders with and ``align`` writes (DESIGN §7).

Both commands run the same stages, so ``overmix align -o off.json`` then ``overmix stitch
--offsets off.json`` places the frames exactly as a plain ``overmix stitch`` does (and as its
``--save-offsets`` file says):

1. :func:`place`: the alignment, aligned again without a detected logo and without
   animated parts (stage ``align``);
2. :func:`light`: the lighting gains (``--lighting``), recorded with the offsets;
3. :func:`settle`: the clean-still stage's consensus (:mod:`overmix.commands.clean`), the
   frames aligned again without the moving foreground it found and the alignment did not,
   and a second plane panning at its own speed (:mod:`overmix.commands.realign`).

:func:`final_offsets` runs the three for ``align``; ``stitch`` runs :func:`place_and_light`
(the first two, timed) and then :func:`settle` in its render, which uses the clean-still
plan it returns.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np

from overmix.commands.clean import clean_still_runs, find_clean, finish_clean
from overmix.commands.clean_ahead import CleanReads
from overmix.commands.clean_plan import CleanPlan
from overmix.commands.options import StitchOptions
from overmix.commands.realign import evidence_check, find_layer, realign_foreground
from overmix.commands.stages import (
    OverlayInfo,
    align_store,
    compute_offsets,
    estimate_lighting,
    find_overlay,
    grow,
    logo_mask,
    positions,
    realign_animation,
    separate_animation,
    union,
    with_canvas_scale,
)
from overmix.geometry import Offsets
from overmix.io.loading import reading
from overmix.io.prefetch import decode_workers
from overmix.io.store import FrameStore
from overmix.memory import release_memory
from overmix.progress import ProgressCallback, no_progress
from overmix.registration.masks import SceneMasks
from overmix.render.layers import LayerLabel

__all__ = ["final_offsets", "light", "place", "place_and_light", "settle"]


def place(store: FrameStore, opts: StitchOptions, ignore: np.ndarray | None,
          progress: ProgressCallback = no_progress,
          ) -> tuple[Offsets, OverlayInfo | None, SceneMasks | None]:
    """Offsets (read or aligned), the static overlay, the animation ids and the scene masks
    (stage ``align``).

    A detected logo pulls the alignment towards zero motion, and animated parts towards the
    character's motion: the frames are aligned again with those masked out."""
    given_logo = logo_mask(store, opts)
    aligned = opts.offsets is None
    masks: SceneMasks | None = None
    with reading(store):  # the frames may still be decoding (io.loading)
        if aligned:
            found = align_store(store, opts, union(ignore, given_logo), progress)
            offsets, masks = found.offsets, found.masks
        else:
            offsets = compute_offsets(store, opts, union(ignore, given_logo), progress)
    # --logo auto (and --extract-overlay): the clean still finds the overlay over camera
    # travel (commands.clean); only where it does not run is it detected here
    defer = given_logo is None and clean_still_runs(offsets, opts)
    overlay = None if defer else find_overlay(store, offsets, opts, given_logo, progress)
    if overlay is not None and given_logo is None and overlay.mask.any() and aligned:
        found = align_store(store, opts, union(ignore, grow(overlay.mask)), progress)
        offsets, masks = found.offsets, found.masks
    offsets = separate_animation(store, offsets, opts, progress)
    if defer and not clean_still_runs(offsets, opts):  # animation frames after all
        overlay = find_overlay(store, offsets, opts, None, progress)
    if len(set(offsets.anim)) > 1 and aligned:
        logo = None if overlay is None else grow(overlay.mask)
        offsets = realign_animation(store, offsets, opts, union(ignore, logo), progress)
    if aligned:
        offsets = with_canvas_scale(offsets, opts)
    return offsets, overlay, masks


def light(store: FrameStore, offsets: Offsets, opts: StitchOptions, ignore: np.ndarray | None,
          overlay: OverlayInfo | None, progress: ProgressCallback = no_progress,
          masks: SceneMasks | None = None, workers: int | None = None,
          ) -> tuple[Offsets, np.ndarray | None, dict[str, object] | None]:
    """The lighting stage: the offsets with the gains recorded (read back by ``--offsets``),
    the gains (None: as decoded) and the summary's ``lighting`` entry (None when not run);
    ``workers``: its reading threads (default: the cores)."""
    logo_ignore = None if overlay is None else grow(overlay.mask)
    gains, lighting = estimate_lighting(store, offsets, opts, union(ignore, logo_ignore),
                                        progress, masks, workers)
    if gains is not None:
        offsets = replace(offsets, gains=gains)
    return offsets, gains, lighting


def settle(store: FrameStore, offsets: Offsets, opts: StitchOptions,
           ignore: np.ndarray | None, overlay: OverlayInfo | None,
           gains: np.ndarray | None, progress: ProgressCallback = no_progress,
           masks: SceneMasks | None = None, *, plan: bool = True,
           reads: CleanReads | None = None,
           relit: dict[str, object] | None = None) -> tuple[CleanPlan | None, Offsets]:
    """The clean-still plan (None with ``plan=False``: ``align`` needs the offsets alone)
    and the final offsets: aligned again without the moving foreground the clean-still
    stage found and the alignment did not, with a second plane (parallax) labelled and
    left out of the still (:mod:`overmix.commands.realign`).

    The alignment's screen-fixed ``masks`` (overlays, bars) are the consensus's prior
    weights: they neither vote nor render where others see clean. Its moving-foreground maps
    are not: found between neighbours at the coarse level, they also take the background
    just beside a slow character, which the few frames that see it there need; the
    clean-still stage finds the foreground itself (:mod:`overmix.render.foreground`).

    The first consensus's full-resolution redrawing (screen-fixed content, a persistent
    overlay) is done only when its plan is the one rendered: a second plane makes a new
    one. ``reads``: the first consensus's reads made ahead (:func:`place_and_light`).

    The lighting ``gains`` were fitted before the plane was known, and a plane moving
    against the background over much of the frame reads as a change of light (640x360
    parallax, 60 frames, seed 2: gains 0.74-1.07 on a scene without any): with a plane and
    gains, they are fitted again without it, recorded in the returned offsets (None: as
    decoded), and ``relit`` (when given) is filled with the summary's new ``lighting``
    entry."""
    prior = fixed = None
    if masks is not None and masks.found():  # not a clean pan's codec specks
        pos = positions(store, offsets)
        prior = lambda n: (~masks.overlay(pos[n])).astype(np.float32)  # noqa: E731 (row -> pos)
        fixed = lambda n: masks.overlay(pos[n])  # noqa: E731 (redrawn at full resolution)
    ov = overlay if opts.logo != "off" else None
    first = find_clean(store, offsets, opts, ov, prior, progress, gains=gains,
                       fixed_prior=fixed, finish=False, reads=reads)
    release_memory()  # the reduced frames and residual maps, freed in the check's threads
    known = union(ignore, None if overlay is None else grow(overlay.mask))
    evidence = None if first.consensus is None else \
        evidence_check(store, first.consensus, known, gains)  # asked by both, once per offsets
    settled = realign_foreground(store, offsets, opts, first, masks, known, progress, evidence)
    layer = find_layer(store, settled, opts, first, masks, known, gains, progress, evidence)
    if layer is not None:
        settled = with_layer(settled, layer)
        if gains is not None and opts.offsets is None:  # gains read back stay as given
            gains, info = estimate_lighting(store, replace(settled, gains=None), opts,
                                            known, progress, masks, plane=layer.mask)
            settled = replace(settled, gains=gains)
            if relit is not None and info is not None:
                relit.update(info)
    if not plan:
        return None, settled
    if layer is None:  # the first consensus is the plan (its masks are in frame coordinates)
        return finish_clean(store, offsets, opts, first, progress), settled
    del first
    release_memory()
    # a second plane (parallax): the consensus again, without it
    return find_clean(store, settled, opts, ov, prior, progress, gains=gains,
                      fixed_prior=fixed, layer=layer), settled


def with_layer(offsets: Offsets, layer: LayerLabel) -> Offsets:
    """The summary's ``masks.layer``: the mean share of a frame that the second plane
    covers (left out of the still)."""
    n = len(offsets)
    share = sum(float(layer.mask(k).mean()) for k in range(n)) / max(n, 1)
    extra = dict(offsets.extra)
    extra["masks"] = {**dict(extra.get("masks") or {}), "layer": round(share, 4)}
    return replace(offsets, extra=extra)


def place_and_light(store: FrameStore, opts: StitchOptions, ignore: np.ndarray | None,
                    progress: ProgressCallback, timings: dict[str, float],
                    ) -> tuple[Offsets, OverlayInfo | None, SceneMasks | None,
                               np.ndarray | None, dict[str, object] | None, CleanReads | None]:
    """:func:`place` then :func:`light` (the gains are recorded with the offsets and read
    back by ``--offsets``), timed into ``timings`` (``align``; ``lighting`` when run):
    offsets, overlay, scene masks, gains, the summary's ``lighting`` entry and the
    clean-still stage's first reads, made on a thread meanwhile (for :func:`settle`; None
    when that stage does not run)."""
    t = time.perf_counter()
    offsets, overlay, masks = place(store, opts, ignore, progress)
    timings["align"] = time.perf_counter() - t
    release_memory()
    t = time.perf_counter()
    reads = CleanReads.start(store, offsets) if clean_still_runs(offsets, opts) else None
    try:  # a core left to the reads (on 2 cores: 1.6 of them kept busy by both threads)
        offsets, gains, lighting = light(store, offsets, opts, ignore, overlay, progress,
                                         masks, max(1, decode_workers() - 1) if reads else None)
    except BaseException:
        if reads is not None:
            reads.cancel()
        raise
    if lighting is not None:
        timings["lighting"] = time.perf_counter() - t
    return offsets, overlay, masks, gains, lighting, reads


def final_offsets(store: FrameStore, opts: StitchOptions, ignore: np.ndarray | None,
                  progress: ProgressCallback = no_progress,
                  timings: dict[str, float] | None = None,
                  ) -> tuple[Offsets, dict[str, object] | None]:
    """The offsets a plain ``stitch`` renders with (and saves with ``--save-offsets``) and
    the summary's ``lighting`` entry (None when not run): :func:`place`, :func:`light` and
    :func:`settle`, timed into ``timings`` (``align``, ``lighting`` when run,
    ``consensus``)."""
    timings = {} if timings is None else timings
    offsets, overlay, masks, gains, lighting, reads = place_and_light(store, opts, ignore,
                                                                      progress, timings)
    t = time.perf_counter()
    relit: dict[str, object] = {}
    _, offsets = settle(store, offsets, opts, ignore, overlay, gains, progress, masks,
                        plan=False, reads=reads, relit=relit)
    timings["consensus"] = time.perf_counter() - t
    return offsets, relit or lighting

"""The clean still (issue #12 item 3): which pixels of which frame the render leaves out.

:func:`find_clean` reads every frame once at reduced resolution and finds, per frame, what
disagrees with the consensus of the frames seeing the same place
(:func:`overmix.render.consensus.find_outliers`); where outliers persist in nearly every
frame (a logo fixed on screen) and no ``--logo`` was given, it estimates the overlay's colour
and alpha (:func:`overmix.restore.overlay_estimate.estimate_overlay`) so it can be un-blended.
The result is a :class:`overmix.commands.clean_plan.CleanPlan`, whose ``frame_weights`` are
the renderer's per-frame weights; :mod:`overmix.commands.keep` pastes a kept frame over it.
The frames are read through :mod:`overmix.commands.clean_frames`; the masks are reconciled by
:mod:`overmix.render.clean_masks`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from overmix.commands.clean_ahead import CleanReads
from overmix.commands.clean_frames import analysis_luma, luma_boxes, reduced_luma, scene_luma
from overmix.commands.clean_plan import CleanPlan
from overmix.commands.options import StitchOptions
from overmix.commands.stages import OverlayInfo, positions
from overmix.geometry import Offsets
from overmix.io.prefetch import prefetch
from overmix.io.store import FrameStore
from overmix.progress import ProgressCallback, no_progress
from overmix.render.clean_masks import (
    grow,
    held_parts,
    occluders,
    off_layer,
    residual_off_layer,
    semi_transparent,
    travelling,
)
from overmix.render.consensus import (
    Consensus,
    downsample_mask,
    find_outliers,
    reduce_factor,
    upsample_mask,
)
from overmix.render.fixed_edges import Crop
from overmix.render.foreground import DISTANCES
from overmix.render.frame_edges import dirty_edges, edge_mask
from overmix.render.layers import LayerLabel

__all__ = ["clean_still_runs", "find_clean", "finish_clean"]

_Rows = Callable[[int], np.ndarray | None]
# Screen-fixed content redrawn at full resolution (overmix.render.fixed_edges): the working Y'
# difference that still counts as the same value at the same screen place (codec noise and
# ringing at 8 and 10 bits), and the camera travel (px) a pixel must keep it over.
FIXED_THR = 0.05
FIXED_SPAN = 32.0
FIXED_CACHE = 24  # frames either side of the one read kept decoded (the redrawing's reach)
EDGE_RING = 4  # px beside the dirty border lines never screen-fixed (their codec ringing)
# a static overlay (a logo) is redrawn at full resolution where a pixel differs by this much
# (working Y') from the clean views of the scene (overmix.render.static_overlay)
STATIC_THR = 0.03
# persistent parts within this many reduced samples of each other are one overlay (a logo's
# letters and frame), redrawn over their bounding box
HULL_JOIN = 2
# frames around a frame in which a second plane (parallax) covering its background explains
# a moving-foreground flag there (the foreground stage compares frames up to 8 apart)
LAYER_REACH = max(DISTANCES)


def clean_still_runs(offsets: Offsets, opts: StitchOptions) -> bool:
    """Whether :func:`find_clean` finds per-frame masks for these offsets: three frames or
    more, one animation frame, translations at pitch 1 (the masks are translation-only), a
    render other than ``difference``."""
    return len(offsets) >= 3 and opts.render != "difference" \
        and len(set(offsets.anim)) <= 1 and not offsets.has_transform and offsets.pitch == 1.0


def find_clean(store: FrameStore, offsets: Offsets, opts: StitchOptions,
               overlay: OverlayInfo | None, prior: _Rows | None = None,
               progress: ProgressCallback = no_progress, *,
               gains: np.ndarray | None = None, fixed_prior: _Rows | None = None,
               layer: LayerLabel | None = None, finish: bool = True,
               reads: CleanReads | None = None) -> CleanPlan:
    """The clean-still stage: per-frame outlier masks against the consensus of the frames
    (``overmix.render.consensus``), and, where outliers persist in most frames (content fixed
    on screen) and no ``--logo`` was given, a semi-transparent overlay's colour and alpha
    (``overmix.restore.overlay_estimate.estimate_overlay``) so it can be un-blended.

    With a second plane's ``layer`` (:mod:`overmix.render.layers`), its pixels neither vote
    nor render, and what the moving-foreground stage flags where that plane passes within
    :data:`LAYER_REACH` frames is the plane's doing (a background pixel its neighbours see
    covered), not something moving: only its own mask, at full resolution, is left out.

    ``finish=False`` leaves the full-resolution work of :func:`finish_clean` (redrawn
    screen-fixed masks, a persistent overlay) to the caller: the consensus alone is what
    decides whether the frames are aligned again (:mod:`overmix.commands.realign`).

    ``reads``: the frames' gain-free border lines and reduced Y', read while lighting ran
    (:mod:`overmix.commands.clean_ahead`; used when made for these frames and offsets)."""
    plan = CleanPlan(None, overlay, prior, layer=layer)
    n = len(offsets)
    if not clean_still_runs(offsets, opts):
        return plan
    assert store.shape is not None
    h, w = store.shape
    r = reduce_factor(w, h)
    pos = positions(store, offsets)
    edges, smalls = reads.take(pos, offsets.xy, r) if reads is not None else (None, None)
    if edges is None or gains is not None:  # read ahead in frame values
        edges = dirty_edges(luma_boxes(store, pos, gains), n, offsets.xy, (h, w))
    plan.edges = edges
    plan.edge_mask = edge_mask(plan.edges, (h, w))
    if smalls is None:
        smalls = _reduced_frames(store, pos, r, gains, progress)
    else:  # in scene values as _reduced_frames makes them
        smalls = [scene_luma(s, gains, i) for i, s in enumerate(smalls)]
        progress("consensus", n, n)

    fine: list[list[Crop | None]] = []

    def moving() -> list[np.ndarray | None]:
        # with a second plane, what it explains is taken off the reduced masks alone
        found, crops = _moving(store, pos, offsets, r, gains, redraw=layer is None,
                               edges=plan.edges)
        if layer is None:
            fine.append(crops)
            return found
        return off_layer(found, layer, offsets.xy, r, (h, w), LAYER_REACH)

    cons = find_outliers(smalls, n, offsets.xy, (h, w), r, prior=_vote(plan),
                         foreground=moving)
    del smalls
    if layer is not None:
        residual_off_layer(cons, plan.layer_mask)
    plan.consensus = cons
    plan.moving = fine[0] if fine and any(c is not None for c in fine[0]) else None
    plan.fixed_prior = fixed_prior
    return finish_clean(store, offsets, opts, plan, progress) if finish else plan


def finish_clean(store: FrameStore, offsets: Offsets, opts: StitchOptions, plan: CleanPlan,
                 progress: ProgressCallback = no_progress) -> CleanPlan:
    """The full-resolution part of the clean-still stage on the consensus of ``plan`` (found
    with ``offsets``, :func:`find_clean`): the screen-fixed masks redrawn and, when no overlay
    was given, a persistent one (``plan`` is completed and returned)."""
    cons = plan.consensus
    if cons is None:
        return plan
    pos = positions(store, offsets)
    if not cons.clean or plan.fixed_prior is not None:
        plan.fixed, plan.fixed_rims = _redraw_fixed(store, pos, offsets, plan)
    if plan.overlay is None:
        plan.overlay = _persistent_overlay(store, pos, offsets, opts, plan, progress)
    return plan


def _reduced_frames(store: FrameStore, pos: list[int], r: int, gains: np.ndarray | None,
                    progress: ProgressCallback) -> list[np.ndarray]:
    """Every stitched frame's working Y' box-reduced by ``r``, in scene values (stage
    ``consensus``). Frames are reduced in threads (numpy and the reads release the GIL),
    kept in order."""
    n = len(pos)
    progress("consensus", 0, n)
    smalls = []
    for i, small in enumerate(prefetch(lambda p: reduced_luma(store, p, r), pos)):
        smalls.append(scene_luma(small, gains, i))
        progress("consensus", i + 1, n)
    return smalls


def _vote(plan: CleanPlan) -> _Rows | None:
    """The consensus's per-frame vote weights (row -> float32 (h, w) or None): the
    alignment's prior, with the dirty border lines and a second plane at zero (they neither
    vote nor are judged)."""
    prior, layer = plan.prior, plan.layer
    if plan.edge_mask is None and layer is None:
        return prior
    keep = None if plan.edge_mask is None else (~plan.edge_mask).astype(np.float32)

    def vote(i: int) -> np.ndarray | None:
        p = prior(i) if prior is not None else None
        if layer is not None:
            lay = (~plan.layer_mask(i)).astype(np.float32)  # type: ignore[operator]
            p = lay if p is None else np.minimum(np.asarray(p, np.float32), lay)
        if keep is not None:
            p = keep if p is None else np.minimum(np.asarray(p, np.float32), keep)
        return p

    return vote


def _persistent_overlay(store: FrameStore, pos: list[int], offsets: Offsets,
                        opts: StitchOptions, plan: CleanPlan,
                        progress: ProgressCallback) -> OverlayInfo | None:
    """The overlay made of the outliers that persist in most frames when none was given:
    pasted from the kept frame (``--overlays keep``), or, with ``--logo off`` or ``auto``
    (:func:`overmix.commands.stitch` leaves ``auto`` to this stage) and on less
    than a quarter of the frame, a semi-transparent logo's colour and alpha estimated to
    un-blend it; else None."""
    assert plan.consensus is not None
    persistent = plan.consensus.persistent
    if not persistent.any():
        return None
    if opts.overlays == "keep":
        return OverlayInfo(persistent)  # pasted from the kept frame
    if opts.logo not in ("off", "auto") or persistent.mean() >= 0.25:
        return None
    r = plan.consensus.reduce
    persistent = _screen_fixed_part(plan.consensus, persistent)
    if not persistent.any():
        return None
    from overmix.restore.overlay_estimate import fit_overlay, static_parts  # lazy: scipy

    mask = _refine_static(store, pos, offsets, persistent, r)
    fit = fit_overlay(lambda i: store.planes(pos[i]), offsets.xy, offsets.canvas, mask,
                      progress=progress)
    # what the frames do not show as one static blend is no overlay to un-blend
    static = static_parts(mask, fit.misfit)
    mask, color = mask & static, fit.color
    alpha = np.where(static, fit.alpha, np.float32(0.0)).astype(np.float32)
    if plan.fixed is not None:  # opaque parts: the redrawn masks say where they are
        semi = semi_transparent(mask, alpha) & ~held_parts(mask, _held(plan.fixed, mask),
                                                           len(pos))
        mask = mask & semi
        alpha = np.where(semi, alpha, np.float32(0.0)).astype(np.float32)
    return OverlayInfo(mask, color, alpha, redrawn=True) if mask.any() else None


def _held(fixed: list[Crop | None], mask: np.ndarray) -> np.ndarray:
    """Per pixel of ``mask``'s shape (int32), the frames whose redrawn screen-fixed masks
    (``fixed``, :mod:`overmix.render.fixed_edges`) hold it."""
    out = np.zeros(mask.shape, np.int32)
    for c in fixed:
        if c is not None:
            h, w = c.mask.shape
            out[c.y:c.y + h, c.x:c.x + w] += c.mask
    return out


def _screen_fixed_part(cons: Consensus, persistent: np.ndarray) -> np.ndarray:
    """``persistent`` (bool (h, w)) without the parts of something travelling on screen
    (:func:`overmix.render.clean_masks.travelling`): the never-seen core of a character
    walking across a slow pan is no logo to un-blend (its un-blending outweighed the one
    frame that sees a place beside it clean)."""
    if not cons.moving or all(m is None for m in cons.moving):
        return persistent
    hs, ws = next(m.shape for m in cons.moving if m is not None)
    moves = travelling(downsample_mask(persistent, cons.reduce, (hs, ws)), cons.moving)
    return persistent & ~upsample_mask(moves, cons.reduce, cons.shape) if moves.any() \
        else persistent


def _refine_static(store: FrameStore, pos: list[int], offsets: Offsets, persistent: np.ndarray,
                   r: int) -> np.ndarray:
    """The persistent outliers (found on frames reduced by ``r``) redrawn at full resolution
    (:func:`overmix.render.static_overlay.refine_static`): the pixels that differ from the
    scene where other frames see it clean, so the views of the background a few pixels off a
    logo are kept."""
    from scipy import ndimage  # lazy

    from overmix.render.static_overlay import refine_static  # lazy: scipy

    region = grow(persistent, r)  # the reduced mask may miss a glyph's thin ends
    # a logo's bar lying along a slow pan slides along itself: every frame sees the places
    # it sweeps blended, the consensus agrees with them and the reduced mask has a gap there;
    # the box of each group of persistent parts holds it (what no travel partner sees clean
    # stays in the redrawn mask; 640x360 logo at 0.3 px a frame, few -17.5 -> -4.2 dB)
    lab, _ = ndimage.label(grow(persistent, HULL_JOIN * r))
    for box in ndimage.find_objects(lab):
        region[box] = True
    return refine_static(lambda n: store.luma(pos[n]), offsets.xy, region, thr=STATIC_THR,
                         min_travel=2.0 * r)


def _moving(store: FrameStore, pos: list[int], offsets: Offsets, r: int,
            gains: np.ndarray | None, *, redraw: bool = True,
            edges: dict[str, int] | None = None
            ) -> tuple[list[np.ndarray | None], list[Crop | None]]:
    """What moves on its own in each frame (:func:`overmix.render.foreground.
    moving_foreground`, at about 640 columns), as masks at the consensus reduction ``r``,
    and (``redraw``) with their edges redrawn at full resolution
    (:func:`overmix.render.foreground_edges.redraw_moving`; else an empty list). ``edges``:
    the clip's dirty border lines, which no frame's comparison takes for picture."""
    from overmix.render.foreground import analysis_factor, moving_foreground  # lazy: scipy
    from overmix.render.foreground_edges import redraw_moving

    assert store.shape is not None
    h, w = store.shape
    rf = analysis_factor(w, r)
    q = r // rf
    hs, ws = h // r, w // r
    luma = analysis_luma(store, pos, gains, rf)
    # the dirty lines at the analysis resolution (a sample holding any of them is dirty)
    dirty = None if not edges else edge_mask({s: -(-int(d) // rf) for s, d in edges.items()},
                                             (h // rf, w // rf))
    found = moving_foreground(luma, len(pos), offsets.xy, reduce=rf, dirty=dirty)
    out: list[np.ndarray | None] = []
    for m in found:
        if m is not None:
            m = downsample_mask(m, q, (hs, ws))
        out.append(m if m is not None and m.any() else None)
    if not redraw or all(m is None for m in out):
        return out, []
    crops = redraw_moving(found, rf, analysis_luma(store, pos, gains, 1), offsets.xy, (h, w),
                          dirty=None if dirty is None else edge_mask(edges or {}, (h, w)))
    return out, crops


def _redraw_fixed(store: FrameStore, pos: list[int], offsets: Offsets, plan: CleanPlan
                  ) -> tuple[list[Crop | None] | None, list[Crop | None] | None]:
    """The screen-fixed masks redrawn at full resolution (:mod:`overmix.render.fixed_edges`),
    without the background seen between or through glyphs (:mod:`overmix.render.
    fixed_behind`), or None when no row has any; and per row the rim beside them that stands
    out from the background beyond (:func:`_fixed_rims`). Frames are read in order, a window
    of them cached."""
    from overmix.render.fixed_behind import off_text, release_behind  # lazy: scipy
    from overmix.render.fixed_edges import refine_fixed
    from overmix.render.foreground_slope import GROW, like_background

    if all(plan.candidates(n) is None for n in range(len(pos))):
        return None, None
    cache: dict[int, np.ndarray] = {}

    def luma(n: int) -> np.ndarray:
        if n not in cache:
            for m in [m for m in cache if abs(m - n) > 2 * FIXED_CACHE + 1]:
                del cache[m]
            cache[n] = store.luma(pos[n])
        return cache[n]

    cons = plan.consensus
    still = None
    if cons is not None and cons.still is not None:
        occ = occluders(cons)
        # grown by a sample: reduced, they end up to a sample short of a bar's edge
        still = grow(upsample_mask(occ, cons.reduce, cons.shape), cons.reduce) \
            if occ.any() else None
    if plan.edge_mask is not None:
        still = plan.edge_mask if still is None else (still | plan.edge_mask)
    crops = refine_fixed(luma, offsets.xy, plan.candidates, thr=FIXED_THR,
                         min_span=FIXED_SPAN, reach=FIXED_CACHE, still=still,
                         moving=plan.found_moving)
    out = release_behind(luma, offsets.xy, crops, thr=FIXED_THR, reach=FIXED_CACHE)
    shape = luma(0).shape
    # the masks' outer pixels that show the flat background beyond them (on a slow pan the
    # redrawing runs a pixel or two past the outline), and the pixels that show no text
    # (a glyph's counter, a gap), weigh as the rims beside them do
    keep = None if still is None else grow(still, GROW + 1)
    like = _joined(like_background(out, luma, shape, keep=keep),
                   off_text(out, luma, FIXED_THR, keep=keep), shape)
    if like is not None:
        out = [c if c is None or t is None else Crop.tight(c.full(shape) & ~t.full(shape))
               for c, t in zip(out, like, strict=True)]
    rims = _joined(_fixed_rims(out, luma, shape, still), like, shape)
    if plan.edge_mask is None:
        return out, rims
    # the lines beside the dirty ones: the codec's ringing of a dirty line stays put on
    # screen as the line does, and looked screen-fixed; left out of every frame there, the
    # places only those lines see were averaged with the dirty lines themselves (640x360
    # edges scene panning up, few -7.36 dB); the ringing is a few levels off at most
    ring = grow(plan.edge_mask, EDGE_RING) & ~plan.edge_mask

    def off_ring(crops: list[Crop | None]) -> list[Crop | None]:
        return [None if c is None else Crop(c.y, c.x, c.mask & ~ring[
            c.y:c.y + c.mask.shape[0], c.x:c.x + c.mask.shape[1]]) for c in crops]

    return off_ring(out), (None if rims is None else off_ring(rims))


def _joined(a: list[Crop | None] | None, b: list[Crop | None] | None,
            shape: tuple[int, int]) -> list[Crop | None] | None:
    """Per row, the union of the masks ``a`` and ``b`` (None: no row has any), or None when
    no row has any."""
    if b is None or all(c is None for c in b):
        return None if a is None or all(c is None for c in a) else a
    if a is None or all(c is None for c in a):
        return b
    return [y if x is None else x if y is None else Crop.tight(x.full(shape) | y.full(shape))
            for x, y in zip(a, b, strict=True)]


def _fixed_rims(crops: list[Crop | None], luma: Callable[[int], np.ndarray],
                shape: tuple[int, int], still: np.ndarray | None = None
                ) -> list[Crop | None] | None:
    """Per row, the pixels beside its redrawn screen-fixed mask ``crops`` that stand out
    from the background beyond them (:func:`overmix.render.foreground_slope.grow_slopes`,
    over the whole frame), on their bounding box, or None where there are none (None: no row
    has any): the codec smears a subtitle's dark outline a pixel or two past what keeps its
    screen value, into the gaps between glyphs, where the background may be seen in no other
    frame (the render weighs them :data:`overmix.commands.clean_plan.RIM_WEIGHT`). Not
    beside what never changes on screen (``still``, bool (h, w): bars, dirty border lines):
    the rows beside a letterbox bar that a vertical pan uncovers in a few frames are those
    places' only views (640x360 letterbox "few" -0.10 dB with them)."""
    from overmix.render.foreground_slope import GROW, grow_slopes  # lazy: scipy

    grown = grow_slopes(crops, luma, shape, band=None)
    away = None if still is None else ~grow(still, GROW + 1)
    out: list[Crop | None] = []
    for old, new in zip(crops, grown, strict=True):
        if new is None or new is old:
            out.append(None)
            continue
        assert old is not None  # grow_slopes keeps a row without a mask as it is
        rim = new.full(shape) & ~old.full(shape)
        out.append(Crop.tight(rim if away is None else (rim & away)))
    return out if any(c is not None for c in out) else None


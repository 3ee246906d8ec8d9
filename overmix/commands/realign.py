"""Align again without what the clean-still stage found moving on its own (issue #12).

The alignment's own scene masks compare *neighbouring* frames on a coarse level: a layer that
moves only a little differently from the background (parallax: a nearer plane panning at 1.6x
the background's speed, ~1 px per frame more) stays below a pixel there and is not found, so
its outlines pull the offsets by up to 0.1 px. The clean-still stage
(:func:`overmix.render.foreground.moving_foreground`) compares frames several frames apart
and finds it. When its moving-foreground masks cover a clear share of the frames that the
alignment did not leave out (:data:`REALIGN_SHARE`), the frames are aligned once more with
those masks (grown by :data:`GROW_PX`) left out, so the largest consistent region, the
background, gives the offsets. The clean-still masks are kept: they are in frame
coordinates and the offsets move by a small fraction of a pixel.

A clean pan never gets here (the consensus finds no moving foreground), so it costs nothing
there; a scene whose moving parts the alignment already left out is not aligned again, nor
one whose alignment already followed the background past a character the camera follows
(:mod:`overmix.registration.follow`: aligning once more without that character's
clean-still masks measured 0.07 -> 0.14 px on such a scene), nor one whose moving parts stay
on screen (:func:`plane_evidence`: a character the camera follows that the follow checks did
not flag, a changing subtitle) unless its offsets warned that the motion is ambiguous.

:func:`find_layer` goes one step further for a multi-plane pan: when the moving parts cover
a large share of the frames (:data:`LAYER_MOVING`) and align as one plane of their own, the
plane is labelled in its own alignment (:mod:`overmix.render.layers`) so the clean still can
leave it out of every frame, its flat inside too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from overmix.commands.clean_frames import analysis_luma
from overmix.commands.clean_plan import CleanPlan
from overmix.commands.options import StitchOptions
from overmix.commands.stages import align_store, grow, positions, union
from overmix.geometry import Offsets
from overmix.io.store import FrameStore
from overmix.progress import ProgressCallback, no_progress
from overmix.registration import follow_pull
from overmix.registration.masks import SceneMasks
from overmix.render.consensus import Consensus, downsample_mask, upsample_mask
from overmix.render.layers import LayerLabel

__all__ = ["GROW_PX", "REALIGN_SHARE", "evidence_check", "find_layer", "layer_offsets",
           "moving_share", "realign_foreground"]

# Mean share of a frame that must be moving foreground the alignment did not leave out
# before the frames are aligned again (a walking character the alignment found, codec specks
# and the false alarms of a clean scene stay below it).
REALIGN_SHARE = 0.03
# Full-resolution pixels the masks grow by: the soft, compressed edge of an outline that the
# reduced masks miss must not vote either.
GROW_PX = 2
# A second plane must drift this far (px) from the background over the clip to be one, and
# cover at least this share of its own canvas.
LAYER_DRIFT = 2.0
LAYER_SHARE = 0.02
# Mean share of a frame found moving on its own before a second plane is looked for (a
# subtitle line changing, a walking character stay below it; a plane whose outlines and
# texture cover this much is worth an alignment of its own)
LAYER_MOVING = 0.06
# Frame pairs (a chain over the clip) whose moving parts are matched on the consensus's
# reduced frames before a second plane is worth its alignment (:func:`plane_evidence`)
EVIDENCE_PAIRS = 8
# The plane's own alignment may leave out at most this share of the frames (or two), whose
# plane offsets are then carried on from the frames around them (:func:`layer_offsets`);
# at least LAYER_PLACED frames must be placed; a line through the LAYER_FIT nearest placed
# frames' drift carries it on at the clip's ends
LAYER_MISSING = 0.1
LAYER_PLACED = 3
LAYER_FIT = 4


def moving_share(plan: CleanPlan, masks: SceneMasks | None, pos: list[int]) -> float:
    """Mean fraction of the frames (offsets rows) that the clean-still stage found moving on
    its own outside the alignment's own scene masks (``masks``, by store position)."""
    cons = plan.consensus
    if cons is None or not cons.moving or all(m is None for m in cons.moving):
        return 0.0
    r = cons.reduce
    total = 0.0
    for n, m in enumerate(cons.moving):
        if m is None:
            continue
        m = np.asarray(m, bool)
        known = masks.ignore(pos[n]) if masks is not None else None
        if known is not None:
            m = m & ~downsample_mask(known, r, m.shape)
        total += float(m.mean())
    return total / max(len(cons.moving), 1)


def realign_foreground(store: FrameStore, offsets: Offsets, opts: StitchOptions,
                       plan: CleanPlan, masks: SceneMasks | None,
                       ignore: np.ndarray | None,
                       progress: ProgressCallback = no_progress,
                       evidence: Callable[[np.ndarray], bool] | None = None) -> Offsets:
    """``offsets`` aligned again with the clean-still's moving foreground left out (and the
    alignment's scene masks and ``ignore``), when :func:`moving_share` reaches
    :data:`REALIGN_SHARE` and the moving parts move on screen (``evidence``: background
    offsets -> bool, :func:`evidence_check`; None: without lighting gains) or the offsets
    warned that the background's
    motion is ambiguous; else (or when the new alignment places other frames) ``offsets``
    unchanged. Gains and the summary's ``masks`` entry carry over (``realigned`` set).

    Moving parts that stay on screen are a character the camera follows (or changing text):
    its changing drawing is left out, its still outline is not, and the alignment loses the
    background around it while that outline's edges, sliding along themselves under the
    pan, pull the offsets towards no motion across them (bench_follow seed 6, a vertical
    pan behind a still head: 0.081 -> 0.167 px, no warning; another 0.081 -> 0.104)."""
    if opts.offsets is not None or len(set(offsets.anim)) > 1 or offsets.has_transform:
        return offsets
    follow = offsets.extra.get("follow")
    if isinstance(follow, dict) and any(follow.get(k) for k in ("followed", "settled", "held")):
        # the alignment already aligned again without a character the camera follows, or
        # without the smaller region that pulled some pairs (registration.follow), or
        # without content held on screen (registration.follow_held): what moves is that,
        # not a layer it missed
        return offsets
    pos = positions(store, offsets)
    if pos != list(range(len(store))):  # rows must be the store's frames, in order
        return offsets
    if moving_share(plan, masks, pos) < REALIGN_SHARE:
        return offsets
    cons = plan.consensus
    assert cons is not None
    doubt = isinstance(follow, dict) and "warning" in follow
    if evidence is None:
        evidence = evidence_check(store, cons, ignore)
    if not doubt and not evidence(offsets.xy):
        return offsets  # what moves stays on screen (or moves with the background)
    row = {p: n for n, p in enumerate(pos)}

    def frame_mask(p: int) -> np.ndarray | None:
        n = row[p]
        m = cons.moving[n]
        out = None if m is None else grow(upsample_mask(m, cons.reduce, cons.shape), GROW_PX)
        return union(out, masks.ignore(p) if masks is not None else None)

    found = align_store(store, opts, ignore, progress, frame_masks=frame_mask)
    new = found.offsets
    if list(new.indices) != list(offsets.indices) or new.has_transform:
        return offsets  # another set of frames or another model: keep the first result
    if follow_pull.worse(new.extra, offsets.extra):
        return offsets  # the masks left too little background: its motion is in doubt
    extra = dict(offsets.extra)
    info = dict(extra.get("masks") or {})
    info["realigned"] = True
    info["moving_share"] = round(moving_share(plan, masks, pos), 4)
    extra["masks"] = info
    if "pull" in (extra.get("follow") or {}):
        # a pull the realignment may have removed (a parallax plane's): the new offsets'
        # own check says (registration.follow_pull)
        extra.pop("follow")
        if "follow" in new.extra:
            extra["follow"] = new.extra["follow"]
    for key in ("residual_rms", "residual_max", "rejected_pairs"):
        if key in new.extra:
            extra[key] = new.extra[key]
    return replace(offsets, xy=new.xy, extra=extra, confidence=new.confidence)


def find_layer(store: FrameStore, offsets: Offsets, opts: StitchOptions, plan: CleanPlan,
               masks: SceneMasks | None, ignore: np.ndarray | None,
               gains: np.ndarray | None = None,
               progress: ProgressCallback = no_progress,
               evidence: Callable[[np.ndarray], bool] | None = None) -> LayerLabel | None:
    """A second plane panning at its own speed (parallax), or None.

    When the clean-still stage found a clear share of the frames moving on their own
    (:func:`moving_share` at least :data:`LAYER_MOVING`), the frames are aligned on what
    disagrees with the background alone (moving and residual outliers, not screen-fixed:
    :func:`plane_offsets`): if that places all but a frame or two (their plane offsets
    carried on from the others), and its offsets drift at least :data:`LAYER_DRIFT` px from
    the background's and move on screen, those parts are a plane of their own, and
    :func:`overmix.render.layers.label_layer` finds its points (at least :data:`LAYER_SHARE`
    of its canvas). A walking character, credits or a talking mouth
    cover too little of the frames to get here, or give no consistent plane."""
    cons = plan.consensus
    if cons is None or not cons.moving or len(set(offsets.anim)) > 1 or offsets.has_transform:
        return None
    pos = positions(store, offsets)
    if pos != list(range(len(store))) or moving_share(plan, masks, pos) < LAYER_MOVING:
        return None
    if evidence is None:
        evidence = evidence_check(store, cons, ignore, gains)
    if not evidence(offsets.xy):
        return None  # what moves stays on screen or moves with the background
    from overmix.render.foreground import analysis_factor
    from overmix.render.layers import label_layer

    lxy = plane_offsets(store, offsets, opts, cons, ignore, progress)
    if lxy is None:
        return None
    drift = (lxy - lxy[0]) - (offsets.xy - offsets.xy[0])
    if float(np.abs(drift).max()) < LAYER_DRIFT \
            or float(np.abs(lxy - lxy[0]).max()) < LAYER_DRIFT:
        return None  # it moves with the background, or stays on screen (an overlay)
    full = cons.shape
    h, w = full
    rf = analysis_factor(w, cons.reduce)
    small = (h // rf, w // rf)

    def first_guess(n: int) -> np.ndarray | None:
        m = cons.moving[n]
        return None if m is None else grow(upsample_mask(m, cons.reduce // rf, small), 1)

    label = label_layer(analysis_luma(store, pos, gains, rf), len(pos), offsets.xy, lxy,
                        first_guess, reduce=rf, frame=full)
    return label if label.share() >= LAYER_SHARE else None


def plane_offsets(store: FrameStore, offsets: Offsets, opts: StitchOptions, cons: Consensus,
                  ignore: np.ndarray | None, progress: ProgressCallback = no_progress,
                  ) -> np.ndarray | None:
    """The second plane's offsets (n, 2) for every row of ``offsets`` (store positions in
    order): the frames aligned on what disagrees with the background alone (the moving and
    residual outliers of ``cons``, grown by :data:`GROW_PX`; not the screen-fixed ones), the
    rows that alignment left out filled by :func:`layer_offsets`; None when it found
    another model or left out too many."""
    full = cons.shape

    def only_moving(n: int) -> np.ndarray:
        # the moving masks hold the plane's outlines, the residual outliers its flat inside
        m = union(cons.moving[n], cons.residual[n] if cons.residual else None)
        if m is None:
            return np.ones(full, bool)
        return ~grow(upsample_mask(m, cons.reduce, full), GROW_PX)

    found = align_store(store, replace(opts, strict=False), ignore, progress,
                        frame_masks=only_moving)
    return None if found.offsets.has_transform else layer_offsets(offsets, found.offsets)


def layer_offsets(offsets: Offsets, lay: Offsets) -> np.ndarray | None:
    """The second plane's offsets (n, 2), full-resolution px, for every row of ``offsets``
    (the background's), from the plane's own alignment ``lay``, or None.

    The plane's alignment may leave out a frame or two (:data:`LAYER_MISSING`): a clip-end
    frame's moving masks are the thinnest of the clip (the consensus compares it with
    frames on one side only), and what is left of the plane there can match none of its
    neighbours. The plane is still there, moving on: such a row takes the plane's drift
    from the background (``lay - offsets``) of the rows placed around it, interpolated
    between them, or at the clip's ends carried on along a line through the
    :data:`LAYER_FIT` nearest; the row's own background offset (the camera's ease and
    wobble, which moves both planes) stays. None when more rows are missing, fewer than
    :data:`LAYER_PLACED` are placed, or ``lay`` holds a frame ``offsets`` does not."""
    row = {int(i): r for r, i in enumerate(offsets.indices)}
    if any(int(i) not in row for i in lay.indices):
        return None
    # a row the plane's alignment could not place (NaN: its masks left nothing to match) is
    # one it left out
    ok = np.isfinite(np.asarray(lay.xy, np.float64)).all(axis=1)
    n, placed = len(offsets), [row[int(i)] for i, k in zip(lay.indices, ok, strict=True) if k]
    if len(placed) < LAYER_PLACED or n - len(placed) > max(LAYER_MISSING * n, 2):
        return None
    order = np.argsort(placed)
    got = np.asarray(placed)[order]
    bg = np.asarray(offsets.xy, np.float64)
    lxy = np.asarray(lay.xy, np.float64)[ok][order]
    drift = lxy - bg[got]
    if len(got) == n:
        return lxy
    ks = np.arange(n)
    out = np.stack([np.interp(ks, got, drift[:, a]) for a in range(2)], axis=1)
    for ends, near in ((ks < got[0], slice(0, LAYER_FIT)),
                       (ks > got[-1], slice(-LAYER_FIT, None))):
        for a in range(2) if ends.any() else ():
            out[ends, a] = np.polyval(np.polyfit(got[near], drift[near, a], 1), ks[ends])
    return out + bg


def evidence_check(store: FrameStore, cons: Consensus, ignore: np.ndarray | None,
                   gains: np.ndarray | None = None) -> Callable[[np.ndarray], bool]:
    """:func:`plane_evidence` of the scene's frames (every frame of ``store``, in order;
    ``gains``: the lighting's) as a function of the background offsets (n, 2), answered once
    per offsets: :func:`realign_foreground` and :func:`find_layer` ask it of the same
    offsets when the first did not align again."""
    memo: dict[bytes, bool] = {}

    def check(xy: np.ndarray) -> bool:
        key = np.ascontiguousarray(xy, np.float64).tobytes()
        if key not in memo:
            luma = analysis_luma(store, list(range(len(store))), gains, max(1, cons.reduce))
            memo[key] = plane_evidence(luma, cons, xy, ignore)
        return memo[key]

    return check


def plane_evidence(luma: Callable[[int], np.ndarray], cons: Consensus, xy: np.ndarray,
                   ignore: np.ndarray | None = None) -> bool:
    """Whether the moving parts could be a plane of their own, from a few frame pairs
    matched cheaply before :func:`find_layer`'s alignment of the whole clip.

    ``luma``: row -> working Y' (float32) on the consensus's reduced grid (``cons.reduce``
    full-resolution pixels per sample, the ragged edge dropped); ``xy``: (n, 2) background
    offsets (full-resolution px); ``ignore``: full-resolution bool pixels left out of every
    frame. A chain of :data:`EVIDENCE_PAIRS` pairs spread over the clip is matched with
    everything but the moving parts (``cons.moving`` and ``cons.residual``) left out
    (:func:`overmix.registration.estimate_shift`). A plane moves the same way between every
    pair, so the median per-frame motion of the pairs, over the clip, must reach
    :data:`LAYER_DRIFT` both on screen and against the background (the full alignment's own
    test): moving parts that are mostly screen-fixed (a changing subtitle), or that move
    with the background, fail it. A pair that cannot be matched counts as no motion."""
    from overmix.errors import AlignmentError
    from overmix.registration import estimate_shift

    n, r = len(xy), max(1, cons.reduce)
    small = (cons.shape[0] // r, cons.shape[1] // r)
    skip = None if ignore is None else downsample_mask(ignore, r, small)
    chain = sorted(set(np.linspace(0, n - 1, EVIDENCE_PAIRS + 1).round().astype(int)))
    rates: list[np.ndarray] = []
    for a, b in zip(chain[:-1], chain[1:], strict=True):
        ya, yb = luma(a), luma(b)
        ma, mb = _reduced_moving(cons, a, skip), _reduced_moving(cons, b, skip)
        if ma is None or mb is None:
            rates.append(np.zeros(4))
            continue
        h, w = (min(s) for s in zip(ya.shape, ma.shape, strict=True))
        try:
            found = estimate_shift(ya[:h, :w], yb[:h, :w], ref_mask=~ma[:h, :w],
                                   mov_mask=~mb[:h, :w])
        except AlignmentError:
            rates.append(np.zeros(4))
            continue
        moved = np.array([found.dx, found.dy]) * r
        rates.append(np.concatenate([moved, moved - (xy[b] - xy[a])]) / (b - a))
    if not rates:
        return False
    travel = np.abs(np.median(np.array(rates), axis=0)) * (n - 1)
    return bool(travel[:2].max() >= LAYER_DRIFT and travel[2:].max() >= LAYER_DRIFT)


def _reduced_moving(cons: Consensus, n: int, skip: np.ndarray | None) -> np.ndarray | None:
    """Frame ``n``'s moving and residual parts on the consensus grid (grown by a sample),
    without ``skip``; None when there are none."""
    m = union(cons.moving[n], cons.residual[n] if cons.residual else None)
    if m is None or not m.any():
        return None
    m = grow(np.asarray(m, bool), 1)
    return m if skip is None else m & ~skip

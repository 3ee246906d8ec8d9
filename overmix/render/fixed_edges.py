"""Screen-fixed content (hardsubs, bars, static text) at full resolution (issue #12, DESIGN §4
"Masks").

The consensus (:mod:`overmix.render.consensus`) and the aligner find screen-fixed content on
reduced frames, so their masks run a few pixels past it on every side. Where the background is
seen clean only between the glyphs of a subtitle or in the first rows below a letterbox bar,
those few pixels are all there is: a mask that overshoots by two pixels leaves such places to
no frame at all. This module redraws the masks inside a candidate region at full resolution:

1. **Screen-fixed pixels** keep their value at the same screen position while the camera moves:
   per pixel, the camera displacement over which the frames before and after keep its value
   within ``thr`` (``span``, summed over both directions, each direction stopping at the first
   frame that differs, so a subtitle line change ends the run) must reach ``min_span``.
2. **Flat background** also keeps its value while the camera moves along it. Flat areas are
   the connected pixels without an edge (3x3 range at most ``thr``); an area that holds some
   pixels that are *not* screen-fixed (where the camera carried an edge of it past them) is
   background (a flat sky, a wall), and all of it is kept. Those pixels must form a patch
   (:data:`CHANGED_PATCH` or more connected): scattered ones or a block's worth are codec
   glitches or drift in the flat fill or outline of a glyph, which are several pixels wide
   at 720p and up.
   The glyph fills, outlines and bars are separate areas (their borders are edges) made
   entirely of screen-fixed pixels, so they stay masked. Uniform rows or columns that are
   screen-fixed almost across the frame are bars and always stay masked.
3. **Background seen through a glyph's hole** that is flat over the camera travel looked at
   keeps its value too, but it changes when an edge of the background arrives, at a frame
   of its own, while a glyph changes with its whole line (or not at all): screen-fixed
   pixels that change at a frame at which less than :data:`SHARED_CHANGE` of their
   connected part does are background (in patches; scattered ones are codec glitches).
4. Specks of a few screen-fixed pixels (texture that kept its value by chance) are dropped;
   the result, grown by one pixel (the antialiased rims that take part of the background's
   value), replaces the candidate region's mask.
5. **Something moving on screen** is not screen-fixed, however still its pixels look one by
   one: the flat middles of scrolling credits' stems keep their screen value over the
   camera travel (so does any flat inside moving along itself). A moving-foreground part
   holding screen-fixed pixels moves when no frame 1-2 before or after matches its edges
   best in place and one matches them at least twice as well after a small screen shift; a
   subtitle line stands in place on the side where it lasts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from overmix.morph import bounding_box, dilate
from overmix.travel import travel_partners
from overmix.warp import sample_bilinear

__all__ = ["Crop", "refine_fixed"]

BAR_FRACTION = 0.9  # a row (column) this screen-fixed across the frame is a bar
# a flat area with this share (and at least this many) of pixels that change is background
BACKGROUND_SHARE = 0.002
BACKGROUND_MIN = 3
# a frame at which this share of a connected screen-fixed part changes is its own change (a
# subtitle line ends); pixels that change at a frame when fewer do are background
SHARED_CHANGE = 0.25
# changed pixels of a flat area in a patch smaller than this are codec drift (a 4x4 or so
# block of a glyph's wide outline; codec blocks have the same pixel sizes at every resolution)
CHANGED_PATCH = 24
MIN_SPECK = 6  # screen-fixed pixels connected to fewer than this many others are chance
# a flat screen-fixed part whose colour fewer than this share of the screen-fixed pixels
# have is not text (drawn in a few colours, each over the whole line) ...
TEXT_SHARE = 0.05
# ... and is background seen through the text when this share of the usable pixels around
# it has its colour
BACKGROUND_SHARE_NEAR = 0.15
# camera travels (shares of ``min_span``) at which a frame that kept a pixel's screen value
# is asked whether it sees something else at the same scene point (4 px: farther partners
# see more background behind screen-fixed content next to it, and the glyph fills that
# near ones cannot prove are found whole, as flat areas)
PROOF_TRAVELS = (0.125,)
# screen-fixed content stands still on screen: a moving-foreground part that matches none of
# the frames this near (before and after) best in place, but one of them better shifted on
# screen by up to SHIFT px, moves (scrolling credits), however still its flat pixels look
STAND_FRAMES = (1, 2)
SHIFT = 4
EDGE_SAMPLES = 256  # edge pixels of a part looked at, at most
# on a pan slower than ``min_span`` over the frames looked at, a pixel that keeps its screen
# value over this share of the camera travel there is screen-fixed (a letterbox bar keeps it
# over all of it; 0.3 px per frame travels ~10 px in 24 frames, and no bar pixel reached
# min_span: the bars were given back to every frame and blended into the rows beside them)
TRAVEL_SHARE = 0.9
# ... when that travel reaches this (px); below it the camera hardly moves
MIN_TRAVEL = 8.0


def _span(luma: Callable[[int], np.ndarray], k: int, xy: np.ndarray, box: tuple[slice, slice],
          thr: float, min_span: float, reach: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Per pixel of ``box`` in frame k: the camera displacement (px, both directions summed)
    over which the pixel keeps its value within ``thr`` at the same screen position, and
    per direction (back, forward) the frame at which its value changed (-1: it did not
    within the displacement looked at)."""
    v = luma(k)[box]
    total = np.zeros(v.shape, np.float32)
    ends = []
    for step in (-1, 1):
        alive = np.ones(v.shape, bool)
        got = np.zeros(v.shape, np.float32)
        end = np.full(v.shape, -1, np.int32)
        j = k
        while alive.any() and abs(j - k) < reach:
            j += step
            if j < 0 or j >= len(xy):
                break
            same = np.abs(luma(j)[box] - v) <= thr
            end[alive & ~same] = j
            alive &= same
            dist = float(np.abs(xy[j] - xy[k]).max())
            got[alive] = dist
            if dist >= min_span:
                break
        total += got
        ends.append(end)
    return total, ends


def _travel(xy: np.ndarray, k: int, reach: int, cap: float) -> float:
    """The camera travel (px, both directions in time summed) that a pixel keeping its
    value at every frame :func:`_span` looks at gets there: per direction, the travel to the
    first row within ``reach`` of row ``k`` that moved ``cap`` or more, else to the last."""
    total = 0.0
    for step in (-1, 1):
        rows = np.arange(k + step, min(max(k + step * reach, -1), len(xy) - 1) + step, step)
        rows = rows[(rows >= 0) & (rows < len(xy))]
        if rows.size:
            d = np.abs(xy[rows] - xy[k]).max(axis=1)
            hit = np.flatnonzero(d >= cap)
            total += float(d[hit[0]] if hit.size else d[-1])
    return total


def _proven(luma: Callable[[int], np.ndarray], k: int, xy: np.ndarray,
            box: tuple[slice, slice], ends: list[np.ndarray], thr: float, min_span: float,
            reach: int, occluders: np.ndarray | None = None) -> np.ndarray:
    """Pixels of ``box`` in frame k shown screen-fixed by a frame that kept their value at
    the same screen place (before the first change ``ends`` records in its direction) while
    its view of the same *scene* point differs by more than ``thr``: the background there is
    something else. The frames looked at are k's travel partners
    (:func:`overmix.travel.travel_partners`) at :data:`PROOF_TRAVELS` along x and along y:
    on a slow pan a subtitle line can end before the camera has travelled
    ``min_span``, but a few pixels of travel already move a glyph's scene point off it.
    ``occluders`` (float32 (h, w), > 0: content that never changes on screen) are where a
    partner's view does not count."""
    v = luma(k)[box]
    h, w = v.shape
    out = np.zeros(v.shape, bool)
    part = sorted({j for t in PROOF_TRAVELS
                   for j in travel_partners(xy, k, t * min_span, reach=reach - 1)})
    for j in part:
        end = ends[0] if j < k else ends[1]
        within = (end < 0) | ((end - k) * (j - k) > (j - k) ** 2)  # unchanged up to frame j
        if not within.any():
            continue
        d = xy[k] - xy[j]  # frame k's pixel (i, c) shows frame j's pixel (i + dy, c + dx)
        at = (box[0].start + float(d[1]), box[1].start + float(d[0]))
        val, cov = sample_bilinear(luma(j), None, *at, h, w)
        differs = within & (cov >= 0.99) & (np.abs(v - val) > thr)
        if occluders is not None and differs.any():
            # ... unless j shows that scene point behind what never changes on screen (a
            # bar, a dirty border line): background next to it would look screen-fixed
            hid, _ = sample_bilinear(occluders, None, *at, h, w)
            differs &= hid <= 0
        out |= differs
    return out


def _with_the_area(lab: np.ndarray, changed: np.ndarray, ends: list[np.ndarray]) -> np.ndarray:
    """The ``changed`` pixels (bool) whose change frames (``ends``: back, forward) are those
    of at least half of the changed pixels of their area (``lab``: area labels)."""
    top = int(max(e.max() for e in ends)) + 2
    key = (lab[changed].astype(np.int64) * top + ends[0][changed] + 1) * top \
        + ends[1][changed] + 1
    keys, inv, count = np.unique(key, return_inverse=True, return_counts=True)
    area = keys // (top * top)
    total = np.bincount(area, weights=count, minlength=int(lab.max()) + 1)
    out = np.zeros_like(changed)
    out[changed] = (count >= 0.5 * total[area])[inv.ravel()]
    return out


def _own_change(fixed: np.ndarray, ends: list[np.ndarray], bars: np.ndarray) -> np.ndarray:
    """The screen-fixed pixels whose value changed on its own: at a frame at which most of
    their connected screen-fixed part (a glyph, a word; ``bars`` left out) kept its value (a
    subtitle line change or a fade changes the whole glyph at once). Background seen through
    a glyph's hole keeps its value while a flat part of it passes and changes when an edge
    of it arrives, at its own frame; patches of :data:`MIN_SPECK` or more such pixels are
    background (fewer: codec glitches)."""
    from scipy import ndimage

    part = fixed & ~bars
    lab, n = ndimage.label(part, structure=np.ones((3, 3), bool))
    own = np.zeros_like(fixed)
    if n == 0:
        return own
    size = np.bincount(lab.ravel(), minlength=n + 1)
    for end in ends:
        hit = part & (end >= 0)
        if not hit.any():
            continue
        key = lab[hit].astype(np.int64) * (int(end.max()) + 2) + end[hit]
        keys, inv, count = np.unique(key, return_inverse=True, return_counts=True)
        shared = count >= SHARED_CHANGE * size[keys // (int(end.max()) + 2)]
        mine = np.zeros_like(fixed)
        mine[hit] = ~shared[inv.ravel()]
        own |= mine
    lab, n = ndimage.label(own, structure=np.ones((3, 3), bool))
    if n:
        small = np.bincount(lab.ravel(), minlength=n + 1) < MIN_SPECK
        small[0] = False
        own &= ~small[lab]
    return own


def _moves(luma: Callable[[int], np.ndarray], k: int, count_frames: int,
           moving: np.ndarray | None, fixed: np.ndarray, box: tuple[slice, slice]
           ) -> np.ndarray:
    """The pixels (bool, on ``box`` of frame k) of the moving-foreground parts (``moving``:
    bool (h, w) of frame k, 8-connected parts) holding ``fixed`` pixels (bool on ``box``)
    that move on screen: in none of the frames :data:`STAND_FRAMES` before and after
    (``count_frames`` rows) does the part's edge (pixels with a 3x3 range above 0.02: a
    flat pixel matches under any small motion; :data:`EDGE_SAMPLES` of them) match best in
    place, and in one a whole-pixel screen shift of up to :data:`SHIFT` px matches it at
    least twice as well (mean absolute difference). A subtitle line that changes stands
    still on the side where it lasts; the flat stroke middles of scrolling credits keep
    their screen value over the camera travel (the screen-fixed tests take them) while the
    glyph moves."""
    from scipy import ndimage

    out = np.zeros_like(fixed)
    if moving is None or not fixed.any():
        return out
    mv = np.zeros_like(moving)
    mv[box] = fixed
    lab, n = ndimage.label(moving, structure=np.ones((3, 3), bool))
    ids = np.unique(lab[mv & moving])
    ids = ids[ids > 0]
    if not ids.size:
        return out
    v = luma(k)
    h, w = v.shape
    sel = np.isin(lab, ids)
    rows, cols = np.flatnonzero(sel.any(axis=1)), np.flatnonzero(sel.any(axis=0))
    y0, x0 = max(int(rows[0]) - 1, 0), max(int(cols[0]) - 1, 0)
    win = (slice(y0, int(rows[-1]) + 2), slice(x0, int(cols[-1]) + 2))
    ys, xs = np.nonzero(_edge(v[win]) & sel[win])
    if not ys.size:
        return out
    ys, xs = ys + y0, xs + x0
    part = np.searchsorted(ids, lab[ys, xs])
    # evenly spaced samples of each part's edge, at most EDGE_SAMPLES (a subtitle line's
    # outline is tens of thousands of pixels: the shifts are tried on its samples)
    order = np.argsort(part, kind="stable")
    count = np.bincount(part, minlength=ids.size)
    rank = np.arange(order.size) - np.repeat(np.cumsum(count) - count, count)
    step = -(-count // EDGE_SAMPLES)
    pick = order[rank % step[part[order]] == 0]
    ys, xs, part = ys[pick], xs[pick], part[pick]
    here = v[ys, xs]
    stands = np.zeros(ids.size, bool)
    moves = np.zeros(ids.size, bool)
    shifts = [(dy, dx) for dy in range(-SHIFT, SHIFT + 1) for dx in range(-SHIFT, SHIFT + 1)]
    at = [(np.clip(ys + dy, 0, h - 1), np.clip(xs + dx, 0, w - 1)) for dy, dx in shifts]
    for j in sorted({k + s * d for d in STAND_FRAMES for s in (-1, 1)}):
        if not 0 <= j < count_frames:
            continue
        u = luma(j)
        sad = np.empty((len(shifts), ids.size))
        for i, (yy, xx) in enumerate(at):
            sad[i] = np.bincount(part, weights=np.abs(u[yy, xx] - here), minlength=ids.size)
        zero = sad[shifts.index((0, 0))]
        best = sad.min(axis=0)
        stands |= zero <= best * 1.0001
        moves |= 2.0 * best < zero
    moving_ids = ids[moves & ~stands]
    if moving_ids.size:
        out = np.isin(lab[box], moving_ids) & sel[box]
    return out


def _edge(v: np.ndarray, level: float = 0.02) -> np.ndarray:
    """Pixels (bool) whose 3x3 range of ``v`` is above ``level``."""
    from scipy import ndimage

    return (ndimage.maximum_filter(v, 3) - ndimage.minimum_filter(v, 3)) > level


def _seen_through(v: np.ndarray, fixed: np.ndarray, bars: np.ndarray, thr: float,
                  areas: tuple[np.ndarray, np.ndarray, int]) -> np.ndarray:
    """The flat screen-fixed parts (bool) that are background seen through a glyph's hole
    or between glyphs, where it is flat over the camera travel looked at (it keeps its value
    at the same screen place as a glyph does): a part (connected flat pixels of ``v`` in
    ``fixed``, ``bars`` left out) whose value (its median) is shared by under
    :data:`TEXT_SHARE` of the other flat parts' pixels (text is drawn in a few colours, each
    shared by the whole line: fill, outline) and by at least :data:`BACKGROUND_SHARE_NEAR`
    of the usable flat pixels around it outside its own flat area, out to about twice the
    distance to the nearest (the background seen through it continues beyond the glyph's
    stroke and outline)."""
    from scipy import ndimage

    flat, areas_lab, _ = areas  # :func:`_flat_areas` of (v, bars, thr)
    part = flat & fixed & ~bars
    lab, n = ndimage.label(part, structure=np.ones((3, 3), bool))
    out = np.zeros_like(fixed)
    if n == 0:
        return out
    idx = np.arange(1, n + 1)
    size = np.bincount(lab.ravel(), minlength=n + 1)[1:]
    med = np.asarray(ndimage.median(v, lab, idx), np.float32)
    vals = np.sort(v[part])  # the other flat parts' colours (not this one's own edge)
    near = np.searchsorted(vals, med + thr / 2, "right") - np.searchsorted(vals, med - thr / 2)
    text = (near - size) >= TEXT_SHARE * max(1, vals.size)
    clear = flat & ~fixed  # flat: not the antialiased edge of a glyph the mask missed
    boxes = ndimage.find_objects(lab)
    for i in np.flatnonzero(~text & (size >= MIN_SPECK)):
        sl = boxes[i]
        g = 2 * max(sl[0].stop - sl[0].start, sl[1].stop - sl[1].start) + 4
        win = (slice(max(0, sl[0].start - g), sl[0].stop + g),
               slice(max(0, sl[1].start - g), sl[1].stop + g))
        me = lab[win] == i + 1
        # not the part's own flat area (a glyph's fill the detection missed in places)
        ring = clear[win] & ~np.isin(areas_lab[win], np.unique(areas_lab[win][me]))
        if ring.sum() < MIN_SPECK:
            continue
        dist = ndimage.distance_transform_edt(~me)
        ring &= dist <= 2.0 * float(dist[ring].min()) + 2.0
        same = np.abs(v[win][ring] - med[i]) <= thr / 2
        if same.sum() >= max(MIN_SPECK, BACKGROUND_SHARE_NEAR * ring.sum()):
            out[win] |= me
    return out


def _flat_areas(v: np.ndarray, bars: np.ndarray, thr: float) -> tuple[np.ndarray, np.ndarray, int]:
    """The flat pixels (3x3 range of ``v``, ``bars`` left out, at most ``thr``), their
    connected areas' labels and the number of areas."""
    from scipy import ndimage

    p = np.pad(v, 1, mode="edge")
    pbar = np.pad(bars, 1, mode="edge")
    h, w = v.shape
    lo = hi = v
    for dy in range(3):
        for dx in range(3):
            s = np.where(pbar[dy:dy + h, dx:dx + w], v, p[dy:dy + h, dx:dx + w])
            lo, hi = np.minimum(lo, s), np.maximum(hi, s)
    flat = (hi - lo) <= thr
    lab, n = ndimage.label(flat)
    return flat, lab, n


def _proven_areas(proven: np.ndarray, bg: np.ndarray,
                  areas: tuple[np.ndarray, np.ndarray, int]) -> np.ndarray:
    """The flat areas (:func:`_flat_areas`) that are not background (``bg``) and hold a
    patch of :data:`MIN_SPECK` or more pixels ``proven`` screen-fixed: a glyph's fill whose
    middle no frame of a short line saw off the glyph (the travel to move it off is more
    than the line lasts). ``areas``: :func:`_flat_areas` of the frame's values."""
    flat, lab, n = areas
    if n == 0 or not proven.any():
        return np.zeros_like(proven)
    hits = np.bincount(lab.ravel(), weights=(flat & proven & ~bg).ravel(), minlength=n + 1)
    keep = hits >= MIN_SPECK
    keep[0] = False
    return keep[lab] & ~bg


def _flat_background(v: np.ndarray, fixed: np.ndarray, thr: float,
                     areas: tuple[np.ndarray, np.ndarray, int],
                     ends: list[np.ndarray] | None = None) -> np.ndarray:
    """Pixels that belong to flat background: the flat areas (connected pixels whose 3x3
    range, bar pixels left out, is at most ``thr``) holding some pixels that are not
    screen-fixed, plus the edge pixels next to such an area with its value (within
    ``thr``). With the frames at which each pixel's value changed (``ends``, back and
    forward, :func:`_span`), the pixels that changed at the frames at which at least half
    of their area's changed pixels did are not counted: a glyph's fill changes with its
    line, all at once (a line shorter than the camera travel looked at, on a slow pan),
    flat background where an edge of the scene reaches it, column by column."""
    from scipy import ndimage

    p = np.pad(v, 1, mode="edge")
    h, w = v.shape
    flat, lab, n = areas  # :func:`_flat_areas` of (v, bars, thr)
    if n == 0:
        return np.zeros_like(fixed)
    size = np.bincount(lab.ravel(), minlength=n + 1)
    # the pixels the camera carried an edge past form bands; specks and block-sized
    # patches are codec glitches or drift in a flat glyph fill or outline (wide at 720p+)
    changed = flat & ~fixed
    clab, nc = ndimage.label(changed, structure=np.ones((3, 3), bool))
    if nc:
        speck = np.bincount(clab.ravel(), minlength=nc + 1) < CHANGED_PATCH
        speck[0] = False
        changed &= ~speck[clab]
    if ends is not None and changed.any():
        changed &= ~_with_the_area(lab, changed, ends)
    moving = np.bincount(lab.ravel(), weights=changed.ravel(), minlength=n + 1)
    bg = moving >= np.maximum(BACKGROUND_MIN, BACKGROUND_SHARE * size)
    bg[0] = False
    out = bg[lab]
    pb = np.pad(out, 1)
    for dy, dx in ((0, 1), (2, 1), (1, 0), (1, 2)):
        nb = pb[dy:dy + h, dx:dx + w]
        near = np.abs(p[dy:dy + h, dx:dx + w] - v) <= thr
        out |= ~flat & nb & near
    return out


def refine_fixed(luma: Callable[[int], np.ndarray], xy: np.ndarray,
                 candidates: Callable[[int], np.ndarray | None], *, thr: float,
                 min_span: float, reach: int = 24,
                 still: np.ndarray | None = None,
                 moving: Callable[[int], np.ndarray | None] | None = None
                 ) -> list[Crop | None]:
    """Full-resolution screen-fixed masks inside each frame's candidate region.

    Parameters
    ----------
    luma : callable ``n -> ndarray float32 (h, w)``
        Working Y' of offsets row n (rows are asked for in order, at most ``reach`` apart
        from the current one).
    xy : ndarray (n, 2)
        Offsets (px).
    candidates : callable ``n -> bool (h, w) or None``
        Per row, where screen-fixed content may be (a superset: the reduced masks); None:
        nothing to refine.
    thr : float
        Working Y' difference that still counts as the same value (codec noise).
    min_span : float
        Camera displacement (px) a pixel must keep its value over to count as screen-fixed.
    reach : int
        Frames looked at in each direction.
    still : ndarray bool (h, w) or None
        Frame pixels that never change on screen (bars, dirty border lines): a frame that
        shows a pixel's scene point behind them proves nothing about it.
    moving : callable ``n -> bool (h, w) or None``, optional
        Per row, what the moving-foreground analysis found: the pixels of its parts that
        move on screen (:func:`_moves`) are not screen-fixed.

    Returns
    -------
    list of Crop or None
        Per row, the refined mask (a subset of the candidate) on the candidate's bounding
        box, None where the candidate was None or empty. A frame whose neighbours never move
        ``min_span`` keeps its candidate.
    """
    from scipy import ndimage

    xy = np.asarray(xy, np.float64).reshape(-1, 2)
    occluders = None if still is None or not still.any() else still.astype(np.float32)
    out: list[Crop | None] = []
    for k in range(len(xy)):
        cand = candidates(k)
        if cand is None or not cand.any():
            out.append(None)
            continue
        rows, cols = np.flatnonzero(cand.any(axis=1)), np.flatnonzero(cand.any(axis=0))
        box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
        c = cand[box]
        span, ends = _span(luma, k, xy, box, thr, min_span, reach)
        proven = _proven(luma, k, xy, box, ends, thr, min_span, reach, occluders)
        # a slow pan's frames within reach travel less than min_span: all of it will do
        travel = _travel(xy, k, reach, min_span)
        need = min_span if travel >= min_span else max(TRAVEL_SHARE * travel, MIN_TRAVEL)
        fixed = (span >= need) | proven
        if span.max() < need and not fixed.any():
            # the camera hardly moves: nothing to tell apart
            out.append(Crop(int(rows[0]), int(cols[0]), c))
            continue
        v = luma(k)[box]
        bars = np.zeros_like(fixed)
        for axis, full in ((1, cand.shape[1]), (0, cand.shape[0])):
            lo, hi = np.percentile(v, (5, 95), axis=axis)
            line = (fixed.sum(axis=axis) >= BAR_FRACTION * full) & (hi - lo <= thr)
            if axis == 1:
                bars[line] = True
            else:
                bars[:, line] = True
        bars &= fixed
        areas = _flat_areas(v, bars, thr)  # once: read by the three tests below
        bg = _flat_background(v, fixed, thr, areas, ends) & ~bars
        fixed = (fixed | _proven_areas(proven, bg, areas)) & ~bg
        # a textured pixel may stay within thr by chance: glyphs and bars are not specks
        lab, nlab = ndimage.label(fixed, structure=np.ones((3, 3), bool))
        if nlab:
            small = np.bincount(lab.ravel(), minlength=nlab + 1) < MIN_SPECK
            small[0] = False
            fixed &= ~small[lab]
        # background seen through a glyph's hole: it changed at a frame of its own
        fixed &= ~_own_change(fixed, ends, bars)
        # ... or flat, in the background's colour and in none of the text's
        fixed &= ~_seen_through(v, fixed, bars, thr, areas)
        # ... or something moving on screen whose flat middles keep their screen value
        # (never what does not change on screen at all: bars, a dirty border line)
        moves = _moves(luma, k, len(xy), moving(k), fixed, box) & ~bars \
            if moving is not None else np.zeros_like(fixed)
        if still is not None and moves.any():
            moves &= ~still[box]
        fixed &= ~moves
        # grown by a pixel into what is not background (the antialiased rims) nor moving
        fixed |= dilate(fixed, square=True) & ~bg & ~moves
        out.append(Crop(int(rows[0]), int(cols[0]), fixed & c))
    return out


@dataclass
class Crop:
    """A frame mask kept on its bounding box: ``mask`` (bool) at rows ``y..``, cols ``x..``."""

    y: int
    x: int
    mask: np.ndarray

    @classmethod
    def tight(cls, m: np.ndarray, y: int = 0, x: int = 0) -> Crop | None:
        """``m`` (bool (h, w), placed at rows ``y..``, cols ``x..`` of the frame) kept on its
        bounding box, or None where it is empty."""
        box = bounding_box(m)
        if box is None:
            return None
        return cls(y + box[0].start, x + box[1].start, m[box].copy())

    def full(self, shape: tuple[int, int]) -> np.ndarray:
        """The mask on the whole frame (bool ``shape``)."""
        out = np.zeros(shape, bool)
        h, w = self.mask.shape
        out[self.y:self.y + h, self.x:self.x + w] = self.mask
        return out

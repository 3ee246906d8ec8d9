"""The edges of the moving-foreground masks redrawn at full resolution (issue #12).

:func:`overmix.render.foreground.moving_foreground` works on frames reduced to about 640
columns: at 720p and above its masks reach up to a couple of reduced samples (a few
full-resolution pixels) past the moving thing. Beside a character that moves slowly against
the background, the places it has just left or is about to cover are seen clean only by a
few frames, each a pixel or two from its outline: a mask that wide leaves no frame to show
them.

Per frame, the edge band of its mask (the pixels within :data:`BAND` reduced samples of the
mask's edge, inside it) is judged again on the full-resolution frames, with the same
odd-one-out test as the reduced analysis (the frame differs from both background-aligned
frames ``k - d`` and ``k + d``). A band pixel that does not differ is background that the
reduced mask took, *if* it connects to the outside of the mask without crossing a flagged
pixel: the full-resolution outline of the moving thing encloses its flat inside, which
matches itself after a small move (the aperture problem) and must stay. Near the ends of the
clip, where a frame has no pair on one side, a band pixel must match every frame it is
compared with (on the one side there is) to be released. The frames within :data:`SHORT`
of an end (of the depth the ends follow from, :mod:`overmix.render.foreground_track`) have
short pairs only (a slow thing's flat inside is missed, a swinging leg's ghost stays): their
masks, and the clip's end frames' carried from them, are judged again
against the frames towards the middle that see the background
(:func:`overmix.render.foreground_ends.judge_end`).

The flagged outline is grown by :data:`EDGE_GROW` px (its anti-aliased, codec-ringing
edge). Last, the masks' holes are closed where no far frame shows the background there
(:func:`overmix.render.foreground_holes.close_holes`), and (at a reduction) the flat parts
that show the background around the thing (a letter's counter, the gap between two stems
the reduced mask closed) are given back
(:func:`overmix.render.foreground_behind.release_behind_moving`), then the pixels beside a
mask that stand out from the background beyond them (an outline's last pixel) are taken in
(:func:`overmix.render.foreground_slope.grow_slopes`, also where the masks were found at full
resolution; over the whole frame in the rows near the clip's ends, :func:`one_sided`). Masks
are kept on their bounding box (:class:`overmix.render.fixed_edges.Crop`). Frames are read
through a sliding window of ``2 max(d) + 1`` full-resolution frames.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from overmix.morph import dilate, fill_holes
from overmix.render.fixed_edges import Crop
from overmix.render.foreground import (
    DISTANCES,
    FLAT,
    LEVEL,
    TRACK_FROM,
    TRACK_RADIUS,
    _Frame,
    _range3,
    pairs,
)
from overmix.render.foreground_behind import release_behind_moving
from overmix.render.foreground_ends import REACH, carry, differs_at, judge_end
from overmix.render.foreground_holes import close_holes
from overmix.render.foreground_slope import grow_slopes

__all__ = ["BAND", "one_sided", "redraw_moving"]

BAND = 2  # reduced samples: how far inside its edge a reduced mask may be wrong
EDGE_GROW = 1  # px: the soft edge of a flagged outline that stays in the mask
MIN_PAIR = 2  # frames: a frame whose widest pair is closer than this is judged one-sided
FOLLOWED = 0.9  # share of a mask the clip's ends must find again to take it
SHORT = 4  # frames: a row this close to an end has only short pairs (judged one-sided too)
UNREACHED = 2  # reduced samples: an end frame's own part this far from its carried mask stays


def redraw_moving(masks: Sequence[np.ndarray | None], reduce: int,
                  luma: Callable[[int], np.ndarray], xy: np.ndarray, shape: tuple[int, int], *,
                  distances: tuple[int, ...] = DISTANCES, level: float = LEVEL,
                  dirty: np.ndarray | None = None,
                  track: tuple[int, int] | None = None) -> list[Crop | None]:
    """Full-resolution moving-foreground masks (see the module docstring).

    Parameters
    ----------
    masks : per offsets row, bool (h // reduce, w // reduce) or None
        The reduced masks (:func:`overmix.render.foreground.moving_foreground`).
    reduce : int
        Full-resolution pixels per sample of ``masks``.
    luma : callable ``k -> ndarray float32 (h, w)``
        Working Y' of row ``k`` at full resolution.
    xy : ndarray (count, 2)
        Background offsets (x, y), frame-0 pixels.
    shape : (h, w)
        Full-resolution frame shape.
    dirty : ndarray bool (h, w) or None
        Every frame's lines that are not picture (dirty border lines): no partner read there
        counts (:func:`overmix.render.foreground_ends.differs_at`).
    track : (head, tail) or None
        How many rows at each end took a neighbour's mask (None: ``masks.track`` of a
        :class:`overmix.render.foreground.MovingMasks`, else :data:`TRACK_FROM` each).

    Returns
    -------
    list of Crop or None
        Per row, the mask on its bounding box (None where ``masks`` has none).
    """
    from scipy import ndimage  # lazy: only scenes with something moving get here

    count = len(masks)
    if track is None:
        track = getattr(masks, "track", (TRACK_FROM, TRACK_FROM))
    if reduce <= 1:  # found at full resolution already: kept as they are, but the ends
        out = [None if m is None else Crop.tight(np.asarray(m, bool))
               for m in masks]
        # the outline's last pixel beside a mask is left out at full resolution too (640x360
        # credits on a pan down at 3.1 px/frame, 8-bit "few" -6.29 -> -5.81 dB); giving back
        # the flat parts (release_behind_moving) here cost the sprite scenes (all -10.55 dB)
        return grow_slopes(close_holes(_judge_ends(out, luma, xy, shape, 1, dirty, track),
                                       luma, xy, dirty=dirty), luma, shape, level=level)
    xs = np.asarray(xy, np.float64).reshape(-1, 2)
    frame, cache = _frames_read_once(luma)
    r = max(1, int(reduce))
    band = BAND * r
    out: list[Crop | None] = []
    for k in range(count):
        for j in [j for j in cache if j < k - max(distances)]:  # the window slides on
            del cache[j]
        m = masks[k]
        if m is None or not m.any():
            out.append(None)
            continue
        full = _upsample(m, r, shape)
        out.append(_redraw(k, full, band, frame, xs, count, distances, level, ndimage,
                           dirty))
    cache.clear()
    # the holes closed, then the counters and the gaps between stems the reduced masks
    # closed given back where they show the background around
    # the thing's edge left beside a mask (anti-aliased outline, a bar entering over the
    # border) taken in by its value last, once the counters are back
    # (over the whole frame in the rows near the clip's ends: their partners, all on one side
    # or near, may show the outline where they do)
    return grow_slopes(release_behind_moving(
        close_holes(_judge_ends(out, luma, xy, shape, r, dirty, track), luma, xy, dirty=dirty),
        luma, xy, shape, level=level), luma, shape, level=level,
        everywhere=one_sided(count, track))


def one_sided(count: int, track: tuple[int, int]) -> frozenset[int]:
    """The rows of a clip of ``count`` whose masks :func:`_judge_ends` judges again: the
    first ``track[0]`` and last ``track[1]`` (carried from a neighbour) and the
    :data:`SHORT` - :data:`TRACK_FROM` rows after them (short pairs only); none where the
    clip is too short for that."""
    head, tail = track
    if count <= head + tail + 1:
        return frozenset()
    span = SHORT - TRACK_FROM
    return frozenset(k for k in range(count) if k < head + span or count - 1 - k < tail + span)


def _frames_read_once(luma: Callable[[int], np.ndarray]
                      ) -> tuple[Callable[[int], np.ndarray], dict[int, np.ndarray]]:
    """``luma`` read once per frame as float32, and the cache the caller trims as its
    window slides on."""
    cache: dict[int, np.ndarray] = {}

    def frame(j: int) -> np.ndarray:
        if j not in cache:
            cache[j] = np.asarray(luma(j), np.float32)
        return cache[j]

    return frame, cache


def _judge_ends(out: list[Crop | None], luma: Callable[[int], np.ndarray], xy: np.ndarray,
                shape: tuple[int, int], r: int, dirty: np.ndarray | None = None,
                track: tuple[int, int] = (TRACK_FROM, TRACK_FROM)) -> list[Crop | None]:
    """The masks of the rows near the clip's ends judged again against the frames on their
    one side that see the background (:func:`overmix.render.foreground_ends.judge_end`);
    ``r``: full-resolution pixels per sample of the analysis. First the rows whose pairs
    are all short (the :data:`SHORT` - :data:`TRACK_FROM` rows from the depth ``track`` of
    each end on: no pair reaches a frame where a swinging leg has moved off, so what the
    pair frames' legs covered stays masked, a ghost), their own masks judged; then the
    first ``track[0]`` and last ``track[1]`` rows, their masks carried from the judged row
    at that depth (:mod:`overmix.render.foreground_track`)."""
    count = len(out)
    head, tail = track
    if count <= head + tail + 1:
        return out
    xs = np.asarray(xy, np.float64).reshape(-1, 2)
    frame, cache = _frames_read_once(luma)

    def mask(j: int) -> np.ndarray | None:
        got = out[j]
        return None if got is None else got.full(shape)

    def judged_mask(j: int) -> np.ndarray | None:
        got = judged[j]
        return None if got is None else got.full(shape)

    judged = list(out)
    ends = [*range(head), *range(count - tail, count)]
    span = SHORT - TRACK_FROM
    short = [k for k in range(count)
             if head <= k < head + span or tail <= count - 1 - k < tail + span]
    for e in short:
        got = out[e]
        if got is None:
            continue
        own = got.full(shape)
        m = judge_end(e, own, None, frame, mask, xs, count, reach=REACH * r, grow=r,
                      dirty=dirty)
        # its own outline was judged at full resolution already: the judged mask's soft
        # edge is not grown past it (only what was added beyond it keeps its edge)
        m &= own | ~dilate(own, EDGE_GROW)
        judged[e] = Crop.tight(m)
    for e in ends:
        got = out[e]
        if got is None:
            continue
        src = head if e < head else count - 1 - tail
        m_src = judged_mask(src)
        carried = got.full(shape)
        fits = carried
        if m_src is not None:
            moved, fit = carry(m_src, frame(src), frame(e),
                               radius=(TRACK_RADIUS * abs(src - e) + 2) * r)
            if np.count_nonzero(moved) >= FOLLOWED * np.count_nonzero(m_src):
                # else a part found no match: the one it has. A part of its own that the
                # carried mask does not reach stays too (judged below like its own mask)
                kept = unreached(carried, moved, UNREACHED * r)
                carried, fits = moved | kept, fit | kept
        m = judge_end(e, carried, fits, frame, mask, xs, count, reach=REACH * r, grow=r,
                      dirty=dirty)
        # the carried mask has its source's soft edge already (EDGE_GROW): a second ring
        # made the clip's end frames the widest masks, and the rim of the places only they
        # see went to a middle frame's thinner mask (720p sprite 8-bit "few" +0.69 dB)
        m &= carried | ~dilate(carried, EDGE_GROW)
        judged[e] = Crop.tight(m)
        if e == head - 1:  # the start is done: its views are not needed again
            cache.clear()
    return judged


def unreached(own: np.ndarray, moved: np.ndarray, gap: int) -> np.ndarray:
    """The parts of an end frame's ``own`` mask (bool (h, w); parts as
    :func:`overmix.render.foreground.follow_parts` groups them: pixels within a few px of
    each other) with no pixel within ``gap`` px of the ``moved`` mask carried from a
    neighbour (bool (h, w)). A part that found no match there is not carried: a talking
    mouth drawn another way in the source frame (a reversed pan's "all" scene: frame 38's
    mouth was left out of its mask, "few" -8.24 dB). Returns bool (h, w)."""
    from scipy import ndimage

    if not own.any():
        return np.zeros(own.shape, bool)
    groups, _ = ndimage.label(dilate(own, 3))
    near = np.unique(groups[dilate(moved, gap) & own])
    return own & (groups > 0) & ~np.isin(groups, near[near > 0])


def _upsample(m: np.ndarray, r: int, shape: tuple[int, int]) -> np.ndarray:
    """A reduced mask at full resolution (the ragged edge repeats the last sample)."""
    from overmix.render.consensus import upsample_mask

    return upsample_mask(np.asarray(m, bool), r, shape)


def _redraw(k: int, full: np.ndarray, band: int, frame: Callable[[int], np.ndarray],
            xs: np.ndarray, count: int, distances: tuple[int, ...], level: float,
            ndimage, dirty: np.ndarray | None = None
            ) -> Crop:  # noqa: ANN001 - scipy.ndimage, imported lazily
    """Row k's mask ``full`` (bool (h, w)) with its edge band redrawn at full resolution, on
    its bounding box."""
    h, w = full.shape
    rows, cols = np.flatnonzero(full.any(axis=1)), np.flatnonzero(full.any(axis=0))
    y0, y1 = max(int(rows[0]) - 2, 0), min(int(rows[-1]) + 3, h)
    x0, x1 = max(int(cols[0]) - 2, 0), min(int(cols[-1]) + 3, w)
    m = full[y0:y1, x0:x1]
    cur = _Frame(frame(k)[y0:y1, x0:x1])

    def differs(j: int) -> tuple[np.ndarray, np.ndarray]:
        t = xs[k] - xs[j]  # the crop's sample (i, c) is frame j's (y0 + i + ty, x0 + c + tx)
        return differs_at(cur, frame(j), float(t[1]) + y0, float(t[0]) + x0, level, dirty)

    prs = pairs(k, count, distances)
    flagged = np.zeros(m.shape, bool)
    if prs and max(b - a for a, b in prs) >= 2 * MIN_PAIR:
        for pr in prs:
            flagged |= differs(pr[0])[0] & differs(pr[1])[0]
    else:  # the clip's ends: what any frame on the one side sees differently stays
        for j in [k + s * d for d in distances for s in (-1, 1) if 0 <= k + s * d < count]:
            flagged |= differs(j)[0]
    if dirty is not None:  # the frame's own dirty lines differ from every partner: no thing
        flagged &= ~dirty[y0:y1, x0:x1]
    rng = _range3(cur.y)
    inner = ~dilate(~m, band)  # eroded, outside the crop counting as set
    # the frame's own lines bar the way too, in the mask and out of it: where the moving
    # outline slides along itself (a horizontal edge moving sideways) it is not flagged,
    # and the reduced mask may end short of it, but it is still a line; the background
    # released is the flat regions that reach out of the mask
    free = ~flagged & ~inner & (rng < FLAT)
    lab, _ = ndimage.label(free)
    # seen from well outside the mask: a hole in it or a gap just beside it may be a piece
    # of the thing the analysis missed
    away = ~dilate(fill_holes(m), band)
    outside = np.unique(lab[away & free])
    released = np.isin(lab, outside[outside > 0]) & m
    keep = (m & ~released) | (dilate(flagged, EDGE_GROW) & m)
    return Crop(y0, x0, keep)

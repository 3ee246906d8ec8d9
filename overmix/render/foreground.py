"""Independently moving foreground, frame by frame (issue #12: a clean still by default).

A character walking against the pan, credits scrolling, hair in the wind: where such a thing
covers a canvas place in *most* of the frames, a per-pixel consensus (median, mode) keeps the
foreground and rejects the few frames that see the background. What tells them apart is
motion, not counts: the background moves with the camera, the foreground does not.

Per frame ``k`` (working Y', reduced to about 640 columns):

1. **Odd one out.** For each temporal distance ``d`` in :data:`DISTANCES`, frame ``k`` is
   compared, at the *background* offsets, with frames ``k - d`` and ``k + d`` (near the ends
   of the clip ``d`` shrinks; the first and last frames have no such pair). A pixel that differs
   from *both* (beyond the local slope's allowance for resampling) shows something that is
   not the background the others see there: the outlines and texture of the moving thing.
   A background pixel that a neighbour's foreground covers differs from that neighbour only,
   so it is not flagged. Flat interiors are not flagged either (a flat coat matches itself
   after moving: the aperture problem).
2. **Regions.** Drawn frames are made of flat regions bounded by lines. The frame is split
   into flat regions (3x3 range below :data:`FLAT`); a region whose surrounding edge pixels
   are mostly (> :data:`ENCLOSED`) flagged in step 1 is enclosed by moving outlines: the
   inside of the moving thing (a coat, a face, a letter's counter). Background regions touch
   the foreground along part of their border only.

3. **Explained.** A flat flagged sample that differs from a pair only where one of the
   pair's frames shows the enclosed inside of its own moving thing (its first mask) is the
   background that frame k sees there, not frame k's moving thing (:func:`_explained`).
4. **Ghosts.** A flagged sample (flat or not) where both frames of every pair that flags it
   show the inside of their own moving thing (with its outline), and both frames of another
   pair show what frame k does, is background that frame k sees between swinging legs: a
   walk cycle's ghost (:func:`overmix.render.foreground_ghosts.ghosts`). It neither stays
   in the mask nor encloses a region.
5. **Ends.** Near the clip's ends the pairs are short: the first and last frames take the
   mask of the frame at a depth set by how far the thing moves against the background
   (:mod:`overmix.render.foreground_track`), carried by :func:`follow`; a frame within that
   depth of an end tells nothing about a region seen again (its own moving parts are not
   known).

The masks are the flagged pixels plus the enclosed regions. Frames are read
through a sliding window of ``4 max(d) + 1`` frames, so memory does not grow with the clip.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from overmix.morph import dilate
from overmix.render.foreground_ghosts import ghosts, insides
from overmix.render.foreground_track import GLIMPSE, HELD, held_share, track_depth
from overmix.warp import sample_bilinear, window, window_ones

__all__ = ["DISTANCES", "MovingMasks", "analysis_factor", "best_shift", "follow",
           "follow_parts", "moving_foreground", "pairs"]

DISTANCES = (2, 4, 8)  # frames: slow foreground needs far neighbours, deforming needs near
LEVEL = 0.06  # working Y': smallest odd-one-out difference (well above crf ~18-24 noise)
FLAT = 0.03  # 3x3 range below which a pixel belongs to a flat region
ENCLOSED = 0.5  # fraction of a region's border flagged to count as enclosed by the foreground
BORDER = 3  # px: the edge band around a flat region that counts as its border
EDGE_GROW = 1  # px: masks grow this far along edge pixels (not into flat regions)
RIM = 3  # border weight of a region's sample on the frame edge
MIN_FLAGGED = 1e-4  # fraction of a frame: fewer odd-one-out pixels are codec specks
MIN_BORDER = 8  # px: regions with a shorter border tell nothing (specks)
FAR = (8, 16, 24)  # frames: where a region beside a moving thing is looked for again
# frames: where it is looked for again too, off FAR's period (odd: not multiples of a 2, 4 or
# 8 frame cycle), unless a FAR frame shows the region again whole with its whole outline at
# the same place (a thing animating in place whose cel comes back: a mouth). A 4-frame walk
# cycle shows the same pose in every FAR frame, and that pose encloses nearly the same
# background beside the legs as its own moving part there, so the place was never seen off
# one (640x360 vertical pan --step=0.43,3.1 subsprite, frame 14: the gap between the legs,
# seen clean 17 frames away). Not nearer than FAR's first: 5, 11, 17, 24 instead of FAR
# (reverted) released the 720p parallax trunks, which move a few pixels in 5 frames and
# still overlap themselves there, and the 640x360 mouth, whose talk cycle shows its cel
# again 8 and 16 frames away and the closed mouth 11 and 17 away
ASIDE = (11, 17)
LEAVES_REACH = 0.5  # of a region that leaves the frame a far frame must reach to judge it
AGAIN = 0.97  # fraction of a region that must match there
BUSY = 0.25  # ... and at most this fraction of it may lie on that frame's own moving parts
FREE = 0.5  # ... or at least this fraction lies off them and matches there (_enclosed)
TRACK_FROM = 2  # at least frames 0, 1 (and the last two) follow frame 2's (the third last's)
GAP = 4  # frames between a frame and the partner its weak border is carried from
TRACK_RADIUS = 6  # px per frame of screen motion a followed part may have
MIN_PART = 12  # px: smaller parts are not followed
# a part's 8-connected pieces this large (share of the part, and px) are followed alone: two
# things a few pixels apart that move differently (a character's feet by a subtitle line)
SPLIT_SHARE = 0.2
SPLIT_MIN = 400
FOLLOW_SAMPLES = 1500  # pixels of a part the follow search compares (a strided subset)
FOLLOW_COARSE = 64  # ... of which at least this many try every shift first
FOLLOW_KEEP = 6  # ... and the best this many shifts (and their neighbours) all of them
# px: a mask carried to the clip's end frames is split where a neck this wide or less (2x)
# joins large pieces (_necked: a foot touching a subtitle line)
NECK = 2


class MovingMasks(list):
    """The per-row masks of :func:`moving_foreground` (a list: bool (h, w) or None per
    row) and ``track`` ((head, tail): how many of the clip's first and last rows took their
    masks from the row at that depth, :func:`overmix.render.foreground_track.track_depth`;
    the full-resolution redrawing judges those rows the same way)."""

    track: tuple[int, int] = (TRACK_FROM, TRACK_FROM)


def analysis_factor(width: int, reduce: int) -> int:
    """Reduction of the analysis: the largest divisor of ``reduce`` (the consensus
    reduction) that keeps about 640 columns (outlines of a few pixels must survive it)."""
    cap = max(1, round(width / 640))
    return max(d for d in range(1, max(1, reduce) + 1) if reduce % d == 0 and d <= cap)


def _range3(a: np.ndarray) -> np.ndarray:
    """3x3 max - min (edge samples repeated), by separable passes (a max of maxes is the
    max: the same values as the nine shifted slices, in 8 passes instead of 18)."""
    p = np.pad(a, 1, mode="edge")
    w = a.shape[1]
    out = []
    for op in (np.maximum, np.minimum):
        r = op(p[:, :w], p[:, 1:w + 1])
        op(r, p[:, 2:], out=r)
        v = op(r[:-2], r[1:-1])
        op(v, r[2:], out=v)
        out.append(v)
    return out[0] - out[1]


def pairs(k: int, n: int, distances: tuple[int, ...]) -> list[tuple[int, int]]:
    """The frame pairs ``(k - d, k + d)`` frame ``k`` is compared with; near the ends of the
    clip ``d`` shrinks to what there is (both sides are needed: two later frames that both
    show something passing would make the background of frame ``k`` the odd one out)."""
    ds = sorted({min(d, k, n - 1 - k) for d in distances} - {0})
    return [(k - d, k + d) for d in ds]


class _Frame:
    """A frame's working Y' (h, w) and what the comparisons read of it, computed once:
    ``lo``/``hi`` of every 2x2 block ((h - 1, w - 1): block (i, j) holds rows i, i + 1 and
    columns j, j + 1, the four bilinear taps of a position in that cell) and :meth:`near`
    (h, w), the range of the frame within half a sample of each sample (its value and the
    midpoints towards its 8 neighbours: what a shift of up to half a sample can make of
    it). ``dirty`` (bool (h, w)): samples that are not picture (dirty border lines): their
    blocks take any value (-inf .. inf), so no frame differs from them."""

    __slots__ = ("_near", "hi", "lo", "y")

    def __init__(self, y: np.ndarray, dirty: np.ndarray | None = None) -> None:
        a = np.asarray(y, np.float32)
        self.y = a
        self.lo = np.minimum(np.minimum(a[:-1, :-1], a[:-1, 1:]), np.minimum(a[1:, :-1], a[1:, 1:]))
        self.hi = np.maximum(np.maximum(a[:-1, :-1], a[:-1, 1:]), np.maximum(a[1:, :-1], a[1:, 1:]))
        if dirty is not None and dirty.any():
            blk = dirty[:-1, :-1] | dirty[:-1, 1:] | dirty[1:, :-1] | dirty[1:, 1:]
            self.lo[blk] = -np.inf
            self.hi[blk] = np.inf
        self._near: tuple[np.ndarray, np.ndarray] | None = None

    def near(self) -> tuple[np.ndarray, np.ndarray]:
        """(near_lo, near_hi), computed on first use."""
        if self._near is None:
            self._near = self._near_range()
        return self._near

    def _near_range(self) -> tuple[np.ndarray, np.ndarray]:
        a = self.y
        p = np.pad(a, 1, mode="edge")
        h, w = a.shape
        lo, hi = a.copy(), a.copy()
        for dy in range(3):
            for dx in range(3):
                if dy != 1 or dx != 1:
                    mid = p[dy:dy + h, dx:dx + w]
                    np.minimum(lo, mid, out=lo)
                    np.maximum(hi, mid, out=hi)
        half = np.float32(0.5)
        # the midpoints towards the darkest and the brightest neighbour
        return half * (a + lo), half * (a + hi)


def _differs(cur: _Frame, other: _Frame, ty: float, tx: float, level: float,
             both_ways: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Where frame ``cur`` lies more than ``level`` outside the range of the four samples of
    frame ``other`` around ``(i + ty, j + tx)``, and where those samples exist. A sub-pixel
    shift or a resampled edge stays inside that range, something that moved by a pixel or
    more does not (Birchfield and Tomasi's sampling-insensitive dissimilarity, 1998).
    ``both_ways``: and ``other``'s bilinear value there lies outside ``cur``'s range within
    half a sample (the minimum of the two one-sided measures: a thin line whose peak a
    sub-pixel phase halves does not differ either). Returns (differs, reached), bool (h, w)."""
    h, w = cur.y.shape
    iy, ix = math.floor(ty + 1e-6), math.floor(tx + 1e-6)
    lo, hi = window(other.lo, iy, ix, h, w), window(other.hi, iy, ix, h, w)
    ok = window_ones(other.lo.shape, iy, ix, h, w) > 0
    lv = np.float32(level)
    lo -= lv
    hi += lv
    out = ((cur.y > hi) | (cur.y < lo)) & ok
    if both_ways and out.any():
        val = sample_bilinear(other.y, None, ty, tx, h, w)[0]
        near_lo, near_hi = cur.near()
        out &= (val > near_hi + lv) | (val < near_lo - lv)
    return out, ok


def _enclosed(flagged: np.ndarray, rng: np.ndarray,
              seen_again: Callable[[], list[tuple[np.ndarray, np.ndarray, np.ndarray | None,
                                                  bool]]]
              | None = None) -> np.ndarray:
    """Flat regions of the frame (``rng`` < :data:`FLAT`) whose border band is mostly
    ``flagged``, unless a far frame shows the region again without that outline, off its
    own moving parts (``seen_again``: per far frame, bool (h, w): where it shows the same
    at the same canvas place, where it reaches, and where its own moving parts lie (None:
    unknown, nothing); and whether it is one of the :data:`ASIDE` frames, which do not
    judge a region a :data:`FAR` frame shows again with its whole outline); of a region
    that leaves the frame, the part the far frame reaches (at least :data:`LEAVES_REACH`
    of it): bool (h, w)."""
    from scipy import ndimage  # lazy: only scenes with something moving get here

    flat = rng < FLAT
    lab, count = ndimage.label(flat)
    if count == 0:
        return np.zeros(flat.shape, bool)
    # each edge pixel takes a label within BORDER px (the largest: any one will do)
    near = np.where(flat, lab, ndimage.maximum_filter(lab, size=2 * BORDER + 1))
    edge = ~flat & (near > 0)
    # a thin flagged outline must cover the band's width: flags grown across the band
    wide = dilate(flagged, 2)
    lab_e = near[edge]
    total = np.bincount(lab_e, minlength=count + 1).astype(np.float64)
    # a region that leaves the frame continues where nothing is known: its frame-edge
    # samples count as unflagged border (as wide as an edge band)
    rim = np.concatenate([lab[0], lab[-1], lab[1:-1, 0], lab[1:-1, -1]])
    total += RIM * np.bincount(rim, minlength=count + 1)
    hit = np.bincount(lab_e, weights=wide[edge], minlength=count + 1)
    inside = (hit > ENCLOSED * total) & (total >= MIN_BORDER)
    inside[0] = False
    if inside.any() and seen_again is not None:
        # a background region beside the moving thing is seen again, whole, at the same
        # canvas place in some frame far in time, without the outline that enclosed it here
        # and outside that frame's own moving parts (the thing has moved off); the inside of
        # a moving thing is not: where it moves slowly against the background, a far frame
        # still shows it over the same place, but as a moving part there too; a thing
        # animating in place (a mouth) comes back *with* its outline
        cand = inside[lab]
        lc = lab[cand]
        size = np.bincount(lc, minlength=count + 1)
        ring = edge & flagged
        lr = near[ring]
        nring = np.bincount(lr, minlength=count + 1)
        # a region that leaves the frame (the gap between the stems of letters that rise
        # over the bottom border) is judged on the part a far frame reaches: a frame far in
        # time does not reach the border band the camera moves towards, and the region
        # continues beyond the frame anyway
        leaves = np.bincount(rim, minlength=count + 1) > 0
        need = np.where(leaves, np.maximum(LEAVES_REACH * size, MIN_BORDER), 0.95 * size)
        # regions a FAR frame shows again whole with their whole outline at the same place:
        # a thing animating in place whose cel comes back (the ASIDE frames, off that
        # period, show another cel or the background beside it and do not judge them)
        returns = np.zeros(count + 1, bool)
        for same, reach, busy, aside in sorted(seen_again(), key=lambda v: v[3]):  # FAR first
            judged = ~returns if aside else np.ones(count + 1, bool)
            got = np.bincount(lc, weights=same[cand], minlength=count + 1)
            seen = np.bincount(lc, weights=reach[cand], minlength=count + 1)
            back = np.bincount(lr, weights=same[ring], minlength=count + 1)
            part = np.where(leaves, seen, size)  # what the judgement is on
            off = np.ones(count + 1, bool) if busy is None else \
                np.bincount(lc, weights=busy[cand], minlength=count + 1) < BUSY * part
            whole = (seen >= need) & (got >= AGAIN * part)
            if not aside:
                returns |= whole & (back >= AGAIN * nring)
            inside &= ~(whole & (back < 0.5 * nring) & off & judged)
            if busy is not None:
                # ... or seen the same wherever that frame shows none of its own moving
                # parts, over at least FREE of the region: evenly spaced credit lines over
                # a slow pan never show the gap between two lines whole in a frame 8, 16 or
                # 24 away, the next line covers part of it; the inside of a slow thing is
                # still covered by the thing's own moving parts there
                free = reach & ~busy
                nfree = np.bincount(lc, weights=free[cand], minlength=count + 1)
                gotf = np.bincount(lc, weights=(same & ~busy)[cand], minlength=count + 1)
                inside &= ~((seen >= need) & (nfree >= FREE * part) & (gotf >= AGAIN * nfree)
                            & (back < 0.5 * nring) & judged)
    return inside[lab]


def follow(mask: np.ndarray, src: np.ndarray, dst: np.ndarray, *, radius: int,
           level: float = LEVEL) -> np.ndarray:
    """``mask`` of frame ``src`` carried to frame ``dst`` (:func:`follow_parts`). Returns
    bool, the shape of ``mask``."""
    h, w = mask.shape
    out = np.zeros_like(mask)
    for ys, xs, (dy, dx) in follow_parts(mask, src, dst, radius=radius, level=level,
                                         neck=NECK):
        yy, xx = ys + dy, xs + dx
        ok = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
        out[yy[ok], xx[ok]] = True
    return out


def follow_parts(mask: np.ndarray, src: np.ndarray, dst: np.ndarray, *, radius: int,
                 level: float = LEVEL, neck: int = 0
                 ) -> list[tuple[np.ndarray, np.ndarray, tuple[int, int]]]:
    """Each connected part of ``mask`` (bool (h, w), frame ``src``; parts closer than a few
    pixels together: the letters of a line) and the whole-pixel screen shift within
    ``radius`` that matches its pixels best in frame ``dst`` (:func:`_costs`: a leg that
    swung costs its pixels at most ``LEVEL`` each, the rest holds), if that match is good
    (median below ``level``): (rows, cols of the part's pixels (int arrays), (dy, dx)).
    A part whose own 8-connected pieces include large ones (:func:`_pieces`) is followed
    piece by piece: a character's feet a few pixels from a changing subtitle line join the
    two into one part, and the line, screen-fixed and larger, carried the character with
    it (720p subsprite: the clip's last frames' masks a few pixels off the character).
    ``neck`` (px): each piece is split again where a neck at most ``2 neck`` px wide joins
    large pieces (:func:`_necked`; 0: not)."""
    from scipy import ndimage

    got = []
    pad = np.pad(np.asarray(dst, np.float32), radius, constant_values=np.nan)
    groups, _ = ndimage.label(dilate(mask, 3))
    for g, sl in enumerate(ndimage.find_objects(groups), start=1):
        if sl is None:
            continue
        part = (groups[sl] == g) & mask[sl]
        pieces = _pieces(part, ndimage)
        if neck > 0:
            pieces = [p for piece in pieces for p in _necked(piece, ndimage, neck)]
        for piece in pieces:
            ys, xs = np.nonzero(piece)
            if ys.size < MIN_PART:
                continue
            ys = ys + sl[0].start
            xs = xs + sl[1].start
            step = max(1, ys.size // FOLLOW_SAMPLES)  # the search reads a subset
            best, best_cost = best_shift(src, pad, ys[::step], xs[::step], radius)
            if best is not None and best_cost <= level:
                got.append((ys, xs, best))
    return got


def _pieces(part: np.ndarray, ndimage) -> list[np.ndarray]:  # noqa: ANN001 - scipy.ndimage
    """``part`` (bool) as the masks followed one by one: its 8-connected pieces of at least
    :data:`SPLIT_SHARE` of it (and :data:`SPLIT_MIN` px) each alone, the rest together
    (the letters of a line, a character's stray ghosts: too small to be matched alone);
    ``[part]`` when fewer than two pieces are that large."""
    lab, n = ndimage.label(part, structure=np.ones((3, 3), bool))
    if n < 2:
        return [part]
    size = np.bincount(lab.ravel(), minlength=n + 1)
    size[0] = 0
    total = int(size.sum())
    big = np.flatnonzero(size >= max(SPLIT_SHARE * total, SPLIT_MIN))
    if big.size < 2:
        return [part]
    out = [lab == i for i in big]
    rest = part & ~np.isin(lab, big)
    return [*out, rest] if rest.any() else out


def _necked(part: np.ndarray, ndimage, neck: int  # noqa: ANN001 - scipy.ndimage
            ) -> list[np.ndarray]:
    """``part`` (bool) split where a neck at most ``2 neck`` px wide joins large pieces: the
    pieces of ``part`` eroded ``neck`` times (3x3), each pixel of ``part`` going with the
    piece nearest to it; those holding at least :data:`SPLIT_SHARE` of the pixels (and
    :data:`SPLIT_MIN`) each alone, the rest together, as :func:`_pieces` splits; ``[part]``
    when that leaves fewer than two pieces that large. A character's foot whose soft edge
    touches a changing subtitle line joins the two by a pixel or two into one 8-connected
    piece: followed as one, the line (screen-fixed; its letters, eroded, fall apart, but
    together they outweigh the character) carried the character with it, and the clip's
    first frames' masks ended up to ~5 px short of the character's front (720p 10-bit
    subsprite, frame 0: its body's edge at full weight over the few frames that saw the
    background there)."""
    total = int(part.sum())
    least = max(SPLIT_SHARE * total, SPLIT_MIN)
    if total < 2 * least:
        return [part]
    core = ndimage.binary_erosion(part, structure=np.ones((3, 3), bool), iterations=neck)
    lab, n = ndimage.label(core, structure=np.ones((3, 3), bool))
    if n < 2:
        return [part]
    iy, ix = ndimage.distance_transform_edt(lab == 0, return_distances=False,
                                            return_indices=True)
    near = np.where(part, lab[iy, ix], 0)
    size = np.bincount(near.ravel(), minlength=n + 1)
    size[0] = 0
    big = np.flatnonzero(size >= least)
    rest = part & ~np.isin(near, big)
    if big.size + (np.count_nonzero(rest) >= least) < 2:
        return [part]
    out = [near == i for i in big]
    return [*out, rest] if rest.any() else out


def _costs(src: np.ndarray, pad: np.ndarray, sy: np.ndarray, sx: np.ndarray,
           shifts: np.ndarray, radius: int) -> np.ndarray:
    """Mean absolute difference, each point's capped at :data:`LEVEL` (a robust,
    truncated L1), between ``src`` at the points (``sy``, ``sx``) and the frame padded by
    ``radius`` (``pad``, NaN outside) at the points moved by each of ``shifts`` ((s, 2)
    int, (dy, dx)); inf where fewer than 80 % of the moved points fall inside the frame.
    Returns float (s,). Not the median: a part mostly made of flat insides (a coat) matches
    them at many shifts, and its median was 0 at all of those, the first of them won."""
    got = pad[sy[None, :] + shifts[:, :1] + radius, sx[None, :] + shifts[:, 1:] + radius]
    d = np.abs(got - src[sy, sx][None, :])
    inside = np.isfinite(d)
    n = inside.sum(axis=1)
    # parts at the frame's edge: the points that fall inside
    cost = np.where(inside, np.minimum(d, np.float32(LEVEL)), np.float32(0)).sum(axis=1) \
        / np.maximum(n, 1)
    return np.where(n >= 0.8 * sy.size, cost, np.inf)


def best_shift(src: np.ndarray, pad: np.ndarray, sy: np.ndarray, sx: np.ndarray,
                radius: int) -> tuple[tuple[int, int] | None, float]:
    """The whole-pixel shift (dy, dx) within ``radius`` that carries the points (``sy``,
    ``sx``) of ``src`` onto the frame ``pad`` (padded by ``radius``, NaN outside) with the
    least cost (:func:`_costs`), and the median absolute difference there (how good the
    match is; None, inf: none keeps 80 % of the points inside). Coarse to fine: every
    shift on an eighth of the points, then the best few and their neighbours on all of
    them (ties: the first in (dy, dx) order)."""
    r = np.arange(-radius, radius + 1)
    shifts = np.stack(np.meshgrid(r, r, indexing="ij"), axis=-1).reshape(-1, 2)
    sub = max(1, sy.size // max(FOLLOW_COARSE, sy.size // 8))
    coarse = _costs(src, pad, sy[::sub], sx[::sub], shifts, radius)
    if not np.isfinite(coarse).any():
        return None, np.inf
    top = shifts[np.argsort(coarse, kind="stable")[:FOLLOW_KEEP]]
    near = np.unique((top[:, None, :] + shifts[np.abs(shifts).max(axis=1) <= 1][None]
                      ).reshape(-1, 2), axis=0)
    near = near[(np.abs(near) <= radius).all(axis=1)]
    cost = _costs(src, pad, sy, sx, near, radius)
    i = int(np.argmin(cost))
    if not np.isfinite(cost[i]):
        return None, np.inf
    dy, dx = int(near[i, 0]), int(near[i, 1])
    d = np.abs(pad[sy + dy + radius, sx + dx + radius] - src[sy, sx])
    return (dy, dx), float(np.median(d[np.isfinite(d)]))


def moving_foreground(luma: Callable[[int], np.ndarray], count: int, xy: np.ndarray, *,
                      reduce: int = 1, level: float = LEVEL,
                      distances: tuple[int, ...] = DISTANCES,
                      dirty: np.ndarray | None = None) -> list[np.ndarray | None]:
    """Per-frame masks of what moves on its own (see the module docstring).

    Parameters
    ----------
    luma : callable ``k -> ndarray float32 (h // reduce, w // reduce)``
        Working Y' of offsets row ``k`` at the analysis resolution.
    count : int
        Number of rows.
    xy : ndarray (count, 2)
        Background offsets (x, y) in full-resolution frame-0 pixels.
    reduce : int
        Full-resolution pixels per sample of ``luma`` (offsets are divided by it).
    level : float
        Smallest difference (working Y') that counts.
    dirty : ndarray bool (the shape of ``luma(k)``) or None
        Samples of every frame that are not picture (dirty border lines,
        :mod:`overmix.render.frame_edges`): never flagged, and no partner differs from them
        (a partner's black border column landing inside a panning frame made a false moving
        column there, 640x360 edges scene).

    Returns
    -------
    MovingMasks (list of (ndarray bool, the shape of ``luma(k)``) or None)
        Per row; None where nothing moves on its own (or fewer than 3 frames). Its
        ``track``: how many rows at each end took a neighbour's mask.
    """
    xs = np.asarray(xy, np.float64).reshape(-1, 2) / max(1, reduce)
    cache: dict[int, _Frame] = {}
    reach = max(2 * max(distances), max(FAR))

    def frame(j: int) -> _Frame:
        if j not in cache:
            cache[j] = _Frame(luma(j), dirty)
        return cache[j]

    # first masks (flagged samples and the regions they enclose, before any region is seen
    # again) of the frames within FAR of the one at hand: a far frame's own moving parts
    first: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}
    pair_bits: dict[int, np.ndarray] = {}
    inner: dict[int, np.ndarray | None] = {}  # the enclosed insides, outline included
    agrees: dict[int, np.ndarray] = {}  # per pair: both its frames show what frame j does

    def first_mask(j: int) -> tuple[np.ndarray, np.ndarray | None]:
        if j not in first:
            cur = frame(j)
            agrees[j] = np.zeros(cur.y.shape, np.uint8)
            bits = _flagged(j, cur, frame, xs, count, distances, level, agrees[j])
            if dirty is not None:
                bits[dirty] = 0
            flagged = bits > 0
            m = enc = None
            if np.count_nonzero(flagged) >= MIN_FLAGGED * flagged.size:
                enc = _enclosed(flagged, _range3(cur.y))
                m = flagged | enc
            first[j] = (flagged, m)
            pair_bits[j] = bits
            inner[j] = insides(enc)
        return first[j]

    out = MovingMasks()
    # the first and last frames have no (or only close) pairs: they follow the moving parts
    # of the nearest frame whose pairs see the thing move (foreground_track; kept for that:
    # the frames within max(distances) of each end)
    deep = max(distances)
    depths: dict[int, int] = {}

    def depth(end: int) -> int:
        # the frames within this of the end (0 or count - 1) follow a neighbour: measured
        # once, on the first mask of the first frame with full pairs, whenever first needed
        if end not in depths:
            far = min(deep, (count - 1) // 2)
            mid = far if end == 0 else count - 1 - far
            depths[end] = TRACK_FROM if count <= 2 * TRACK_FROM + 1 else track_depth(
                first_mask(mid)[1], frame(mid).y, frame(end).y, xs[mid] - xs[end], far,
                least=TRACK_FROM, most=far, radius=TRACK_RADIUS)
            if count > 2 * TRACK_FROM + 1 and depths[end] == TRACK_FROM:
                depths[end] = held_depth(end, mid, depths[end], far)
        return depths[end]

    def held_depth(end: int, mid: int, at: int, far: int) -> int:
        # ... and on while the frame at the depth finds itself some, but too little, of
        # what frame mid's full pairs found (the parts moving along themselves;
        # foreground_track.HELD, GLIMPSE)
        src = first_mask(mid)[1]
        while src is not None and at < far:
            j = at if end == 0 else count - 1 - at
            got = held_share(src, frame(mid).y, frame(j).y, first_mask(j)[1], xs[mid] - xs[j],
                             radius=TRACK_RADIUS * abs(mid - j) + 2)
            if got is None or not GLIMPSE <= got < HELD:
                break
            at += 1
        return at

    def known(j: int) -> bool:
        # frame j's own moving parts are known (its widest pair sees the thing move)
        if min(j, count - 1 - j) >= deep:
            return True
        return j >= depth(0) and count - 1 - j >= depth(count - 1)
    kept: dict[int, np.ndarray] = {}
    border: dict[int, np.ndarray] = {}  # weak border samples carried from a partner
    later: list[tuple[int, int]] = []  # ... from the clip's end frames, once followed
    for k in range(count):
        for j in [j for j in cache if j < k - reach]:  # the window slides on
            del cache[j]
        for j in [j for j in first if j < k - max(FAR)]:
            del first[j]
            pair_bits.pop(j, None)
            inner.pop(j, None)
            agrees.pop(j, None)
        if count < 3:
            out.append(None)
            continue
        cur = frame(k)
        flagged, m1 = first_mask(k)
        if min(k, count - 1 - k) <= deep:
            kept[k] = cur.y
        if m1 is None:  # codec noise, specks (or a clip's end frame, followed below)
            out.append(None)
        else:
            own = _explained(k, pair_bits[k], cur, xs, count, distances, first_mask)
            ghost = ghosts(k, pair_bits[k], agrees[k], pairs(k, count, distances), xs,
                           lambda j: (first_mask(j), inner[j])[1])
            out.append(_grown(k, cur, flagged & ~ghost, frame, xs, count, level, distances,
                              first_mask, own=own & ~ghost, known=known))
        # the clip's end frames have no pairs, their masks follow a neighbour's: their
        # partners' weak bands wait for that (``later``), and must not be missed
        _borders(k, out, frame, xs, count, distances, level, border, later, deep)
    out.track = (depth(0), depth(count - 1)) if count >= 3 else (TRACK_FROM, TRACK_FROM)
    head, tail = out.track
    # the pairs near the ends whose partner does not follow a neighbour after all
    for tgt, src in [p for p in later if head <= p[1] <= count - 1 - tail]:
        _border(tgt, src, out, frame, xs, count, distances, level, border)
    later = [p for p in later if not head <= p[1] <= count - 1 - tail]
    _add(out, border)
    ends: list[tuple[int, int]] = []
    if count > head + tail + 1:
        ends = [(e, head) for e in range(head)]
        ends += [(count - 1 - e, count - 1 - tail) for e in range(tail)]
    _follow_ends(out, ends, kept)
    # the clip's end frames have their masks now (followed): their partners' weak bands
    border.clear()
    for tgt, src in later:
        _border(tgt, src, out, frame, xs, count, distances, level, border)
    _add(out, border)
    if dirty is not None:
        out[:] = [None if m is None else m & ~dirty for m in out]
    return out


def _add(out: list[np.ndarray | None], border: dict[int, np.ndarray]) -> None:
    """The weak-band samples gathered in ``border`` added to the masks ``out``."""
    for j, add in border.items():
        out[j] = add if out[j] is None else (out[j] | add)


def _borders(k: int, out: list[np.ndarray | None], frame: Callable[[int], _Frame],
             xs: np.ndarray, count: int, distances: tuple[int, ...], level: float,
             border: dict[int, np.ndarray], later: list[tuple[int, int]], deep: int) -> None:
    """Once frame ``k``'s mask is found: frame ``k - GAP``'s weak border band from frame
    ``k``'s mask and frame ``k``'s from frame ``k - GAP``'s
    (:mod:`overmix.render.foreground_border`), the additions gathered in ``border`` (applied
    once every mask is found: the partners' masks are taken as found). A pair with one of
    the clip's first or last ``deep`` frames, whose masks may follow a neighbour's once all
    are found (:mod:`overmix.render.foreground_track`), goes to ``later``."""
    a = k - GAP
    if a < 0:
        return
    for tgt, src in ((a, k), (k, a)):
        if min(src, count - 1 - src) < deep:  # it may follow a neighbour (track_depth)
            later.append((tgt, src))
        else:
            _border(tgt, src, out, frame, xs, count, distances, level, border)


def _border(tgt: int, src: int, out: list[np.ndarray | None], frame: Callable[[int], _Frame],
            xs: np.ndarray, count: int, distances: tuple[int, ...], level: float,
            border: dict[int, np.ndarray]) -> None:
    """Frame ``tgt``'s weak border band from frame ``src``'s mask (:func:`_borders`)."""
    from overmix.render.foreground_border import from_partner, weak_band

    if out[tgt] is None or out[src] is None:
        return
    y = frame(tgt).y
    band = weak_band(tgt, y.shape, xs, count, distances)
    add = from_partner(out[tgt], y, band, out[src], frame(src).y, gap=abs(tgt - src),
                       level=level)
    if add is not None:
        border[tgt] = add if tgt not in border else (border[tgt] | add)


def _flagged(k: int, cur: _Frame, frame: Callable[[int], _Frame], xs: np.ndarray, count: int,
             distances: tuple[int, ...], level: float,
             agree: np.ndarray | None = None) -> np.ndarray:
    """Samples of frame k (``cur``) that differ from the background-aligned frames on both
    sides of one of its pairs (:func:`pairs`; ``frame(j)``: frame j): uint8 (h, w), bit
    ``i`` set where pair ``i`` says so (flagged: nonzero). ``agree`` (uint8 (h, w), filled
    in place): bit ``i`` set where both frames of pair ``i`` reach and neither differs."""
    h, w = cur.y.shape
    bits = np.zeros((h, w), np.uint8)
    for i, pr in enumerate(pairs(k, count, distances)):
        odd = np.ones((h, w), bool)
        same = np.ones((h, w), bool)
        for j in pr:
            t = xs[k] - xs[j]  # frame k's sample (i, c) is frame j's (i + ty, c + tx)
            d, ok = _differs(cur, frame(j), float(t[1]), float(t[0]), level)
            odd &= d
            same &= ok & ~d
        bits |= odd.astype(np.uint8) << i
        if agree is not None:
            agree |= same.astype(np.uint8) << i
    return bits


def _explained(k: int, bits: np.ndarray, cur: _Frame, xs: np.ndarray, count: int,
               distances: tuple[int, ...],
               first: Callable[[int], tuple[np.ndarray, np.ndarray | None]]) -> np.ndarray:
    """Frame k's flagged samples (``bits``, :func:`_flagged`) without the flat ones that
    differ from a pair only where one of the pair's frames shows the inside of its own
    moving thing there (the flat regions its outline encloses, ``first(j)``): a place the
    background of frame k shows, covered in the frames of a pair by the inside of something
    swinging, bobbing or passing (a walking character's legs), is not frame k's odd one
    out. Outlines (not flat) keep their flags: a slow thing's later frames cover its own
    outline with its inside. The flat regions the flags enclose are found with all of them
    (:func:`_grown`). Returns bool (h, w)."""
    flagged = bits > 0
    flat = flagged & (_range3(cur.y) < FLAT)
    if not flat.any():
        return flagged
    h, w = bits.shape
    still = np.zeros((h, w), bool)
    for i, pr in enumerate(pairs(k, count, distances)):
        odd = ((bits >> i) & 1).astype(bool) & flat
        if not odd.any():
            continue
        for j in pr:
            fl, m = first(j)
            if m is None:
                continue
            t = xs[k] - xs[j]
            inside = window((m & ~fl).astype(np.float32), int(round(float(t[1]))),
                            int(round(float(t[0]))), h, w) > 0.5
            odd &= ~inside
        still |= odd
    return (flagged & ~flat) | still


def _grown(k: int, cur: _Frame, flagged: np.ndarray,
           frame: Callable[[int], _Frame], xs: np.ndarray, count: int,
           level: float, distances: tuple[int, ...] = DISTANCES,
           first: Callable[[int], tuple[np.ndarray, np.ndarray | None]] | None = None,
           own: np.ndarray | None = None,
           known: Callable[[int], bool] | None = None) -> np.ndarray:
    """Frame k's mask: the ``flagged`` samples (``own``: those of them that are frame k's
    own, :func:`_explained`), the flat regions they enclose (unless seen again without
    them; ``first(j)``: frame j's flagged samples and first mask, its own moving parts;
    ``known(j)``: whether frame j's pairs see the thing move, so that its own moving parts
    tell anything) and the soft edge of their outlines."""
    from scipy import ndimage  # lazy: only scenes with something moving get here

    rng = _range3(cur.y)

    # a frame near the clip's ends has only close pairs: its own moving parts are not known
    # well enough to say the thing has moved off there
    wide = min(max(distances), (count - 1) // 2) // 2

    def again(k: int = k, cur: _Frame = cur
              ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray | None, bool]]:
        got = []
        h, w = cur.y.shape
        for j, aside in [(k + s * d, d in ASIDE) for d in (*FAR, *ASIDE) for s in (-1, 1)]:
            if 0 <= j < count and min(j, count - 1 - j) >= wide \
                    and (known is None or known(j)):
                t = xs[k] - xs[j]
                diff, ok = _differs(cur, frame(j), float(t[1]), float(t[0]), level)
                busy = None
                if first is not None:
                    m = first(j)[1]
                    if m is None:  # nothing found moving there: too little to go by
                        continue
                    busy = window(m.astype(np.float32), int(round(float(t[1]))),
                                  int(round(float(t[0]))), h, w) > 0.5  # its moving parts
                got.append((ok & ~diff, ok, busy, aside))
        return got

    # the outline test reads every flag; the mask keeps the flags that are frame k's own
    m = (flagged if own is None else own) | _enclosed(flagged, rng, again)
    # the soft edge of an outline (anti-aliasing, codec ringing) goes with it, but the
    # mask does not spill into the flat background around
    return ndimage.binary_dilation(m, iterations=EDGE_GROW, mask=rng >= FLAT) | m


def _follow_ends(out: list[np.ndarray | None], ends: list[tuple[int, int]],
                 kept: dict[int, np.ndarray]) -> None:
    """The first and last frames (``ends``: (frame, the frame it follows)) take the moving
    parts of their neighbour, moved by :func:`follow`."""
    for e, src in ends:
        got = out[src]
        if got is not None:
            moved = follow(got, kept[src], kept[e], radius=TRACK_RADIUS * abs(src - e) + 2)
            out[e] = moved if out[e] is None else (out[e] | moved)

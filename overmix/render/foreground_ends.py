"""The moving-foreground masks of the clip's first and last frames (issue #12).

The odd-one-out test of :mod:`overmix.render.foreground` needs frames on both sides: the
first and last :data:`~overmix.render.foreground.TRACK_FROM` frames (more where the pairs
see the thing move too little against the background, :mod:`overmix.render.foreground_track`)
take the mask of the nearest frame that has them, carried by
:func:`~overmix.render.foreground.follow` along the thing's own motion. A carried mask has
the shape of the other frame's thing: a leg that swung since, or a body that bobbed, is
missed, and what that frame's mask took of the background (its ghosts) comes along.

Here an end frame's mask is judged again (:func:`judge_end`). The mask of that nearest frame
is carried part by part (:func:`carry`), and a carried pixel *fits* where the end frame
shows there what the other frame showed (up to a pixel and the codec). Around the carried
mask (grown by :data:`REACH` px), the *views* are the frames ``e -/+ d`` (``d`` in
:data:`VIEWS`, towards the middle of the clip), placed at the background offsets, whose own
mask (grown by a sample) does not cover that place. A pixel that differs (the
sampling-insensitive test of :func:`overmix.render.foreground._differs`, both ways) from
every such view shows something other than the background: it is masked (the swung leg). A
carried pixel that :data:`AGREE` views or more see as the same background, and none as
different, is released (a ghost); so is one that does not fit. A flat region is decided as
a whole: it matches itself after any small move (the aperture problem), so it is the
thing where the lines around it fit (or differ from every view), the background where its
pixels are seen clean more than not, and else it stays where carried (the thing moves
slowly and covers the place in all the views).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from overmix.morph import dilate
from overmix.render.foreground import (
    FLAT,
    LEVEL,
    NECK,
    _differs,
    _Frame,
    _range3,
    follow_parts,
)
from overmix.warp import window, window_ones

__all__ = ["VIEWS", "carry", "differs_at", "judge_end"]

VIEWS = (2, 4, 8, 16)  # frames towards the middle an end frame is compared with
REACH = 12  # px (at the masks' resolution, per full-resolution sample): how far from the
# carried mask a missed part (a leg that swung) is looked for
EDGE_GROW = 1  # px: the soft edge of the judged mask
BORDER = 3  # px: the lines around a flat region that tell what it is
AGREE = 2  # views that must see a carried pixel as the same background to release it


def carry(mask: np.ndarray, src: np.ndarray, dst: np.ndarray, *, radius: int,
          level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """``mask`` (bool (h, w)) of frame ``src`` carried to frame ``dst`` (both float32
    (h, w)), part by part (:func:`overmix.render.foreground.follow_parts`), and where a
    carried pixel of ``dst`` lies within ``level`` of the range of the 3x3 samples of
    ``src`` it came from (it shows the thing that was carried, up to a pixel and the codec;
    the rest of the carried mask is the other frame's background it took along, or a part of
    the thing that deformed since). Returns (carried, fits), bool (h, w) each."""
    from scipy import ndimage

    h, w = mask.shape
    moved = np.zeros((h, w), bool)
    fits = np.zeros((h, w), bool)
    parts = follow_parts(mask, src, dst, radius=radius, level=level, neck=NECK)
    if not parts:
        return moved, fits
    lo = ndimage.minimum_filter(src, size=3) - np.float32(level)
    hi = ndimage.maximum_filter(src, size=3) + np.float32(level)
    for ys, xs, (dy, dx) in parts:
        yy, xx = ys + dy, xs + dx
        ok = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
        ys, xs, yy, xx = ys[ok], xs[ok], yy[ok], xx[ok]
        moved[yy, xx] = True
        v = dst[yy, xx]
        fit = (v >= lo[ys, xs]) & (v <= hi[ys, xs])
        fits[yy[fit], xx[fit]] = True
    return moved, fits


def judge_end(e: int, carried: np.ndarray, fits: np.ndarray | None,
              frame: Callable[[int], np.ndarray],
              mask: Callable[[int], np.ndarray | None], xy: np.ndarray, count: int, *,
              reach: int = REACH, grow: int = 1, level: float = LEVEL,
              dirty: np.ndarray | None = None) -> np.ndarray:
    """End frame ``e``'s mask, judged again against the views of the background (see the
    module docstring).

    Parameters
    ----------
    e : int
        The end frame (offsets row).
    carried : ndarray bool (h, w)
        Its mask as carried from a neighbour.
    fits : ndarray bool (h, w) or None
        Where frame ``e`` shows what was carried (:func:`carry`). None: ``carried`` is the
        frame's own mask, which fits where the views do not see it as the background (a
        ghost's lines, that the views show as theirs, do not make a flat region the thing).
    frame : callable ``j -> ndarray float32 (h, w)``
        Working Y' of row ``j`` (at the masks' resolution).
    mask : callable ``j -> ndarray bool (h, w) or None``
        Row ``j``'s own mask (None: nothing moves there).
    xy : ndarray (count, 2)
        Background offsets (x, y) at the masks' resolution.
    count : int
        Number of rows.
    reach : int
        Px around the carried mask that are judged.
    grow : int
        Px a view's own mask is grown by (its soft edge, a sample of the analysis).
    dirty : ndarray bool (h, w) or None
        Every frame's lines that are not picture (:func:`differs_at`).

    Returns
    -------
    ndarray bool (h, w)
    """
    if not carried.any():
        return carried
    side = 1 if e < count // 2 else -1
    views = [e + side * d for d in VIEWS if 0 <= e + side * d < count]
    if not views:
        return carried
    h, w = carried.shape
    rows, cols = np.flatnonzero(carried.any(axis=1)), np.flatnonzero(carried.any(axis=0))
    y0, y1 = max(int(rows[0]) - reach, 0), min(int(rows[-1]) + reach + 1, h)
    x0, x1 = max(int(cols[0]) - reach, 0), min(int(cols[-1]) + reach + 1, w)
    cur = _Frame(frame(e)[y0:y1, x0:x1])
    shape = cur.y.shape
    seen = np.zeros(shape, np.int32)  # views that see the background here
    odd = np.zeros(shape, np.int32)  # ... and differ from frame e
    for j in views:
        ty, tx = float(xy[e, 1] - xy[j, 1]) + y0, float(xy[e, 0] - xy[j, 0]) + x0
        diff, reached = differs_at(cur, frame(j), ty, tx, level, dirty)
        clean = reached
        own = mask(j)
        if own is not None and own.any():
            own = dilate(own, grow) if grow > 0 else own
            busy = window(own.astype(np.float32), int(round(ty)), int(round(tx)),
                          *shape) > 0.5
            clean = reached & ~busy
        if dirty is not None:  # frame e's own dirty lines differ from every view: no thing
            clean = clean & ~dirty[y0:y1, x0:x1]
        seen += clean
        odd += clean & diff
    part = carried[y0:y1, x0:x1]
    other = (seen > 0) & (odd == seen)
    same = (seen >= AGREE) & (odd == 0)
    fit = part & ~same if fits is None else fits[y0:y1, x0:x1]
    got = _by_region((part & ~same & fit) | other, part, fit, other, same, seen, cur.y)
    out = carried.copy()
    out[y0:y1, x0:x1] = dilate(got, EDGE_GROW) | got
    return out


def _by_region(got: np.ndarray, part: np.ndarray, fit: np.ndarray, other: np.ndarray,
               same: np.ndarray, seen: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``got`` with each flat region of the frame (``y``) decided as a whole: the thing
    where most of the lines around it (within :data:`BORDER` px) are the carried thing's
    (``fit`` in the carried ``part``) or ``other``; a flat region matches itself after any
    small move (the aperture problem), only its outline tells what carried it. Else the
    background where more of its own pixels are seen clean (``same``, or seen and not
    ``other``) than differ from every view (``other``); else it stays where carried."""
    from scipy import ndimage

    flat = _range3(y) < FLAT
    lab, count = ndimage.label(flat)
    if count == 0:
        return got
    near = np.where(flat, lab, ndimage.maximum_filter(lab, size=2 * BORDER + 1))
    edge = ~flat & (near > 0)
    le = near[edge]
    total = np.bincount(le, minlength=count + 1).astype(np.float64)
    hit = np.bincount(le, weights=((part & fit) | other)[edge], minlength=count + 1)
    thing = hit > 0.5 * total
    thing[0] = False
    ground = ~other & (same | (seen > 0))
    lf = lab.ravel()
    ng = np.bincount(lf, weights=ground.ravel(), minlength=count + 1)
    no = np.bincount(lf, weights=other.ravel(), minlength=count + 1)
    out = got & ~flat | other
    keep = thing | (ng <= no)
    keep[0] = False
    return out | (keep[lab] & (part | thing[lab]))


def differs_at(cur: _Frame, other: np.ndarray, ty: float, tx: float,
               level: float, dirty: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`overmix.render.foreground._differs` (both ways) of ``cur`` (a crop) against the
    whole frame ``other`` (float32) read at ``(i + ty, j + tx)``, reading only the part of
    ``other`` under the crop, and where ``other`` reaches (it differs only there): bool
    (h, w) each. ``dirty`` (bool, ``other``'s shape): lines of ``other`` that are not
    picture (dirty border lines), which it does not reach: a panning partner's black border
    column is no moving thing in the frame it lands in."""
    h, w = cur.y.shape
    iy, ix = math.floor(ty + 1e-6), math.floor(tx + 1e-6)
    part = _Frame(window(other, iy, ix, h + 1, w + 1))
    got = _differs(cur, part, ty - iy, tx - ix, level, both_ways=True)[0]
    if dirty is None:
        reach = (window_ones(other.shape, iy, ix, h + 1, w + 1)[1:, 1:] > 0) \
            & (window_ones(other.shape, iy, ix, h, w) > 0)
    else:  # all four bilinear taps on picture
        v = window((~dirty).astype(np.float32), iy, ix, h + 1, w + 1) > 0
        reach = v[:-1, :-1] & v[:-1, 1:] & v[1:, :-1] & v[1:, 1:]
    return got & reach, reach

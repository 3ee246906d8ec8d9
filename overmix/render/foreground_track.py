"""How many of the clip's end frames take their moving-foreground masks from a neighbour
(issue #12: slow pans with moving content).

The odd-one-out test of :mod:`overmix.render.foreground` compares frame ``k`` with frames
``k - d`` and ``k + d``; near the clip's ends ``d`` shrinks to what there is. What it sees is
how far the moving thing moved *against the background* between those frames, not how many
frames lie between them: a character walking against a fast pan moves a pixel or two per
frame there, the same character on a slow pan the camera eases into may move half a pixel.
Within a pixel the sampling-insensitive test cannot tell the thing from itself, so a frame
whose widest pair moved it less than :data:`MOVE` finds almost nothing (640x360 sprite at
``--step=0.3,0.05``: the third last frame's pair moved the character ~1 px, its mask held
4 % of it, and the last two frames carried that).

So the number of end frames that carry a neighbour's mask (:func:`track_depth`) follows the
thing's measured speed against the background near each end (:func:`content_speed`: the
parts of the mask of the nearest frame that has full pairs followed to the end frame by a
whole-pixel search, their screen shift less the background's), at least
:data:`~overmix.render.foreground.TRACK_FROM` and at most ``max(distances)``: the frames
within that depth of an end follow the frame at the depth, whose widest pair spans the depth.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["ENOUGH", "GLIMPSE", "HELD", "MOVE", "content_speed", "held_share", "track_depth"]

# analysis samples of travel against the background: the sampling-insensitive test takes up
# to a sample for the same thing, so a pair that sees less than ENOUGH finds little; the
# ends then go as deep as a travel of MOVE needs (a margin: carried over more frames, a mask
# misses more of a thing's deformation, so the least depth that is enough is kept)
ENOUGH = 1.5
MOVE = 2.5
PART = 0.1  # share of the mask a piece must hold for its speed to count
# working Y': a piece matching in place within this of its best shift's cost matches there
# as well (half an 8-bit code)
TIE = 0.002
# share of the moving parts carried to a frame near an end that its own mask must hold for
# the ends to follow it (below it, its pairs miss the parts that move along themselves)
HELD = 0.5
# ... and below this share it finds nothing of them: nothing moves there (a mouth at rest
# at the clip's start), so no deeper frame's mask is any better for it (640x360 mouth: the
# start 8 deep, "few" +1.15 -> -11.06 dB)
GLIMPSE = 0.05


def content_speed(mask: np.ndarray, src: np.ndarray, dst: np.ndarray, bg_shift: np.ndarray,
                  gap: int, *, radius: int) -> float | None:
    """How far the moving parts ``mask`` (bool (h, w), frame ``src``) move against the
    background per frame, in samples: each 8-connected piece holding at least :data:`PART`
    of the mask, moved by the whole-sample screen shift within ``radius`` that matches it
    best in frame ``dst`` (:func:`overmix.render.foreground.best_shift`, a match within
    ``LEVEL``), less the background's ``bg_shift`` ((x, y) samples: where the background at
    a place of ``src`` is in ``dst``), the chessboard length over ``gap`` frames; the
    slowest piece's. None when no piece is matched."""
    from scipy import ndimage

    from overmix.render.foreground import FOLLOW_SAMPLES, LEVEL, best_shift

    lab, n = ndimage.label(mask, structure=np.ones((3, 3), bool))
    if n == 0:
        return None
    size = np.bincount(lab.ravel(), minlength=n + 1)
    size[0] = 0
    pad = np.pad(np.asarray(dst, np.float32), radius, constant_values=np.nan)
    src = np.asarray(src, np.float32)
    got = []
    # each piece alone: a subtitle's letters changing over a slow pan move against the
    # background at the pan's speed, a character beside them at its own (one group of
    # parts a few pixels apart followed the letters)
    boxes = ndimage.find_objects(lab)
    bg_moved = max(abs(float(bg_shift[0])), abs(float(bg_shift[1]))) >= 1.0
    for i in np.flatnonzero(size >= PART * size.sum()):
        sl = boxes[i - 1]
        ys, xs = np.nonzero(lab[sl] == i)
        ys, xs = ys + sl[0].start, xs + sl[1].start
        step = max(1, ys.size // FOLLOW_SAMPLES)
        sy, sx = ys[::step], xs[::step]
        shift, cost = best_shift(src, pad, sy, sx, radius)
        if shift is None or cost > LEVEL:
            continue
        if bg_moved and (shift == (0, 0) or _in_place(src, pad, sy, sx, radius, shift)):
            # kept its screen place while the background moved under it (matches there as
            # well as anywhere): screen-fixed (a semi-transparent logo the odd-one-out test
            # flags), no character whose speed sets the depth (640x360 logo
            # --step=0.3,0.05: 8 frames deep, most -0.40 -> -3.32 dB; at the default step a
            # flat part of it matched 23 samples away as well: 5 frames deep, few -1.42 ->
            # -1.99 dB)
            continue
        got.append(max(abs(shift[0] - bg_shift[1]), abs(shift[1] - bg_shift[0])))
    return float(min(got)) / max(1, gap) if got else None


def held_share(mask: np.ndarray, src: np.ndarray, dst: np.ndarray, own: np.ndarray | None,
               bg_shift: np.ndarray, *, radius: int) -> float | None:
    """How much of the moving parts ``mask`` (bool (h, w), frame ``src``) frame ``dst``'s own
    mask ``own`` (bool (h, w) or None: nothing) holds: the share of their pixels, carried to
    ``dst`` part by part (:func:`overmix.render.foreground.follow_parts`, ``radius``), that
    ``own`` holds. Parts that keep their screen place while the background moves a sample or
    more under them (``bg_shift``, (x, y) samples, as in :func:`content_speed`) are left out:
    screen-fixed, no moving thing (a changing subtitle line beside a character); so are parts
    that move with the background, within a sample (they keep their place in the scene). None
    when no moving part is carried."""
    from overmix.render.foreground import follow_parts

    dst = np.asarray(dst, np.float32)
    src = np.asarray(src, np.float32)
    h, w = mask.shape
    pad = np.pad(dst, radius, constant_values=np.nan)
    bg_moved = max(abs(float(bg_shift[0])), abs(float(bg_shift[1]))) >= 1.0
    total = held = 0
    for ys, xs, shift in follow_parts(mask, src, dst, radius=radius):
        if bg_moved and (shift == (0, 0) or _in_place(src, pad, ys, xs, radius, shift)):
            continue
        if abs(shift[0] - float(bg_shift[1])) < 1 and abs(shift[1] - float(bg_shift[0])) < 1:
            # it keeps its place in the scene: a thing animating in place (a talking mouth),
            # not one moving along itself; frame dst's pairs see it only where its drawing
            # changes (a vertical pan's "all" scene: the tail followed 6 frames deep for a
            # mouth, and the last frames' open mouths were left in the still)
            continue
        yy, xx = ys + shift[0], xs + shift[1]
        ok = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
        total += int(ok.sum())
        if own is not None:
            held += int(own[yy[ok], xx[ok]].sum())
    return held / total if total else None


def _in_place(src: np.ndarray, pad: np.ndarray, sy: np.ndarray, sx: np.ndarray,
              radius: int, shift: tuple[int, int]) -> bool:
    """Whether the points (``sy``, ``sx``) of ``src`` match the frame ``pad`` (padded by
    ``radius``) in place as well as at ``shift`` (:func:`best_shift`'s), within
    :data:`TIE` (the costs of :func:`overmix.render.foreground._costs`)."""
    from overmix.render.foreground import _costs

    c = _costs(src, pad, sy, sx, np.array([[0, 0], shift], np.int64), radius)
    return bool(c[0] <= c[1] + TIE)


def track_depth(mask: np.ndarray | None, src: np.ndarray, dst: np.ndarray,
                bg_shift: np.ndarray, gap: int, *, least: int, most: int,
                radius: int) -> int:
    """How many frames at one end of the clip take a neighbour's mask: ``least`` when its
    pairs see the thing move :data:`ENOUGH` samples against the background (or nothing is
    followed), else the depth whose pairs see it move :data:`MOVE`, ``ceil(MOVE / speed)``
    (at most ``most``).

    ``mask``: the moving parts (bool (h, w)) of the frame ``gap`` frames from the end (the
    first with full pairs) and ``src`` its working Y' (float32 (h, w)); ``dst``: the end
    frame's; ``bg_shift``, ``radius``: :func:`content_speed` (``radius`` per frame)."""
    if mask is None or not mask.any() or most <= least:
        return least
    v = content_speed(mask, src, dst, bg_shift, gap, radius=radius * gap + 2)
    if v is None:
        return least
    if v * least >= ENOUGH:
        return least
    return min(most, max(least, math.ceil(MOVE / max(v, 1e-6) - 1e-9)))

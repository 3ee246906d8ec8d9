"""Holes in the moving-foreground masks closed unless the background shows there (issue #12).

:func:`overmix.render.foreground.moving_foreground` masks a moving thing as its flagged
outlines plus the flat regions they enclose. A line *inside* the thing that slides along
itself (the line between a character's head and its coat, seen walking sideways) is neither
flagged nor flat, and where it is wider than the masks' soft edge it stays out of the mask:
a hole in it, full of the thing's own outline and colours, which the render then uses at
full weight or beside the mask (720p sprite, 40 frames: 4548 of the 6044 pixels in holes of
the final masks are the character's, most at its neck).

A hole is also what a letter's counter or a gap the analysis saw as the background leaves:
there the background shows. So a hole (a connected part of the unmasked pixels that the
mask encloses) is closed unless some frame :data:`FAR` frames away, placed at the background
offsets and off its own mask, shows the same there (the sampling-insensitive test of
:func:`overmix.render.foreground._differs`, both ways) over at least :data:`SEEN` of it: the
thing has moved on there and what the hole showed stayed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from overmix.morph import fill_holes
from overmix.render.fixed_edges import Crop
from overmix.render.foreground import LEVEL, _Frame
from overmix.render.foreground_ends import differs_at
from overmix.warp import window

__all__ = ["FAR", "SEEN", "close_holes"]

FAR = (8, 16)  # frames: where a hole's content is looked for again (either side)
SEEN = 0.5  # share of a hole a far frame must show the same for it to stay open


def close_holes(crops: Sequence[Crop | None], luma: Callable[[int], np.ndarray],
                xy: np.ndarray, *, level: float = LEVEL, dirty: np.ndarray | None = None
                ) -> list[Crop | None]:
    """The masks ``crops`` with their holes closed (see the module docstring).

    Parameters
    ----------
    crops : per offsets row, Crop or None
        Full-resolution moving-foreground masks on their bounding boxes.
    luma : callable ``k -> ndarray float32 (h, w)``
        Working Y' of row ``k`` at full resolution (read only for rows with holes).
    xy : ndarray (count, 2)
        Background offsets (x, y), frame-0 pixels.
    level : float
        Smallest difference (working Y') that counts.

    Returns
    -------
    list of Crop or None
    """
    from scipy import ndimage  # lazy: only scenes with something moving get here

    xs = np.asarray(xy, np.float64).reshape(-1, 2)
    count = len(crops)
    out = list(crops)
    # the masks with their holes filled: a far frame's own hole at the place (the same line
    # of the slow thing) does not show the background
    whole = [None if c is None else fill_holes(c.mask) for c in crops]
    for k, crop in enumerate(crops):
        if crop is None:
            continue
        m = crop.mask
        hole = whole[k] & ~m
        if not hole.any():
            continue
        lab, n = ndimage.label(hole)
        rows, cols = np.flatnonzero(hole.any(axis=1)), np.flatnonzero(hole.any(axis=0))
        y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
        fy, fx = crop.y + y0, crop.x + x0  # the holes' box in frame k
        cur = _Frame(np.asarray(luma(k), np.float32)[fy:fy + y1 - y0, fx:fx + x1 - x0])
        part = lab[y0:y1, x0:x1]
        size = np.bincount(part.ravel(), minlength=n + 1)
        best = np.zeros(n + 1)
        for j in [k + s * d for d in FAR for s in (-1, 1) if 0 <= k + s * d < count]:
            ty, tx = float(xs[k, 1] - xs[j, 1]) + fy, float(xs[k, 0] - xs[j, 0]) + fx
            diff, reached = differs_at(cur, np.asarray(luma(j), np.float32), ty, tx, level,
                                       dirty)
            same = reached & ~diff
            other, own = crops[j], whole[j]
            if other is not None and own is not None:  # its own moving thing tells nothing
                busy = window(own.astype(np.float32), int(round(ty)) - other.y,
                              int(round(tx)) - other.x, *cur.y.shape) > 0.5
                same &= ~busy
            hit = np.bincount(part.ravel(), weights=same.ravel(), minlength=n + 1)
            best = np.maximum(best, hit)
        shut = best < SEEN * size
        shut[0] = False
        if shut[1:].any():
            out[k] = Crop(crop.y, crop.x, m | shut[lab])
    return out

"""Background seen between or through a moving thing's parts, given back (issue #12).

The moving-foreground masks (:mod:`overmix.render.foreground`, redrawn at full resolution by
:mod:`overmix.render.foreground_edges`) take a flat region whose border is mostly moving
outline as the thing's inside, and at 720p the reduced analysis closes the gaps of a few
pixels between two outlines. A credit line's letter counters and the gaps between its stems
are such regions, and they show the background: where the line rises over the bottom border
of a downward pan, the frames whose bottom rows they are are the only ones that see those
scene points at all (720p credits, 40 frames: the truly clean pixels masked in the bottom 30
rows cost ~5 dB of the "few" region).

Here a flat part of a frame's mask (3x3 range below :data:`~overmix.render.foreground.FLAT`,
:data:`MIN_PART` px or more) is given back when

- its colour (its mean) is a colour of the background around the thing: at least
  :data:`AROUND` of the flat unmasked pixels within :data:`RING` px of the mask lie within
  :data:`TOL` of it (a white letter's fill is not; a gap over the grey it stands on is), and
- the frames :data:`VIEWS` away that see its scene points off their own masks (at the
  background offsets) do not contradict it: at least :data:`AGREE` of those views show its
  value (within ``LEVEL``). A character's coat of a colour found beside it is not given back:
  the frames the character has left see the background behind it, another colour.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from overmix.render.fixed_edges import Crop
from overmix.render.foreground import FLAT, LEVEL, _range3

__all__ = ["AGREE", "AROUND", "MIN_PART", "RING", "TOL", "VIEWS", "release_behind_moving"]

MIN_PART = 6  # px: smaller flat parts are specks
RING = 8  # px: the background around the thing is looked at this far outside its mask
TOL = 0.5 * LEVEL  # working Y': a part's colour matches a background pixel within this
AROUND = 0.05  # share of the ring's flat pixels that must have the part's colour
VIEWS = (2, 4, 8, 16)  # frames either side asked for their view of a part's scene points
AGREE = 0.6  # share of those views that must show the part's value


def release_behind_moving(crops: list[Crop | None], luma: Callable[[int], np.ndarray],
                          xy: np.ndarray, shape: tuple[int, int],
                          level: float = LEVEL) -> list[Crop | None]:
    """The moving masks ``crops`` without the flat parts the background shows through (see
    the module docstring).

    Parameters
    ----------
    crops : list of Crop or None
        Per offsets row, the full-resolution moving mask on its bounding box.
    luma : callable ``k -> ndarray float32 (h, w)``
        Working Y' of row ``k`` at full resolution (read in order, a window of
        ``2 max(VIEWS) + 1`` rows kept).
    xy : ndarray (count, 2)
        Background offsets (x, y), frame-0 pixels.
    shape : (h, w)
        Frame shape.
    level : float
        Working Y' difference a view may show and still agree.

    Returns
    -------
    list of Crop or None
        The masks, each a subset of the one given (the same object where nothing changed).
    """
    from scipy import ndimage  # lazy: only scenes with something moving get here

    h, w = shape
    xs = np.asarray(xy, np.float64).reshape(-1, 2)
    count = len(crops)
    out = list(crops)
    grown: dict[int, np.ndarray | None] = {}
    cache: dict[int, np.ndarray] = {}

    def busy(j: int) -> np.ndarray | None:
        """Row j's mask grown by a pixel (its soft edge), full frame."""
        if j not in grown:
            c = crops[j]
            grown[j] = None if c is None else ndimage.binary_dilation(c.full(shape))
        return grown[j]

    def frame(j: int) -> np.ndarray:
        if j not in cache:
            cache[j] = np.asarray(luma(j), np.float32)
        return cache[j]

    for k, crop in enumerate(crops):
        for d in (cache, grown):  # the window slides on
            for j in [j for j in d if j < k - max(VIEWS)]:
                del d[j]
        if crop is None or not crop.mask.any():
            continue
        ch, cw = crop.mask.shape
        y0, x0 = max(crop.y - RING, 0), max(crop.x - RING, 0)
        y1, x1 = min(crop.y + ch + RING, h), min(crop.x + cw + RING, w)
        m = np.zeros((y1 - y0, x1 - x0), bool)
        m[crop.y - y0:crop.y - y0 + ch, crop.x - x0:crop.x - x0 + cw] = crop.mask
        v = frame(k)[y0:y1, x0:x1]
        flat = _range3(v) < FLAT
        lab, n = ndimage.label(flat & m, structure=np.ones((3, 3), bool))
        if n == 0:
            continue
        size = np.bincount(lab.ravel(), minlength=n + 1)
        mean = np.bincount(lab.ravel(), weights=v.ravel(), minlength=n + 1) \
            / np.maximum(size, 1)
        ring = flat & ~m & ndimage.binary_dilation(m, iterations=RING)
        around = np.sort(v[ring])
        if around.size == 0:
            continue
        near = np.searchsorted(around, mean + TOL, "right") \
            - np.searchsorted(around, mean - TOL)
        cand = (near >= AROUND * around.size) & (size >= MIN_PART)
        cand[0] = False
        if not cand.any():
            continue
        ys, xs_ = np.nonzero(cand[lab])
        ids = lab[ys, xs_]
        here = v[ys, xs_]
        views = np.zeros(n + 1, np.int64)
        agree = np.zeros(n + 1, np.int64)
        for j in [k + s * d for d in VIEWS for s in (-1, 1)]:
            if not 0 <= j < count:
                continue
            t = xs[k] - xs[j]  # frame k's pixel (i, c) shows frame j's (i + ty, c + tx)
            fy, fx = ys + y0 + t[1], xs_ + x0 + t[0]
            iy, ix = np.rint(fy).astype(np.int64), np.rint(fx).astype(np.int64)
            ok = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
            bj = busy(j)
            if bj is not None:
                ok[ok] &= ~bj[iy[ok], ix[ok]]
            if not ok.any():
                continue
            val = _bilinear(frame(j), fy[ok], fx[ok])
            views += np.bincount(ids[ok], minlength=n + 1)
            agree += np.bincount(ids[ok][np.abs(val - here[ok]) <= level], minlength=n + 1)
        back = cand & (agree >= AGREE * views)
        if back.any():
            keep = crop.mask & ~back[lab][crop.y - y0:crop.y - y0 + ch,
                                          crop.x - x0:crop.x - x0 + cw]
            out[k] = Crop(crop.y, crop.x, keep) if keep.any() else None
    return out


def _bilinear(img: np.ndarray, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """``img`` (float32 (h, w)) at float positions (edge pixels repeated): float32."""
    h, w = img.shape
    y0 = np.clip(np.floor(ys).astype(np.int64), 0, h - 1)
    x0 = np.clip(np.floor(xs).astype(np.int64), 0, w - 1)
    y1, x1 = np.minimum(y0 + 1, h - 1), np.minimum(x0 + 1, w - 1)
    fy = np.clip(ys - y0, 0, 1).astype(np.float32)
    fx = np.clip(xs - x0, 0, 1).astype(np.float32)
    top = img[y0, x0] * (1 - fx) + img[y0, x1] * fx
    bot = img[y1, x0] * (1 - fx) + img[y1, x1] * fx
    return top * (1 - fy) + bot * fy

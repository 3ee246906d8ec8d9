"""A moving thing's edge left just outside its mask, taken in by its value (issue #12).

The moving-foreground masks (:mod:`overmix.render.foreground`, redrawn at full resolution by
:mod:`overmix.render.foreground_edges`) end where the pair test stops flagging: a slowly
rising credit line's dark outline beside its white fill, which the frames two either side
show a pixel off (the thin-line sparing takes that for a sub-pixel phase). Those pixels sit
beside the mask, where the render uses them at full weight or
:data:`~overmix.render.stack_base.NEAR`, as much as the clean views of the same scene points
beside the other frames' masks (720p credits, 40 frames: most of the "few" error, in the
frames' bottom rows).

Here, within :data:`BAND` px of the frame's border (where the views of a scene point are
fewest: the frames before a pan towards that border never saw it, and what enters there has
no partner), a pixel ``i`` px (chessboard) from a frame's mask, ``1 <= i <=`` :data:`GROW`,
is the thing's when its value lies more than ``LEVEL`` outside the range of the unmasked
pixels farther out than ``i`` within :data:`BEYOND` px of it: the outline's last pixel stands out
from the background beyond it, while a gap between two stems or a counter shows what lies
beyond it, and a textured background's edges have their like farther out; a pixel within
``LEVEL`` of a flat unmasked pixel within :data:`BEYOND` px is the background's all the same
(a gap whose farther pixels are another letter's outline left out). Such pixels join
the mask where they touch it (through one another); nothing is read from other frames. Not
taken: what runs on along the mask with the same value (a bar entering over the frame's
border whose ends only touch the mask: its own pixels are what lies beyond them). The rows
near the clip's ends (``everywhere``) are grown over the whole frame: their pairs are
one-sided or short and may show the outline where they do (720p sprite, 10-bit: frame 37's
body outline, 3 px above its mask, was used at full weight over the few clean views of the
bobbing walk; "few" -6.03 -> -5.75 dB).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

import numpy as np

from overmix.morph import bounding_box, dilate
from overmix.render.fixed_edges import Crop
from overmix.render.foreground import FLAT, LEVEL, _range3

__all__ = ["BEYOND", "GROW", "SHRINK", "grow_slopes", "like_background"]

GROW = 4  # px: how far past a mask the thing's edge is looked for (2 reduced samples at 2x)
BEYOND = 3  # px: the window (2 BEYOND + 1 square) in which the pixels farther out are read
BAND = 32  # px: the frame's border band where the edge is looked for
# px: how deep inside a redrawn screen-fixed mask a pixel showing the background beyond is
# taken out of it (:func:`like_background`; the redrawing's one-pixel growth and a proof by a
# partner that sees the scene point on the next glyph reach two pixels past the outline)
SHRINK = 2


def grow_slopes(crops: Sequence[Crop | None], luma: Callable[[int], np.ndarray],
                shape: tuple[int, int], *, level: float = LEVEL, band: int | None = BAND,
                everywhere: Collection[int] = ()) -> list[Crop | None]:
    """The masks ``crops`` with the thing's edge beside them taken in (see the module
    docstring).

    Parameters
    ----------
    crops : per offsets row, Crop or None
        Full-resolution moving-foreground masks on their bounding boxes.
    luma : callable ``k -> ndarray float32 (h, w)``
        Working Y' of row ``k`` at full resolution (read once per row with a mask).
    shape : (h, w)
        Frame shape.
    level : float
        Working Y' by which a pixel must leave the range of the pixels beyond it to join.
    band : int or None
        Px: only within this far of the frame's border (:data:`BAND`); None: over the whole
        frame (a redrawn subtitle's rim, which the pan shows everywhere).
    everywhere : collection of int
        Rows whose masks are grown over the whole frame whatever ``band`` says: the rows
        near the clip's ends, whose pairs are one-sided or short
        (:func:`overmix.render.foreground_edges.one_sided`). Their partners may show the
        thing's outline where the row does (a bobbing walk's frames of the same phase, 2 or
        4 apart: a horizontal edge sliding along itself is not flagged), so its last pixels
        are left out anywhere in the frame, not only where views are fewest.

    Returns
    -------
    list of Crop or None
        The masks, each a superset of the one given (the same object where nothing changed).
    """
    from scipy import ndimage  # lazy: only scenes with something moving get here

    h, w = shape
    out = list(crops)
    for k, crop in enumerate(crops):
        if crop is None or not crop.mask.any():
            continue
        pad = GROW + BEYOND
        m, y0, x0, y1, x1 = _padded(crop, pad, shape)
        v = np.asarray(luma(k), np.float32)[y0:y1, x0:x1]
        # chessboard distance from the mask, up to pad px
        dist = np.full(m.shape, pad + 1, np.int16)
        dist[m] = 0
        reach = m
        for i in range(1, pad + 1):
            nxt = dilate(reach, 1, square=True)
            dist[nxt & ~reach] = i
            reach = nxt
        odd = np.zeros(m.shape, bool)
        size = 2 * BEYOND + 1
        inb = None
        if band is not None and k not in everywhere:
            # only in the frame's border band: the views of those scene points are fewest
            inb = np.ones(m.shape, bool)
            inb[max(band - y0, 0):max(h - band - y0, 0),
                max(band - x0, 0):max(w - band - x0, 0)] = False
        for i in range(1, GROW + 1):
            ring = dist == i
            if inb is not None:
                ring &= inb
            # the filters on the ring's box grown by their reach (min and max are exact:
            # the same values as over the whole crop)
            sub = bounding_box(ring, BEYOND)
            if sub is None:
                continue
            vs, ds = v[sub], dist[sub]
            out_ = ds > i  # the pixels farther out: what the background is beyond it
            lo = ndimage.minimum_filter(np.where(out_, vs, np.inf), size, mode="nearest")
            hi = ndimage.maximum_filter(np.where(out_, vs, -np.inf), size, mode="nearest")
            odd[sub] |= ring[sub] & ((vs < lo - level) | (vs > hi + level))  # inf: never odd
        if not odd.any():
            continue
        # a value a flat unmasked pixel near it shows is the background's (a gap whose
        # farther pixels are another letter's leaked outline)
        ys, xs = np.nonzero(odd)
        like = _like_flat(v, ~m & (_range3(v) < FLAT), ys, xs, BEYOND, level)
        odd[ys[like], xs[like]] = False
        cur = m
        for _ in range(GROW):  # only what touches the mask through such pixels
            nxt = cur | (dilate(cur, 1, square=True) & odd)
            if np.array_equal(nxt, cur):
                break
            cur = nxt
        if cur is m:
            continue
        out[k] = Crop.tight(cur, y0, x0)
    return out


def like_background(crops: Sequence[Crop | None], luma: Callable[[int], np.ndarray],
                    shape: tuple[int, int], *, keep: np.ndarray | None = None,
                    depth: int = SHRINK, level: float = LEVEL) -> list[Crop | None]:
    """Per row, the pixels of its mask's outer ``depth`` px (chessboard) that show the flat
    background beyond it: within ``level`` of a flat (3x3 range below
    :data:`~overmix.render.foreground.FLAT`) unmasked pixel at most :data:`BEYOND` px away
    (the mirror of :func:`grow_slopes`; nothing is read from other frames).

    On a slow pan a redrawn subtitle mask runs a pixel or two past the glyphs' outline: the
    background there keeps its screen value over the little camera travel, and the partner
    that proves a pixel screen-fixed sees its scene point on the next glyph. Those pixels
    are the only views of the scene points the line passes over, seen clean in a few frames
    while the outline's edge is beside them. An outline's anti-aliased edge pixel, a blend
    of the outline and the background, is not taken.

    Parameters
    ----------
    crops : per offsets row, Crop or None
        Full-resolution screen-fixed masks on their bounding boxes.
    luma : callable ``k -> ndarray float32 (h, w)``
        Working Y' of row ``k`` (read once per row with a mask).
    shape : (h, w)
        Frame shape.
    keep : ndarray bool (h, w) or None
        Pixels never taken (beside bars and dirty border lines: what never changes on
        screen, whose neighbouring rows a vertical pan uncovers in a few frames).
    depth, level : int, float
        See above.

    Returns
    -------
    list of Crop or None
        Per row, those pixels (a subset of its mask, never all of it) on their bounding
        box, or None where there are none.
    """
    out: list[Crop | None] = [None] * len(crops)
    for k, crop in enumerate(crops):
        if crop is None or not crop.mask.any():
            continue
        m, y0, x0, y1, x1 = _padded(crop, depth + BEYOND, shape)
        rim = m & dilate(~m, depth, square=True)
        if keep is not None:
            rim &= ~keep[y0:y1, x0:x1]
        ys, xs = np.nonzero(rim)
        if ys.size == 0:
            continue
        v = np.asarray(luma(k), np.float32)[y0:y1, x0:x1]
        like = _like_flat(v, ~m & (_range3(v) < FLAT), ys, xs, BEYOND, level)
        if not like.any() or int(like.sum()) == int(m.sum()):
            continue
        got = np.zeros(m.shape, bool)
        got[ys[like], xs[like]] = True
        out[k] = Crop.tight(got, y0, x0)
    return out


def _padded(crop: Crop, pad: int, shape: tuple[int, int]
            ) -> tuple[np.ndarray, int, int, int, int]:
    """``crop``'s mask on its bounding box grown by ``pad`` px each side (clipped to the frame
    ``shape``): bool (h', w') and the window's ``y0, x0, y1, x1`` in frame pixels."""
    h, w = shape
    ch, cw = crop.mask.shape
    y0, x0 = max(crop.y - pad, 0), max(crop.x - pad, 0)
    y1, x1 = min(crop.y + ch + pad, h), min(crop.x + cw + pad, w)
    m = np.zeros((y1 - y0, x1 - x0), bool)
    m[crop.y - y0:crop.y - y0 + ch, crop.x - x0:crop.x - x0 + cw] = crop.mask
    return m, y0, x0, y1, x1


def _like_flat(v: np.ndarray, flat: np.ndarray, ys: np.ndarray, xs: np.ndarray, reach: int,
               level: float) -> np.ndarray:
    """bool (n,): whether pixel ``(ys, xs)`` of ``v`` (float32 (h, w)) is within ``level``
    of a ``flat`` (bool (h, w)) pixel at most ``reach`` px from it (chessboard)."""
    h, w = v.shape
    here = v[ys, xs]
    like = np.zeros(ys.size, bool)
    for dy in range(-reach, reach + 1):
        for dx in range(-reach, reach + 1):
            yy, xx = ys + dy, xs + dx
            ok = (yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)
            q = flat[yy[ok], xx[ok]] & (np.abs(v[yy[ok], xx[ok]] - here[ok]) <= level)
            like[np.flatnonzero(ok)[q]] = True
    return like

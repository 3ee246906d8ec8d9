"""Background seen between or through a subtitle's glyphs that stays flat while the line lasts
(issue #12), given back where other frames show the same scene points off their own masks.

The screen-fixed redrawing (:mod:`overmix.render.fixed_edges`) keeps a pixel that holds its
value at the same screen place over the camera travel. A flat area of the scene seen in a
gap between two glyphs or through a glyph's hole holds its value too, and a partner frame a
few pixels of travel away sees that scene point on the glyph's outline, which "proves" it
screen-fixed. Where the background just outside the line has another colour, nothing tells
it from a flat part of the text there. At 720p a glyph's outline is ~7 px wide, so such
gaps and holes are wide enough to be a scene point's only clean views: 720p subsprite 40
frames 8-bit, these masks held 2/3 of the "few" error of the subtitle's zone.

The test here looks at the scene itself: a flat masked part whose colour is none of the
text's (shared by under :data:`overmix.render.fixed_edges.TEXT_SHARE` of the other flat
masked pixels) is background when the frames that moved :data:`VIEW_TRAVELS` px away (along
x and y, back and forward, :func:`overmix.travel.travel_partners`) and see its scene points
off their own screen-fixed masks mostly (:data:`AGREE`) show there what it shows (within
``thr``), and they are :data:`MIN_VIEWS` or more, or the part lies inside the text (a hole,
a gap between glyphs: :data:`BORDERED` of the pixels around it text-coloured or unmasked).
Where the background is seen in only a few frames, the frame itself is often the only one
that sees those scene points clean: no view contradicting it is all there is. A flat sign
or box of a colour of its own is not given back: the frames that see its scene points
beside it show the background there; the inside of a translucent box's blend is bordered
by more blend, not by text.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from overmix.render.fixed_edges import MIN_SPECK, TEXT_SHARE, Crop
from overmix.travel import travel_partners

__all__ = ["TEXT_CLEAR", "VIEW_TRAVELS", "off_text", "release_behind"]

# camera travels (px) at which other frames are asked for their view of a part's scene
# points: past a glyph's outline and stroke (a few px at 360p, ~15 at 720p), and a whole
# glyph away
VIEW_TRAVELS = (8.0, 16.0, 32.0)
MIN_VIEWS = 2 * MIN_SPECK  # views off the partners' masks a part needs to be judged
AGREE = 0.6  # share of those views that must show the part's value
# a part this much surrounded by text or background (of the pixels 2-3 px around it) is a
# hole or a gap between glyphs: given back unless the views of its scene points disagree
BORDERED = 0.5
# px (chessboard): a masked pixel of no text colour this far from every pixel that has one
# is background seen through the text (:func:`off_text`); nearer, it may be the blend of an
# outline's anti-aliased edge
TEXT_CLEAR = 2


def _candidate_parts(v: np.ndarray, mask: np.ndarray, thr: float
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Labels (int32, shape of ``v``; 0: none) of the flat parts of ``mask`` (8-connected,
    3x3 range of ``v`` at most ``thr``, :data:`MIN_SPECK` px or more) whose colour (their
    mean) is none of the text's, and per label (index = label) whether it lies in the text:
    at least :data:`BORDERED` of the pixels 2-3 px around it have a text colour or are not
    masked (a glyph's outline around a hole or a gap between glyphs, the background beside
    it; not the other parts of a translucent box's blend)."""
    from scipy import ndimage

    rng = ndimage.maximum_filter(v, 3) - ndimage.minimum_filter(v, 3)
    part = (rng <= thr) & mask
    lab, n = ndimage.label(part, structure=np.ones((3, 3), bool))
    if n == 0:
        return lab, np.zeros(1, bool)
    size = np.bincount(lab.ravel(), minlength=n + 1)[1:]
    # a flat part's colour: its mean (its 3x3 ranges are within thr)
    med = (np.bincount(lab.ravel(), weights=v.ravel(), minlength=n + 1)[1:]
           / np.maximum(size, 1)).astype(np.float32)
    vals = np.sort(v[part])
    near = np.searchsorted(vals, med + thr / 2, "right") - np.searchsorted(vals, med - thr / 2)
    text = np.zeros(n + 1, bool)
    text[1:] = (near - size) >= TEXT_SHARE * vals.size
    keep = np.zeros(n + 1, bool)
    keep[1:] = ~text[1:] & (size >= MIN_SPECK)
    cand = np.where(keep[lab], lab, 0).astype(np.int32)
    m = int(cand.max()) + 1
    if m == 1:
        return cand, np.zeros(1, bool)
    # the ring 2-3 px around each candidate part (a neighbour's label may win where two
    # meet), on the candidates' bounding box
    rows, cols = np.flatnonzero(cand.any(axis=1)), np.flatnonzero(cand.any(axis=0))
    box = (slice(max(int(rows[0]) - 3, 0), int(rows[-1]) + 4),
           slice(max(int(cols[0]) - 3, 0), int(cols[-1]) + 4))
    c = cand[box]
    wide = ndimage.grey_dilation(c, size=(7, 7))
    ring = (wide > 0) & (ndimage.grey_dilation(c, size=(3, 3)) == 0)
    held = np.bincount(wide[ring], minlength=m)
    # text-coloured (the outline near a bright gap rings: not flat, still its colour) or
    # not screen-fixed at all (background the redrawing gave back)
    rv = v[box][ring]
    common = np.searchsorted(vals, rv + thr / 2, "right") - np.searchsorted(vals, rv - thr / 2)
    fine = (common >= TEXT_SHARE * vals.size) | ~mask[box][ring]
    in_text = np.bincount(wide[ring][fine], minlength=m)
    bordered = (held > 0) & (in_text >= BORDERED * held)
    return cand, bordered


def _masked(crop: Crop | None, ys: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """Whether frame pixels (``ys``, ``xs``: int arrays, inside the frame) lie in ``crop``."""
    out = np.zeros(ys.shape, bool)
    if crop is None:
        return out
    h, w = crop.mask.shape
    r, c = ys - crop.y, xs - crop.x
    inside = (r >= 0) & (r < h) & (c >= 0) & (c < w)
    out[inside] = crop.mask[r[inside], c[inside]]
    return out


def _views(img: np.ndarray, crop: Crop | None, ys: np.ndarray, xs: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear values of ``img`` at float positions (``ys``, ``xs``) and whether each is a
    view off ``crop``'s mask (its four taps inside the frame and none masked)."""
    h, w = img.shape
    y0, x0 = np.floor(ys).astype(np.int64), np.floor(xs).astype(np.int64)
    fy, fx = (ys - y0).astype(np.float32), (xs - x0).astype(np.float32)
    ok = (y0 >= 0) & (x0 >= 0) & (y0 + 1 < h) & (x0 + 1 < w)
    val = np.zeros(ys.shape, np.float32)
    if not ok.any():
        return val, ok
    y0, x0, fy, fx = y0[ok], x0[ok], fy[ok], fx[ok]
    acc = np.zeros(y0.shape, np.float32)
    free = np.ones(y0.shape, bool)
    for dy, by in ((0, 1.0 - fy), (1, fy)):
        for dx, bx in ((0, 1.0 - fx), (1, fx)):
            acc += by * bx * img[y0 + dy, x0 + dx]
            free &= ~_masked(crop, y0 + dy, x0 + dx)
    val[ok] = acc
    ok[ok] = free
    return val, ok


def release_behind(luma: Callable[[int], np.ndarray], xy: np.ndarray,
                   crops: list[Crop | None], *, thr: float, reach: int = 24
                   ) -> list[Crop | None]:
    """The screen-fixed masks ``crops`` without the flat parts that other frames show to be
    background (see the module docstring).

    Parameters
    ----------
    luma : callable ``n -> ndarray float32 (h, w)``
        Working Y' of offsets row n (asked for in order, at most ``reach`` rows apart from
        the row judged).
    xy : ndarray (n, 2)
        Offsets (px, translations).
    crops : list of Crop or None
        Per row, the redrawn screen-fixed mask (:func:`overmix.render.fixed_edges.
        refine_fixed`).
    thr : float
        Working Y' difference that still counts as the same value.
    reach : int
        Rows looked at in each direction.

    Returns
    -------
    list of Crop or None
        The masks, each a subset of the one given (the same object where nothing changed).
    """
    xy = np.asarray(xy, np.float64).reshape(-1, 2)
    out = list(crops)
    for k, crop in enumerate(crops):
        if crop is None or not crop.mask.any():
            continue
        h, w = crop.mask.shape
        v = luma(k)[crop.y:crop.y + h, crop.x:crop.x + w]
        lab, bordered = _candidate_parts(v, crop.mask, thr)
        if not lab.any():
            continue
        ys, xs = np.nonzero(lab)
        ids, here = lab[ys, xs], v[ys, xs]
        n = int(lab.max()) + 1
        views = np.zeros(n, np.int64)
        agree = np.zeros(n, np.int64)
        part = sorted({j for t in VIEW_TRAVELS
                       for j in travel_partners(xy, k, t, reach=reach)})
        for j in part:
            d = xy[k] - xy[j]  # frame k's pixel (i, c) shows frame j's (i + dy, c + dx)
            val, ok = _views(luma(j), crops[j], ys + crop.y + d[1], xs + crop.x + d[0])
            views += np.bincount(ids[ok], minlength=n)
            agree += np.bincount(ids[ok & (np.abs(val - here) <= thr)], minlength=n)
        # shown by other frames, or inside the text and contradicted by none of its views
        back = (agree >= AGREE * views) & ((views >= MIN_VIEWS) | bordered)
        back[0] = False
        if back.any():
            out[k] = Crop(crop.y, crop.x, crop.mask & ~back[lab])
    return out


def off_text(crops: list[Crop | None], luma: Callable[[int], np.ndarray], thr: float, *,
             keep: np.ndarray | None = None) -> list[Crop | None]:
    """Per row, the pixels of its screen-fixed mask ``crops`` that show no text: of no text
    colour (within ``thr / 2`` of the values of under :data:`TEXT_SHARE` of the mask's
    pixels; text is drawn in a few colours, each over the whole line) and at least
    :data:`TEXT_CLEAR` px from every masked pixel that has one (an outline's anti-aliased
    edge blends the two). Nothing is read from other frames.

    On a slow pan a glyph's counter or the gap between two glyphs keeps its screen value over
    the little camera travel and is "proven" screen-fixed by a partner that sees its scene
    point on the outline; at 360p such a hole is a few pixels wide, with no flat area for
    :func:`release_behind`, and the few frames in which it passes over a scene point are
    that point's only clean views (640x360 slow hardsub: 50 % of the "few" error after
    :func:`overmix.render.foreground_slope.like_background`).

    Parameters
    ----------
    crops : per offsets row, Crop or None
        Full-resolution screen-fixed masks on their bounding boxes.
    luma : callable ``k -> ndarray float32 (h, w)``
        Working Y' of row ``k`` (read once per row with a mask).
    thr : float
        Working Y' difference that still counts as the same value.
    keep : ndarray bool (h, w) or None
        Pixels never taken (beside bars and dirty border lines).

    Returns
    -------
    list of Crop or None
        Per row, those pixels (a subset of its mask, never all of it), or None where there
        are none.
    """
    from overmix.morph import dilate

    out: list[Crop | None] = [None] * len(crops)
    for k, crop in enumerate(crops):
        if crop is None or not crop.mask.any():
            continue
        m = crop.mask
        h, w = m.shape
        v = np.asarray(luma(k), np.float32)[crop.y:crop.y + h, crop.x:crop.x + w]
        vals = np.sort(v[m])
        near = np.searchsorted(vals, v + thr / 2, "right") - \
            np.searchsorted(vals, v - thr / 2)
        text = m & (near >= TEXT_SHARE * vals.size)
        got = m & ~dilate(text, TEXT_CLEAR - 1, square=True)
        if keep is not None:
            got &= ~keep[crop.y:crop.y + h, crop.x:crop.x + w]
        if got.any() and int(got.sum()) < int(m.sum()):
            out[k] = Crop.tight(got, crop.y, crop.x)
    return out

"""Operations on the clean still's bool masks (issue #12 item 3), pure functions over numpy.

The clean-still stage (:mod:`overmix.commands.clean`) finds per-frame outlier masks on
reduced frames (:mod:`overmix.render.consensus`), screen-fixed content redrawn at full
resolution (:mod:`overmix.render.fixed_edges`), a second plane (:mod:`overmix.render.layers`)
and a static overlay's estimate; these functions reconcile them. Masks are bool ``(h, w)``
in frame coordinates (full or reduced resolution as each says); alphas float32 in [0, 1].
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from overmix.morph import bounding_box, dilate
from overmix.render.consensus import Consensus, downsample_mask
from overmix.render.fixed_edges import Crop
from overmix.render.layers import LayerLabel

__all__ = ["LOGO_GROW", "LOGO_RIM", "MOVING_SHARE", "OPAQUE_SHARE", "STAYS", "defer_to_fixed",
           "grow", "held_parts", "occluders", "off_layer", "residual_off_layer", "ring_lines",
           "semi_transparent", "soft_rim", "travelling"]

LOGO_GROW = 3  # px around a logo left out too (compression ringing at its edges)
# ... around a logo whose mask was redrawn at full resolution (it holds the antialiased rim
# already): the views a few pixels off a logo's bar are all a slow pan has of the places it
# sweeps (720p logo, swept area -1.61 -> -1.15 dB from a logo-free stitch at 8 bits)
LOGO_RIM = 1
OPAQUE_SHARE = 0.3  # a persistent overlay part this opaque is text or bars, not a logo
# ... or when this share of its pixels keeps its screen value in at least half of the frames
# (the full-resolution screen-fixed masks hold them): a semi-transparent logo over a moving
# background changes its screen value (a 640x360 logo: 22-31 % of it held, at 2.37, 0.6 and
# 0.3 px/frame); the subtitle band on a 0.3 px/frame pan was fitted as a blend (82 % held)
HELD_SHARE = 0.6
# a moving part whose pixels lie this much (share) near redrawn screen-fixed content is that
# content changing (a new subtitle line): the redrawing decides
MOVING_SHARE = 0.5
# a persistent part whose moving-foreground footprint over the clip is more than 1 / STAYS
# times its size travels on screen (a character walking slowly: its never-seen core is
# persistent); a logo's footprint is the logo (measured 0.89 of it at 640x360, a walking
# character 0.03, a subtitle band beside a character 0.44)
STAYS = 0.25
# a screen-fixed part inside a moving part goes with the piece of it kept when more than this
# share of the moving pixels around it are that piece's
SPECK_SHARE = 0.5
SPECK_SIZE = 0.1  # ... and it is at most this share of that piece's area
OCCLUDER_WIDTH = 3  # reduced samples: thinner never-changing content is not an occluder
_EIGHT = np.ones((3, 3), bool)  # 8-connected parts


def grow(mask: np.ndarray, pixels: int = 2) -> np.ndarray:
    """A bool mask grown by ``pixels`` (4-connected dilation steps: overlay edges are soft
    after compression); an empty mask is returned as it is."""
    return dilate(mask, pixels) if mask.any() else mask


def defer_to_fixed(moving: np.ndarray, near: np.ndarray, reach: int) -> np.ndarray:
    """``moving`` (bool (h, w)) without its parts that lie mostly (:data:`MOVING_SHARE`) on
    redrawn screen-fixed content (``near``: it, grown a sample): a subtitle line that changes
    is itself screen-fixed and decided at full resolution; a character that touches a few
    screen-fixed pixels, or a mouth moving in a face the camera follows, stays left out.
    Of a part that lies mostly on it, the pieces off ``near`` that hold at least ``reach``²
    pixels more than ``reach`` px beyond it stay left out too: a character whose legs cross a
    changing subtitle joins the subtitle's change into one part, and is still something else
    moving (the change's own fringes stay within a sample or two of the text)."""
    hit = moving & near
    if not hit.any():
        return moving
    # what decides a moving pixel lies within reach + 2 px of one (its parts, the zone
    # grown by reach, the specks' 3x3 ring): the moving pixels' box is enough (full-frame
    # labelling cost ~10 ms a call at 720p)
    box = bounding_box(moving, reach + 2)
    if box is not None and moving[box].size < moving.size:
        out = np.zeros_like(moving)
        out[box] = defer_to_fixed(moving[box], near[box], reach)
        return out
    from scipy import ndimage  # lazy: only where both kinds meet

    lab, n = ndimage.label(moving, structure=_EIGHT)
    area = np.bincount(lab.ravel(), minlength=n + 1)
    inside = np.bincount(lab[hit], minlength=n + 1)
    drop = inside >= MOVING_SHARE * np.maximum(area, 1)
    drop[0] = False
    zone = dilate(near, reach, square=True)
    kept = moving & ~drop[lab]
    # a part mostly off it that reaches it: its pixels more than 3 reach from its body (its
    # pixels off the zone; the feet that reach into the text stay) are the line's change
    # joined to a character's legs, not the character
    touch = (inside > 0) & ~drop
    if touch.any():
        part = touch[lab]
        kept &= ~(part & ~dilate(part & ~zone, 3 * reach, square=True))
    if not drop.any():
        return kept
    rest = drop[lab] & ~near
    if rest.any():
        lab2, n2 = ndimage.label(rest, structure=_EIGHT)
        away = np.bincount(lab2[rest & ~zone], minlength=n2 + 1) >= reach * reach
        away[0] = False
        pieces = np.where(away[lab2], lab2, 0)
        kept |= (pieces > 0) | _specks(near & drop[lab], pieces, moving)
    return kept


def _specks(near: np.ndarray, pieces: np.ndarray, moving: np.ndarray) -> np.ndarray:
    """The parts of ``near`` (bool: screen-fixed content grown, within moving parts left
    to it) that lie in a piece kept (``pieces``: int labels, 0: none): most of the moving
    pixels around them (a pixel out) are that piece's, and they are small beside it (at
    most :data:`SPECK_SIZE` of its area). A flat patch of a slow character's coat or face
    keeps its screen value for a while and looks screen-fixed; the piece of the character
    kept takes it back with its surroundings (left out, they opened the character's mask
    at its rim: 720p subsprite). A subtitle line's zone is surrounded by its change and
    is no speck beside the legs that reach it."""
    from scipy import ndimage

    lab, n = ndimage.label(near, structure=_EIGHT)
    if n == 0 or not pieces.any():
        return np.zeros_like(near)
    area = np.bincount(lab.ravel(), minlength=n + 1)
    size = np.bincount(pieces.ravel())
    size[0] = 0
    around = ndimage.grey_dilation(lab, size=(3, 3))
    ring = (around > 0) & (lab == 0) & moving
    held = np.bincount(around[ring], minlength=n + 1)
    ours = ring & (pieces > 0)
    mine = np.bincount(around[ours], minlength=n + 1)
    beside = np.zeros(n + 1, np.int64)  # the largest piece around each part
    np.maximum.at(beside, around[ours], size[pieces[ours]])
    back = (mine > SPECK_SHARE * held) & (area <= SPECK_SIZE * beside)
    back[0] = False
    return back[lab]


def travelling(persistent: np.ndarray, moving: list[np.ndarray | None]) -> np.ndarray:
    """The samples of ``persistent`` (bool (hs, ws), reduced frame coordinates: outliers in
    nearly every frame) that belong to something travelling on screen: the union over the
    frames of the moving-foreground parts (``moving``, per frame bool (hs, ws) or None) that
    touch a persistent part, joined with it, is its footprint; where the persistent samples
    are less than :data:`STAYS` of their footprint, the thing is seen at other screen places
    in other frames (a character walking across a slow pan is persistent only in the core
    its positions share). Such parts are no screen-fixed overlay to estimate and un-blend:
    a frame's moving-foreground mask decides there. Returns bool (hs, ws)."""
    from scipy import ndimage  # lazy: only for persistent outliers

    foot = persistent.copy()
    for m in moving:
        if m is None or not (m & persistent).any():
            continue
        lab, _ = ndimage.label(m, structure=_EIGHT)
        ids = np.unique(lab[m & persistent])
        foot |= np.isin(lab, ids[ids > 0])
    lab, n = ndimage.label(foot, structure=_EIGHT)
    size = np.bincount(lab.ravel(), minlength=n + 1)
    held = np.bincount(lab[persistent], minlength=n + 1)
    moves = held < STAYS * size
    moves[0] = False
    return persistent & moves[lab]


def held_parts(mask: np.ndarray, held: np.ndarray, frames: int) -> np.ndarray:
    """The connected parts (grown by :data:`LOGO_GROW`) of a persistent overlay (bool (h,
    w)) in which at least :data:`HELD_SHARE` of the pixels keep their screen value in half of
    the ``frames`` or more (``held``: int (h, w), per pixel the frames whose full-resolution
    screen-fixed masks hold it): opaque screen-fixed content (subtitle text, whose lines
    mix into a middling alpha when the pan is too slow to show the background behind them
    changing), nothing to un-blend."""
    if not mask.any():
        return np.zeros_like(mask)
    lab, total, kept = _part_counts(mask, held >= 0.5 * frames)
    opaque = kept >= HELD_SHARE * np.maximum(total, 1)
    opaque[0] = False
    return opaque[lab] & mask


def semi_transparent(mask: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The parts of a persistent overlay (bool (h, w)) that are a semi-transparent logo to
    un-blend: connected parts (grown by :data:`LOGO_GROW`) of the pixels with an estimated
    alpha (float32 (h, w)) above 0.02 in which fewer than :data:`OPAQUE_SHARE` of those are
    opaque (alpha 0.9 or more). Opaque screen-fixed content (bars, subtitle text: where lines
    change, the per-pixel fit mixes frames with and without a glyph into a middling alpha) is
    left to the full-resolution masks."""
    seen = mask & (alpha > 0.02)
    if not seen.any():
        return np.zeros_like(mask)
    lab, total, opaque = _part_counts(seen, alpha >= 0.9)
    semi = opaque < OPAQUE_SHARE * np.maximum(total, 1)
    semi[0] = False
    return semi[lab] & mask


def _part_counts(seen: np.ndarray, hit: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The connected parts of ``seen`` (bool (h, w)) grown by :data:`LOGO_GROW`: their labels
    (int (h, w), 0 outside), and per label (int (n + 1,)) the pixels of ``seen`` and those of
    ``seen & hit`` (bool (h, w)) in it."""
    from scipy import ndimage

    lab, n = ndimage.label(grow(seen, LOGO_GROW))
    return (lab, np.bincount(lab[seen], minlength=n + 1),
            np.bincount(lab[seen & hit], minlength=n + 1))


def off_layer(found: list[np.ndarray | None], layer: LayerLabel, xy: np.ndarray, r: int,
              shape: tuple[int, int], reach: int) -> list[np.ndarray | None]:
    """The moving-foreground masks (bool, reduced by ``r`` from frames of ``shape``; offsets
    ``xy`` (n, 2) px) without what the second plane explains: samples whose background the
    plane covers within ``reach`` frames. Empty masks become None."""
    h, w = shape
    q = r // layer.reduce
    own = (-(-h // layer.reduce), -(-w // layer.reduce))
    out: list[np.ndarray | None] = []
    for k, m in enumerate(found):
        if m is not None:
            near = downsample_mask(layer.reach(k, xy, reach, own), q, m.shape)
            m = m & ~near
        out.append(m if m is not None and m.any() else None)
    return out


def residual_off_layer(cons: Consensus,
                       layer_mask: Callable[[int], np.ndarray | None]) -> None:
    """``cons``'s residual outliers (in place) without the second plane's samples (row ->
    bool (h, w) at full resolution, or None; grown by one sample: its edge samples mix both
    planes); the plane is left out at full resolution instead. The masks are made again of
    the parts."""
    hs, ws = cons.shape[0] // cons.reduce, cons.shape[1] // cons.reduce
    for k in range(len(cons.masks)):
        res = cons.residual[k] if k < len(cons.residual) else None
        if res is not None:
            lay = layer_mask(k)
            if lay is not None:
                res = res & ~grow(downsample_mask(lay, cons.reduce, (hs, ws)), 1)
            res = res if res.any() else None
            cons.residual[k] = res
        parts = [p for p in (res, cons.fixed[k] if cons.fixed else None,
                             cons.moving[k] if cons.moving else None) if p is not None]
        m = None
        for p in parts:
            m = p if m is None else (m | p)
        cons.masks[k] = m


def occluders(cons: Consensus, width: int = OCCLUDER_WIDTH) -> np.ndarray:
    """The reduced samples (bool (h // r, w // r)) behind which a frame's view of a scene
    point proves nothing in the full-resolution screen-fixed redraw
    (:mod:`overmix.render.fixed_edges`): screen-fixed content (some row's screen-fixed mask)
    that never changes on screen (``cons.still``) and is at least ``width`` samples thick
    (bars, a wide opaque block). Flat background that every frame shows alike is a view of
    the scene, and the thin glyph parts two subtitle lines share are the text itself: a
    frame that shows text where another frame's pixel shows something else is what proves
    that pixel screen-fixed on a slow pan."""
    from scipy import ndimage  # lazy: only with screen-fixed content

    assert cons.still is not None
    occ = np.zeros_like(cons.still)
    for f in cons.fixed or []:
        if f is not None:
            occ |= f
    occ &= cons.still
    if not occ.any():
        return occ
    return ndimage.binary_opening(occ, structure=np.ones((width, width), bool))


def ring_lines(y: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """The samples of ``ring`` (bool (h, w)) that lie on a line or an edge of the frame
    ``y`` (working Y', float32 (h, w)): 3x3 range at least
    :data:`overmix.render.foreground.FLAT`, read on the ring's bounding box only. Beside a
    moving mask these are mostly the thing's own outline that the mask ends short of (an
    anti-aliased rim, a horizontal outline sliding along itself), the flat ones mostly the
    background. Returns bool (h, w)."""
    from overmix.render.foreground import FLAT, _range3

    out = np.zeros(ring.shape, bool)
    # a sample of context around the ring, so the range at its edge sees both sides
    box = bounding_box(ring, 1)
    if box is None:
        return out
    out[box] = ring[box] & (_range3(np.asarray(y[box], np.float32)) >= FLAT)
    return out


def soft_rim(y: np.ndarray, own: np.ndarray, masked: np.ndarray | None = None) -> np.ndarray:
    """The outer pixels of a moving-foreground mask ``own`` (bool (h, w)) that show the flat
    background beyond it in the frame ``y`` (working Y', float32 (h, w)): within
    ``LEVEL`` of a flat unmasked pixel at most ``BEYOND`` px away
    (:func:`overmix.render.foreground_slope.like_background`, one pixel deep). The mask's
    soft edge (a pixel past the thing's outline) mostly; beside a thing that bobs, those
    are the only views of the scene points just past its outline that the frames of the
    other pose show as the outline itself.

    ``masked`` (bool (h, w), ``own`` included): every pixel the frame leaves out and what
    the mask was cut from (its parts left to redrawn screen-fixed content, which keep the
    thing's flat inside). The edge is then that of all of them, and the flat pixels beyond
    it are off all of them: where the mask ends on a subtitle, or was cut short beside one,
    its last pixel is the thing or the text, not a view of the background (640x360 slow
    subsprite, 8-bit: 80 % of what the soft edge cost lay within 3 px of the subtitle, those
    views 0.25-0.49 off the background). Returns bool (h, w), a subset of ``own``."""
    from overmix.render.foreground_slope import like_background

    edge = own if masked is None else (own | masked)
    got = like_background([Crop.tight(edge)], lambda _k: y, own.shape, depth=1)[0]
    return np.zeros(own.shape, bool) if got is None else got.full(own.shape) & own

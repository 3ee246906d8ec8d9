"""Moving foreground at the frame's borders, carried from a frame that sees it inside (#12).

The odd-one-out test of :mod:`overmix.render.foreground` compares frame ``k`` with frames
``k - d`` and ``k + d`` at the background offsets: along a border the camera moves towards,
the frames of one side never saw that part of the scene, so no pair (or only the nearest)
reaches it. There, what enters the picture — the next credit line rising from the bottom,
a character stepping in — is not flagged, and where the background is seen clean by only the
few frames whose border it is, their unflagged text is what the still shows (720p credits:
the bottom 4 rows of every frame left most of the "few" error).

What moves on screen shows up a few frames later (or earlier) inside the picture, where the
test reaches it. Per frame ``k`` and partner ``j = k -/+``
:data:`overmix.render.foreground.GAP` (the clip's first and last frames as partners once
their masks follow a neighbour's): the moving parts of
frame ``k`` beside its *weak band* (the samples no pair with ``d >=`` :data:`MIN_D` reaches)
are matched in frame ``j`` by one whole-sample screen shift
(:func:`overmix.render.foreground.follow_parts`' search, over all of them: what enters over
one border moves as one, a credits roll); a weak-band sample whose shifted place in frame
``j`` lies in ``j``'s mask and that shows what frame ``j`` shows there (within
:data:`~overmix.render.foreground.LEVEL` of the 3x3 range, up to a pixel and the codec) is
the same thing: it joins frame ``k``'s mask. Flat insides come along with their outline:
the partner's mask holds them whole.
"""

from __future__ import annotations

import math

import numpy as np

from overmix.morph import dilate
from overmix.render.foreground import LEVEL, TRACK_RADIUS, best_shift, pairs
from overmix.warp import window_ones

__all__ = ["MIN_D", "from_partner", "weak_band"]

MIN_D = 4  # frames: a sample only nearer pairs reach is weak (the nearest miss slow things)
ZONE = 12  # samples: the moving parts beside the weak band whose screen motion is sought
MIN_POINTS = 12  # samples: fewer moving ones in that zone tell no motion
SAMPLES = 1500  # points of the zone the shift search compares (a strided subset)


def weak_band(k: int, shape: tuple[int, int], xs: np.ndarray, count: int,
              distances: tuple[int, ...]) -> np.ndarray:
    """Samples of frame ``k`` (bool ``shape``) that both frames of no pair ``(k - d, k + d)``
    with ``d >=`` :data:`MIN_D` reach with their four bilinear taps (``xs``: background
    offsets (count, 2) at the analysis resolution). Near the clip's ends the pairs shrink:
    there every sample is weak unless a pair reaches it (the ends are followed elsewhere)."""
    h, w = shape
    tested = np.zeros((h, w), bool)
    for a, b in pairs(k, count, distances):
        if b - k < min(MIN_D, k, count - 1 - k):
            continue
        both = np.ones((h, w), bool)
        for j in (a, b):
            t = xs[k] - xs[j]  # frame k's sample (i, c) is frame j's (i + ty, c + tx)
            iy, ix = math.floor(float(t[1]) + 1e-6), math.floor(float(t[0]) + 1e-6)
            both &= window_ones((h - 1, w - 1), iy, ix, h, w) > 0
        tested |= both
    return ~tested


def from_partner(mask: np.ndarray | None, y: np.ndarray, band: np.ndarray,
                 partner_mask: np.ndarray | None, partner_y: np.ndarray, *, gap: int,
                 level: float = LEVEL) -> np.ndarray | None:
    """The samples of frame ``k``'s weak ``band`` (bool (h, w)) that show a moving part of
    its partner frame (see the module docstring).

    Parameters
    ----------
    mask, y : bool (h, w) or None, float32 (h, w)
        Frame ``k``'s moving mask as found and its working Y' (analysis resolution).
    band : bool (h, w)
        Frame ``k``'s weak band (:func:`weak_band`).
    partner_mask, partner_y : bool (h, w) or None, float32 (h, w)
        The partner frame's mask as found and its Y'.
    gap : int
        Frames between the two (the screen shift searched is ``TRACK_RADIUS`` px a frame).

    Returns
    -------
    bool (h, w) or None
        The band samples to add to frame ``k``'s mask; None when none (or nothing to go by).
    """
    from scipy import ndimage  # lazy: only scenes with something moving get here

    if mask is None or partner_mask is None or not band.any():
        return None
    zone = dilate(band, ZONE) & ~band & mask
    sy, sx = np.nonzero(zone)
    if sy.size < MIN_POINTS:
        return None
    radius = TRACK_RADIUS * gap + 2
    pad = np.pad(np.asarray(partner_y, np.float32), radius, constant_values=np.nan)
    step = max(1, sy.size // SAMPLES)
    shift, cost = best_shift(np.asarray(y, np.float32), pad, sy[::step], sx[::step], radius)
    if shift is None or cost > level:
        return None
    dy, dx = shift
    h, w = band.shape
    # the partner's mask and its 3x3 range, at frame k's samples moved by the shift
    pm = _shifted(np.asarray(partner_mask, np.float32), dy, dx, h, w) > 0.5
    lo = _shifted(ndimage.minimum_filter(partner_y, size=3), dy, dx, h, w)
    hi = _shifted(ndimage.maximum_filter(partner_y, size=3), dy, dx, h, w)
    lv = np.float32(level)
    fits = (y >= lo - lv) & (y <= hi + lv)
    add = band & pm & fits & ~mask
    return add if add.any() else None


def _shifted(a: np.ndarray, dy: int, dx: int, h: int, w: int) -> np.ndarray:
    """``a`` read at ``(i + dy, j + dx)`` for an (h, w) grid, NaN where it leaves ``a``
    (float32)."""
    out = np.full((h, w), np.nan, np.float32)
    rs, cs = max(dy, 0), max(dx, 0)
    re, ce = min(dy + h, a.shape[0]), min(dx + w, a.shape[1])
    if re > rs and ce > cs:
        out[rs - dy:re - dy, cs - dx:ce - dx] = a[rs:re, cs:ce]
    return out

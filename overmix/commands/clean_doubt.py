"""The clean still's second look at the places no frame sees at full weight beside a moving
thing (:mod:`overmix.render.doubtful`): after a first render, the low-weight views there that
continue the background seen beside them are used and the others left out, and the canvas is
rendered again with those weights (issue #12)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from overmix.geometry import Offsets
from overmix.render.clean_masks import grow
from overmix.render.consensus import ALONE, FLOOR
from overmix.render.doubtful import REACH, Doubtful, background_views, doubtful_places
from overmix.render.fill import EXCLUDED
from overmix.render.foreground import LEVEL
from overmix.render.rim_alone import RIM
from overmix.render.stack_base import NEAR, FrameWeights

__all__ = ["doubt_weights"]

_Views = tuple[tuple[slice, slice], np.ndarray, np.ndarray]


def doubt_weights(weights: FrameWeights, rows: dict[int, int], offsets: Offsets,
                  moving: Callable[[int], np.ndarray | None],
                  luma: Callable[[int], np.ndarray], y: np.ndarray, coverage: np.ndarray
                  ) -> FrameWeights | None:
    """``weights`` (``position -> float32 (h, w) or None``) with the doubtful places' views
    decided on their values, or None where nothing changes.

    ``rows`` maps provider positions to offsets rows; ``offsets`` translations only (its
    canvas is the first render's, pitch 1); ``moving(n)`` row ``n``'s moving-foreground
    mask (bool (h, w)) or None; ``luma(k)`` position ``k``'s working Y' (float32 (h, w));
    ``y``, ``coverage`` the first render's Y' and summed weights (float32 (H, W)).

    A frame's views judged are those within ``RIM`` px of its moving mask plus the render
    kernel's reach (:data:`overmix.render.doubtful.REACH`): the mask's too-wide rim and the
    low-weight ring beside it."""
    doubt = doubtful_places(y, coverage)
    if doubt is None:
        return None
    cv = offsets.canvas
    h, w = offsets.frame_height, offsets.frame_width
    org = {k: (int(round(offsets.xy[n, 1] - cv.y)), int(round(offsets.xy[n, 0] - cv.x)))
           for k, n in rows.items()}
    views: dict[int, _Views] = {}
    liked = np.zeros(doubt.place.shape, bool)  # some view continues the background there
    used = np.zeros_like(liked)  # ... and one of them is in use (above the floor)
    for k, n in rows.items():
        mv = moving(n)
        wk = weights(k) if mv is not None and mv.any() else None
        if wk is None:
            continue
        got = background_views(doubt, luma(k), org[k], grow(mv, RIM + REACH), LEVEL)
        if got is None:
            continue
        fs, bs = _cut(doubt, org[k], (h, w))
        v, like, wv = got[0][fs], got[1][fs], wk[fs]
        views[k] = (fs, v, like)
        liked[bs] |= like
        used[bs] |= like & (wv >= EXCLUDED)
    if not liked.any():
        return None
    for k, (fs, v, like) in list(views.items()):
        bs = _cut(doubt, org[k], (h, w))[1]
        # where some view continues the background the others are left out; the ones left
        # out that continue it come back only where none in use does
        views[k] = (fs, v & ~like & liked[bs], like & ~used[bs])

    def decided(k: int) -> np.ndarray | None:
        wk = weights(k)
        got = views.get(k)
        if got is None or wk is None:
            return wk
        fs, out, back = got
        wk = np.array(wk, np.float32, copy=True)
        part = wk[fs]
        # a view at NEAR or above is no doubtful one: it stays
        part[out & (part < NEAR)] = np.float32(FLOOR)
        part[back] = np.maximum(part[back], np.float32(ALONE))
        return wk

    return decided


def _cut(doubt: Doubtful, org: tuple[int, int], shape: tuple[int, int]
         ) -> tuple[tuple[slice, slice], tuple[slice, slice]]:
    """:meth:`Doubtful.on_frame` of a frame known to overlap the box."""
    cut = doubt.on_frame(org, shape)
    assert cut is not None
    return cut

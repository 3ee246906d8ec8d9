"""The stitched frames' working Y' as the clean-still analyses read it (issue #12 item 3):
box-reduced, block-averaged or rectangle by rectangle, in scene values where lighting gains
were estimated (frame Y' = a · scene Y' + b, :mod:`overmix.render.lighting`)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from overmix.io.store import FrameStore
from overmix.warp import reduce_box, reduce_box_codes

__all__ = ["analysis_luma", "luma_boxes", "reduced_luma", "scene_luma"]


def scene_luma(y: np.ndarray, gains: np.ndarray | None, row: int) -> np.ndarray:
    """Frame Y' ``y`` (float32) of stitched row ``row`` in scene values, ``(y - b) / a`` with
    that row's lighting gain ``(a, b)`` (``gains`` float (n, 2), or None: ``y`` as it is);
    a row with no gain (a ≤ 0) or the identity is left as it is."""
    if gains is None:
        return y
    a, b = (float(v) for v in gains[row])
    if a > 0 and (a != 1 or b != 0):
        return (y - np.float32(b)) * np.float32(1.0 / a)
    return y


def reduced_luma(store: FrameStore, k: int, r: int) -> np.ndarray:
    """Working Y' of frame ``k`` box-reduced by ``r`` (:func:`overmix.warp.reduce_box`),
    reduced straight from the codes (:func:`overmix.warp.reduce_box_codes`: the luma is an
    affine map of them, so it commutes with the block means)."""
    if r <= 1:
        return reduce_box(store.luma(k), r)
    coef, off = store.luma_coefficients()
    return reduce_box_codes(store.frame(k).planes[:len(coef)], coef, off, r)


def luma_boxes(store: FrameStore, pos: list[int], gains: np.ndarray | None
               ) -> Callable[[int], Callable[[slice, slice], np.ndarray]]:
    """``row -> ((rows, cols) -> working Y' of that rectangle)`` of the stitched frames
    (store positions ``pos``), converted from the codes rectangle by rectangle (only the luma
    plane of a YCbCr frame is read), in scene values where lighting ``gains`` were
    estimated."""
    used = len(store.luma_coefficients()[0])  # planes the luma is made of

    def frame(n: int) -> Callable[[slice, slice], np.ndarray]:
        planes = tuple(store.codes(pos[n], p) for p in range(used))

        def box(rows: slice, cols: slice) -> np.ndarray:
            y = np.asarray(store.luma_of(tuple(p[rows, cols] for p in planes)), np.float32)
            return scene_luma(y, gains, n)

        return box

    return frame


def analysis_luma(store: FrameStore, pos: list[int], gains: np.ndarray | None,
                  rf: int) -> Callable[[int], np.ndarray]:
    """``row -> working Y'`` of the stitched frames in plain ``rf x rf`` block means (outlines
    must not be smoothed away), in scene values where lighting ``gains`` were estimated."""
    assert store.shape is not None
    h, w = store.shape

    def luma(i: int) -> np.ndarray:
        y = store.luma(pos[i])
        if rf > 1:
            hh, ww = (h // rf) * rf, (w // rf) * rf
            y = y[:hh, :ww].reshape(hh // rf, rf, ww // rf, rf).mean(axis=(1, 3))
        return scene_luma(np.asarray(y, np.float32), gains, i)

    return luma

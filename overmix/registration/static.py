"""Screen-fixed content found over long jumps, before alignment.

A subtitle, a logo or a frame edge stays at the same screen position while the background
pans. Between neighbouring frames of a slow pan the two motions are less than a coarse pixel
apart and cannot be told apart; between frames ``JUMP`` apart the background has moved
several pixels while the overlay has not. So a pixel is **screen-fixed** when it is textured
(a strong edge) in both frames k and k + ``JUMP`` and has the same value at the same screen
position in both: a panned textured background differs there.

Working level: a 2x box reduction of the luma (Y' in [0, 1]); masks are returned at full
resolution, True = ignore.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from overmix.registration.masks import full_size

__all__ = ["JUMP", "ScreenFixed", "screen_fixed"]

# Frame distance of the compared frames.
JUMP = 8
# A pixel is an edge when its gradient magnitude (luma per working pixel) reaches this.
EDGE = 0.08
# ... and unchanged when its 3x3 mean absolute difference stays below this (luma).
SAME = 0.025
# When less than this fraction of the edges changed, or the unchanged edges spread over more
# than MAX_COVER of the frame, the background itself did not move enough over the jump (a
# still shot, a very slow pan): the pair says nothing.
MIN_MOVED = 0.2
MAX_COVER = 0.3
# Screen-fixed edges must be at least this fraction of the edges, or of the frame's area
# (MIN_AREA), to count.
MIN_FOUND = 0.05
MIN_AREA = 0.002
# Working pixels each mask grows by (the blended outline of text).
GROW = 2
# :meth:`ScreenFixed.shown`: blocks (working pixels) in which at least SHOWN_SHARE of the
# pixels found screen-fixed in any frame show the same luma.
SHOWN_BLOCK = 16
SHOWN_SHARE = 0.5
# An unchanged edge pixel that the background's shift over the jump moves by less than this
# (working pixels) across its own edge says nothing: a straight background edge sliding
# along itself also looks unchanged (the aperture problem; a pan along a horizon).
MIN_ACROSS = 1.0


def _down2(y: np.ndarray) -> np.ndarray:
    """The working level: a 2x box reduction (float32) of a plane, or of each plane of a
    stack (..., h, w) alike."""
    h, w = (y.shape[-2] // 2) * 2, (y.shape[-1] // 2) * 2
    y = np.asarray(y, np.float32)
    rows = y[..., 0:h:2, :w] + y[..., 1:h:2, :w]  # whole rows first: half the strided reads
    return np.float32(0.25) * (rows[..., 0::2] + rows[..., 1::2])


def _edges(a: np.ndarray, unit: float = 1.0) -> np.ndarray:
    """Pixels whose central-difference gradient magnitude reaches EDGE (outermost rows and
    columns: only the difference along them); of each plane of a stack (..., h, w) alike.
    ``unit``: values of ``a`` per luma unit (any offset: the pyramid's uint16 codes or
    float luma)."""
    gx = np.zeros(a.shape, np.float32)
    gy = np.zeros(a.shape, np.float32)
    np.subtract(a[..., :, 2:], a[..., :, :-2], out=gx[..., :, 1:-1], dtype=np.float32)
    np.subtract(a[..., 2:, :], a[..., :-2, :], out=gy[..., 1:-1, :], dtype=np.float32)
    np.square(gx, out=gx)
    np.square(gy, out=gy)
    gx += gy
    return gx >= np.float32(4 * EDGE * EDGE * unit * unit)  # (2 g)^2 = 4 g^2


def _cross(a: np.ndarray, n: int, grow: bool) -> np.ndarray:
    """``n`` binary dilations (``grow``) or erosions of ``a`` by the 3x3 cross, outside the
    frame counting as False: scipy.ndimage's ``binary_dilation``/``binary_erosion`` with
    their default structure and border, in numpy (scipy's import costs ~0.3 s)."""
    op = np.logical_or if grow else np.logical_and
    for _ in range(n):
        p = np.zeros((a.shape[0] + 2, a.shape[1] + 2), a.dtype)
        p[1:-1, 1:-1] = a
        a = op(op(op(p[1:-1, 1:-1], p[:-2, 1:-1]), op(p[2:, 1:-1], p[1:-1, :-2])),
               p[1:-1, 2:])
    return a


def _neighbours(a: np.ndarray, b: np.ndarray, at: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The 3x3 neighbourhoods (edges replicated) of the pixels at flat indices ``at`` in a
    and b: float32 (9, n) each, row-major (4 = the pixel, 3/5 left/right, 1/7 above/below),
    one gather from each plane; and the pixels' rows and columns."""
    h, w = a.shape
    ys, xs = np.divmod(at, w)
    rows = np.stack([np.maximum(ys - 1, 0), ys, np.minimum(ys + 1, h - 1)]) * w
    cols = np.stack([np.maximum(xs - 1, 0), xs, np.minimum(xs + 1, w - 1)])
    idx = (rows[:, None] + cols[None]).reshape(9, -1)
    return (np.take(a, idx).astype(np.float32, copy=False),
            np.take(b, idx).astype(np.float32, copy=False), ys, xs)


def _across(na: np.ndarray, ys: np.ndarray, xs: np.ndarray, shape: tuple[int, int],
            shift: tuple[float, float]) -> np.ndarray:
    """Per pixel (of :func:`_neighbours`' ``na``), whether the background's ``shift`` moves
    it across its own edge by at least MIN_ACROSS (central differences; 0 on the outermost
    rows/columns)."""
    h, w = shape
    gx = np.where((xs > 0) & (xs < w - 1), np.float32(0.5) * (na[5] - na[3]), np.float32(0))
    gy = np.where((ys > 0) & (ys < h - 1), np.float32(0.5) * (na[7] - na[1]), np.float32(0))
    across = np.abs(gx * np.float32(shift[0]) + gy * np.float32(shift[1]))
    return across >= MIN_ACROSS * np.hypot(gx, gy)


def _static_pair(a: np.ndarray, b: np.ndarray, ea: np.ndarray, eb: np.ndarray,
                 shift: tuple[float, float] | None = None, unit: float = 1.0,
                 ) -> np.ndarray | None:
    """Working-level mask of what is the same edge at the same place in a and b (``ea``,
    ``eb``: their :func:`_edges`); None when nothing is, or when too much is (the
    background did not move). ``shift``: the background's (dx, dy) from a to b in working
    pixels, when known; edges it moves along themselves (:data:`MIN_ACROSS`) are left
    out. ``unit``: values of a and b per luma unit.

    Decided on the edge pixels alone (a few % of the frame) until something is found."""
    edges = ea & eb
    at = np.flatnonzero(edges)
    ne, size = len(at), edges.size
    if ne == 0:
        return None
    na, nb, ys, xs = _neighbours(a, b, at)
    # 3x3 mean absolute difference below SAME: the same value at the same place
    same = np.abs(na - nb).sum(axis=0, dtype=np.float32) < np.float32(9.0 * SAME * unit)
    ns = np.count_nonzero(same)
    if ns < 8 or (ns < MIN_FOUND * ne and ns < MIN_AREA * size):
        return None  # nothing or a few chance matches (the shift test only removes more)
    told: np.ndarray | None = None  # edge pixels where the shift tells static from sliding
    if shift is not None and math.hypot(*shift) >= MIN_ACROSS:
        # on every edge pixel (the closing below, which must not bring back what this
        # leaves out, only reaches edges within 2 pixels of st; the rest is never st)
        told = _across(na, ys, xs, a.shape, shift)
        same &= told
        ns = np.count_nonzero(same)
    if ns < 8 or ne - ns < MIN_MOVED * ne or (ns < MIN_FOUND * ne and ns < MIN_AREA * size):
        return None  # nothing, the background itself, or a few chance matches
    st = np.zeros(size, bool)
    st[at[same]] = True
    st = st.reshape(a.shape)
    # isolated chance matches are not an overlay: a closing (2) then an opening (1)
    st = _cross(_cross(st, 2, True), 2, False)
    st = _cross(_cross(st, 1, False), 1, True)
    if told is not None:  # the closing does not bring back what the shift could not tell
        st.ravel()[at[~told]] = False
    ns = np.count_nonzero(st)
    if ns < MIN_FOUND * max(ne, 1) and ns < MIN_AREA * st.size:
        return None  # a few chance matches (a periodic texture), not an overlay
    if _cross(st, 4, True).mean() > MAX_COVER:
        return None
    return st


class ScreenFixed:
    """Screen-fixed masks of a scene's frames, fed one frame at a time, in order (``JUMP +
    1`` half-resolution frames held; masks kept bit-packed)."""

    def __init__(self) -> None:
        self._window: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._packed: dict[int, np.ndarray] = {}
        self._shape: tuple[int, int] | None = None
        self._small: tuple[int, int] | None = None
        # the found pixels' luma summed over the frames that found them, and their count
        # (working level): what the overlay looks like (:meth:`shown`)
        self._sum: np.ndarray | None = None
        self._count: np.ndarray | None = None

    def add(self, k: int, y: np.ndarray | None, shift: np.ndarray | None = None,
            half: np.ndarray | None = None, shape: tuple[int, int] | None = None,
            unit: float = 1.0, edges: np.ndarray | None = None, zero: float = 0.0) -> None:
        """Frame k's (H, W) luma, Y' in [0, 1] (frames of one size, k = 0, 1, ...);
        ``shift``: the background's (dx, dy) from frame k - JUMP to frame k (full-resolution
        pixels), when known; ``half``: the frame's 2x box reduction ((H // 2, W // 2), float
        luma, or ``unit`` values per luma unit with any offset: the aligner's uint16 pyramid
        level, held, never written) when the caller has it already; then ``y`` may be None
        and ``shape`` gives (H, W). Every frame of a scene comes in the same units.
        ``edges``: :func:`_edges` of ``half`` in those units, when the caller has it;
        ``zero``: the value of luma 0 in them."""
        if self._shape is None:
            self._shape = shape if y is None else (int(y.shape[0]), int(y.shape[1]))
        small = _down2(y) if half is None else half
        self._small = small.shape
        self._window[k] = (small, _edges(small, unit) if edges is None else edges)
        i = k - JUMP
        if i in self._window:
            half = None if shift is None else (0.5 * float(shift[0]), 0.5 * float(shift[1]))
            st = _static_pair(*self._window[i][:1], small, self._window[i][1],
                              self._window[k][1], half, unit)
            if st is not None:
                for j in (i, k):
                    prev = self._packed.get(j)
                    m = st if prev is None else st | np.unpackbits(
                        prev, count=st.size).reshape(st.shape).astype(bool)
                    self._packed[j] = np.packbits(m)
                self._remember(st, small, unit, zero)
            del self._window[i]

    def _remember(self, st: np.ndarray, small: np.ndarray, unit: float, zero: float) -> None:
        """Add the luma of a frame's found pixels (``st``) to the overlay's look."""
        if self._sum is None or self._count is None:
            self._sum = np.zeros(st.shape, np.float32)
            self._count = np.zeros(st.shape, np.uint16)
        v = (small[st].astype(np.float32) - np.float32(zero)) / np.float32(unit)
        self._sum[st] += v
        self._count[st] += 1

    def shown(self, y: np.ndarray, unit: float = 1.0, zero: float = 0.0
              ) -> np.ndarray | None:
        """Where frame ``y`` ((H, W) luma, Y' in [0, 1], or its 2x box reduction, in
        ``unit`` values per luma unit, luma 0 at ``zero``: the aligner's codes) shows
        what the long jumps found screen-fixed in any frame, with the same luma
        (:data:`SAME`) at the same place: (H, W) bool (True = ignore, grown as
        :meth:`mask`), or None when it shows none of it.

        In a fade from black under a subtitle or a logo that does not fade, the dim
        frames' edges are the overlay's and their pairs with each other follow it (a chain
        of zero shifts), while their long jumps see the overlay's surroundings change, so
        no jump finds it there, or only a few of its pixels; its look, taken where the
        jumps found it, finds it. A head the camera follows, held over one jump, is found
        there and nowhere it moved."""
        if self._sum is None or self._count is None or self._shape is None:
            return None
        small = _down2(y) if y.shape == self._shape else y
        if small.shape != self._sum.shape:
            return None
        found = self._count > 0
        at = np.flatnonzero(found)
        look = self._sum.ravel()[at] / self._count.ravel()[at]
        v = (small.ravel()[at].astype(np.float32) - np.float32(zero)) / np.float32(unit)
        same = np.abs(v - look) < np.float32(SAME)
        # by blocks: where most of what was found shows, all of it does (a glyph's edges
        # against a changed background differ, its strokes and outline do not); where a
        # few pixels match by chance (a background of the same luma here and there) or a
        # held head moved on, nothing
        h, w = found.shape
        nbx = -(-w // SHOWN_BLOCK)
        block = (at // w) // SHOWN_BLOCK * nbx + (at % w) // SHOWN_BLOCK
        nb = nbx * -(-h // SHOWN_BLOCK)
        total = np.bincount(block, minlength=nb)
        shows = np.bincount(block, weights=same, minlength=nb) >= SHOWN_SHARE * np.maximum(
            total, 1)
        if not shows.any():
            return None
        rows = np.minimum(np.arange(h) // SHOWN_BLOCK, nb // nbx - 1)
        cols = np.arange(w) // SHOWN_BLOCK
        near = _cross(found, GROW, True) & shows.reshape(-1, nbx)[rows][:, cols]
        return full_size(_cross(near, GROW, True), 2, self._shape) if near.any() else None

    def __bool__(self) -> bool:
        return bool(self._packed)

    def mask(self, k: int) -> np.ndarray | None:
        """Frame k's (H, W) bool mask (True = ignore), or None when nothing was found."""
        p = self._packed.get(k)
        if p is None or self._shape is None or self._small is None:
            return None
        small = self._small
        m = np.unpackbits(p, count=small[0] * small[1]).reshape(small).astype(bool)
        return full_size(_cross(m, GROW, True), 2, self._shape)


def screen_fixed(read: Callable[[int], np.ndarray], n: int,
                 xy: np.ndarray | None = None) -> dict[int, np.ndarray]:
    """All frames' screen-fixed masks (:class:`ScreenFixed` over ``read(0..n-1)``): frame
    k's mask joins the pairs (k - JUMP, k) and (k, k + JUMP); only frames where something
    was found are keys. (H, W) bool, True = ignore. ``xy``: the background's (n, 2)
    positions of the frames, when known (:meth:`ScreenFixed.add`'s shifts)."""
    sf = ScreenFixed()
    for k in range(n):
        shift = None if xy is None or k < JUMP else np.asarray(xy[k]) - np.asarray(xy[k - JUMP])
        sf.add(k, np.asarray(read(k)), shift)
    out = {}
    for k in range(n):
        m = sf.mask(k)
        if m is not None:
            out[k] = m
    return out

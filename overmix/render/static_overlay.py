"""A static overlay's mask at full resolution (issue #12: a TV logo over a slow pan).

The clean-still consensus (:mod:`overmix.render.consensus`) finds content fixed on screen over
the whole clip on frames reduced to ~320 columns, so its mask runs up to a few samples past
the overlay on every side (the reduction, the masks' growth). A semi-transparent logo's bar
that lies along the pan slides along itself: the canvas places it sweeps are seen clean only
by the frames that the pan's small travel across it moved it off them, a few pixels away from
the bar. A mask a few pixels too wide takes exactly those views away, and the still shows the
logo blended in. So the mask is redrawn here at full resolution, inside the reduced one.

A pixel of a static overlay differs from the same scene point seen by another frame where
that frame sees it clean — and a semi-transparent one does so while its own value changes
with the background seen through it, so "the value stays put" (:mod:`overmix.render.fixed_edges`)
does not tell it. Per frame k, its travel partners (:func:`overmix.travel.travel_partners` at
travels of ``min_travel`` x 1, 2, 4, 8 px: the nearest frames that moved that far along x, and
along y — only the travel across an edge moves a point off a bar lying along the pan, and the
middle of a wide part needs more of it) are sampled at the same scene points, where they see
them *outside* the region (the partner's view is background; a pixel next to the logo compared
with a view of the logo would differ as much). A pixel is the overlay when it differs (above
``thr``) in at least :data:`SHARE` of those comparisons. A pixel that no partner sees outside
the region (the middle of a wide part on a pan that never crosses it) stays in the mask.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from overmix.morph import dilate
from overmix.travel import travel_partners
from overmix.warp import bilinear_taps, sample_taps

__all__ = ["refine_static"]

SHARE = 0.5  # frames in which a pixel differs from the scene: a static overlay pixel
MIN_SPECK = 4  # static pixels connected to fewer than this many others are chance
MIN_SEEN = 3  # comparisons with a clean view a pixel needs to be told from the overlay
TRAVELS = (1, 2, 4, 8)  # multiples of the travel at which partners are taken
# decisions that free views for the next, until none changes: a box around a logo is decided
# from its outside in, a partner's travel per round (4 rounds left a 640x360 logo's box half
# undecided, all of it left out)
ROUNDS = 32
# the comparisons' clear-independent halves kept between rounds (one byte a pixel a pair):
# bounded, whatever the number of frames
MEMO_BYTES = 64 << 20
# the box's pixels are compared in parts (_parts): bands of rows, cut at PART_GAP empty
# columns or more, at most MAX_PARTS (each costs a pass per pair and round)
PART_GAP = 16
MAX_PARTS = 8


def refine_static(luma: Callable[[int], np.ndarray], xy: np.ndarray, region: np.ndarray, *,
                  thr: float, min_travel: float) -> np.ndarray:
    """The static overlay's pixels inside ``region`` at full resolution.

    Parameters
    ----------
    luma : callable ``n -> ndarray float32 (h, w)``
        Working Y' of offsets row n; each row is asked for once, in order.
    xy : ndarray (n, 2)
        Offsets (px).
    region : ndarray bool (h, w)
        Where the overlay may be (a superset: the reduced mask).
    thr : float
        Working Y' difference that counts as differing (codec noise stays below it).
    min_travel : float
        Camera travel (px) a partner frame must have moved along an axis.

    Returns
    -------
    ndarray bool (h, w)
        A subset of ``region``, grown by one pixel into it (the antialiased rim); ``region``
        itself where the camera never travels ``min_travel``.
    """
    from scipy import ndimage  # lazy: only where an overlay was found

    xy = np.asarray(xy, np.float64).reshape(-1, 2)
    n = len(xy)
    if not region.any() or n < 3:
        return region
    rows, cols = np.flatnonzero(region.any(axis=1)), np.flatnonzero(region.any(axis=0))
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    partners = [sorted({j for t in TRAVELS for j in travel_partners(xy, k, t * min_travel)})
                for k in range(n)]
    if not any(partners):
        return region
    # each frame's crop covering every place a partner samples it at (read once, in order)
    need: list[list[tuple[float, float]]] = [[] for _ in range(n)]
    for k, js in enumerate(partners):
        for j in js:
            need[j].append((y0 + xy[k, 1] - xy[j, 1], x0 + xy[k, 0] - xy[j, 0]))
    crops: list[tuple[int, int, np.ndarray] | None] = []
    for j in range(n):
        f = luma(j)
        h, w = f.shape
        at = need[j] + [(float(y0), float(x0))]
        ty = [a for a, _ in at]
        tx = [b for _, b in at]
        r0, c0 = max(0, int(np.floor(min(ty)))), max(0, int(np.floor(min(tx))))
        r1 = min(h, int(np.ceil(max(ty))) + (y1 - y0) + 2)
        c1 = min(w, int(np.ceil(max(tx))) + (x1 - x0) + 2)
        crops.append((r0, c0, np.array(f[r0:r1, c0:c1], np.float32)) if r1 > r0 and c1 > c0
                     else None)
    box = region[y0:y1, x0:x1]
    static, undecided = np.zeros_like(box), box
    pairs = _Pairs(crops, partners, xy, (y0, y1, x0, x1), box, thr)
    for _ in range(ROUNDS):
        # a partner's view counts where it falls outside what is (or may be) the overlay
        blocked = np.zeros_like(region)
        blocked[y0:y1, x0:x1] = static | undecided
        hits, seen = pairs.count(~blocked)
        now = box & (seen < MIN_SEEN)
        static = box & ~now & (hits >= SHARE * seen)
        if np.array_equal(now, undecided):
            break
        undecided = now
    # what no partner ever saw clean stays left out (the middle of a wide part on a pan
    # that never crosses it)
    static |= undecided
    eight = np.ones((3, 3), bool)
    lab, nlab = ndimage.label(static, structure=eight)
    if nlab:
        small = np.bincount(lab.ravel(), minlength=nlab + 1) < MIN_SPECK
        small[0] = False
        static &= ~small[lab]
    static |= dilate(static, square=True) & box
    out = np.zeros_like(region)
    out[y0:y1, x0:x1] = static
    return out


class _Pairs:
    """The comparisons of each frame with its partners at the same scene point, on the parts
    of ``box`` (bool (y1 - y0, x1 - x0), the region on its bounding box ``bounds`` = (y0,
    y1, x0, x1); :func:`_parts`): only its pixels are decided, and each pixel's counts are
    its own, so the box between a logo and a subtitle is not computed.

    Per pair ``(k, j)`` and part: where frame j's crop covers the scene point of frame k's
    pixel and where the two differ by more than ``thr`` (:func:`overmix.warp.
    sample_bilinear` of the crop over the whole box, its taps and float32 sums, on the
    part) do not depend on what is clear: they are kept between the rounds of
    :func:`refine_static`, one byte a pixel, for as many as :data:`MEMO_BYTES` holds (the
    others are made again each round).
    """

    def __init__(self, crops: list[tuple[int, int, np.ndarray] | None],
                 partners: list[list[int]], xy: np.ndarray, bounds: tuple[int, int, int, int],
                 box: np.ndarray, thr: float) -> None:
        y0, y1, x0, x1 = bounds
        self.bounds, self.crops, self.thr = bounds, crops, thr
        self.shape = (y1 - y0, x1 - x0)
        self.parts = _parts(box)
        self.pairs = [(k, j, xy[k, 1] - xy[j, 1], xy[k, 0] - xy[j, 0])
                      for k, js in enumerate(partners) if crops[k] is not None
                      for j in js if crops[j] is not None]
        # the clear image is read through tap codes on a window holding every pair's taps
        self.taps = [bilinear_taps(y0 + dy, x0 + dx) for _, _, dy, dx in self.pairs]
        bh, bw = self.shape
        self.r0 = min((t[0] for t in self.taps), default=0)
        self.c0 = min((t[1] for t in self.taps), default=0)
        self.win = (max((t[0] for t in self.taps), default=0) + bh + 2 - self.r0,
                    max((t[1] for t in self.taps), default=0) + bw + 2 - self.c0)
        self.memo: dict[tuple[int, int], np.ndarray] = {}
        self.room = MEMO_BYTES

    def _views(self, p: int, q: int) -> np.ndarray:
        """uint8 on part ``q``: 0 where pair ``p``'s partner crop does not cover the scene
        point (coverage under 0.99), 1 where it does and the two agree, 3 where they
        differ."""
        got = self.memo.get((p, q))
        if got is not None:
            return got
        k, j, dy, dx = self.pairs[p]
        ck, cj = self.crops[k], self.crops[j]
        assert ck is not None and cj is not None
        y0, _, x0, _ = self.bounds
        a, b, c, d = self.parts[q]
        v = ck[2][y0 + a - ck[0]:y0 + b - ck[0], x0 + c - ck[1]:x0 + d - ck[1]]
        iy, ix, taps = bilinear_taps(y0 + dy - cj[0], x0 + dx - cj[1])
        val, cov = sample_taps(cj[2], None, iy + a, ix + c, b - a, d - c, taps)
        got = np.where(cov >= 0.99, np.where(np.abs(v - val) > self.thr, np.uint8(3),
                                             np.uint8(1)), np.uint8(0))
        if got.nbytes <= self.room:
            self.memo[(p, q)] = got
            self.room -= got.nbytes
        return got

    def count(self, clear: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per pixel of the box: of the comparisons where the partner's pixel is ``clear``
        (bool (h, w), frame coordinates), how many differ and how many there are (float32
        (y1 - y0, x1 - x0) each, 0 off the parts)."""
        hits = np.zeros(self.shape, np.float32)
        seen = np.zeros(self.shape, np.float32)
        codes = _tap_codes(clear, self.r0, self.c0, *self.win)
        for q, (a, b, c, d) in enumerate(self.parts):
            ph, pw = b - a, d - c
            h_q, s_q = hits[a:b, c:d], seen[a:b, c:d]
            code = np.empty((ph, pw), np.uint8)
            for p, (iy, ix, taps) in enumerate(self.taps):
                code[...] = 0
                for t, (ty, tx, _) in enumerate(taps):
                    r, cc = iy + ty - self.r0 + a, ix + tx - self.c0 + c
                    code |= codes[r:r + ph, cc:cc + pw] << np.uint8(2 * t)
                # the partner sees background there: its clear samples weigh at least 0.99
                # of the bilinear taps in the frame (sample_bilinear of clear >= 0.99)
                views = self._views(p, q)
                ok = np.take(_clear_table(tuple(taps)), code) & (views != 0)
                h_q += ok & (views == 3)
                s_q += ok
        return hits, seen


def _parts(box: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Rectangles ``(r0, r1, c0, c1)`` of ``box`` (bool (h, w)) covering its pixels without
    overlapping: its bands of rows with pixels, each cut where :data:`PART_GAP` columns or
    more have none (a logo, a subtitle line, a credit column); one rectangle a band when
    that makes more than :data:`MAX_PARTS`, the whole box when the bands do."""
    h, w = box.shape
    rows = box.any(axis=1)
    bands = _runs(rows, 1)
    if len(bands) > MAX_PARTS:
        return [(0, h, 0, w)]
    cut = [(r0, r1, c0, c1) for r0, r1 in bands for c0, c1 in _runs(box[r0:r1].any(axis=0),
                                                                      PART_GAP)]
    if len(cut) <= MAX_PARTS:
        return cut
    out = []
    for r0, r1 in bands:
        cols = np.flatnonzero(box[r0:r1].any(axis=0))
        out.append((r0, r1, int(cols[0]), int(cols[-1]) + 1))
    return out


def _runs(on: np.ndarray, gap: int) -> list[tuple[int, int]]:
    """``[start, stop)`` of the runs of ``on`` (bool (n,)), runs less than ``gap`` apart
    joined."""
    idx = np.flatnonzero(on)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > gap)
    starts = np.concatenate(([idx[0]], idx[breaks + 1]))
    stops = np.concatenate((idx[breaks], [idx[-1]])) + 1
    return [(int(a), int(b)) for a, b in zip(starts, stops, strict=True)]


def _tap_codes(clear: np.ndarray, r0: int, c0: int, h: int, w: int) -> np.ndarray:
    """uint8 (h, w): per sample ``(r0 + i, c0 + j)`` of the frame ``clear`` (bool (H, W))
    is, 0 outside it, 1 in it and not clear, 3 clear."""
    out = np.zeros((h, w), np.uint8)
    H, W = clear.shape
    rs, cs = max(r0, 0), max(c0, 0)
    re, ce = min(r0 + h, H), min(c0 + w, W)
    if re > rs and ce > cs:
        part = clear[rs:re, cs:ce]
        out[rs - r0:re - r0, cs - c0:ce - c0] = np.where(part, np.uint8(3), np.uint8(1))
    return out


@functools.lru_cache(maxsize=1024)
def _clear_table(taps: tuple[tuple[int, int, np.float32], ...]) -> np.ndarray:
    """bool (256,): for each code (tap t's :func:`_tap_codes` value at bits 2t, 2t + 1),
    whether :func:`overmix.warp.sample_bilinear` of the 0/1 clear image with these taps is
    at least 0.99: the same float32 sums, in the same order, as its own (the coverage of the
    taps in the frame divides the clear ones' sum; none: 0)."""
    codes = np.arange(256)
    acc = np.zeros(256, np.float32)
    cov = np.zeros(256, np.float32)
    for t, (_, _, b) in enumerate(taps):
        c = (codes >> (2 * t)) & 3
        inside = (c & 1).astype(np.float32)
        acc += b * (((c >> 1) & 1).astype(np.float32) * inside)
        cov += b * inside
    val = np.divide(acc, cov, out=np.zeros_like(acc), where=cov > 1e-6)
    return val >= 0.99

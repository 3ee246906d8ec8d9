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

from collections.abc import Callable

import numpy as np

from overmix.morph import dilate
from overmix.travel import travel_partners
from overmix.warp import sample_bilinear

__all__ = ["refine_static"]

SHARE = 0.5  # frames in which a pixel differs from the scene: a static overlay pixel
MIN_SPECK = 4  # static pixels connected to fewer than this many others are chance
MIN_SEEN = 3  # comparisons with a clean view a pixel needs to be told from the overlay
TRAVELS = (1, 2, 4, 8)  # multiples of the travel at which partners are taken
# decisions that free views for the next, until none changes: a box around a logo is decided
# from its outside in, a partner's travel per round (4 rounds left a 640x360 logo's box half
# undecided, all of it left out)
ROUNDS = 32
# the comparisons' clear-independent halves kept between rounds: bounded, not per frame
MEMO_BYTES = 64 << 20


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
    memo: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
    for _ in range(ROUNDS):
        # a partner's view counts where it falls outside what is (or may be) the overlay
        blocked = np.zeros_like(region)
        blocked[y0:y1, x0:x1] = static | undecided
        hits, seen = _compare(crops, partners, xy, (y0, y1, x0, x1), ~blocked, thr, memo)
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


def _compare(crops: list[tuple[int, int, np.ndarray] | None], partners: list[list[int]],
             xy: np.ndarray, bounds: tuple[int, int, int, int], clear: np.ndarray,
             thr: float, memo: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] | None = None
             ) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel of the box ``bounds`` = (y0, y1, x0, x1): of the comparisons of each frame
    with its partners at the same scene point where the partner's pixel is ``clear`` (bool
    (h, w), frame coordinates), how many differ by more than ``thr`` and how many there are
    (float32 (y1 - y0, x1 - x0) each).

    ``memo`` keeps, per pair ``(k, j)``, where the partner's crop covers the place and where
    the two differ (bool (y1 - y0, x1 - x0) each): they do not depend on ``clear``, so the
    rounds of :func:`refine_static` compute them once (up to :data:`MEMO_BYTES`)."""
    y0, y1, x0, x1 = bounds
    bh, bw = y1 - y0, x1 - x0
    outside = clear.astype(np.float32)
    hits = np.zeros((bh, bw), np.float32)
    seen = np.zeros((bh, bw), np.float32)
    for k, js in enumerate(partners):
        ck = crops[k]
        if ck is None:
            continue
        v = ck[2][y0 - ck[0]:y1 - ck[0], x0 - ck[1]:x1 - ck[1]]
        for j in js:
            cj = crops[j]
            if cj is None:
                continue
            dy, dx = xy[k, 1] - xy[j, 1], xy[k, 0] - xy[j, 0]
            got = None if memo is None else memo.get((k, j))
            if got is None:
                val, cov = sample_bilinear(cj[2], None, y0 + dy - cj[0], x0 + dx - cj[1], bh,
                                           bw)
                got = (cov >= 0.99, np.abs(v - val) > thr)
                if memo is not None and (len(memo) + 1) * 2 * bh * bw <= MEMO_BYTES:
                    memo[(k, j)] = got
            ok, _ = sample_bilinear(outside, None, y0 + dy, x0 + dx, bh, bw)
            ok = got[0] & (ok >= 0.99)  # the partner sees background there
            hits += ok & got[1]
            seen += ok
    return hits, seen

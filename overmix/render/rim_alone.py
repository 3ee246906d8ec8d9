"""Which frame shows a place that no frame sees clean, beside a moving thing (issue #12).

Where every frame covering a canvas place leaves it out, the clean still shows one frame
there, sharp (:data:`overmix.render.consensus.ALONE`): the consensus picks the frame nearest
in time to the middle of the clip, at its reduced resolution. Beside a character that moves
slowly against the pan, the places it has just left (or is about to cover) are seen clean
by a few frames near the clip's ends only, each a pixel or two from the character's outline;
a moving-foreground mask a few pixels too wide there (the odd-one-out test is blind to
background right beside an outline, and the clip's end frames carry a neighbour's mask)
leaves the place to the middle frame, which shows the character itself.

Here, at full resolution, such a place goes to the frame whose moving-foreground mask is
*thinnest* there: its nearest usable sample lies within :data:`RIM` px. A mask's last pixels
are where it is most likely wrong (too wide), and its depth is where it is sure; a place deep
inside every frame's mask (never seen) keeps the consensus's choice. Ties go to the frame
farthest from the middle: the middle frames' masks are tight where their pairs flag the
outline itself, the end frames' a pixel wide (one-sided or carried), so at equal depth the
middle frame shows the thing and the end frame the place it left. 720p sprite, 40 frames,
8-bit: the "few" pixels no frame was used at held 73 % of that region's squared error
(see ``docs/architecture.md`` for the figures).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = ["RIM", "RimOwners", "rim_owners"]

RIM = 4  # px (full resolution): how deep inside its own mask a frame may still show a place


@dataclass
class RimOwners:
    """Per place of a canvas covering every frame (full resolution; ``owner``, int: the row
    that shows it alone, -1 for none; ``seen``, bool: some frame sees it clean); ``org`` per
    row the (row, col) of its pixel (0, 0) on that canvas; ``shape`` the frames' (h, w)."""

    owner: np.ndarray
    seen: np.ndarray
    org: list[tuple[int, int]]
    shape: tuple[int, int]

    def _view(self, n: int, a: np.ndarray | None = None) -> np.ndarray:
        (y, x), (h, w) = self.org[n], self.shape
        return (self.owner if a is None else a)[y:y + h, x:x + w]

    def clean(self, n: int) -> np.ndarray:
        """Row ``n``'s samples at places some frame sees clean (bool (h, w)): no frame is
        shown alone there (the consensus decided on reduced samples, a pixel or two of which
        a frame may see clean)."""
        return self._view(n, self.seen)

    def mask(self, n: int) -> np.ndarray | None:
        """Row ``n``'s samples it shows alone (bool (h, w), frame coordinates) or None."""
        hit = self._view(n) == n
        return hit if hit.any() else None

    def taken(self, n: int) -> np.ndarray | None:
        """Row ``n``'s samples at places some frame shows alone here (bool (h, w)) or None:
        the consensus's choice gives way there."""
        hit = self._view(n) >= 0
        return hit if hit.any() else None


def rim_owners(outliers: Callable[[int], np.ndarray | None],
               moving: Callable[[int], np.ndarray | None], xy: np.ndarray,
               shape: tuple[int, int], *, rim: int = RIM) -> RimOwners:
    """The frame each unseen place beside a moving thing goes to (see the module docstring).

    Parameters
    ----------
    outliers : callable ``n -> ndarray bool (h, w) or None``
        Row ``n``'s left-out samples (None: none).
    moving : callable ``n -> ndarray bool (h, w) or None``
        Row ``n``'s moving-foreground samples (None: none).
    xy : ndarray (count, 2)
        Offsets (x, y) of the rows, full-resolution pixels (translations).
    shape : (h, w)
        Frame shape.
    rim : int
        Px: the deepest a frame's sample may lie inside its own mask to be shown.

    Returns
    -------
    RimOwners
    """
    xs = np.asarray(xy, np.float64).reshape(-1, 2)
    n = xs.shape[0]
    h, w = shape
    top = np.floor(xs.min(axis=0))
    org = [(int(round(xs[k, 1] - top[1])), int(round(xs[k, 0] - top[0]))) for k in range(n)]
    size = (max(o[0] for o in org) + h, max(o[1] for o in org) + w)  # covers every frame
    seen = np.zeros(size, bool)  # some frame sees the place clean
    depth = np.full(size, 255, np.uint8)  # the thinnest mask there (1/8 px; 255: none)
    owner = np.full(size, -1, np.int16 if n < 32767 else np.int32)
    # ties: the frame farthest from the middle (the places beside a slow thing are seen
    # clean by the frames at the clip's ends; the middle one shows the thing)
    for k in sorted(range(n), key=lambda j: -abs(2 * j - (n - 1))):
        y, x = org[k]
        out = outliers(k)
        if out is None:
            seen[y:y + h, x:x + w] = True
            continue
        seen[y:y + h, x:x + w] |= ~out
        mv = moving(k)
        if mv is None:
            continue
        mv = mv & out
        if not mv.any():
            continue
        rows, cols = np.flatnonzero(mv.any(axis=1)), np.flatnonzero(mv.any(axis=0))
        y0, y1 = max(int(rows[0]) - rim - 1, 0), min(int(rows[-1]) + rim + 2, h)
        x0, x1 = max(int(cols[0]) - rim - 1, 0), min(int(cols[-1]) + rim + 2, w)
        # distance to the frame's nearest usable sample (a moving sample within ``rim`` of
        # one has it in the box)
        box = out[y0:y1, x0:x1]
        if box.all():  # no usable sample within reach
            continue
        d = _near_distance(box, rim)
        near = mv[y0:y1, x0:x1] & (d <= rim)
        dv = depth[y + y0:y + y1, x + x0:x + x1]
        ov = owner[y + y0:y + y1, x + x0:x + x1]
        d8 = np.minimum(np.rint(d * 8), 254).astype(np.uint8)  # in 1/8 px
        better = near & (d8 < dv)
        dv[better] = d8[better]
        ov[better] = k
    owner[seen] = -1
    return RimOwners(owner, seen, org, (h, w))


def _near_distance(box: np.ndarray, rim: int) -> np.ndarray:
    """Euclidean distance (float64 (h, w), px) from each sample of ``box`` (bool (h, w),
    True: left out) to the nearest usable one, where that is at most ``rim``; inf beyond
    (``scipy.ndimage.distance_transform_edt``'s values up to ``rim``, which is all the rim
    owners read): the offsets within ``rim``, nearest first, as shifted bool masks."""
    h, w = box.shape
    usable = ~box
    best = np.full((h, w), np.inf)
    found = np.zeros((h, w), bool)
    rings: dict[int, list[tuple[int, int]]] = {}
    for dy in range(-min(rim, h - 1), min(rim, h - 1) + 1):
        for dx in range(-min(rim, w - 1), min(rim, w - 1) + 1):
            if dy * dy + dx * dx <= rim * rim:
                rings.setdefault(dy * dy + dx * dx, []).append((dy, dx))
    for sq in sorted(rings):
        hit = np.zeros((h, w), bool)
        for dy, dx in rings[sq]:
            # samples whose neighbour at (dy, dx) is usable
            hit[max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)] |= \
                usable[max(dy, 0):h - max(-dy, 0), max(dx, 0):w - max(-dx, 0)]
        hit &= ~found
        best[hit] = float(sq)
        found |= hit
    return np.sqrt(best)

"""Frame pairs chosen by camera travel, not by frame count (issue #12).

Whether a pixel keeps its place on screen (a logo, a subtitle) or moves with the scene
(background) can only be told between two frames whose camera positions differ by more than
the scale the test looks at: on a slow pan the neighbouring frame has hardly moved, on a fast
one it has moved plenty. So tests that compare frame ``k`` with "another frame" pick that
frame by the offsets: the nearest one, forward or back in time, whose offset differs from
``k``'s by at least a given travel (px of the offsets, or whatever unit ``xy`` is in).

An edge that lies along the pan (a subtitle box's top edge, a logo's bar, a horizon under a
horizontal pan) slides along itself: only the travel *across* it tells, so
:func:`travel_partners` gives, per direction in time, the nearest frame that moved that far
along each axis, not just the nearest that moved that far along any.

Conventions: ``xy`` is ``(n, 2)`` float, column 0 = x, column 1 = y (:mod:`overmix.geometry`);
rows are frames in time order.
"""

from __future__ import annotations

import numpy as np

__all__ = ["travel_partner", "travel_partners"]


def travel_partner(xy: np.ndarray, k: int, step: int, min_travel: float, *,
                   axis: int | None = None, reach: int | None = None) -> int | None:
    """The nearest row after (``step`` +1) or before (-1) row ``k`` whose offset differs from
    row ``k``'s by at least ``min_travel``: along ``axis`` (0: x, 1: y) or, with ``axis``
    None, along either (the larger of ``|dx|``, ``|dy|``). Only rows within ``reach`` of
    ``k`` are looked at (None: all). None when no such row exists."""
    xy = np.asarray(xy, np.float64).reshape(-1, 2)
    n = len(xy)
    last = n - 1 if step > 0 else 0
    if reach is not None:
        last = min(last, k + reach) if step > 0 else max(last, k - reach)
    if (last - k) * step <= 0:
        return None
    rows = np.arange(k + step, last + step, step)
    d = np.abs(xy[rows] - xy[k])
    moved = d.max(axis=1) if axis is None else d[:, axis]
    hit = np.flatnonzero(moved >= min_travel)
    return int(rows[hit[0]]) if hit.size else None


def travel_partners(xy: np.ndarray, k: int, min_travel: float, *,
                    reach: int | None = None) -> list[int]:
    """The distinct rows :func:`travel_partner` gives for row ``k`` in both directions in
    time and along each axis (at most four, nearest in time first): the nearest frames that
    moved ``min_travel`` across an edge of either orientation. Empty when the camera never
    travels that far from ``k``."""
    got = {travel_partner(xy, k, step, min_travel, axis=axis, reach=reach)
           for step in (-1, 1) for axis in (0, 1)}
    return sorted((j for j in got if j is not None), key=lambda j: (abs(j - k), j))

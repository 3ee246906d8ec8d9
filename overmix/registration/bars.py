"""Letterbox and pillarbox bars: found on a frame, turned into an ignore mask.

Their static edges would otherwise pull the offsets towards "no motion".
"""

from __future__ import annotations

import numpy as np

__all__ = ["bars_mask", "detect_bars"]

# A bar's mean Y' below this is black whatever is beside it (video black is 0; codec noise
# and ringing stay well below 0.03, about 7 levels of 8-bit video)
BLACK = 0.03
# ... otherwise it must be at most this fraction of the mean of the BESIDE rows (columns)
# next to it
STEP = 0.5
BESIDE = 8


def detect_bars(y: np.ndarray, *, dark: float = 0.1, flat: float = 0.01,
                max_frac: float = 0.3, black: float = BLACK,
                step: float = STEP) -> tuple[int, int, int, int]:
    """Widths (top, bottom, left, right) of letterbox/pillarbox bars: runs of edge rows or
    columns that are flat (standard deviation < ``flat``) and dark (mean < ``dark``), each at
    most ``max_frac`` of the frame (a darker run is a dark scene, not a bar). Bars narrower
    than 2 px are ignored. A bar is black (mean below ``black``) or clearly darker than the
    picture beside it (its mean at most ``step`` x that of the next :data:`BESIDE` rows or
    columns): the top of a dark sky early in a fade-in is flat and dark too, but it goes on
    into the picture without a step."""
    y = np.asarray(y, dtype=np.float32)
    h, w = y.shape

    def run(flags: np.ndarray, means: np.ndarray, limit: int) -> int:
        n = int(np.argmin(flags)) if not flags.all() else len(flags)
        if not 2 <= n <= limit:
            return 0
        bar = float(means[:n].mean())
        beside = float(means[n:n + BESIDE].mean())
        return n if bar < black or bar <= step * beside else 0

    rm, cm = y.mean(axis=1), y.mean(axis=0)
    rows = (y.std(axis=1) < flat) & (rm < dark)
    cols = (y.std(axis=0) < flat) & (cm < dark)
    return (run(rows, rm, int(max_frac * h)), run(rows[::-1], rm[::-1], int(max_frac * h)),
            run(cols, cm, int(max_frac * w)), run(cols[::-1], cm[::-1], int(max_frac * w)))


def bars_mask(shape: tuple[int, int], bars: tuple[int, int, int, int],
              margin: int = 2) -> np.ndarray:
    """Ignore mask of the bars plus ``margin`` pixels (the blended bar edge)."""
    h, w = shape
    m = np.zeros(shape, bool)
    top, bottom, left, right = bars
    if top:
        m[: top + margin] = True
    if bottom:
        m[h - bottom - margin:] = True
    if left:
        m[:, : left + margin] = True
    if right:
        m[:, w - right - margin:] = True
    return m

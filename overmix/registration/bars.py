"""Letterbox and pillarbox bars: found on a frame, turned into an ignore mask.

Their static edges would otherwise pull the offsets towards "no motion".
"""

from __future__ import annotations

import numpy as np

__all__ = ["bars_mask", "detect_bars"]


def detect_bars(y: np.ndarray, *, dark: float = 0.1, flat: float = 0.01,
                max_frac: float = 0.3) -> tuple[int, int, int, int]:
    """Widths (top, bottom, left, right) of letterbox/pillarbox bars: runs of edge rows or
    columns that are flat (standard deviation < ``flat``) and dark (mean < ``dark``), each at
    most ``max_frac`` of the frame (a darker run is a dark scene, not a bar). Bars narrower
    than 2 px are ignored."""
    y = np.asarray(y, dtype=np.float32)
    h, w = y.shape

    def run(flags: np.ndarray, limit: int) -> int:
        n = int(np.argmin(flags)) if not flags.all() else len(flags)
        return n if 2 <= n <= limit else 0

    rows = (y.std(axis=1) < flat) & (y.mean(axis=1) < dark)
    cols = (y.std(axis=0) < flat) & (y.mean(axis=0) < dark)
    return (run(rows, int(max_frac * h)), run(rows[::-1], int(max_frac * h)),
            run(cols, int(max_frac * w)), run(cols[::-1], int(max_frac * w)))


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

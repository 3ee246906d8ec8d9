"""Dirty frame edges (issue #12): lines of black, grey or garbage at a frame's border.

Real footage often carries a few lines at the frame border that are not picture: black or
half-dark columns left by the capture, a grey line, a strip of noise that changes every
frame. A stitch averages each such line into the canvas all along the camera's path. They are
too thin for the consensus's reduced frames (one reduced sample spans 2-4 of them), and a
strip of fresh noise is not screen-fixed either, so neither of those finds them.

A border line is dirty when it disagrees with what other frames show at the same place: for
each of a few frames spread over the clip, every line within ``depth`` of each border is
compared with up to two other frames that see that place (bilinear at the frame offsets,
preferring frames that see it at least ``2 depth`` inside their own border, so their own
dirty lines are not the comparison); the line's statistic is the median absolute difference
along it (the drawing's edges and a character crossing it are a minority of its samples),
the smaller over those frames. A line whose statistic exceeds ``RATIO`` x that of the
frame's interior lines (``depth .. 2 depth`` from the border) plus ``MARGIN`` is flagged,
and a line flagged in at least ``SHARE`` of the frames where it was measured is dirty in
every frame (the dirt of a clip is the capture's: the same lines throughout, its content may
change). ``FIRST`` of those frames are examined first: when none of them has a flagged line,
the clip is taken as clean. Each side's dirty depth runs from the border to its deepest dirty
line.

Pure functions over numpy arrays; a frame is opened through ``frames(k)``, a reader of
working Y' rectangles, so only the few rectangles compared are ever converted.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

__all__ = ["SIDES", "dirty_edges", "edge_depth", "edge_mask"]

SIDES = ("left", "right", "top", "bottom")
RATIO = 3.0  # x the interior lines' median difference ...
MARGIN = 0.01  # ... plus this (working Y'): codec noise at 8 bits stays below it
SHARE = 1 / 3  # of the measured frames in which a line must be flagged
SAMPLES = 12  # frames examined, spread over the clip ...
FIRST = 4  # ... after these of them show some dirty line
NEIGHBOURS = 2  # frames each is compared with, per side
MIN_COVER = 0.5  # share of a line a neighbour must see for its statistic to count

Rect = Callable[[slice, slice], np.ndarray]
Frames = Callable[[int], Rect]


def edge_depth(h: int, w: int) -> int:
    """Lines examined per border (px): 1/40 of the frame's smaller side, at least 4 (9 at
    640x360, 18 at 1280x720)."""
    return max(4, math.ceil(min(h, w) / 40))


def _band(side: str, h: int, w: int, n: int) -> tuple[slice, slice]:
    """The ``n`` lines at ``side`` of an (h, w) frame as (rows, cols)."""
    if side == "left":
        return slice(0, h), slice(0, n)
    if side == "right":
        return slice(0, h), slice(w - n, w)
    if side == "top":
        return slice(0, n), slice(0, w)
    return slice(h - n, h), slice(0, w)


def _line_stats(mine: Rect, other: Rect, rows: slice, cols: slice, dy: float, dx: float,
                h: int, w: int, side: str) -> np.ndarray:
    """Median |frame - other| along each line of the band (rows, cols), the other frame
    bilinear at the band displaced by (dy, dx) (the frame's pixel (i, j) is the other's
    (i + dy, j + dx)); ordered from the border inward, NaN where the other frame sees under
    :data:`MIN_COVER` of the line. The displacement is one for the whole band, so the
    samples the other frame sees form one rectangle."""
    i0, fy = math.floor(dy), dy - math.floor(dy)
    j0, fx = math.floor(dx), dx - math.floor(dx)
    nr, nc = rows.stop - rows.start, cols.stop - cols.start
    # band rows/cols whose two bilinear taps lie inside the other frame
    r_a, r_b = max(0, -(rows.start + i0)), min(nr, h - 1 - (rows.start + i0))
    c_a, c_b = max(0, -(cols.start + j0)), min(nc, w - 1 - (cols.start + j0))
    lines = nc if side in ("left", "right") else nr
    out = np.full(lines, np.nan)
    if r_b - r_a < 1 or c_b - c_a < 1:
        return out
    sr, sc = rows.start + i0 + r_a, cols.start + j0 + c_a
    src = other(slice(sr, sr + (r_b - r_a) + 1), slice(sc, sc + (c_b - c_a) + 1))
    v = ((1 - fy) * (1 - fx) * src[:-1, :-1] + (1 - fy) * fx * src[:-1, 1:]
         + fy * (1 - fx) * src[1:, :-1] + fy * fx * src[1:, 1:])
    d = np.abs(mine(slice(rows.start + r_a, rows.start + r_b),
                    slice(cols.start + c_a, cols.start + c_b)) - v)
    # every other sample along a line: the median of hundreds is as good, at half the cost
    if side in ("left", "right"):
        if r_b - r_a >= MIN_COVER * nr:
            out[c_a:c_b] = np.median(d[::2], axis=0)
    elif c_b - c_a >= MIN_COVER * nc:
        out[r_a:r_b] = np.median(d[:, ::2], axis=1)
    return out[::-1] if side in ("right", "bottom") else out


def _neighbours(k: int, side: str, xy: np.ndarray, h: int, w: int, depth: int) -> list[int]:
    """Up to :data:`NEIGHBOURS` frames that see most of frame k's ``side`` band: first those
    that see it at least ``2 depth`` inside their own border, nearest in time first."""
    n = len(xy)
    axis = 0 if side in ("left", "right") else 1  # offsets column along the side's normal
    size = w if axis == 0 else h
    along = h if axis == 0 else w
    good, rest = [], []
    for m in (k + s * d for d in range(1, n) for s in (-1, 1)):
        if not 0 <= m < n:
            continue
        d = xy[k] - xy[m]  # frame k's pixel (i, j) is frame m's (i + d[1], j + d[0])
        dn, da = float(d[axis]), float(d[1 - axis])
        # the band's lines in m's coordinates along the normal, and their cover along it
        lo = dn if side in ("left", "top") else size - 2 * depth + dn
        hi = lo + 2 * depth
        if lo < 0 or hi > size - 1 or abs(da) > (1 - MIN_COVER) * along:
            continue
        inner = min(lo, size - 1 - hi)
        (good if inner >= 2 * depth else rest).append(m)
        if len(good) >= NEIGHBOURS:
            break
    return (good + rest)[:NEIGHBOURS]


def _frame_flags(frames: Frames, k: int, xy: np.ndarray, h: int, w: int,
                 depth: int) -> dict[str, np.ndarray]:
    """Per side, ``depth`` flags (1.0 dirty, 0.0 clean, NaN not measured) of frame k's
    border lines, border first."""
    opened: dict[int, Rect] = {}

    def frame(m: int) -> Rect:
        if m not in opened:
            opened[m] = frames(m)
        return opened[m]

    out: dict[str, np.ndarray] = {}
    for side in SIDES:
        rows, cols = _band(side, h, w, 2 * depth)
        best = np.full(2 * depth, np.nan)
        for m in _neighbours(k, side, xy, h, w, depth):
            d = xy[k] - xy[m]
            s = _line_stats(frame(k), frame(m), rows, cols, float(d[1]), float(d[0]), h, w,
                            side)
            best = np.fmin(best, s)
        ref = best[depth:]
        flags = np.full(depth, np.nan)
        if np.isfinite(ref).sum() >= max(2, depth // 2):
            level = float(np.nanmedian(ref))
            cand = best[:depth]
            seen = np.isfinite(cand)
            flags[seen] = (cand[seen] > RATIO * level + MARGIN).astype(np.float64)
        out[side] = flags
    return out


def dirty_edges(frames: Frames, count: int, xy: np.ndarray, shape: tuple[int, int], *,
                depth: int | None = None) -> dict[str, int]:
    """The dirty lines at each border of the clip's frames (see the module docstring).

    Parameters
    ----------
    frames : callable ``k -> ((rows, cols) -> float32 (len(rows), len(cols)))``
        Offsets row k opened for reading: working Y' of a rectangle of it (lighting undone
        where it was estimated). Each frame examined is opened once with its neighbours.
    count : int
        Number of rows.
    xy : ndarray (count, 2)
        Offsets (px, ``frame_k(i, j) = frame_0(i + y_k, j + x_k)``).
    shape : (h, w)
        Frame shape.
    depth : int or None
        Lines examined per border (default :func:`edge_depth`).

    Returns
    -------
    dict
        ``{"left", "right", "top", "bottom"} -> int``: lines from that border to exclude in
        every frame (0: clean).
    """
    h, w = shape
    depth = edge_depth(h, w) if depth is None else depth
    xy = np.asarray(xy, np.float64).reshape(-1, 2)
    zero = dict.fromkeys(SIDES, 0)
    if count < 2 or h < 4 * depth or w < 4 * depth:
        return zero
    picks = np.unique(np.round(np.linspace(0, count - 1, min(count, SAMPLES))).astype(int))
    # a few frames first: a clip whose borders are picture stops there
    first = picks[np.unique(np.round(np.linspace(0, len(picks) - 1, min(len(picks), FIRST)))
                            .astype(int))]
    flags = [_frame_flags(frames, int(k), xy, h, w, depth) for k in first]
    if not any(np.nansum(f[side]) > 0 for f in flags for side in SIDES):
        return zero
    flags += [_frame_flags(frames, int(k), xy, h, w, depth) for k in picks if k not in first]
    out = dict(zero)
    for side in SIDES:
        f = np.stack([fl[side] for fl in flags])  # (frames, depth)
        measured = np.isfinite(f).sum(axis=0)
        hits = np.nansum(f, axis=0)
        dirty = (measured >= 2) & (hits >= SHARE * np.maximum(measured, 1))
        if dirty.any():
            out[side] = int(np.flatnonzero(dirty)[-1]) + 1
    return out


def edge_mask(edges: dict[str, int], shape: tuple[int, int]) -> np.ndarray | None:
    """The dirty border lines as a bool (h, w) frame mask, or None when there are none."""
    if not any(edges.values()):
        return None
    h, w = shape
    left, right, top, bottom = (int(edges.get(s, 0)) for s in SIDES)
    m = np.zeros(shape, bool)
    m[:, :left] = True
    m[:, w - right:] = right > 0
    m[:top] = True
    m[h - bottom:] = m[h - bottom:] | (bottom > 0)
    return m

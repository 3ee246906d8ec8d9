"""Cell means for :mod:`overmix.render.lighting`: each frame integrated over one grid of canvas
cells with quadratic B-spline windows evaluated at its own sample positions, and the cells
that touch an ignore mask (summed-area tables).
"""

from __future__ import annotations

import math

import numpy as np

from overmix.geometry import Canvas


def _window_sums(f: np.ndarray, q0: float, step: float, axis: int) -> tuple[np.ndarray, int]:
    """Sums of a plane's samples under quadratic B-spline windows along ``axis``.

    Sample i sits at cell coordinate ``q = q0 + i * step``; window c is the centred quadratic
    B-spline ``B(q - c)`` (support 3 cells: ``3/4 - d^2`` for ``|d| <= 1/2``,
    ``(3/2 - |d|)^2 / 2`` to ``|d| = 3/2``). The windows are a partition of unity, and when
    ``1 / step`` is an integer each window's weights sum to exactly ``1 / step`` whatever the
    phase (its
    spectrum, ``sinc^3``, vanishes at every multiple of the sampling rate and falls fast near
    them, so content near the sampling rate hardly leaks in). Returns ``(sums, c0)``: sums
    for windows ``c0, c0 + 1, ...`` (float64), every window the samples reach.
    """
    size = f.shape[axis]
    q = q0 + np.arange(size, dtype=np.float64) * step
    j0 = np.floor(q + 0.5).astype(np.int64)
    d = q - j0
    shape = [1, 1]
    shape[axis] = size
    d = d.reshape(shape)
    starts = np.flatnonzero(np.diff(j0, prepend=j0[0] - 1))
    c0 = int(j0[0]) - 1
    ncell = int(j0[-1]) - c0 + 2
    # the three weights are quadratics in d: three sums (of f, f d, f d^2) give all windows
    fd = f * d.astype(f.dtype)
    r0, r1 = np.add.reduceat(f, starts, axis=axis), np.add.reduceat(fd, starts, axis=axis)
    fd *= d.astype(f.dtype)
    r2 = np.add.reduceat(fd, starts, axis=axis)
    del fd
    r0, r1, r2 = (np.asarray(r, np.float64) for r in (r0, r1, r2))
    parts = [0.125 * r0 - 0.5 * r1 + 0.5 * r2, 0.75 * r0 - r2, 0.125 * r0 + 0.5 * r1 + 0.5 * r2]
    out_shape = list(f.shape)
    out_shape[axis] = ncell
    out = np.zeros(out_shape)
    groups = j0[starts] - c0
    for shift, part in enumerate(parts):  # windows j0 - 1, j0, j0 + 1
        if axis == 1:
            out[:, groups - 1 + shift] += part
        else:
            out[groups - 1 + shift] += part
    return out, c0


def cell_means(luma: np.ndarray, x: float, y: float, canvas: Canvas, cell: int,
               margin: float = 1.0, reduce: int | None = None) -> tuple[np.ndarray, int, int]:
    """Window means of one frame over the canvas cells whose window it covers.

    Cell (r, c) is the separable quadratic B-spline window (3 cells wide, see
    :func:`_window_sums`) centred on canvas pixel ``((r + 0.5) cell - 0.5, (c + 0.5) cell -
    0.5)`` (a cell of the ``cell``-px grid fixed to the canvas). Its weights are evaluated at
    the frame's own sample positions: with a smooth window the weighted sum of samples equals
    the integral of the scene under the window up to terms from content near the sampling rate
    (the window's spectrum vanishes at every multiple of the sampling rate), so frames at any
    sub-pixel phase see the same low-pass of the same scene region.

    Parameters
    ----------
    luma : ndarray (h, w) float32
        The frame's working Y'.
    x, y : float
        The frame's offset (frame-0 luma px).
    canvas : Canvas
        The grid's origin (canvas pixel (i, j) is at frame-0 ``(canvas.x + j, canvas.y + i)``).
    margin : float
        Frame-edge pixels a window may not reach (edges of decoded frames are unreliable).
    reduce : 1, 2, 4 or None
        r > 1: average r x r pixel blocks first and window those (an r-tap sum vanishes at
        every multiple of 1/r of the sampling rate, so the block means are the scene's samples
        at r px spacing without new aliasing), 1/r^2 of the work; needs ``cell`` divisible by
        r. None: the largest of 4, 2 with ``cell >= 8 r``, else 1.

    Returns
    -------
    (means (nr, nc) float64, r0, c0): cells ``r0..r0+nr-1``, ``c0..c0+nc-1`` of the grid;
    (0, 0) means when the frame holds no whole window.
    """
    if reduce is None:
        reduce = next((r for r in (4, 2) if cell >= 8 * r and cell % r == 0), 1)
    f = np.asarray(luma, np.float32)
    px = 1
    if reduce in (2, 4) and cell % reduce == 0:
        px = reduce
        hr, wr = f.shape[0] // px, f.shape[1] // px
        f = f[:px * hr, :px * wr]
        # strided slice sums (a reshape-sum over two axes is ~10x slower)
        rows = f[0::px].copy()
        for i in range(1, px):
            rows += f[i::px]
        f = rows[:, 0::px].copy()
        for j in range(1, px):
            f += rows[:, j::px]
        f *= np.float32(1.0 / (px * px))
    h, w = f.shape
    step = px / cell
    # cell coordinate of sample (0, 0) (at frame pixel ((px - 1) / 2, (px - 1) / 2)): its
    # canvas position minus the first centre
    off = (px - 1) / 2
    qx = (x + off - canvas.x - (cell - 1) / 2) / cell
    qy = (y + off - canvas.y - (cell - 1) / 2) / cell
    cols, cx0 = _window_sums(f, qx, step, axis=1)
    sums, cy0 = _window_sums(cols, qy, step, axis=0)
    # whole windows only: window c spans q in (c - 3/2, c + 3/2); the samples from the
    # margin on must reach both ends
    m = math.ceil(margin / px)
    c_lo = math.ceil(qx + m * step + 1.5 - 1e-9)
    c_hi = math.floor(qx + (w - 1 - m) * step - 1.5 + 1e-9)
    r_lo = math.ceil(qy + m * step + 1.5 - 1e-9)
    r_hi = math.floor(qy + (h - 1 - m) * step - 1.5 + 1e-9)
    if c_hi < c_lo or r_hi < r_lo:
        return np.zeros((0, 0)), r_lo, c_lo
    means = sums[r_lo - cy0:r_hi - cy0 + 1, c_lo - cx0:c_hi - cx0 + 1] * (step * step)
    return means, r_lo, c_lo


def _cell_hits(sat: np.ndarray, x: float, y: float, canvas: Canvas, cell: int,
               r0: int, c0: int, nr: int, nc: int) -> np.ndarray:
    """(nr, nc) bool: the window of each cell (see :func:`cell_means`) covers a set pixel of
    the mask whose summed-area table (h + 1, w + 1) is ``sat``."""
    h, w = sat.shape[0] - 1, sat.shape[1] - 1
    # window of cell c in frame coordinates: centre (c + 0.5) cell - 0.5 + canvas.x - x,
    # +- 1.5 cell
    cxs = (np.arange(c0, c0 + nc) + 0.5) * cell - 0.5 + canvas.x - x
    cys = (np.arange(r0, r0 + nr) + 0.5) * cell - 0.5 + canvas.y - y
    half = 1.5 * cell
    jx0 = np.clip(np.floor(cxs - half).astype(np.int64) + 1, 0, w)
    jx1 = np.clip(np.ceil(cxs + half).astype(np.int64), 0, w)
    iy0 = np.clip(np.floor(cys - half).astype(np.int64) + 1, 0, h)
    iy1 = np.clip(np.ceil(cys + half).astype(np.int64), 0, h)
    s = (sat[np.ix_(iy1, jx1)] - sat[np.ix_(iy0, jx1)] - sat[np.ix_(iy1, jx0)]
         + sat[np.ix_(iy0, jx0)])
    return s > 0


def _sat(mask: np.ndarray) -> np.ndarray:
    """Summed-area table (h + 1, w + 1) int64 of a bool mask."""
    h, w = mask.shape
    out = np.zeros((h + 1, w + 1), np.int64)
    np.cumsum(np.cumsum(mask, axis=0, dtype=np.int64), axis=1, out=out[1:, 1:])
    return out

"""Cell means for :mod:`overmix.render.lighting`: each frame integrated over one grid of canvas
cells with quadratic B-spline windows evaluated at its own sample positions, and the cells
that touch an ignore mask (summed-area tables).
"""

from __future__ import annotations

import math

import numpy as np

from overmix.geometry import Canvas


def _window_matrix(size: int, q0: float, step: float) -> tuple[np.ndarray, int]:
    """Weights of a plane's samples under quadratic B-spline windows along one axis.

    Sample i sits at cell coordinate ``q = q0 + i * step``; window c is the centred quadratic
    B-spline ``B(q - c)`` (support 3 cells: ``3/4 - d^2`` for ``|d| <= 1/2``,
    ``(3/2 - |d|)^2 / 2`` to ``|d| = 3/2``). The windows are a partition of unity, and when
    ``1 / step`` is an integer each window's weights sum to exactly ``1 / step`` whatever the
    phase (its spectrum, ``sinc^3``, vanishes at every multiple of the sampling rate and falls
    fast near them, so content near the sampling rate hardly leaks in). Returns
    ``(weights (size, ncell) float32, c0)``: columns for windows ``c0, c0 + 1, ...``, every
    window the samples reach (three non-zero weights per sample).
    """
    q = q0 + np.arange(size, dtype=np.float64) * step
    j0 = np.floor(q + 0.5).astype(np.int64)
    d = q - j0
    c0 = int(j0[0]) - 1
    ncell = int(j0[-1]) - c0 + 2
    out = np.zeros((size, ncell), np.float32)
    rows = np.arange(size)
    col = j0 - c0
    # windows j0 - 1, j0, j0 + 1
    out[rows, col - 1] = 0.5 * (0.5 - d) ** 2
    out[rows, col] = 0.75 - d * d
    out[rows, col + 1] = 0.5 * (0.5 + d) ** 2
    return out, c0


def cell_means(luma: np.ndarray, x: float, y: float, canvas: Canvas, cell: int,
               margin: float = 1.0) -> tuple[np.ndarray, int, int]:
    """Window means of one frame over the canvas cells whose window it covers.

    Cell (r, c) is the separable quadratic B-spline window (3 cells wide, see
    :func:`_window_matrix`) centred on canvas pixel ``((r + 0.5) cell - 0.5, (c + 0.5) cell -
    0.5)`` (a cell of the ``cell``-px grid fixed to the canvas). Its weights are evaluated at
    the frame's own sample positions: with a smooth window the weighted sum of samples equals
    the integral of the scene under the window up to terms from content near the sampling rate
    (the window's spectrum vanishes at every multiple of the sampling rate), so frames at any
    sub-pixel phase see the same low-pass of the same scene region. The sums are two matrix
    products with the (banded) weight matrices, ``Wy^T f Wx`` (one pass over the frame; see
    :func:`_banded_rows`).

    Parameters
    ----------
    luma : ndarray (h, w) float32, or integer codes
        The frame's working Y' (or any affine map of it: each window's weights sum to 1).
    x, y : float
        The frame's offset (frame-0 luma px).
    canvas : Canvas
        The grid's origin (canvas pixel (i, j) is at frame-0 ``(canvas.x + j, canvas.y + i)``).
    margin : float
        Frame-edge pixels a window may not reach (edges of decoded frames are unreliable).

    Returns
    -------
    (means (nr, nc) float64, r0, c0): cells ``r0..r0+nr-1``, ``c0..c0+nc-1`` of the grid;
    (0, 0) means when the frame holds no whole window.
    """
    f = np.asarray(luma, np.float32)
    h, w = f.shape
    step = 1.0 / cell
    # cell coordinate of sample (0, 0): its canvas position minus the first centre
    qx = (x - canvas.x - (cell - 1) / 2) / cell
    qy = (y - canvas.y - (cell - 1) / 2) / cell
    # whole windows only: window c spans q in (c - 3/2, c + 3/2); the samples from the
    # margin on must reach both ends
    m = math.ceil(margin)
    c_lo = math.ceil(qx + m * step + 1.5 - 1e-9)
    c_hi = math.floor(qx + (w - 1 - m) * step - 1.5 + 1e-9)
    r_lo = math.ceil(qy + m * step + 1.5 - 1e-9)
    r_hi = math.floor(qy + (h - 1 - m) * step - 1.5 + 1e-9)
    if c_hi < c_lo or r_hi < r_lo:
        return np.zeros((0, 0)), r_lo, c_lo
    wx, cx0 = _window_matrix(w, qx, step)
    wy, cy0 = _window_matrix(h, qy, step)
    wx = np.ascontiguousarray(wx[:, c_lo - cx0:c_hi - cx0 + 1].T, np.float64)
    wy = np.ascontiguousarray(wy[:, r_lo - cy0:r_hi - cy0 + 1].T)
    rows = _banded_rows(wy, f)  # (nr, w) float32
    # second pass in float64 (small): (Wx^T rows^T)^T, rows^T made C-ordered float64 in one
    # copy (the products read it so)
    means = _banded_rows(wx, np.ascontiguousarray(rows.T, np.float64)).T * (step * step)
    return means, r_lo, c_lo


def _banded_rows(wy: np.ndarray, f: np.ndarray) -> np.ndarray:
    """``wy @ f`` for a banded ``wy`` (nr, h) (row r non-zero on ~3 cells of rows) and ``f``
    (h, w) of the same float dtype: (nr, w), as small products over the band of each pair of
    rows.

    Small products on purpose: a threaded BLAS spreads one big product over every core and,
    on a busy machine, waits for them ~50x longer than the single-threaded product takes
    (OpenBLAS stays on one thread below m n k = 2^18); the band also skips the zeros.
    """
    nr, h = wy.shape
    f = np.ascontiguousarray(f, wy.dtype)
    w = f.shape[1]
    out = np.empty((nr, w), wy.dtype)
    nz = wy != 0
    # the band of each pair of rows: from the first row's first to the second row's last
    # non-zero (the band moves down with the row)
    first = np.argmax(nz, axis=1)[0::2].tolist()
    last = (h - np.argmax(nz[:, ::-1], axis=1))[np.minimum(np.arange(1, nr + 1, 2), nr - 1)]
    for r0, a, b in zip(range(0, nr, 2), first, last.tolist(), strict=True):
        r1 = min(r0 + 2, nr)
        chunk = max(64, (1 << 17) // max(b - a, 1))
        band = wy[r0:r1, a:b]
        if chunk >= w:  # straight into out: no temporary, one call less
            np.matmul(band, f[a:b], out=out[r0:r1])
            continue
        for j in range(0, w, chunk):
            np.matmul(band, f[a:b, j:j + chunk], out=out[r0:r1, j:j + chunk])
    return out


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
    """Summed-area table (h + 1, w + 1) int32 of a bool mask (frames < 2^31 pixels)."""
    h, w = mask.shape
    out = np.zeros((h + 1, w + 1), np.int32)
    np.cumsum(np.cumsum(mask, axis=0, dtype=np.int32), axis=1, out=out[1:, 1:])
    return out

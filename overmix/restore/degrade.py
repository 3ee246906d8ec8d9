"""Forward models shared by the restoration methods: shift, blur, decimation, block means.

A frame of a scene is modelled as a *degraded view* of a latent picture laid out on a regular
grid (the canvas, possibly finer than the frames: super-resolution). The degradation of one frame
is separable and translation-only, so it is the product of two small banded matrices, one per
axis: ``lr = Ay @ hr[rows] @ Ax.T``. Each row of ``Ax`` integrates the latent picture over one
frame sample's footprint (a box of the sample's width, optionally convolved with a Gaussian) at
that sample's sub-pixel position. Nothing here is ever a dense or per-pixel 2-D matrix.

Coordinates (DESIGN §4)
-----------------------
Positions are in frame-0 *luma* pixels. Frame k's luma sample (i, j) has its centre at
``(x_k + j, y_k + i)``; a subsampled plane's sample (i, j) at
``(x_k + sub_x * j + ox, y_k + sub_y * i + oy)`` with ``(ox, oy)`` from the chroma location.
The latent grid is given by the left/top *edge* of its first cell and its pitch; it is treated
as piecewise constant over its cells (each cell one latent pixel).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.special import ndtr

from overmix.geometry import Canvas

__all__ = [
    "AxisOp",
    "BlockMean",
    "Grid",
    "Warp",
    "axis_operator",
    "block_mean",
    "hr_grid",
    "frame_warp",
]


@dataclass(frozen=True)
class Grid:
    """A regular latent grid in frame-0 luma coordinates.

    Attributes
    ----------
    x0, y0 : float
        Left / top edge of cell (0, 0).
    px, py : float
        Cell pitch along x and y (luma pixels per latent pixel).
    width, height : int
        Number of cells.
    """

    x0: float
    y0: float
    px: float
    py: float
    width: int
    height: int

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    def centres_x(self) -> np.ndarray:
        return self.x0 + (np.arange(self.width) + 0.5) * self.px

    def centres_y(self) -> np.ndarray:
        return self.y0 + (np.arange(self.height) + 0.5) * self.py


def hr_grid(canvas: Canvas, scale: float, plane_sub: tuple[int, int] = (1, 1),
            plane_offset: tuple[float, float] = (0.0, 0.0)) -> Grid:
    """The output grid of a plane at ``scale`` times the canvas resolution.

    The luma grid tiles the canvas footprint ``[canvas.x - 0.5, canvas.x + width - 0.5)`` with
    ``ceil(width * scale)`` cells. A subsampled plane's grid is laid out on the scaled luma grid
    the way the source's chroma is on luma: its sample (i, j) sits at scaled-luma position
    ``(sub_x * j + ox, sub_y * i + oy)``, so the result is an ordinary subsampled picture of the
    scaled size with the source's chroma siting.

    Parameters
    ----------
    canvas : Canvas
    scale : float
        Output pixels per luma pixel (1 = the canvas itself).
    plane_sub : (sub_x, sub_y)
    plane_offset : (ox, oy)
        Chroma siting offset in luma pixels (``ChromaLocation.offset``); (0, 0) for luma.
    """
    sx, sy = plane_sub
    ox, oy = plane_offset
    wl = math.ceil(canvas.width * scale - 1e-9)
    hl = math.ceil(canvas.height * scale - 1e-9)
    x0 = canvas.x - 0.5 + (ox + 0.5 - sx / 2) / scale
    y0 = canvas.y - 0.5 + (oy + 0.5 - sy / 2) / scale
    return Grid(x0, y0, sx / scale, sy / scale, -(-wl // sx), -(-hl // sy))


def _ramp(t: np.ndarray, sigma: float) -> np.ndarray:
    """Second antiderivative of a unit Gaussian of width ``sigma`` (a smoothed ``max(t, 0)``)."""
    if sigma <= 0:
        return np.maximum(t, 0.0)
    z = t / sigma
    return sigma * (z * ndtr(z) + np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi))


@dataclass(frozen=True)
class AxisOp:
    """A banded 1-D operator: rows = frame samples, columns = latent cells ``start:start+span``.

    ``mat`` is CSR of shape ``(n_samples, span)``, float32, rows summing to 1 (or 0 for samples
    whose footprint misses the grid); ``mat_t`` is its transpose (CSR).
    """

    start: int
    span: int
    mat: sparse.csr_array
    mat_t: sparse.csr_array


def axis_operator(centres: np.ndarray, footprint: float, sigma: float, edge0: float,
                  pitch: float, n: int) -> AxisOp:
    """1-D degradation: each sample = mean of the latent signal over its footprint.

    The latent signal is piecewise constant over cells ``[edge0 + J*pitch, edge0 + (J+1)*pitch)``.
    Sample j averages it over a box of width ``footprint`` centred at ``centres[j]``, convolved
    with a Gaussian of standard deviation ``sigma`` (all in luma pixels). Weights are the exact
    integrals (closed form with the normal CDF). Rows are renormalised where the footprint
    crosses the grid border (the latent picture is assumed to continue like its edge average).
    """
    c = np.asarray(centres, dtype=np.float64)
    half = 0.5 * footprint
    reach = half + 4.0 * sigma
    lo = np.floor((c - reach - edge0) / pitch).astype(np.int64)
    hi = np.ceil((c + reach - edge0) / pitch).astype(np.int64)
    k = int((hi - lo).max()) + 1 if len(c) else 1
    cols = lo[:, None] + np.arange(k)[None, :]
    a = edge0 + cols * pitch - c[:, None]  # cell edges relative to the sample centre
    b = a + pitch
    w = (_ramp(b + half, sigma) - _ramp(a + half, sigma)
         - _ramp(b - half, sigma) + _ramp(a - half, sigma)) / footprint
    w[(cols < 0) | (cols >= n)] = 0.0
    w[w < 1e-7] = 0.0
    s = w.sum(axis=1, keepdims=True)
    w = np.divide(w, s, out=np.zeros_like(w), where=s > 0)
    valid = w > 0
    if not valid.any():
        start, span = 0, 1
    else:
        start = int(cols[valid].min())
        span = int(cols[valid].max()) - start + 1
    rows = np.broadcast_to(np.arange(len(c))[:, None], cols.shape)
    mat = sparse.csr_array(
        (w[valid].astype(np.float32), (rows[valid], cols[valid] - start)),
        shape=(len(c), span),
    )
    return AxisOp(start, span, mat, mat.T.tocsr())


@dataclass(frozen=True)
class Warp:
    """Separable degradation of one frame plane: ``lr = ay.mat @ hr[ys, xs] @ ax.mat.T``."""

    ay: AxisOp
    ax: AxisOp

    def _window(self) -> tuple[slice, slice]:
        return (slice(self.ay.start, self.ay.start + self.ay.span),
                slice(self.ax.start, self.ax.start + self.ax.span))

    def forward(self, hr: np.ndarray) -> np.ndarray:
        """Latent plane (grid shape) -> degraded frame plane (float32)."""
        ys, xs = self._window()
        t = self.ay.mat @ hr[ys, xs]
        return np.asarray(self.ax.mat @ t.T, dtype=np.float32).T

    def adjoint(self, lr: np.ndarray, out: np.ndarray) -> None:
        """Add ``A^T lr`` into ``out`` (grid shape) in place."""
        ys, xs = self._window()
        t = self.ay.mat_t @ lr
        out[ys, xs] += np.asarray(self.ax.mat_t @ t.T, dtype=np.float32).T


def frame_warp(offset_xy: tuple[float, float], shape: tuple[int, int], grid: Grid, *,
               plane_sub: tuple[int, int] = (1, 1),
               plane_offset: tuple[float, float] = (0.0, 0.0), psf_sigma: float = 0.0) -> Warp:
    """The degradation of one frame plane seen from ``grid``.

    Parameters
    ----------
    offset_xy : (x_k, y_k)
        The frame's offset (position of its luma pixel (0, 0) in frame-0 coordinates).
    shape : (rows, cols)
        The plane's size (native resolution, subsampled for chroma).
    grid : Grid
        The latent grid.
    plane_sub, plane_offset :
        Subsampling and chroma siting offset (luma pixels) of the plane; the footprint of a
        sample is ``sub`` luma pixels wide.
    psf_sigma : float
        Extra Gaussian blur (luma pixels) on top of the pixel footprint.
    """
    sx, sy = plane_sub
    ox, oy = plane_offset
    rows, cols = shape
    cx = offset_xy[0] + ox + sx * np.arange(cols)
    cy = offset_xy[1] + oy + sy * np.arange(rows)
    ax = axis_operator(cx, float(sx), psf_sigma, grid.x0, grid.px, grid.width)
    ay = axis_operator(cy, float(sy), psf_sigma, grid.y0, grid.py, grid.height)
    return Warp(ay, ax)


def block_mean(plane: np.ndarray, block: int, phase: tuple[int, int] = (0, 0),
               mask: np.ndarray | None = None) -> np.ndarray:
    """Replace each ``block x block`` cell (grid starting at ``phase`` = (px, py)) by its mean.

    ``mask`` (bool, plane shape) selects the cells to average (a cell is averaged when any of
    its pixels is in the mask); other pixels are returned unchanged. Partial
    cells at the borders are averaged over their visible pixels. This is the mosaic forward model
    and, being an orthogonal projection, its own adjoint.
    """
    h, w = plane.shape
    px, py = phase
    # cell index of every row / column
    ci = (np.arange(h) - py + block) // block
    cj = (np.arange(w) - px + block) // block
    nci, ncj = int(ci.max()) + 1, int(cj.max()) + 1
    lab = ci[:, None] * ncj + cj[None, :]
    sums = np.bincount(lab.ravel(), weights=plane.ravel().astype(np.float64),
                       minlength=nci * ncj)
    cnt = np.bincount(lab.ravel(), minlength=nci * ncj)
    mean = (sums / np.maximum(cnt, 1)).astype(np.float32)[lab]
    if mask is None:
        return mean
    cell_on = np.bincount(lab.ravel(), weights=mask.ravel().astype(np.float64),
                          minlength=nci * ncj) > 0
    return np.where(cell_on[lab], mean, plane).astype(np.float32)


class BlockMean:
    """:func:`block_mean` with the cell layout precomputed (for repeated use in solvers)."""

    def __init__(self, shape: tuple[int, int], block: int, phase: tuple[int, int] = (0, 0),
                 mask: np.ndarray | None = None) -> None:
        h, w = shape
        ci = (np.arange(h) - phase[1] + block) // block
        cj = (np.arange(w) - phase[0] + block) // block
        ncj = int(cj.max()) + 1
        lab = ci[:, None] * ncj + cj[None, :]
        if mask is not None:
            on = np.bincount(lab.ravel(), weights=mask.ravel().astype(np.float64)) > 0
            sel = on[lab]
        else:
            sel = np.ones(shape, bool)
        self.sel = sel
        # relabel the selected cells compactly
        uniq, inv = np.unique(lab[sel], return_inverse=True)
        self.lab = inv.astype(np.int64)
        self.ncell = len(uniq)
        self.count = np.maximum(np.bincount(self.lab, minlength=self.ncell), 1).astype(np.float32)

    def __call__(self, plane: np.ndarray) -> np.ndarray:
        out = np.array(plane, dtype=np.float32, copy=True)
        if self.ncell:
            sums = np.bincount(self.lab, weights=plane[self.sel], minlength=self.ncell)
            out[self.sel] = (sums / self.count)[self.lab]
        return out

"""Siting-aware separable resampling of chroma planes (and any plane).

Coordinates (DESIGN §4): luma sample (i, j) has its centre at (x = j, y = i). Chroma sample
(i, j) of a plane subsampled by ``(sub_x, sub_y)`` sits at
``(x = sub_x·j + ox, y = sub_y·i + oy)`` with ``(ox, oy) = location.offset(sub_x, sub_y)``
(4:2:0 *left*: (2j, 2i + 0.5); *center*: (2j + 0.5, 2i + 0.5); *topleft*: (2j, 2i)).

The resampler is generic: :func:`kernel_weights` turns any list of output positions, given in
*source sample coordinates* (source sample k has its centre at k), into a small table of source
indices and weights per output sample; :func:`resample` applies one table per axis. Edges are
handled by clamping (replicating the border sample). Upsampling and downsampling chroma are thin
wrappers that compute the positions from the siting.

Filters
-------
``nearest``
    The closest sample, ``floor(u + 0.5)`` (ties go to the higher index).
``bilinear``
    Triangle kernel, 2 taps. Reproduces linear ramps exactly away from the edges.
``bicubic``
    Keys' cubic convolution with a = -0.5 (= Catmull-Rom), 4 taps. Interpolating.
``mitchell``
    Mitchell-Netravali B = C = 1/3 (what Overmix uses for chroma), 4 taps. Not interpolating.
``lanczos``
    Lanczos-3, ``sinc(x)·sinc(x/3)`` for ``|x| < 3``, 6 taps, weights normalised to sum 1.
``area``
    Box footprint of width ``scale`` source samples centred on the output position, each
    source sample weighted by its overlap with the footprint (source sample k covers
    [k - 0.5, k + 0.5]). Meant for downsampling.

References
----------
- R. Keys, "Cubic convolution interpolation for digital image processing", IEEE TASSP 29(6),
  1981. doi:10.1109/TASSP.1981.1163711
- D. Mitchell, A. Netravali, "Reconstruction filters in computer graphics", SIGGRAPH 1988.
  doi:10.1145/54852.378514
- C. Duchon, "Lanczos filtering in one and two dimensions", J. Appl. Meteor. 18, 1979.
- ITU-T H.273 / H.264 Annex E, ``chroma_sample_loc_type`` (figure E-1).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from overmix.color.spec import ChromaLocation
from overmix.errors import UnsupportedError

__all__ = [
    "FILTERS",
    "Weights",
    "chroma_positions",
    "downsample",
    "kernel_weights",
    "resample",
    "upsample",
]

# Kernel radius (support is [-radius, radius]) per filter, in source samples at scale 1.
FILTERS: dict[str, float] = {
    "nearest": 0.5,
    "bilinear": 1.0,
    "bicubic": 2.0,
    "mitchell": 2.0,
    "lanczos": 3.0,
    "area": 0.5,
}


@dataclass(frozen=True)
class Weights:
    """A 1-D resampling table.

    Attributes
    ----------
    index : ndarray of int32, shape (n_out, taps)
        Source sample indices, already clamped to ``[0, n_src - 1]``.
    weight : ndarray of float32, shape (n_out, taps)
        Weights; each row sums to 1.
    n_src : int
        Length of the source axis.
    """

    index: np.ndarray
    weight: np.ndarray
    n_src: int

    @property
    def n_out(self) -> int:
        return int(self.index.shape[0])

    @property
    def taps(self) -> int:
        return int(self.index.shape[1])

    def matrix(self) -> np.ndarray:
        """The dense ``(n_out, n_src)`` float64 matrix of this table (for tests and small axes)."""
        m = np.zeros((self.n_out, self.n_src))
        rows = np.repeat(np.arange(self.n_out), self.taps)
        np.add.at(m, (rows, self.index.ravel()), self.weight.ravel().astype(np.float64))
        return m


def _kernel(name: str, x: np.ndarray) -> np.ndarray:
    """Kernel values at distances ``x`` (float64), before normalisation."""
    a = np.abs(x)
    if name == "bilinear":
        return np.maximum(0.0, 1.0 - a)
    if name == "bicubic":
        # Keys (1981) cubic convolution, a = -0.5 (Catmull-Rom spline).
        k = -0.5
        return np.where(
            a <= 1.0,
            (k + 2.0) * a**3 - (k + 3.0) * a**2 + 1.0,
            np.where(a < 2.0, k * a**3 - 5.0 * k * a**2 + 8.0 * k * a - 4.0 * k, 0.0),
        )
    if name == "mitchell":
        # Mitchell-Netravali (1988) with B = C = 1/3.
        b = c = 1.0 / 3.0
        return np.where(
            a < 1.0,
            ((12 - 9 * b - 6 * c) * a**3 + (-18 + 12 * b + 6 * c) * a**2 + (6 - 2 * b)) / 6.0,
            np.where(
                a < 2.0,
                ((-b - 6 * c) * a**3 + (6 * b + 30 * c) * a**2 + (-12 * b - 48 * c) * a
                 + (8 * b + 24 * c)) / 6.0,
                0.0,
            ),
        )
    if name == "lanczos":
        # Lanczos-3: sinc(x) sinc(x/3), normalised sinc(x) = sin(pi x)/(pi x).
        return np.where(a < 3.0, np.sinc(x) * np.sinc(x / 3.0), 0.0)
    raise UnsupportedError(f"unknown filter {name!r} (use {', '.join(FILTERS)})")


def kernel_weights(
    positions: np.ndarray,
    n_src: int,
    filter: str = "bilinear",
    *,
    scale: float = 1.0,
) -> Weights:
    """Resampling table for output samples at ``positions`` of a source axis of ``n_src``.

    Parameters
    ----------
    positions : array_like of float, shape (n_out,)
        Where each output sample lies, in source sample coordinates (source sample k has its
        centre at k). Positions outside ``[0, n_src - 1]`` are allowed (edge samples repeat).
    n_src : int
        Number of source samples.
    filter : str
        One of :data:`FILTERS`.
    scale : float
        Kernel stretch in source samples, ≥ 1 (use the downsampling factor to low-pass;
        for ``area`` it is the footprint width).

    Returns
    -------
    Weights
        Indices and normalised weights; taps that are zero for every output are dropped, so an
        output at an integer position with an interpolating kernel costs one tap.
    """
    if n_src < 1:
        raise UnsupportedError("cannot resample an empty axis")
    if filter not in FILTERS:
        raise UnsupportedError(f"unknown filter {filter!r} (use {', '.join(FILTERS)})")
    u = np.asarray(positions, dtype=np.float64).reshape(-1)
    s = max(float(scale), 1.0) if filter != "area" else max(float(scale), 1e-9)
    if filter == "nearest":
        idx = np.floor(u + 0.5).astype(np.int64)[:, None]
        w = np.ones_like(idx, dtype=np.float64)
    elif filter == "area":
        half = s / 2.0
        lo = np.floor(u - half + 0.5).astype(np.int64)
        taps = int(np.ceil(s)) + 2
        idx = lo[:, None] + np.arange(taps)[None, :]
        # Overlap of [k - 0.5, k + 0.5] with [u - half, u + half].
        left = np.maximum(idx - 0.5, (u - half)[:, None])
        right = np.minimum(idx + 0.5, (u + half)[:, None])
        w = np.maximum(0.0, right - left)
    else:
        radius = FILTERS[filter] * s
        first = np.floor(u - radius).astype(np.int64) + 1
        taps = int(np.floor(2 * radius)) + 1
        idx = first[:, None] + np.arange(taps)[None, :]
        w = _kernel(filter, (idx - u[:, None]) / s)
        if s == 1.0 and filter in ("bilinear", "bicubic", "lanczos"):
            # Interpolating kernels: an exact hit takes the sample as it is (sinc rounding
            # would otherwise leave 1e-17 crumbs on the neighbours).
            hit = u == np.floor(u)
            if hit.any():
                w[hit] = (idx[hit] == u[hit, None]).astype(np.float64)
    total = w.sum(axis=1, keepdims=True)
    total[total == 0] = 1.0
    w = w / total
    keep = np.any(w != 0.0, axis=0)
    if not keep.any():
        keep[0] = True
    idx = np.clip(idx[:, keep], 0, n_src - 1).astype(np.int32)
    w = w[:, keep]
    return Weights(np.ascontiguousarray(idx), np.ascontiguousarray(w.astype(np.float32)), n_src)


def chroma_positions(n_luma: int, sub: int, offset: float) -> np.ndarray:
    """Luma sample centres ``0..n_luma-1`` expressed in chroma sample coordinates.

    Chroma sample j sits at luma coordinate ``sub·j + offset``, so luma position x is chroma
    coordinate ``(x - offset) / sub``.
    """
    return (np.arange(n_luma, dtype=np.float64) - offset) / sub


def _resample_numpy(plane: np.ndarray, iy: np.ndarray, wy: np.ndarray, ix: np.ndarray,
                    wx: np.ndarray) -> np.ndarray:
    """Vertical then horizontal gathered tap sums in float64: float32 (len(iy), len(ix)),
    ``out[i, j] = Σ_tx wx[j, tx] · Σ_ty wy[i, ty] · plane[iy[i, ty], ix[j, tx]]``."""
    row = np.zeros((iy.shape[0], plane.shape[1]), np.float64)
    for t in range(iy.shape[1]):
        row += wy[:, t, None].astype(np.float64) * plane[iy[:, t]]
    out = np.zeros((iy.shape[0], ix.shape[0]), np.float64)
    for t in range(ix.shape[1]):
        out += wx[None, :, t].astype(np.float64) * row[:, ix[:, t]]
    return out.astype(np.float32)


def resample(plane: np.ndarray, rows: Weights, cols: Weights) -> np.ndarray:
    """Apply a vertical and a horizontal table to a 2-D plane.

    Parameters
    ----------
    plane : ndarray, shape (rows.n_src, cols.n_src)
        Any real dtype (integer codes or float working values).
    rows, cols : Weights
        Tables from :func:`kernel_weights` for the y and x axes.

    Returns
    -------
    ndarray of float32, shape (rows.n_out, cols.n_out)
    """
    plane = np.asarray(plane)
    if plane.ndim != 2 or plane.shape != (rows.n_src, cols.n_src):
        raise UnsupportedError(
            f"plane of shape {plane.shape} does not match tables for {(rows.n_src, cols.n_src)}"
        )
    return _resample_numpy(plane, rows.index, rows.weight, cols.index, cols.weight)


def upsample_tables(
    chroma_shape: tuple[int, int],
    out_shape: tuple[int, int],
    *,
    sub_x: int,
    sub_y: int,
    location: ChromaLocation,
    filter: str = "bilinear",
) -> tuple[Weights, Weights]:
    """Row and column tables that bring a chroma plane to luma resolution (see :func:`upsample`)."""
    ox, oy = ChromaLocation(location).offset(sub_x, sub_y)
    rows = kernel_weights(chroma_positions(out_shape[0], sub_y, oy), chroma_shape[0], filter)
    cols = kernel_weights(chroma_positions(out_shape[1], sub_x, ox), chroma_shape[1], filter)
    return rows, cols


def upsample(
    plane_working: np.ndarray,
    *,
    sub_x: int,
    sub_y: int,
    location: ChromaLocation,
    out_shape: tuple[int, int],
    filter: str = "bilinear",
) -> np.ndarray:
    """Chroma plane → luma resolution, honouring the chroma siting.

    Parameters
    ----------
    plane_working : ndarray, shape (ceil(H / sub_y), ceil(W / sub_x))
        Chroma samples (working float values or codes).
    sub_x, sub_y : int
        Subsampling factors (4:2:0 = 2, 2).
    location : ChromaLocation
        Siting; the offset of chroma sample (0, 0) is ``location.offset(sub_x, sub_y)``.
    out_shape : (H, W)
        Luma size.
    filter : str
        ``bilinear`` (default), ``bicubic`` (Keys a = -0.5, Catmull-Rom), ``lanczos``
        (Lanczos-3), ``mitchell`` or ``nearest``.

    Returns
    -------
    ndarray of float32, shape (H, W)
        Value at each luma centre; positions outside the chroma grid repeat the edge sample.
    """
    if sub_x == 1 and sub_y == 1 and tuple(plane_working.shape) == tuple(out_shape):
        return np.asarray(plane_working, dtype=np.float32).copy()
    rows, cols = upsample_tables(
        plane_working.shape, out_shape, sub_x=sub_x, sub_y=sub_y, location=location,
        filter=filter,
    )
    return resample(plane_working, rows, cols)


def downsample(
    plane_working: np.ndarray,
    *,
    sub_x: int,
    sub_y: int,
    location: ChromaLocation,
    filter: str = "area",
) -> np.ndarray:
    """Full-resolution plane → chroma resolution at the given siting (for RGB → 4:2:0).

    Chroma sample (i, j) is computed at luma position ``(sub_x·j + ox, sub_y·i + oy)``. With
    ``area`` each sample averages the luma-grid pixels its ``sub_x × sub_y`` footprint covers
    (for 4:2:0 *left* horizontally this is [1/4, 1/2, 1/4], for *center* [1/2, 1/2]). Other
    filters are stretched by the subsampling factor to low-pass.

    Parameters
    ----------
    plane_working : ndarray, shape (H, W)
    sub_x, sub_y : int
    location : ChromaLocation
    filter : str
        ``area`` (default) or any of :data:`FILTERS`.

    Returns
    -------
    ndarray of float32, shape (ceil(H / sub_y), ceil(W / sub_x))
    """
    h, w = plane_working.shape
    ch, cw = -(-h // sub_y), -(-w // sub_x)
    ox, oy = ChromaLocation(location).offset(sub_x, sub_y)
    rows = kernel_weights(sub_y * np.arange(ch) + oy, h, filter, scale=sub_y)
    cols = kernel_weights(sub_x * np.arange(cw) + ox, w, filter, scale=sub_x)
    return resample(plane_working, rows, cols)

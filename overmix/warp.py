"""Bilinear placement of frames on a canvas, shared by the scene analyses.

Animation separation (``align``), lighting (``render``) and overlay estimation (``restore``)
all compare a frame with a running mean of the others seen from that frame. Those layers may
not import each other, so the helpers live here, below them. Positions follow DESIGN §4: the
frame at offset ``(x, y)`` has its pixel (0, 0) at frame-0 coordinates ``(x, y)``, and a
subsampled plane moves by offset / subsampling samples. The high-quality renderer is
``overmix.render``; these helpers are bilinear because they serve measurements, not output.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from overmix.geometry import Canvas

__all__ = ["CanvasAccumulator", "bilinear_taps", "sample_bilinear", "sample_canvas", "sample_taps",
           "window", "window_ones", "reduce_box", "reduce_box_codes", "smooth121"]


def window(a: np.ndarray, r0: int, c0: int, h: int, w: int) -> np.ndarray:
    """``a[r0:r0+h, c0:c0+w]`` with zeros where the window leaves ``a``."""
    out = np.zeros((h, w), dtype=np.float32)
    rs, cs = max(r0, 0), max(c0, 0)
    re, ce = min(r0 + h, a.shape[0]), min(c0 + w, a.shape[1])
    if re > rs and ce > cs:
        out[rs - r0 : re - r0, cs - c0 : ce - c0] = a[rs:re, cs:ce]
    return out


def window_ones(shape: tuple[int, ...], r0: int, c0: int, h: int, w: int) -> np.ndarray:
    """1 where the window ``[r0:r0+h, c0:c0+w]`` lies inside an array of ``shape``, else 0."""
    out = np.zeros((h, w), dtype=np.float32)
    rs, cs = max(r0, 0), max(c0, 0)
    re, ce = min(r0 + h, shape[0]), min(c0 + w, shape[1])
    if re > rs and ce > cs:
        out[rs - r0 : re - r0, cs - c0 : ce - c0] = 1.0
    return out


def sample_bilinear(img: np.ndarray, weight: np.ndarray | None, ty: float, tx: float, h: int,
            w: int) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear samples of ``img`` at ``(i + ty, j + tx)`` for an ``h x w`` grid.

    Parameters
    ----------
    img : ndarray (H, W) float
    weight : ndarray (H, W) float in [0, 1] or None
        Coverage of ``img`` (0 = no data); outside ``img`` the coverage is 0.
    ty, tx : float
        Position (row, column) in ``img`` of output sample (0, 0).

    Returns
    -------
    value, coverage : ndarray (h, w) float32
        The coverage-normalised bilinear value and the bilinear-weighted coverage in [0, 1].
    """
    iy, ix, taps = bilinear_taps(ty, tx)
    if weight is None and iy >= 0 and ix >= 0 and iy + h + 1 <= img.shape[0] \
            and ix + w + 1 <= img.shape[1]:
        return _inside(img, iy, ix, h, w, taps)
    return sample_taps(img, weight, iy, ix, h, w, taps)


def sample_taps(img: np.ndarray, weight: np.ndarray | None, iy: int, ix: int, h: int, w: int,
                taps: list[tuple[int, int, np.float32]]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`sample_bilinear` on an ``h x w`` grid whose sample (i, j) reads from
    ``(iy + i, ix + j)`` with ``taps`` (:func:`bilinear_taps`), wherever the window lies
    (taps off ``img`` add 0 to both sums): float32 value and coverage."""
    # only the (h + 1) x (w + 1) window the taps touch is read
    src = window(img, iy, ix, h + 1, w + 1)
    if weight is None:
        wt = window_ones(img.shape, iy, ix, h + 1, w + 1)
    else:
        wt = window(weight, iy, ix, h + 1, w + 1)
    wv = src * wt
    acc = np.zeros((h, w), dtype=np.float32)
    cov = np.zeros((h, w), dtype=np.float32)
    for dy, dx, b in taps:
        acc += b * wv[dy : dy + h, dx : dx + w]
        cov += b * wt[dy : dy + h, dx : dx + w]
    val = np.divide(acc, cov, out=np.zeros_like(acc), where=cov > 1e-6)
    return val, cov


def bilinear_taps(ty: float, tx: float) -> tuple[int, int, list[tuple[int, int, np.float32]]]:
    """:func:`sample_bilinear`'s taps for output sample (0, 0) at ``(ty, tx)``: the source
    sample ``(iy, ix)`` output sample (i, j) starts from is ``(iy + i, ix + j)``, and the taps
    ``(dy, dx, weight)`` (float32 weights of at least 1e-6, in the order they are summed)."""
    iy, ix = math.floor(ty + 1e-6), math.floor(tx + 1e-6)
    fy, fx = max(ty - iy, 0.0), max(tx - ix, 0.0)
    taps = [(dy, dx, np.float32(by * bx)) for dy, by in ((0, 1.0 - fy), (1, fy)) if by >= 1e-6
            for dx, bx in ((0, 1.0 - fx), (1, fx)) if bx >= 1e-6]
    return iy, ix, taps


def _inside(img: np.ndarray, iy: int, ix: int, h: int, w: int,
            taps: list[tuple[int, int, np.float32]]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`sample_bilinear` without a weight, its window inside ``img``: the coverage is
    the taps' sum everywhere, so the image is read in place and divided by that one value
    (the same float32 operations, in the same order, as the general case's)."""
    src = img[iy:iy + h + 1, ix:ix + w + 1]
    acc = np.zeros((h, w), dtype=np.float32)
    cov = np.float32(0.0)
    for dy, dx, b in taps:
        acc += b * src[dy : dy + h, dx : dx + w].astype(np.float32, copy=False)
        cov += b * np.float32(1.0)
    if cov > 1e-6:
        np.divide(acc, cov, out=acc)
    else:
        acc[:] = 0.0
    return acc, np.full((h, w), cov, np.float32)


def sample_canvas(canvas_img: np.ndarray, canvas_weight: np.ndarray | None, xy: Sequence[float],
                  canvas: Canvas, shape: tuple[int, int],
                  scale: tuple[int, int] = (1, 1)) -> tuple[np.ndarray, np.ndarray]:
    """A canvas image seen from one frame: its values at the frame's pixel positions.

    Parameters
    ----------
    canvas_img, canvas_weight : ndarray (Hc, Wc)
        Canvas plane and its coverage (None = fully covered), at the plane's resolution.
    xy : (x, y)
        The frame's offset in frame-0 luma pixels.
    canvas : Canvas
    shape : (h, w)
        Frame plane shape.
    scale : (sx, sy)
        Plane subsampling (a chroma plane moves by offset / sub samples).

    Returns
    -------
    value, coverage : ndarray (h, w) float32
    """
    sx, sy = scale
    ty = (float(xy[1]) - canvas.y) / sy
    tx = (float(xy[0]) - canvas.x) / sx
    return sample_bilinear(canvas_img, canvas_weight, ty, tx, shape[0], shape[1])


class CanvasAccumulator:
    """Running weighted sum of frames placed on the canvas (bilinear), one plane.

    Parameters
    ----------
    canvas : Canvas
    scale : (sx, sy)
        Plane subsampling; the accumulator has ``ceil(canvas / sub)`` samples.
    """

    def __init__(self, canvas: Canvas, scale: tuple[int, int] = (1, 1)) -> None:
        self.canvas = canvas
        self.scale = scale
        h = -(-canvas.height // scale[1])
        w = -(-canvas.width // scale[0])
        self.sum = np.zeros((h, w), dtype=np.float32)
        self.weight = np.zeros((h, w), dtype=np.float32)

    def add(self, plane: np.ndarray, xy: Sequence[float], weight: np.ndarray | None = None,
            gain: float = 1.0) -> None:
        """Add one frame plane at offset ``xy``; ``weight`` (frame-sized, 0..1) scales it."""
        sx, sy = self.scale
        ry = (float(xy[1]) - self.canvas.y) / sy
        rx = (float(xy[0]) - self.canvas.x) / sx
        i0, j0 = math.floor(ry + 1e-6), math.floor(rx + 1e-6)
        h, w = plane.shape
        val, cov = sample_bilinear(np.asarray(plane, dtype=np.float32), weight, i0 - ry, j0 - rx,
                           h + 1, w + 1)
        if gain != 1.0:
            cov = cov * np.float32(gain)
        r0, c0 = max(i0, 0), max(j0, 0)
        r1, c1 = min(i0 + h + 1, self.sum.shape[0]), min(j0 + w + 1, self.sum.shape[1])
        if r1 <= r0 or c1 <= c0:
            return
        sl = (slice(r0 - i0, r1 - i0), slice(c0 - j0, c1 - j0))
        self.sum[r0:r1, c0:c1] += val[sl] * cov[sl]
        self.weight[r0:r1, c0:c1] += cov[sl]

    def seen_from(self, xy: Sequence[float], shape: tuple[int, int]) -> tuple[np.ndarray,
                                                                              np.ndarray]:
        """The running mean seen from a frame at ``xy``: (value, coverage), plane-shaped.

        Only the window under the frame is read (no canvas-sized work per call).
        """
        sx, sy = self.scale
        ry = (float(xy[1]) - self.canvas.y) / sy
        rx = (float(xy[0]) - self.canvas.x) / sx
        iy, ix = math.floor(ry + 1e-6), math.floor(rx + 1e-6)
        h, w = shape
        s = window(self.sum, iy, ix, h + 1, w + 1)
        wt = window(self.weight, iy, ix, h + 1, w + 1)
        mean = np.divide(s, wt, out=np.zeros_like(s), where=wt > 1e-6)
        return sample_bilinear(mean, np.minimum(wt, 1.0), ry - iy, rx - ix, h, w)

    def mean(self) -> np.ndarray:
        """The weighted mean (0 where nothing was added)."""
        return np.divide(self.sum, self.weight, out=np.zeros_like(self.sum),
                         where=self.weight > 1e-6)

    def coverage(self) -> np.ndarray:
        """Coverage in [0, 1] (1 where the accumulated weight reaches one full frame)."""
        return np.minimum(self.weight, 1.0)


def reduce_box(a: np.ndarray, r: int) -> np.ndarray:
    """Reduce by ``r``: ``r x r`` box means, then a [1, 2, 1] / 4 smoothing on the small grid.

    The extra smoothing keeps aliasing low enough that frames at fractional reduced offsets
    still compare cleanly; both steps are cheap (no wide kernel at full resolution). Sample
    (i, j) sits at full-resolution ``(r i + (r - 1) / 2, r j + (r - 1) / 2)`` for every frame
    alike, so offsets simply scale by 1 / r. The ragged right/bottom edge is dropped.
    """
    a = np.asarray(a, dtype=np.float32)
    if r <= 1:
        return a
    h, w = (a.shape[0] // r) * r, (a.shape[1] // r) * r
    # sum of the r*r strided views (much faster than a reshape-mean over strided axes)
    b = np.zeros((h // r, w // r), dtype=np.float32)
    for dy in range(r):
        for dx in range(r):
            b += a[dy:h:r, dx:w:r]
    b *= np.float32(1.0 / (r * r))
    return smooth121(b)


def reduce_box_codes(planes: Sequence[np.ndarray], coef: Sequence[float], offset: float,
                     r: int) -> np.ndarray:
    """:func:`reduce_box` of ``Σ_p coef[p] · planes[p] + offset`` for planes of integer codes
    (same shape, e.g. R'G'B' to Y'): the ``r x r`` block sums are exact integers, so the
    weighting and the offset are done on the reduced grid (``1 / r²`` of the float work,
    and one read of each code). Equal to :func:`reduce_box` of the float combination to
    float32 rounding."""
    h, w = planes[0].shape
    if r <= 1:
        out = np.full((h, w), np.float32(offset), np.float32)
        for p, c in zip(planes, coef, strict=True):
            out += np.multiply(p, np.float32(c), dtype=np.float32)
        return out
    hh, ww = h // r, w // r
    scale = 1.0 / (r * r)
    b = np.full((hh, ww), np.float32(offset), np.float32)
    for p, c in zip(planes, coef, strict=True):
        b += np.multiply(_block_sums(p, r, hh, ww), np.float32(c * scale), dtype=np.float32)
    return smooth121(b)


def _block_sums(a: np.ndarray, r: int, hh: int, ww: int) -> np.ndarray:
    """Exact sums of the ``r x r`` blocks of integer ``a`` (``(hh, ww)``: the ragged
    right/bottom edge dropped), rows first (whole rows: contiguous)."""
    top = np.iinfo(a.dtype).max if a.dtype.kind in "ui" else 1 << 16
    acc = np.uint16 if top * r * r < 1 << 16 else np.uint32
    rows = a[0:hh * r:r, :ww * r].astype(acc)
    for dy in range(1, r):
        rows += a[dy:hh * r:r, :ww * r]
    s = rows[:, 0::r].copy()
    for dx in range(1, r):
        s += rows[:, dx::r]
    return s


def smooth121(b: np.ndarray) -> np.ndarray:
    """``[1, 2, 1] / 4`` along both axes, edge samples repeated (numpy; float32 in/out)."""
    b = np.asarray(b, np.float32)
    for axis in (0, 1):
        n = b.shape[axis]
        if n < 2:
            continue
        a = np.moveaxis(b, axis, 0)  # the axis first: the neighbours are row slices
        p = np.empty((n + 2, *a.shape[1:]), np.float32)
        p[1:-1] = a
        p[0], p[-1] = a[0], a[-1]
        out = np.float32(0.25) * (p[:-2] + p[2:])
        out += np.float32(0.5) * p[1:-1]
        b = np.moveaxis(out, 0, axis)
    return np.ascontiguousarray(b)

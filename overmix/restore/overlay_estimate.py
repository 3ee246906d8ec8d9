"""Static overlay colour and alpha (:mod:`overmix.restore.overlay` step 2): per pixel, a
straight-line fit of frame values against the background the frame shows there (rendered
without the overlay region), slope ``1 - a`` and intercept ``a c``; running sums, frames stream.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from overmix.errors import UsageError
from overmix.geometry import Canvas
from overmix.progress import ProgressCallback, no_progress
from overmix.providers import PlanesProvider, reader
from overmix.restore.overlay_core import one_colour
from overmix.warp import CanvasAccumulator

# per plane: (sx, sy) subsampling, plane shape, (r0, r1, c0, c1) box, the line-fit sums
_Scales = Sequence[tuple[int, int]]
_Shapes = list[tuple[int, ...]]
_Boxes = list[tuple[int, int, int, int]]
_Sums = list[dict[str, np.ndarray]]


def _downsample_max(mask: np.ndarray, sx: int, sy: int, shape: tuple[int, int]) -> np.ndarray:
    """Block max of a bool luma-resolution mask onto a subsampled plane grid."""
    if (sx, sy) == (1, 1):
        return mask
    h, w = shape
    pad = np.zeros((h * sy, w * sx), dtype=bool)
    pad[: mask.shape[0], : mask.shape[1]] = mask
    return pad.reshape(h, sy, w, sx).any(axis=(1, 3))


def _downsample_mean(a: np.ndarray, sx: int, sy: int, shape: tuple[int, int]) -> np.ndarray:
    """Block mean (edge-replicated) of a luma-resolution array onto a plane grid."""
    if (sx, sy) == (1, 1):
        return a
    h, w = shape
    pad = np.pad(a, ((0, h * sy - a.shape[0]), (0, w * sx - a.shape[1])), mode="edge")
    return pad.reshape(h, sy, w, sx).mean(axis=(1, 3)).astype(np.float32)


def estimate_overlay(planes: PlanesProvider, offsets_xy: np.ndarray, canvas: Canvas | None,
                     mask: np.ndarray, *, scales: Sequence[tuple[int, int]] | None = None,
                     grow: int = 2, min_spread: float = 0.02,
                     progress: ProgressCallback | None = None
                     ) -> tuple[list[np.ndarray], np.ndarray]:
    """Per-pixel colour and alpha of a static overlay: :func:`fit_overlay` without the
    misfit."""
    fit = fit_overlay(planes, offsets_xy, canvas, mask, scales=scales, grow=grow,
                      min_spread=min_spread, progress=progress)
    return fit.color, fit.alpha


@dataclass
class OverlayFit:
    """:func:`fit_overlay`'s result: ``color`` per plane (plane-shaped float32, 0 outside
    the mask), ``alpha`` (h, w) float32 in [0, 1], ``misfit`` (h, w) float32: the RMS of the
    frames about the per-pixel line (working units)."""

    color: list[np.ndarray]
    alpha: np.ndarray
    misfit: np.ndarray


def fit_overlay(planes: PlanesProvider, offsets_xy: np.ndarray, canvas: Canvas | None,
                mask: np.ndarray, *, scales: Sequence[tuple[int, int]] | None = None,
                grow: int = 2, min_spread: float = 0.02,
                progress: ProgressCallback | None = None) -> OverlayFit:
    """Per-pixel colour and alpha of a static overlay from frames over moving backgrounds.

    Parameters
    ----------
    planes : callable ``k -> sequence of (hp, wp) float32`` or sequence of sequences
        Working planes of each frame at native resolution (plane 0 full resolution).
    offsets_xy : ndarray (n, 2)
    canvas : Canvas or None
    mask : ndarray (h, w) bool
        Overlay region in frame coordinates (luma resolution), True = overlay.
    scales : sequence of (sx, sy) or None
        Subsampling of each plane (default: inferred from the shapes).
    grow : int
        The region left out of the background render is the mask grown by this much.
    min_spread : float
        Minimum standard deviation (working units) of the background values at a pixel for the
        fit; pixels below it take alpha from their neighbours.

    Returns
    -------
    OverlayFit
        ``color``: per plane, plane-shaped float32 (0 outside the mask), the overlay colour
        in the planes' own units; ``alpha``: (h, w) float32 in [0, 1], the overlay opacity
        (0 outside the mask); ``misfit``: (h, w) float32, the RMS of the frames about each
        pixel's line (working units): a static blend leaves codec noise, something else
        passing there (scrolling credits) far more.
    """
    progress = progress or no_progress
    xy = np.asarray(offsets_xy, dtype=np.float64).reshape(-1, 2)
    get = reader(planes)
    p0 = [np.asarray(p, np.float32) for p in get(0)]
    h, w = p0[0].shape
    if mask.shape != (h, w):
        raise UsageError(f"overlay mask is {mask.shape[1]}x{mask.shape[0]}, frames are {w}x{h}")
    if canvas is None:
        canvas = Canvas.covering(xy, w, h)
    if scales is None:
        scales = [(max(1, round(w / p.shape[1])), max(1, round(h / p.shape[0]))) for p in p0]
    shapes = [p.shape for p in p0]
    accs = _background(get, p0, xy, canvas, mask, scales, shapes, grow, progress)
    boxes, sums = _line_sums(get, p0, xy, accs, mask, scales, shapes, progress)
    alpha, fitted = _alpha(sums, boxes, scales, mask, min_spread, h, w)
    colors = _colors(sums, boxes, scales, shapes, mask, alpha)
    span = np.ptp(xy, axis=0) if len(xy) else np.zeros(2)
    alpha, colors = one_colour(sums, boxes, list(scales), mask, fitted, alpha, colors,
                               axis=1 if span[0] >= span[1] else 0)
    return OverlayFit(colors, alpha, _misfit(sums, boxes, scales, mask, h, w))


def _misfit(sums: _Sums, boxes: _Boxes, scales: _Scales, mask: np.ndarray, h: int,
            w: int) -> np.ndarray:
    """Step 5: per pixel of ``mask``, the RMS (working units, mean over the
    full-resolution planes) of the frames' values about their fitted line: codec noise and
    resampling for a static blend, far more where something else passes (float32 (h, w), 0
    outside the mask and where fewer than three frames were fitted)."""
    full = [c for c in range(len(sums)) if tuple(scales[c]) == (1, 1)]
    r0, r1, c0, c1 = boxes[0]
    var = np.zeros((r1 - r0, c1 - c0))
    for c in full:
        cov, vb, vf = _moments(sums[c])
        var += np.maximum(vf - np.where(vb > 1e-12, cov * cov / np.maximum(vb, 1e-12), 0.0),
                          0.0)
    out = np.zeros((h, w), np.float32)
    ok = mask[r0:r1, c0:c1] & (sums[0]["n"] >= 3)
    out[r0:r1, c0:c1] = np.where(ok, np.sqrt(var / max(1, len(full))), 0.0)
    return out


def _background(get: Callable[[int], Sequence[np.ndarray]], p0: list[np.ndarray],
                xy: np.ndarray, canvas: Canvas, mask: np.ndarray, scales: _Scales,
                shapes: _Shapes, grow: int,
                progress: ProgressCallback) -> list[CanvasAccumulator]:
    """Step 1: per plane, the background canvas accumulated without the overlay region (the
    mask grown by ``grow``)."""
    n = len(xy)
    npl = len(p0)
    excl = ndimage.binary_dilation(mask, iterations=grow) if grow > 0 else mask
    keeps = [(~_downsample_max(excl, sx, sy, shapes[c])).astype(np.float32)
             for c, (sx, sy) in enumerate(scales)]
    # 1. background planes without the overlay
    accs = [CanvasAccumulator(canvas, scales[c]) for c in range(npl)]
    for k in range(n):
        pk = p0 if k == 0 else [np.asarray(p, np.float32) for p in get(k)]
        for c in range(npl):
            accs[c].add(pk[c], xy[k], keeps[c])
        progress("overlay: estimate", k + 1, 2 * n)
    return accs


def _line_sums(get: Callable[[int], Sequence[np.ndarray]], p0: list[np.ndarray],
               xy: np.ndarray, accs: list[CanvasAccumulator], mask: np.ndarray,
               scales: _Scales, shapes: _Shapes,
               progress: ProgressCallback) -> tuple[_Boxes, _Sums]:
    """Step 2: per plane, its box around the overlay and the running sums (n, b, f, bb, bf,
    ff) of the per-pixel line fit ``f = s b + t`` of frame values against the background."""
    n = len(xy)
    # 2. per-pixel sums for the line fit f = s b + t, inside the overlay's bounding box only
    align = max(max(sx, sy) for sx, sy in scales)
    y0, y1, x0, x1 = _bbox(mask, pad=1, align=align)
    boxes = []
    for c, (sx, sy) in enumerate(scales):
        r0, c0 = y0 // sy, x0 // sx
        r1, c1 = min(-(-y1 // sy), shapes[c][0]), min(-(-x1 // sx), shapes[c][1])
        boxes.append((r0, r1, c0, c1))
    keys = ("n", "b", "f", "bb", "bf", "ff")
    sums = [{key: np.zeros((r1 - r0, c1 - c0), np.float64) for key in keys}
            for (r0, r1, c0, c1) in boxes]
    for k in range(n):
        pk = p0 if k == 0 else [np.asarray(p, np.float32) for p in get(k)]
        for c, (sx, sy) in enumerate(scales):
            r0, r1, c0, c1 = boxes[c]
            at = (xy[k, 0] + c0 * sx, xy[k, 1] + r0 * sy)
            b, cov = accs[c].seen_from(at, (r1 - r0, c1 - c0))
            ok = (cov > 0.99).astype(np.float64)
            f = pk[c][r0:r1, c0:c1].astype(np.float64)
            s = sums[c]
            s["n"] += ok
            s["b"] += ok * b
            s["f"] += ok * f
            s["bb"] += ok * b * b
            s["bf"] += ok * b * f
            s["ff"] += ok * f * f
        progress("overlay: estimate", n + k + 1, 2 * n)
    return boxes, sums


def _moments(s: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One plane's running sums (:func:`_line_sums`) as per-pixel moments of the frame
    values ``f`` against the background ``b``: (cov(b, f), var(b), var(f)), float64."""
    nn = np.maximum(s["n"], 1)
    mb, mf = s["b"] / nn, s["f"] / nn
    return s["bf"] / nn - mb * mf, s["bb"] / nn - mb * mb, s["ff"] / nn - mf * mf


def _alpha(sums: _Sums, boxes: _Boxes, scales: _Scales, mask: np.ndarray,
           min_spread: float, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """Step 3: alpha (h, w) float32 from the slope ``1 - a`` shared by the full-resolution
    planes; pixels without enough background variety take their neighbours' alpha. With
    the pixels whose slope was fitted (bool (h, w))."""
    npl = len(sums)
    # 3. slope shared by the full-resolution planes
    full = [c for c in range(npl) if tuple(scales[c]) == (1, 1)]
    r0, r1, c0, c1 = boxes[0]
    mbox = mask[r0:r1, c0:c1]
    cov_bf = np.zeros(mbox.shape)
    var_b = np.zeros(mbox.shape)
    cnt = sums[0]["n"]
    for c in full:
        cov, vb, _ = _moments(sums[c])
        cov_bf += cov
        var_b += vb
    enough = (cnt >= 3) & (var_b > len(full) * min_spread**2) & mbox
    slope = np.where(enough, cov_bf / np.maximum(var_b, 1e-12), np.nan)
    abox = np.clip(1.0 - slope, 0.0, 1.0)
    # pixels without enough background variety: alpha from the overlay neighbours
    need = mbox & ~enough
    if need.any() and enough.any():
        _, (iy, ix) = ndimage.distance_transform_edt(~enough, return_indices=True)
        abox[need] = abox[iy[need], ix[need]]
    alpha = np.zeros((h, w), dtype=np.float32)
    alpha[r0:r1, c0:c1] = np.where(mbox, np.nan_to_num(abox, nan=1.0), 0.0)
    fitted = np.zeros((h, w), dtype=bool)
    fitted[r0:r1, c0:c1] = enough
    return alpha, fitted


def _colors(sums: _Sums, boxes: _Boxes, scales: _Scales, shapes: _Shapes,
            mask: np.ndarray, alpha: np.ndarray) -> list[np.ndarray]:
    """Step 4: per plane, the overlay colour from the fit's intercept."""
    # 4. colour: intercept t = mean f - (1 - a) mean b = a c  ->  c = t / a
    colors = []
    for c, (sx, sy) in enumerate(scales):
        r0, r1, c0, c1 = boxes[c]
        s = sums[c]
        a_c = _downsample_mean(alpha, sx, sy, shapes[c])[r0:r1, c0:c1].astype(np.float64)
        m_c = _downsample_max(mask, sx, sy, shapes[c])[r0:r1, c0:c1]
        nn = np.maximum(s["n"], 1)
        mb, mf = s["b"] / nn, s["f"] / nn
        t = mf - (1.0 - a_c) * mb
        col = np.divide(t, a_c, out=np.zeros_like(t), where=a_c > 0.02)
        # pixels no frame saw over a known background: the frames' mean is the best guess
        col = np.where(s["n"] >= 1, col, mf)
        full_col = np.zeros(shapes[c], dtype=np.float32)
        full_col[r0:r1, c0:c1] = np.where(m_c, col, 0.0)
        colors.append(full_col)
    return colors


def _bbox(mask: np.ndarray, *, pad: int = 0, align: int = 1) -> tuple[int, int, int, int]:
    """``(y0, y1, x0, x1)`` of the True pixels, grown by ``pad`` and widened to multiples of
    ``align`` (so subsampled planes get whole samples); the whole array when empty."""
    h, w = mask.shape
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return 0, h, 0, w
    y0, y1 = max(0, rows[0] - pad), min(h, rows[-1] + 1 + pad)
    x0, x1 = max(0, cols[0] - pad), min(w, cols[-1] + 1 + pad)
    y0, x0 = (y0 // align) * align, (x0 // align) * align
    y1, x1 = min(h, -(-y1 // align) * align), min(w, -(-x1 // align) * align)
    return int(y0), int(y1), int(x0), int(x1)


# a static blend's frames lie within codec noise and resampling of their line (a 720p logo:
# median RMS 0.015 working units); scrolling credits through the same place: 0.22
MISFIT = 0.05
MISFIT_SHARE = 0.5  # a part with more of its fitted pixels above MISFIT is no static blend


def static_parts(mask: np.ndarray, misfit: np.ndarray) -> np.ndarray:
    """The connected parts (8-connected, bool (h, w)) of ``mask`` that are a static blend:
    at most :data:`MISFIT_SHARE` of their fitted pixels (``misfit`` > 0,
    :attr:`OverlayFit.misfit`) lie more than :data:`MISFIT` from their line. A part where
    the frames do not follow one line is something changing on screen (credits scrolling
    through a place in every frame), nothing to un-blend."""
    lab, n = ndimage.label(mask, structure=np.ones((3, 3), bool))
    if n == 0:
        return mask
    fitted = np.bincount(lab.ravel(), weights=(misfit > 0).ravel(), minlength=n + 1)
    off = np.bincount(lab.ravel(), weights=(misfit > MISFIT).ravel(), minlength=n + 1)
    keep = off <= MISFIT_SHARE * fitted
    keep[0] = False
    return keep[lab]

"""Static overlays and TV logos: detect, estimate colour and alpha, remove.

A logo, a credit or a watermark stays fixed **in frame coordinates** while the camera pans the
background. Such pixels disagree with the background stitched from the other frames at the
same canvas place, whereas ordinary pixels agree with it (catalogue §6.4 "DiffRender"):

1. :func:`detect_static` — render the background on the canvas with the current mask left out,
   then for every frame pixel the mean absolute difference between the frame and that
   background seen from the frame's position. Static pixels stand out; the split is a two-class
   (Otsu) threshold on log differences, kept only when the upper class sits well above the
   noise level. Two or three rounds (mask -> background without it -> difference) clean the
   background of the overlay's own smear.
2. :func:`estimate_overlay` — a semi-transparent overlay composes as
   ``f_k = (1 - a) b_k + a c`` per pixel, with ``b_k`` the background that frame k shows there.
   The background comes from the canvas rendered without the overlay region (other frames see
   it uncovered). Per pixel, a straight-line fit of ``f`` against ``b`` across frames gives the
   slope ``1 - a`` and the intercept ``a c`` (one slope shared by the full-resolution planes).
   Only running sums are kept (frame-sized), so frames stream.
3. :func:`remove_overlay` — invert the composition, ``b = (f - a c) / (1 - a)``, where ``a`` is
   below ``alpha_max``; :func:`overlay_weights` gives the matching inverse-variance weights
   ``(1 - a)^2`` (0 where the overlay is opaque) so a render prefers frames that saw the pixel
   uncovered.

Coordinates: offsets as in :mod:`overmix.geometry` (``frame_k(i, j) = frame_0(i + y_k, j +
x_k)``); canvas pixel (i, j) at frame-0 coordinates ``(canvas.x + j, canvas.y + i)``. Masks and
alpha are in frame coordinates at luma resolution. Values are working planes (float32, Y' in
[0, 1], Cb/Cr in [-0.5, 0.5], or R'G'B' in [0, 1]).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy import ndimage

from overmix.errors import UsageError
from overmix.geometry import Canvas
from overmix.progress import ProgressCallback, no_progress
from overmix.providers import LumaProvider, PlanesProvider, luma_reader, reader
from overmix.warp import CanvasAccumulator, reduce_box, sample_bilinear

__all__ = [
    "OverlayRemoved",
    "detect_static",
    "estimate_overlay",
    "overlay_weights",
    "remove_overlay",
    "static_mask",
]



def _otsu(v: np.ndarray, bins: int = 256) -> float:
    """Otsu's threshold of the values ``v`` (between-class variance maximum)."""
    hist, edges = np.histogram(v, bins=bins)
    p = hist.astype(np.float64) / max(hist.sum(), 1)
    centres = 0.5 * (edges[:-1] + edges[1:])
    w0 = np.cumsum(p)
    m = np.cumsum(p * centres)
    mt = m[-1]
    w1 = 1.0 - w0
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mt * w0 - m) ** 2 / (w0 * w1)
    between[~np.isfinite(between)] = -1
    return float(edges[int(np.argmax(between)) + 1])


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


def _upsample(a: np.ndarray, sx: int, sy: int, shape: tuple[int, int]) -> np.ndarray:
    """Nearest upsampling of a plane to luma resolution (for weights/alpha only)."""
    if (sx, sy) == (1, 1):
        return a
    return np.repeat(np.repeat(a, sy, axis=0), sx, axis=1)[: shape[0], : shape[1]]


def _drop_specks(mask: np.ndarray, min_size: int) -> np.ndarray:
    """Remove 8-connected components smaller than ``min_size`` pixels."""
    if min_size <= 1 or not mask.any():
        return mask
    lab, count = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    sizes = np.bincount(lab.ravel(), minlength=count + 1)
    small = sizes < min_size
    small[0] = False
    return mask & ~small[lab]


# --------------------------------------------------------------------------------------------
# Detection
# --------------------------------------------------------------------------------------------


def detect_static(lumas: LumaProvider, offsets_xy: np.ndarray, canvas: Canvas | None = None, *,
                  iterations: int = 3, min_contrast: float = 4.0, grow: int = 2,
                  min_size: int = 6, robust_passes: int = 3, tau: float = 0.03,
                  min_alpha: float = 0.15, reduce: int | None = None,
                  progress: ProgressCallback | None = None) -> np.ndarray:
    """Where content stays fixed in frame coordinates while the background moves.

    Parameters
    ----------
    lumas : callable ``k -> (h, w) float32`` or sequence
        Working Y' of each frame.
    offsets_xy : ndarray (n, 2)
        Aligned ``(x, y)`` of each frame (frame-0 luma pixels).
    canvas : Canvas or None
    iterations : int
        Rounds of mask -> background without it -> difference (the first round uses the
        robust background; it stops early when the mask no longer changes). With ``reduce``
        > 1 the coarse round counts for two.
    min_contrast : float
        Static pixels differ from the background by at least this many times the median
        difference (the noise level).
    grow : int
        Pixels by which the mask is grown when it is left out of the background.
    min_size : int
        Connected specks smaller than this (pixels) are dropped.
    min_alpha : float
        Where the background seen through a pixel varies, the pixel must attenuate it by at
        least this much (fitted slope of frame vs background below ``1 - min_alpha``).
    robust_passes, tau : int, float
        The first round's background is a Cauchy-weighted mean (scale ``tau``, working Y')
        refined over this many extra passes, so the overlay's smear along the pan (it covers
        each canvas point in several frames) does not leak into it before the mask exists.
    reduce : int or None
        The first (robust, most expensive) round runs on frames reduced by this factor
        (Gaussian low-pass, every r-th sample); later rounds refine at full resolution.
        None: 1 per 640 px of frame width.

    Returns
    -------
    ndarray (h, w) float32 in [0, 1], frame coordinates: 1 = static overlay; 0.5 is the
    decision threshold (``score > 0.5`` is the mask, see :func:`static_mask`).
    """
    progress = progress or no_progress
    xy = np.asarray(offsets_xy, dtype=np.float64).reshape(-1, 2)
    n = len(xy)
    y0 = luma_reader(lumas)(0)
    h, w = y0.shape
    if canvas is None:
        canvas = Canvas.covering(xy, w, h)
    none = np.zeros((h, w), dtype=np.float32)
    if n < 3:
        return none
    if reduce is None:
        reduce = max(1, round(w / 640))
    kw = dict(min_contrast=min_contrast, min_size=min_size, min_alpha=min_alpha, tau=tau)
    total = (robust_passes + 2) * n + 2 * n * (iterations - 1)
    state = {"done": 0}

    def tick(k: int) -> None:
        state["done"] += 1
        progress("overlay: detect", min(state["done"], total), total)

    if reduce > 1:
        r = reduce
        raw = reader(lumas)
        small = lambda k: reduce_box(raw(k), r)  # noqa: E731
        xs = xy / r
        hs, ws = small(0).shape
        found = _detect_round(small, xs, Canvas.covering(xs, ws, hs), None, robust_passes,
                              tick, **kw)
        if found is None:
            return none
        coarse = np.repeat(np.repeat(found[1], r, axis=0), r, axis=1)[:h, :w]
        mask = np.zeros((h, w), dtype=bool)
        mask[: coarse.shape[0], : coarse.shape[1]] = coarse
        mask = ndimage.binary_dilation(mask, iterations=r)
        first_passes = 0
        # the coarse round stands for the robust round and one refinement
        rounds = max(1, iterations - 2)
    else:
        mask = np.zeros((h, w), dtype=bool)
        first_passes = robust_passes
        rounds = iterations
    score = none
    for it in range(rounds):
        excl = ndimage.binary_dilation(mask, iterations=grow) if mask.any() else mask
        # with the overlay left out, a plain mean is background enough
        found = _detect_round(lumas, xy, canvas, excl, first_passes if it == 0 else 0, tick,
                              **kw)
        if found is None:
            return none
        score, new = found
        changed = int((new ^ mask).sum())
        mask = new
        if changed <= max(2, new.sum() // 500):
            break
    return score




def _detect_round(lumas: LumaProvider, xy: np.ndarray, canvas: Canvas,
                  exclude: np.ndarray | None, passes: int, tick: Callable[[int], None], *,
                  min_contrast: float, min_size: int, min_alpha: float,
                  tau: float) -> tuple[np.ndarray, np.ndarray] | None:
    """One round: background without ``exclude`` -> per-pixel difference -> mask.

    Returns ``(score, mask)`` or None when nothing is static.
    """
    n = len(xy)
    read = luma_reader(lumas)
    f0 = read(0)
    h, w = f0.shape
    wk = None if exclude is None else (~exclude).astype(np.float32)
    mean, cov = _robust_background(lumas, xy, canvas, wk, passes=passes, tau=tau, tick=tick)
    dsum = np.zeros((h, w), dtype=np.float32)
    dcnt = np.zeros((h, w), dtype=np.float32)
    # sums for the per-pixel line f = s b + t (an overlay has slope 1 - alpha < 1); float32
    # is enough: values are in [0, 1] and the variances tested are >= (4 noise)^2
    sb, sf, sbb, sbf = (np.zeros((h, w), dtype=np.float32) for _ in range(4))
    for k in range(n):
        f = f0 if k == 0 else read(k)
        ry, rx = (xy[k, 1] - canvas.y), (xy[k, 0] - canvas.x)
        val, c = sample_bilinear(mean, cov, ry, rx, h, w)
        ok = c > 0.99
        bv = np.where(ok, val, np.float32(0))
        fv = np.where(ok, f, np.float32(0))
        dsum += np.abs(fv - bv)
        dcnt += ok
        sb += bv
        sf += fv
        sbb += bv * bv
        sbf += bv * fv
        tick(k)
    d = np.divide(dsum, dcnt, out=np.zeros_like(dsum), where=dcnt > 0)
    valid = dcnt >= max(2, 0.1 * n)
    if valid.sum() < 16:
        return None
    noise = float(np.median(d[valid])) + 1e-4
    # Otsu on log differences splits balanced classes; a small overlay (a TV logo is well
    # under 1 % of the frame) would put Otsu's split inside the noise, so the threshold is
    # at least ``min_contrast`` times the median (noise) difference.
    logd = np.log(np.maximum(d[valid], noise * 0.1))
    t = max(math.exp(_otsu(logd)), min_contrast * noise)
    # Misregistered edges also differ from the background, but they follow it (slope ~1);
    # an overlay attenuates it (slope 1 - alpha). Where the background varies enough to
    # tell, require a slope clearly below 1.
    nn = np.maximum(dcnt, 1)
    var_b = sbb / nn - (sb / nn) ** 2
    cov_bf = sbf / nn - (sb / nn) * (sf / nn)
    told = var_b > (4 * noise) ** 2
    slope = np.divide(cov_bf, var_b, out=np.ones_like(var_b), where=told)
    follows = told & (slope > 1.0 - min_alpha)
    new = _drop_specks(valid & (d > t) & ~follows, min_size)
    if not new.any():
        return None
    score = (d * d / (d * d + t * t)).astype(np.float32)
    score[~valid] = 0.0
    score = np.where(new, np.maximum(score, 0.51), np.minimum(score, 0.49)).astype(np.float32)
    return score, new


def _robust_background(lumas: LumaProvider, xy: np.ndarray, canvas: Canvas,
                       weight: np.ndarray | None, *, passes: int, tau: float,
                       tick: Callable[[int], None] | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Canvas luma as a Cauchy M-estimate over frames (IRLS, one streaming pass each).

    Returns ``(mean, coverage)`` on the canvas.
    """
    n = len(xy)
    read = luma_reader(lumas)
    acc = CanvasAccumulator(canvas, (1, 1))
    for k in range(n):
        acc.add(read(k), xy[k], weight)
        if tick:
            tick(k)
    mean, cov = acc.mean(), np.minimum(acc.weight, 1.0)
    for _ in range(passes):
        acc = CanvasAccumulator(canvas, (1, 1))
        for k in range(n):
            f = read(k)
            ry, rx = xy[k, 1] - canvas.y, xy[k, 0] - canvas.x
            val, _ = sample_bilinear(mean, cov, ry, rx, f.shape[0], f.shape[1])
            r = (f - val) / np.float32(tau)
            wr = 1.0 / (1.0 + r * r)
            acc.add(f, xy[k], wr if weight is None else weight * wr)
            if tick:
                tick(k)
        mean = np.where(acc.weight > 1e-6, acc.mean(), mean)
    return mean, cov


def static_mask(score: np.ndarray, *, threshold: float = 0.5, dilate: int = 0) -> np.ndarray:
    """Binary static-overlay mask (True = overlay / ignore) from :func:`detect_static`'s score,
    optionally grown by ``dilate`` pixels (for excluding it from alignment and rendering)."""
    m = np.asarray(score) > threshold
    if dilate > 0 and m.any():
        m = ndimage.binary_dilation(m, iterations=dilate)
    return m


# --------------------------------------------------------------------------------------------
# Colour and alpha
# --------------------------------------------------------------------------------------------


def estimate_overlay(planes: PlanesProvider, offsets_xy: np.ndarray, canvas: Canvas | None,
                     mask: np.ndarray, *, scales: Sequence[tuple[int, int]] | None = None,
                     grow: int = 2, min_spread: float = 0.02,
                     progress: ProgressCallback | None = None
                     ) -> tuple[list[np.ndarray], np.ndarray]:
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
    color : list of ndarray, one per plane, plane-shaped float32 (0 outside the mask)
        Overlay colour in the planes' own units.
    alpha : ndarray (h, w) float32 in [0, 1]
        Overlay opacity (0 outside the mask).
    """
    progress = progress or no_progress
    xy = np.asarray(offsets_xy, dtype=np.float64).reshape(-1, 2)
    n = len(xy)
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
    # 2. per-pixel sums for the line fit f = s b + t, inside the overlay's bounding box only
    align = max(max(sx, sy) for sx, sy in scales)
    y0, y1, x0, x1 = _bbox(mask, pad=1, align=align)
    boxes = []
    for c, (sx, sy) in enumerate(scales):
        r0, c0 = y0 // sy, x0 // sx
        r1, c1 = min(-(-y1 // sy), shapes[c][0]), min(-(-x1 // sx), shapes[c][1])
        boxes.append((r0, r1, c0, c1))
    sums = [{key: np.zeros((r1 - r0, c1 - c0), np.float64) for key in ("n", "b", "f", "bb", "bf")}
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
        progress("overlay: estimate", n + k + 1, 2 * n)
    # 3. slope shared by the full-resolution planes
    full = [c for c in range(npl) if tuple(scales[c]) == (1, 1)]
    r0, r1, c0, c1 = boxes[0]
    mbox = mask[r0:r1, c0:c1]
    cov_bf = np.zeros(mbox.shape)
    var_b = np.zeros(mbox.shape)
    cnt = sums[0]["n"]
    for c in full:
        s = sums[c]
        nn = np.maximum(s["n"], 1)
        mb, mf = s["b"] / nn, s["f"] / nn
        cov_bf += s["bf"] / nn - mb * mf
        var_b += s["bb"] / nn - mb * mb
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
    return colors, alpha


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


def remove_overlay(frame_planes: Sequence[np.ndarray], color: Sequence[np.ndarray],
                   alpha: np.ndarray, *, alpha_max: float = 0.9) -> list[np.ndarray]:
    """Undo ``f = (1 - a) b + a c`` on one frame: ``b = (f - a c) / (1 - a)``.

    Parameters
    ----------
    frame_planes : sequence of ndarray
        Working planes of one frame (native resolution).
    color : sequence of ndarray
        Overlay colour per plane (from :func:`estimate_overlay`).
    alpha : ndarray (h, w) float32
        Overlay alpha at luma resolution.
    alpha_max : float
        Where ``a >= alpha_max`` the background cannot be recovered; those pixels are returned
        unchanged (give them weight 0, see :func:`overlay_weights`).

    Returns
    -------
    list of float32 ndarray, plane-shaped.
    """
    h, w = alpha.shape
    out = []
    scales = [(max(1, round(w / f.shape[1])), max(1, round(h / f.shape[0])))
              for f in frame_planes]
    y0, y1, x0, x1 = _bbox(alpha > 0, align=max(max(s) for s in scales))
    for (sx, sy), f, c in zip(scales, frame_planes, color, strict=True):
        f = np.array(f, dtype=np.float32)  # a copy: only the overlay's box changes
        r0, r1, c0, c1 = y0 // sy, -(-y1 // sy), x0 // sx, -(-x1 // sx)
        a = _downsample_mean(alpha[y0:y1, x0:x1], sx, sy, (r1 - r0, c1 - c0))
        fb, cb = f[r0:r1, c0:c1], np.asarray(c, np.float32)[r0:r1, c0:c1]
        ok = (a > 0) & (a < alpha_max)
        f[r0:r1, c0:c1] = np.divide(fb - a * cb, 1.0 - a, out=fb.copy(), where=ok)
        out.append(f)
    return out


def overlay_weights(alpha: np.ndarray, *, alpha_max: float = 0.9) -> np.ndarray:
    """Render weights after :func:`remove_overlay`: ``(1 - a)^2`` (the inverse noise gain of
    the inversion), 0 where ``a >= alpha_max``; frame coordinates, luma resolution."""
    a = np.asarray(alpha, np.float32)
    return np.where(a < alpha_max, (1.0 - a) ** 2, 0.0).astype(np.float32)


class OverlayRemoved:
    """A frame provider (e.g. a FrameStore) seen with a static overlay removed.

    ``planes(k)`` and ``luma(k)`` go through :func:`remove_overlay`; every other attribute
    (``layout``, ``color``, ``shape``, ``indices``, ``alpha``, ...) is the wrapped provider's.
    Render with :func:`overlay_weights` as the mask so opaque overlay pixels are left out.
    """

    def __init__(self, base: object, color: Sequence[np.ndarray], alpha: np.ndarray, *,
                 alpha_max: float = 0.9) -> None:
        self.base = base
        self.overlay_color = [np.asarray(c, np.float32) for c in color]
        self.overlay_alpha = np.asarray(alpha, np.float32)
        self.alpha_max = alpha_max

    def __getattr__(self, name: str) -> object:
        return getattr(self.base, name)

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def planes(self, k: int) -> tuple[np.ndarray, ...]:
        return tuple(remove_overlay(self.base.planes(k), self.overlay_color,  # type: ignore
                                    self.overlay_alpha, alpha_max=self.alpha_max))

    def luma(self, k: int) -> np.ndarray:
        return remove_overlay([self.base.luma(k)], self.overlay_color[:1],  # type: ignore
                              self.overlay_alpha, alpha_max=self.alpha_max)[0]

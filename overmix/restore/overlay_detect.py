"""Static overlay detection (:mod:`overmix.restore.overlay` step 1): the background rendered
with the current mask left out, per frame pixel the mean absolute difference to it, a two-class
(Otsu) split on log differences above the noise, refined over rounds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import ndimage

from overmix.geometry import Canvas
from overmix.progress import ProgressCallback, no_progress
from overmix.providers import LumaProvider, luma_reader, reader
from overmix.warp import CanvasAccumulator, reduce_box, sample_bilinear


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


def _drop_specks(mask: np.ndarray, min_size: int) -> np.ndarray:
    """Remove 8-connected components smaller than ``min_size`` pixels."""
    if min_size <= 1 or not mask.any():
        return mask
    lab, count = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    sizes = np.bincount(lab.ravel(), minlength=count + 1)
    small = sizes < min_size
    small[0] = False
    return mask & ~small[lab]


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
        coarse = _coarse_mask(lumas, xy, reduce, h, w, robust_passes, tick, kw)
        if coarse is None:
            return none
        mask = coarse
        first_passes = 0
        # the coarse round stands for the robust round and one refinement
        rounds = max(1, iterations - 2)
    else:
        mask = np.zeros((h, w), dtype=bool)
        first_passes = robust_passes
        rounds = iterations
    return _refine(lumas, xy, canvas, mask, rounds, first_passes, grow, tick, kw, none)


def _coarse_mask(lumas: LumaProvider, xy: np.ndarray, r: int, h: int, w: int,
                 robust_passes: int, tick: Callable[[int], None],
                 kw: dict[str, Any]) -> np.ndarray | None:
    """The first (robust) round on frames box-reduced by ``r``: its mask at full resolution
    (h, w) bool, grown by ``r``; None when nothing is static."""
    raw = reader(lumas)
    small = lambda k: reduce_box(raw(k), r)  # noqa: E731
    xs = xy / r
    hs, ws = small(0).shape
    found = _detect_round(small, xs, Canvas.covering(xs, ws, hs), None, robust_passes,
                          tick, **kw)
    if found is None:
        return None
    coarse = np.repeat(np.repeat(found[1], r, axis=0), r, axis=1)[:h, :w]
    mask = np.zeros((h, w), dtype=bool)
    mask[: coarse.shape[0], : coarse.shape[1]] = coarse
    return ndimage.binary_dilation(mask, iterations=r)


def _refine(lumas: LumaProvider, xy: np.ndarray, canvas: Canvas, mask: np.ndarray,
            rounds: int, first_passes: int, grow: int, tick: Callable[[int], None],
            kw: dict[str, Any], none: np.ndarray) -> np.ndarray:
    """Full-resolution rounds (mask -> background without it -> difference) until the mask
    settles; the last round's score, or ``none`` when a round finds nothing."""
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

"""Lighting compensation: per-frame gain and offset on Y' (flashes, fades).

Model: frame k shows the scene ``s`` as ``f_k = a_k * s + b_k`` on working Y' (a flash scales
R'G'B', a fade to black scales, a fade to white adds). Chroma scales with the same ``a_k``
(``Cb = (B' - Y') / (2 (1 - Kb))`` is linear in R'G'B', and an added grey has none).

Estimation is pairwise and streaming: for each frame k and a few later frames j (default
distances 1, 2 and 4), frame j is warped onto frame k by the offsets and a robust line
``f_j = A f_k + B`` is fitted on the overlap (Huber IRLS, clipped pixels excluded). Then
``log a_j - log a_k = log A`` is solved for all frames by weighted least squares, and
``b_j - A b_k = B`` likewise. The gauge (which brightness is "the scene") is set so that the
median frame has gain 1 and offset 0: a flash on a minority of frames is corrected towards the
others.

Coordinates: offsets as in :mod:`overmix.geometry`; values are working planes (Y' in [0, 1],
Cb/Cr in [-0.5, 0.5], float32).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.linalg import lsqr

from overmix.errors import AlignmentError
from overmix.geometry import Canvas
from overmix.progress import ProgressCallback, no_progress
from overmix.providers import LumaProvider, luma_reader
from overmix.warp import sample_bilinear

__all__ = ["apply_gain", "estimate_gains", "fit_pair", "should_compensate"]

def fit_pair(x: np.ndarray, y: np.ndarray, *, iterations: int = 5,
             clip: tuple[float, float] = (0.02, 0.98)) -> tuple[float, float, float]:
    """Robust line ``y = A x + B`` (reduced major axis, Huber IRLS).

    Parameters
    ----------
    x, y : ndarray (m,) float
        Paired samples (the same scene points in two frames).
    clip : (lo, hi)
        Samples outside this range in either frame are dropped (clipped highlights/shadows).

    Returns
    -------
    (A, B, weight) : the fit and a confidence weight (0 when it cannot be fitted).
    """
    keep = (x > clip[0]) & (x < clip[1]) & (y > clip[0]) & (y < clip[1])
    x, y = x[keep].astype(np.float64), y[keep].astype(np.float64)
    if x.size < 50 or float(np.var(x)) < 1e-5:
        return 1.0, 0.0, 0.0
    w = np.ones_like(x)
    a, b = 1.0, 0.0
    for _ in range(iterations):
        sw = w.sum()
        mx, my = (w * x).sum() / sw, (w * y).sum() / sw
        vx = (w * (x - mx) ** 2).sum()
        vy = (w * (y - my) ** 2).sum()
        cxy = (w * (x - mx) * (y - my)).sum()
        if vx <= 0 or cxy <= 0:
            return 1.0, 0.0, 0.0
        # Reduced-major-axis slope: both frames are equally noisy, and an ordinary y-on-x fit
        # would shrink every slope by var(s) / (var(s) + noise), a bias that accumulates along
        # the chain of pairs.
        a = float(math.sqrt(vy / vx))
        b = float(my - a * mx)
        r = y - (a * x + b)
        scale = 1.4826 * float(np.median(np.abs(r))) + 1e-4
        c = 1.345 * scale  # Huber constant for 95% efficiency
        ar = np.abs(r)
        w = np.where(ar <= c, 1.0, c / np.maximum(ar, 1e-12))
    r = y - (a * x + b)
    resid = float(np.sqrt(np.mean(w * r * r)) + 1e-3)
    conf = float(np.var(x)) * w.sum() / (resid * resid)
    return a, b, conf


def estimate_gains(lumas: LumaProvider, offsets_xy: np.ndarray, canvas: Canvas | None = None, *,
                   jumps: Sequence[int] = (1, 2, 4), mask: np.ndarray | None = None,
                   max_samples: int = 20000,
                   progress: ProgressCallback | None = None) -> np.ndarray:
    """Per-frame ``(gain, offset)`` on working Y' relative to the scene.

    Parameters
    ----------
    lumas : callable ``k -> (h, w) float32`` or sequence
        Working Y' of each frame.
    offsets_xy : ndarray (n, 2)
        Aligned ``(x, y)`` of each frame (frame-0 luma pixels).
    canvas : Canvas or None
        Unused (kept for a uniform signature with the other stages).
    jumps : sequence of int
        Frame distances paired.
    mask : ndarray (h, w) bool or None
        Frame-coordinate ignore mask (True = ignore; logos, animated parts).
    max_samples : int
        Pixels per pair used in the fit (a regular subsample).

    Returns
    -------
    ndarray (n, 2) float64 : column 0 gain ``a_k``, column 1 offset ``b_k``, so that
    ``f_k = a_k * s + b_k``; the scene is ``(f_k - b_k) / a_k``.
    """
    progress = progress or no_progress
    xy = np.asarray(offsets_xy, dtype=np.float64).reshape(-1, 2)
    n = len(xy)
    if n == 0:
        raise AlignmentError("no frames for lighting estimation")
    out = np.zeros((n, 2))
    out[:, 0] = 1.0
    if n == 1:
        return out
    get = luma_reader(lumas)
    jumps = sorted({int(j) for j in jumps if 0 < int(j) < n})
    cache: dict[int, np.ndarray] = {}
    pairs: list[tuple[int, int, float, float, float]] = []
    for k in range(n):
        for j in [k] + [k + d for d in jumps]:
            if j < n and j not in cache:
                cache[j] = get(j)
        fk = cache[k]
        h, w = fk.shape
        step = max(1, int(math.sqrt(h * w / max_samples)))
        for d in jumps:
            j = k + d
            if j >= n:
                break
            val, cov = sample_bilinear(cache[j], None, xy[k, 1] - xy[j, 1],
                                       xy[k, 0] - xy[j, 0], h, w)
            ok = cov > 0.999
            if mask is not None:
                # the mask is fixed in frame coordinates: ignore it in both frames
                mv, _ = sample_bilinear(mask.astype(np.float32), None, xy[k, 1] - xy[j, 1],
                                xy[k, 0] - xy[j, 0], h, w)
                ok &= ~mask & (mv < 0.01)
            ok = ok[::step, ::step]
            a, b, conf = fit_pair(fk[::step, ::step][ok], val[::step, ::step][ok])
            if conf > 0 and a > 0.05:
                pairs.append((k, j, a, b, conf))
        cache.pop(k, None)
        progress("lighting", k + 1, n)
    if not pairs:
        return out
    # log a_j - log a_k = log A (weighted LS, gauge by a soft prior towards 0)
    m = len(pairs)
    rows = np.repeat(np.arange(m), 2)
    cols = np.array([[p[1], p[0]] for p in pairs]).ravel()
    sw = np.sqrt(np.array([p[4] for p in pairs]))
    sw = sw / sw.max()
    vals = np.stack([sw, -sw], axis=1).ravel()
    prior = 1e-3
    mat = coo_matrix((np.concatenate([vals, np.full(n, prior)]),
                      (np.concatenate([rows, m + np.arange(n)]),
                       np.concatenate([cols, np.arange(n)]))), shape=(m + n, n)).tocsr()
    rhs = np.concatenate([sw * np.log([p[2] for p in pairs]), np.zeros(n)])
    loga = lsqr(mat, rhs, atol=1e-12, btol=1e-12)[0]
    loga -= np.median(loga)
    a = np.exp(loga)
    # b_j - A b_k = B
    vals_b = np.stack([sw, -sw * np.array([p[2] for p in pairs])], axis=1).ravel()
    mat_b = coo_matrix((np.concatenate([vals_b, np.full(n, prior)]),
                        (np.concatenate([rows, m + np.arange(n)]),
                         np.concatenate([cols, np.arange(n)]))), shape=(m + n, n)).tocsr()
    rhs_b = np.concatenate([sw * np.array([p[3] for p in pairs]), np.zeros(n)])
    b = lsqr(mat_b, rhs_b, atol=1e-12, btol=1e-12)[0]
    # gauge: s' = s + d moves b_k by -a_k d; choose d so the median offset is 0
    d = float(np.median(b / a))
    b = b - a * d
    out[:, 0], out[:, 1] = a, b
    return out


def should_compensate(gains: np.ndarray, *, gain_tol: float = 0.03,
                      offset_tol: float = 0.015) -> bool:
    """``--lighting auto``: True when some frame's gain or offset departs from the scene's."""
    g = np.asarray(gains, dtype=np.float64).reshape(-1, 2)
    if len(g) == 0:
        return False
    return bool(np.max(np.abs(g[:, 0] - 1.0)) > gain_tol
                or np.max(np.abs(g[:, 1])) > offset_tol)


def apply_gain(planes: Sequence[np.ndarray], gain: Sequence[float]) -> list[np.ndarray]:
    """Undo one frame's lighting: ``Y' = (f - b) / a``, ``C = C / a`` (working planes).

    Parameters
    ----------
    planes : sequence of ndarray (plane 0 Y', planes 1-2 Cb, Cr at any resolution)
    gain : (a, b) from :func:`estimate_gains`

    Returns
    -------
    list of float32 ndarray
    """
    a, b = float(gain[0]), float(gain[1])
    if a <= 0:
        a = 1.0
    out = [((np.asarray(planes[0], np.float32) - np.float32(b)) / np.float32(a))]
    out += [np.asarray(p, np.float32) / np.float32(a) for p in planes[1:]]
    return out

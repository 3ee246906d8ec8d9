"""One Gauss-Newton step of :mod:`overmix.registration.similarity` on a set of tiles.

Each tile is resampled half-way on both planes (ref at ``q + D/2``, mov at ``q − D/2``) with
the translation path's separable 12-tap Lanczos, one kernel per tile or, for a zoom, one per
sampled row and column (:func:`_sample`); the rotation part of D (and a pan's tiny zoom) is
left to a first-order correction of the residual. Every pixel's Gauss-Newton row, residual
and values go into one float64 array (:func:`_columns`), whose weighted and plain products
give the normal equations and all the statistics in two matrix products (:func:`_step`).
Parameters, conventions and the robust weights: :mod:`overmix.registration.similarity`.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from overmix.errors import AlignmentError
from overmix.registration.fine import _MIN_RSCALE
from overmix.registration.pyramid import _ENC_GAIN, _R, _Level
from overmix.registration.refine import _half_diff, _windows

# Below this spread (px) of a tile's zoom displacement one kernel per tile is enough.
_EXACT_ZOOM = 1e-3


# Kernel rows tabulated at this many phases per pixel over [-0.5, 1.5) and interpolated
# linearly (error ~1e-7, far below float32 resampling; evaluating sinc per sampled column was
# a third of a similarity step's time).
_PHASES = 2048


@functools.lru_cache(maxsize=1)
def _kernel_table() -> np.ndarray:
    """(2 _PHASES + 2, 2R + 2) float64: :func:`_lanczos` rows at ``-0.5 + i / _PHASES``."""
    frac = np.arange(2 * _PHASES + 2, dtype=np.float64) / _PHASES - 0.5
    t = np.arange(-_R, _R + 2, dtype=np.float64) - frac[:, None]
    k = np.sinc(t) * np.sinc(t / _R)
    k /= k.sum(axis=-1, keepdims=True)
    k.flags.writeable = False  # cached and shared
    return k


def _lanczos(frac: np.ndarray) -> np.ndarray:
    """Lanczos-R weights for sampling at ``floor + frac`` from taps ``floor - R .. floor + R
    + 1`` (one spare tap each side, so that ``frac`` may lie anywhere in [-0.5, 1.5)): shape
    ``frac.shape + (2R + 2,)``, float64, each row summing to 1."""
    u = (np.clip(frac, -0.5, 1.5 - 1e-9) + 0.5) * _PHASES
    i = u.astype(np.int64)
    w = (u - i)[..., None]
    tab = _kernel_table()
    return tab[i] * (1 - w) + tab[i + 1] * w


def _bands(k: np.ndarray, n: int) -> np.ndarray:
    """(T, n + taps - 1, n) float32 matrices with ``M[t, c + j, c] = k[t, c, j]`` (``k``
    (T, n, taps): a kernel per output column; or (T, taps), one for all)."""
    T, taps = k.shape[0], k.shape[-1]
    m = np.zeros((T, (n + taps - 1) * n), np.float32)
    idx = (np.arange(n) * (n + 1))[:, None] + np.arange(taps) * n  # (n, taps)
    m[:, idx] = (k if k.ndim == 3 else k[:, None, :]).astype(np.float32)
    return m.reshape(T, n + taps - 1, n)


def _resample(img: np.ndarray, r0: np.ndarray, c0: np.ndarray, nr: int, nc: int,
              ky: np.ndarray, kx: np.ndarray) -> np.ndarray:
    """Per-tile separable resampling: ``out[t, r, c] = Σ ky[t, r, i] kx[t, c, j]
    img[r0 + r + i, c0 + c + j]`` (float32 (T, nr, nc); ``ky`` (T, nr, taps), ``kx``
    (T, nc, taps): a kernel per output row and column)."""
    taps = kx.shape[-1]
    win = _windows(img, r0, c0, nr + taps - 1, nc + taps - 1).astype(np.float32)
    tmp = np.matmul(win, _bands(kx, nc))
    return np.matmul(_bands(ky, nr).transpose(0, 2, 1), tmp)


@dataclass
class _Fit:
    """A step's statistics at (t, μ) (see SimilarityResult), mov's gain and offset for the
    next step, the robust scale of its residuals and each tile's mean squared residual."""

    t: complex
    mu: complex
    zncc: float
    rms: float
    sig_t: float
    sig_mu: float
    alpha: float = 1.0
    beta: float = 0.0
    scale: float = 0.0  # robust scale of the residuals for the next step
    tile_ms: np.ndarray | None = None  # (T,) mean squared residual of each tile used


def _sample(a_lv: _Level, b_lv: _Level, tiles: np.ndarray, th: int, tw: int,
            dt: np.ndarray, zoom: float, exact: bool) -> tuple[np.ndarray, np.ndarray]:
    """Both planes resampled half-way on every tile, with a 2 px margin for the gradient:
    ref at ``q + D/2``, mov at ``q − D/2`` (``dt`` (T,) complex: D at each tile's centre),
    float32 (T, th + 4, tw + 4) each in luma units.

    With ``exact``, the zoom part of D (``zoom`` x the offset from the tile centre) varies
    along a row in x and along a column in y: each sampled column (row) gets its own kernel,
    so that part is resampled exactly (a finite-difference gradient under-reads fine line art,
    which biased the zoom by ~0.2 % when it was left to the first-order correction)."""
    rows_s, cols_s = th + 4, tw + 4
    ay, ax = dt.imag / 2, dt.real / 2
    q0, qx0 = tiles[:, 0], tiles[:, 1]
    if exact:
        half_y = 0.5 * zoom * (np.arange(rows_s) - 2 - (th - 1) / 2)
        half_x = 0.5 * zoom * (np.arange(cols_s) - 2 - (tw - 1) / 2)
    out = []
    for sign, lv in ((1.0, a_lv), (-1.0, b_lv)):
        fy, fx = np.floor(sign * ay), np.floor(sign * ax)
        py, px = sign * ay - fy, sign * ax - fx
        if exact:
            py, px = py[:, None] + sign * half_y, px[:, None] + sign * half_x
        out.append(_resample(lv.img, q0 - 2 + fy.astype(np.int64) - _R,
                             qx0 - 2 + fx.astype(np.int64) - _R, rows_s, cols_s,
                             _lanczos(py) * (1.0 / _ENC_GAIN), _lanczos(px)))
    return out[0], out[1]


def _valid(a_lv: _Level, b_lv: _Level, tiles: np.ndarray, th: int, tw: int,
           dt: np.ndarray) -> np.ndarray | None:
    """Pixels (T, th, tw) whose samples on both sides lie on usable pixels (None: all)."""
    if a_lv.kvalid is None and b_lv.kvalid is None:
        return None
    va = a_lv.kvalid if a_lv.kvalid is not None else np.ones(a_lv.img.shape, bool)
    vb = b_lv.kvalid if b_lv.kvalid is not None else np.ones(b_lv.img.shape, bool)
    q0, qx0 = tiles[:, 0], tiles[:, 1]
    ry, rx = np.round(dt.imag / 2).astype(np.int64), np.round(dt.real / 2).astype(np.int64)
    return _windows(va, q0 + ry, qx0 + rx, th, tw) & _windows(vb, q0 - ry, qx0 - rx, th, tw)


def _columns(sa: np.ndarray, sb: np.ndarray, off: np.ndarray, mu: complex, exact: bool,
             rotate: bool, gain: tuple[float, float], ok: np.ndarray | None) -> np.ndarray:
    """The Gauss-Newton rows of every pixel, float64 (K + 4, T, th, tw): the Jacobian
    ``gx, gy, gx·X + gy·Y`` (and ``gy·X − gx·Y`` with ``rotate``; K of them), the residual
    ``r``, then ``a``, ``b`` and 1 (the pixel's weight: 0 where ``ok`` is False, every row
    zero there too).

    ``sa``, ``sb``: :func:`_sample`'s tiles; ``off`` (T,) complex: each tile centre relative
    to the frame centre (X + iY of a pixel = its offset from the tile centre + ``off``). The
    residual ``a − (α b + β)`` gets the first-order correction ``g·(D(q) − D(tile centre))``
    for the part of D that :func:`_sample` resampled at the tile centre (the rotation, and
    the zoom unless ``exact``); g is the five-point gradient of ``(a + α b + β) / 2``."""
    alpha, beta = gain
    th, tw = sa.shape[1] - 4, sa.shape[2] - 4
    m = sa + np.float32(alpha) * sb
    k = 3 + rotate
    u = np.empty((k + 4,) + (sa.shape[0], th, tw))
    u[0] = m[:, 2:-2, :] @ _half_diff(tw)
    u[1] = np.matmul(_half_diff(th).T, m[:, :, 2:-2])
    gx, gy = u[0], u[1]
    rr = np.arange(th, dtype=np.float64)[:, None] - (th - 1) / 2
    cc = np.arange(tw, dtype=np.float64)[None, :] - (tw - 1) / 2
    X = cc + off.real[:, None, None]  # (T, 1, tw)
    Y = rr + off.imag[:, None, None]  # (T, th, 1)
    np.multiply(gx, X, out=u[2])
    u[2] += gy * Y
    if rotate:
        np.multiply(gy, X, out=u[3])
        u[3] -= gx * Y
    zoom = 0.0 if exact else mu.real
    r, a, b = u[k], u[k + 1], u[k + 2]
    a[...] = sa[:, 2:-2, 2:-2]
    b[...] = sb[:, 2:-2, 2:-2]
    np.multiply(gx, zoom * cc - mu.imag * rr, out=r)
    r += gy * (mu.imag * cc + zoom * rr)
    r += a
    r -= alpha * b
    r -= beta
    if ok is None:
        u[k + 3] = 1.0
    else:
        u[k + 3] = ok
        u[:k + 3] *= u[k + 3]
    return u


def _step(a_lv: _Level, b_lv: _Level, t: complex, mu: complex, c: complex, rotate: bool,
          layout: tuple[np.ndarray, int, int], c2: float, gain: tuple[float, float],
          ) -> tuple[complex, complex, _Fit, float]:
    """One Gauss-Newton step at (t, μ) on one pyramid level (coordinates of that level).
    Returns the updates of t and μ, the fit statistics and the robust scale."""
    tiles, th, tw = layout
    qc = (tiles[:, 1] + (tw - 1) / 2) + 1j * (tiles[:, 0] + (th - 1) / 2)
    dt = t + mu * (qc - c)  # D at each tile's centre
    # a zoom moving a tile's edge by under _EXACT_ZOOM px (a pan) keeps one kernel per tile
    # and the first-order correction: a third less time per step
    exact = abs(mu.real) * (max(th, tw) + 4) / 2 > _EXACT_ZOOM
    sa, sb = _sample(a_lv, b_lv, tiles, th, tw, dt, mu.real, exact)
    ok = _valid(a_lv, b_lv, tiles, th, tw, dt)
    u = _columns(sa, sb, qc - c, mu, exact, rotate, gain, ok).reshape(4 + 3 + rotate, -1)
    k = 3 + rotate
    r = u[k]
    n = float(u[-1].sum()) if ok is not None else float(r.size)
    if n < 64:
        raise AlignmentError("the frames do not overlap enough to be aligned")
    ar = np.abs(r if ok is None else r[ok.reshape(-1)])
    new_scale = max(1.4826 * float(np.partition(ar, ar.size // 2)[ar.size // 2]), _MIN_RSCALE)
    # weighted normal equations (Cauchy weights) and the plain sums of r, a, b, 1
    rw = 1.0 / (1.0 + r * r / c2) if c2 > 0 else None
    jr = u[:k + 1]
    hg = (jr if rw is None else jr * rw) @ jr.T
    sums = u[k:] @ u[k:].T
    try:
        cov = np.linalg.inv(hg[:k, :k])
    except np.linalg.LinAlgError:
        raise AlignmentError("the frames have too little detail to be aligned") from None
    delta = -cov @ hg[:k, k]
    dtt = complex(delta[0], delta[1])
    dmu = complex(delta[2], delta[3] if rotate else 0.0)
    fit = _fit_stats(t, mu, sums, n, cov, k)
    nt = len(tiles)
    fit.tile_ms = np.einsum("ij,ij->i", r.reshape(nt, -1), r.reshape(nt, -1)) / np.maximum(
        u[-1].reshape(nt, -1).sum(axis=1), 1.0)
    return dtt, dmu, fit, new_scale


def _fit_stats(t: complex, mu: complex, sums: np.ndarray, n: float, cov: np.ndarray,
               params: int) -> _Fit:
    """ZNCC, RMS residual, standard errors of t and μ (from the inverse normal matrix
    ``cov`` and ``params`` unknowns) and mov's gain and offset against ref, from the sums
    ``sums`` (4, 4) of the products of r, a, b and 1 over the pixels used."""
    srr, sa_, sb_ = float(sums[0, 0]), float(sums[1, 3]), float(sums[2, 3])
    va_ = float(sums[1, 1]) - sa_ * sa_ / n
    vb_ = float(sums[2, 2]) - sb_ * sb_ / n
    cv = float(sums[1, 2]) - sa_ * sb_ / n
    z = cv / math.sqrt(va_ * vb_) if va_ > 1e-12 and vb_ > 1e-12 else 0.0
    s2 = srr / max(n - params, 1)
    sig_t = math.sqrt(max(s2 * (cov[0, 0] + cov[1, 1]) / 2, 0.0))
    sig_mu = math.sqrt(max(s2 * float(np.mean(np.diag(cov)[2:])), 0.0))
    al = min(max(math.sqrt(va_ / vb_), 0.25), 4.0) if va_ > 1e-12 and vb_ > 1e-12 else 1.0
    return _Fit(t, mu, max(0.0, min(1.0, z)), math.sqrt(srr / n), sig_t, sig_mu, al,
                (sa_ - al * sb_) / n)

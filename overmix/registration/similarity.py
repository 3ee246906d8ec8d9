"""Zoom and rotation between two luma planes: sub-pixel Gauss-Newton on a similarity.

Convention (DESIGN §4 "Transforms"): the transform of ``mov`` relative to ``ref`` maps mov's
pixel centre p = (column, row) to ref coordinates ``T(p) = x + m·p`` in complex notation
(``p = column + i·row``, ``x = dx + i·dy``, ``m = s·e^{i·a}``): s > 1 means mov shows more of
the scene. The translation case is m = 1 (:mod:`overmix.registration.phase`).

Method
------
The refinement is the symmetric one of :mod:`overmix.registration.phase`, generalised: both
planes are resampled "half-way", ref at ``q + D(q)/2`` and mov at ``q − D(q)/2``, where the
displacement D of the midpoint q is itself a similarity (for ``T(p) = x + m·p``,
``D(q) = t + μ·(q − c)`` with ``μ = 2(m − 1)/(m + 1)``, c the frame centre), so neither side is
favoured and the estimate has no pull towards whole pixels. Parameters: t (2) and μ (2 for
``similarity``, its real part only for ``zoom``), linear in D, so each Gauss-Newton row is
``[gx, gy, gx·X + gy·Y, −gx·Y + gy·X]`` (X, Y = q − c, g the gradient of the mean image).

Resampling per pixel through a rotation would need a 2-D kernel; instead each small tile
(at most 32 x 32 or 48 x 48 px) is resampled at the displacement of its centre with the same
separable 12-tap Lanczos as the translation path (one batched matrix product per pass, per-tile
kernels), and the residual gets the first-order correction ``g·(D(q) − D(tile centre))``
(under 0.1 px across a tile for the zooms met between video frames; its second-order error is
far below the noise). The refinement runs from a coarse pyramid level down to full
resolution; the coarse start is the translation phase correlation of
:mod:`overmix.registration.phase` (at the centre, a zoom or a small rotation is a shift) plus
the caller's prediction of μ (the chained zoom/rotation rate of the neighbours).
Robust (Cauchy) weights, gain/offset matching, masks (``kvalid``) and the statistics (ZNCC,
RMS, standard errors from the normal matrix) are as in the translation path.
"""

from __future__ import annotations

import cmath
import functools
import math
from dataclasses import dataclass

import numpy as np

from overmix.errors import AlignmentError, UsageError
from overmix.registration.coarse import _coarse
from overmix.registration.fine import _MIN_RSCALE, _ROBUST_C, _region
from overmix.registration.pyramid import _ENC_GAIN, _R, PreparedPlane, _Level
from overmix.registration.refine import HIST_SCALE, NBINS, _diff_matrix, _windows
from overmix.registration.tiles import _CELL, _MIN_TILES, _energy, _fine_budget, _spread, _tiles

__all__ = ["SimilarityResult", "estimate_similarity", "MODELS", "midpoint", "transform"]

MODELS = ("zoom", "similarity")
# Tile side (px) for frames taken whole, at most; tiles shrink (to _MIN_TILE) so that the
# displacement varies by at most _TILE_SPREAD px between a tile's centre and its edge.
_STILE = 32
_MIN_TILE = 16
_TILE_SPREAD = 0.15
# A budgeted refinement of a slow zoom samples about this many tiles. Twenty smaller ones
# average more H.264 macroblocks (each displaced a little on its own: mean corner error over 36
# fixed 8/10-bit clips 0.0447 -> 0.0383 px), but put more of them on a hardsub over a zoom
# (tests/cli/test_auto_pan.py: scale off by 0.12 %): kept at the translation path's 10.
_ZONES = 10
# Below this spread (px) of a tile's zoom displacement one kernel per tile is enough.
_EXACT_ZOOM = 1e-3


@dataclass(frozen=True)
class SimilarityResult:
    """Measured transform of ``mov`` relative to ``ref``: ``T(p) = x + m·p`` (complex).

    ``dx, dy`` = x; ``scale`` = |m|; ``angle`` = arg m (radians). ``cx, cy``: the
    displacement of the frame centre's midpoint ``D(c)`` (px; the best-measured position);
    ``mu`` the midpoint rate μ (complex). ``sigma_t`` and ``sigma_mu`` standard errors of D(c)
    (px) and μ (1), ``confidence`` the ZNCC, ``error`` the RMS residual (luma units).
    """

    dx: float
    dy: float
    scale: float
    angle: float
    cx: float
    cy: float
    mu: complex
    confidence: float
    error: float
    overlap: float
    sigma_t: float
    sigma_mu: float

    @property
    def m(self) -> complex:
        return cmath.rect(self.scale, self.angle)


def transform(t: complex, mu: complex, c: complex) -> tuple[complex, complex]:
    """Midpoint parameters ``D(q) = t + μ (q − c)`` -> ``(x, m)`` of ``T(p) = x + m p``."""
    m = (2 + mu) / (2 - mu)
    x = t * (1 + m) / 2 - (m - 1) * c
    return x, m


def midpoint(x: complex, m: complex, c: complex) -> tuple[complex, complex]:
    """``(x, m)`` -> midpoint parameters ``(t, μ)`` (inverse of :func:`transform`)."""
    mu = 2 * (m - 1) / (m + 1)
    t = 2 * (x + (m - 1) * c) / (1 + m)
    return t, mu


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
    t: complex
    mu: complex
    zncc: float
    rms: float
    sig_t: float
    sig_mu: float
    alpha: float = 1.0
    beta: float = 0.0


def _layout(h: int, w: int, t: complex, mu: complex, c: complex, budget: int | None,
            energy: np.ndarray | None, cell: int) -> tuple[np.ndarray, int, int]:
    """Tiles (starts (n, 2) row/col, rows, cols) inside the region where every tile's
    resampling stays inside both planes."""
    corners = [complex(0, 0), complex(w - 1, 0), complex(0, h - 1), complex(w - 1, h - 1)]
    ds = [t + mu * (q - c) for q in corners]
    reg = _region(h, w, max(abs(d.real) for d in ds) + 1, max(abs(d.imag) for d in ds) + 1)
    if reg is None:
        raise AlignmentError("the frames do not overlap enough to be aligned")
    y0, x0, rows, cols = reg
    side = int(min(_STILE, max(_MIN_TILE, 2 * _TILE_SPREAD / max(abs(mu), 1e-9))))
    if budget is None or rows * cols <= budget:
        th, tw = min(rows, side), min(cols, side)
        ys = _spread(y0, rows, th, -(-rows // th))
        xs = _spread(x0, cols, tw, -(-cols // tw))
        grid = np.stack(np.meshgrid(ys, xs, indexing="ij"), axis=-1).reshape(-1, 2)
        return np.ascontiguousarray(grid, np.int64), th, tw
    # more, smaller zones only for the slow zooms of video (a fast one cuts tiles smaller)
    zones = _ZONES if side >= _STILE else _MIN_TILES
    starts, th, tw = _tiles(y0, x0, rows, cols, budget, energy, (t.real / 2, t.imag / 2), cell,
                            zones)
    k = -(-max(th, tw) // max(side, _MIN_TILE))
    if k > 1:  # a fast zoom: cut each tile into k x k smaller ones
        sh, sw = th // k, tw // k
        off = np.stack(np.meshgrid(np.arange(k) * sh, np.arange(k) * sw, indexing="ij"),
                       axis=-1).reshape(-1, 2)
        starts = (starts[:, None, :] + off[None]).reshape(-1, 2)
        th, tw = sh, sw
    return np.ascontiguousarray(starts, np.int64), th, tw


def _step(a_lv: _Level, b_lv: _Level, t: complex, mu: complex, c: complex, rotate: bool,
          layout: tuple[np.ndarray, int, int], c2: float, gain: tuple[float, float],
          ) -> tuple[complex, complex, _Fit, float]:
    """One Gauss-Newton step at (t, μ) on one pyramid level (coordinates of that level).
    Returns the updates of t and μ, the fit statistics and the robust scale."""
    tiles, th, tw = layout
    # displacement at each tile's centre, and each side's half shift
    qc = (tiles[:, 1] + (tw - 1) / 2) + 1j * (tiles[:, 0] + (th - 1) / 2)
    dt = t + mu * (qc - c)
    ay, ax = dt.imag / 2, dt.real / 2
    fay, fax, fby, fbx = np.floor(ay), np.floor(ax), np.floor(-ay), np.floor(-ax)
    rows_s, cols_s = th + 4, tw + 4
    q0, qx0 = tiles[:, 0], tiles[:, 1]
    unit = 1.0 / _ENC_GAIN
    # The zoom part of D varies along a row in x and along a column in y: each sampled column
    # (row) gets its own kernel, so that part is resampled exactly; only the rotation part
    # (x varying with the row, y with the column) is left to the first-order correction below
    # (a finite-difference gradient under-reads fine line art, which biased the zoom by ~0.2 %)
    # (a zoom moving a tile's edge by under _EXACT_ZOOM px — a pan — keeps one kernel per
    # tile and the first-order correction: a third less time per step)
    exact = abs(mu.real) * max(rows_s, cols_s) / 2 > _EXACT_ZOOM
    half_y = 0.5 * mu.real * (np.arange(rows_s) - 2 - (th - 1) / 2) if exact else 0.0
    half_x = 0.5 * mu.real * (np.arange(cols_s) - 2 - (tw - 1) / 2) if exact else 0.0

    def frac(f: np.ndarray) -> np.ndarray:
        return f[:, None] + half_y if exact else f

    def frac_x(f: np.ndarray) -> np.ndarray:
        return f[:, None] + half_x if exact else f

    sa = _resample(a_lv.img, q0 - 2 + fay.astype(np.int64) - _R,
                   qx0 - 2 + fax.astype(np.int64) - _R, rows_s, cols_s,
                   _lanczos(frac(ay - fay)) * unit, _lanczos(frac_x(ax - fax)))
    sb = _resample(b_lv.img, q0 - 2 + fby.astype(np.int64) - _R,
                   qx0 - 2 + fbx.astype(np.int64) - _R, rows_s, cols_s,
                   _lanczos(-frac(ay + fby)) * unit, _lanczos(-frac_x(ax + fbx)))
    alpha, beta = gain
    mm = 0.5 * (sa.astype(np.float64) + alpha * sb + beta)
    inner = (slice(None), slice(2, rows_s - 2), slice(2, cols_s - 2))
    a = sa[inner].astype(np.float64)
    b = sb[inner].astype(np.float64)
    gx = mm[:, 2:rows_s - 2, :] @ _diff_matrix(tw)
    gy = np.matmul(_diff_matrix(th).T, mm[:, :, 2:cols_s - 2])
    # pixel coordinates relative to the tile centre and to the frame centre
    rr = np.arange(th, dtype=np.float64)[None, :, None] - (th - 1) / 2
    cc = np.arange(tw, dtype=np.float64)[None, None, :] - (tw - 1) / 2
    X = cc + (qc.real - c.real)[:, None, None]
    Y = rr + (qc.imag - c.imag)[:, None, None]
    # first-order correction from the tile-centre displacement to each pixel's own
    zoom = 0.0 if exact else mu.real
    ex = zoom * cc - mu.imag * rr
    ey = mu.imag * cc + zoom * rr
    wgt: np.ndarray | float = 1.0
    ok = None
    if a_lv.kvalid is not None or b_lv.kvalid is not None:
        va = a_lv.kvalid if a_lv.kvalid is not None else np.ones(a_lv.img.shape, bool)
        vb = b_lv.kvalid if b_lv.kvalid is not None else np.ones(b_lv.img.shape, bool)
        ok = _windows(va, q0 + np.round(ay).astype(np.int64), qx0 + np.round(ax).astype(
            np.int64), th, tw) & _windows(vb, q0 + np.round(-ay).astype(np.int64),
                                          qx0 + np.round(-ax).astype(np.int64), th, tw)
        wgt = ok.astype(np.float64)
    r = a - alpha * b - beta + gx * ex + gy * ey
    if ok is not None:
        r = r * wgt
        a, b, gx, gy = a * wgt, b * wgt, gx * wgt, gy * wgt
    n = float(np.sum(wgt)) if ok is not None else float(a.size)
    if n < 64:
        raise AlignmentError("the frames do not overlap enough to be aligned")
    new_scale = _robust_scale(r, ok)
    rw = 1.0 / (1.0 + r * r / c2) if c2 > 0 else np.ones_like(r)
    cols = [gx, gy, gx * X + gy * Y]
    if rotate:
        cols.append(gy * X - gx * Y)
    J = np.stack(cols, axis=-1).reshape(-1, len(cols))
    wr = rw.reshape(-1)
    H = J.T @ (J * wr[:, None])
    g = J.T @ (wr * r.reshape(-1))
    try:
        delta = -np.linalg.solve(H, g)
        cov = np.linalg.inv(H)
    except np.linalg.LinAlgError:
        raise AlignmentError("the frames have too little detail to be aligned") from None
    dtt = complex(delta[0], delta[1])
    dmu = complex(delta[2], delta[3] if rotate else 0.0)
    fit = _fit_stats(t, mu, a, b, r, n, cov, len(cols))
    return dtt, dmu, fit, new_scale


def _robust_scale(r: np.ndarray, ok: np.ndarray | None) -> float:
    """1.4826 x median |r| over the usable pixels (at least _MIN_RSCALE), from a histogram."""
    ar = np.abs(r) if ok is None else np.abs(r[ok])
    counts = np.bincount(np.minimum((ar * HIST_SCALE).astype(np.int64), NBINS - 1).ravel(),
                         minlength=NBINS)
    half = np.searchsorted(np.cumsum(counts), 0.5 * counts.sum())
    return max(1.4826 * (half + 0.5) / HIST_SCALE, _MIN_RSCALE)


def _fit_stats(t: complex, mu: complex, a: np.ndarray, b: np.ndarray, r: np.ndarray, n: float,
               cov: np.ndarray, params: int) -> _Fit:
    """ZNCC, RMS residual, standard errors of t and μ (from the inverse normal matrix
    ``cov`` and ``params`` unknowns) and mov's gain and offset against ref."""
    sa_, sb_ = float(a.sum()), float(b.sum())
    va_ = float((a * a).sum()) - sa_ * sa_ / n
    vb_ = float((b * b).sum()) - sb_ * sb_ / n
    cv = float((a * b).sum()) - sa_ * sb_ / n
    z = cv / math.sqrt(va_ * vb_) if va_ > 1e-12 and vb_ > 1e-12 else 0.0
    srr = float((r * r).sum())
    s2 = srr / max(n - params, 1)
    sig_t = math.sqrt(max(s2 * (cov[0, 0] + cov[1, 1]) / 2, 0.0))
    sig_mu = math.sqrt(max(s2 * float(np.mean(np.diag(cov)[2:])), 0.0))
    al = min(max(math.sqrt(va_ / vb_), 0.25), 4.0) if va_ > 1e-12 and vb_ > 1e-12 else 1.0
    fit = _Fit(t, mu, max(0.0, min(1.0, z)), math.sqrt(srr / n), sig_t, sig_mu, al,
               (sa_ - al * sb_) / n)
    return fit


def _refine(ref: PreparedPlane, mov: PreparedPlane, t: complex, mu: complex, level: int,
            rotate: bool) -> _Fit:
    """Gauss-Newton from pyramid ``level`` down to full resolution; ``t`` in full-res px
    (displacement of the centre's midpoint), μ dimensionless."""
    h0, w0 = ref.shape
    c0 = complex((w0 - 1) / 2, (h0 - 1) / 2)
    fit: _Fit | None = None
    scale = 0.0
    for lvl in range(level, -1, -1):
        f = 2.0 ** lvl
        o = (f - 1) / 2
        a, b = ref.levels[lvl], mov.levels[lvl]
        h, w = a.img.shape
        c = complex((c0.real - o) / f, (c0.imag - o) / f)
        tl = t / f
        budget = _fine_budget(a.img.size)
        if budget is not None:  # four parameters: twice the translation path's pixels
            budget = 2 * budget if 4 * budget < a.img.size else None
        cell = max(_CELL >> lvl, 1)
        energy = _energy(ref) if budget is not None and (_CELL >> lvl) >= 1 else None
        radius = abs(complex(w, h)) / 2
        iters = 12 if lvl == 0 else 5
        layout = _layout(h, w, tl, mu, c, budget, energy, cell)
        for it in range(iters):
            gain = (fit.alpha, fit.beta) if fit is not None else (1.0, 0.0)
            if it and it % 3 == 0:  # the overlap moves with the estimate
                layout = _layout(h, w, tl, mu, c, budget, energy, cell)
            c2 = (_ROBUST_C * scale) ** 2
            dtt, dmu, fit, scale = _step(a, b, tl, mu, c, rotate, layout, c2, gain)
            move = abs(dtt) + abs(dmu) * radius  # largest change of D over the frame (px)
            if move > 1.0:  # outside the basin: damp
                dtt, dmu = dtt / move, dmu / move
            tl += dtt
            mu += dmu
            if move < (2e-3 if lvl == 0 else 2e-2):
                break
        t = tl * f
    assert fit is not None
    fit.t, fit.mu = t, mu
    return fit


# Below this ZNCC a searched pair also tries the log-polar starts (a fast zoom or rotation).
_SEARCH_ZNCC = 0.9
# The log-polar search runs on the finest pyramid level at most this many pixels on a side.
_SEARCH_SIDE = 160


def _search_scale(ref: PreparedPlane, mov: PreparedPlane, rotate: bool, c: complex,
                  best: _Fit | None) -> _Fit:
    """The best of ``best`` and refinements from the log-polar candidates
    (:func:`overmix.registration.logpolar.similarity_candidates`) at a pyramid level of at
    most about :data:`_SEARCH_SIDE` px on a side. A candidate whose zoom/rotation is within a
    pixel at the frame's corners of ``best``'s is not refined again (low-contrast or partly
    moving content matches poorly at the right transform too: only the FFTs are paid)."""
    from overmix.registration.logpolar import similarity_candidates

    lvl = 0
    while lvl + 1 < len(ref.levels) and min(ref.levels[lvl].img.shape) > _SEARCH_SIDE:
        lvl += 1
    f = 2 ** lvl
    o = complex((f - 1) / 2, (f - 1) / 2)
    a = ref.levels[lvl].img.astype(np.float32)
    b = mov.levels[lvl].img.astype(np.float32)
    have = None if best is None else transform(best.t, best.mu, c)[1]
    corner = abs(c)
    for xl, m in similarity_candidates(a, b, rotate):
        if have is not None and abs(cmath.log(m / have)) * corner < 1.0:
            continue  # the zoom/rotation already refined (a poor match for other reasons)
        # level px -> full resolution: P = f·p + o
        x = f * xl + (1 - m) * o
        t, mu = midpoint(x, m, c)
        try:
            fit = _refine(ref, mov, t, mu, lvl, rotate)
        except AlignmentError:
            continue
        if best is None or fit.zncc > best.zncc:
            best = fit
    if best is None:
        raise AlignmentError("the frames do not overlap enough to be aligned")
    return best


def estimate_similarity(ref: PreparedPlane, mov: PreparedPlane, *, model: str = "similarity",
                        guess: tuple[complex, complex] | None = None, search: bool = True,
                        min_overlap: float = 0.05, level: int = 0) -> SimilarityResult:
    """Zoom (and rotation) of ``mov`` relative to ``ref`` (both :func:`~overmix.registration.
    phase.prepare`\\ d).

    Parameters
    ----------
    model : "zoom" | "similarity"
        ``zoom``: translation + scale (angle 0); ``similarity``: + rotation.
    guess : (x, m) or None
        Predicted transform ``T(p) = x + m·p`` (complex). With ``search`` the translation is
        searched by phase correlation (the guess adds a candidate and gives m); without, the
        refinement starts from the guess at pyramid ``level`` (at full resolution it must be
        within about a pixel everywhere in the frame; each level doubles that).
    level : int
        Without ``search``: the pyramid level the refinement starts from (clipped to the
        coarsest).

    Returns
    -------
    SimilarityResult

    Raises
    ------
    AlignmentError
        No usable overlap or too little detail.
    """
    if model not in MODELS:
        raise UsageError(f"model must be zoom or similarity (got {model!r})")
    if ref.shape != mov.shape:
        raise AlignmentError("frames differ in size")
    h, w = ref.shape
    c = complex((w - 1) / 2, (h - 1) / 2)
    x0, m0 = guess if guess is not None else (0j, 1 + 0j)
    if model == "zoom":
        m0 = complex(abs(m0), 0.0)
    t0, mu0 = midpoint(x0, m0, c)
    if search or guess is None:
        fit = None
        try:
            cx, cy, lvl = _coarse(ref, mov, "xy", (t0.real, t0.imag) if guess is not None
                                  else None, min_overlap)
            # the coarse shift is that of the overlap's centre, close to D(c)
            fit = _refine(ref, mov, complex(cx, cy), mu0, lvl, model == "similarity")
        except AlignmentError:
            pass
        if fit is None or fit.zncc < _SEARCH_ZNCC:  # a zoom/rotation beyond the basin?
            fit = _search_scale(ref, mov, model == "similarity", c, fit)
    else:
        fit = _refine(ref, mov, t0, mu0, min(max(level, 0), len(ref.levels) - 1),
                      model == "similarity")
    x, m = transform(fit.t, fit.mu, c)
    d = fit.t
    overlap = max(0.0, (w - abs(d.real)) * (h - abs(d.imag)) / (w * h))
    return SimilarityResult(x.real, x.imag, abs(m), cmath.phase(m), d.real, d.imag, fit.mu,
                            fit.zncc, fit.rms, min(overlap, 1.0), fit.sig_t, fit.sig_mu)

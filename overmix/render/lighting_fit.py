"""The robust global fit of :mod:`overmix.render.lighting`: ``m_kc = a_k S_c + b_k`` over all
(frame, cell) observations by Gauss-Newton with the cell unknowns eliminated (Schur complement),
Cauchy IRLS, screen-fixed bins left out, the gauge fixed at the median frame, and the
uncertainty from the pseudo-inverse of the reduced normal matrix (:class:`LightingFit`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_CHANGE = 0.5 / 255  # auto: smallest change of Y' worth compensating (half an 8-bit code)
# iterations that look for screen-fixed content (after the first Gauss-Newton steps: the
# gains are then within ~0.3 %), the fewest iterations, and convergence (largest change of
# a gain or offset: 1e-5 is 0.001 %, far below the noise)
STATIC_PASSES = (1, 3)
MIN_ITER = 4
TOL = 1e-5


@dataclass
class LightingFit:
    """Per-frame lighting, its uncertainty and the auto decision.

    Attributes
    ----------
    gains : ndarray (n, 2) float64
        ``(a_k, b_k)`` with frame Y' = a_k · scene Y' + b_k (median frame: (1, 0)).
    change : ndarray (n,) float64
        Largest change of Y' the frame's lighting makes over the levels it shows (10th to
        90th percentile of its cells): ``max |(a_k - 1) s + b_k|``.
    change_se : ndarray (n,) float64
        Standard error of ``change`` (from the fit's covariance and residual scale).
    cells : int
        Canvas cells used; ``observations`` (frame, cell) pairs kept.
    cell : int
        Cell size (px).
    static_bins : int
        Frame-position bins left out as screen-fixed content.
    """

    gains: np.ndarray
    change: np.ndarray
    change_se: np.ndarray
    cells: int = 0
    observations: int = 0
    cell: int = 0
    static_bins: int = 0

    def changed(self, z: float = 5.0, min_change: float = MIN_CHANGE) -> bool:
        """``--lighting auto``: True when some frame's lighting differs from the scene's by
        more than ``z`` standard errors and more than ``min_change`` (Y')."""
        if len(self.change) == 0:
            return False
        limit = np.maximum(z * self.change_se, min_change)
        return bool(np.any(self.change > limit))


def _cauchy(r: np.ndarray, scale: float) -> np.ndarray:
    c = 2.385 * scale  # 95 % efficiency at the normal
    return 1.0 / (1.0 + (r / c) ** 2)


class _Pattern:
    """The fixed structure of the Schur complement (which frames see which cells), computed
    once per fit. The observations come ordered by cell, and the cells are numbered by their
    first frame (:func:`_by_first_frame`); the cells are taken in blocks of 256, so each
    block is a contiguous run of observations that touches a short run of frames and its
    Gram matrix is small (cost ~ cells x (frames per cell)^2)."""

    def __init__(self, k: np.ndarray, c: np.ndarray, n: int, ncell: int):
        self.k, self.c, self.n, self.ncell = k, c, n, ncell
        blk = c // 256
        cuts = np.flatnonzero(np.diff(blk)) + 1
        starts = np.concatenate([[0], cuts])
        ends = np.concatenate([cuts, [len(c)]])
        self.blocks = []
        for s0, s1 in zip(starts, ends, strict=True):
            kk = k[s0:s1]
            lo, hi = int(kk.min()), int(kk.max()) + 1
            cr = c[s0:s1]
            base = int(cr[0])
            nrow = int(cr[-1]) - base + 1
            # flat positions of (cell, a_k) in the block's (nrow, 2 (hi - lo)) matrix
            pos = (cr - base) * (2 * (hi - lo)) + 2 * (kk - lo)
            self.blocks.append((int(s0), int(s1), lo, hi, nrow, pos, base))


def _by_first_frame(k: np.ndarray, c: np.ndarray, n: int, ncell: int) -> tuple[np.ndarray,
                                                                                np.ndarray]:
    """``(order, label)``: the observations ordered by cell, the cells renumbered by the first
    frame that sees them (``c_new = label[c]``; non-decreasing along ``order``), so that the
    per-cell sums run over contiguous memory and :class:`_Pattern`'s blocks are slices."""
    first = np.full(ncell, n, np.int64)
    np.minimum.at(first, c, k)
    by_rank = np.argsort(first, kind="stable")  # new label -> old cell
    label = np.empty(ncell, np.int64)
    label[by_rank] = np.arange(ncell)
    return np.argsort(label[c], kind="stable"), label


def _gram(v: np.ndarray) -> np.ndarray:
    """``v^T v`` as a sum over row chunks small enough for one thread (m n k under 2^17):
    a threaded BLAS on one mid-sized product waits up to ~50x longer on a busy machine than the
    single-threaded products take (and einsum does not use BLAS: ~10x slower)."""
    ncol = v.shape[1]
    rows = max(1, (1 << 17) // max(ncol * ncol, 1))
    out = np.zeros((ncol, ncol))
    for i in range(0, len(v), rows):
        part = v[i:i + rows]
        out += part.T @ part
    return out


def _solve_reduced(p: _Pattern, w: np.ndarray, ak: np.ndarray, sc: np.ndarray, r: np.ndarray,
                   a: np.ndarray, damping: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One Gauss-Newton step of ``m = a_k S_c + b_k`` with the cell unknowns eliminated
    (``ak``, ``sc``: ``a[k]``, ``S[c]`` per observation; ``r`` the residuals).

    Returns ``(delta_theta (2n,) [a0, b0, a1, b1, ...], delta_S (ncell,), H_red (2n, 2n))``.
    """
    k, c, n, ncell = p.k, p.c, p.n, p.ncell
    # per-frame blocks and gradients (products shared: this runs over every observation)
    ws, wa, wr = w * sc, w * ak, w * r
    haa = np.bincount(k, ws * sc, n)
    hab = np.bincount(k, ws, n)
    hbb = np.bincount(k, w, n)
    ga = np.bincount(k, sc * wr, n)
    gb = np.bincount(k, wr, n)
    d = np.bincount(c, wa * ak, ncell)
    gs = np.bincount(c, ak * wr, ncell)
    dinv = np.where(d > 0, 1.0 / np.maximum(d, 1e-300), 0.0)
    h = np.zeros((2 * n, 2 * n))
    idx = np.arange(n)
    h[2 * idx, 2 * idx] = haa
    h[2 * idx, 2 * idx + 1] = hab
    h[2 * idx + 1, 2 * idx] = hab
    h[2 * idx + 1, 2 * idx + 1] = hbb
    g = np.empty(2 * n)
    g[0::2], g[1::2] = ga, gb
    # Schur complement: H_red = H_tt - U^T D^-1 U, U[c, 2k] = w a S, U[c, 2k+1] = w a,
    # block by block (see _Pattern)
    sd = np.sqrt(dinv)
    ub = wa * sd[c]
    ua = ub * sc
    gsd = gs * sd
    for s0, s1, lo, hi, nrow, pos, c0 in p.blocks:
        v = np.zeros(nrow * 2 * (hi - lo))
        # one observation per (cell, frame): plain assignment
        v[pos] = ua[s0:s1]
        v[pos + 1] = ub[s0:s1]
        v = v.reshape(nrow, 2 * (hi - lo))
        h[2 * lo:2 * hi, 2 * lo:2 * hi] -= _gram(v)
        g[2 * lo:2 * hi] -= np.einsum("ij,i->j", v, gsd[c0:c0 + nrow])
    h_red = h
    reg = _gauge_fixed(h_red, a, damping)
    dtheta = _chol_solve(_cholesky(reg), g)
    # back-substitution: dS = D^-1 (g_S - U dtheta)
    u_dt = np.bincount(c, wa * (sc * dtheta[0::2][k] + dtheta[1::2][k]), ncell)
    ds = dinv * (gs - u_dt)
    return dtheta, ds, h_red


def _fit(k: np.ndarray, c: np.ndarray, m: np.ndarray, fbin: np.ndarray, n: int, ncell: int,
         cell: int, iterations: int) -> LightingFit | None:
    """The robust global fit of ``m = a_k S_c + b_k`` over observations (k, c)."""
    k = k.astype(np.int64)
    order, label = _by_first_frame(k, c, n, ncell)
    k, c, m, fbin = k[order], label[c][order], m[order], fbin[order]
    base = np.ones(len(m))
    a, b = np.ones(n), np.zeros(n)
    cnt = np.bincount(c, minlength=ncell).astype(np.float64)
    s = np.bincount(c, m, ncell) / np.maximum(cnt, 1)
    static_bins = 0
    nbin_, bi = np.unique(fbin, return_inverse=True)
    nbin = len(nbin_)
    pattern = _Pattern(k, c, n, ncell)
    h_red = None
    wgt = base
    scale = 1.0
    for it in range(iterations):
        ak, sc = a[k], s[c]
        r = m - ak * sc - b[k]
        live = r if not static_bins else r[base > 0]
        scale = max(1.4826 * float(np.median(np.abs(live))), 1e-5) if live.size else 1e-5
        wgt = base * _cauchy(r, scale)
        if it in STATIC_PASSES:
            # screen-fixed content: frame-position bins where most frames disagree with the
            # scene (a hardsub, a logo, a character the camera follows)
            # (median |z| > 3: more than half of the bin's observations beyond 3 scales)
            out = np.bincount(bi, np.abs(r) > 3.0 * scale, nbin)
            bad = 2 * out > np.bincount(bi, minlength=nbin)
            if bad.any():
                static_bins = int(bad.sum())
                base = np.where(bad[bi], 0.0, base)
                wgt = base * _cauchy(r, scale)
        dtheta, ds, h_red = _solve_reduced(pattern, wgt, ak, sc, r, a, damping=1e-6)
        a = a + dtheta[0::2]
        b = b + dtheta[1::2]
        s = s + ds
        a, b, s = _gauge(a, b, s, k, wgt)
        if it >= MIN_ITER and float(np.abs(dtheta).max()) < TOL:
            break
    if h_red is None:
        return None
    # uncertainty: covariance sigma^2 H^+ (the gauge's null space removed by the pseudo-inverse),
    # sigma from the weighted residuals
    r = m - a[k] * s[c] - b[k]
    sw = float(wgt.sum())
    dof = max(sw - ncell - 2 * n, 1.0)
    sigma2 = float((wgt * r * r).sum()) / dof
    va, vb, vab = (v * sigma2 for v in _pinv_blocks(h_red, a))
    lo, hi = _frame_levels(k, s[c], wgt, n)
    change = np.zeros(n)
    change_se = np.zeros(n)
    for lev in (lo, hi):
        d = (a - 1.0) * lev + b
        v = np.maximum(va * lev * lev + 2 * vab * lev + vb, 0.0)
        better = np.abs(d) > change
        change = np.where(better, np.abs(d), change)
        change_se = np.where(better, np.sqrt(v), change_se)
    # frames without usable cells (all masked): lighting interpolated from the frames
    # around them in time (fades and flicker are the rule, not the exception, there)
    has = np.bincount(k, wgt, n) > 0
    if has.any() and not has.all():
        at = np.flatnonzero(has)
        a[~has] = np.interp(np.flatnonzero(~has), at, a[has])
        b[~has] = np.interp(np.flatnonzero(~has), at, b[has])
        change[~has], change_se[~has] = 0.0, 0.0
    used = np.bincount(c, wgt > 0.5, ncell) > 0
    return LightingFit(np.stack([a, b], axis=1), change, change_se, int(used.sum()),
                       int((wgt > 0.5).sum()), cell, static_bins)


def _gauge(a: np.ndarray, b: np.ndarray, s: np.ndarray, k: np.ndarray, w: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Choose the scene's brightness: the median frame (among frames with data) gets a = 1,
    b / a = 0. ``f = a S + b = (a / al)(al S) + b`` and ``= a (S + be) + (b - a be)``."""
    has = np.bincount(k, w, len(a)) > 0
    if not has.any() or np.any(a[has] <= 0):
        return a, b, s
    al = float(np.exp(np.median(np.log(a[has]))))
    a, s = a / al, s * al
    be = float(np.median(b[has] / a[has]))
    return a, b - a * be, s + be


def _gauge_basis(a: np.ndarray) -> np.ndarray:
    """(2n, 2) orthonormal directions of the gauge (the scene's free scale and offset):
    ``S -> (1 + e) S + h`` moves ``(a_k, b_k)`` by ``(-e a_k, -h a_k)``."""
    n = len(a)
    q = np.zeros((2 * n, 2))
    q[0::2, 0] = a
    q[1::2, 1] = a
    return q / np.maximum(np.linalg.norm(q, axis=0), 1e-300)


def _gauge_fixed(h: np.ndarray, a: np.ndarray, damping: float = 0.0) -> np.ndarray:
    """``H + c Q Q^T`` (+ a little damping): positive definite, the same as ``H`` off the
    gauge directions Q (``H`` is singular along them)."""
    q = _gauge_basis(a)
    c = max(float(np.trace(h)) / len(h), 1e-300)
    out = h + c * (q @ q.T)
    out[np.diag_indices_from(out)] += damping * np.maximum(np.diag(h), 0.0) + 1e-12 * c
    return out


def _cholesky(m: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of a small SPD matrix, column by column in numpy (einsum, no
    LAPACK: the threaded library spins for tens of milliseconds per call on a busy
    machine, longer than the whole factorisation takes here)."""
    n = len(m)
    low = np.zeros_like(m)
    for j in range(n):
        row = low[j, :j]
        d = m[j, j] - np.einsum("i,i->", row, row)
        d = np.sqrt(max(d, 1e-300))
        low[j, j] = d
        if j + 1 < n:
            low[j + 1:, j] = (m[j + 1:, j] - np.einsum("ij,j->i", low[j + 1:, :j], row)) / d
    return low


def _tri_inverse(low: np.ndarray) -> np.ndarray:
    """Inverse of a lower-triangular matrix by forward substitution (rows)."""
    n = len(low)
    inv = np.zeros_like(low)
    for j in range(n):
        rhs = -np.einsum("i,ij->j", low[j, :j], inv[:j])
        rhs[j] += 1.0
        inv[j] = rhs / low[j, j]
    return inv


def _chol_solve(low: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Solve ``L L^T x = g``."""
    n = len(g)
    y = np.zeros(n)
    for j in range(n):
        y[j] = (g[j] - np.einsum("i,i->", low[j, :j], y[:j])) / low[j, j]
    x = np.zeros(n)
    for j in range(n - 1, -1, -1):
        x[j] = (y[j] - np.einsum("i,i->", low[j + 1:, j], x[j + 1:])) / low[j, j]
    return x


def _pinv_blocks(h: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame ``(var a, var b, cov ab)`` of the pseudo-inverse of the reduced normal
    matrix ``H`` (gauge directions Q dropped): ``H^+ = (H + c Q Q^T)^-1 - Q Q^T / c``."""
    q = _gauge_basis(a)
    c = max(float(np.trace(h)) / len(h), 1e-300)
    inv = _tri_inverse(_cholesky(_gauge_fixed(h, a)))
    # (L L^T)^-1 = L^-T L^-1: entry (i, k) = sum_r inv[r, i] inv[r, k]
    va = np.einsum("ri,ri->i", inv[:, 0::2], inv[:, 0::2]) - q[0::2, 0] ** 2 / c
    vb = np.einsum("ri,ri->i", inv[:, 1::2], inv[:, 1::2]) - q[1::2, 1] ** 2 / c
    vab = np.einsum("ri,ri->i", inv[:, 0::2], inv[:, 1::2])
    return va, vb, vab


def _frame_levels(k: np.ndarray, sc: np.ndarray, w: np.ndarray, n: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """10th and 90th percentile of the scene level each frame shows (its inlier cells)."""
    lo, hi = np.full(n, 0.1), np.full(n, 0.9)
    keep = w > 0.5
    kk, ss = k[keep], sc[keep]
    order = np.lexsort((ss, kk))
    kk, ss = kk[order], ss[order]
    starts = np.searchsorted(kk, np.arange(n), "left")
    ends = np.searchsorted(kk, np.arange(n), "right")
    cnt = ends - starts
    ok = cnt > 0
    lo[ok] = ss[starts[ok] + (cnt[ok] - 1) // 10]
    hi[ok] = ss[starts[ok] + (9 * (cnt[ok] - 1)) // 10]
    return lo, hi


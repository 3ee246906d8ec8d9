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
# large fits settle first on every SUBSET-th cell (from SUBSET_FROM observations on)
SUBSET = 4
SUBSET_FROM = 40_000


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
    once per fit. The observations come ordered by cell, and the cells are numbered by the
    first and then the last frame that sees them (:func:`_by_frames`); the cells are taken in
    blocks of 256, so each block is a contiguous run of observations that touches a short run
    of frames and its Gram matrix is small (cost ~ cells x (frames per cell)^2)."""

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


def _by_frames(k: np.ndarray, c: np.ndarray, n: int, ncell: int) -> tuple[np.ndarray,
                                                                          np.ndarray]:
    """``(order, label)``: the observations ordered by cell, the cells renumbered by the first
    and then the last frame that sees them (``c_new = label[c]``; non-decreasing along
    ``order``), so that the per-cell sums run over contiguous memory and :class:`_Pattern`'s
    blocks are slices spanning few more frames than each of their cells does."""
    first = np.full(ncell, n, np.int64)
    np.minimum.at(first, c, k)
    last = np.zeros(ncell, np.int64)
    np.maximum.at(last, c, k)
    by_rank = np.argsort(first * (n + 1) + last, kind="stable")  # new label -> old cell
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


def _reduced_hessian(p: _Pattern, w: np.ndarray, ak: np.ndarray, sc: np.ndarray,
                     dinv: np.ndarray) -> np.ndarray:
    """The normal matrix of the frame unknowns with the cell unknowns eliminated (Schur
    complement), (2n, 2n) in the order [a0, b0, a1, b1, ...]: ``H_tt - U^T D^-1 U`` with
    ``U[c, 2k] = w a S``, ``U[c, 2k+1] = w a`` (``ak``, ``sc``: ``a[k]``, ``S[c]`` per
    observation), built block by block (see :class:`_Pattern`)."""
    k, c, n = p.k, p.c, p.n
    ws = w * sc
    h = np.zeros((2 * n, 2 * n))
    idx = np.arange(n)
    hab = np.bincount(k, ws, n)
    h[2 * idx, 2 * idx] = np.bincount(k, ws * sc, n)
    h[2 * idx, 2 * idx + 1] = hab
    h[2 * idx + 1, 2 * idx] = hab
    h[2 * idx + 1, 2 * idx + 1] = np.bincount(k, w, n)
    ub = w * ak * np.sqrt(dinv)[c]
    ua = ub * sc
    for s0, s1, lo, hi, nrow, pos, _ in p.blocks:
        v = np.zeros(nrow * 2 * (hi - lo))
        # one observation per (cell, frame): plain assignment
        v[pos] = ua[s0:s1]
        v[pos + 1] = ub[s0:s1]
        h[2 * lo:2 * hi, 2 * lo:2 * hi] -= _gram(v.reshape(nrow, 2 * (hi - lo)))
    return h


def _solve_reduced(p: _Pattern, w: np.ndarray, ak: np.ndarray, sc: np.ndarray, r: np.ndarray,
                   a: np.ndarray, factor: np.ndarray | None, damping: float
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One Gauss-Newton step of ``m = a_k S_c + b_k`` with the cell unknowns eliminated
    (``ak``, ``sc``: ``a[k]``, ``S[c]`` per observation; ``r`` the residuals).

    ``factor``: ``L^-1``, the inverse Cholesky factor of the gauge-fixed reduced normal matrix
    to use (from an earlier iteration: the step is then a quasi-Newton step towards the same
    solution, the gradient being exact), or None to build it (:func:`_reduced_hessian`).

    Returns ``(delta_theta (2n,) [a0, b0, a1, b1, ...], delta_S (ncell,), factor (2n, 2n))``.
    """
    k, c, n, ncell = p.k, p.c, p.n, p.ncell
    wr = w * r
    wa = w * ak
    d = np.bincount(c, wa * ak, ncell)
    gs = np.bincount(c, ak * wr, ncell)
    dinv = np.where(d > 0, 1.0 / np.maximum(d, 1e-300), 0.0)
    if factor is None:
        factor = _tri_inverse(_cholesky(_gauge_fixed(_reduced_hessian(p, w, ak, sc, dinv), a,
                                                     damping)))
    # reduced gradient g_t - U^T D^-1 g_S, per frame in one pass
    t = wr - wa * (gs * dinv)[c]
    g = np.empty(2 * n)
    g[0::2] = np.bincount(k, sc * t, n)
    g[1::2] = np.bincount(k, t, n)
    dtheta = factor.T @ (factor @ g)  # (L L^T)^-1 g = L^-T L^-1 g
    # back-substitution: dS = D^-1 (g_S - U dtheta)
    u_dt = np.bincount(c, wa * (sc * dtheta[0::2][k] + dtheta[1::2][k]), ncell)
    ds = dinv * (gs - u_dt)
    return dtheta, ds, factor


def _scale(r: np.ndarray, live: np.ndarray | None) -> float:
    """Robust residual scale (1.4826 MAD; from every 7th live residual: the median of a
    quarter million residuals per iteration cost more than the rest of the step)."""
    rr = r if live is None else r[live]
    rr = rr[::7] if rr.size > 7000 else rr
    return max(1.4826 * float(np.median(np.abs(rr))), 1e-5) if rr.size else 1e-5


def _static_bins(r: np.ndarray, scale: float, bi: np.ndarray, nbin: int) -> np.ndarray:
    """(nbin,) bool: frame-position bins where most frames disagree with the scene (a
    hardsub, a logo, a character the camera follows): more than half of the bin's
    observations beyond 3 scales (median |z| > 3)."""
    out = np.bincount(bi, np.abs(r) > 3.0 * scale, nbin)
    return 2 * out > np.bincount(bi, minlength=nbin)


@dataclass
class _State:
    """The unknowns of one fit and what its robust iterations leave."""

    a: np.ndarray
    b: np.ndarray
    s: np.ndarray
    bad: np.ndarray  # (nbin,) bool: screen-fixed bins left out
    wgt: np.ndarray | None = None
    factor: np.ndarray | None = None  # L^-1 of the gauge-fixed reduced matrix L L^T
    static_bins: int = 0


def _iterate(k: np.ndarray, c: np.ndarray, m: np.ndarray, bi: np.ndarray, st: _State,
             iterations: int, static_at: tuple[int, ...], min_iter: int,
             tol: float = TOL, fresh: bool = False) -> _State:
    """Robust Gauss-Newton iterations (Cauchy IRLS) from ``st`` over observations (k, c)
    (ordered by cell, cells by their frames: :func:`_by_frames`), until the largest change
    of a gain or offset is under ``tol`` (after ``min_iter``); screen-fixed bins looked
    for at the iterations ``static_at`` (``fresh``: the first look replaces the bins ``st``
    comes with, else they add up). The reduced normal matrix (``st.factor`` to start with, if
    any) is built again only when the bins change 2 % of the observations' weights or while
    the steps are large or do not shrink fast (else the last one's factor serves: the
    gradient is exact, so the solution is the same; the robust weights make the convergence
    linear, ~4x per iteration, with either)."""
    n, ncell, nbin = len(st.a), len(st.s), len(st.bad)
    pattern = _Pattern(k, c, n, ncell)
    a, b, s = st.a, st.b, st.s
    base = np.where(st.bad[bi], 0.0, 1.0)
    factor, last_step = st.factor, np.inf
    for it in range(iterations):
        ak, sc = a[k], s[c]
        r = m - ak * sc - b[k]
        scale = _scale(r, base > 0 if st.bad.any() else None)
        if it in static_at:
            bad = _static_bins(r, scale, bi, nbin)
            if fresh and it == static_at[0]:
                bad, st.static_bins = bad, int(bad.sum())
            else:
                st.static_bins = int(bad.sum()) if bad.any() else st.static_bins
                bad = st.bad | bad
            if not np.array_equal(bad, st.bad):
                moved = (bad != st.bad)[bi]
                if moved.mean() > 0.02:  # the matrix changes (else close enough to step by)
                    factor = None
                st.bad = bad
                base = np.where(bad[bi], 0.0, 1.0)
        wgt = base * _cauchy(r, scale)
        dtheta, ds, factor = _solve_reduced(pattern, wgt, ak, sc, r, a, factor, damping=1e-6)
        st.factor = factor
        a = a + dtheta[0::2]
        b = b + dtheta[1::2]
        s = s + ds
        a, b, s = _gauge(a, b, s, k, wgt)
        step = float(np.abs(dtheta).max())
        # linear convergence at rate q = step / last step: what is left is ~ step q / (1 - q)
        q = min(step / last_step, 0.9) if last_step > 0 else 0.0
        if it >= min_iter and (step < tol or step * q / (1 - q) < tol):
            break
        if step > 1e-3 or step > 0.5 * last_step:
            factor = None  # far from the solution or slow: build it again
        last_step = step
    st.a, st.b, st.s, st.wgt = a, b, s, wgt
    return st


def _cell_values(k: np.ndarray, c: np.ndarray, m: np.ndarray, w: np.ndarray, a: np.ndarray,
                 b: np.ndarray, ncell: int) -> np.ndarray:
    """Each cell's scene value given the frames' lighting: the weighted least-squares
    ``S_c = sum w a (m - b) / sum w a^2`` (the cell mean where no weight is left)."""
    ak = a[k]
    num = np.bincount(c, w * ak * (m - b[k]), ncell)
    den = np.bincount(c, w * ak * ak, ncell)
    mean = np.bincount(c, m, ncell) / np.maximum(np.bincount(c, minlength=ncell), 1)
    return np.where(den > 0, num / np.maximum(den, 1e-300), mean)


def _fit(k: np.ndarray, c: np.ndarray, m: np.ndarray, fbin: np.ndarray, n: int, ncell: int,
         cell: int, iterations: int, decide: bool = False) -> LightingFit | None:
    """The robust global fit of ``m = a_k S_c + b_k`` over observations (k, c).

    Large fits run first on every :data:`SUBSET`-th cell (a quarter of the work per
    iteration) until the gains settle, then on all cells from there: the screen-fixed bins
    are looked for again on all of them and the iterations go on to the same convergence as
    a fit from the start, in three steps instead of five or six. ``decide`` (``auto``): when
    the first fit finds no change (:meth:`LightingFit.changed`), it is the answer."""
    k = k.astype(np.int64)
    order, label = _by_frames(k, c, n, ncell)
    k, c, m, fbin = k[order], label[c][order], m[order], fbin[order]
    bi = fbin - fbin.min()
    nbin = int(bi.max()) + 1
    a, b, bad = np.ones(n), np.zeros(n), np.zeros(nbin, bool)
    if len(m) < SUBSET_FROM or ncell < 4 * SUBSET:
        st = _State(a, b, _cell_values(k, c, m, np.ones(len(m)), a, b, ncell), bad)
        st = _iterate(k, c, m, bi, st, iterations, STATIC_PASSES, MIN_ITER)
        return _summarise(k, c, m, st, n, ncell, cell)
    sub = c % SUBSET == 0
    ks, cs, ms, nsub = k[sub], c[sub] // SUBSET, m[sub], -(-ncell // SUBSET)
    part = _State(a, b, _cell_values(ks, cs, ms, np.ones(len(ms)), a, b, nsub), bad)
    # to within 3e-4: the full data's solution is ~2e-4 away from the subset's
    part = _iterate(ks, cs, ms, bi[sub], part, iterations, STATIC_PASSES, STATIC_PASSES[-1],
                    tol=3e-4)
    if decide:
        found = _summarise(ks, cs, ms, part, n, nsub, cell)
        if found is None or not found.changed():
            return found
    base = np.where(part.bad[bi], 0.0, 1.0)
    # the subset's matrix, scaled to all cells (SUBSET x the cells: L x sqrt(SUBSET)), serves
    # the quasi-Newton steps from there until the cells or the convergence call for a new one
    st = _State(part.a, part.b, _cell_values(k, c, m, base, part.a, part.b, ncell),
                part.bad, static_bins=part.static_bins,
                factor=None if part.factor is None else part.factor / np.sqrt(SUBSET))
    st = _iterate(k, c, m, bi, st, iterations, (0,), 1, fresh=True)
    return _summarise(k, c, m, st, n, ncell, cell)


def _summarise(k: np.ndarray, c: np.ndarray, m: np.ndarray, st: _State, n: int, ncell: int,
               cell: int) -> LightingFit | None:
    """The :class:`LightingFit` of converged unknowns: the uncertainty of each frame's
    change of Y' and the frames without data (None when nothing was fitted)."""
    a, b, s, wgt = st.a.copy(), st.b.copy(), st.s, st.wgt
    if wgt is None or st.factor is None:
        return None
    # uncertainty: covariance sigma^2 H^+ (the gauge's null space removed by the pseudo-inverse),
    # sigma from the weighted residuals
    r = m - a[k] * s[c] - b[k]
    sw = float(wgt.sum())
    dof = max(sw - ncell - 2 * n, 1.0)
    sigma2 = float((wgt * r * r).sum()) / dof
    va, vb, vab = (v * sigma2 for v in _pinv_blocks(st.factor, a))
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
                       int((wgt > 0.5).sum()), cell, st.static_bins)


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


def _pinv_blocks(inv: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, np.ndarray,
                                                           np.ndarray]:
    """Per-frame ``(var a, var b, cov ab)`` of the pseudo-inverse of the reduced normal
    matrix ``H`` (gauge directions Q dropped) from ``L^-1``, the inverse Cholesky factor of
    its gauge-fixed form ``L L^T = H + c Q Q^T`` (:func:`_gauge_fixed`):
    ``H^+ = L^-T L^-1 - Q Q^T / c``."""
    q = _gauge_basis(a)
    # c, the gauge term's weight: Q^T (H + c Q Q^T)^-1 Q = I / c, H Q = 0
    lq = inv @ q
    c = 2.0 / max(float(np.einsum("ij,ij->", lq, lq)), 1e-300)
    # L^-T L^-1: entry (i, k) = sum_r inv[r, i] inv[r, k]
    va = np.einsum("ri,ri->i", inv[:, 0::2], inv[:, 0::2]) - q[0::2, 0] ** 2 / c
    vb = np.einsum("ri,ri->i", inv[:, 1::2], inv[:, 1::2]) - q[1::2, 1] ** 2 / c
    vab = np.einsum("ri,ri->i", inv[:, 0::2], inv[:, 1::2])
    return va, vb, vab


def _frame_levels(k: np.ndarray, sc: np.ndarray, w: np.ndarray, n: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """10th and 90th percentile of the scene level each frame shows (its inlier cells), to
    1/1024 of the range 0..1 (per-frame histograms: no sort of every observation)."""
    lo, hi = np.full(n, 0.1), np.full(n, 0.9)
    keep = w > 0.5
    nb = 1024
    lev = np.clip((sc[keep] * nb).astype(np.int64), 0, nb - 1)
    hist = np.bincount(k[keep] * nb + lev, minlength=n * nb).reshape(n, nb)
    cum = np.cumsum(hist, axis=1)
    cnt = cum[:, -1]
    ok = cnt > 0
    for out, q in ((lo, 1), (hi, 9)):
        rank = (q * (cnt - 1)) // 10  # 0-based rank of the percentile
        at = (cum <= rank[:, None]).sum(axis=1)  # first bin holding that rank
        out[ok] = (at[ok] + 0.5) / nb
    return lo, hi

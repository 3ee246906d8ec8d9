"""Lighting compensation: per-frame gain and offset on Y' (flashes, fades, flicker).

Model: frame k shows the scene ``s`` as ``f_k = a_k * s + b_k`` on working Y' (a flash or a
fade to black scales R'G'B', a fade to white adds grey). Chroma scales with the same ``a_k``
(``Cb = (B' - Y') / (2 (1 - Kb))`` is linear in R'G'B', and an added grey has none).

Estimation (:func:`fit_lighting`) without the biases of a chain of pairwise fits:

1. **Same band on every side.** Each frame is integrated over one grid of canvas cells
   (``cell`` px, fixed to the canvas) with smooth windows (quadratic B-splines) evaluated at
   the frame's own sample positions: no resampling kernel, and every frame at any sub-pixel
   phase sees the same low-pass of the same scene region (a kernel that resamples only one
   side of a pair shrinks that side's variance and biases the slope low). Each window averages
   ~``2 cell**2`` pixels, which divides the grain's variance accordingly.
2. **One global fit, noise on every side.** ``m_kc = a_k S_c + b_k`` for all frames k and
   cells c at once, the cell values ``S_c`` unknowns like the gains: a total least-squares
   (errors-in-variables) fit, solved by Gauss-Newton with the cell unknowns eliminated (Schur
   complement), robust (Cauchy IRLS). Relative gains between distant frames come from every
   overlap at once, so errors do not add up along the pan.
3. **Background only.** Cells touching the ignore mask (user mask, static overlay) or a
   frame's own ignore mask are left out; content fixed in frame coordinates while the scene
   moves (hardsubs, logos, a character the camera follows) is found as frame-position bins
   where most frames disagree with the scene, and left out; moving foreground is down-weighted
   by the robust weights; cells averaging near white (possibly clipped) are left out.
4. **Gauge.** The scene's brightness is a free choice: the median frame gets gain 1, offset 0.

``--lighting auto`` (:meth:`LightingFit.changed`) compensates only when some frame's change of
Y' is larger than both ``z`` standard errors of the estimate and half an 8-bit code: a steady
scene is rendered exactly as with ``off``.

Coordinates: offsets as in :mod:`overmix.geometry`; values are working planes (Y' in [0, 1],
Cb/Cr in [-0.5, 0.5], float32).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from overmix.errors import AlignmentError
from overmix.geometry import Canvas
from overmix.progress import ProgressCallback, no_progress
from overmix.providers import LumaProvider, luma_reader

__all__ = ["LightingFit", "apply_gain", "cell_means", "estimate_gains", "fit_lighting"]

MaskProvider = Callable[[int], "np.ndarray | None"]

WHITE_CELL = 0.97  # cells whose mean Y' reaches this may hold clipped highlights: left out
MIN_CHANGE = 0.5 / 255  # auto: smallest change of Y' worth compensating (half an 8-bit code)


# ----------------------------------------------------------------------------- cell means


def _window_sums(f: np.ndarray, q0: float, step: float, axis: int) -> tuple[np.ndarray, int]:
    """Sums of a plane's samples under quadratic B-spline windows along ``axis``.

    Sample i sits at cell coordinate ``q = q0 + i * step``; window c is the centred quadratic
    B-spline ``B(q - c)`` (support 3 cells: ``3/4 - d^2`` for ``|d| <= 1/2``,
    ``(3/2 - |d|)^2 / 2`` to ``|d| = 3/2``). The windows are a partition of unity, and when
    ``1 / step`` is an integer each window's weights sum to exactly ``1 / step`` whatever the
    phase (its
    spectrum, ``sinc^3``, vanishes at every multiple of the sampling rate and falls fast near
    them, so content near the sampling rate hardly leaks in). Returns ``(sums, c0)``: sums
    for windows ``c0, c0 + 1, ...`` (float64), every window the samples reach.
    """
    size = f.shape[axis]
    q = q0 + np.arange(size, dtype=np.float64) * step
    j0 = np.floor(q + 0.5).astype(np.int64)
    d = q - j0
    shape = [1, 1]
    shape[axis] = size
    d = d.reshape(shape)
    starts = np.flatnonzero(np.diff(j0, prepend=j0[0] - 1))
    c0 = int(j0[0]) - 1
    ncell = int(j0[-1]) - c0 + 2
    # the three weights are quadratics in d: three sums (of f, f d, f d^2) give all windows
    fd = f * d.astype(f.dtype)
    r0, r1 = np.add.reduceat(f, starts, axis=axis), np.add.reduceat(fd, starts, axis=axis)
    fd *= d.astype(f.dtype)
    r2 = np.add.reduceat(fd, starts, axis=axis)
    del fd
    r0, r1, r2 = (np.asarray(r, np.float64) for r in (r0, r1, r2))
    parts = [0.125 * r0 - 0.5 * r1 + 0.5 * r2, 0.75 * r0 - r2, 0.125 * r0 + 0.5 * r1 + 0.5 * r2]
    out_shape = list(f.shape)
    out_shape[axis] = ncell
    out = np.zeros(out_shape)
    groups = j0[starts] - c0
    for shift, part in enumerate(parts):  # windows j0 - 1, j0, j0 + 1
        if axis == 1:
            out[:, groups - 1 + shift] += part
        else:
            out[groups - 1 + shift] += part
    return out, c0


def cell_means(luma: np.ndarray, x: float, y: float, canvas: Canvas, cell: int,
               margin: float = 1.0, reduce: int | None = None) -> tuple[np.ndarray, int, int]:
    """Window means of one frame over the canvas cells whose window it covers.

    Cell (r, c) is the separable quadratic B-spline window (3 cells wide, see
    :func:`_window_sums`) centred on canvas pixel ``((r + 0.5) cell - 0.5, (c + 0.5) cell -
    0.5)`` (a cell of the ``cell``-px grid fixed to the canvas). Its weights are evaluated at
    the frame's own sample positions: with a smooth window the weighted sum of samples equals
    the integral of the scene under the window up to terms from content near the sampling rate
    (the window's spectrum vanishes at every multiple of the sampling rate), so frames at any
    sub-pixel phase see the same low-pass of the same scene region.

    Parameters
    ----------
    luma : ndarray (h, w) float32
        The frame's working Y'.
    x, y : float
        The frame's offset (frame-0 luma px).
    canvas : Canvas
        The grid's origin (canvas pixel (i, j) is at frame-0 ``(canvas.x + j, canvas.y + i)``).
    margin : float
        Frame-edge pixels a window may not reach (edges of decoded frames are unreliable).
    reduce : 1, 2, 4 or None
        r > 1: average r x r pixel blocks first and window those (an r-tap sum vanishes at
        every multiple of 1/r of the sampling rate, so the block means are the scene's samples
        at r px spacing without new aliasing), 1/r^2 of the work; needs ``cell`` divisible by
        r. None: the largest of 4, 2 with ``cell >= 8 r``, else 1.

    Returns
    -------
    (means (nr, nc) float64, r0, c0): cells ``r0..r0+nr-1``, ``c0..c0+nc-1`` of the grid;
    (0, 0) means when the frame holds no whole window.
    """
    if reduce is None:
        reduce = next((r for r in (4, 2) if cell >= 8 * r and cell % r == 0), 1)
    f = np.asarray(luma, np.float32)
    px = 1
    if reduce in (2, 4) and cell % reduce == 0:
        px = reduce
        hr, wr = f.shape[0] // px, f.shape[1] // px
        f = f[:px * hr, :px * wr]
        # strided slice sums (a reshape-sum over two axes is ~10x slower)
        rows = f[0::px].copy()
        for i in range(1, px):
            rows += f[i::px]
        f = rows[:, 0::px].copy()
        for j in range(1, px):
            f += rows[:, j::px]
        f *= np.float32(1.0 / (px * px))
    h, w = f.shape
    step = px / cell
    # cell coordinate of sample (0, 0) (at frame pixel ((px - 1) / 2, (px - 1) / 2)): its
    # canvas position minus the first centre
    off = (px - 1) / 2
    qx = (x + off - canvas.x - (cell - 1) / 2) / cell
    qy = (y + off - canvas.y - (cell - 1) / 2) / cell
    cols, cx0 = _window_sums(f, qx, step, axis=1)
    sums, cy0 = _window_sums(cols, qy, step, axis=0)
    # whole windows only: window c spans q in (c - 3/2, c + 3/2); the samples from the
    # margin on must reach both ends
    m = math.ceil(margin / px)
    c_lo = math.ceil(qx + m * step + 1.5 - 1e-9)
    c_hi = math.floor(qx + (w - 1 - m) * step - 1.5 + 1e-9)
    r_lo = math.ceil(qy + m * step + 1.5 - 1e-9)
    r_hi = math.floor(qy + (h - 1 - m) * step - 1.5 + 1e-9)
    if c_hi < c_lo or r_hi < r_lo:
        return np.zeros((0, 0)), r_lo, c_lo
    means = sums[r_lo - cy0:r_hi - cy0 + 1, c_lo - cx0:c_hi - cx0 + 1] * (step * step)
    return means, r_lo, c_lo


def _cell_hits(sat: np.ndarray, x: float, y: float, canvas: Canvas, cell: int,
               r0: int, c0: int, nr: int, nc: int) -> np.ndarray:
    """(nr, nc) bool: the window of each cell (see :func:`cell_means`) covers a set pixel of
    the mask whose summed-area table (h + 1, w + 1) is ``sat``."""
    h, w = sat.shape[0] - 1, sat.shape[1] - 1
    # window of cell c in frame coordinates: centre (c + 0.5) cell - 0.5 + canvas.x - x,
    # +- 1.5 cell
    cxs = (np.arange(c0, c0 + nc) + 0.5) * cell - 0.5 + canvas.x - x
    cys = (np.arange(r0, r0 + nr) + 0.5) * cell - 0.5 + canvas.y - y
    half = 1.5 * cell
    jx0 = np.clip(np.floor(cxs - half).astype(np.int64) + 1, 0, w)
    jx1 = np.clip(np.ceil(cxs + half).astype(np.int64), 0, w)
    iy0 = np.clip(np.floor(cys - half).astype(np.int64) + 1, 0, h)
    iy1 = np.clip(np.ceil(cys + half).astype(np.int64), 0, h)
    s = (sat[np.ix_(iy1, jx1)] - sat[np.ix_(iy0, jx1)] - sat[np.ix_(iy1, jx0)]
         + sat[np.ix_(iy0, jx0)])
    return s > 0


def _sat(mask: np.ndarray) -> np.ndarray:
    """Summed-area table (h + 1, w + 1) int64 of a bool mask."""
    h, w = mask.shape
    out = np.zeros((h + 1, w + 1), np.int64)
    np.cumsum(np.cumsum(mask, axis=0, dtype=np.int64), axis=1, out=out[1:, 1:])
    return out


# ----------------------------------------------------------------------------- the fit


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


def _solve_reduced(k: np.ndarray, c: np.ndarray, w: np.ndarray, a: np.ndarray, s: np.ndarray,
                   r: np.ndarray, n: int, ncell: int, first: np.ndarray, damping: float
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One Gauss-Newton step of ``m = a_k S_c + b_k`` with the cell unknowns eliminated.

    Returns ``(delta_theta (2n,) [a0, b0, a1, b1, ...], delta_S (ncell,), H_red (2n, 2n))``.
    """
    sc = s[c]
    ak = a[k]
    # per-frame blocks and gradients
    haa = np.bincount(k, w * sc * sc, n)
    hab = np.bincount(k, w * sc, n)
    hbb = np.bincount(k, w, n)
    ga = np.bincount(k, w * sc * r, n)
    gb = np.bincount(k, w * r, n)
    d = np.bincount(c, w * ak * ak, ncell)
    gs = np.bincount(c, w * ak * r, ncell)
    dinv = np.where(d > 0, 1.0 / np.maximum(d, 1e-300), 0.0)
    h = np.zeros((2 * n, 2 * n))
    idx = np.arange(n)
    h[2 * idx, 2 * idx] = haa
    h[2 * idx, 2 * idx + 1] = hab
    h[2 * idx + 1, 2 * idx] = hab
    h[2 * idx + 1, 2 * idx + 1] = hbb
    g = np.empty(2 * n)
    g[0::2], g[1::2] = ga, gb
    # Schur complement: H_red = H_tt - U^T D^-1 U, U[c, 2k] = w a S, U[c, 2k+1] = w a.
    # Cells are taken in blocks ordered by their first frame, so each block touches a short
    # run of frames and its Gram matrix is small (cost ~ cells x (frames per cell)^2).
    ua = w * ak * sc * np.sqrt(dinv[c])
    ub = w * ak * np.sqrt(dinv[c])
    cell_rank = np.empty(ncell, np.int64)
    cell_rank[np.argsort(first, kind="stable")] = np.arange(ncell)
    order = np.argsort(cell_rank[c], kind="stable")
    co, ko = cell_rank[c][order], k[order]
    ua, ub = ua[order], ub[order]
    blk = co // 256
    cuts = np.flatnonzero(np.diff(blk)) + 1
    starts = np.concatenate([[0], cuts])
    ends = np.concatenate([cuts, [len(co)]])
    by_rank = np.argsort(first, kind="stable")  # rank -> cell
    for s0, s1 in zip(starts, ends, strict=True):
        kk = ko[s0:s1]
        lo, hi = int(kk.min()), int(kk.max()) + 1
        cr = co[s0:s1]
        base = int(cr[0])
        nrow = int(cr[-1]) - base + 1
        v = np.zeros((nrow, 2 * (hi - lo)))
        # one observation per (cell, frame): plain assignment
        v[cr - base, 2 * (kk - lo)] = ua[s0:s1]
        v[cr - base, 2 * (kk - lo) + 1] = ub[s0:s1]
        cells = by_rank[base:base + nrow]
        # einsum, not BLAS: threaded BLAS on these mid-sized products runs up to 10x slower
        # on a busy machine
        h[2 * lo:2 * hi, 2 * lo:2 * hi] -= np.einsum("ij,ik->jk", v, v)
        g[2 * lo:2 * hi] -= np.einsum("ij,i->j", v, gs[cells] * np.sqrt(dinv[cells]))
    h_red = h
    reg = _gauge_fixed(h_red, a, damping)
    dtheta = _chol_solve(_cholesky(reg), g)
    # back-substitution: dS = D^-1 (g_S - U dtheta)
    u_dt = np.bincount(c, w * ak * (sc * dtheta[2 * k] + dtheta[2 * k + 1]), ncell)
    ds = dinv * (gs - u_dt)
    return dtheta, ds, h_red


def fit_lighting(lumas: LumaProvider, offsets_xy: np.ndarray, canvas: Canvas | None = None, *,
                 mask: np.ndarray | None = None, frame_masks: MaskProvider | None = None,
                 cell: int | None = None, border: int = 0, iterations: int = 16,
                 progress: ProgressCallback | None = None) -> LightingFit:
    """Per-frame ``(gain, offset)`` on working Y' relative to the scene, with uncertainty.

    Parameters
    ----------
    lumas : LumaProvider (:mod:`overmix.providers`)
        Working Y' of each frame (read once, in order).
    offsets_xy : ndarray (n, 2)
        Aligned ``(x, y)`` of each frame (frame-0 luma pixels).
    canvas : Canvas or None
        The cell grid's origin (default: the canvas covering the frames).
    mask : ndarray (h, w) bool or None
        Frame-coordinate ignore mask (True = ignore: ``--mask``, logos, static overlays).
    frame_masks : callable ``k -> (h, w) bool or None``
        Per-frame ignore masks (overlays, moving foreground), True = ignore.
    cell : int or None
        Cell size in px (default: about 800 cells per frame).
    border : int
        Frame-edge pixels not used (at least 1).
    iterations : int
        Robust Gauss-Newton iterations (stops early when converged).

    Returns
    -------
    LightingFit
    """
    progress = progress or no_progress
    xy = np.asarray(offsets_xy, dtype=np.float64).reshape(-1, 2)
    n = len(xy)
    if n == 0:
        raise AlignmentError("no frames for lighting estimation")
    unit = LightingFit(np.tile([1.0, 0.0], (n, 1)), np.zeros(n), np.zeros(n))
    get = luma_reader(lumas)
    if n == 1:
        return unit
    f0 = get(0)
    h, w = f0.shape
    if canvas is None:
        canvas = Canvas.covering(xy, w, h)
    if cell is None:
        cell = max(4, round(math.sqrt(h * w / 800)))
        if cell >= 16:  # divisible by the block size of cell_means (2 or 4)
            cell = 4 * round(cell / 4) if cell >= 32 else 2 * round(cell / 2)
    ncols = -(-canvas.width // cell) + 1
    sat = _sat(mask) if mask is not None and mask.any() else None
    ks, cs, ms, bins = [], [], [], []
    for j in range(n):
        f = f0 if j == 0 else get(j)
        x, y = float(xy[j, 0]), float(xy[j, 1])
        mean, r0, c0 = cell_means(f, x, y, canvas, cell, margin=max(1.0, float(border)))
        nr, nc = mean.shape
        progress("lighting", j + 1, n)
        if nr == 0 or nc == 0:
            continue
        keep = mean < WHITE_CELL
        if sat is not None:
            keep &= ~_cell_hits(sat, x, y, canvas, cell, r0, c0, nr, nc)
        fm = frame_masks(j) if frame_masks is not None else None
        if fm is not None and np.any(fm):
            keep &= ~_cell_hits(_sat(np.asarray(fm, bool)), x, y, canvas, cell, r0, c0, nr, nc)
        rr, cc = np.nonzero(keep)
        ks.append(np.full(len(rr), j, np.int32))
        cs.append(((rr + r0) * ncols + (cc + c0)).astype(np.int64))
        ms.append(mean[rr, cc])
        # the cell's position in frame coordinates, in whole cells (screen-fixed content)
        fy = np.floor((rr + r0) + (canvas.y - y) / cell + 0.5).astype(np.int64)
        fx = np.floor((cc + c0) + (canvas.x - x) / cell + 0.5).astype(np.int64)
        bins.append((fy + 2) * (w // cell + 4) + (fx + 2))
    del f0
    if not ks:
        return unit
    k = np.concatenate(ks)
    cid = np.concatenate(cs)
    m = np.concatenate(ms)
    fbin = np.concatenate(bins)
    # cells seen by at least two frames are the only ones that say anything
    cu, c, counts = np.unique(cid, return_inverse=True, return_counts=True)
    shared = counts[c] >= 2
    k, c, m, fbin = k[shared], c[shared], m[shared], fbin[shared]
    if len(k) == 0:
        return unit
    cu, c = np.unique(c, return_inverse=True)
    ncell = len(cu)
    return _fit(k, c, m, fbin, n, ncell, cell, iterations) or unit


def _fit(k: np.ndarray, c: np.ndarray, m: np.ndarray, fbin: np.ndarray, n: int, ncell: int,
         cell: int, iterations: int) -> LightingFit | None:
    """The robust global fit of ``m = a_k S_c + b_k`` over observations (k, c)."""
    k = k.astype(np.int64)
    first = np.full(ncell, n, np.int64)
    np.minimum.at(first, c, k)
    base = np.ones(len(m))
    a, b = np.ones(n), np.zeros(n)
    cnt = np.bincount(c, minlength=ncell).astype(np.float64)
    s = np.bincount(c, m, ncell) / np.maximum(cnt, 1)
    static_bins = 0
    h_red = None
    wgt = base
    scale = 1.0
    for it in range(iterations):
        r = m - a[k] * s[c] - b[k]
        live = base > 0
        scale = max(1.4826 * float(np.median(np.abs(r[live]))), 1e-5) if live.any() else 1e-5
        wgt = base * _cauchy(r, scale)
        if it in (2, 5):
            # screen-fixed content: frame-position bins where most frames disagree with the
            # scene (a hardsub, a logo, a character the camera follows)
            bu, bi = np.unique(fbin, return_inverse=True)
            z = np.abs(r) / scale
            med = _group_median(bi, z, len(bu))
            bad = med > 3.0
            if bad.any():
                static_bins = int(bad.sum())
                base = np.where(bad[bi], 0.0, base)
                wgt = base * _cauchy(r, scale)
        dtheta, ds, h_red = _solve_reduced(k, c, wgt, a, s, r, n, ncell, first,
                                           damping=1e-6)
        a = a + dtheta[0::2]
        b = b + dtheta[1::2]
        s = s + ds
        a, b, s = _gauge(a, b, s, k, wgt)
        if it >= 6 and float(np.abs(dtheta).max()) < 1e-6:
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


def _group_median(group: np.ndarray, v: np.ndarray, ngroups: int) -> np.ndarray:
    """Median of ``v`` per group id (0..ngroups-1); 0 for empty groups."""
    order = np.lexsort((v, group))
    g, vs = group[order], v[order]
    starts = np.searchsorted(g, np.arange(ngroups), "left")
    ends = np.searchsorted(g, np.arange(ngroups), "right")
    cnt = ends - starts
    mid = starts + np.maximum(cnt - 1, 0) // 2
    mid2 = starts + cnt // 2
    out = np.zeros(ngroups)
    ok = cnt > 0
    out[ok] = 0.5 * (vs[mid[ok]] + vs[np.minimum(mid2[ok], len(vs) - 1)])
    return out


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


def estimate_gains(lumas: LumaProvider, offsets_xy: np.ndarray, canvas: Canvas | None = None, *,
                   mask: np.ndarray | None = None,
                   progress: ProgressCallback | None = None, **kw: object) -> np.ndarray:
    """Per-frame ``(gain, offset)`` (n, 2) on working Y': the gains of :func:`fit_lighting`.

    Column 0 gain ``a_k``, column 1 offset ``b_k``, so that ``f_k = a_k * s + b_k``; the scene
    is ``(f_k - b_k) / a_k``.
    """
    return fit_lighting(lumas, offsets_xy, canvas, mask=mask, progress=progress,
                        **kw).gains  # type: ignore[arg-type]


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

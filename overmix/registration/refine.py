"""Sums of the sub-pixel refinement: one symmetric Gauss-Newton step (numpy).

For a shift ``d`` the kernel resamples ``ref`` at ``q + d/2`` and ``mov`` at ``q - d/2`` on an
integer grid ``q`` (rows in bands), with separable kernels whose weights are the same for every
pixel (the fractional phase of a translation is constant), and accumulates the normal equations
of ``r = a - b`` against the gradient of ``m = (a + b) / 2`` (five-point derivative), plus the
sums needed for ZNCC and the residual.

All tiles are gathered into one ``(tiles, rows, cols)`` stack; each 1-D pass (and the
five-point derivative) is a product with a small banded matrix on tiles up to ``_MATMUL_MAX``
samples a side, else a weighted sum of shifted slices (numpy; no numba on the default stitch
path). The passes run in float32 like the resampled planes, the gradients, residuals and sums
in float64.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np

__all__ = ["gn_accumulate", "gn_batch", "HIST_SCALE", "KERNEL_R", "NBINS", "NSUMS"]

# hxx, hxy, hyy, bx, by, n, sa, sb, saa, sbb, sab, srr
NSUMS = 12
# histogram of |residual|: NBINS bins of 1 / HIST_SCALE luma units
NBINS = 96
HIST_SCALE = 512.0
# Lanczos lobes of the resampling kernel (taps per axis = 2 * KERNEL_R).
KERNEL_R = 6


def _windows(img: np.ndarray, r0: np.ndarray, c0: np.ndarray, nr: int,
             nc: int) -> np.ndarray:
    """``img[r0[k]:r0[k] + nr, c0[k]:c0[k] + nc]`` for every tile k: (tiles, nr, nc)."""
    out = np.empty((len(r0), nr, nc), img.dtype)
    for k, (r, c) in enumerate(zip(r0.tolist(), c0.tolist(), strict=True)):
        out[k] = img[r:r + nr, c:c + nc]
    return out


def _band_matrix(k: np.ndarray, n: int) -> np.ndarray:
    """(n + taps - 1, n) float32 matrix M with ``M[c + t, c] = k[t]``: ``x @ M`` is the
    correlation of x's last axis with k (output c reads inputs c .. c + taps - 1)."""
    taps = k.shape[0]
    m = np.zeros((n + taps - 1) * n, np.float32)
    # flat index of (c + t, c) is c (n + 1) + t n
    m[(np.arange(n) * (n + 1))[:, None] + np.arange(taps) * n] = k
    return m.reshape(n + taps - 1, n)


@functools.lru_cache(maxsize=8)
def _diff_matrix(n: int) -> np.ndarray:
    """(n + 4, n) float64 matrix D with ``(x @ D)[c]`` the five-point derivative
    ``(x[c] - 8 x[c + 1] + 8 x[c + 3] - x[c + 4]) / 12`` (centre c + 2)."""
    d = np.zeros((n + 4, n))
    c = np.arange(n)
    for t, k in enumerate((1.0, -8.0, 0.0, 8.0, -1.0)):
        d[c + t, c] = k / 12.0
    d.flags.writeable = False  # cached and shared
    return d


@functools.lru_cache(maxsize=8)
def _half_diff(n: int) -> np.ndarray:
    """Half of :func:`_diff_matrix` in float32 (the derivative of (a + b) / 2 from a + b)."""
    d = (0.5 * _diff_matrix(n)).astype(np.float32)
    d.flags.writeable = False  # cached and shared
    return d


# Tiles up to this many columns are resampled by small matrix products (one BLAS call per
# pass); wider ones (small frames taken whole) by taps scaled slices.
_MATMUL_MAX = 160


def _resample_tiles(img: np.ndarray, r0: np.ndarray, c0: np.ndarray, nrows: int, ncols: int,
                    ky: np.ndarray, kx: np.ndarray) -> np.ndarray:
    """Separable resampling of the tile windows starting at (r0, c0): float32
    (tiles, nrows, ncols), ``out[r, c] = Σ_ty Σ_tx ky[ty] kx[tx] img[r0 + r + ty, c0 + c + tx]``
    (x pass first, then y, in float32)."""
    taps = kx.shape[0]
    win = _windows(img, r0, c0, nrows + taps - 1, ncols + taps - 1)
    if max(nrows, ncols) <= _MATMUL_MAX:
        tmp = win @ _band_matrix(kx, ncols)
        return np.matmul(_band_matrix(ky, nrows).T, tmp)
    tmp = np.zeros((win.shape[0], nrows + taps - 1, ncols), np.float32)
    part = np.empty_like(tmp)
    for t in range(taps):
        np.multiply(win[:, :, t:t + ncols], kx[t], out=part)
        tmp += part
    out = np.zeros((win.shape[0], nrows, ncols), np.float32)
    part = part[:, :nrows]
    for t in range(taps):
        np.multiply(tmp[:, t:t + nrows, :], ky[t], out=part)
        out += part
    return out


def gn_accumulate(a_img: np.ndarray, b_img: np.ndarray, a_valid: np.ndarray,
                  b_valid: np.ndarray, use_valid: int, tiles: np.ndarray, band_rows: int,
                  cols: int, a_off_y: int, a_off_x: int, b_off_y: int, b_off_x: int,
                  a_round_y: int, a_round_x: int, b_round_y: int, b_round_x: int,
                  kya: np.ndarray, kxa: np.ndarray, kyb: np.ndarray, kxb: np.ndarray,
                  c2: float, hist: np.ndarray, alpha: float, beta: float) -> np.ndarray:
    """Sums of one Gauss-Newton step, one row per tile (shape (n_tiles, NSUMS), float64).

    Parameters
    ----------
    a_img, b_img : float32 (h, w)
        ref and mov planes.
    a_valid, b_valid : bool (h, w)
        Pixels whose resampling kernel stays within valid pixels (used if ``use_valid``).
    tiles : int64 (n_tiles, 2)
        First q-row and q-column of each tile; each tile has ``band_rows`` rows and ``cols``
        columns. The caller guarantees that the rows/columns +-2 around them, and the
        kernel taps around those, are inside the planes.
    a_off_y, a_off_x : int
        ``floor`` of ref's shift d/2 (so ref sample of q is at q + a_off + frac).
    b_off_y, b_off_x : int
        Same for mov's shift -d/2.
    a_round_y .. b_round_x : int
        Nearest-integer offsets used to look up the validity masks.
    kya, kxa, kyb, kxb : float32 (2R,)
        Separable kernel weights; tap t reads sample ``q + off - R + 1 + t``.
    c2 : float
        Squared scale of the robust (Cauchy) weight ``1 / (1 + r^2 / c2)`` of the normal
        equations, so pixels that do not follow the shift (animation, an unmasked overlay)
        count less; 0 = plain least squares. ZNCC and residual sums stay unweighted.
    hist : int64 (n_tiles, NBINS)
        Filled with a histogram of ``|r|`` in bins of 1/HIST_SCALE (last bin: overflow), for
        the robust scale of the next step.
    alpha, beta : float
        Gain and offset that map mov's values onto ref's (fades, flashes): the residual is
        ``r = a - (alpha * b + beta)`` and the gradient that of ``(a + alpha * b + beta) / 2``.
        The sums ``sb``, ``sbb``, ``sab`` stay on the raw ``b`` (to estimate them).
    """
    nb = tiles.shape[0]
    taps = kya.shape[0]
    R = taps // 2
    rows_s = band_rows + 4
    cols_s = cols + 4
    q0 = tiles[:, 0].astype(np.int64)
    qx0 = tiles[:, 1].astype(np.int64)
    sa_ = _resample_tiles(a_img, q0 - 2 + a_off_y - R + 1, qx0 - 2 + a_off_x - R + 1,
                          rows_s, cols_s, kya, kxa)
    sb_ = _resample_tiles(b_img, q0 - 2 + b_off_y - R + 1, qx0 - 2 + b_off_x - R + 1,
                          rows_s, cols_s, kyb, kxb)
    mm = (0.5 * (sa_ + alpha * sb_.astype(np.float64) + beta)).astype(np.float32)
    mm = mm.astype(np.float64)
    inner = (slice(None), slice(2, rows_s - 2), slice(2, cols_s - 2))
    if use_valid:
        ok = _windows(a_valid, q0 + a_round_y, qx0 + a_round_x, band_rows, cols) \
            & _windows(b_valid, q0 + b_round_y, qx0 + b_round_x, band_rows, cols)
        wgt = ok.astype(np.float64)
    else:
        ok = None
        wgt = np.ones((nb, band_rows, cols))
    a = sa_[inner].astype(np.float64)
    b = sb_[inner].astype(np.float64)
    gx, gy = _gradients(mm, band_rows, cols)
    if use_valid:
        a *= wgt
        b *= wgt
        gx *= wgt
        gy *= wgt
        r = a - alpha * b - beta * wgt
    else:
        r = a - alpha * b - beta
    _residual_histogram(r, ok, hist)
    rw = 1.0 / (1.0 + r * r / c2) if c2 > 0.0 else np.ones_like(r)
    return _sums(gx, gy, r, rw, a, b, wgt)


def _gradients(mm: np.ndarray, band_rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """x and y derivatives of the tiles ``mm`` (n, band_rows + 4, cols + 4) on their inner
    (band_rows, cols) pixels."""
    rows_s, cols_s = band_rows + 4, cols + 4
    # five-point derivative (m[j-2] - 8 m[j-1] + 8 m[j+1] - m[j+2]) / 12 along x and y of m:
    # products with a (n + 4, n) difference matrix on small tiles, slices on large ones
    if max(band_rows, cols) <= _MATMUL_MAX:
        gx = mm[:, 2:rows_s - 2, :] @ _diff_matrix(cols)
        gy = np.matmul(_diff_matrix(band_rows).T, mm[:, :, 2:cols_s - 2])
    else:
        ny, nx = rows_s - 2, cols_s - 2
        gx = ((mm[:, 2:ny, 0:nx - 2] - mm[:, 2:ny, 4:nx + 2])
              + 8.0 * (mm[:, 2:ny, 3:nx + 1] - mm[:, 2:ny, 1:nx - 1])) / 12.0
        gy = ((mm[:, 0:ny - 2, 2:nx] - mm[:, 4:ny + 2, 2:nx])
              + 8.0 * (mm[:, 3:ny + 1, 2:nx] - mm[:, 1:ny - 1, 2:nx])) / 12.0
    return gx, gy


def _residual_histogram(r: np.ndarray, ok: np.ndarray | None, hist: np.ndarray) -> None:
    """Add each tile's histogram of ``|r|`` (over ``ok`` pixels) to ``hist``."""
    nb = r.shape[0]
    hb = np.minimum((np.abs(r) * HIST_SCALE).astype(np.int64), NBINS - 1)
    hb += (np.arange(nb, dtype=np.int64) * NBINS)[:, None, None]
    hist += np.bincount(hb.ravel() if ok is None else hb[ok],
                        minlength=nb * NBINS).reshape(nb, NBINS).astype(hist.dtype)


def _sums(gx: np.ndarray, gy: np.ndarray, r: np.ndarray, rw: np.ndarray, a: np.ndarray,
          b: np.ndarray, wgt: np.ndarray) -> np.ndarray:
    """:func:`gn_accumulate`'s (n_tiles, NSUMS) sums from the weighted tiles."""
    nb = r.shape[0]
    # per tile: [gx gy r]ᵀ diag(rw) [gx gy r] and [a b r 1]ᵀ [a b r 1], as batched products
    g = np.stack([gx, gy, r], axis=1).reshape(nb, 3, -1)
    hm = np.matmul(g * rw.reshape(nb, 1, -1), g.transpose(0, 2, 1))
    v = np.stack([a, b, r, wgt], axis=1).reshape(nb, 4, -1)
    vm = np.matmul(v, v.transpose(0, 2, 1))
    out = np.empty((nb, NSUMS))
    out[:, 0] = hm[:, 0, 0]
    out[:, 1] = hm[:, 0, 1]
    out[:, 2] = hm[:, 1, 1]
    out[:, 3] = hm[:, 0, 2]
    out[:, 4] = hm[:, 1, 2]
    out[:, 5] = vm[:, 3, 3]  # Σ wgt² = Σ wgt (0/1)
    out[:, 6] = vm[:, 0, 3]  # Σ a·wgt = Σ a (a is 0 where wgt is)
    out[:, 7] = vm[:, 1, 3]
    out[:, 8] = vm[:, 0, 0]
    out[:, 9] = vm[:, 1, 1]
    out[:, 10] = vm[:, 0, 1]
    out[:, 11] = vm[:, 2, 2]
    return out


# ---------------------------------------------------------------------------------------------
# Several pairs in one call (issue #15: the per-call cost of numpy dominated small frames)
# ---------------------------------------------------------------------------------------------


def _gather(img: np.ndarray, r0: np.ndarray, c0: np.ndarray, nr: int, nc: int) -> np.ndarray:
    """``img[r0[k]:r0[k] + nr, c0[k]:c0[k] + nc]`` for every k: (len(r0), nr, nc), one
    strided gather."""
    h, w = img.shape
    s0, s1 = img.strides
    shape, strides = (h - nr + 1, w - nc + 1, nr, nc), (s0, s1, s0, s1)
    if img.flags.c_contiguous:  # a plain view on the buffer (as_strided's cost is per call)
        view = np.ndarray(shape, img.dtype, img, 0, strides)
    else:
        view = np.lib.stride_tricks.as_strided(img, shape, strides, writeable=False)
    return view[r0, c0]


_EPS = np.finfo(np.float64).eps
_TAPS = np.arange(-KERNEL_R + 1, KERNEL_R + 1, dtype=np.float64)


def _sinc(x: np.ndarray) -> np.ndarray:
    """``np.sinc`` of a float64 array (its arithmetic, without its per-call cost)."""
    y = np.pi * x
    y = np.where(y == 0, _EPS, y)
    return np.sin(y) / y


def _kernel_rows(frac: np.ndarray, unit: float) -> np.ndarray:
    """Lanczos-``KERNEL_R`` weights (J, 4, 2R) float32 for sampling at ``n + frac`` (J, 4)
    from taps n-R+1 .. n+R, in the order (y of a, x of a, y of b, x of b); the x kernels sum
    to 1, the y kernels to ``unit``."""
    x = _TAPS - frac[:, :, None]
    k = _sinc(x) * _sinc(x / KERNEL_R)
    k /= k.sum(axis=2, keepdims=True)
    k[:, 0::2] *= unit
    return k.astype(np.float32)


@functools.lru_cache(maxsize=16)
def _band_index(n: int, stride: int, taps: int) -> np.ndarray:
    """Flat indices (n, taps) of the entries ``(c, c + t)`` of a row-major matrix with
    ``stride`` columns (the band of a banded matrix whose row c reads c .. c + taps - 1)."""
    idx = (np.arange(n) * (stride + 1))[:, None] + np.arange(taps)
    idx.flags.writeable = False  # cached and shared
    return idx


def _bands(k: np.ndarray, n: int, m: int) -> np.ndarray:
    """(len(k), n, m) float32 banded matrices, ``[j, c, c + t] = k[j, t]`` (row c of matrix j
    correlates an input of m samples with k[j] at output c; m = n + taps - 1)."""
    out = np.zeros((k.shape[0], n * m), np.float32)
    out[:, _band_index(n, m, k.shape[1])] = k[:, None, :]
    return out.reshape(-1, n, m)


def gn_batch(a_imgs: list[np.ndarray], b_imgs: list[np.ndarray],
             a_valid: list[np.ndarray | None], b_valid: list[np.ndarray | None],
             tiles: list[np.ndarray], band_rows: int, cols: int, shifts: np.ndarray,
             unit: float, c2: np.ndarray, alpha: np.ndarray, beta: np.ndarray,
             tile_ms: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Sums of one Gauss-Newton step of J pairs at once: :func:`gn_accumulate`'s sums and
    histogram, per pair instead of per tile, in float32 arithmetic (float64 results).

    Pair j resamples ``a_imgs[j]`` at ``q + d/2`` and ``b_imgs[j]`` at ``q - d/2``, ``d =
    shifts[j]`` (dx, dy) in pixels of the planes, on its tiles ``tiles[j]`` ((n_j >= 1, 2)
    first q-row and column, ``band_rows`` x ``cols`` each; the caller guarantees that the
    +-2 derivative neighbours and the kernel taps around them stay inside the planes), with
    Lanczos kernels of ``KERNEL_R`` lobes whose vertical weights are scaled by ``unit``
    (stored codes -> luma). ``a_valid``/``b_valid``: kernel-validity masks (True = usable)
    or None. ``c2``, ``alpha``, ``beta`` (J,): the robust scale and the gain of each pair,
    as in :func:`gn_accumulate`.

    ``tile_ms``: (sum of n_j,) float64, filled (when given) with each tile's mean squared
    residual (unweighted; 0 for a tile without usable pixels), tiles in pair order.

    Returns (J, NSUMS) float64 sums and a (J, NBINS) int64 histogram of ``|r|``.
    """
    nj = len(tiles)
    counts = [len(t) for t in tiles]
    bounds = [0, *itertools.accumulate(counts)]
    d = np.asarray(shifts, np.float64).reshape(nj, 2)
    # a is sampled at q + d/2, b at q - d/2: whole part (window start) and kernel phase
    half = np.empty((nj, 4))
    np.multiply(d[:, ::-1], 0.5, out=half[:, :2])  # ay, ax, by, bx
    np.negative(half[:, :2], out=half[:, 2:])
    fl = np.floor(half)
    k = _kernel_rows(half - fl, unit)
    rows_s, cols_s = band_rows + 4, cols + 4
    nt = bounds[-1]
    job = np.repeat(np.arange(nj), counts)
    sa, sb, ok = _resample_pairs(a_imgs, b_imgs, a_valid, b_valid, tiles, bounds, job,
                                 fl.astype(np.int64), half, k, band_rows, cols)
    # sa, sb: (groups, rows_s, tiles per group, cols_s), tile g * T + t at [g, :, t]
    ng, nper = sa.shape[0], sa.shape[2]
    inner = (slice(None), slice(2, rows_s - 2), slice(None), slice(2, cols_s - 2))
    a, b = sa[inner], sb[inner]
    # per tile, the rows gx, gy, r, a, b, 1 (masked pixels are 0 in every row), and their
    # products as one small matrix product per tile (float32, summed in float64); written
    # through views in the resampled planes' layout
    x = np.empty((nt, 6, band_rows, cols), np.float32)
    xg = x.reshape(ng, nper, 6, band_rows, cols).transpose(0, 2, 3, 1, 4)  # (g, 6, rows, T, cols)
    r = xg[:, 2]
    # m = (a + alpha b + beta) / 2 (the 1/2 is in the derivative matrices), r = a - alpha b
    # - beta; gain 1 and offset 0 (every pair's first step) need neither (the same values)
    alpha, beta = np.asarray(alpha, np.float32), np.asarray(beta, np.float32)
    if np.all(alpha == 1.0) and not np.any(beta):
        m = sa + sb
        np.subtract(a, b, out=r)
    else:
        gj = job[::nper]  # each group's pair
        al, be = alpha[gj][:, None, None, None], beta[gj][:, None, None, None]
        m = sb * al
        m += sa
        m += be
        np.multiply(b, al, out=r)
        np.subtract(a, r, out=r)
        r -= be
    if max(band_rows, cols) <= _MATMUL_MAX:
        # x: one product for every row of every tile; y: one per group, its tiles side by
        # side
        gx = (m.reshape(-1, cols_s) @ _half_diff(cols)).reshape(ng, rows_s, nper, cols)
        xg[:, 0] = gx[:, 2:rows_s - 2]
        gy = np.matmul(_half_diff(band_rows).T, m.reshape(ng, rows_s, nper * cols_s))
        xg[:, 1] = gy.reshape(ng, band_rows, nper, cols_s)[..., 2:cols_s - 2]
    else:
        ny, nx = rows_s - 2, cols_s - 2
        xg[:, 0] = ((m[:, 2:ny, :, 0:nx - 2] - m[:, 2:ny, :, 4:nx + 2])
                    + 8.0 * (m[:, 2:ny, :, 3:nx + 1] - m[:, 2:ny, :, 1:nx - 1])) / np.float32(24.0)
        xg[:, 1] = ((m[:, 0:ny - 2, :, 2:nx] - m[:, 4:ny + 2, :, 2:nx])
                    + 8.0 * (m[:, 3:ny + 1, :, 2:nx] - m[:, 1:ny - 1, :, 2:nx])) / np.float32(24.0)
    xg[:, 3], xg[:, 4] = a, b
    if ok is None:
        x[:, 5] = 1.0
    else:
        x[:, 5] = ok
        x[:, :5] *= x[:, 5:6]
    x = x.reshape(nt, 6, band_rows * cols)
    return _batch_sums(x, job, bounds, c2, ok, tile_ms)


# Windows up to this many columns are resampled one (side, pair) at a time (small
# products: BLAS's per-call cost dominates), wider ones one tile at a time (the
# rearrangement for the grouped product then costs more than it saves).
_GROUP_MAX = 48


def _resample_pairs(a_imgs: list[np.ndarray], b_imgs: list[np.ndarray],
                    a_valid: list[np.ndarray | None], b_valid: list[np.ndarray | None],
                    tiles: list[np.ndarray], bounds: list[int], job: np.ndarray,
                    fl: np.ndarray, half: np.ndarray, k: np.ndarray, band_rows: int, cols: int,
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Every pair's tiles of a and b resampled (with the +-2 derivative margin) and, when
    any plane has a validity mask, where both kernels stay on valid pixels (tile-major,
    (tiles, band_rows, cols)). ``job``: each tile's pair; ``fl``: floor of ``half`` (J, 4),
    the sample positions' offsets (ay, ax, by, bx). The resampled tiles come as (groups,
    rows, tiles per group, columns) float32, tile g * T + t at ``[g, :, t]``: one group per
    pair when every pair has as many small tiles (the layout their products leave, so no
    copy rearranges them), else one per tile."""
    nj = len(tiles)
    taps = 2 * KERNEL_R
    rows_s, cols_s = band_rows + 4, cols + 4
    nr, nc = rows_s + taps - 1, cols_s + taps - 1
    nt = bounds[-1]
    n = nt // nj
    # small tiles, as many in every pair (the usual case): one product per pass for all
    # the (side, pair)s at once, the windows gathered as (side-pair, rows, tiles, columns)
    # so that the x pass leaves each pair's tiles side by side for its y pass
    grouped = nc <= _GROUP_MAX and n * nj == nt and all(
        bounds[j] == j * n for j in range(nj))
    # every tile's windows of a (first nt) and of b (last nt), gathered one plane at a time
    # (a frame's pairs share its plane), then resampled with each pair's banded kernel
    # matrices (products small enough that BLAS never starts threads, whose start-up on a
    # busy machine costs more than the product)
    q = np.concatenate(tiles) if nj > 1 else np.asarray(tiles[0])
    starts = np.tile(q, 2) + (fl - (2 + KERNEL_R - 1))[job]  # (nt, 4): a row, col, b row, col
    # converted as gathered (one pass less)
    win = np.empty((2 * nj, nr, n, nc) if grouped else (2 * nt, nr, nc), np.float32)
    for side, imgs in ((0, a_imgs), (1, b_imgs)):
        j = 0
        while j < nj:  # runs of pairs on the same plane: one gather
            e = j + 1
            while e < nj and imgs[e] is imgs[j]:
                e += 1
            lo, hi = bounds[j], bounds[e]
            got = _gather(imgs[j], starts[lo:hi, 2 * side], starts[lo:hi, 2 * side + 1],
                          nr, nc)
            if grouped:
                g0 = side * nj + j
                win[g0:g0 + e - j].transpose(0, 2, 1, 3)[...] = got.reshape(e - j, n, nr, nc)
            else:
                win[side * nt + lo:side * nt + hi] = got
            j = e
    ok: np.ndarray | None = None
    if any(v is not None for v in a_valid) or any(v is not None for v in b_valid):
        ok = np.ones((nt, band_rows, cols), bool)
        rq = np.tile(q, 2) + np.round(half).astype(np.int64)[job]
        for j in range(nj):
            s = slice(bounds[j], bounds[j + 1])
            for v, c in ((a_valid[j], 0), (b_valid[j], 2)):
                if v is not None:
                    ok[s] &= _gather(v, rq[s, c], rq[s, c + 1], band_rows, cols)
    # kernel matrices per (side, pair): x passes (nc, cols_s), y passes (rows_s, nr)
    kx = np.ascontiguousarray(_bands(np.concatenate([k[:, 1], k[:, 3]]), cols_s, nc)
                              .transpose(0, 2, 1))
    ky = _bands(np.concatenate([k[:, 0], k[:, 2]]), rows_s, nr)
    if grouped:
        # x pass on every window row of the pair, then the y pass on its tiles' columns
        # side by side; the result is already (side-pair, rows, tiles, columns)
        tmp = np.matmul(win.reshape(2 * nj, nr * n, nc), kx)
        out = np.matmul(ky, tmp.reshape(2 * nj, nr, n * cols_s)).reshape(
            2 * nj, rows_s, n, cols_s)
        return out[:nj], out[nj:], ok
    if nc > _GROUP_MAX:  # large tiles: one batched product per pass, a matrix per tile
        both = np.concatenate([job, job + nj])
        out = np.matmul(ky[both], np.matmul(win, kx[both]))
        return out[:nt, :, None], out[nt:, :, None], ok
    # small tiles, pairs with different counts: one product per (side, pair) and pass (a
    # product per tile costs BLAS's per-call set-up and packing each time): the x pass on
    # all the pair's window rows at once, the y pass on all its tiles' columns side by side
    out = np.empty((2 * nt, rows_s, cols_s), np.float32)
    for side in range(2):
        for j in range(nj):
            lo, hi = side * nt + bounds[j], side * nt + bounds[j + 1]
            m = hi - lo
            tmp = win[lo:hi].reshape(m * nr, nc) @ kx[side * nj + j]
            cat = tmp.reshape(m, nr, cols_s).transpose(1, 0, 2).reshape(nr, m * cols_s)
            out[lo:hi] = (ky[side * nj + j] @ cat).reshape(rows_s, m, cols_s).transpose(1, 0, 2)
    return out[:nt, :, None], out[nt:, :, None], ok


def _batch_sums(x: np.ndarray, job: np.ndarray, bounds: list[int], c2: np.ndarray,
                ok: np.ndarray | None,
                tile_ms: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`gn_batch`'s sums and histogram (and ``tile_ms``) from the tiles' rows ``x``
    (tiles, 6, pixels): gx, gy, r, a, b, 1; ``job``: each tile's pair."""
    nt = x.shape[0]
    nj = len(bounds) - 1
    res = x[:, 2]
    hb = np.abs(res) * np.float32(HIST_SCALE)
    np.minimum(hb, NBINS - 1, out=hb)
    hi = hb.astype(np.int64)
    hi += (job * NBINS)[:, None]
    hist = np.bincount(hi.ravel() if ok is None else hi[ok.reshape(nt, -1)],
                       minlength=nj * NBINS).reshape(nj, NBINS)
    per_tile = np.matmul(x, x.transpose(0, 2, 1)).astype(np.float64)
    if tile_ms is not None:
        tile_ms[:] = per_tile[:, 2, 2] / np.maximum(per_tile[:, 5, 5], 1.0)
    vm = np.add.reduceat(per_tile, bounds[:-1], axis=0)
    if np.any(np.asarray(c2) > 0.0):
        # Cauchy weights 1 / (1 + r^2 / c2) on the normal equations only (c2 = 0: none)
        c2t = np.asarray(c2, np.float32)[job][:, None]
        rw = np.square(res)
        rw /= np.where(c2t > 0.0, c2t, np.float32(np.inf))
        rw += 1.0
        np.reciprocal(rw, out=rw)
        g = x[:, :3]
        hm = np.add.reduceat(np.matmul(g * rw[:, None], g.transpose(0, 2, 1)).astype(np.float64),
                             bounds[:-1], axis=0)
    else:
        hm = vm[:, :3, :3]
    # hxx, hxy, hyy, bx, by from hm; n, sa, sb, saa, sbb, sab, srr from vm
    out = np.concatenate([hm.reshape(nj, 9)[:, [0, 1, 4, 2, 5]],
                          vm.reshape(nj, 36)[:, [35, 23, 29, 21, 28, 22, 14]]], axis=1)
    return out, hist

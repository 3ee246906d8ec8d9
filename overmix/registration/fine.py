"""Sub-pixel refinement of a pair: symmetric Gauss-Newton with a windowed-sinc resampler.

From the coarsest level down to full resolution, both planes are resampled half-way,
``ref(q + d/2)`` against ``mov(q - d/2)``, with a separable Lanczos kernel (2x6 taps), so both
sides get the same smoothing and the interpolator's low-pass does not pull the estimate
towards whole pixels. Masked pixels (and those whose kernel touches them) have weight 0; after
the first step, pixels far beyond the robust residual scale are down-weighted (Cauchy
weights), and mov's gain and offset are matched to ref's. The sums are
:func:`overmix.registration.refine.gn_accumulate`'s; the sampled tiles
:mod:`overmix.registration.tiles`'. Shift convention: :mod:`overmix.registration.phase`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from overmix.errors import AlignmentError
from overmix.registration.pyramid import _ENC_GAIN, _R, PreparedPlane, _Level
from overmix.registration.refine import HIST_SCALE, NBINS, gn_accumulate
from overmix.registration.tiles import _CELL, _energy, _fine_budget, _tiles

# Robust weights 1 / (1 + (r / (C * scale))^2), scale = 1.4826 x median |r| (at least
# _MIN_RSCALE luma units); a wide scale: only pixels that clearly disagree lose weight.
_ROBUST_C = 10.0
_MIN_RSCALE = 0.01
# Gauss-Newton stops at full resolution once a step is shorter than this (px).
_TOL0 = 2e-3
# Tiles that do not follow the pair's shift (a character walking against the pan, an
# overlay the masks missed): Cauchy weights only down-weight single pixels, but a moving
# figure's strong outline fills whole tiles and pulls the shift towards its own motion.
# After each full-resolution step, a tile whose mean squared residual exceeds _TILE_OUT^2 x
# the median tile's (and _TILE_FLOOR^2 luma^2) is left out of the later steps, the worst
# first, at most _TILE_OUT_MAX of the pair's tiles: the consistent majority of the tiles
# gives the shift.
_TILE_OUT = 3.0
_TILE_FLOOR = 0.07
_TILE_OUT_MAX = 1.0 / 3.0


def _kernels(fy_a: float, fx_a: float, fy_b: float, fx_b: float,
             unit: float) -> list[np.ndarray]:
    """Lanczos-``_R`` weights for sampling at ``n + frac`` from taps n-R+1 .. n+R, one float32
    array of 2R taps per fraction, in the order (y of ref, x of ref, y of mov, x of mov). The
    x kernels sum to 1, the y kernels to ``unit`` (which turns stored codes back into luma;
    the code offset cancels in every difference and in the correlation)."""
    t = np.arange(-_R + 1, _R + 1, dtype=np.float64)[None, :] - np.array(
        [fy_a, fx_a, fy_b, fx_b])[:, None]
    k = np.sinc(t) * np.sinc(t / _R)
    k /= k.sum(axis=1, keepdims=True)
    k[0::2] *= unit
    return list(k.astype(np.float32))


def _region(h: int, w: int, dx: float, dy: float) -> tuple[int, int, int, int] | None:
    """Integer q-grid (y0, x0, rows, cols) where both ref(q + d/2) and mov(q - d/2), their
    +-2 derivative neighbours and all kernel taps lie inside the planes."""
    m = _R + 3
    lo_y = math.ceil(m + abs(dy) / 2)
    hi_y = math.floor(h - 1 - m - abs(dy) / 2)
    lo_x = math.ceil(m + abs(dx) / 2)
    hi_x = math.floor(w - 1 - m - abs(dx) / 2)
    if hi_y - lo_y < 8 or hi_x - lo_x < 8:
        return None
    return lo_y, lo_x, hi_y - lo_y + 1, hi_x - lo_x + 1


@dataclass
class _Fit:
    dx: float
    dy: float
    zncc: float
    rms: float
    sx: float
    sy: float
    npix: int
    alpha: float = 1.0
    beta: float = 0.0


_EMPTY = np.ones((1, 1), bool)


def _fit_of(sums: np.ndarray, counts: np.ndarray, motion: str, dx: float, dy: float
            ) -> tuple[float, float, _Fit, float]:
    """A step's update, fit statistics and next robust scale from its sums (NSUMS) and
    residual histogram (NBINS) at shift (dx, dy)."""
    ddx, ddy, fit = _fit_sums(sums, motion, dx, dy)
    return ddx, ddy, fit, float(_robust_scales(counts[None])[0])


def _robust_scales(counts: np.ndarray) -> np.ndarray:
    """Next robust scales (J,) from residual histograms (J, NBINS): 1.4826 x the median
    |r| (the middle of the median's bin), at least _MIN_RSCALE."""
    cs = np.cumsum(counts, axis=1)
    half = np.count_nonzero(cs < 0.5 * cs[:, -1:], axis=1)  # searchsorted, row by row
    return np.maximum(1.4826 * (half + 0.5) / HIST_SCALE, _MIN_RSCALE)


def _fit_sums(sums: np.ndarray, motion: str, dx: float, dy: float
              ) -> tuple[float, float, _Fit]:
    """A step's update and fit statistics from its sums (NSUMS) at shift (dx, dy)."""
    hxx, hxy, hyy, bx, by, n, sa, sb, saa, sbb, sab, srr = sums.tolist()
    if n < 32:
        raise AlignmentError("the frames do not overlap enough to be aligned")
    # residual r = a - b; moving d by delta changes r by +delta . grad(m)
    ddx = ddy = 0.0
    det = hxx * hyy - hxy * hxy
    if motion == "x":
        ddx = -bx / hxx if hxx > 1e-12 else 0.0
    elif motion == "y":
        ddy = -by / hyy if hyy > 1e-12 else 0.0
    elif det > 1e-12 * max(hxx * hyy, 1e-30):
        ddx = -(hyy * bx - hxy * by) / det
        ddy = -(hxx * by - hxy * bx) / det
    va_ = saa - sa * sa / n
    vb_ = sbb - sb * sb / n
    cov = sab - sa * sb / n
    z = cov / math.sqrt(va_ * vb_) if va_ > 1e-12 and vb_ > 1e-12 else 0.0
    s2 = srr / max(n - 2, 1)
    if motion == "x":
        sx, sy = math.sqrt(s2 / hxx) if hxx > 1e-12 else math.inf, 0.0
    elif motion == "y":
        sx, sy = 0.0, math.sqrt(s2 / hyy) if hyy > 1e-12 else math.inf
    elif det > 1e-12 * max(hxx * hyy, 1e-30):
        sx, sy = math.sqrt(s2 * hyy / det), math.sqrt(s2 * hxx / det)
    else:
        sx = sy = math.inf
    # gain and offset of mov against ref for the next step (matched standard deviations and
    # means; a fade or flash between the frames then does not look like motion)
    alpha = min(max(math.sqrt(va_ / vb_), 0.25), 4.0) if va_ > 1e-12 and vb_ > 1e-12 else 1.0
    fit = _Fit(dx, dy, max(0.0, min(1.0, z)), math.sqrt(srr / n), sx, sy, int(n),
               alpha, (sa - alpha * sb) / n)
    return ddx, ddy, fit


def _inlier_tiles(ms: np.ndarray, dropped: int, total: int) -> np.ndarray | None:
    """Indices of the tiles to keep, given their mean squared residuals ``ms`` (n,) of
    this step, after ``dropped`` of the pair's ``total`` tiles were left out before; None
    when all stay (see :data:`_TILE_OUT`)."""
    if ms.size < 4 or float(ms.max()) <= _TILE_FLOOR * _TILE_FLOOR:
        return None  # no tile above the floor (a clean pair): no median needed
    limit = max(_TILE_OUT * _TILE_OUT * float(np.median(ms)), _TILE_FLOOR * _TILE_FLOOR)
    out = np.flatnonzero(ms > limit)
    room = int(_TILE_OUT_MAX * total) - dropped
    if out.size == 0 or room <= 0:
        return None
    out = out[np.argsort(ms[out])[::-1][:room]]  # the worst first
    keep = np.ones(ms.size, bool)
    keep[out] = False
    return np.flatnonzero(keep)


def _gn_step(a_lv: _Level, b_lv: _Level, dx: float, dy: float, motion: str,
             budget: int | None, scale: float = 0.0,
             energy: np.ndarray | None = None, cell: int = _CELL,
             layout: tuple[np.ndarray, int, int] | None = None,
             gain: tuple[float, float] = (1.0, 0.0), tile_ms: list | None = None,
             ) -> tuple[float, float, _Fit, float, tuple[np.ndarray, int, int]]:
    """One Gauss-Newton step at shift (dx, dy) of this level.

    ``scale`` is the robust residual scale (0 = plain least squares). ``layout`` reuses the
    tiles of an earlier step of the same pair and level (moved into the current region).
    ``gain`` = (alpha, beta) maps mov's values onto ref's (``alpha * b + beta``).
    Returns the update, the fit statistics, the robust scale of this step's residuals
    (1.4826 x median |r|) and the tiles used. ``tile_ms``: a list the tiles' mean squared
    residuals ((n,) float64) are appended to, when given."""
    h, w = a_lv.img.shape
    reg = _region(h, w, dx, dy)
    if reg is None:
        raise AlignmentError("the frames do not overlap enough to be aligned")
    if layout is None or layout[1] > reg[2] or layout[2] > reg[3]:
        layout = _tiles(*reg, budget, energy, (dx / 2, dy / 2), cell)
    else:
        starts, th_, tw_ = layout
        lo = np.array([reg[0], reg[1]], np.int64)
        hi = np.array([reg[0] + reg[2] - th_, reg[1] + reg[3] - tw_], np.int64)
        layout = (np.clip(starts, lo, hi), th_, tw_)
    tiles, th, tw = layout
    hist = np.zeros((len(tiles), NBINS), np.int64)
    ay, ax, by_, bx_ = dy / 2, dx / 2, -dy / 2, -dx / 2
    fay, fax, fby, fbx = math.floor(ay), math.floor(ax), math.floor(by_), math.floor(bx_)
    use_valid = a_lv.kvalid is not None or b_lv.kvalid is not None
    va = vb = _EMPTY
    if use_valid:
        va = a_lv.kvalid if a_lv.kvalid is not None else np.ones(a_lv.img.shape, bool)
        vb = b_lv.kvalid if b_lv.kvalid is not None else np.ones(b_lv.img.shape, bool)
    per_tile = gn_accumulate(
        a_lv.img, b_lv.img, va, vb,
        int(use_valid), tiles, th, tw, fay, fax, fby, fbx,
        round(ay), round(ax), round(by_), round(bx_),
        *_kernels(ay - fay, ax - fax, by_ - fby, bx_ - fbx, unit=1.0 / _ENC_GAIN),
        _ROBUST_C * _ROBUST_C * scale * scale, hist, gain[0], gain[1],
    )
    ddx, ddy, fit, new_scale = _fit_of(per_tile.sum(axis=0), hist.sum(axis=0), motion, dx, dy)
    if tile_ms is not None:
        tile_ms.append(per_tile[:, 11] / np.maximum(per_tile[:, 5], 1.0))
    return ddx, ddy, fit, new_scale, layout


def _refine(ref: PreparedPlane, mov: PreparedPlane, dx: float, dy: float, level: int,
            motion: str) -> _Fit:
    """Gauss-Newton from pyramid ``level`` down to full resolution, starting at (dx, dy)."""
    fit: _Fit | None = None
    scale = 0.0  # the first step is plain least squares; later ones are robust
    for lvl in range(level, -1, -1):
        s = 2.0 ** lvl
        a, b = ref.levels[lvl], mov.levels[lvl]
        cx, cy = dx / s, dy / s
        iters = 10 if lvl == 0 else 4
        budget = _fine_budget(a.img.size)
        cell = _CELL >> lvl
        energy = _energy(ref) if budget is not None and cell >= 1 else None
        layout = None
        total = dropped = 0
        for _ in range(iters):
            gain = (fit.alpha, fit.beta) if fit is not None else (1.0, 0.0)
            ms: list[np.ndarray] | None = [] if lvl == 0 else None
            ddx, ddy, fit, scale, layout = _gn_step(a, b, cx, cy, motion, budget, scale,
                                                    energy, max(cell, 1), layout, gain, ms)
            # a step longer than a pixel means we are outside the basin: damp it
            mag = math.hypot(ddx, ddy)
            if mag > 1.0:
                ddx, ddy = ddx / mag, ddy / mag
            cx += ddx
            cy += ddy
            keep = None
            if ms:  # full resolution: tiles that do not follow the shift leave
                total = total or len(layout[0])
                keep = _inlier_tiles(ms[0], dropped, total)
                if keep is not None:
                    dropped += len(layout[0]) - len(keep)
                    layout = (layout[0][keep], layout[1], layout[2])
            if mag < (_TOL0 if lvl == 0 else 2e-2) and keep is None:
                break
        dx, dy = cx * s, cy * s
    assert fit is not None
    # the last step was below 2e-3 px: report the updated shift with the last statistics
    fit.dx, fit.dy = dx, dy
    return fit

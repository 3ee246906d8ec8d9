"""Translation between two luma planes: phase correlation, then sub-pixel refinement.

Convention (DESIGN §4): the shift ``d = (dx, dy)`` of ``mov`` relative to ``ref`` is the position
of ``mov``'s pixel (0, 0) in ``ref``'s coordinates, ``mov(i, j) = ref(i + dy, j + dx)``. Pixel
(i, j) has its centre at (x = j, y = i). A camera panning right gives dx > 0.

Method
------
1. **Coarse** (on a box-downscaled pyramid level of at most ~360 px): phase correlation of the
   mean-filled, Tukey-windowed planes (``numpy.fft.rfft2``: the same pocketfft as
   ``scipy.fft``, without scipy's ~0.3 s import on every stitch). The correlation is
   periodic, so each of the strongest peaks is expanded into its wrapped variants (``p`` and
   ``p - N`` per axis); a hint (``guess``) adds its own candidate. Every candidate is scored by the
   zero-mean normalised cross-correlation (ZNCC) of the overlapping, unmasked pixels at that
   integer shift, and the best one wins.
2. **Refinement**: symmetric Gauss-Newton (Lucas-Kanade) from the coarsest level down to full
   resolution. Both planes are resampled half-way, ``ref(q + d/2)`` against ``mov(q - d/2)``,
   with a separable windowed-sinc kernel (Lanczos, 2x6 taps), so both sides get the same
   amount of smoothing and the interpolator's low-pass does not pull the estimate towards
   whole pixels. Masked pixels (and the pixels whose kernel touches them) have weight 0;
   after the first step, pixels whose residual is far beyond the robust residual scale
   (animation, an unmasked overlay) are down-weighted (Cauchy weights), and mov's gain and
   offset are matched to ref's (so a fade or flash is not taken for motion). A step uses a
   number of pixels that follows the frame's size (2.6 % of them, 4096 to 24k; small planes
   whole): the overlap is cut into a grid of zones and each zone contributes one tile (48 px,
   smaller for small frames) where its gradient energy is largest, so flat colour is not
   sampled and the tiles stay spread over the frame.
3. **Quality**: ZNCC of the two resampled overlaps (``confidence``), RMS residual
   (``error``), overlap fraction and a standard error of the shift from the Gauss-Newton
   normal matrix (``sigma_x``, ``sigma_y``), used as weights by :mod:`overmix.registration.solve`.

Measured (tools/bench_align.py, drawn pans area-sampled at known offsets): line art within
0.015 px lossless and 0.04 px through H.264 8/10-bit; smooth/photo-like texture within
0.015 px lossless; through H.264 the decoded frames themselves are displaced by up to ~0.09 px
(quarter-pel motion compensation), which the aligner follows to within ~0.02 px.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from overmix.errors import AlignmentError, UsageError
from overmix.geometry import TRANSLATIONS as MOTIONS
from overmix.registration.refine import HIST_SCALE, NBINS, gn_accumulate
from overmix.registration.vote import tile_vote

__all__ = [
    "CODE_GAIN", "PairResult", "PreparedPlane", "check_motion", "down2", "estimate_shift",
    "mask_pyramid", "prepare", "set_masks",
]

# Lanczos kernel half-width (taps per axis = 2 * _R).
_R = 6
# Coarsest level for phase correlation: longest side at most this many pixels.
_COARSE_MAX = 360
# Pixel budget of the full-resolution refinement (rows are taken in bands).
_FINE_BUDGET = 24_000
# Robust weights 1 / (1 + (r / (C * scale))^2), scale = 1.4826 x median |r| (at least
# _MIN_RSCALE luma units); a wide scale: only pixels that clearly disagree lose weight.
_ROBUST_C = 10.0
_MIN_RSCALE = 0.01
_TILE = 48
# The per-step budget follows the frame's pixels (so alignment cost follows the pixel count,
# issue #15): this fraction of the level's pixels, at least _MIN_BUDGET, at most
# _FINE_BUDGET; tiles shrink with it (down to _MIN_TILE) so there are always about
# _MIN_TILES zones spread over the frame.
_FINE_FRACTION = _FINE_BUDGET / (1280 * 720)
_MIN_BUDGET = 4096
_MIN_TILES = 10
_MIN_TILE = 16
# Cell size (px) of the gradient-energy map that places the tiles.
_CELL = 8
# Gauss-Newton stops at full resolution once a step is shorter than this (px).
_TOL0 = 2e-3
# Coarse search: phase-correlation peaks taken as candidates (above _PEAK_FLOOR x the
# strongest), judged by tile votes (overmix.registration.vote) of _VOTE_TILE px tiles whose
# standard deviation exceeds _VOTE_MIN_STD (luma units).
_PEAKS = 5
_PEAK_FLOOR = 0.15
_VOTE_TILE = 16
_VOTE_MIN_STD = 0.01
_VOTE_SKIP = 0.97


@dataclass(frozen=True)
class PairResult:
    """Measured shift of one frame relative to another.

    Attributes
    ----------
    dx, dy : float
        Shift in luma pixels, ``mov(i, j) = ref(i + dy, j + dx)``.
    confidence : float
        ZNCC of the aligned overlaps, in [0, 1] (1 = identical up to gain and offset).
    overlap : float
        Overlapping area as a fraction of one frame, in [0, 1].
    error : float
        RMS difference of the aligned overlaps (luma units, Y' in [0, 1]).
    sigma_x, sigma_y : float
        Standard error of ``dx``/``dy`` in pixels from the refinement (inf when unknown).
    """

    dx: float
    dy: float
    confidence: float
    overlap: float
    error: float
    sigma_x: float = math.inf
    sigma_y: float = math.inf


def check_motion(motion: str) -> str:
    if motion not in MOTIONS:
        raise UsageError(f"motion must be one of xy, x, y (got {motion!r})")
    return motion


# ---------------------------------------------------------------------------------------------
# Preparation: pyramid levels with validity weights
# ---------------------------------------------------------------------------------------------


# Storage of pyramid levels: uint16 codes of (y + _ENC_OFF) * _ENC_GAIN.
_ENC_OFF = 0.5
_ENC_GAIN = 32767.5
# Pyramid codes per luma unit (for code-level analyses such as overmix.registration.masks).
CODE_GAIN = _ENC_GAIN


@dataclass
class _Level:
    img: np.ndarray  # uint16 (h, w), see _encode
    valid: np.ndarray | None  # bool (h, w): True where the pixel may be used, None = all
    kvalid: np.ndarray | None  # valid and the resampling kernel stays inside valid pixels


@dataclass
class PreparedPlane:
    """A luma plane with its pyramid and masks, reusable across many pairs.

    ``levels[0]`` is full resolution; level l is a 2^l box downscale (pixel (i, j) of level l
    averages full-resolution pixels [2^l i, 2^l (i+1)) x [2^l j, 2^l (j+1)), so a shift
    scales by exactly 2^-l).
    """

    levels: list[_Level]
    shape: tuple[int, int]
    spec: np.ndarray | None = None  # rfft2 of the windowed coarsest level (cached)
    energy: np.ndarray | None = None  # integral image of gradient energy (cached)

    @property
    def nbytes(self) -> int:
        """Bytes held by this plane alone (shared masks not counted)."""
        n = sum(lv.img.nbytes for lv in self.levels)
        return n + (0 if self.spec is None else self.spec.nbytes)


def down2(a: np.ndarray) -> np.ndarray:
    """2x box reduction of a float plane (odd last row/column dropped)."""
    h, w = a.shape[0] // 2 * 2, a.shape[1] // 2 * 2
    a = a[:h, :w]
    return (a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2]) * np.float32(0.25)


def _down2_valid(v: np.ndarray) -> np.ndarray:
    h, w = v.shape[0] // 2 * 2, v.shape[1] // 2 * 2
    v = v[:h, :w]
    return v[0::2, 0::2] & v[1::2, 0::2] & v[0::2, 1::2] & v[1::2, 1::2]


def _erode(valid: np.ndarray, r: int) -> np.ndarray:
    """Binary erosion by a (2r+1)^2 square, outside counting as valid: two 1-D minimum
    passes (the square is separable; ~30x faster than a 2-D structuring element)."""
    from scipy import ndimage  # masks only: scipy's import costs ~0.3 s of start-up

    v = ndimage.minimum_filter1d(valid.view(np.uint8), 2 * r + 1, axis=0, mode="constant",
                                 cval=1)
    return ndimage.minimum_filter1d(v, 2 * r + 1, axis=1, mode="constant", cval=1).view(bool)


def _encode(a: np.ndarray) -> np.ndarray:
    """float32 luma -> uint16 codes ``(y + _ENC_OFF) * _ENC_GAIN`` (half the memory of float32,
    steps of 3e-5, far below any video's quantisation)."""
    v = (a + np.float32(_ENC_OFF)) * np.float32(_ENC_GAIN) + np.float32(0.5)
    np.clip(v, 0, 65535.49, out=v)
    return v.astype(np.uint16)  # v >= 0, so truncating v + 0.5 rounds to nearest


MaskPyramid = list[tuple[np.ndarray, np.ndarray]]


def mask_pyramid(shape: tuple[int, int], ignore: np.ndarray | None = None,
                 border: int = 0) -> MaskPyramid | None:
    """Validity masks per pyramid level (``valid``, ``kvalid``) for frames of ``shape``;
    None when nothing is ignored. Compute it once and pass it to :func:`prepare` when every
    frame has the same mask."""
    h, w = shape
    valid: np.ndarray | None = None
    if ignore is not None:
        ign = np.asarray(ignore)
        if ign.shape != (h, w):
            raise AlignmentError(f"mask is {ign.shape[1]}x{ign.shape[0]} but frames are {w}x{h}")
        valid = ~(ign > 0.5) if ign.dtype != bool else ~ign
    if border > 0:
        if 2 * border >= min(h, w):
            raise UsageError(f"border {border} leaves nothing of a {w}x{h} frame")
        valid = np.ones((h, w), bool) if valid is None else valid.copy()
        valid[:border] = False
        valid[-border:] = False
        valid[:, :border] = False
        valid[:, -border:] = False
    if valid is None or valid.all():
        return None
    out = [(valid, _erode(valid, _R))]
    for _ in range(1, _n_levels(shape)):
        v = _down2_valid(out[-1][0])
        out.append((v, _erode(v, _R)))
    return out


def set_masks(p: PreparedPlane, masks: MaskPyramid | None) -> None:
    """Replace the validity masks of a prepared plane (a :func:`mask_pyramid` of its shape);
    the cached spectrum and gradient energy, which depend on them, are dropped."""
    for lvl, lv in enumerate(p.levels):
        lv.valid, lv.kvalid = masks[lvl] if masks is not None else (None, None)
    p.spec = None
    p.energy = None


def _n_levels(shape: tuple[int, int], min_size: int = 24) -> int:
    h, w = shape
    n = 1
    while max(h, w) > _COARSE_MAX and min(h, w) // 2 >= min_size:
        h, w = h // 2, w // 2
        n += 1
    return n


def prepare(luma: np.ndarray, ignore: np.ndarray | None = None, border: int = 0,
            masks: MaskPyramid | None = None) -> PreparedPlane:
    """Build the pyramid of a luma plane.

    Parameters
    ----------
    luma : (H, W) array
        Y' in [0, 1] (values in [-0.5, 1.5] are kept exactly enough).
    ignore : (H, W) bool/float or None
        Pixels to ignore (True or > 0.5), e.g. a static logo or letterbox.
    border : int
        Ignore this many pixels at every edge.
    masks : MaskPyramid or None
        A precomputed :func:`mask_pyramid` (then ``ignore`` and ``border`` are not used).
    """
    raw = np.asarray(luma)
    if raw.dtype.kind not in "f":
        raise UsageError(
            f"alignment takes float working luma (Y' in [0, 1]), not {raw.dtype} codes")
    img = raw.astype(np.float32, copy=False)
    if img.ndim != 2:
        raise AlignmentError(f"a luma plane must be 2-D (got shape {img.shape})")
    shape = (int(img.shape[0]), int(img.shape[1]))
    if masks is None:
        masks = mask_pyramid(shape, ignore, border)
    n = _n_levels(shape)
    levels = []
    cur = img
    for lvl in range(n):
        if lvl:
            cur = down2(cur)
        v, kv = masks[lvl] if masks is not None else (None, None)
        levels.append(_Level(_encode(cur), v, kv))
    return PreparedPlane(levels, shape)


# ---------------------------------------------------------------------------------------------
# Coarse: phase correlation with wrap disambiguation
# ---------------------------------------------------------------------------------------------


def _tukey(n: int, alpha: float = 0.5) -> np.ndarray:
    x = np.arange(n, dtype=np.float64) / max(n - 1, 1)
    w = np.ones(n)
    a = alpha / 2
    lo = x < a
    hi = x > 1 - a
    w[lo] = 0.5 * (1 + np.cos(np.pi * (x[lo] / a - 1)))
    w[hi] = 0.5 * (1 + np.cos(np.pi * (x[hi] / a - 1 / a + 1)))
    return w


def _windowed(lv: _Level) -> np.ndarray:
    a = lv.img.astype(np.float64)  # codes: an affine map of luma, fine for correlation
    if lv.valid is not None:
        m = float(a[lv.valid].mean()) if lv.valid.any() else 0.0
        a = np.where(lv.valid, a, m)
    else:
        m = float(a.mean())
    h, w = a.shape
    return (a - m) * np.outer(_tukey(h), _tukey(w))


def _overlap_slices(h: int, w: int, dx: int, dy: int) -> tuple[tuple[slice, slice],
                                                                  tuple[slice, slice]] | None:
    """Slices of ref and mov that overlap for an integer shift (mov(p) = ref(p + d))."""
    y0, y1 = max(0, -dy), min(h, h - dy)
    x0, x1 = max(0, -dx), min(w, w - dx)
    if y1 <= y0 or x1 <= x0:
        return None
    return ((slice(y0 + dy, y1 + dy), slice(x0 + dx, x1 + dx)), (slice(y0, y1), slice(x0, x1)))


def _zncc_int(a: _Level, b: _Level, dx: int, dy: int, min_pixels: int) -> tuple[float, float]:
    """ZNCC and overlap fraction of ref level ``a`` and mov level ``b`` at an integer shift."""
    h, w = a.img.shape
    sl = _overlap_slices(h, w, dx, dy)
    if sl is None:
        return -1.0, 0.0
    sa, sb = sl
    pa, pb = a.img[sa].astype(np.float32), b.img[sb].astype(np.float32)
    frac = pa.size / (h * w)
    if a.valid is not None or b.valid is not None:
        m = np.ones(pa.shape, bool)
        if a.valid is not None:
            m &= a.valid[sa]
        if b.valid is not None:
            m &= b.valid[sb]
        pa, pb = pa[m], pb[m]
    if pa.size < min_pixels:
        return -1.0, frac
    # float32 sums; the means are removed first (no cancellation)
    pa = (pa - np.float32(pa.mean(dtype=np.float64))).ravel()
    pb = (pb - np.float32(pb.mean(dtype=np.float64))).ravel()
    saa, sbb, sab = float(pa @ pa), float(pb @ pb), float(pa @ pb)
    den = math.sqrt(saa * sbb)
    if den <= 1e-12:
        return 0.0, frac
    return sab / den, frac


def _parabola(cm: float, c0: float, cp: float) -> float:
    """Vertex offset (in [-0.5, 0.5]) of the parabola through (-1, cm), (0, c0), (1, cp)."""
    den = cm - 2 * c0 + cp
    if den >= 0:
        return 0.0
    return float(min(0.5, max(-0.5, 0.5 * (cm - cp) / den)))


def _spectrum(p: PreparedPlane) -> np.ndarray:
    if p.spec is None:
        p.spec = np.fft.rfft2(_windowed(p.levels[-1])).astype(np.complex64)
    return p.spec


def _coarse(ref: PreparedPlane, mov: PreparedPlane, motion: str,
            guess: tuple[float, float] | None, min_overlap: float,
            ) -> tuple[float, float, int]:
    """Shift at the coarsest level (level px, sub-pixel from the peak): (dx, dy, level)."""
    lvl = len(ref.levels) - 1
    a, b = ref.levels[lvl], mov.levels[lvl]
    h, w = a.img.shape
    cross = _spectrum(ref) * np.conj(_spectrum(mov))
    cross /= np.abs(cross) + 1e-12 * float(np.abs(cross).max() + 1e-30)
    full = np.fft.irfft2(cross, s=(h, w))
    corr = full
    if motion == "x":
        corr = full[:1, :]
    elif motion == "y":
        corr = full[:, :1]
    # the strongest peaks (non-maximum suppression over 5x5, periodic): the background's is
    # not always the strongest (a subtitle or a character can outvote it), tiles decide
    work = np.array(corr)
    ch, cw = work.shape
    peaks: list[tuple[int, int]] = []
    top = 0.0
    for _ in range(_PEAKS):
        flat = int(np.argmax(work))
        py, px = divmod(flat, cw)
        v = float(work[py, px])
        if peaks and v < _PEAK_FLOOR * top:  # weak secondary peaks are noise
            break
        top = max(top, v)
        peaks.append((py, px))
        work[np.ix_(np.arange(py - 2, py + 3) % ch, np.arange(px - 2, px + 3) % cw)] = -np.inf
    # candidate integer shift -> sub-pixel start
    cands: dict[tuple[int, int], tuple[float, float]] = {}
    for py, px in peaks:
        fy = 0.0 if motion == "x" else _parabola(
            full[(py - 1) % h, px], full[py, px], full[(py + 1) % h, px])
        fx = 0.0 if motion == "y" else _parabola(
            full[py, (px - 1) % w], full[py, px], full[py, (px + 1) % w])
        for cy in {py, py - h} if py else {0}:
            for cx in {px, px - w} if px else {0}:
                cands[(cx, cy)] = (cx + fx, cy + fy)
    scale = 2 ** lvl
    if guess is not None:
        gx = guess[0] / scale if motion != "y" else 0.0
        gy = guess[1] / scale if motion != "x" else 0.0
        for cx in {math.floor(gx), math.ceil(gx)}:
            for cy in {math.floor(gy), math.ceil(gy)}:
                cands.setdefault((cx, cy), (gx, gy))
    min_pixels = max(64, int(0.02 * h * w))
    scored: list[tuple[tuple[int, int], tuple[float, float], float]] = []
    for (cx, cy), start in cands.items():
        z, frac = _zncc_int(a, b, cx, cy, min_pixels)
        if frac < min_overlap:
            continue
        # prefer larger overlaps slightly: tiny overlaps can match by chance
        scored.append(((cx, cy), start, z - 0.05 * (1.0 - frac)))
    if not scored:
        raise AlignmentError("the frames do not overlap enough to be aligned")
    if len(scored) > 1 and max(sc[2] for sc in scored) < _VOTE_SKIP:
        # tiles vote: the candidate that most of the textured frame agrees with (a match
        # this good everywhere leaves nothing to outvote it: clean pans skip the vote)
        votes, _ = tile_vote(a.img, b.img, a.valid, b.valid, [c for c, _, _ in scored],
                             tile=_VOTE_TILE, min_std=_VOTE_MIN_STD * _ENC_GAIN)
        if votes.max() > 0:
            top_v = float(votes.max())
            # near-ties (within 10 %) go to the better whole-overlap correlation
            scored = [s for s, v in zip(scored, votes, strict=True) if v >= 0.9 * top_v]
    _, start, score = max(scored, key=lambda s: s[2])
    return start[0], start[1], lvl


# ---------------------------------------------------------------------------------------------
# Refinement: symmetric Gauss-Newton with a windowed-sinc resampler
# ---------------------------------------------------------------------------------------------


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


def _fine_budget(pixels: int) -> int | None:
    """Pixels per Gauss-Newton step at a level of ``pixels`` (None: the whole overlap)."""
    budget = min(_FINE_BUDGET, max(_MIN_BUDGET, round(_FINE_FRACTION * pixels)))
    return None if pixels <= 2 * budget else budget


def _tile_side(budget: int) -> int:
    """Side of the square tiles that give about _MIN_TILES tiles for ``budget`` pixels."""
    return int(min(_TILE, max(_MIN_TILE, math.isqrt(budget // _MIN_TILES))))


def _spread(lo: int, length: int, size: int, count: int) -> np.ndarray:
    """``count`` starts of windows of ``size`` spread evenly over [lo, lo + length)."""
    if count <= 1:
        return np.array([lo + (length - size) // 2], np.int64)
    return np.linspace(lo, lo + length - size, count).round().astype(np.int64)


def _tiles(y0: int, x0: int, rows: int, cols: int, budget: int | None,
           energy: np.ndarray | None = None, shift: tuple[float, float] = (0.0, 0.0),
           cell: int = 8) -> tuple[np.ndarray, int, int]:
    """Tiles (starts (n, 2), tile rows, tile cols) covering the region, or about ``budget``
    pixels of it: the region is cut into a grid of zones (so the tiles stay spread out, and
    an animated character cannot take them all) and each zone's tile sits where the
    gradient energy is largest (so flat colour, which says nothing about the shift, is not
    sampled). ``energy`` is :func:`_energy` of the plane whose pixel ``q + shift`` a q-tile
    reads, in cells of ``cell`` pixels of this level."""
    if budget is None or rows * cols <= budget:
        th, tw = min(rows, 32), cols
        ny = -(-rows // th)
        ys = _spread(y0, rows, th, ny) if ny > 1 else np.array([y0], np.int64)
        xs = np.array([x0], np.int64)
        grid = np.stack(np.meshgrid(ys, xs, indexing="ij"), axis=-1).reshape(-1, 2)
        return np.ascontiguousarray(grid, np.int64), th, tw
    side = _tile_side(budget)
    th, tw = min(rows, side), min(cols, side)
    n_tiles = max(1, budget // (th * tw))
    # a grid of zones with the region's aspect ratio
    ny = max(1, min(rows // th, round(math.sqrt(n_tiles * rows / cols))))
    nx = max(1, min(cols // tw, n_tiles // ny))
    if energy is None:
        ys, xs = _spread(y0, rows, th, ny), _spread(x0, cols, tw, nx)
        grid = np.stack(np.meshgrid(ys, xs, indexing="ij"), axis=-1).reshape(-1, 2)
        return np.ascontiguousarray(grid, np.int64), th, tw
    ey = np.linspace(y0, y0 + rows, ny + 1).astype(np.int64)
    ex = np.linspace(x0, x0 + cols, nx + 1).astype(np.int64)
    # candidate starts per zone row / column (every ``cell`` px), padded to one length by
    # repeating the last one (a repeat never wins a tie: argmax keeps the first maximum)
    ys, cy0, cy1 = _zone_candidates(ey, th, cell, shift[1], energy.shape[0] - 1)
    xs, cx0, cx1 = _zone_candidates(ex, tw, cell, shift[0], energy.shape[1] - 1)
    # tile energy of every candidate of every zone: (ny, my, nx, mx) from the integral image
    e = (energy[cy1[:, :, None, None], cx1[None, None]]
         - energy[cy0[:, :, None, None], cx1[None, None]]
         - energy[cy1[:, :, None, None], cx0[None, None]]
         + energy[cy0[:, :, None, None], cx0[None, None]])
    my, mx = ys.shape[1], xs.shape[1]
    best = e.transpose(0, 2, 1, 3).reshape(ny, nx, my * mx).argmax(axis=2)
    out = np.stack([np.take_along_axis(ys, best // mx, axis=1),
                    np.take_along_axis(xs, (best % mx).T, axis=1).T], axis=-1)
    return np.ascontiguousarray(out.reshape(-1, 2), np.int64), th, tw


def _zone_candidates(edges: np.ndarray, size: int, cell: int, shift: float,
                     ncell: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate tile starts of each zone between ``edges`` (zones, m), padded, and the
    first / past-the-end energy cells the tiles cover (clipped to ``ncell``)."""
    a = edges[:-1]
    count = (np.maximum(edges[1:] - size, a) - a) // cell + 1
    step = np.minimum(np.arange(int(count.max()))[None, :], (count - 1)[:, None])
    pos = (a[:, None] + cell * step).astype(np.int64)
    c0 = np.clip(((pos + shift) // cell).astype(np.int64), 0, ncell)
    c1 = np.clip(((pos + size + shift) // cell).astype(np.int64), 0, ncell)
    return pos, c0, c1


def _energy(p: PreparedPlane) -> np.ndarray:
    """Integral image (float64, (H/_CELL + 1, W/_CELL + 1)) of the squared gradient of the
    full-resolution plane per _CELL x _CELL cell (estimated on every other pixel; ignored
    pixels count 0). Cached on the plane."""
    if p.energy is None:
        lv = p.levels[0]
        a = lv.img[::2, ::2].astype(np.float32)
        e = np.zeros(a.shape, np.float32)
        e[:-1, :-1] = np.square(np.diff(a, axis=1)[:-1]) + np.square(np.diff(a, axis=0)[:, :-1])
        if lv.valid is not None:
            e *= lv.valid[::2, ::2]
        c = _CELL // 2
        hc, wc = e.shape[0] // c, e.shape[1] // c
        cells = e[: hc * c, : wc * c].reshape(hc, c, wc, c).sum(axis=(1, 3), dtype=np.float64)
        integral = np.zeros((hc + 1, wc + 1))
        integral[1:, 1:] = cells.cumsum(axis=0).cumsum(axis=1)
        p.energy = integral
    return p.energy


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


def _gn_step(a_lv: _Level, b_lv: _Level, dx: float, dy: float, motion: str,
             budget: int | None, scale: float = 0.0,
             energy: np.ndarray | None = None, cell: int = _CELL,
             layout: tuple[np.ndarray, int, int] | None = None,
             gain: tuple[float, float] = (1.0, 0.0),
             ) -> tuple[float, float, _Fit, float, tuple[np.ndarray, int, int]]:
    """One Gauss-Newton step at shift (dx, dy) of this level.

    ``scale`` is the robust residual scale (0 = plain least squares). ``layout`` reuses the
    tiles of an earlier step of the same pair and level (moved into the current region).
    ``gain`` = (alpha, beta) maps mov's values onto ref's (``alpha * b + beta``).
    Returns the update, the fit statistics, the robust scale of this step's residuals
    (1.4826 x median |r|) and the tiles used."""
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
    sums = gn_accumulate(
        a_lv.img, b_lv.img, va, vb,
        int(use_valid), tiles, th, tw, fay, fax, fby, fbx,
        round(ay), round(ax), round(by_), round(bx_),
        *_kernels(ay - fay, ax - fax, by_ - fby, bx_ - fbx, unit=1.0 / _ENC_GAIN),
        _ROBUST_C * _ROBUST_C * scale * scale, hist, gain[0], gain[1],
    ).sum(axis=0)
    counts = hist.sum(axis=0)
    half = np.searchsorted(np.cumsum(counts), 0.5 * counts.sum())
    new_scale = max(1.4826 * (half + 0.5) / HIST_SCALE, _MIN_RSCALE)
    hxx, hxy, hyy, bx, by, n, sa, sb, saa, sbb, sab, srr = (float(v) for v in sums)
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
        for _ in range(iters):
            gain = (fit.alpha, fit.beta) if fit is not None else (1.0, 0.0)
            ddx, ddy, fit, scale, layout = _gn_step(a, b, cx, cy, motion, budget, scale,
                                                    energy, max(cell, 1), layout, gain)
            # a step longer than a pixel means we are outside the basin: damp it
            mag = math.hypot(ddx, ddy)
            if mag > 1.0:
                ddx, ddy = ddx / mag, ddy / mag
            cx += ddx
            cy += ddy
            if mag < (_TOL0 if lvl == 0 else 2e-2):
                break
        dx, dy = cx * s, cy * s
    assert fit is not None
    # the last step was below 2e-3 px: report the updated shift with the last statistics
    fit.dx, fit.dy = dx, dy
    return fit


# ---------------------------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------------------------


def estimate_prepared(ref: PreparedPlane, mov: PreparedPlane, *, motion: str = "xy",
                      guess: tuple[float, float] | None = None, search: bool = True,
                      min_overlap: float = 0.05) -> PairResult:
    """:func:`estimate_shift` on planes already :func:`prepare`\\ d (reuses their pyramids).

    With ``search=False`` the coarse search is skipped and the refinement starts at full
    resolution from ``guess``, which must then be within about a pixel of the truth.
    """
    check_motion(motion)
    if ref.shape != mov.shape:
        raise AlignmentError(
            f"frames differ in size: {ref.shape[1]}x{ref.shape[0]} and "
            f"{mov.shape[1]}x{mov.shape[0]}")
    if search or guess is None:
        cx, cy, lvl = _coarse(ref, mov, motion, guess, min_overlap)
        s = 2 ** lvl
        # the sub-pixel peak is within the basin of the next finer level
        fit = _refine(ref, mov, cx * s, cy * s, max(lvl - 1, 0), motion)
    else:
        gx = guess[0] if motion != "y" else 0.0
        gy = guess[1] if motion != "x" else 0.0
        fit = _refine(ref, mov, gx, gy, 0, motion)
    h, w = ref.shape
    overlap = max(0.0, (w - abs(fit.dx)) * (h - abs(fit.dy)) / (w * h))
    dx = fit.dx if motion != "y" else 0.0
    dy = fit.dy if motion != "x" else 0.0
    return PairResult(dx, dy, fit.zncc, min(overlap, 1.0), fit.rms, fit.sx, fit.sy)


def estimate_shift(ref: np.ndarray, mov: np.ndarray, *, ref_mask: np.ndarray | None = None,
                   mov_mask: np.ndarray | None = None, motion: str = "xy",
                   guess: tuple[float, float] | None = None, border: int = 0) -> PairResult:
    """Sub-pixel shift of ``mov`` relative to ``ref``.

    Parameters
    ----------
    ref, mov : (H, W) float arrays
        Luma planes (Y' in [0, 1]) of the same size.
    ref_mask, mov_mask : (H, W) bool/float or None
        Pixels to ignore (True or > 0.5) in each plane.
    motion : "xy" | "x" | "y"
        Restrict the shift to one axis (the other is 0).
    guess : (dx, dy) or None
        Expected shift; adds a candidate to the coarse search (helps with large shifts).
    border : int
        Ignore this many pixels at every edge.

    Returns
    -------
    PairResult
        ``dx, dy`` with ``mov(i, j) = ref(i + dy, j + dx)`` (luma pixels).

    Raises
    ------
    AlignmentError
        Different sizes, or no usable overlap.
    """
    ref = np.asarray(ref)
    mov = np.asarray(mov)
    if ref.shape != mov.shape:
        raise AlignmentError(
            f"frames differ in size: {ref.shape[1]}x{ref.shape[0]} and "
            f"{mov.shape[1]}x{mov.shape[0]}")
    return estimate_prepared(prepare(ref, ref_mask, border), prepare(mov, mov_mask, border),
                             motion=check_motion(motion), guess=guess)

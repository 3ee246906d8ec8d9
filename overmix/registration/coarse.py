"""Coarse shift of a pair: phase correlation with wrap disambiguation, judged by tile votes.

On the coarsest pyramid level (:mod:`overmix.registration.pyramid`), the mean-filled,
Tukey-windowed planes are phase-correlated (``numpy.fft.rfft2``). The correlation is periodic,
so each of the strongest peaks is expanded into its wrapped variants (``p`` and ``p - N`` per
axis); a hint (``guess``) adds its own candidate. Every candidate is scored by the ZNCC of the
overlapping, unmasked pixels at that integer shift; when no candidate matches almost
perfectly, tiles vote (:mod:`overmix.registration.vote`) on a finer level (at most
``_VOTE_MAX`` px a side, with that level's own correlation peaks as further candidates: two
motions a coarse pixel apart are one coarse peak) and the best-correlated of the
candidates most tiles agree with wins. Shift convention: :mod:`overmix.registration.phase`.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from overmix.errors import AlignmentError
from overmix.registration.pyramid import _ENC_GAIN, PreparedPlane, _Level
from overmix.registration.vote import tile_vote

# Coarse search: phase-correlation peaks taken as candidates (above _PEAK_FLOOR x the
# strongest), judged by tile votes (overmix.registration.vote) of _VOTE_TILE px tiles whose
# standard deviation exceeds _VOTE_MIN_STD (luma units).
_PEAKS = 5
_PEAK_FLOOR = 0.15
_VOTE_TILE = 16
_VOTE_MIN_STD = 0.01
_VOTE_SKIP = 0.97
# The vote runs on the finest level whose longest side is at most this (px).
_VOTE_MAX = 720


def _tukey(n: int, alpha: float = 0.5) -> np.ndarray:
    x = np.arange(n, dtype=np.float64) / max(n - 1, 1)
    w = np.ones(n)
    a = alpha / 2
    lo = x < a
    hi = x > 1 - a
    w[lo] = 0.5 * (1 + np.cos(np.pi * (x[lo] / a - 1)))
    w[hi] = 0.5 * (1 + np.cos(np.pi * (x[hi] / a - 1 / a + 1)))
    return w


@functools.lru_cache(maxsize=4)
def _window2(h: int, w: int) -> np.ndarray:
    """The separable 2-D Tukey window of an (h, w) level (cached: every pair's spectrum of
    every frame uses the same one; read-only)."""
    win = np.outer(_tukey(h), _tukey(w))
    win.flags.writeable = False
    return win


def _windowed(lv: _Level) -> np.ndarray:
    a = lv.img.astype(np.float64)  # codes: an affine map of luma, fine for correlation
    if lv.valid is not None:
        m = float(a[lv.valid].mean()) if lv.valid.any() else 0.0
        a = np.where(lv.valid, a, m)
    else:
        m = float(a.mean())
    h, w = a.shape
    a -= m
    a *= _window2(h, w)
    return a


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


def _zncc_sub(a: _Level, b: _Level, sx: float, sy: float) -> float | None:
    """ZNCC of ref level ``a`` and mov level ``b`` at a sub-pixel shift: both resampled
    half-way by bilinear interpolation (a at q + s/2, b at q - s/2, the same smoothing on
    both sides) over the q where every sample is inside the planes. None with masks (or
    without an overlap): the integer-shift ZNCC decides then."""
    if a.valid is not None or b.valid is not None:
        return None
    h, w = a.img.shape
    ay, ax, by, bx = sy / 2, sx / 2, -sy / 2, -sx / 2
    iy, ix, jy, jx = math.floor(ay), math.floor(ax), math.floor(by), math.floor(bx)
    y0, y1 = max(-iy, -jy), min(h - 1 - iy, h - 1 - jy)
    x0, x1 = max(-ix, -jx), min(w - 1 - ix, w - 1 - jx)
    if y1 - y0 < 8 or x1 - x0 < 8:
        return None

    def sample(img: np.ndarray, oy: int, fy: float, ox: int, fx: float) -> np.ndarray:
        v = img[y0 + oy:y1 + oy + 1, x0 + ox:x1 + ox + 1].astype(np.float32)
        rows = v[:-1] * np.float32(1 - fy) + v[1:] * np.float32(fy)
        out = rows[:, :-1] * np.float32(1 - fx) + rows[:, 1:] * np.float32(fx)
        return (out - np.float32(out.mean(dtype=np.float64))).ravel()

    pa = sample(a.img, iy, ay - iy, ix, ax - ix)
    pb = sample(b.img, jy, by - jy, jx, bx - jx)
    den = math.sqrt(float(pa @ pa) * float(pb @ pb))
    return float(pa @ pb) / den if den > 1e-12 else None


def _parabola(cm: float, c0: float, cp: float) -> float:
    """Vertex offset (in [-0.5, 0.5]) of the parabola through (-1, cm), (0, c0), (1, cp)."""
    den = cm - 2 * c0 + cp
    if den >= 0:
        return 0.0
    return float(min(0.5, max(-0.5, 0.5 * (cm - cp) / den)))


def _spectrum(p: PreparedPlane, lvl: int) -> np.ndarray:
    spec = p.specs.get(lvl)
    if spec is None:
        spec = p.specs[lvl] = np.fft.rfft2(_windowed(p.levels[lvl])).astype(np.complex64)
    return spec


def _correlation(ref: PreparedPlane, mov: PreparedPlane, lvl: int) -> np.ndarray:
    """Phase correlation surface of level ``lvl`` (periodic, (h, w) float64)."""
    shape = ref.levels[lvl].img.shape
    cross = _spectrum(ref, lvl) * np.conj(_spectrum(mov, lvl))
    mag = np.abs(cross)
    top = float(mag.max())
    if not top > 1e-20:  # a flat level (a black frame): no structure, no peak (not 0/0 = NaN)
        return np.zeros(shape)
    cross /= mag + 1e-12 * top
    return np.fft.irfft2(cross, s=shape)


def _peaks(full: np.ndarray, motion: str, radius: int) -> dict[tuple[int, int],
                                                               tuple[float, float]]:
    """The strongest peaks of a correlation surface (non-maximum suppression over
    (2 radius + 1)^2, periodic; above _PEAK_FLOOR x the strongest), each expanded into its
    wrapped variants: integer shift -> sub-pixel start (level px)."""
    h, w = full.shape
    corr = full[:1, :] if motion == "x" else full[:, :1] if motion == "y" else full
    work = np.array(corr)
    ch, cw = work.shape
    peaks: list[tuple[int, int]] = []
    top = 0.0
    for _ in range(_PEAKS):
        flat = int(np.argmax(work))
        py, px = divmod(flat, cw)
        v = float(work[py, px])
        if peaks and not v > _PEAK_FLOOR * top:  # weak secondary peaks are noise
            break
        top = max(top, v)
        peaks.append((py, px))
        work[np.ix_(np.arange(py - radius, py + radius + 1) % ch,
                    np.arange(px - radius, px + radius + 1) % cw)] = -np.inf
    cands: dict[tuple[int, int], tuple[float, float]] = {}
    for py, px in peaks:
        fy = 0.0 if motion == "x" else _parabola(
            full[(py - 1) % h, px], full[py, px], full[(py + 1) % h, px])
        fx = 0.0 if motion == "y" else _parabola(
            full[py, (px - 1) % w], full[py, px], full[py, (px + 1) % w])
        for cy in {py, py - h} if py else {0}:
            for cx in {px, px - w} if px else {0}:
                cands[(cx, cy)] = (cx + fx, cy + fy)
    return cands


def _vote_level(p: PreparedPlane) -> int:
    """The finest level whose longest side is at most _VOTE_MAX px."""
    lvl = 0
    while lvl < len(p.levels) - 1 and max(p.levels[lvl].img.shape) > _VOTE_MAX:
        lvl += 1
    return lvl


def _coarse(ref: PreparedPlane, mov: PreparedPlane, motion: str,
            guess: tuple[float, float] | None, min_overlap: float,
            ) -> tuple[float, float, int]:
    """Coarse shift: (dx, dy) in full-resolution px (sub-pixel, from a correlation peak)
    and the pyramid level the refinement starts at (within its basin)."""
    lvl = len(ref.levels) - 1
    a, b = ref.levels[lvl], mov.levels[lvl]
    h, w = a.img.shape
    # the strongest peaks (5x5 suppression): the background's is not always the strongest
    # (a subtitle or a character can outvote it), tiles decide
    cands = _peaks(_correlation(ref, mov, lvl), motion, 2)
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
    (bx, by), start, score = max(scored, key=lambda s: s[2])
    if score < _VOTE_SKIP:
        # the integer shift's ZNCC also drops with the shift's sub-pixel phase (line art
        # half a pixel off): judge the best candidate at its sub-pixel start too
        z = _zncc_sub(a, b, start[0], start[1])
        if z is not None:
            frac = (w - abs(bx)) * (h - abs(by)) / (w * h)
            score = max(score, z - 0.05 * (1.0 - frac))
    if score < _VOTE_SKIP:
        # tiles vote: the candidate that most of the textured frame agrees with (a match
        # this good everywhere leaves nothing to outvote it: clean pans skip the vote)
        got = _vote(ref, mov, motion, [s[1] for s in scored], lvl, min_overlap)
        if got is not None:
            return got
    return start[0] * scale, start[1] * scale, max(lvl - 1, 0)


def _vote(ref: PreparedPlane, mov: PreparedPlane, motion: str,
          coarse: list[tuple[float, float]], lvl: int, min_overlap: float,
          ) -> tuple[float, float, int] | None:
    """Tile votes on the vote level (:func:`_vote_level`) among its own correlation peaks
    (3x3 suppression) and the coarse candidates (``coarse``: starts in level-``lvl`` px).

    Two motions a coarse pixel apart (credits scrolling over a slow pan, a character walking
    against it) make one peak on the coarsest level, and the refinement then follows
    whichever has the stronger edges; a level of up to _VOTE_MAX px tells them apart.
    Near-ties (within 10 % of the most votes) go to the better whole-overlap correlation.
    Returns the winner as :func:`_coarse` does, or None when no tile voted."""
    fl = _vote_level(ref)
    a, b = ref.levels[fl], mov.levels[fl]
    h, w = a.img.shape
    f = 2 ** (lvl - fl)
    cands = _peaks(_correlation(ref, mov, fl), motion, 1)
    for sx, sy in coarse:
        cands.setdefault((round(sx * f), round(sy * f)), (sx * f, sy * f))
    keys = [c for c in cands if (w - abs(c[0])) * (h - abs(c[1])) >= min_overlap * w * h]
    if not keys:
        return None
    votes, _ = tile_vote(a.img, b.img, a.valid, b.valid, keys, tile=_VOTE_TILE,
                         min_std=_VOTE_MIN_STD * _ENC_GAIN)
    if votes.max() <= 0:
        return None
    top = [c for c, v in zip(keys, votes, strict=True) if v >= 0.9 * float(votes.max())]
    min_pixels = max(64, int(0.02 * h * w))
    best = max(top, key=lambda c: _zncc_int(a, b, c[0], c[1], min_pixels)[0])
    s = 2 ** fl
    return cands[best][0] * s, cands[best][1] * s, max(fl - 1, 0)

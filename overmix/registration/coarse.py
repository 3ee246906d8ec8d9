"""Coarse shift of a pair: phase correlation with wrap disambiguation, judged by tile votes.

On the coarsest pyramid level (:mod:`overmix.registration.pyramid`), the mean-filled,
Tukey-windowed planes are phase-correlated (``numpy.fft.rfft2``). The correlation is periodic,
so each of the strongest peaks is expanded into its wrapped variants (``p`` and ``p - N`` per
axis); a hint (``guess``) adds its own candidate. Every candidate is scored by the ZNCC of the
overlapping, unmasked pixels at that integer shift; when no candidate matches almost
perfectly, tiles vote (:mod:`overmix.registration.vote`) and the best-scored of the
candidates most tiles agree with wins. Shift convention: :mod:`overmix.registration.phase`.
"""

from __future__ import annotations

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

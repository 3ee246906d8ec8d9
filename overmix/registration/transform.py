"""Aligning a scene under zoom and rotation (``--motion zoom|similarity|auto``).

:func:`align_transform` is :func:`overmix.registration.align` for the richer motion models.
Frame k gets ``T_k(p) = x_k + m_k·p`` (complex notation, ``m_k = s_k·e^{i a_k}``, DESIGN §4),
frame 0 the identity.

Pairs are measured much as in the translation path (each frame against the frames 1 and 8
before it (:data:`TRANSFORM_JUMPS`; also 4 when those fail or the frames are small) and key
frames against older key frames, from a sliding window of prepared frames) with
:func:`~overmix.registration.similarity.estimate_similarity`; the shortest jump searches, the
longer ones start from the position it gives. A pair (i, j) says ``T_j = T_i ∘ T_ij``, so

1. ``log m_j − log m_i = log m_ij``: a linear problem in ``(log s, a)``, solved (scaled by the
   half-diagonal L, so both are "px at the frame corner") by the robust weighted least
   squares of :func:`~overmix.registration.solve.solve_offsets`;
2. with the m_k fixed, the frame centres ``C_k = x_k + m_k·c`` obey
   ``C_j − C_i = m_i·(T_ij(c) − c)``, the measured displacement of the centre (its
   best-determined quantity), solved the same way; ``x_k = C_k − m_k·c``.

A pair rejected by either solve is an outlier. ``auto`` aligns by translation first (today's
path, speed and accuracy) and then measures the zoom and rotation over the whole scene along a
short chain of widely spaced frames (:func:`detect_motion`); only when the scale changes by
:data:`MIN_SCALE_CHANGE` or more, or the angle by :data:`MIN_ANGLE_DEG` or more, and that change
is many honest standard errors (:func:`decide_motion`: the chain's hops must agree, codec noise
reads as a small zoom of random sign) away from none, is the scene aligned again with ``zoom``
or ``similarity``. ``extra["motion"]`` reports the model used.
"""

from __future__ import annotations

import cmath
import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from overmix.errors import AlignmentError
from overmix.geometry import Offsets
from overmix.progress import ProgressCallback
from overmix.registration.pyramid import PreparedPlane, mask_pyramid, prepare
from overmix.registration.similarity import SimilarityResult, estimate_similarity, step_budget
from overmix.registration.solve import (
    MIN_CONFIDENCE,
    Pair,
    components,
    first_break,
    frame_labels,
    solve_offsets,
    solve_report,
)

__all__ = ["MIN_ANGLE_DEG", "MIN_SCALE_CHANGE", "align_transform", "detect_motion"]

# Below these changes over the scene a richer model is not worth it (issue #16).
MIN_SCALE_CHANGE = 5e-4
MIN_ANGLE_DEG = 0.01
# ... nor a change whose displacement at the frame corners is below this (px), or below
# _MIN_SIGNIFICANCE standard errors of its measurement (small or noisy frames).
MIN_CORNER_PX = 0.1
_MIN_SIGNIFICANCE = 5.0
# Frames apart at most this much are chained for the detection (predicted overlap).
_DETECT_OVERLAP = 0.6
_DETECT_MAX_PAIRS = 12
# A hop is refined from the translation's offsets starting on this pyramid level; below this
# ZNCC it is searched afresh.
_DETECT_LEVEL = 2
_DETECT_RESEARCH = 0.9
# ... and at most this many frames apart (a pair measured across a large zoom is less exact,
# which could read a pure zoom as a rotation)
_DETECT_MAX_HOP = 16
# Floor of a pair's standard errors: centre (px) and log-scale/angle (dimensionless).
_SIGMA_T0 = 0.02
_SIGMA_MU0 = 2e-5
# The fit's formal error of log m assumes independent pixel noise; codec noise and grain
# filtered by the codec are correlated over several px, so the true error is larger
# (measured: hops of pure pans at 480x270 and 1280x720, lossless and H.264 8/10-bit, scatter
# 3-10x their formal error). A hop counts with this multiple of it ...
_SIGMA_INFLATION = 6.0
# ... or, over this many hops or more, with the hops' own scatter if larger.
_MIN_SCATTER_HOPS = 4


def _frame_reader(lumas: object) -> tuple[int, Callable[[int], np.ndarray]]:
    from overmix.providers import count, reader

    return count(lumas), reader(lumas)


class _Preparer:
    """Prepared planes with the scene's masks (``mask``, ``border``, bars, ``frame_masks``)."""

    def __init__(self, shape: tuple[int, int], base: np.ndarray | None, border: int,
                 frame_masks: Callable[[int], np.ndarray | None] | None) -> None:
        self.shape, self.base, self.border, self.frame_masks = shape, base, border, frame_masks
        self.shared = mask_pyramid(shape, base, border)

    def __call__(self, k: int, y: np.ndarray) -> PreparedPlane:
        fm = self.frame_masks(k) if self.frame_masks is not None else None
        if fm is None:
            return prepare(y, masks=self.shared)
        fm = np.asarray(fm)
        if fm.shape != self.shape:
            raise AlignmentError(f"mask of frame {k} has the wrong size")
        ign = fm > 0.5 if self.base is None else (self.base > 0.5) | (fm > 0.5)
        return prepare(y, ign, self.border)


def _setup(lumas: object, mask: np.ndarray | None, border: int, auto_bars: bool,
           frame_masks: Callable[[int], np.ndarray | None] | None,
           ) -> tuple[int, Callable[[int], np.ndarray], _Preparer, tuple[int, int, int, int]]:
    from overmix.registration.bars import bars_mask, detect_bars

    n, read = _frame_reader(lumas)
    y0 = np.asarray(read(0))
    if y0.ndim != 2:
        raise AlignmentError("a luma plane must be 2-D")
    shape = (int(y0.shape[0]), int(y0.shape[1]))
    base = None if mask is None else np.asarray(mask)
    if base is not None and base.shape != shape:
        raise AlignmentError(f"mask is {base.shape[1]}x{base.shape[0]} but frames are "
                             f"{shape[1]}x{shape[0]}")
    bars = detect_bars(y0) if auto_bars else (0, 0, 0, 0)
    if any(bars):
        bm = bars_mask(shape, bars)
        base = bm if base is None else (base > 0.5) | bm
    return n, read, _Preparer(shape, base, border, frame_masks), bars


def detect_motion(lumas: object, xy: np.ndarray, *, mask: np.ndarray | None = None,
                  border: int = 0, frame_masks: Callable[[int], np.ndarray | None] | None = None,
                  auto_bars: bool = True) -> tuple[str, float, float]:
    """The simplest model for a scene aligned by translation at ``xy`` ((n, 2)).

    Measures the zoom and rotation between frames along a chain that spans the scene (each
    hop as long as the frames still overlap by :data:`_DETECT_OVERLAP`, at most
    :data:`_DETECT_MAX_HOP` frames), and composes them.
    Returns ``(model, scale change, angle change in degrees)``: the largest relative change
    of the scale and of the angle from frame 0 along the chain, and ``"xy"``, ``"zoom"`` or
    ``"similarity"``. A change counts when it reaches :data:`MIN_SCALE_CHANGE` (scale) or
    :data:`MIN_ANGLE_DEG` (angle), moves the frame corners by :data:`MIN_CORNER_PX` or more
    and is :data:`_MIN_SIGNIFICANCE` standard errors of the measurement or more.
    """
    n, read, prep, _ = _setup(lumas, mask, border, auto_bars, frame_masks)
    h, w = prep.shape
    xy = np.asarray(xy, np.float64)

    def overlap(i: int, j: int) -> float:
        d = xy[j] - xy[i]
        return max(0.0, w - abs(d[0])) * max(0.0, h - abs(d[1])) / (w * h)

    hops: list[tuple[int, int]] = []
    # enough hops that their own scatter can be measured (see decide_motion)
    longest = max(1, min(_DETECT_MAX_HOP, (n - 1) // _MIN_SCATTER_HOPS))
    a = 0
    while a < n - 1:
        b = a + 1
        while b + 1 < n and b + 1 - a <= longest and overlap(a, b + 1) >= _DETECT_OVERLAP:
            b += 1
        hops.append((a, b))
        a = b
    if len(hops) > _DETECT_MAX_PAIRS:  # spread a few hops over the scene
        pick = np.linspace(0, len(hops) - 1, _DETECT_MAX_PAIRS).round().astype(int)
        hops = [hops[i] for i in sorted(set(pick.tolist()))]
    found = _measure_hops(hops, read, prep, xy)
    corner = math.hypot(w - 1, h - 1) / 2
    return decide_motion(found, n, corner)


def _measure_hops(hops: list[tuple[int, int]], read: Callable[[int], np.ndarray],
                  prep: _Preparer, xy: np.ndarray) -> list[tuple[int, complex, float]]:
    """:func:`detect_motion`'s hops measured: ``(frames spanned, log m, formal sigma)`` of
    each confident one, in scene order. The later half of the chain is measured on a second
    thread meanwhile (the alignment's last stage: the cores are otherwise idle, and the
    steps' full-resolution products release the GIL), each half reading and preparing its
    own frames (a hop's end is the next one's start: only the middle frame is read twice)."""
    if min(2, os.cpu_count() or 1) < 2 or len(hops) < 2:
        return _hops_of(hops, read, prep, xy)
    half = (len(hops) + 1) // 2
    with ThreadPoolExecutor(1, thread_name_prefix="overmix-hops") as ex:
        later = ex.submit(_hops_of, hops[half:], read, prep, xy)
        try:
            first = _hops_of(hops[:half], read, prep, xy)
        finally:
            later.cancel()
        return first + later.result()


def _hops_of(hops: list[tuple[int, int]], read: Callable[[int], np.ndarray],
             prep: _Preparer, xy: np.ndarray) -> list[tuple[int, complex, float]]:
    """The hops of :func:`_measure_hops`, one after the other (the frames of the current
    hop kept prepared)."""
    cache: dict[int, PreparedPlane] = {}

    def get(k: int) -> PreparedPlane:
        if k not in cache:
            cache[k] = prep(k, np.asarray(read(k)))
        return cache[k]

    found: list[tuple[int, complex, float]] = []  # (frames spanned, log m, formal sigma)
    for i, j in hops:
        for old in [k for k in cache if k not in (i, j)]:
            del cache[old]
        d = xy[j] - xy[i]
        # the translation is known: refined from it on a coarse level (basin of a few px at
        # the corners), searched only when that matches poorly
        g = (complex(d[0], d[1]), 1 + 0j)
        try:
            r = estimate_similarity(get(i), get(j), model="similarity", guess=g,
                                    search=False, level=_DETECT_LEVEL)
        except AlignmentError:
            r = None
        if r is None or r.confidence < _DETECT_RESEARCH:
            try:
                r = estimate_similarity(get(i), get(j), model="similarity", guess=g)
            except AlignmentError:
                continue
        if r.confidence < MIN_CONFIDENCE:
            continue
        found.append((j - i, complex(math.log(r.scale), r.angle), r.sigma_mu))
    return found


def decide_motion(found: Sequence[tuple[int, complex, float]], n: int,
                  corner: float) -> tuple[str, float, float]:
    """The model for a scene of ``n`` frames from its chain of hops.

    ``found``: per hop in scene order ``(frames spanned, log m, formal standard error of
    log m)``; ``corner`` the frame's half-diagonal (px). The change is the largest excursion
    of the composed log-scale (angle) from frame 0. Its standard error is estimated honestly:
    each hop's error is the larger of :data:`_SIGMA_INFLATION` x its formal error (codec noise
    is correlated, the fit's error is optimistic) and, over :data:`_MIN_SCATTER_HOPS` hops or
    more, the hops' own scatter (hop-to-hop differences of the rate: a pure pan's hops
    scatter about 0, a real zoom's agree). The change counts when it is
    :data:`_MIN_SIGNIFICANCE` such standard errors or more (and above the issue's thresholds).
    Returns ``(model, scale change, angle change in degrees)``.
    """
    m = len(found)
    if m == 0:
        return "xy", 0.0, 0.0
    span = np.array([f[0] for f in found], np.float64)
    mu = np.array([f[1] for f in found], np.complex128)
    formal = _SIGMA_INFLATION * np.maximum(np.array([f[2] for f in found]), _SIGMA_MU0)
    covered = float(span.sum())
    verdict = []
    for part in (mu.real, mu.imag):
        scatter = 0.0
        if m >= _MIN_SCATTER_HOPS:
            # hop-to-hop differences of the rate, times the hop: the measurement noise of a
            # hop, blind to a zoom that speeds up or slows down smoothly; from m - 1
            # differences it can come out small by chance, so it counts with an upper bound
            # (about 2 standard errors of a scatter estimate above it)
            d = np.diff(part / span) * np.sqrt(span[1:] * span[:-1])
            scatter = math.sqrt(float(np.mean(d * d)) / 2) * (1 + 2 / math.sqrt(m - 1))
        sigma = np.maximum(formal, scatter)
        path = np.cumsum(part)
        var = np.cumsum(sigma ** 2)
        k = int(np.argmax(np.abs(path)))
        big, sig = abs(float(path[k])), math.sqrt(float(var[k]))
        if 0 < covered < n - 1:  # a sampled chain: extrapolate to the whole scene
            big *= (n - 1) / covered
            sig *= (n - 1) / covered
        verdict.append((big, sig))
    (ls, sig_s), (big_a, sig_a) = verdict
    big_s = abs(math.expm1(ls))

    def counts(change: float, sigma: float, least: float) -> bool:
        return (change >= least and change * corner >= MIN_CORNER_PX
                and change >= _MIN_SIGNIFICANCE * sigma)

    if counts(big_a, sig_a, math.radians(MIN_ANGLE_DEG)):
        model = "similarity"
    elif counts(ls, sig_s, MIN_SCALE_CHANGE):
        model = "zoom"
    else:
        model = "xy"
    return model, big_s, math.degrees(big_a)


def align_transform(lumas: Sequence[np.ndarray] | object, *, motion: str = "auto",
                    mask: np.ndarray | None = None, border: int = 0,
                    frame_masks: Callable[[int], np.ndarray | None] | None = None,
                    indices: Sequence[int] | None = None,
                    progress: ProgressCallback | None = None, auto_bars: bool = True) -> Offsets:
    """:func:`overmix.registration.align` for ``motion`` = ``zoom``, ``similarity`` or
    ``auto`` (same parameters). The offsets carry ``scale`` and ``angle`` (degrees) per frame
    when the model is not translation; ``extra["motion"]`` names the model used and, for
    ``auto``, ``extra["motion_detected"]`` the scale and angle changes measured."""
    from overmix.registration.scene import align

    if motion == "auto":
        kw = dict(mask=mask, border=border, frame_masks=frame_masks, indices=indices,
                  progress=progress, auto_bars=auto_bars)
        try:
            off = align(lumas, motion="xy", **kw)  # type: ignore[arg-type]
        except AlignmentError:
            off = None
        if off is not None:
            model, ds, da = detect_motion(lumas, off.xy, mask=mask, border=border,
                                          frame_masks=frame_masks, auto_bars=auto_bars)
            if model == "xy":
                off.extra["motion"] = "xy"
                off.extra["motion_detected"] = {"scale_change": ds, "angle_deg": da}
                return off
        else:
            model, ds, da = "similarity", math.nan, math.nan
        try:
            out = align_transform(lumas, motion=model, **kw)  # type: ignore[arg-type]
        except AlignmentError:
            if off is None:
                raise
            off.extra["motion"] = "xy"  # the richer model failed: keep the pan
            out = off
        out.extra["motion_detected"] = {"scale_change": ds, "angle_deg": da}
        return out
    return _align_model(lumas, motion, mask, border, frame_masks, indices, progress,
                        auto_bars)


# Frames back that each frame is measured against (key frames also over the long jumps of
# registration.schedule). Fewer than the translation path's (1, 2, 4, 8): through H.264 a
# frame's error is mostly the codec's own displacement of the places its pairs sample, which
# more pairs at the same places do not average away, while more pixels per pair do
# (registration.similarity._PIXELS); a similarity pair costs about twice a translation pair.
TRANSFORM_JUMPS = (1, 8)
# ... and this one when those did not give two good pairs (the first frames, a camera too
# fast for the longest to overlap, a black frame), so that the solve still has loops in
# which to find a wrong pair.
SPARE_JUMP = 4
# Frames small enough to be sampled whole (no more pixels to be had) keep more pairs.
WHOLE_JUMPS = (1, 4, 8)


def _align_model(lumas: object, model: str, mask: np.ndarray | None, border: int,
                 frame_masks: Callable[[int], np.ndarray | None] | None,
                 indices: Sequence[int] | None, progress: ProgressCallback | None,
                 auto_bars: bool) -> Offsets:
    from overmix.registration.schedule import KEY_EVERY, MIN_JUMP_OVERLAP, long_jumps_for

    n, read, prep, bars = _setup(lumas, mask, border, auto_bars, frame_masks)
    labels = frame_labels(n, indices)
    report = progress or (lambda stage, done, total: None)
    h, w = prep.shape
    c = complex((w - 1) / 2, (h - 1) / 2)
    window: dict[int, PreparedPlane] = {}
    est: dict[int, tuple[complex, complex]] = {}  # running (x_k, m_k)
    conf: dict[int, float] = {}  # confidence of the measurement that placed frame k
    found: list[tuple[int, int, SimilarityResult]] = []
    jumps = WHOLE_JUMPS if step_budget(h * w) is None else TRANSFORM_JUMPS
    keep = max(jumps)
    long_jumps: tuple[int, ...] = ()
    report("align", 0, n)
    for k in range(n):
        y = np.asarray(read(k))
        if y.shape != prep.shape:
            raise AlignmentError(
                f"frames differ in size: frame {labels[k]} is {y.shape[1]}x{y.shape[0]}, "
                f"frame {labels[0]} is {w}x{h}")
        window[k] = prep(k, y)
        del y
        if k == 0:
            est[0] = (0j, 1 + 0j)
            conf[0] = 1.0
            long_jumps = long_jumps_for(window[0].nbytes)
        else:
            _measure(k, window, est, conf, found, model, w, h, c, long_jumps,
                     jumps, KEY_EVERY, MIN_JUMP_OVERLAP)
            if k not in est:
                last = max(est)
                est[k] = _predict(k, est) if len(est) >= 2 else est[last]
        far = max(long_jumps, default=0)
        for old in [j for j in window if j <= k - keep and not (
                j % KEY_EVERY == 0 and j >= k - far)]:
            del window[old]
        report("align", k + 1, n)
    window.clear()
    out = _solve(n, labels, found, model, w, h)
    out.extra["bars"] = [int(b) for b in bars]
    out.extra["motion"] = model
    return out


def _predict(k: int, est: dict[int, tuple[complex, complex]]) -> tuple[complex, complex]:
    """Frame k's transform extrapolated from the last two known (constant velocity of x and
    of log m)."""
    known = [j for j in range(k - 1, max(k - 9, -1), -1) if j in est]
    if not known:
        return 0j, 1 + 0j
    a = known[0]
    if len(known) < 2:
        return est[a]
    b = known[1]
    (xa, ma), (xb, mb) = est[a], est[b]
    f = (k - a) / (a - b)
    return xa + (xa - xb) * f, ma * cmath.exp(cmath.log(ma / mb) * f)


def _relative(ti: tuple[complex, complex], tk: tuple[complex, complex],
              ) -> tuple[complex, complex]:
    """``T_i^{-1} ∘ T_k`` as (x, m)."""
    (xi, mi), (xk, mk) = ti, tk
    return (xk - xi) / mi, mk / mi


def _overlap(x: complex, m: complex, c: complex, w: int, h: int) -> float:
    d = x + (m - 1) * c  # displacement of the centre
    return max(0.0, w - abs(d.real)) * max(0.0, h - abs(d.imag)) / (w * h)


def _measure(k: int, window: dict[int, PreparedPlane], est: dict[int, tuple[complex, complex]],
             conf: dict[int, float],
             found: list[tuple[int, int, SimilarityResult]], model: str, w: int, h: int,
             c: complex, long_jumps: tuple[int, ...], jumps: tuple[int, ...], key_every: int,
             min_overlap: float) -> None:
    pred = _predict(k, est)
    spare = () if SPARE_JUMP in jumps else (SPARE_JUMP,)
    todo = [k - j for j in jumps + spare + (long_jumps if k % key_every == 0 else ())
            if k - j >= 0 and k - j in window and k - j in est]
    if not todo:
        return
    best: tuple[float, tuple[complex, complex]] | None = None
    first = todo.pop(0)
    # a steady camera (frames k-1 and k-2 placed by confident measurements): refine the
    # neighbour pair from the prediction, the phase correlation only when that misses
    chain = conf.get(first) if first == k - 1 and k - 2 in conf else None
    r0 = _pair(window[first], window[k], _relative(est[first], pred), model, chain, c)
    results: list[tuple[int, SimilarityResult]] = []
    if r0 is not None:
        results.append((first, r0))
        if r0.confidence >= MIN_CONFIDENCE:
            best = (r0.confidence, _compose(est[first], r0))
    base = best[1] if best is not None else pred
    for i in todo:
        g = _relative(est[i], base)
        if spare and i == k - SPARE_JUMP and sum(
                r.confidence >= MIN_CONFIDENCE for _, r in results) > 1:
            continue
        if _overlap(g[0], g[1], c, w, h) < min_overlap:
            continue
        r = _pair(window[i], window[k], g, model, None if best is None else best[0], c)
        if r is not None:
            results.append((i, r))
    for i, r in results:
        found.append((i, k, r))
        if r.confidence >= MIN_CONFIDENCE and (best is None or r.confidence > best[0]):
            best = (r.confidence, _compose(est[i], r))
    if best is not None:
        est[k] = best[1]
        conf[k] = best[0]


def _compose(ti: tuple[complex, complex], r: SimilarityResult) -> tuple[complex, complex]:
    """``T_i ∘ T_ik`` as (x, m)."""
    xi, mi = ti
    return xi + mi * complex(r.dx, r.dy), mi * r.m


def _pair(ref: PreparedPlane, mov: PreparedPlane, guess: tuple[complex, complex], model: str,
          chain_conf: float | None, c: complex) -> SimilarityResult | None:
    """One pair: refined from ``guess`` when it comes from a confident chain (``chain_conf``,
    that measurement's confidence) and the result agrees with it, else searched."""
    if chain_conf is not None:
        try:
            r = estimate_similarity(ref, mov, model=model, guess=guess, search=False)
            centre = guess[0] + (guess[1] - 1) * c  # displacement of the centre predicted
            if r.confidence >= chain_conf - 0.1 and abs(
                    complex(r.dx, r.dy) + (r.m - 1) * c - centre) <= 1.0:
                return r
        except AlignmentError:
            pass
    try:
        return estimate_similarity(ref, mov, model=model, guess=guess, search=True)
    except AlignmentError:
        return None


def _solve(n: int, labels: list[int], found: list[tuple[int, int, SimilarityResult]],
           model: str, w: int, h: int) -> Offsets:
    c = complex((w - 1) / 2, (h - 1) / 2)
    L = abs(c)  # half diagonal: log-scale and angle become "px at the corner"
    rot = model == "similarity"
    conf = _link_confidence(n, found)
    # 1. log m
    pz = []
    for (i, j, r), cf in zip(found, conf, strict=True):
        wgt = r.confidence ** 2 / ((L * r.sigma_mu) ** 2 + (L * _SIGMA_MU0) ** 2)
        pz.append(Pair(i, j, L * math.log(r.scale), L * r.angle if rot else 0.0, wgt,
                       cf, wgt))
    zs, _, inl_z = solve_offsets(n, pz, motion="xy" if rot else "x", anchor=0)
    if np.isnan(zs[:, 0]).any():
        _raise_broken(n, labels, found, inl_z)
    m = np.exp(zs[:, 0] / L + 1j * zs[:, 1] / L)
    m[0] = 1.0
    # 2. frame centres
    pc = []
    for (i, j, r), ok, cf in zip(found, inl_z, conf, strict=True):
        d = m[i] * (complex(r.dx, r.dy) + (r.m - 1) * c)
        wgt = r.confidence ** 2 / (r.sigma_t ** 2 + _SIGMA_T0 ** 2) / abs(m[i]) ** 2
        pc.append(Pair(i, j, d.real, d.imag, wgt if ok else 0.0, cf, wgt if ok else 0.0))
    cs, res, inl_c = solve_offsets(n, pc, motion="xy", anchor=0)
    if np.isnan(cs[:, 0]).any():
        _raise_broken(n, labels, found, inl_c & inl_z)
    x = cs[:, 0] + 1j * cs[:, 1] + c - m * c
    x[0] = 0j
    inl = inl_z & inl_c
    rin = res[inl]
    rejected = [[labels[i], labels[j]] for (i, j, _), ok in zip(found, inl, strict=True)
                if not ok]
    extra: dict[str, object] = {**solve_report(rin, len(found), rejected),
                                "unaligned_frames": []}
    xy = np.stack([x.real, x.imag], axis=1)
    scale = np.abs(m)
    angle = np.degrees(np.angle(m)) if rot else np.zeros(n)
    return Offsets(xy, labels, w, h, extra=extra, scale=scale, angle=angle)


# A pair this much less confident than both its frames' best other pairs is a chance match
# (across a cut, ZNCC ~0.4-0.65 between two drawn shots against ~0.99 within each), not a
# link: without it the shots are two groups and the translation's grouping says which is
# stitched (registration.scene), as for --motion xy.
_WEAK_LINK = 0.3


def _link_confidence(n: int, found: list[tuple[int, int, SimilarityResult]]) -> list[float]:
    """Each pair's confidence, or 0 (an outlier from the start) for a weak link: below
    ``min(best_i, best_j) - _WEAK_LINK``, the best confidences of frames i and j over their
    other pairs (a lone pair between two frames is only judged by the others)."""
    best = np.zeros((n, 2))  # the two best confidences of each frame's pairs
    for i, j, r in found:
        for k in (i, j):
            c = r.confidence
            if c > best[k, 0]:
                best[k] = c, best[k, 0]
            elif c > best[k, 1]:
                best[k, 1] = c
    out = []
    for i, j, r in found:
        c = r.confidence
        other = [best[k, 1] if best[k, 0] == c else best[k, 0] for k in (i, j)]
        out.append(0.0 if c < min(other) - _WEAK_LINK else c)
    return out


def _raise_broken(n: int, labels: list[int], found: list[tuple[int, int, SimilarityResult]],
                  inl: np.ndarray) -> None:
    first_break(components(n, [(i, j) for (i, j, _), ok in zip(found, inl, strict=True) if ok]),
                labels)

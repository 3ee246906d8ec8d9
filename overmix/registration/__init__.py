"""Sub-pixel alignment of a scene's frames (DESIGN §4 offsets, §6 "Align").

:func:`align` measures the shift between neighbouring frames and a few longer jumps
(:func:`~overmix.registration.phase.estimate_shift`), then solves all of them jointly
(:func:`~overmix.registration.solve.solve_offsets`) into :class:`~overmix.geometry.Offsets`:
``frame_k(i, j) = frame_0(i + y_k, j + x_k)``, frame 0 at (0, 0), a pan to the right gives
increasing x.

Pairs: each frame against the frames 1, 2, 4 and 8 before it (when the predicted overlap is
at least 35%); every 8th frame (a key frame) also against the key frames 16, 32, 64 and 128
before it, as far as the memory budget allows, which keeps long slow pans from drifting.
The shortest jump is searched (phase correlation); the others start from the position it
gives. Letterbox bars on frame 0 are found and ignored.

Frames are read once, one at a time, in order, through the provider; only a sliding window
of prepared frames (uint16 pyramids, ~2.7 MB per 1280x720 frame, at most
``WINDOW_BUDGET`` plus the 9 most recent frames) is held in memory.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from overmix.errors import AlignmentError, UsageError
from overmix.geometry import Offsets
from overmix.progress import ProgressCallback
from overmix.providers import LumaProvider, count, reader
from overmix.registration.phase import (
    MaskPyramid,
    PairResult,
    PreparedPlane,
    check_motion,
    estimate_prepared,
    estimate_shift,
    mask_pyramid,
    prepare,
)
from overmix.registration.solve import (
    MIN_CONFIDENCE,
    Pair,
    components,
    pair_weights,
    solve_offsets,
)

__all__ = [
    "JUMPS",
    "KEY_EVERY",
    "LONG_JUMPS",
    "WINDOW_BUDGET",
    "LumaProvider",
    "Pair",
    "PairResult",
    "align",
    "bars_mask",
    "detect_bars",
    "estimate_shift",
    "solve_offsets",
]

# Frame distances measured for every frame (when the predicted overlap is large enough).
JUMPS = (1, 2, 4, 8)
# Every KEY_EVERY-th frame is a key frame, kept a little longer: key frames are also measured
# against the key frames LONG_JUMPS back, which cuts the drift of long, slow pans. The longest
# jumps are used only while the window stays within WINDOW_BUDGET bytes (small frames get
# all of them; 1280x720 gets 16 and 32).
KEY_EVERY = 8
LONG_JUMPS = (16, 32, 64, 128)
WINDOW_BUDGET = 36 * 1024 * 1024


def window_frames(long_jumps: Sequence[int]) -> int:
    """Most prepared frames held at once with these long jumps."""
    far = max(long_jumps, default=0)
    return max(JUMPS) + 1 + max(0, far // KEY_EVERY - max(JUMPS) // KEY_EVERY)


def long_jumps_for(frame_bytes: int) -> tuple[int, ...]:
    """The long jumps whose window of prepared frames fits :data:`WINDOW_BUDGET`."""
    out: tuple[int, ...] = ()
    for j in LONG_JUMPS:
        if window_frames(out + (j,)) * frame_bytes > WINDOW_BUDGET:
            break
        out += (j,)
    return out
# Frames at least this large measure their longer jumps on 2 threads.
_POOL_MIN_PIXELS = 60_000
# Smallest predicted overlap (fraction of a frame) for a longer jump to be measured.
MIN_JUMP_OVERLAP = 0.35


def _overlap_frac(d: np.ndarray, w: int, h: int) -> float:
    return max(0.0, (w - abs(float(d[0])))) * max(0.0, (h - abs(float(d[1])))) / (w * h)


def align(lumas: LumaProvider, *, motion: str = "xy",
          mask: np.ndarray | None = None, border: int = 0,
          frame_masks: Callable[[int], np.ndarray | None] | None = None,
          indices: Sequence[int] | None = None,
          progress: ProgressCallback | None = None, auto_bars: bool = True) -> Offsets:
    """Align the frames of one scene.

    Parameters
    ----------
    lumas : sequence of (H, W) float32 arrays, or an object with ``len()`` and ``luma(k)`` /
        ``[k]``
        Working luma planes (Y' in [0, 1]), all the same size. Read one at a time, in order.
    motion : "xy" | "x" | "y" | "zoom" | "similarity" | "auto"
        "x" allows horizontal motion only (every y = 0), "y" vertical only; "zoom" adds a
        per-frame scale, "similarity" a scale and an angle, "auto" picks the simplest that
        fits (:mod:`overmix.registration.transform`).
    mask : (H, W) bool/float or None
        Pixels to ignore in every frame (True or > 0.5), in frame coordinates: a static logo,
        letterbox bars.
    border : int
        Ignore this many pixels at every frame edge.
    frame_masks : callable or None
        ``frame_masks(k)`` gives an extra ignore mask for frame k (or None).
    indices : sequence of int or None
        The frames' positions in the input (reported in the offsets and in errors); defaults
        to ``0..n-1``. Its length must be ``len(lumas)``.
    progress : ProgressCallback or None
        Called as ``progress("align", done, n)``.
    auto_bars : bool
        Ignore letterbox/pillarbox bars found on frame 0 (:func:`detect_bars`); their static
        edges would otherwise pull the offsets towards "no motion".

    Returns
    -------
    Offsets
        ``xy`` (n, 2) with frame 0 at (0, 0). ``extra`` has ``residual_rms`` and
        ``residual_max`` (px, over the inlier pairs), ``pairs`` (measured), ``rejected_pairs``
        (count), ``rejected`` (list of ``[index_i, index_j]``) and ``unaligned_frames`` (input
        indices of frames that matched none of their neighbours, e.g. a flash or noise frame;
        their positions are interpolated from their neighbours) and ``bars`` (``[top, bottom,
        left, right]`` widths of the bars that were ignored, all 0 when none).

    Raises
    ------
    AlignmentError
        Fewer than 2 frames, frames of different sizes, or frames that do not overlap or
        match their neighbours (named in the message).
    UsageError
        Bad ``motion``, ``border`` or ``indices``.
    """
    if motion in ("zoom", "similarity", "auto"):  # zoom/rotation: registration.transform
        from overmix.registration.transform import align_transform

        return align_transform(lumas, motion=motion, mask=mask, border=border,
                               frame_masks=frame_masks, indices=indices, progress=progress,
                               auto_bars=auto_bars)
    check_motion(motion)
    if border < 0:
        raise UsageError(f"border must be >= 0 (got {border})")
    n, read = count(lumas), reader(lumas)
    labels = list(range(n)) if indices is None else [int(i) for i in indices]
    if len(labels) != n:
        raise UsageError(f"indices has {len(labels)} entries for {n} frames")
    if n < 2:
        raise AlignmentError(f"alignment needs at least 2 frames (got {n})")
    report = progress or (lambda stage, done, total: None)

    window: dict[int, PreparedPlane] = {}
    est: dict[int, np.ndarray] = {}  # running position of each frame (chained)
    conf: dict[int, float] = {0: 1.0}  # confidence of the measurement that placed a frame
    pairs: list[Pair] = []
    results: list[tuple[int, int, PairResult]] = []
    shape: tuple[int, int] | None = None
    base_mask = None if mask is None else np.asarray(mask)
    keep = max(JUMPS)
    shared: tuple[MaskPyramid | None] | None = None
    long_jumps: tuple[int, ...] = ()
    bars = (0, 0, 0, 0)
    report("align", 0, n)
    pool: ThreadPoolExecutor | None = None
    workers = min(2, os.cpu_count() or 1)
    try:
        for k in range(n):
            y = np.asarray(read(k))
            if y.ndim != 2:
                raise AlignmentError(f"frame {labels[k]}: a luma plane must be 2-D")
            if shape is None:
                shape = (int(y.shape[0]), int(y.shape[1]))
                if workers > 1 and y.size >= _POOL_MIN_PIXELS:
                    pool = ThreadPoolExecutor(workers)
                if base_mask is not None and base_mask.shape != shape:
                    raise AlignmentError(
                        f"mask is {base_mask.shape[1]}x{base_mask.shape[0]} but frames are "
                        f"{shape[1]}x{shape[0]}")
            elif y.shape != shape:
                raise AlignmentError(
                    f"frames differ in size: frame {labels[k]} is {y.shape[1]}x{y.shape[0]}, "
                    f"frame {labels[0]} is {shape[1]}x{shape[0]}")
            if k == 0 and auto_bars:
                bars = detect_bars(y)
                if any(bars):
                    bar_mask = bars_mask(shape, bars)
                    base_mask = bar_mask if base_mask is None else (base_mask > 0.5) | bar_mask
            fm = frame_masks(k) if frame_masks is not None else None
            if fm is None:
                if shared is None:  # the same masks for every such frame: build them once
                    shared = (mask_pyramid(shape, base_mask, border),)
                window[k] = prepare(y, masks=shared[0])
            else:
                fm = np.asarray(fm)
                if fm.shape != shape:
                    raise AlignmentError(f"mask of frame {labels[k]} has the wrong size")
                ign = fm > 0.5 if base_mask is None else (base_mask > 0.5) | (fm > 0.5)
                window[k] = prepare(y, ign, border)
            del y
            if k == 0:
                est[0] = np.zeros(2)
            else:
                _measure(k, window, est, pairs, results, motion, shape[1], shape[0], pool,
                         long_jumps, conf)
                if k not in est:
                    # no confident match (a flash or noise frame, or frame 0 was one): seed a
                    # position by extrapolation so later frames can still be chained to it;
                    # the solve, not this guess, decides the offsets
                    last = max(est)
                    est[k] = est[last] + _velocity(k, est) * (k - last)
            if k == 0:
                long_jumps = long_jumps_for(window[0].nbytes)
            far = max(long_jumps, default=0)
            for old in [j for j in window if j <= k - keep and not (
                    j % KEY_EVERY == 0 and j >= k - far)]:
                del window[old]
            report("align", k + 1, n)
    finally:
        if pool is not None:
            pool.shutdown()
        window.clear()
    assert shape is not None
    h, w = shape
    out = _solve(n, labels, pairs, results, motion, w, h)
    out.extra["bars"] = [int(b) for b in bars]
    return out


def detect_bars(y: np.ndarray, *, dark: float = 0.1, flat: float = 0.01,
                max_frac: float = 0.3) -> tuple[int, int, int, int]:
    """Widths (top, bottom, left, right) of letterbox/pillarbox bars: runs of edge rows or
    columns that are flat (standard deviation < ``flat``) and dark (mean < ``dark``), each at
    most ``max_frac`` of the frame (a darker run is a dark scene, not a bar). Bars narrower
    than 2 px are ignored."""
    y = np.asarray(y, dtype=np.float32)
    h, w = y.shape

    def run(flags: np.ndarray, limit: int) -> int:
        n = int(np.argmin(flags)) if not flags.all() else len(flags)
        return n if 2 <= n <= limit else 0

    rows = (y.std(axis=1) < flat) & (y.mean(axis=1) < dark)
    cols = (y.std(axis=0) < flat) & (y.mean(axis=0) < dark)
    return (run(rows, int(max_frac * h)), run(rows[::-1], int(max_frac * h)),
            run(cols, int(max_frac * w)), run(cols[::-1], int(max_frac * w)))


def bars_mask(shape: tuple[int, int], bars: tuple[int, int, int, int],
              margin: int = 2) -> np.ndarray:
    """Ignore mask of the bars plus ``margin`` pixels (the blended bar edge)."""
    h, w = shape
    m = np.zeros(shape, bool)
    top, bottom, left, right = bars
    if top:
        m[: top + margin] = True
    if bottom:
        m[h - bottom - margin:] = True
    if left:
        m[:, : left + margin] = True
    if right:
        m[:, w - right - margin:] = True
    return m


def _velocity(k: int, est: dict[int, np.ndarray]) -> np.ndarray:
    """Per-frame velocity from the last two known positions before frame k."""
    known = [j for j in range(k - 1, max(k - 9, -1), -1) if j in est]
    if len(known) >= 2:
        a, b = known[0], known[1]
        return (est[a] - est[b]) / (a - b)
    return np.zeros(2)


def _steady(k: int, est: dict[int, np.ndarray], conf: dict[int, float]) -> bool:
    """Frames k-1 and k-2 were both placed by a confident measurement (so the velocity from
    them predicts frame k)."""
    return k - 1 in conf and k - 2 in conf


def _measure(k: int, window: dict[int, PreparedPlane], est: dict[int, np.ndarray],
             pairs: list[Pair], results: list[tuple[int, int, PairResult]], motion: str,
             w: int, h: int, pool: ThreadPoolExecutor | None,
             long_jumps: tuple[int, ...], conf: dict[int, float]) -> None:
    """Measure frame k against earlier frames in the window; update its running position.

    The shortest available jump is measured first with a full search; the longer ones start
    from the position it gives (they run in parallel when a pool is given).
    """
    vel = _velocity(k, est)
    jumps = JUMPS + (long_jumps if k % KEY_EVERY == 0 else ())
    todo = [k - j for j in jumps if k - j >= 0 and k - j in window and k - j in est]
    if not todo:
        return
    found: list[tuple[int, PairResult]] = []
    best: tuple[float, np.ndarray] | None = None
    first = todo.pop(0)
    # the predicted position (constant velocity) is tried first when the previous frame was
    # placed confidently: no phase correlation for a steady pan, whose coarse search costs
    # the same for small frames as for large ones; a miss falls back to the search
    chain = conf.get(first) if first == k - 1 and _steady(k, est, conf) else None
    r0 = _pair(window[first], window[k], est[first] + vel * (k - first) - est[first], motion,
               chain)
    if r0 is not None:
        found.append((first, r0))
        if r0.confidence >= MIN_CONFIDENCE:
            best = (r0.confidence, est[first] + np.array([r0.dx, r0.dy]))
    pos_k = best[1] if best is not None else None
    jobs = []
    for i in todo:
        pred = (pos_k if pos_k is not None else est[i] + vel * (k - i)) - est[i]
        if _overlap_frac(pred, w, h) < MIN_JUMP_OVERLAP:
            continue
        jobs.append((i, pred))

    def run(job: tuple[int, np.ndarray]) -> tuple[int, PairResult | None]:
        i, pred = job
        return i, _pair(window[i], window[k], pred, motion, best[0] if best else None)

    done = list(pool.map(run, jobs)) if pool is not None and len(jobs) > 1 else map(run, jobs)
    found.extend((i, r) for i, r in done if r is not None)
    for i, r in found:
        wx, wy = pair_weights(r)
        pairs.append(Pair(i, k, r.dx, r.dy, wx, r.confidence, wy))
        results.append((i, k, r))
        if r.confidence >= MIN_CONFIDENCE and (best is None or r.confidence > best[0]):
            # the most confident measurement gives the running position
            best = (r.confidence, est[i] + np.array([r.dx, r.dy]))
    if best is not None:
        est[k] = best[1]
        conf[k] = best[0]


def _pair(ref: PreparedPlane, mov: PreparedPlane, pred: np.ndarray, motion: str,
          chain_conf: float | None) -> PairResult | None:
    """One pair: refine from ``pred`` directly when it comes from a measured chain
    (``chain_conf`` is that measurement's confidence), else (or if that fails) search."""
    guess = (float(pred[0]), float(pred[1]))
    if chain_conf is not None:
        try:
            r = estimate_prepared(ref, mov, motion=motion, guess=guess, search=False)
            if (r.confidence >= chain_conf - 0.1
                    and math.hypot(r.dx - guess[0], r.dy - guess[1]) <= 1.0):
                return r
        except AlignmentError:
            pass
    try:
        return estimate_prepared(ref, mov, motion=motion, guess=guess)
    except AlignmentError:
        return None


def _solve(n: int, labels: list[int], pairs: list[Pair],
           results: list[tuple[int, int, PairResult]], motion: str, w: int, h: int) -> Offsets:
    inl_edges: list[tuple[int, int]] = []
    if pairs:
        xy0, res, inl = solve_offsets(n, pairs, motion=motion, anchor=0)
        inl_edges = [(p.i, p.j) for p, ok in zip(pairs, inl, strict=True) if ok]
    else:
        res, inl = np.zeros(0), np.zeros(0, bool)
    comp = components(n, inl_edges)
    sizes = np.bincount(comp)
    main = int(np.argmax(sizes))
    others = [c for c in range(len(sizes)) if c != main]
    isolated = [k for k in range(n) if comp[k] != main]
    if others and (n < 3 or any(sizes[c] > 1 for c in others) or len(isolated) > max(1, n // 4)):
        # name the first place where the sequence breaks
        for k in range(n - 1):
            if comp[k] != comp[k + 1]:
                raise AlignmentError(
                    f"frames {labels[k]} and {labels[k + 1]} do not overlap or do not match "
                    "(no reliable alignment between them)")
        raise AlignmentError("frames could not be aligned")  # pragma: no cover
    anchor = next(k for k in range(n) if comp[k] == main)
    xy, res, inl = solve_offsets(n, pairs, motion=motion, anchor=anchor)
    good = ~np.isnan(xy[:, 0])
    if isolated:
        ks = np.flatnonzero(good)
        for ax in range(2):
            col = xy[:, ax]
            if len(ks) >= 2:
                # linear interpolation, extrapolated with the end velocities
                col[~good] = np.interp(np.flatnonzero(~good), ks, col[ks])
                lo, hi = ks[0], ks[-1]
                for k in np.flatnonzero(~good):
                    if k < lo:
                        col[k] = col[lo] + (col[ks[1]] - col[lo]) / (ks[1] - lo) * (k - lo)
                    elif k > hi:
                        col[k] = col[hi] + (col[hi] - col[ks[-2]]) / (hi - ks[-2]) * (k - hi)
            else:
                col[~good] = 0.0
        xy = xy - xy[0]
    rin = res[inl] if len(res) else np.zeros(0)
    rejected = [[labels[p.i], labels[p.j]] for p, ok in zip(pairs, inl, strict=True) if not ok]
    extra: dict[str, object] = {
        "residual_rms": float(math.sqrt(float(np.mean(rin ** 2)))) if rin.size else 0.0,
        "residual_max": float(rin.max()) if rin.size else 0.0,
        "pairs": len(pairs),
        "rejected_pairs": len(rejected),
        "rejected": rejected,
        "unaligned_frames": [labels[k] for k in isolated],
    }
    return Offsets(xy, labels, w, h, extra=extra)

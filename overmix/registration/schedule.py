"""The pair schedule of a scene: which frames are measured against which, and how.

Pairs: each frame against the frames 1, 2, 4 and 8 before it (when the predicted overlap is
at least 35%); every 8th frame (a key frame) also against the key frames 16, 32, 64 and 128
before it, as far as the memory budget allows, which keeps long slow pans from drifting.
The shortest jump is searched (phase correlation); the others start from the position it
gives (:func:`_measure`). Only a sliding window of prepared frames (at most
``WINDOW_BUDGET`` plus the 9 most recent frames) is held in memory.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from overmix.errors import AlignmentError
from overmix.registration.phase import PairResult, estimate_prepared
from overmix.registration.pyramid import PreparedPlane
from overmix.registration.solve import MIN_CONFIDENCE, Pair, pair_weights

__all__ = ["JUMPS", "KEY_EVERY", "LONG_JUMPS", "MIN_JUMP_OVERLAP", "WINDOW_BUDGET",
           "long_jumps_for", "window_frames"]


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

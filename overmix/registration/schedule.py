"""The pair schedule of a scene: which frames are measured against which, and how.

Pairs: each frame against the frames 1, 2, 4 and 8 before it (when the predicted overlap is
at least 35%); every 8th frame (a key frame) also against the key frames 16, 32, 64 and 128
before it, as far as the memory budget allows, which keeps long slow pans from drifting.
On a steady pan every pair is refined from the predicted position, all of a frame's pairs
in one batch; otherwise the shortest jump is searched (phase correlation) and the others
start from the position it gives (:func:`_measure`). Only a sliding window of prepared
frames (at most ``WINDOW_BUDGET`` plus the 9 most recent frames) is held in memory.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from overmix.errors import AlignmentError
from overmix.registration.gnbatch import refine_pairs
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


# Frames at least this large refine a frame's pairs in two halves on 2 threads (smaller ones
# are numpy's per-call cost, which the GIL serialises: threads only add to it).
_POOL_MIN_PIXELS = 200_000
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

    On a steady pan (the previous two frames placed confidently) every pair is refined from
    the constant-velocity prediction, all in one batch (:mod:`overmix.registration.gnbatch`;
    no phase correlation, whose coarse search costs the same for small frames as for large
    ones). Otherwise, or when the shortest jump misses the prediction, the shortest jump is
    searched first and the longer ones are refined, in one batch, from the position it
    gives. A pair whose refinement does not hold (a worse match, or it moved more than a
    pixel from its guess) is searched.
    """
    vel = _velocity(k, est)
    jumps = JUMPS + (long_jumps if k % KEY_EVERY == 0 else ())
    todo = [k - j for j in jumps if k - j >= 0 and k - j in window and k - j in est]
    if not todo:
        return
    first = todo.pop(0)
    pred = est[first] + vel * (k - first)  # predicted position of frame k
    chain = conf.get(first) if first == k - 1 and _steady(k, est, conf) else None
    batch: dict[int, tuple[np.ndarray, PairResult | None]] | None = None
    if chain is not None:
        batch = _refine_batch(window, k, [first] + _overlapping(todo, pred, est, w, h), pred,
                              est, motion, pool)
        g0, r0 = batch.pop(first)
        if not _holds(r0, g0, chain):
            r0, batch = _search(window[first], window[k], g0, motion), None
    else:
        r0 = _search(window[first], window[k], pred - est[first], motion)
    found: list[tuple[int, PairResult]] = []
    best: tuple[float, np.ndarray] | None = None
    if r0 is not None:
        found.append((first, r0))
        if r0.confidence >= MIN_CONFIDENCE:
            best = (r0.confidence, est[first] + np.array([r0.dx, r0.dy]))
    if best is None:  # nothing to chain from: the longer jumps are searched
        for i in todo:
            g = vel * (k - i)
            if _overlap_frac(g, w, h) >= MIN_JUMP_OVERLAP:
                r = _search(window[i], window[k], g, motion)
                if r is not None:
                    found.append((i, r))
    else:
        if batch is None:
            batch = _refine_batch(window, k, _overlapping(todo, best[1], est, w, h), best[1],
                                  est, motion, pool)
        for i, (g, r) in batch.items():
            if not _holds(r, g, best[0]):
                r = _search(window[i], window[k], g, motion)
            if r is not None:
                found.append((i, r))
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


def _overlapping(todo: list[int], pos: np.ndarray, est: dict[int, np.ndarray], w: int,
                 h: int) -> list[int]:
    """The frames of ``todo`` that overlap frame k (at ``pos``) enough to be measured."""
    return [i for i in todo if _overlap_frac(pos - est[i], w, h) >= MIN_JUMP_OVERLAP]


def _refine_batch(window: dict[int, PreparedPlane], k: int, refs: list[int], pos: np.ndarray,
                  est: dict[int, np.ndarray], motion: str, pool: ThreadPoolExecutor | None
                  ) -> dict[int, tuple[np.ndarray, PairResult | None]]:
    """Pairs (i, k), i in ``refs``, refined from frame k at ``pos`` in one batch (in two
    halves on the pool's threads; each pair's result does not depend on its batch):
    ``{i: (guess, result or None)}``."""
    guesses = [pos - est[i] for i in refs]
    jobs = [(window[i], window[k], float(g[0]), float(g[1]))
            for i, g in zip(refs, guesses, strict=True)]
    if pool is not None and len(jobs) > 2:
        half = (len(jobs) + 1) // 2
        # the second half on the pool's thread, the first here meanwhile (one hand-over)
        rest = pool.submit(refine_pairs, jobs[half:], motion)
        out = refine_pairs(jobs[:half], motion) + rest.result()
    else:
        out = refine_pairs(jobs, motion) if jobs else []
    return {i: (g, r) for i, g, r in zip(refs, guesses, out, strict=True)}


def _holds(r: PairResult | None, guess: np.ndarray, chain_conf: float) -> bool:
    """A refinement from a prediction holds when it matches about as well as the
    measurement the prediction came from and stays within a pixel of its guess."""
    return (r is not None and r.confidence >= chain_conf - 0.1
            and math.hypot(r.dx - float(guess[0]), r.dy - float(guess[1])) <= 1.0)


def _search(ref: PreparedPlane, mov: PreparedPlane, guess: np.ndarray, motion: str
            ) -> PairResult | None:
    """One pair by the full search (phase correlation, ``guess`` an extra candidate)."""
    try:
        return estimate_prepared(ref, mov, motion=motion,
                                 guess=(float(guess[0]), float(guess[1])))
    except AlignmentError:
        return None

"""Animation separation: which frames of a pan show which animation frame (cel).

A pan over an animated scene (a character blinking or looping a walk cycle while the camera
moves) mixes several pictures. Averaging them blends the cels; instead each frame gets an
animation id and every id is stitched on the shared geometry.

Method (DESIGN §6, catalogue §5.7 "AnimationSeparator"/"ClusterAligner", done better):

1. **Pair scores.** For each frame k and lags 1..``lags``, the difference between frame k and
   frame k+lag warped onto it by the offsets. The score is the mean of the largest
   ``top_fraction`` (0.3 %) of the 3x3-smoothed absolute differences on the overlap: a small
   animated region (an arm, an eye) dominates it, while noise and sub-pixel edge error stay low.
2. **Automatic threshold.** The sorted scores are split at the largest ratio gap (a two-class
   split on log scores); the threshold is the geometric midpoint of the gap. Without a clear gap
   every frame is the same picture (one group); pass ``max_groups`` or ``threshold`` for a
   scene that changes on every frame without ever repeating.
   Several lags are used so that a cel that changes every frame of a cycle (no two neighbours
   alike) still produces same-cel pairs.
3. **Grouping against representatives.** Frames are visited in order; each group keeps a
   running average of its frames on the canvas (its representative). A frame is compared with
   every representative warped to its position (``O(N x groups)`` frame-sized work, not
   ``O(N^2)``) and joins the best one if the score is below the threshold, else it starts a new
   group (up to ``max_groups``, then it joins the nearest). Cyclic animations therefore fold
   into as many groups as there are cels.

Helpers (:mod:`.cels`, re-exported here) build a canvas mask of the animated region (where
group representatives disagree) and warp it to per-frame ignore masks, for a re-alignment
that moving parts cannot bias, and :func:`merge_static` combines per-group renders the way
Overmix's AnimRender does (shared parts averaged over all frames, animated parts from the
group alone).

Coordinates: offsets ``(x_k, y_k)`` as in :mod:`overmix.geometry`
(``frame_k(i, j) = frame_0(i + y_k, j + x_k)``); canvas pixel (i, j) has its centre at frame-0
coordinates ``(canvas.x + j, canvas.y + i)``. Values are working luma Y' in [0, 1] (float32).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from overmix.errors import AlignmentError, UsageError
from overmix.geometry import Canvas
from overmix.progress import ProgressCallback, no_progress
from overmix.providers import LumaProvider, count, luma_reader
from overmix.registration.cels import (
    animated_frame_masks,
    animated_mask,
    frame_mask,
    merge_planes,
    merge_static,
)
from overmix.warp import (
    CanvasAccumulator,
    reduce_box,
    sample_bilinear,
    sample_canvas,
)

__all__ = [
    "AnimationResult",
    "CanvasAccumulator",
    "animated_frame_masks",
    "animated_mask",
    "auto_threshold",
    "frame_mask",
    "merge_planes",
    "merge_static",
    "pair_score",
    "sample_canvas",
    "separate",
]

@dataclass
class AnimationResult:
    """Outcome of :func:`separate`.

    Attributes
    ----------
    ids : list of int
        Animation id of each frame, numbered 0, 1, ... in order of first appearance.
    threshold : float
        Score threshold used (``inf`` when no animation was found). Units: working Y'.
    errors : ndarray, shape (n - 1,), float64
        Score between each frame and the next (the lag-1 pair scores).
    groups : int
        Number of animation frames found.
    scores : ndarray, shape (n,), float64
        Score of each frame against the representative of the group it joined (0 for seeds).
    """

    ids: list[int]
    threshold: float
    errors: np.ndarray
    groups: int
    scores: np.ndarray


# --------------------------------------------------------------------------------------------
# Scores and threshold
# --------------------------------------------------------------------------------------------


def _top_mean(d: np.ndarray, valid: np.ndarray, top_fraction: float) -> float:
    """Mean of the largest ``top_fraction`` of ``d[valid]``."""
    v = d[valid]
    if v.size == 0:
        return math.nan
    k = max(1, int(round(v.size * top_fraction)))
    part = np.partition(v, v.size - k)[v.size - k :]
    return float(part.mean())


def pair_score(a: np.ndarray, b: np.ndarray, coverage: np.ndarray, *,
               mask: np.ndarray | None = None, top_fraction: float = 0.01,
               min_overlap: float = 0.2) -> float:
    """Difference score of two same-sized luma views (``nan`` if they barely overlap).

    Parameters
    ----------
    a, b : ndarray (h, w) float
        Frame luma and the other picture sampled at the same positions.
    coverage : ndarray (h, w) float in [0, 1]
        Where ``b`` has data.
    mask : ndarray (h, w) bool or None
        True = ignore (static overlays...).
    top_fraction : float
        Fraction of the largest smoothed differences averaged.
    min_overlap : float
        Minimum fraction of valid pixels.
    """
    valid = coverage > 0.99
    if mask is not None:
        valid &= ~mask
    if valid.mean() < min_overlap:
        return math.nan
    # work on the overlap's bounding box (a rectangle unless masked)
    rows, cols = np.flatnonzero(valid.any(axis=1)), np.flatnonzero(valid.any(axis=0))
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    valid = valid[box]
    d = np.abs(a[box].astype(np.float32) - b[box].astype(np.float32))
    # 3x3 mean of the valid differences: noise drops, a coherent animated patch does not.
    if valid.all():
        sm = ndimage.uniform_filter(d, 3, mode="nearest")
        inner = valid
    else:
        d *= valid
        num = ndimage.uniform_filter(d, 3, mode="constant")
        den = ndimage.uniform_filter(valid.astype(np.float32), 3, mode="constant")
        sm = np.divide(num, den, out=np.zeros_like(num), where=den > 0.5)
        inner = valid & (den > 0.99)
    # every other smoothed sample is enough for the ranking (the 3x3 mean already pools)
    return _top_mean(sm[::2, ::2], inner[::2, ::2], top_fraction)


def auto_threshold(scores: np.ndarray, *, min_ratio: float = 2.0,
                   noise_floor: float | None = None) -> float:
    """Threshold separating same-picture from different-picture scores.

    The sorted finite scores are split at the largest ratio between neighbours (a two-class
    split on log scores); if that ratio is at least ``min_ratio`` the threshold is the geometric
    midpoint of the gap. Otherwise all pairs are one class: ``inf`` (no animation), or ``0``
    (every frame differs) when ``noise_floor`` is given and the median score exceeds it by
    ``4 * min_ratio``.

    Returns
    -------
    float : threshold in score units (working Y').
    """
    s = np.sort(np.asarray(scores, dtype=np.float64)[np.isfinite(scores)])
    if s.size < 2:
        return math.inf
    floor = max(1e-4, float(s[0]) * 0.25)
    ratios = np.maximum(s[1:], floor) / np.maximum(s[:-1], floor)
    t = int(np.argmax(ratios))
    if ratios[t] >= min_ratio:
        return float(math.sqrt(max(s[t], floor) * s[t + 1]))
    if noise_floor is not None and float(np.median(s)) > 4 * min_ratio * noise_floor:
        return 0.0
    return math.inf


# --------------------------------------------------------------------------------------------
# Separation
# --------------------------------------------------------------------------------------------


def separate(lumas: LumaProvider, offsets_xy: np.ndarray, canvas: Canvas | None = None, *,
             threshold: float | None = None, max_groups: int | None = None,
             mask: np.ndarray | None = None, lags: int = 3, top_fraction: float = 0.003,
             reduce: int | None = None,
             progress: ProgressCallback | None = None) -> AnimationResult:
    """Give each frame an animation id.

    Parameters
    ----------
    lumas : callable ``k -> (h, w) float32`` or sequence of arrays
        Working luma Y' of each frame, in order.
    offsets_xy : ndarray (n, 2)
        Aligned ``(x, y)`` of each frame in frame-0 luma pixels.
    canvas : Canvas or None
        Canvas of the offsets (computed when None).
    threshold : float or None
        Score threshold (working Y'); None = automatic (:func:`auto_threshold`).
    max_groups : int or None
        At most this many animation frames (``--animation N``): groups are opened (score above
        the threshold) until there are N, later frames join the nearest group.
    mask : ndarray (h, w) bool or None
        Frame-coordinate ignore mask (True = ignore, e.g. a TV logo).
    lags : int
        Pair scores are taken for frame distances 1..lags.
    top_fraction : float
        See :func:`pair_score`.
    reduce : int or None
        Score on frames reduced by this factor (:func:`_box`; None: 1 per 640 px of width, so
        HD frames are scored at about 640 px; offsets are scaled to match).
    progress : ProgressCallback

    Returns
    -------
    AnimationResult
    """
    progress = progress or no_progress
    xy = np.asarray(offsets_xy, dtype=np.float64).reshape(-1, 2)
    n = count(lumas, len(xy))
    if n == 0:
        raise AlignmentError("no frames to separate")
    read = luma_reader(lumas)
    first = read(0)
    if reduce is None:
        reduce = max(1, round(first.shape[1] / 640))
    if reduce > 1:
        # Telling cels apart does not need full resolution.
        read, first, xy, mask = _reduced(read, first, xy, mask, reduce)
        canvas = None
    h, w = first.shape
    if canvas is None:
        canvas = Canvas.covering(xy, w, h)
    if max_groups is not None and max_groups < 1:
        raise UsageError("--animation N needs N >= 1")
    ones = None if mask is None else (~mask).astype(np.float32)

    # 1. pair scores for lags 1..L over a sliding window of frames
    total = n * 2
    errors, all_scores = _pair_scores(read, first, xy, n, ones, mask, lags, top_fraction,
                                      progress, total)
    if threshold is None:
        # No "every frame differs" fallback here: without a gap the safe answer is one
        # picture (use max_groups or threshold for scenes that change on every frame).
        thr = auto_threshold(np.array(all_scores))
    else:
        thr = float(threshold)
    if max_groups == 1 or (max_groups is None and math.isinf(thr)):
        progress("animation: groups", total, total)
        return AnimationResult([0] * n, thr, errors, 1, np.zeros(n))

    # 3. greedy grouping against running representatives
    ids, groups, scores = _group(read, first, xy, n, canvas, ones, mask, thr, max_groups,
                                 top_fraction, progress, total)
    return AnimationResult(ids, thr, errors, groups, scores)


def _reduced(read: Callable[[int], np.ndarray], first: np.ndarray, xy: np.ndarray,
             mask: np.ndarray | None, reduce: int,
             ) -> tuple[Callable[[int], np.ndarray], np.ndarray, np.ndarray, np.ndarray | None]:
    """The reader, first frame, offsets and mask of frames box-reduced by ``reduce``."""
    full = read
    read = luma_reader(lambda k: reduce_box(full(k), reduce))
    first = reduce_box(first, reduce)
    xy = xy / reduce
    if mask is not None:
        mask = reduce_box(mask.astype(np.float32), reduce) > 0
    return read, first, xy, mask


def _pair_scores(read: Callable[[int], np.ndarray], first: np.ndarray, xy: np.ndarray,
                 n: int, ones: np.ndarray | None, mask: np.ndarray | None, lags: int,
                 top_fraction: float, progress: ProgressCallback,
                 total: int) -> tuple[np.ndarray, list[float]]:
    """Scores of every pair of the ``n`` frames at lags 1..``lags``: those of neighbours
    (n - 1,) and all."""
    h, w = first.shape
    lags = max(1, min(lags, n - 1)) if n > 1 else 1
    errors = np.full(max(n - 1, 0), np.nan)
    all_scores: list[float] = []
    window: dict[int, np.ndarray] = {0: first}
    for k in range(n):
        for j in range(k, min(n, k + lags + 1)):
            if j not in window:
                window[j] = read(j)
        a = window[k]
        for lag in range(1, lags + 1):
            j = k + lag
            if j >= n:
                break
            # frame j seen from frame k: frame_j(i, c) = frame_0(i + y_j, ...) so frame k pixel
            # (i, c) is frame j pixel (i + y_k - y_j, c + x_k - x_j).
            val, cov = sample_bilinear(window[j], ones, xy[k, 1] - xy[j, 1],
                                       xy[k, 0] - xy[j, 0], h, w)
            s = pair_score(a, val, cov, mask=mask, top_fraction=top_fraction)
            all_scores.append(s)
            if lag == 1:
                errors[k] = s
        window.pop(k, None)
        progress("animation: scores", k + 1, total)
    return errors, all_scores


def _group(read: Callable[[int], np.ndarray], first: np.ndarray, xy: np.ndarray, n: int,
           canvas: Canvas, ones: np.ndarray | None, mask: np.ndarray | None, thr: float,
           max_groups: int | None, top_fraction: float, progress: ProgressCallback,
           total: int) -> tuple[list[int], int, np.ndarray]:
    """Greedy grouping against running representatives: each frame's group id, the number
    of groups and each frame's score against its group."""
    h, w = first.shape
    reps: list[CanvasAccumulator] = []
    ids: list[int] = []
    scores = np.zeros(n)
    last_group = 0
    for k in range(n):
        y = first if k == 0 else read(k)
        best, best_s = -1, math.inf
        for g, rep in enumerate(reps):
            val, cov = rep.seen_from(xy[k], (h, w))
            s = pair_score(y, val, cov, mask=mask, top_fraction=top_fraction)
            if math.isfinite(s) and s < best_s:
                best, best_s = g, s
        can_open = max_groups is None or len(reps) < max_groups
        if best >= 0 and (best_s < thr or not can_open):
            g = best
        elif best < 0 and reps:
            # overlaps no representative enough to judge: stay with the previous frame's group
            g = last_group
            best_s = math.nan
        else:
            reps.append(CanvasAccumulator(canvas))
            g = len(reps) - 1
            best_s = 0.0
        reps[g].add(y, xy[k], ones)
        ids.append(g)
        scores[k] = best_s
        last_group = g
        progress("animation: groups", n + k + 1, total)
    return ids, len(reps), scores

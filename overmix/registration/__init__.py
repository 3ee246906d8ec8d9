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
from dataclasses import dataclass, field

import numpy as np

from overmix.errors import AlignmentError, UsageError
from overmix.geometry import Offsets
from overmix.progress import ProgressCallback
from overmix.providers import LumaProvider, count, reader
from overmix.registration.masks import SceneMasks, classify_pair
from overmix.registration.phase import (
    CODE_GAIN,
    MaskPyramid,
    PairResult,
    PreparedPlane,
    check_motion,
    down2,
    estimate_prepared,
    estimate_shift,
    mask_pyramid,
    prepare,
    set_masks,
)
from overmix.registration.solve import (
    MIN_CONFIDENCE,
    Pair,
    components,
    frame_labels,
    pair_weights,
    solve_offsets,
)
from overmix.registration.static import ScreenFixed

__all__ = [
    "AlignResult",
    "JUMPS",
    "KEY_EVERY",
    "LONG_JUMPS",
    "WINDOW_BUDGET",
    "LumaProvider",
    "Pair",
    "PairResult",
    "SceneMasks",
    "align",
    "align_scene",
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
# When the content that does not follow the background covers at least this fraction of the
# frames (on average), the scene is aligned a second time with it masked out.
REALIGN_FRACTION = 0.002
# Neighbours whose overlap does not follow their shift over more than this fraction are two
# shots (a cut): no pair joins them.
CUT_FRACTION = 0.5
# ... as are neighbours whose luma histograms differ by more than this total variation (and
# 5x the scene's typical change between neighbours).
CUT_CHANGE = 0.25
CUT_MAX_MATCH = 0.8


@dataclass
class AlignResult:
    """What :func:`align_scene` found.

    Attributes
    ----------
    offsets : Offsets
        The frames that could be placed (``indices``), with a per-frame ``confidence``.
    masks : SceneMasks or None
        Per-frame overlay / foreground masks, addressed by position in the input sequence
        (None when detection was off).
    left_out : list of (index, reason)
        Input indices of the frames that could not be placed with confidence, each with a
        short reason (a cut, a frame that matches none of its neighbours).
    """

    offsets: Offsets
    masks: SceneMasks | None = None
    left_out: list[tuple[int, str]] = field(default_factory=list)


def _overlap_frac(d: np.ndarray, w: int, h: int) -> float:
    return max(0.0, (w - abs(float(d[0])))) * max(0.0, (h - abs(float(d[1])))) / (w * h)


def align(lumas: LumaProvider, *, motion: str = "xy",
          mask: np.ndarray | None = None, border: int = 0,
          frame_masks: Callable[[int], np.ndarray | None] | None = None,
          indices: Sequence[int] | None = None,
          progress: ProgressCallback | None = None, auto_bars: bool = True,
          strict: bool = False, detect: bool = True) -> Offsets:
    """Align the frames of one scene: :func:`align_scene`'s offsets (same parameters)."""
    return align_scene(lumas, motion=motion, mask=mask, border=border,
                       frame_masks=frame_masks, indices=indices, progress=progress,
                       auto_bars=auto_bars, strict=strict, detect=detect).offsets


def align_scene(lumas: LumaProvider, *, motion: str = "xy",
                mask: np.ndarray | None = None, border: int = 0,
                frame_masks: Callable[[int], np.ndarray | None] | None = None,
                indices: Sequence[int] | None = None,
                progress: ProgressCallback | None = None, auto_bars: bool = True,
                strict: bool = False, detect: bool = True) -> AlignResult:
    """Align the frames of one scene, following the background.

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
    strict : bool
        A frame that cannot be placed with confidence is an error (else it is left out).
    detect : bool
        Find what does not follow the background (screen-fixed overlays, moving foreground;
        :mod:`overmix.registration.masks`) while aligning; when there is some, align again
        with it masked out. Coarse shifts are always chosen by tile votes
        (:mod:`overmix.registration.vote`).

    Returns
    -------
    AlignResult
        ``offsets``: the placed frames, the first of them at (0, 0) (frame 0 unless it was
        left out), ``confidence`` per frame (best ZNCC of its inlier pairs). ``extra`` has
        ``residual_rms`` and ``residual_max`` (px, over the inlier pairs), ``pairs``
        (measured), ``rejected_pairs`` (count), ``rejected`` (list of ``[index_i,
        index_j]``), ``unaligned_frames`` and ``left_out`` (input indices, and ``{index,
        reason}`` entries, of the frames left out), ``bars`` (``[top, bottom, left, right]``
        widths of the bars that were ignored) and ``masks`` (:meth:`SceneMasks.summary`,
        plus ``realigned``: whether a second pass ran with them).
        ``masks``: the per-frame masks; ``left_out``: ``(index, reason)`` pairs.

    Raises
    ------
    AlignmentError
        Fewer than 2 frames, frames of different sizes, no two frames that match, or (with
        ``strict``) any frame that cannot be placed (named in the message).
    UsageError
        Bad ``motion``, ``border`` or ``indices``.
    """
    if motion in ("zoom", "similarity", "auto"):  # zoom/rotation: registration.transform
        return _align_model(lumas, motion, mask, border, frame_masks, indices, progress,
                            auto_bars, strict, detect)
    check_motion(motion)
    if border < 0:
        raise UsageError(f"border must be >= 0 (got {border})")
    n, read = count(lumas), reader(lumas)
    labels = frame_labels(n, indices)
    report = progress or (lambda stage, done, total: None)
    run = _run(read, n, labels, motion, mask, border, frame_masks, auto_bars, detect,
               report, "align")
    found = run.masks
    fixed = run.fixed if run.fixed else None
    realigned = False

    def joined(det: SceneMasks | None) -> Callable[[int], np.ndarray | None]:
        """The caller's masks, ``det``'s ignore maps and the screen-fixed masks."""
        def masks(k: int) -> np.ndarray | None:
            out = None
            for m in (frame_masks(k) if frame_masks is not None else None,
                      det.ignore(k) if det is not None else None,
                      fixed.mask(k) if fixed is not None else None):
                if m is not None:
                    m = np.asarray(m) > 0.5
                    out = m if out is None else out | m
            return out

        return masks

    if found is not None and fixed is not None:
        # screen-fixed content over long jumps: the first pass may have followed it (a
        # slow pan), so its neighbour maps are not trusted; measure again with the
        # long-jump masks, then once more with that pass's maps if it found more
        run = _run(read, n, labels, motion, mask, border, joined(None), auto_bars, True,
                   report, "align")
        realigned = True
        found = run.masks
    if found is not None and found.fraction() >= REALIGN_FRACTION:
        # content that does not follow the background was found: measure again without it
        run = _run(read, n, labels, motion, mask, border, joined(found), auto_bars, True,
                   report, "align")
        realigned = True
    h, w = run.shape
    out, left = _solve(n, labels, run.pairs, run.results, motion, w, h, strict)
    out.extra["bars"] = [int(b) for b in run.bars]
    if run.masks is not None:
        out.extra["masks"] = {**run.masks.summary(), "realigned": realigned}
    return AlignResult(out, run.masks, left)


class _Rows:
    """The frames at ``rows`` of a provider, as a sequence."""

    def __init__(self, read: Callable[[int], np.ndarray], rows: list[int]) -> None:
        self.read, self.rows = read, rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, k: int) -> np.ndarray:
        return self.read(self.rows[k])


def _align_model(lumas: LumaProvider, motion: str, mask: np.ndarray | None, border: int,
                 frame_masks: Callable[[int], np.ndarray | None] | None,
                 indices: Sequence[int] | None, progress: ProgressCallback | None,
                 auto_bars: bool, strict: bool, detect: bool) -> AlignResult:
    """``zoom``/``similarity``: :func:`~overmix.registration.transform.align_transform`.
    ``auto``: the background-following translation first; when the frames it placed also
    zoom or rotate (:func:`~overmix.registration.transform.detect_motion`), the model that
    fits, measured on the frames the translation placed with its scene masks ignored (masks
    and left-out frames are then those of the translation)."""
    from overmix.registration.transform import align_transform, detect_motion

    kw = dict(mask=mask, border=border, frame_masks=frame_masks, indices=indices,
              progress=progress, auto_bars=auto_bars)
    if motion != "auto":
        return AlignResult(align_transform(lumas, motion=motion, **kw))  # type: ignore[arg-type]
    try:
        res: AlignResult | None = align_scene(lumas, motion="xy", strict=strict, detect=detect,
                                              **kw)  # type: ignore[arg-type]
    except AlignmentError:
        if strict:
            raise
        res = None
    if res is None:
        out = align_transform(lumas, motion="similarity", **kw)  # type: ignore[arg-type]
        out.extra["motion_detected"] = {"scale_change": math.nan, "angle_deg": math.nan}
        return AlignResult(out)
    off = res.offsets
    labels = list(range(count(lumas))) if indices is None else [int(i) for i in indices]
    where = {lab: k for k, lab in enumerate(labels)}
    rows = [where[int(i)] for i in off.indices]
    scene = res.masks

    def ignore(j: int) -> np.ndarray | None:
        """Frame ``rows[j]``'s own mask with what did not follow the background (the scene
        masks: screen-fixed text, logos, characters), so neither the detection nor the
        richer model measures them."""
        own = frame_masks(rows[j]) if frame_masks is not None else None
        det = scene.ignore(rows[j]) if scene is not None else None
        if own is None:
            return det
        own = np.asarray(own) > 0.5
        return own if det is None else own | det

    fm = ignore if frame_masks is not None or scene is not None else None
    placed = _Rows(reader(lumas), rows)
    model, ds, da = detect_motion(placed, off.xy, mask=mask, border=border, frame_masks=fm,
                                  auto_bars=auto_bars)
    off.extra["motion_detected"] = {"scale_change": ds, "angle_deg": da}
    if model == "xy":
        off.extra["motion"] = "xy"
        return res
    # the richer model over the frames the translation placed (left-out frames stay out)
    try:
        out = align_transform(placed, motion=model, mask=mask, border=border, frame_masks=fm,
                              indices=[int(i) for i in off.indices], progress=progress,
                              auto_bars=auto_bars)
    except AlignmentError:  # the richer model failed: keep the pan
        off.extra["motion"] = "xy"
        return res
    out.extra["motion_detected"] = {"scale_change": ds, "angle_deg": da}
    for key in ("left_out", "masks"):
        if key in off.extra:
            out.extra[key] = off.extra[key]
    left = off.extra.get("unaligned_frames", [])
    if left:
        out.extra["unaligned_frames"] = sorted(set(out.extra.get("unaligned_frames", []))
                                               | set(left))
    return AlignResult(out, scene, res.left_out)


@dataclass
class _Run:
    pairs: list[Pair]
    results: list[tuple[int, int, PairResult]]
    shape: tuple[int, int]
    bars: tuple[int, int, int, int]
    masks: SceneMasks | None
    fixed: ScreenFixed | None = None


def _run(read: Callable[[int], np.ndarray], n: int, labels: list[int], motion: str,
         mask: np.ndarray | None, border: int,
         frame_masks: Callable[[int], np.ndarray | None] | None, auto_bars: bool,
         detect: bool, report: ProgressCallback, stage: str) -> _Run:
    """One pass over the frames: pairwise measurements (and, with ``detect``, the maps of
    what does not follow the background between neighbours)."""
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
    found: SceneMasks | None = None
    measured: set[int] = {0}
    cuts: set[int] = set()
    changes: dict[int, float] = {}  # luma histogram change from frame k-1 to k
    prev_hist: np.ndarray | None = None
    # screen-fixed content over long jumps (registration.static), when detecting
    fixed = ScreenFixed() if detect else None
    report(stage, 0, n)
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
            # while detecting: what did not follow the background in the previous frame is
            # kept out of this one's measurements too (a subtitle stays, a character moves
            # little); replaced by the frame's own maps once it is measured
            provisional = found.ignore(k - 1) if found is not None and fm is None else None
            if provisional is not None:
                window[k] = prepare(y, provisional if base_mask is None else
                                    (base_mask > 0.5) | provisional, border)
            elif fm is None:
                if shared is None:  # the same masks for every such frame: build them once
                    shared = (mask_pyramid(shape, base_mask, border),)
                window[k] = prepare(y, masks=shared[0])
            else:
                fm = np.asarray(fm)
                if fm.shape != shape:
                    raise AlignmentError(f"mask of frame {labels[k]} has the wrong size")
                ign = fm > 0.5 if base_mask is None else (base_mask > 0.5) | (fm > 0.5)
                window[k] = prepare(y, ign, border)
            if fixed is not None:
                fixed.add(k, y)
            del y
            if k == 0 and detect:
                found = SceneMasks(shape, 2 ** _map_level(window[0]), n,
                                   bars_mask(shape, bars, 0) if any(bars) else None)
            if found is not None:
                hist = _histogram(window[k])
                if prev_hist is not None:
                    changes[k] = 0.5 * float(np.abs(hist - prev_hist).sum())
                prev_hist = hist
            if k == 0:
                est[0] = np.zeros(2)
            else:
                _measure(k, window, est, pairs, results, motion, shape[1], shape[0], pool,
                         long_jumps, conf)
                if k in est:
                    measured.add(k)
                    if found is not None and k - 1 in measured and k - 1 in window:
                        if _classify(found, window[k - 1], window[k], est[k] - est[k - 1], k):
                            cuts.add(k)
                        elif frame_masks is None:
                            _remask(found, window, k, provisional, base_mask, border, shape)
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
            report(stage, k + 1, n)
    finally:
        if pool is not None:
            pool.shutdown()
        window.clear()
    assert shape is not None
    if len(changes) >= 3:
        # a cut changes what is in the picture: its luma histogram jumps (total variation
        # > CUT_CHANGE and 5x the scene's typical change), where a pan shifts it a little
        typical = float(np.median(list(changes.values())))
        jumps = {k for k, c in changes.items() if c > max(CUT_CHANGE, 5 * typical)}
        # ... unless a pair across it still matches well (a flash or a fade changes the
        # histogram too, but the picture still matches, up to gain and offset)
        cuts |= {k for k in jumps if max((r.confidence for i, j, r in results if i < k <= j),
                                         default=0.0) < CUT_MAX_MATCH}
    if cuts:  # no pair may join two shots
        keep = [not any(p.i < c <= p.j for c in cuts) for p in pairs]
        pairs = [p for p, ok in zip(pairs, keep, strict=True) if ok]
        results = [r for r, ok in zip(results, keep, strict=True) if ok]
    return _Run(pairs, results, shape, bars, found, fixed)


def _map_level(p: PreparedPlane) -> int:
    """Pyramid level of the masks: the coarsest the aligner holds, at least 1 (a 2x box
    reduction: lines thinner than a pixel would otherwise differ between sub-pixel
    phases)."""
    return len(p.levels) - 1


def _map_img(p: PreparedPlane, lvl: int) -> np.ndarray:
    if lvl < len(p.levels):
        return p.levels[lvl].img
    return down2(p.levels[-1].img.astype(np.float32))


def _remask(found: SceneMasks, window: dict[int, PreparedPlane], k: int,
            provisional: np.ndarray | None, base: np.ndarray | None, border: int,
            shape: tuple[int, int]) -> None:
    """Frames k-1 and k ignore what their maps (so far) say does not follow the
    background."""
    for j in (k - 1, k):
        ig = found.ignore(j)
        if ig is None:
            continue
        if j == k and provisional is not None:
            ig |= provisional
        if base is not None:
            ig |= base > 0.5
        set_masks(window[j], mask_pyramid(shape, ig, border))


def _histogram(p: PreparedPlane) -> np.ndarray:
    """Normalised 32-bin luma histogram of the coarsest pyramid level's usable pixels."""
    lv = p.levels[-1]
    codes = lv.img if lv.valid is None else lv.img[lv.valid]
    # codes are (y + 0.5) * CODE_GAIN: bins of 1/32 luma over Y' in [0, 1]
    b = ((codes.astype(np.float32) / np.float32(CODE_GAIN) - np.float32(0.5)) * 32)
    h = np.bincount(np.clip(b, 0, 31).astype(np.int64).ravel(), minlength=32).astype(np.float64)
    return h / max(h.sum(), 1.0)


def _classify(found: SceneMasks, ref: PreparedPlane, mov: PreparedPlane, d: np.ndarray,
              k: int) -> bool:
    """Maps of pair (k-1, k) on the masks' level (:func:`_map_level`). Returns True (and
    records nothing) when most of their overlap does not follow the shift: a cut between
    two shots, whatever chance match placed frame k."""
    lvl = _map_level(mov)
    dl = (float(d[0]) / 2 ** lvl, float(d[1]) / 2 ** lvl)
    moving, static = classify_pair(_map_img(ref, lvl), _map_img(mov, lvl), dl,
                                   unit=CODE_GAIN)
    h, w = moving.shape
    overlap = max(0.0, w - abs(dl[0])) * max(0.0, h - abs(dl[1]))
    if moving.sum() > CUT_FRACTION * max(overlap, 1.0):
        return True
    found.add_pair(k, moving, static, dl)
    return False


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
           results: list[tuple[int, int, PairResult]], motion: str, w: int, h: int,
           strict: bool = False) -> tuple[Offsets, list[tuple[int, str]]]:
    """Offsets of the largest group of frames connected by inlier pairs; the others are left
    out (``strict``: an error naming the first break)."""
    inl_edges: list[tuple[int, int]] = []
    floor = _confidence_floor(pairs)
    if pairs:
        xy0, res, inl = solve_offsets(n, pairs, motion=motion, anchor=0, min_confidence=floor)
        inl_edges = [(p.i, p.j) for p, ok in zip(pairs, inl, strict=True) if ok]
    comp = components(n, inl_edges)
    sizes = np.bincount(comp)
    main = int(np.argmax(sizes))
    if len(sizes) > 1 and (strict or sizes[main] < 2):
        # name the first place where the sequence breaks
        for k in range(n - 1):
            if comp[k] != comp[k + 1]:
                raise AlignmentError(
                    f"frames {labels[k]} and {labels[k + 1]} do not overlap or do not match "
                    "(no reliable alignment between them)")
        raise AlignmentError("frames could not be aligned")  # pragma: no cover
    used = np.flatnonzero(comp == main)
    left = _left_out(comp, main, labels)
    anchor = int(used[0])
    xy, res, inl = solve_offsets(n, pairs, motion=motion, anchor=anchor, min_confidence=floor)
    xy = xy[used] - xy[anchor]
    conf = np.zeros(n)
    for (i, j, r), ok in zip(results, inl, strict=True):
        if ok:
            conf[i] = max(conf[i], r.confidence)
            conf[j] = max(conf[j], r.confidence)
    rin = res[inl] if len(res) else np.zeros(0)
    rejected = [[labels[p.i], labels[p.j]] for p, ok in zip(pairs, inl, strict=True) if not ok]
    extra: dict[str, object] = {
        "residual_rms": float(math.sqrt(float(np.mean(rin ** 2)))) if rin.size else 0.0,
        "residual_max": float(rin.max()) if rin.size else 0.0,
        "pairs": len(pairs),
        "rejected_pairs": len(rejected),
        "rejected": rejected,
        "unaligned_frames": [i for i, _ in left],
        "left_out": [{"index": i, "reason": why} for i, why in left],
    }
    out = Offsets(xy, [labels[k] for k in used], w, h, extra=extra,
                  confidence=[round(float(conf[k]), 4) for k in used])
    return out, left


def _confidence_floor(pairs: list[Pair]) -> float:
    """Least confidence of a usable pair: MIN_CONFIDENCE, raised (up to 0.6) when the scene's
    typical pair is far better, so that a chance match across a cut (ZNCC ~0.35 between
    unrelated pictures) does not join two shots."""
    conf = np.array([p.confidence for p in pairs if p.confidence >= MIN_CONFIDENCE])
    if conf.size < 3:
        return MIN_CONFIDENCE
    return max(MIN_CONFIDENCE, min(0.6, float(np.median(conf)) - 0.35))


def _left_out(comp: np.ndarray, main: int, labels: list[int]) -> list[tuple[int, str]]:
    """(index, reason) of every frame outside the main group, in input order."""
    n = len(comp)
    out: list[tuple[int, str]] = []
    for c in np.unique(comp):
        if c == main:
            continue
        ks = np.flatnonzero(comp == c)
        if len(ks) == 1:
            why = "matches none of its neighbours (a flash, noise or a transition)"
        else:
            first, last = int(ks[0]), int(ks[-1])
            where = (f"a cut between frames {labels[first - 1]} and {labels[first]}"
                     if first > 0 and comp[first - 1] == main else
                     f"a cut between frames {labels[last]} and {labels[last + 1]}"
                     if last + 1 < n and comp[last + 1] == main else "a separate group")
            why = (f"another shot: {len(ks)} frames that do not match the "
                   f"largest group ({where})")
        out.extend((labels[int(k)], why) for k in ks)
    out.sort()
    return out

"""One pass over a scene's frames: the pairwise measurements, and the maps of what does not
follow the background.

Frames are read once, one at a time, in order, through the provider; only a sliding window
of prepared frames (uint16 pyramids, ~2.7 MB per 1280x720 frame; :mod:`.schedule`) is held.
Letterbox bars on frame 0 are found and ignored (:mod:`.bars`). While detecting, each pair of
neighbours is classified (:mod:`.masks`), screen-fixed content is gathered over long jumps
(:mod:`.static`) and cuts are found (a histogram jump, or an overlap that does not follow the
shift); no pair joins two shots.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from overmix.errors import AlignmentError
from overmix.progress import ProgressCallback
from overmix.registration.ahead import frames_ahead
from overmix.registration.bars import bars_mask, detect_bars
from overmix.registration.framestats import histograms, is_flat
from overmix.registration.masks import SceneMasks, classify_pair
from overmix.registration.phase import PairResult
from overmix.registration.pyramid import (
    CODE_GAIN,
    CODE_ZERO,
    MaskPyramid,
    PreparedPlane,
    _Level,
    down2,
    mask_pyramid,
    prepare,
    set_masks,
)
from overmix.registration.schedule import (
    _POOL_MIN_PIXELS,
    JUMPS,
    KEY_EVERY,
    _measure,
    _velocity,
    long_jumps_for,
)
from overmix.registration.solve import Pair
from overmix.registration.static import JUMP, ScreenFixed, _down2

# Neighbours whose overlap does not follow their shift over more than this fraction are two
# shots (a cut): no pair joins them.
CUT_FRACTION = 0.5
# ... as are neighbours whose luma histograms differ by more than this total variation (and
# 5x the scene's typical change between neighbours).
CUT_CHANGE = 0.25
CUT_MAX_MATCH = 0.8


@dataclass
class _Run:
    pairs: list[Pair]
    results: list[tuple[int, int, PairResult]]
    shape: tuple[int, int]
    bars: tuple[int, int, int, int]
    masks: SceneMasks | None
    fixed: ScreenFixed | None = None
    flat: frozenset[int] = frozenset()
    # the search whose overlays each frame ignored where it showed them (``_run``'s
    # ``overlay``), or None
    shown: ScreenFixed | None = None


def _run(read: Callable[[int], np.ndarray], n: int, labels: list[int], motion: str,
         mask: np.ndarray | None, border: int,
         frame_masks: Callable[[int], np.ndarray | None] | None, auto_bars: bool,
         detect: bool, report: ProgressCallback, stage: str,
         overlay: ScreenFixed | None = None) -> _Run:
    """One pass over the frames: pairwise measurements (and, with ``detect``, the maps of
    what does not follow the background between neighbours). ``overlay``: an earlier
    pass's long-jump search; each frame also ignores where it shows what that found
    (:meth:`ScreenFixed.shown`)."""
    window: dict[int, PreparedPlane] = {}
    est: dict[int, np.ndarray] = {}  # running position of each frame (chained)
    conf: dict[int, float] = {0: 1.0}  # confidence of the measurement that placed a frame
    pairs: list[Pair] = []
    results: list[tuple[int, int, PairResult]] = []
    shape: tuple[int, int] | None = None
    base_mask = None if mask is None else np.asarray(mask)
    shared: tuple[MaskPyramid | None] | None = None
    long_jumps: tuple[int, ...] = ()
    bars = (0, 0, 0, 0)
    found: SceneMasks | None = None
    measured: set[int] = {0}
    cuts: set[int] = set()
    changes = _Changes()  # luma histogram change from frame k-1 to k
    flat: set[int] = set()  # frames without detail (black, blank)
    # screen-fixed content over long jumps (registration.static), when detecting
    fixed = ScreenFixed() if detect else None
    report(stage, 0, n)
    pool: ThreadPoolExecutor | None = None
    workers = min(2, os.cpu_count() or 1)
    frames = frames_ahead(read, n, detect)
    aside = _Aside(False)  # inline until the frames are known to be large (below)
    try:
        for k in range(n):
            fr = next(frames)
            y = np.asarray(fr.y)
            first = shape is None
            shape = _check_frame(y, k, labels, shape, base_mask)
            if first and workers > 1 and y.size >= _POOL_MIN_PIXELS:
                # small frames keep both inline: their work is numpy's per-call cost, which
                # the GIL serialises (a second thread cost 480x270 ~20 % more CPU for ~1 %
                # less wall time)
                pool = ThreadPoolExecutor(workers - 1)
                aside = _Aside(True)
            if k == 0 and auto_bars:
                bars, base_mask = _with_bars(y, shape, base_mask)
            fm = frame_masks(k) if frame_masks is not None else None
            # while detecting: what did not follow the background in the previous frame is
            # kept out of this one's measurements too (a subtitle stays, a character moves
            # little); replaced by the frame's own maps once it is measured
            provisional = found.ignore(k - 1) if found is not None and fm is None else None
            shown = None if overlay is None else overlay.shown(y) if fr.half is None else \
                overlay.shown(fr.half, fr.unit, 0.0 if fr.unit == 1.0 else CODE_ZERO)
            window[k], shared = _prepare_frame(y, k, labels, shape, base_mask, border, fm,
                                               provisional, shared, fr.codes, shown)
            if fr.energy is not None and window[k].levels[0].valid is None:
                window[k].energy = fr.energy  # made ahead (tiles._energy without a mask)
            window[k].range3 = fr.range3  # made ahead (the codes, whatever the masks)
            if k == 0 and detect:
                found = SceneMasks(shape, 2 ** _map_level(window[0]), n,
                                   bars_mask(shape, bars, 0) if any(bars) else None)
            # the plane as prepared (its masks may be replaced while the other thread reads)
            snap = _snapshot(window[k])
            aside.defer(_frame_stats, snap, k, flat, changes if found is not None else None,
                        fr.flat, fr.hist, None if shown is None else _rows(shown))
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
                _extrapolate(k, est)
            if fixed is not None:  # after measuring: the background's shift over the jump
                i = k - JUMP
                # a one-level pyramid has no half-resolution plane: reduced here (the frame
                # itself is not held by the other thread), unless made ahead
                half = None if len(window[k].levels) > 1 else (
                    _down2(y) if fr.half is None else fr.half)
                aside.defer(_add_fixed, fixed, k, shape, snap, half,
                            est[k] - est[i] if i in est and k in est else None, fr.edges)
            if k % _ASIDE_EVERY == _ASIDE_EVERY - 1:
                aside.flush()
            del y, fr
            if k == 0:
                long_jumps = long_jumps_for(window[0].nbytes)
            _evict(window, k, long_jumps)
            report(stage, k + 1, n)
    finally:
        aside.close()
        frames.close()
        if pool is not None:
            pool.shutdown()
        window.clear()
    assert shape is not None
    cuts |= _histogram_cuts(changes.by_frame, results)
    if cuts:  # no pair may join two shots
        pairs, results = _drop_across(cuts, pairs, results)
    return _Run(pairs, results, shape, bars, found, fixed, frozenset(flat))


class _Changes:
    """The luma histogram change from frame k-1 to k (half the L1 distance, 0..1; a cut
    shows as a jump), fed one frame at a time, in order."""

    def __init__(self) -> None:
        self.by_frame: dict[int, float] = {}
        self._prev: np.ndarray | None = None

    def add(self, hist: np.ndarray, k: int) -> None:
        """Frame k's :func:`~overmix.registration.framestats.histograms` row."""
        if self._prev is not None:
            self.by_frame[k] = 0.5 * float(np.abs(hist - self._prev).sum())
        self._prev = hist


def _frame_stats(plane: PreparedPlane, k: int, flat: set[int], changes: _Changes | None,
                 is_flat_: bool | None = None, hist: np.ndarray | None = None,
                 band: np.ndarray | None = None) -> None:
    """What frame k's prepared plane says on its own: whether it is flat (added to
    ``flat``) and its histogram change (when detecting cuts). ``is_flat_``, ``hist``: these
    when made ahead (:class:`~overmix.registration.ahead.Frame`; the histogram is that of
    the plane without masks). ``band``: (H,) bool, the rows of an overlay the frame shows
    (:meth:`ScreenFixed.shown`): flat too when the rest is."""
    if is_flat(plane) if is_flat_ is None else is_flat_:
        flat.add(k)
    elif band is not None and is_flat(plane, band):
        flat.add(k)  # nothing but an overlay (a fade from black under a subtitle)
    if changes is not None:
        lv = plane.levels[-1]
        changes.add(hist if hist is not None and lv.valid is None else
                    histograms(lv.img[None], len(plane.levels), lv.valid)[0], k)


# Rows beyond an overlay's masks that still hold it (its letters' outline and the codec's
# ringing around them; full-resolution px).
BAND_MARGIN = 8


def _rows(m: np.ndarray) -> np.ndarray:
    """(H,) bool: the rows of mask ``m`` ((H, W) bool), widened by BAND_MARGIN."""
    r = m.any(axis=1)
    at = np.flatnonzero(r)
    out = np.zeros_like(r)
    for a, b in zip(at[np.r_[True, np.diff(at) > 1]], at[np.r_[np.diff(at) > 1, True]],
                    strict=True):
        out[max(0, a - BAND_MARGIN):b + BAND_MARGIN + 1] = True
    return out


def _snapshot(plane: PreparedPlane) -> PreparedPlane:
    """The plane's levels with their masks as they are now (the arrays are shared, never
    written; the caller may replace the plane's masks meanwhile)."""
    return PreparedPlane([_Level(lv.img, lv.valid, lv.kvalid) for lv in plane.levels],
                         plane.shape)


def _add_fixed(fixed: ScreenFixed, k: int, shape: tuple[int, int], plane: PreparedPlane,
               half: np.ndarray | None, shift: np.ndarray | None,
               edges: np.ndarray | None = None) -> None:
    """Feed frame k to the screen-fixed search with the background's measured shift over
    the jump (None when either end is not placed). ``half``: the frame's 2x reduction
    (float luma), when its pyramid has none (the pyramid's 2x level, its uint16 codes as
    they are, is the half-resolution plane the search works on); ``edges``: that plane's
    edges, when made ahead (:mod:`.ahead`)."""
    if half is None:
        fixed.add(k, None, shift, plane.levels[1].img, shape, CODE_GAIN, edges, CODE_ZERO)
    else:
        fixed.add(k, None, shift, half, shape, edges=edges)


# Frames whose aside work (:class:`_Aside`) is handed to the other thread at once.
_ASIDE_EVERY = 4


class _Aside:
    """Work that no later measurement needs (each frame's flat test and cut histogram, the
    screen-fixed search, which needs only the frame's measured shift), run in order on a
    second thread while the caller goes on, or inline when not ``threaded``. Calls given to
    :meth:`defer` are handed over together by :meth:`flush` (a hand-over costs the caller
    more than a small frame's calls); at most two hand-overs wait at once (the frames they
    hold stay bounded)."""

    def __init__(self, threaded: bool) -> None:
        self._ex = (ThreadPoolExecutor(1, thread_name_prefix="overmix-aside") if threaded
                    else None)
        self._jobs: list[Future[None]] = []
        self._later: list[tuple[Callable[..., None], tuple[object, ...]]] = []

    def defer(self, fn: Callable[..., None], *args: object) -> None:
        if self._ex is None:
            fn(*args)
        else:
            self._later.append((fn, args))

    def flush(self) -> None:
        """Hand the deferred calls over (after waiting for all but the last hand-over)."""
        if self._ex is None or not self._later:
            return
        while len(self._jobs) > 1:
            self._jobs.pop(0).result()
        calls, self._later = self._later, []
        self._jobs.append(self._ex.submit(_run_all, calls))

    def close(self) -> None:
        """Run what is deferred, wait for everything (raising the first error) and stop
        the thread."""
        ex = self._ex
        try:
            self.flush()
            while self._jobs:
                self._jobs.pop(0).result()
        finally:
            self._ex = None
            if ex is not None:
                ex.shutdown()


def _run_all(calls: list[tuple[Callable[..., None], tuple[object, ...]]]) -> None:
    for fn, args in calls:
        fn(*args)


def _check_frame(y: np.ndarray, k: int, labels: list[int], shape: tuple[int, int] | None,
                 base_mask: np.ndarray | None) -> tuple[int, int]:
    """The frames' shape: frame k's, checked against frame 0's (and, for frame 0, against
    the caller's mask)."""
    if y.ndim != 2:
        raise AlignmentError(f"frame {labels[k]}: a luma plane must be 2-D")
    if shape is None:
        shape = (int(y.shape[0]), int(y.shape[1]))
        if base_mask is not None and base_mask.shape != shape:
            raise AlignmentError(
                f"mask is {base_mask.shape[1]}x{base_mask.shape[0]} but frames are "
                f"{shape[1]}x{shape[0]}")
    elif y.shape != shape:
        raise AlignmentError(
            f"frames differ in size: frame {labels[k]} is {y.shape[1]}x{y.shape[0]}, "
            f"frame {labels[0]} is {shape[1]}x{shape[0]}")
    return shape


def _with_bars(y: np.ndarray, shape: tuple[int, int], base_mask: np.ndarray | None,
               ) -> tuple[tuple[int, int, int, int], np.ndarray | None]:
    """The bars found on frame 0 and the base mask with them ignored."""
    bars = detect_bars(y)
    if any(bars):
        bar_mask = bars_mask(shape, bars)
        base_mask = bar_mask if base_mask is None else (base_mask > 0.5) | bar_mask
    return bars, base_mask


def _prepare_frame(y: np.ndarray, k: int, labels: list[int], shape: tuple[int, int],
                   base_mask: np.ndarray | None, border: int, fm: np.ndarray | None,
                   provisional: np.ndarray | None,
                   shared: tuple[MaskPyramid | None] | None,
                   codes: list[np.ndarray] | None = None, shown: np.ndarray | None = None,
                   ) -> tuple[PreparedPlane, tuple[MaskPyramid | None] | None]:
    """Frame k prepared with its masks (the provisional map, the caller's frame mask, or the
    base mask's pyramid ``shared`` by every frame without one, built on first use);
    ``codes``: its pyramid's levels, when made ahead (:mod:`.ahead`); ``shown``: (H, W)
    bool, more to ignore (an overlay the frame shows), or None."""
    if shown is not None:
        base_mask = shown if base_mask is None else (base_mask > 0.5) | shown
        if fm is None and provisional is None:
            return prepare(y, base_mask, border, codes=codes), shared
    if provisional is not None:
        return prepare(y, provisional if base_mask is None else
                       (base_mask > 0.5) | provisional, border, codes=codes), shared
    if fm is None:
        if shared is None:  # the same masks for every such frame: build them once
            shared = (mask_pyramid(shape, base_mask, border),)
        return prepare(y, masks=shared[0], codes=codes), shared
    fm = np.asarray(fm)
    if fm.shape != shape:
        raise AlignmentError(f"mask of frame {labels[k]} has the wrong size")
    ign = fm > 0.5 if base_mask is None else (base_mask > 0.5) | (fm > 0.5)
    return prepare(y, ign, border, codes=codes), shared


def _extrapolate(k: int, est: dict[int, np.ndarray]) -> None:
    """A position for frame k when no confident match placed it."""
    if k not in est:
        # no confident match (a flash or noise frame, or frame 0 was one): seed a
        # position by extrapolation so later frames can still be chained to it;
        # the solve, not this guess, decides the offsets
        last = max(est)
        est[k] = est[last] + _velocity(k, est) * (k - last)


def _evict(window: dict[int, PreparedPlane], k: int, long_jumps: tuple[int, ...]) -> None:
    """Drop the prepared frames no later frame will be measured against."""
    keep = max(JUMPS)
    far = max(long_jumps, default=0)
    for old in [j for j in window if j <= k - keep and not (
            j % KEY_EVERY == 0 and j >= k - far)]:
        del window[old]


def _histogram_cuts(changes: dict[int, float],
                    results: list[tuple[int, int, PairResult]]) -> set[int]:
    """Frames that start a new shot by their luma histogram's jump."""
    if len(changes) < 3:
        return set()
    # a cut changes what is in the picture: its luma histogram jumps (total variation
    # > CUT_CHANGE and 5x the scene's typical change), where a pan shifts it a little
    typical = float(np.median(list(changes.values())))
    jumps = {k for k, c in changes.items() if c > max(CUT_CHANGE, 5 * typical)}
    # ... unless a pair across it still matches well (a flash or a fade changes the
    # histogram too, but the picture still matches, up to gain and offset)
    return {k for k in jumps if max((r.confidence for i, j, r in results if i < k <= j),
                                    default=0.0) < CUT_MAX_MATCH}


def _drop_across(cuts: set[int], pairs: list[Pair],
                 results: list[tuple[int, int, PairResult]],
                 ) -> tuple[list[Pair], list[tuple[int, int, PairResult]]]:
    """The pairs (and their results) that do not join two shots."""
    keep = [not any(p.i < c <= p.j for c in cuts) for p in pairs]
    pairs = [p for p, ok in zip(pairs, keep, strict=True) if ok]
    results = [r for r, ok in zip(results, keep, strict=True) if ok]
    return pairs, results


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


def _classify(found: SceneMasks, ref: PreparedPlane, mov: PreparedPlane, d: np.ndarray,
              k: int) -> bool:
    """Maps of pair (k-1, k) on the masks' level (:func:`_map_level`). Returns True (and
    records nothing) when most of their overlap does not follow the shift: a cut between
    two shots, whatever chance match placed frame k."""
    lvl = _map_level(mov)
    dl = (float(d[0]) / 2 ** lvl, float(d[1]) / 2 ** lvl)
    moving, static = classify_pair(_map_img(ref, lvl), _map_img(mov, lvl), dl,
                                   unit=CODE_GAIN,
                                   ref_range=ref.range3 if lvl == len(ref.levels) - 1 else None)
    h, w = moving.shape
    overlap = max(0.0, w - abs(dl[0])) * max(0.0, h - abs(dl[1]))
    if np.count_nonzero(moving) > CUT_FRACTION * max(overlap, 1.0):
        return True
    found.add_pair(k, moving, static, dl)
    return False

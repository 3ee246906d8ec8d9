"""Alignment of one scene: the driver (DESIGN §4 offsets, §6 "Align").

:func:`align_scene` runs a pass over the frames (:mod:`.sweep`: pairs of :mod:`.schedule`
measured by :mod:`.phase`), again with what does not follow the background masked out when
there is some, then places the largest consistent group (:mod:`.groups`). ``zoom``,
``similarity`` and ``auto`` go through :mod:`.transform`.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from overmix.errors import AlignmentError, UsageError
from overmix.geometry import Offsets
from overmix.progress import ProgressCallback
from overmix.providers import LumaProvider, count, reader
from overmix.registration import follow
from overmix.registration.groups import _solve
from overmix.registration.masks import MIN_FRACTION, SceneMasks
from overmix.registration.phase import check_motion
from overmix.registration.solve import Pair, frame_labels
from overmix.registration.static import ScreenFixed
from overmix.registration.sweep import _Run, _run

__all__ = ["AlignResult", "align", "align_scene"]

# When the content that does not follow the background covers at least this fraction of the
# frames (on average), the scene is aligned a second time with it masked out.
REALIGN_FRACTION = MIN_FRACTION

_Masks = Callable[[int], "np.ndarray | None"]


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
    follower : callable or None
        When the camera follows a character (:mod:`.follow`) and the offsets follow the
        background: ``follower(k)``, the ignore mask (frame coordinates, by position in the
        input sequence) the offsets were measured with, the character's tiles included.
    """

    offsets: Offsets
    masks: SceneMasks | None = None
    left_out: list[tuple[int, str]] = field(default_factory=list)
    follower: Callable[[int], np.ndarray | None] | None = None


def align(lumas: LumaProvider, **options: Any) -> Offsets:
    """Align the frames of one scene: :func:`align_scene`'s offsets (same parameters)."""
    return align_scene(lumas, **options).offsets


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
    run, realigned = _passes(read, n, labels, motion, mask, border, frame_masks, auto_bars,
                             detect, report)
    h, w = run.shape
    out, left = _solve(n, labels, run.pairs, run.results, motion, w, h, strict, run.flat)
    follower = None
    if detect:
        run, out, left, follower = _follow(read, n, labels, motion, mask, border, frame_masks,
                                           auto_bars, report, strict, run, out, left)
        follow.audit(out.extra)
    out.extra["bars"] = [int(b) for b in run.bars]
    if run.masks is not None:
        out.extra["masks"] = {**run.masks.summary(), "realigned": realigned}
    return AlignResult(out, run.masks, left, follower)



def _follow(read: Callable[[int], np.ndarray], n: int, labels: list[int], motion: str,
            mask: np.ndarray | None, border: int,
            frame_masks: Callable[[int], np.ndarray | None] | None, auto_bars: bool,
            report: ProgressCallback, strict: bool, run: _Run, out: Offsets,
            left: list[tuple[int, str]],
            ) -> tuple[_Run, Offsets, list[tuple[int, str]], _Masks | None]:
    """The camera may follow a character (:mod:`overmix.registration.follow`): confident
    pairs disagree with the solved offsets, or the solved camera hardly moves while a few
    long pairs' tiles see a second, larger motion. For each such second motion, the frames
    are aligned again with the region that follows the solved motion rather than the other
    one left out; the new offsets are kept when they place as many frames, follow the other
    motion, their own confident pairs agree with them better (or none disagrees) and the
    other motion's region is the larger over the longest pairs. Otherwise the offsets stay, with
    a warning in ``extra["follow"]`` when confident pairs disagree or the two regions are
    about as large. Also the follower's masks the kept offsets were measured with (or None)."""
    solved = follow.positions(n, labels, list(out.indices), out.xy)
    bad = follow.conflicts(run.pairs, solved)
    if len(bad) < follow.MIN_CONFLICTS:
        bad = []
    alts = [follow.hypothesis(n, bad)] if bad else []
    alt = follow.probe(read, run.pairs, solved, run.shape, motion)
    if alt is not None:
        alts.append(alt)
    if not alts:
        return run, out, left, None
    info: dict[str, object] = {"conflicts": len(bad)}
    close = doubt = False
    votes: list[list[float]] = []
    minor: _Round | None = None
    args = (read, n, labels, motion, mask, border, frame_masks, auto_bars, report, strict)
    for alt in alts:
        for _ in range(2):  # the second round votes against the first one's offsets
            got = _follow_round(*args, run, out, solved, alt, bad)
            votes.append(got.votes)
            minor = minor or got
            close = close or got.near
            doubt = doubt or got.near or (got.votes[1] >= got.votes[0] and not got.accept)
            if got.accept:
                assert got.run is not None and got.out is not None
                info.update(votes=votes, followed=True)
                kept = (got.run, got.out, got.left, got.masks)
                kept, rest = _settle(args, kept, got.bad, got.xy, None)
                if got.near:
                    info["warning"] = _follow_warning(*got.votes)
                if len(rest) >= follow.MIN_CONFLICTS:  # still not consistent
                    info["warning"] = _conflict_warning(rest, labels)
                kept[1].extra["follow"] = info
                return kept
            if got.xy is None:
                break
            alt = follow.fill(got.xy, alt)
    info["votes"] = votes
    kept = (run, out, left, None)
    if bad and not doubt and minor is not None:
        # the other motion's region is clearly the smaller one: leave it out and measure
        # again; the pairs it pulled then agree
        kept, bad = _settle(args, kept, bad, solved, minor)
        if kept[3] is not None:
            info["settled"] = True
    if bad:
        info["warning"] = _conflict_warning(bad, labels)
    elif close:
        v = votes[-1]
        info["warning"] = _follow_warning(v[0], v[1])
    kept[1].extra["follow"] = info
    return kept


_Kept = tuple[_Run, Offsets, list[tuple[int, str]], "_Masks | None"]


def _settle(args: tuple, kept: _Kept, bad: list[Pair], xy: np.ndarray | None,
            minor: _Round | None) -> tuple[_Kept, list[Pair]]:
    """Kept offsets ``kept`` (run, offsets, left out, masks; positions ``xy``) whose
    confident pairs ``bad`` still disagree: the region that follows those pairs' motion (a
    smooth fit) rather than the offsets, when it is clearly the smaller (tile votes as in
    :func:`_follow_round`; ``minor``: a round whose votes already tell it), is left out too
    and the frames are aligned again. The new offsets are kept when they place as many
    frames, stay with the kept motion and their own confident pairs disagree less. Returns
    the offsets kept and the pairs that still disagree with them."""
    (read, n, labels, motion, mask, border, frame_masks, auto_bars, report, strict) = args
    run, out, _, masks = kept
    if len(bad) < follow.MIN_CONFLICTS or xy is None:
        return kept, bad
    if minor is not None:
        tiles, size = minor.minor, minor.size
    else:
        hyp = follow.hypothesis(n, bad)
        (v_kept, v_hyp), (_, tiles), size = follow.follower_votes(read, n, run.pairs, xy,
                                                                   hyp)
        if v_hyp >= follow.AMBIGUOUS * v_kept:
            return kept, bad
    if not tiles:
        return kept, bad
    masks2 = follow.follower_masks(tiles, size, run.shape, masks or frame_masks)
    run2 = _run(read, n, labels, motion, mask, border, masks2, auto_bars, True, report,
                "align")
    h, w = run2.shape
    out2, left2 = _solve(n, labels, run2.pairs, run2.results, motion, w, h, strict,
                         run2.flat)
    xy2 = follow.positions(n, labels, list(out2.indices), out2.xy)
    if len(out2) < len(out) or not follow.stays(xy2, xy):
        return kept, bad
    bad2 = follow.conflicts(run2.pairs, xy2)
    rms = (o.extra.get("residual_rms", 0.0) for o in (out, out2))
    if follow.weight_of(bad2) >= follow.weight_of(bad) or next(rms) < next(rms):
        return kept, bad
    return (run2, out2, left2, masks2), bad2 if len(bad2) >= follow.MIN_CONFLICTS else []


@dataclass
class _Round:
    votes: list[float]
    near: bool
    accept: bool = False
    xy: np.ndarray | None = None  # the new offsets when they follow the other motion
    run: _Run | None = None
    out: Offsets | None = None
    left: list[tuple[int, str]] = field(default_factory=list)
    masks: _Masks | None = None  # the masks the new offsets were measured with
    bad: list[Pair] = field(default_factory=list)  # confident pairs that disagree with xy
    minor: dict[int, np.ndarray] = field(default_factory=dict)  # the other motion's tiles
    size: int = 0  # their size (full-resolution px)


def _follow_round(read: Callable[[int], np.ndarray], n: int, labels: list[int], motion: str,
                  mask: np.ndarray | None, border: int,
                  frame_masks: Callable[[int], np.ndarray | None] | None, auto_bars: bool,
                  report: ProgressCallback, strict: bool, run: _Run, out: Offsets,
                  solved: np.ndarray, alt: np.ndarray, bad: list[Pair]) -> _Round:
    """One round of :func:`_follow` for the other motion ``alt``: votes, the follower's
    tiles left out, the frames aligned again and judged."""
    (v_solved, v_alt), (tiles, minor), size = follow.follower_votes(read, n, run.pairs,
                                                                     solved, alt)
    larger = v_alt >= v_solved
    near = min(v_solved, v_alt) >= follow.AMBIGUOUS * max(v_solved, v_alt)
    got = _Round([round(v_solved, 1), round(v_alt, 1)], near, minor=minor, size=size)
    # a rerun is worth it where the other region may win: after it the votes are against
    # the measured motion (a second round), which a smooth fit only approximates
    if not tiles or not (larger or near or (bad and v_alt >= follow.RERUN_SHARE * v_solved)):
        return got
    masks = follow.follower_masks(tiles, size, run.shape, frame_masks)
    run2 = _run(read, n, labels, motion, mask, border, masks, auto_bars, True, report, "align")
    h, w = run2.shape
    out2, left2 = _solve(n, labels, run2.pairs, run2.results, motion, w, h, strict,
                         run2.flat)
    xy2 = follow.positions(n, labels, list(out2.indices), out2.xy)
    if len(out2) < len(out) or not follow.follows(xy2, alt, solved):
        return got
    bad2 = follow.conflicts(run2.pairs, xy2)
    # the new offsets' own confident pairs agree with them better (pairs that measured the
    # follower's motion aside: its region is left out), and the other motion's region is
    # the larger over the longest pairs
    odd = [p for p in bad2 if not follow.agrees(p, solved)]
    got.accept = larger and (follow.weight_of(odd) < follow.weight_of(bad) or not odd)
    got.xy, got.run, got.out, got.left, got.masks = xy2, run2, out2, left2, masks
    got.bad = bad2 if len(bad2) >= follow.MIN_CONFLICTS else []
    return got


def _conflict_warning(bad: list[Pair], labels: list[int]) -> str:
    first, last = bad[0], bad[-1]
    return (f"{len(bad)} confident frame pair{'' if len(bad) == 1 else 's'} (frames "
            f"{labels[first.i]}-{labels[first.j]}"
            f"{'' if len(bad) == 1 else f' ... {labels[last.i]}-{labels[last.j]}'}) "
            f"disagree{'s' if len(bad) == 1 else ''} with the offsets: a large region (a "
            "character the camera follows?) moves differently from the rest and the "
            "background's motion is ambiguous; check the still, or give --offsets")


def _follow_warning(v_solved: float, v_alt: float) -> str:
    return (f"two regions move differently and are about as large ({min(v_solved, v_alt):.0f}"
            f" and {max(v_solved, v_alt):.0f} tile votes): the background's motion is "
            "ambiguous (a character the camera follows?); the larger was used: check the "
            "still, or give --offsets")


align.__signature__ = inspect.signature(align_scene).replace(  # type: ignore[attr-defined]
    return_annotation="Offsets")

def _joined(frame_masks: Callable[[int], np.ndarray | None] | None, det: SceneMasks | None,
            fixed: ScreenFixed | None) -> Callable[[int], np.ndarray | None]:
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


def _passes(read: Callable[[int], np.ndarray], n: int, labels: list[int], motion: str,
            mask: np.ndarray | None, border: int,
            frame_masks: Callable[[int], np.ndarray | None] | None, auto_bars: bool,
            detect: bool, report: ProgressCallback) -> tuple[_Run, bool]:
    """The first pass, then the second (and third) ones with what does not follow the
    background masked out; the last pass and whether there was more than one."""
    run = _run(read, n, labels, motion, mask, border, frame_masks, auto_bars, detect,
               report, "align")
    found = run.masks
    fixed = run.fixed if run.fixed else None
    realigned = False
    if found is not None and fixed is not None:
        # screen-fixed content over long jumps: the first pass may have followed it (a
        # slow pan), so its neighbour maps are not trusted; measure again with the
        # long-jump masks, then once more with that pass's maps if it found more
        run = _run(read, n, labels, motion, mask, border, _joined(frame_masks, None, fixed),
                   auto_bars, True, report, "align")
        realigned = True
        found = run.masks
    if found is not None and found.fraction() >= REALIGN_FRACTION:
        # content that does not follow the background was found: measure again without it
        run = _run(read, n, labels, motion, mask, border, _joined(frame_masks, found, fixed),
                   auto_bars, True, report, "align")
        realigned = True
    return run, realigned


class _Rows:
    """The frames at ``rows`` of a provider, as a sequence."""

    def __init__(self, read: Callable[[int], np.ndarray], rows: list[int]) -> None:
        self.read, self.rows = read, rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, k: int) -> np.ndarray:
        return self.read(self.rows[k])


# Largest mean share of the frames the translation pass's scene masks may cover for the
# zoom/rotation model of ``auto`` to keep them (see :func:`_align_model`).
MAX_SCENE_MASK_SHARE = 0.2


def _mask_share(scene: object, n: int) -> float:
    """Mean fraction of the frames that the scene masks ignore."""
    total = 0.0
    for k in range(n):
        m = scene.ignore(k)  # type: ignore[attr-defined]
        total += 0.0 if m is None else float(np.mean(m))
    return total / max(n, 1)


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
        try:
            return AlignResult(align_transform(lumas, motion=motion, **kw))  # type: ignore
        except AlignmentError as e:
            failed = e
        # a frame the model cannot join (a cut, a black frame): the translation's groups
        # say which frames belong together (``strict``: its error says which and why); the
        # model is then fitted on those
        res = align_scene(lumas, motion="xy", strict=strict, detect=detect,
                          **kw)  # type: ignore[arg-type]
        if strict:
            raise failed
        return _richer(lumas, res, motion, mask, border, frame_masks, indices, progress,
                       auto_bars, (math.nan, math.nan))
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
    if res.follower is not None:
        # the camera follows a character: its tiles would read as a zoom or a rotation
        frame_masks = res.follower
    rows, fm = _placed_rows(lumas, res.offsets, res.masks, frame_masks, indices)
    model, ds, da = detect_motion(_Rows(reader(lumas), rows), res.offsets.xy, mask=mask,
                                  border=border, frame_masks=fm, auto_bars=auto_bars)
    res.offsets.extra["motion_detected"] = {"scale_change": ds, "angle_deg": da}
    if model == "xy":
        res.offsets.extra["motion"] = "xy"
        return res
    return _richer(lumas, res, model, mask, border, frame_masks, indices, progress,
                   auto_bars, (ds, da))


def _placed_rows(lumas: LumaProvider, off: Offsets, scene: SceneMasks | None,
                 frame_masks: Callable[[int], np.ndarray | None] | None,
                 indices: Sequence[int] | None,
                 ) -> tuple[list[int], Callable[[int], np.ndarray | None] | None]:
    """The positions of the frames the translation placed, and the masks of the j-th of
    them: its own mask with what did not follow the background (the scene masks:
    screen-fixed text, logos, characters), so neither the detection nor the richer model
    measures them."""
    labels = list(range(count(lumas))) if indices is None else [int(i) for i in indices]
    where = {lab: k for k, lab in enumerate(labels)}
    rows = [where[int(i)] for i in off.indices]

    def ignore(j: int) -> np.ndarray | None:
        own = frame_masks(rows[j]) if frame_masks is not None else None
        det = scene.ignore(rows[j]) if scene is not None else None
        if own is None:
            return det
        own = np.asarray(own) > 0.5
        return own if det is None else own | det

    return rows, (ignore if frame_masks is not None or scene is not None else None)


def _richer(lumas: LumaProvider, res: AlignResult, model: str, mask: np.ndarray | None,
            border: int, frame_masks: Callable[[int], np.ndarray | None] | None,
            indices: Sequence[int] | None, progress: ProgressCallback | None,
            auto_bars: bool, detected: tuple[float, float]) -> AlignResult:
    """The zoom/rotation ``model`` over the frames the translation ``res`` placed (left-out
    frames stay out); the pan when the model fails there."""
    from overmix.registration.transform import align_transform

    off = res.offsets
    scene = res.masks
    # scene masks covering much of the frames are mostly the zoom or rotation itself (the
    # background did not follow the translation), not overlays: then without them
    if scene is not None and _mask_share(scene, len(off)) > MAX_SCENE_MASK_SHARE:
        scene = None
    rows, fm = _placed_rows(lumas, off, scene, frame_masks, indices)
    try:
        if len(rows) < 2:
            raise AlignmentError("one frame placed")
        out = align_transform(_Rows(reader(lumas), rows), motion=model, mask=mask,
                              border=border, frame_masks=fm,
                              indices=[int(i) for i in off.indices], progress=progress,
                              auto_bars=auto_bars)
    except AlignmentError:  # the richer model failed: keep the pan
        off.extra["motion"] = "xy"
        return res
    out.extra["motion_detected"] = {"scale_change": detected[0], "angle_deg": detected[1]}
    for key in ("left_out", "masks", "follow"):
        if key in off.extra:
            out.extra[key] = off.extra[key]
    if isinstance(out.extra.get("follow"), dict) and out.extra["follow"].get("audit"):
        # the translation's residuals were the zoom or rotation's
        rest = {k: v for k, v in out.extra.pop("follow").items()
                if k not in ("audit", "warning")}
        if rest:
            out.extra["follow"] = rest
    left = off.extra.get("unaligned_frames", [])
    if left:
        out.extra["unaligned_frames"] = sorted(set(out.extra.get("unaligned_frames", []))
                                               | set(left))
    return AlignResult(out, scene, res.left_out)

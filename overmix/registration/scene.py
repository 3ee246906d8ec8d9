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
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from overmix.errors import AlignmentError, UsageError
from overmix.geometry import Offsets
from overmix.progress import ProgressCallback
from overmix.providers import LumaProvider, count, reader
from overmix.registration import follow, follow_pull
from overmix.registration.follow_scene import _follow
from overmix.registration.groups import _solve
from overmix.registration.masks import MIN_FRACTION, SceneMasks
from overmix.registration.phase import check_motion
from overmix.registration.solve import frame_labels
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
    if detect:  # the follow check's frames, kept as they stream by
        read = follow_pull.Kept(read, n)
    labels = frame_labels(n, indices)
    report = progress or (lambda stage, done, total: None)
    run, realigned = _passes(read, n, labels, motion, mask, border, frame_masks, auto_bars,
                             detect, report)
    h, w = run.shape
    out, left = _solve(n, labels, run.pairs, run.results, motion, w, h, strict, run.flat)
    if detect and not strict:
        run, out, left = _shown(read, n, labels, motion, mask, border, frame_masks, auto_bars,
                                report, run, out, left)
    follower = None
    if detect:
        run, out, left, follower = _follow(read, n, labels, motion, mask, border, frame_masks,
                                           auto_bars, report, strict, run, out, left)
        follow.audit(out.extra)
    out.extra["bars"] = [int(b) for b in run.bars]
    if run.masks is not None and run.fixed:
        # what the last pass found over long jumps (the offsets were measured without it)
        run.masks.fixed = run.fixed.mask
    if run.masks is not None:
        out.extra["masks"] = {**run.masks.summary(), "realigned": realigned}
    return AlignResult(out, run.masks, left, follower)



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


def _shown(read: Callable[[int], np.ndarray], n: int, labels: list[int], motion: str,
           mask: np.ndarray | None, border: int,
           frame_masks: Callable[[int], np.ndarray | None] | None, auto_bars: bool,
           report: ProgressCallback, run: _Run, out: Offsets,
           left: list[tuple[int, str]]) -> tuple[_Run, Offsets, list[tuple[int, str]]]:
    """When frames with detail were left out and the long jumps found screen-fixed content:
    one more pass where every frame also ignores what they found wherever it shows it
    (:meth:`ScreenFixed.shown`), kept when it places more frames. A fade from black under a
    subtitle that does not fade: the dim frames' edges are the subtitle's, their pairs with
    each other follow it (a chain of zero shifts) and no long jump finds it there, so they
    were left out as another shot. Not kept when confident pairs disagree with it
    (:func:`follow.conflicts`). Only then: a held head the camera follows is found
    screen-fixed by a few jumps too, and masked in every frame it made a follow scene's
    offsets 0.59 px off where they were right."""
    if not run.fixed or not any(i not in run.flat for i, _ in _positions(left, labels)):
        return run, out, left
    again = _run(read, n, labels, motion, mask, border,
                 _joined(frame_masks, run.masks, run.fixed), auto_bars, True, report,
                 "align", run.fixed)
    h, w = again.shape
    out2, left2 = _solve(n, labels, again.pairs, again.results, motion, w, h, False,
                         again.flat)
    if len(out2) <= len(out) or follow.conflicts(
            again.pairs, follow.positions(n, labels, list(out2.indices), out2.xy)):
        # no more frames, or confident pairs that disagree: the overlay still holds some
        # pair (a semi-transparent logo does not show the same luma over black, and its
        # fade's frames joined 14.7 px off)
        return run, out, left
    return replace(again, shown=run.fixed), out2, left2


def _positions(left: list[tuple[int, str]], labels: list[int]) -> list[tuple[int, str]]:
    """``left`` (input index, reason) by position in the sequence."""
    where = {lab: k for k, lab in enumerate(labels)}
    return [(where[i], why) for i, why in left]


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

"""The follow check of one scene's translation (:mod:`overmix.registration.follow`), run by
:func:`overmix.registration.scene.align_scene` after the solve: a second motion, the votes
between the two, the frames aligned again without the smaller region's tiles, and the
warnings when the background's motion stays ambiguous."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import numpy as np

from overmix.geometry import Offsets
from overmix.progress import ProgressCallback
from overmix.registration import follow, follow_held, follow_pull
from overmix.registration.groups import _solve
from overmix.registration.solve import Pair
from overmix.registration.sweep import _Run, _run

_Masks = Callable[[int], "np.ndarray | None"]
_Kept = tuple["_Run", Offsets, list[tuple[int, str]], "_Masks | None"]
_Pulls = list[tuple[int, int, np.ndarray, np.ndarray]]


def _again(read: Callable[[int], np.ndarray], n: int, labels: list[int], motion: str,
           mask: np.ndarray | None, border: int, masks: _Masks | None, auto_bars: bool,
           report: ProgressCallback, strict: bool,
           ) -> tuple[_Run, Offsets, list[tuple[int, str]], np.ndarray]:
    """The frames aligned once more with ``masks`` left out: the run, its offsets, the
    frames left out and the placed frames' positions (:func:`follow.positions`)."""
    run = _run(read, n, labels, motion, mask, border, masks, auto_bars, True, report, "align")
    h, w = run.shape
    out, left = _solve(n, labels, run.pairs, run.results, motion, w, h, strict, run.flat)
    return run, out, left, follow.positions(n, labels, list(out.indices), out.xy)


def _follow(read: Callable[[int], np.ndarray], n: int, labels: list[int], motion: str,
            mask: np.ndarray | None, border: int,
            frame_masks: Callable[[int], np.ndarray | None] | None, auto_bars: bool,
            report: ProgressCallback, strict: bool, run: _Run, out: Offsets,
            left: list[tuple[int, str]],
            ) -> tuple[_Run, Offsets, list[tuple[int, str]], _Masks | None]:
    """The follow check (:func:`_regions`), then, when nothing warned, the held check
    (:func:`_unhold`) and the sub-pixel one (:func:`_unpull`)."""
    kept = _regions(read, n, labels, motion, mask, border, frame_masks, auto_bars, report,
                    strict, run, out, left)
    info = kept[1].extra.get("follow")
    if isinstance(info, dict) and "warning" in info:
        return kept
    args = (read, n, labels, motion, mask, border, frame_masks, auto_bars, report, strict)
    return _unpull(args, *_unhold(args, kept), follower=kept[3])


def _unhold(args: tuple, kept: _Kept) -> tuple[_Kept, _Pulls | None]:
    """Offsets ``kept`` that content held on screen between neighbouring frames may have
    pulled (:mod:`overmix.registration.follow_held`: a character the camera follows, held on
    twos, over a slow pan): the frames are aligned again without the held tiles (grown by a
    tile; when those offsets are not kept, not grown); the new
    offsets are kept when they place as many frames, stay within a pixel of the kept ones and
    the background's tiles, outside the new masks, say they are nearer
    (:func:`~overmix.registration.follow_pull.misfits`; ``extra["follow"]["held"]``), and
    their inlier pairs are no less consistent. A lower pair rms alone is not enough: fewer
    tiles around a head redrawn every frame measured offsets 0.112 px off with the lower
    rms, where the first were 0.066. Also, when the offsets stay,
    :func:`follow_pull.pulls` of them (the pull check of :func:`_unpull`), made meanwhile on
    a second thread (or None)."""
    (read, n, labels, motion, mask, border, frame_masks, auto_bars, report, strict) = args
    run, out, _, masks = kept
    if not isinstance(read, follow_pull.Kept) or read.shape is None:
        return kept, None
    xy = follow.positions(n, labels, list(out.indices), out.xy)
    frames = {**read.frames, **read.after}
    if not frames:
        return kept, None
    scale = read.shape[1] / next(iter(frames.values())).shape[1]
    def ignored(k: int) -> np.ndarray | None:
        # what the offsets were measured without. A follower's masks (``masks``: the offsets
        # were measured again with them alone) are not: they come from tile votes in a few
        # pairs and miss parts of it, which pull the pairs within its holds (bench_follow
        # seed 2 case 11: 0.111 px, the held tiles left out too: 0.090)
        out = None
        for m in (frame_masks(k) if frame_masks is not None else None,
                  run.masks.ignore(k) if run.masks is not None and masks is None else None,
                  run.fixed.mask(k) if run.fixed and masks is None else None):
            if m is not None:
                m = np.asarray(m) > 0.5
                out = m if out is None else out | m
        return out

    # the pull check of these offsets on a second thread meanwhile: both checks read only the
    # reduced frames the reader kept (no frame is read again), and their numpy work on whole
    # frames releases the GIL (issue #15: 480x270, 48 frames: ~12 of the alignment's ~90 ms
    # were each check's, one after the other, while the other core idled)
    with ThreadPoolExecutor(1, thread_name_prefix="overmix-pulls") as pool:
        pulled = pool.submit(follow_pull.pulls, read, xy, _fixed(run, masks, read),
                             run.shown is not None)
        try:
            held_on = follow_held.holds(frames, xy, scale, ignored)
        finally:
            found = pulled.result()
    if not held_on:
        return kept, found
    own = follow.follower_masks({}, 1, run.shape, masks or frame_masks)
    judge: _Masks | None = None  # the tiles both alignments consider background
    for grow in (True, False):
        # grown by a tile first; a large head's grown tiles can leave too little background
        # (bench_follow seed 2 case 11: 88 % of the frame, realigned 0.33 px off; the tiles
        # alone: 0.090 where the first offsets were 0.111)
        held = follow_held.held_masks(read, xy, run.shape, grow)
        joined = _with(own, held)
        judge = judge or joined
        run2, out2, left2, xy2 = _again(read, n, labels, motion, mask, border, joined,
                                        auto_bars, report, strict)
        if len(out2) < len(out) or not follow.stays(xy2, xy):
            continue
        # both say the new offsets are better: the background's tiles and the pairs' rms
        # (the tiles' measure alone, ~0.05 px off itself, took a realignment with a 40 %
        # higher rms, 0.106 px off where the first offsets were 0.097: seed 4 case 0)
        fit = follow_pull.misfits(read, [xy, xy2], judge)
        rms = [float(o.extra.get("residual_rms", 0.0)) for o in (out, out2)]
        if fit[1] < fit[0] and rms[1] <= rms[0]:
            break
    else:
        return kept, found
    info = dict(out.extra.get("follow") or {})
    info["held"] = True
    out2.extra["follow"] = info
    if not run2.fixed:  # the held tiles hid it: what the first offsets were measured without
        run2 = replace(run2, fixed=run.fixed)
    return (run2, out2, left2, joined), None


def _fixed(run: _Run, follower: _Masks | None, read: object = None) -> _Masks | None:
    """The screen-fixed masks the long-jump search of ``run`` found (:mod:`.static`; None
    when it found none, or when the offsets were measured without a ``follower``'s masks):
    what the pull check leaves out. Only these: a character's foreground masks may hide the
    very region that pulls the offsets. After a follower's realignment the search's masks
    may hold the character's held parts, and the tiles left read 0.155 px where the offsets
    were 0.090 off (bench_follow seed 3 case 1; without them no warning). ``read``: the
    reader that kept the checked frames (:class:`follow_pull.Kept`)."""
    if not run.fixed or follower is not None:
        return None
    if run.shown is None:
        return run.fixed.mask
    fixed, overlay = run.fixed, run.shown
    kept = {**read.frames, **read.after} if isinstance(read, follow_pull.Kept) else {}

    def masks(k: int) -> np.ndarray | None:
        # after a pass that ignored them (scene._shown): also where a frame the check holds
        # shows what the search found elsewhere, the dim frames of a fade under a subtitle
        # whose own jumps found none of it (frame 7 of a 320x180 fade warned 0.47 px where
        # the offsets were right)
        own, shown = fixed.mask(k), overlay.shown(kept[k]) if k in kept else None
        return own if shown is None else shown if own is None else own | shown

    return masks


def _with(own: _Masks, extra: dict[int, np.ndarray]) -> _Masks:
    """Masks ``own`` with ``extra`` (store position -> (h, w) bool) joined in."""
    def joined(k: int) -> np.ndarray | None:
        m, e = own(k), extra.get(k)
        return e if m is None else m if e is None else np.asarray(m) | e

    return joined


def _unpull(args: tuple, kept: _Kept, found: _Pulls | None = None,
            follower: _Masks | None = None) -> _Kept:
    """Offsets ``kept`` that a region moving less than a pixel or two from the background
    may have pulled (:mod:`overmix.registration.follow_pull`): when the tiles of a few pairs
    say they are :data:`~overmix.registration.follow_pull.PULL_PX` or more off, a warning
    names the frames (``extra["follow"]["pull"]``). Aligning again without the tiles that
    disagree was tried and not kept: on a hardsub + walking character pan its offsets were
    0.19 px off where the first ones were right. ``found``: :func:`follow_pull.pulls` of
    ``kept``'s offsets when made already; ``follower``: the follower's masks the offsets
    were measured without before the held check (:func:`_fixed`), or None."""
    read, n, labels = args[:3]
    out = kept[1]
    if found is None:
        xy = follow.positions(n, labels, list(out.indices), out.xy)
        found = follow_pull.pulls(read, xy, _fixed(kept[0], follower, read),
                                 kept[0].shown is not None)
    if follow_pull.worst(found) < follow_pull.PULL_PX:
        return kept
    i, k, d, _ = max(found, key=lambda p: float(np.abs(p[2]).max()))
    info = dict(out.extra.get("follow") or {})
    info["pull"] = {"frames": [labels[i], labels[k]], "px": [round(float(v), 3) for v in d]}
    info["warning"] = (
        f"the tiles of frames {labels[i]} and {labels[k]} say the offsets are "
        f"{float(np.abs(d).max()):.2f} px off the motion of the largest region: a region "
        "that moves differently (a character the camera follows?) pulls them and the "
        "background's motion is ambiguous; check the still, or give --offsets")
    out.extra["follow"] = info
    return kept


def _regions(read: Callable[[int], np.ndarray], n: int, labels: list[int], motion: str,
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
    args = (read, n, labels, motion, mask, border, frame_masks, auto_bars, report, strict)
    if alt is not None:
        alts.append(alt)
    if not alts:
        return run, out, left, None
    info: dict[str, object] = {"conflicts": len(bad)}
    close = doubt = planes = False
    votes: list[list[float]] = []
    minor: _Round | None = None
    for alt in alts:
        for _ in range(2):  # the second round votes against the first one's offsets
            got = _follow_round(*args, run, out, solved, alt, bad)
            votes.append(got.votes)
            minor = minor or got
            close = close or got.near
            planes = planes or got.planes
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
    if planes:
        info["planes"] = True
        info["warning"] = _planes_warning(*votes[-1])
    elif bad:
        info["warning"] = _conflict_warning(bad, labels)
    elif close:
        v = votes[-1]
        info["warning"] = _follow_warning(v[0], v[1])
    kept[1].extra["follow"] = info
    return kept



def _settle(args: tuple, kept: _Kept, bad: list[Pair], xy: np.ndarray | None,
            minor: _Round | None) -> tuple[_Kept, list[Pair]]:
    """Kept offsets ``kept`` (run, offsets, left out, masks; positions ``xy``) whose
    confident pairs ``bad`` still disagree: the region that follows those pairs' motion (a
    smooth fit) rather than the offsets, when it is clearly the smaller (tile votes as in
    :func:`_follow_round`; ``minor``: a round whose votes already tell it), is left out
    too and the frames are aligned again. The new offsets are kept when they place as many
    frames, stay within a pixel of the kept ones, no confident pair disagrees with them (the
    pairs that did measured again) and their inlier pairs are no less consistent: the
    region explained the disagreement. Returns the offsets kept and the pairs that still
    disagree with them."""
    (read, n, labels, motion, mask, border, frame_masks, auto_bars, report, strict) = args
    run, out, _, masks = kept
    if len(bad) < follow.MIN_CONFLICTS or xy is None:
        return kept, bad
    hyp = follow.hypothesis(n, bad)
    if not all(follow.agrees(p, hyp) for p in bad):  # not one region's motion
        return kept, bad
    if minor is not None:
        tiles, size = minor.minor, minor.size
    else:
        (v_kept, v_hyp), (_, tiles), size, _ = follow.follower_votes(read, n, run.pairs, xy,
                                                                      hyp)
        if v_hyp >= follow.AMBIGUOUS * v_kept:
            return kept, bad
    if not tiles:
        return kept, bad
    masks2 = follow.follower_masks(tiles, size, run.shape, masks or frame_masks)
    run2, out2, left2, xy2 = _again(read, n, labels, motion, mask, border, masks2, auto_bars,
                                    report, strict)
    if len(out2) < len(out) or not follow.stays(xy2, xy):
        return kept, bad
    bad2 = follow.conflicts(run2.pairs, xy2)
    rms = (o.extra.get("residual_rms", 0.0) for o in (out, out2))
    if bad2 or not follow.resolved(bad, run2.pairs, xy2) or next(rms) < next(rms):
        return kept, bad
    return (run2, out2, left2, masks2), []


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
    planes: bool = False  # two planes the votes cannot tell apart (follow.planes)
    minor: dict[int, np.ndarray] = field(default_factory=dict)  # the other motion's tiles
    size: int = 0  # their size (full-resolution px)


def _follow_round(read: Callable[[int], np.ndarray], n: int, labels: list[int], motion: str,
                  mask: np.ndarray | None, border: int,
                  frame_masks: Callable[[int], np.ndarray | None] | None, auto_bars: bool,
                  report: ProgressCallback, strict: bool, run: _Run, out: Offsets,
                  solved: np.ndarray, alt: np.ndarray, bad: list[Pair]) -> _Round:
    """One round of :func:`_follow` for the other motion ``alt``: votes, the follower's
    tiles left out, the frames aligned again and judged."""
    (v_solved, v_alt), (tiles, minor), size, held = follow.follower_votes(read, n, run.pairs,
                                                                           solved, alt)
    larger = v_alt >= v_solved
    near = min(v_solved, v_alt) >= follow.AMBIGUOUS * max(v_solved, v_alt)
    got = _Round([round(v_solved, 1), round(v_alt, 1)], near, minor=minor, size=size)
    if larger and follow.planes(held, (v_solved, v_alt), (solved, alt), run.shape):
        # two planes (parallax), not a character the camera follows: the tiles' votes count
        # textured parts only (the outlines between the planes move with the nearer one),
        # and flat parts may make either plane the larger. Not followed: the solved motion
        # stays, with a warning (_regions). (Only here: a head redrawn every frame with no
        # sway keeps as few votes over 8 frames as over 1, and its scene was settled right,
        # bench_follow seed 1 case 12)
        got.near = got.planes = True
        return got
    # a rerun is worth it where the other region may win: after it the votes are against
    # the measured motion (a second round), which a smooth fit only approximates
    if not tiles or not (larger or near or (bad and v_alt >= follow.RERUN_SHARE * v_solved)):
        return got
    masks = follow.follower_masks(tiles, size, run.shape, frame_masks)
    run2, out2, left2, xy2 = _again(read, n, labels, motion, mask, border, masks, auto_bars,
                                    report, strict)
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


def _planes_warning(v_solved: float, v_alt: float) -> str:
    return (f"two planes move differently over the whole scene (parallax?; {v_solved:.0f} "
            f"and {v_alt:.0f} tile votes of their textured parts): which one covers more of "
            "the frame, the background, is ambiguous; the offsets follow the one the frame "
            "pairs chose: check the still, or give --offsets")


def _follow_warning(v_solved: float, v_alt: float) -> str:
    return (f"two regions move differently and are about as large ({min(v_solved, v_alt):.0f}"
            f" and {max(v_solved, v_alt):.0f} tile votes): the background's motion is "
            "ambiguous (a character the camera follows?); the larger was used: check the "
            "still, or give --offsets")

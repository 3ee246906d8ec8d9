"""The largest consistent group of a scene's frames: its offsets, and why the others are out.

All measured pairs are solved jointly (:func:`~overmix.registration.solve.solve_offsets`); the
frames joined by inlier pairs form groups, the largest is placed and the others are left out
with a reason (a cut, a frame that matches none of its neighbours).
"""

from __future__ import annotations

import numpy as np

from overmix.errors import AlignmentError
from overmix.geometry import Offsets
from overmix.registration.phase import PairResult
from overmix.registration.solve import (
    MIN_CONFIDENCE,
    Pair,
    components,
    first_break,
    solve_offsets,
    solve_report,
)

# The reason given for a frame left out because it has nothing to align.
BLANK = "a black or blank frame (no detail to align)"


def _solve(n: int, labels: list[int], pairs: list[Pair],
           results: list[tuple[int, int, PairResult]], motion: str, w: int, h: int,
           strict: bool = False, flat: frozenset[int] = frozenset(),
           ) -> tuple[Offsets, list[tuple[int, str]]]:
    """Offsets of the largest group of frames connected by inlier pairs; the others are left
    out (``strict``: an error naming the first break). When no two frames match, the middle
    frame with detail (of all frames, when none has) is placed alone. ``flat``: positions of
    frames without detail to align (black or blank), named so in the reasons."""
    inl_edges: list[tuple[int, int]] = []
    if flat:  # a frame with nothing to align is placed by no pair (a chance match, or an
        # overlay's letters on black: a fade from black under a subtitle)
        keep = [p.i not in flat and p.j not in flat for p in pairs]
        pairs = [p for p, ok in zip(pairs, keep, strict=True) if ok]
        results = [r for r, ok in zip(results, keep, strict=True) if ok]
    floor = _confidence_floor(pairs)
    first = None
    if pairs:
        first = solve_offsets(n, pairs, motion=motion, anchor=0, min_confidence=floor)
        inl_edges = [(p.i, p.j) for p, ok in zip(pairs, first[2], strict=True) if ok]
    comp = components(n, inl_edges)
    sizes = np.bincount(comp)
    main = int(np.argmax(sizes))
    if sizes[main] < 2:
        # no two frames match: the still is the middle frame alone (never a dead end), the
        # middle of those with detail (a fade from black: not a black frame)
        shown = [k for k in range(n) if k not in flat] or list(range(n))
        main = int(comp[shown[len(shown) // 2]])
    if len(sizes) > 1 and strict:
        blank = sorted(labels[k] for k in flat if comp[k] != main)
        if blank:  # say why rather than where: the frames have nothing to align
            shown = ", ".join(map(str, blank[:10])) + (" ..." if len(blank) > 10 else "")
            many = len(blank) > 1
            raise AlignmentError(f"frame{'s' if many else ''} {shown} {'are' if many else 'is'}"
                                 " black or blank: no detail to align")
        first_break(comp, labels)  # name the first place where the sequence breaks
    used = np.flatnonzero(comp == main)
    left = _left_out(comp, main, labels, flat)
    anchor = int(used[0])
    # anchored at frame 0, the first solve is this one (the same pairs, weights and floor)
    xy, res, inl = first if first is not None and anchor == 0 else solve_offsets(
        n, pairs, motion=motion, anchor=anchor, min_confidence=floor)
    xy = xy[used] - xy[anchor]
    conf = np.zeros(n)
    for (i, j, r), ok in zip(results, inl, strict=True):
        if ok:
            conf[i] = max(conf[i], r.confidence)
            conf[j] = max(conf[j], r.confidence)
    rin = res[inl] if len(res) else np.zeros(0)
    rejected = [[labels[p.i], labels[p.j]] for p, ok in zip(pairs, inl, strict=True) if not ok]
    extra: dict[str, object] = {
        **solve_report(rin, len(pairs), rejected),
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


def _left_out(comp: np.ndarray, main: int, labels: list[int],
              flat: frozenset[int] = frozenset()) -> list[tuple[int, str]]:
    """(index, reason) of every frame outside the main group, in input order."""
    n = len(comp)
    out: list[tuple[int, str]] = []
    blank = [int(k) for k in np.flatnonzero(comp != main) if int(k) in flat]
    out.extend((labels[k], BLANK) for k in blank)
    for c in np.unique(comp):
        if c == main:
            continue
        ks = np.array([k for k in np.flatnonzero(comp == c) if int(k) not in flat], np.int64)
        if len(ks) == 0:
            continue
        if np.count_nonzero(comp == main) < 2:
            why = "matches no other frame (no two frames of the range match)"
        elif len(ks) == 1:
            why = "matches none of its neighbours (a flash, noise or a transition)"
        else:
            first, last = int(ks[0]), int(ks[-1])
            where = (f"a cut between frames {labels[first - 1]} and {labels[first]}"
                     if first > 0 and comp[first - 1] == main else
                     f"a cut between frames {labels[last]} and {labels[last + 1]}"
                     if last + 1 < n and comp[last + 1] == main else "a separate group")
            kept = int(np.count_nonzero(comp == main))
            why = (f"another shot: {len(ks)} frames that do not match the "
                   f"largest group ({where})" if len(ks) < kept else
                   f"another shot: {len(ks)} frames, as many as the stitched group, which "
                   f"comes first ({where})")
        out.extend((labels[int(k)], why) for k in ks)
    out.sort()
    return out

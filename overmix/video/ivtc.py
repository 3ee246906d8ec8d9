"""Inverse telecine: field matching + decimation (hard telecine), detection (auto mode).

Hard telecine (3:2 pulldown baked into interlaced frames) turns 4 film frames A B C D into 5
video frames. With the top field first and pattern 2-3 the fields are
``At Ab | Bt Bb | Bt Cb | Ct Db | Dt Db``: frames 2 and 3 mix two film frames (combing).

Field matching
    For each frame ``n`` keep its first field (top for TFF, bottom for BFF) and pair it with
    the other-parity field of frame ``n-1``, ``n`` or ``n+1`` (matches *p*, *c*, *n*), choosing
    the pairing with the least combing. Above, frame 2 takes its bottom field from frame 1
    and frame 3 from frame 2, giving ``A B B C D``: every film frame once, plus one
    duplicate per cycle of five.
Decimation
    In every group of five matched frames the one most similar to its predecessor (mean
    absolute luma difference) is dropped when it is a clear duplicate (at most half the
    difference of the next most similar frame); without a clear duplicate (a static shot, a
    stream that starts mid-cycle, the short last group) the frame at the cadence position
    seen so far is dropped, or none before any cadence is known.
Chroma
    In interlaced 4:2:0 the chroma rows alternate between the fields just like luma rows
    (chroma row r belongs to the field of parity r % 2), so every plane is woven by row
    parity.

Combing metric (luma, vectorised): for each interior row the product
``(F[i] - F[i-1]) * (F[i] - F[i+1])`` is positive where a row sticks out from both of its
neighbours in the same direction — the saw-tooth of two fields from different moments. The
metric is the mean of its positive part; clean progressive pictures score low except at
thin horizontal lines, which all candidates share.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

import numpy as np

__all__ = ["combing", "detect_telecine", "ivtc_frames", "match_frame", "weave"]


def _luma(f: Any, depth: int = 8) -> np.ndarray:
    """Plane 0 as float32 in [0, 1] (codes / (2^depth - 1)); columns halved for wide frames."""
    y = f.planes[0]
    if y.shape[1] > 720:
        y = y[:, ::2]
    return y.astype(np.float32) * np.float32(1.0 / ((1 << depth) - 1))


def combing(frame_y: np.ndarray) -> float:
    """Mean positive part of the vertical saw-tooth product (see module docstring)."""
    f = frame_y
    d = (f[1:-1] - f[:-2]) * (f[1:-1] - f[2:])
    return float(np.maximum(d, 0.0).mean())


def _weave_y(keep: np.ndarray, other: np.ndarray, kp: int) -> np.ndarray:
    out = keep.copy()
    out[1 - kp::2] = other[1 - kp::2]
    return out


def weave(keep: Any, other: Any, kp: int) -> tuple[np.ndarray, ...]:
    """Planes of ``keep`` with the rows of parity ``1 - kp`` taken from ``other`` (all planes).

    ``kp``: parity of the kept field (0 = top, 1 = bottom).
    """
    out = []
    for a, b in zip(keep.planes, other.planes, strict=True):
        p = a.copy()
        p[1 - kp::2] = b[1 - kp::2]
        out.append(p)
    return tuple(out)


def match_frame(prev_y: np.ndarray | None, cur_y: np.ndarray, next_y: np.ndarray | None,
                kp: int) -> tuple[str, dict[str, float]]:
    """Best match (``"p"``, ``"c"``, ``"n"``) for the kept field of the current frame."""
    scores = {"c": combing(cur_y)}
    if prev_y is not None:
        scores["p"] = combing(_weave_y(cur_y, prev_y, kp))
    if next_y is not None:
        scores["n"] = combing(_weave_y(cur_y, next_y, kp))
    best = min(scores, key=lambda k: (scores[k] * (1.0 if k != "c" else 0.999), k != "c"))
    return best, scores


def _matched(frames: Iterable[Any], kp: int, stats: dict[str, Any], depth: int
             ) -> Iterator[tuple[Any, ...]]:
    """Field-matched frames: ``(raw_frame, planes, other_ordinal, match, luma)``."""
    window: deque[tuple[Any, np.ndarray]] = deque()
    it = iter(frames)
    prev: tuple[Any, np.ndarray] | None = None
    matches: list[str] = stats.setdefault("matches", [])

    def emit(cur: tuple[Any, np.ndarray], nxt: tuple[Any, np.ndarray] | None) -> tuple:
        m, _ = match_frame(None if prev is None else prev[1], cur[1],
                           None if nxt is None else nxt[1], kp)
        src = {"p": prev, "c": cur, "n": nxt}[m]
        assert src is not None
        planes = cur[0].planes if m == "c" else weave(cur[0], src[0], kp)
        matches.append(m)
        return cur[0], planes, src[0].ordinal, m

    for f in it:
        window.append((f, _luma(f, depth)))
        if len(window) == 2:
            cur, nxt = window[0], window[1]
            yield emit(cur, nxt)
            prev = window.popleft()
    if window:
        yield emit(window[0], None)


def ivtc_frames(frames: Iterable[Any], field_order: str, stats: dict[str, Any],
                depth: int = 8) -> Iterator[Any]:
    """Undo hard telecine on a stream of raw frames (objects with ``planes``, ``ordinal``,
    ``pts``...); yields copies with the woven planes and ``fields`` set, duplicates dropped.

    ``stats`` receives ``matches`` (per input frame p/c/n), ``dropped`` (input ordinals of
    the decimated frames) and ``pattern``.
    """
    kp = 0 if field_order != "bff" else 1
    kname, oname = ("t", "b") if kp == 0 else ("b", "t")
    dropped: list[int] = stats.setdefault("dropped", [])
    stats["field_order"] = "bff" if kp else "tff"
    group: list[tuple[Any, float]] = []
    last_y: np.ndarray | None = None
    drop_phases: list[int] = []
    n_in = 0

    def decimate(group: list[tuple[Any, float]]) -> Iterator[Any]:
        diffs = np.asarray([d for _, d in group], dtype=np.float64)
        order = np.argsort(diffs, kind="stable")
        k = int(order[0])
        second = float(diffs[order[1]]) if len(group) > 1 else float("inf")
        # a clear duplicate: at most half the difference of the next most similar frame
        clear = (bool(np.isfinite(diffs[k]) and np.isfinite(second)) and second > 1e-9
                 and diffs[k] <= 0.5 * second)
        drop: int | None = k if clear else None
        if drop is None and drop_phases:
            # no clear duplicate (a static shot, a damaged start): follow the cadence
            phase = max(set(drop_phases), key=drop_phases.count)
            want = [i for i, (f, _) in enumerate(group) if f.extra_pos % 5 == phase]
            if want:
                drop = want[0]
        for i, (f, _) in enumerate(group):
            if i == drop:
                dropped.append(f.ordinal)
                if clear:
                    drop_phases.append(f.extra_pos % 5)
                continue
            yield f

    for raw, planes, other, _m in _matched(frames, kp, stats, depth):
        fields = f"{raw.ordinal}{kname}+{other}{oname}"
        out = replace(raw, planes=planes, fields=fields, interlaced=False)
        out.extra_pos = n_in  # position in the matched sequence (for the cadence phase)
        y = _luma(out, depth)
        d = float("inf") if last_y is None else float(np.mean(np.abs(y - last_y)))
        last_y = y
        group.append((out, d))
        n_in += 1
        if len(group) == 5:
            yield from decimate(group)
            group = []
    if group:
        yield from decimate(group)
    ms = "".join(stats.get("matches", []))
    stats["pattern"] = _describe(ms, drop_phases)


def _describe(matches: str, phases: list[int]) -> str:
    if not matches:
        return "no frames"
    head = matches[:20]
    phase = max(set(phases), key=phases.count) if phases else None
    return (f"matches {head}{'...' if len(matches) > 20 else ''}; "
            f"drop phase {phase} of 5" if phase is not None else f"matches {head}")


def detect_telecine(frames: Iterable[Any], field_order: str | None, depth: int = 8
                    ) -> dict[str, Any]:
    """Decide ``--ivtc auto`` from the first frames (typically 50).

    Counts frames whose combing drops by more than half when their second field is taken from
    a neighbour (*fixable* combing). Hard telecine shows it on 2 of every 5 frames at fixed
    positions of the cycle; progressive video never; true interlaced video (every field a
    new moment) shows combing that no neighbour fixes.
    """
    orders = [field_order] if field_order in ("tff", "bff") else ["tff", "bff"]
    best: dict[str, Any] | None = None
    ys = [(_luma(f, depth), bool(getattr(f, "interlaced", False))) for f in frames]
    n = len(ys)
    flagged = sum(1 for _, i in ys if i)
    for order in orders:
        kp = 0 if order == "tff" else 1
        fixable: list[int] = []
        combed = 0
        for k in range(n):
            cur = ys[k][0]
            c = combing(cur)
            alts = []
            if k > 0:
                alts.append(combing(_weave_y(cur, ys[k - 1][0], kp)))
            if k + 1 < n:
                alts.append(combing(_weave_y(cur, ys[k + 1][0], kp)))
            if not alts:
                continue
            a = min(alts)
            if c > 2.0 * a + 1e-6:
                fixable.append(k)
            if c > 4.0 * a + 1e-6 or c > 1e-3:
                combed += 1
        residues = [k % 5 for k in fixable]
        top2 = sorted({r: residues.count(r) for r in set(residues)}.values(), reverse=True)[:2]
        periodic = bool(residues) and sum(top2) >= 0.8 * len(residues)
        cand = {"order": order, "fixable": len(fixable), "periodic": periodic,
                "positions": sorted(set(residues))}
        if best is None or cand["fixable"] > best["fixable"]:
            best = cand
    assert best is not None or n == 0
    decision: dict[str, Any] = {"requested": "auto", "analysed_frames": n,
                                "interlaced_flags": flagged}
    if n >= 10 and best is not None and best["fixable"] >= max(2, 0.15 * n) and best["periodic"]:
        decision.update(mode="hard", field_order=best["order"],
                        reason=f"{best['fixable']} of {n} frames show combing that the "
                               "neighbouring field removes, at fixed positions of a 5-frame "
                               "cycle",
                        pattern=f"3:2 pulldown, combed frames at cycle positions "
                                f"{best['positions']}")
    else:
        why = "no periodic fixable combing" if n >= 10 else f"only {n} frames to analyse"
        decision.update(mode="off", reason=why + (f" ({best['fixable']} fixable frames)"
                                                  if best else ""))
    return decision

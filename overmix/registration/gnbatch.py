"""Full-resolution Gauss-Newton refinement of several pairs at once.

A frame of a steady pan is measured against 4-8 earlier frames, each from a predicted shift
within a pixel of the truth: the same symmetric Gauss-Newton as
:func:`overmix.registration.phase.estimate_prepared` with ``search=False``, but every step
evaluates all the pairs still moving in one :func:`~overmix.registration.refine.gn_batch`
call, so numpy's per-call cost is paid once per step instead of once per pair (issue #15:
it dominated small frames).
"""

from __future__ import annotations

import math

import numpy as np

from overmix.errors import AlignmentError
from overmix.registration.fine import (
    _ROBUST_C,
    _Fit,
    _fit_sums,
    _inlier_tiles,
    _region,
    _robust_scales,
)
from overmix.registration.phase import PairResult, check_motion
from overmix.registration.pyramid import _ENC_GAIN, PreparedPlane
from overmix.registration.refine import HIST_SCALE, NBINS, gn_batch
from overmix.registration.tiles import _CELL, _energy, _fine_budget, _tiles

__all__ = ["refine_pairs"]

_ITERS = 10  # Gauss-Newton steps at most (fine._refine's at full resolution)
# A pair stops once a step is shorter than this (px). From a prediction within a pixel, each
# step leaves about a tenth of the error before it, so what this leaves is ~1e-3 px; the
# search path's finer tolerance (fine._TOL0) would cost a second step for nearly every pair.
_TOL = 2e-2
# After the first step (plain least squares, mov's gain and offset not yet matched) a pair
# also stops when that step was below _TOL_FIRST px and the fit shows nothing the later
# steps would correct: gain within _SAME_GAIN of 1 and offset within _SAME_GAIN (luma), and
# at most _TAIL_MAX of the residuals beyond a third of the robust (Cauchy) scale, where
# their weight would drop below 0.9. A second step from there measured 5-7 % of the first,
# so this leaves < 6e-3 px (issue #15: the second step was a second batch call for about
# half the frames of a clean pan, a fixed cost that dominated small frames). On the
# tools/bench_realscenes.py scenes through x264 (640x360) no pair stops early this way:
# their first steps mostly miss by 0.03-0.1 px, or show an overlay's or a fade's residuals.
_TOL_FIRST = 8e-2
_SAME_GAIN = 3e-3
_TAIL_MAX = 2e-3


class _State:
    __slots__ = ("ref", "mov", "cx", "cy", "fit", "scale", "layout", "done", "failed",
                 "total", "dropped")

    def __init__(self, ref: PreparedPlane, mov: PreparedPlane, dx: float, dy: float) -> None:
        self.ref, self.mov = ref, mov
        self.cx, self.cy = dx, dy
        self.fit: _Fit | None = None
        self.scale = 0.0
        self.layout: tuple[np.ndarray, int, int] | None = None
        self.done = False
        self.failed = False
        self.total = self.dropped = 0  # tiles at first, tiles left out since


def _clean(hist: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """Per pair (J,) bool: at most :data:`_TAIL_MAX` of the residuals counted in ``hist``
    (J, NBINS) lie beyond a third of the Cauchy scale ``_ROBUST_C * scales`` (J,)."""
    centres = (np.arange(NBINS) + 0.5) / HIST_SCALE
    tail = centres[None, :] > (_ROBUST_C / 3.0) * scales[:, None]
    total = np.maximum(hist.sum(axis=1), 1)
    return (hist * tail).sum(axis=1) <= _TAIL_MAX * total


def refine_pairs(pairs: list[tuple[PreparedPlane, PreparedPlane, float, float]],
                 motion: str = "xy") -> list[PairResult | None]:
    """Refine each ``(ref, mov, dx, dy)`` at full resolution from its guess (which must be
    within about a pixel of the truth): the results of ``estimate_prepared(ref, mov,
    guess=(dx, dy), search=False)``, None where that raises (no usable overlap)."""
    check_motion(motion)
    st = []
    for ref, mov, dx, dy in pairs:
        if ref.shape != mov.shape:
            raise AlignmentError("frames differ in size")
        st.append(_State(ref, mov, dx if motion != "y" else 0.0, dy if motion != "x" else 0.0))
    unit = 1.0 / _ENC_GAIN
    for _ in range(_ITERS):
        groups: dict[tuple[int, int], list[_State]] = {}
        for s in st:
            if s.done or s.failed:
                continue
            a = s.ref.levels[0]
            h, w = a.img.shape
            reg = _region(h, w, s.cx, s.cy)
            if reg is None:
                s.failed = True
                continue
            if s.layout is None or s.layout[1] > reg[2] or s.layout[2] > reg[3]:
                budget = _fine_budget(a.img.size)
                energy = _energy(s.ref) if budget is not None else None
                s.layout = _tiles(*reg, budget, energy, (s.cx / 2, s.cy / 2), _CELL)
            else:
                starts, th_, tw_ = s.layout
                lo = np.array([reg[0], reg[1]], np.int64)
                hi = np.array([reg[0] + reg[2] - th_, reg[1] + reg[3] - tw_], np.int64)
                s.layout = (np.clip(starts, lo, hi), th_, tw_)
            groups.setdefault((s.layout[1], s.layout[2]), []).append(s)
        if not groups:
            break
        for (th, tw), grp in groups.items():
            ms = np.empty(sum(len(s.layout[0]) for s in grp))  # type: ignore[index]
            sums, hist = gn_batch(
                [s.ref.levels[0].img for s in grp], [s.mov.levels[0].img for s in grp],
                [s.ref.levels[0].kvalid for s in grp], [s.mov.levels[0].kvalid for s in grp],
                [s.layout[0] for s in grp], th, tw,  # type: ignore[index]
                np.array([[s.cx, s.cy] for s in grp]), unit,
                np.array([_ROBUST_C * _ROBUST_C * s.scale * s.scale for s in grp]),
                np.array([s.fit.alpha if s.fit is not None else 1.0 for s in grp]),
                np.array([s.fit.beta if s.fit is not None else 0.0 for s in grp]), ms)
            at = 0
            scales = _robust_scales(hist)
            clean = _clean(hist, scales)
            for s, sm, sc, cl in zip(grp, sums, scales.tolist(), clean.tolist(), strict=True):
                nt = len(s.layout[0])  # type: ignore[index]
                tms, at = ms[at:at + nt], at + nt
                first = s.fit is None
                try:
                    ddx, ddy, s.fit = _fit_sums(sm, motion, s.cx, s.cy)
                    s.scale = sc
                except AlignmentError:
                    s.failed = True
                    continue
                mag = math.hypot(ddx, ddy)
                if mag > 1.0:  # outside the basin: damp
                    ddx, ddy = ddx / mag, ddy / mag
                s.cx += ddx
                s.cy += ddy
                # tiles that do not follow the shift leave (fine._TILE_OUT)
                s.total = s.total or nt
                keep = _inlier_tiles(tms, s.dropped, s.total)
                if keep is not None:
                    s.dropped += nt - len(keep)
                    s.layout = (s.layout[0][keep], s.layout[1], s.layout[2])  # type: ignore[index]
                if keep is None and (mag < _TOL or (
                        first and mag < _TOL_FIRST and cl and abs(s.fit.alpha - 1.0) < _SAME_GAIN
                        and abs(s.fit.beta) < _SAME_GAIN)):
                    s.done = True
    out: list[PairResult | None] = []
    for s in st:
        if s.failed or s.fit is None:
            out.append(None)
            continue
        h, w = s.ref.shape
        dx, dy = s.cx, s.cy
        overlap = max(0.0, (w - abs(dx)) * (h - abs(dy)) / (w * h))
        out.append(PairResult(dx if motion != "y" else 0.0, dy if motion != "x" else 0.0,
                              s.fit.zncc, min(overlap, 1.0), s.fit.rms, s.fit.sx, s.fit.sy))
    return out

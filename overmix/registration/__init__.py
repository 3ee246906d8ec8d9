"""Sub-pixel alignment of a scene's frames (DESIGN §4 offsets, §6 "Align").

:func:`align` measures the shift between neighbouring frames and a few longer jumps
(:func:`~overmix.registration.phase.estimate_shift`), then solves all of them jointly
(:func:`~overmix.registration.solve.solve_offsets`) into :class:`~overmix.geometry.Offsets`:
``frame_k(i, j) = frame_0(i + y_k, j + x_k)``, frame 0 at (0, 0), a pan to the right gives
increasing x.

This module only re-exports the public API. The parts, one concept each:

- :mod:`.scene`: the driver (:func:`align_scene`, :func:`align`, :class:`AlignResult`);
- :mod:`.sweep`: one pass over the frames (prepared-frame window, masks, cuts);
- :mod:`.schedule`: which pairs are measured (jumps 1, 2, 4, 8; key frames 16-128);
- :mod:`.groups`: the largest consistent group and the left-out frames;
- :mod:`.bars`: letterbox/pillarbox bars;
- :mod:`.phase`: the shift of one pair (:mod:`.pyramid` preparation, :mod:`.coarse` search,
  :mod:`.tiles` and :mod:`.fine` sub-pixel refinement, sums in :mod:`.refine`, tile votes in
  :mod:`.vote`);
- :mod:`.solve`: the joint robust solve;
- :mod:`.masks`, :mod:`.static`: what does not follow the background; :mod:`.follow`: a camera
  that follows a character (the background's motion when pairs disagree), run by
  :mod:`.follow_scene`;
- :mod:`.transform`, :mod:`.similarity`: zoom and rotation; :mod:`.animation`: animation
  separation.
"""

from __future__ import annotations

from overmix.providers import LumaProvider
from overmix.registration.bars import bars_mask, detect_bars
from overmix.registration.masks import SceneMasks
from overmix.registration.phase import PairResult, estimate_shift
from overmix.registration.scene import AlignResult, align, align_scene
from overmix.registration.schedule import (
    JUMPS,
    KEY_EVERY,
    LONG_JUMPS,
    MIN_JUMP_OVERLAP,
    WINDOW_BUDGET,
    long_jumps_for,
    window_frames,
)
from overmix.registration.solve import Pair, solve_offsets

__all__ = [
    "AlignResult",
    "JUMPS",
    "KEY_EVERY",
    "LONG_JUMPS",
    "MIN_JUMP_OVERLAP",
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
    "long_jumps_for",
    "solve_offsets",
    "window_frames",
]

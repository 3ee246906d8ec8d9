"""The odd-one-out flags of a frame that its pairs' own moving things explain (issue #12,
720p sprite "few"): a flat place of frame k that differs from both frames of a pair only
because both show the inside of their own moving thing there (a head at the top of its bob,
a leg's swing) is background frame k sees, not frame k's moving thing; an outline, or a
place the pair's frames show plain (not inside a moving thing of theirs), stays flagged.

The inputs are built by hand: the pair frames' first masks (flagged samples and the
regions they enclose) and frame k's flags per pair."""

from __future__ import annotations

import numpy as np

from overmix.render.foreground import _explained, _Frame

H, W = 40, 60


def test_flags_explained_by_the_pairs_own_insides_go() -> None:
    # frame k (of 20, pairs at distances 2, 4, 8 -> bits 0, 1, 2): flat grey, one dark line
    y = np.full((H, W), 0.4, np.float32)
    y[:, 40] = 0.05  # an outline (not flat)
    cur = _Frame(y)
    bits = np.zeros((H, W), np.uint8)
    bits[5:15, 5:15] = 1  # flat, flagged by the pair at distance 2 (frames 8 and 12) ...
    bits[20:30, 5:15] = 1  # ... another flat place, same pair
    bits[5:15, 38:43] = 1  # the outline, same pair
    inside = np.zeros((H, W), bool)  # the pair frames' enclosed insides (not flagged there)
    inside[2:18, 2:18] = True
    inside[2:18, 36:45] = True
    plain = np.zeros((H, W), bool)  # where they only flag (their own odd ones out)
    plain[20:30, 5:15] = True

    def first(j: int) -> tuple[np.ndarray, np.ndarray | None]:
        m = inside | plain
        return plain.copy(), (m if j in (8, 12) else None)

    xs = np.zeros((20, 2))  # the background does not move: the places line up
    own = _explained(10, bits, cur, xs, 20, (2, 4, 8), first)
    assert not own[5:15, 5:15].any()  # explained by the pair's insides: background
    assert own[20:30, 5:15].all()  # the pair's frames only flag it: stays
    assert own[5:15, 39:42].all()  # an outline stays flagged
    assert not own[~(bits > 0)].any()  # nothing is added

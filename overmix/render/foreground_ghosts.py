"""Walk-cycle ghosts of the moving-foreground masks (issue #12, 720p sprite "few").

:func:`overmix.render.foreground.moving_foreground` flags a sample of frame k that differs
from both frames of a pair (k - d, k + d). Where a walking character's legs come together,
the frames two either side both show spread legs over background that frame k sees plain:
that background is the odd one out of the pair, a leg-shaped ghost up to ~50 px from the
character at 720p. What tells it from the character's own outline or inside is the pair
frames' evidence: both show the *inside* of their own moving thing there (the flat regions
their flags enclose, grown by :data:`GHOST_REACH` to take in its outline), and both frames
of another pair of frame k (four either side, legs together again) show what frame k does
there. Without that last condition a near plane moving steadily (parallax trunks) lost
its texture wherever a far pair happened to flag nothing (640x360 parallax 10-bit "few"
−4.15 → −5.12 dB; with it −4.17).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from overmix.morph import dilate
from overmix.warp import window

__all__ = ["GHOST_REACH", "ghosts", "insides"]

GHOST_REACH = 2  # px: a pair frame's enclosed inside, grown this far, takes in its outline


def insides(enclosed: np.ndarray | None) -> np.ndarray | None:
    """A frame's enclosed insides (bool (h, w)) grown by :data:`GHOST_REACH` (their
    outline): bool (h, w), or None (nothing found moving)."""
    if enclosed is None or not enclosed.any():
        return None
    return dilate(enclosed, GHOST_REACH)


def ghosts(k: int, bits: np.ndarray, agree: np.ndarray, pairs: list[tuple[int, int]],
           xs: np.ndarray, inner: Callable[[int], np.ndarray | None]) -> np.ndarray:
    """Frame k's walk-cycle ghosts.

    Parameters
    ----------
    bits : ndarray uint8 (h, w)
        Frame k's flags: bit ``i`` set where pair ``i`` flags the sample.
    agree : ndarray uint8 (h, w)
        Bit ``i`` set where both frames of pair ``i`` show what frame k does.
    pairs : list of (int, int)
        Frame k's pairs, in bit order.
    xs : ndarray (count, 2)
        Background offsets (x, y) at the analysis resolution.
    inner : callable ``j -> ndarray bool (h, w) or None``
        Frame j's enclosed insides grown by :data:`GHOST_REACH` (:func:`insides`; None: none).

    Returns
    -------
    ndarray bool (h, w)
        Flagged samples where both frames of every pair that flags them show the inside
        of their own moving thing, and both frames of some pair show what frame k does.
        A thing's own outline is flagged where its pairs show background.
    """
    h, w = bits.shape
    out = (bits > 0) & (agree > 0)
    insides: dict[int, np.ndarray | None] = {}

    def inside(j: int) -> np.ndarray | None:
        if j not in insides:
            m = inner(j)
            t = xs[k] - xs[j]  # frame k's sample (i, c) is frame j's (i + ty, c + tx)
            insides[j] = None if m is None else window(
                m.astype(np.float32), int(round(float(t[1]))), int(round(float(t[0]))),
                h, w) > 0.5
        return insides[j]

    for i, pr in enumerate(pairs):  # every flagging pair shows its own insides there
        by = ((bits >> i) & 1).astype(bool)
        for j in pr:
            if not (out & by).any():
                break
            m = inside(j)
            out &= ~by | (m if m is not None else False)
    return out

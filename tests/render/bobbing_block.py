"""A drawn pan with a block moving slowly against it and bobbing between even and odd
frames (issue #12, the 720p sprite's "few" region), shared by the tests of the weights
beside a moving mask (test_ring_lines, test_soft_rim).

The block is a dark 1 px outline around a flat fill, 1 px per frame to the right on the
canvas. One parity's masks end short of the block's bottom outline (a horizontal outline
slides along itself as the block moves sideways: no pair flags it); the other parity's
masks hold the whole block and a pixel more (the soft edge a redrawn mask keeps).
"""

from __future__ import annotations

import numpy as np

from overmix.color.spec import ChromaLocation, ColorInfo
from overmix.frame import Frame, PlaneLayout
from overmix.geometry import Offsets
from overmix.io.store import FrameStore
from overmix.morph import dilate
from tests.render.scene import frame_planes, to_codes

N, H, W, R = 9, 48, 64, 2
COLOR = ColorInfo(bit_depth=10, chroma_location=ChromaLocation.LEFT)
TAPS = 4  # the cubic kernel
INK = 0.05

Planes = tuple[np.ndarray, ...]


def bobbing_block(bob: float, short: int) -> tuple[np.ndarray, list[np.ndarray],
                                                   list[np.ndarray], list[np.ndarray],
                                                   list[Planes]]:
    """Offsets (N, 2); per frame the block's fill, its outline and its mask (bool (H, W));
    the clean frames' working planes. ``bob``: px the odd frames sit lower (negative:
    higher); ``short``: the parity (0 even, 1 odd) whose masks miss the bottom outline."""
    xy = np.stack([np.arange(N) * 3.0, np.arange(N) * 1.0], axis=1)
    yy, xx = np.mgrid[0:H, 0:W]
    fills, inks, masks, clean = [], [], [], []
    for k, (x, y) in enumerate(xy):
        cx, cy = 14.0 + k - x, 22.0 - y + bob * (k % 2)
        block = (xx >= cx) & (xx < cx + 28) & (yy >= cy) & (yy < cy + 16)
        fill = (xx >= cx + 1) & (xx < cx + 27) & (yy >= cy + 1) & (yy < cy + 15)
        masks.append(block & (yy < cy + 15) if k % 2 == short else dilate(block, 1))
        fills.append(fill)
        inks.append(block & ~fill)
        clean.append(frame_planes(20.0 + x, 20.0 + y, H, W))
    return xy, fills, inks, masks, clean


def store(planes: list[Planes], fills: list[np.ndarray] | None = None,
          inks: list[np.ndarray] | None = None, fill: float = 0.6) -> FrameStore:
    """The frames as 10-bit codes; with ``fills``/``inks`` the block drawn in them."""
    frames = []
    for k, p in enumerate(planes):
        lum, cb, cr = (a.copy() for a in p)
        if fills is not None and inks is not None:
            lum[fills[k]] = fill
            lum[inks[k]] = INK
        frames.append(Frame(to_codes((lum, cb, cr), 10), PlaneLayout(), COLOR, index=k))
    return FrameStore.from_frames(frames)


def unseen_outline(xy: np.ndarray, inks: list[np.ndarray], masks: list[np.ndarray],
                   off: Offsets, parity: int, shape: tuple[int, int]) -> np.ndarray:
    """Canvas places (bool ``shape``, the rendered canvas's) that an unmasked bottom outline of the
    ``parity`` frames lies on and that no frame sees clean off the rings beside the masks."""
    cv = off.canvas
    outline = np.zeros(shape, bool)
    seen = np.zeros_like(outline)
    for k in range(N):
        y, x = int(round(xy[k, 1] - cv.y)), int(round(xy[k, 0] - cv.x))
        if k % 2 == parity:
            outline[y:y + H, x:x + W] |= inks[k] & ~masks[k]
        seen[y:y + H, x:x + W] |= ~dilate(masks[k], 3)
    return outline & ~seen

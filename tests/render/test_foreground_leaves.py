"""A flat region that leaves the frame between moving outlines (issue #12): the gap between
the stems of a letter rising over the bottom border of a downward pan is background, seen
again by a frame far in time in the part of it that frame reaches, and is not masked as
the inside of the letter.

The truth is the generator's: the letter's stems and arch (white in a dark outline), and the
gap between them that shows the background.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from overmix.render.foreground import moving_foreground

H, W, N = 120, 160, 40
PAN = (0.6, 0.5)  # px per frame (x, y), the camera: down, so the bottom border is new
SCROLL = 1.5  # px per frame, the letter rising on screen
GAP = (70, 90)  # columns of the gap between the stems (frame coordinates)


def _scene() -> tuple[list[np.ndarray], np.ndarray, list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(3)
    # flat drawn background: grey, with discs of other greys (a drawn background's flat
    # regions are what the gap shows)
    wy, wx = np.mgrid[0:H + 40, 0:W + 40]
    world = np.full((H + 40, W + 40), 0.5)
    for _ in range(12):
        cy, cx, r = rng.uniform(0, H + 40), rng.uniform(0, W + 40), rng.uniform(8, 25)
        world[(wy - cy) ** 2 + (wx - cx) ** 2 < r * r] = rng.uniform(0.25, 0.7)
    xy = np.array([[PAN[0] * k, PAN[1] * k] for k in range(N)])
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    frames, letter, gap = [], [], []
    for k in range(N):
        y = ndimage.map_coordinates(world, [yy + 4 + xy[k, 1], xx + 4 + xy[k, 0]], order=3)
        top = 130 - SCROLL * k  # the arch's top row: the letter enters from below
        # an arch over two stems, 8 px wide, 60 px tall (beyond the frame's bottom)
        outer = (xx >= GAP[0] - 8) & (xx < GAP[1] + 8) & (yy >= top) & (yy < top + 60)
        hole = (xx >= GAP[0]) & (xx < GAP[1]) & (yy >= top + 8)
        shape = outer & ~hole
        # a line of text above, always on screen (a frame with nothing moving tells nothing)
        shape |= (xx >= 20) & (xx < 44) & (yy >= 40 - SCROLL * k) & (yy < 250 - SCROLL * k)
        fill = ndimage.binary_erosion(shape, iterations=2)
        y = np.where(shape, 0.05, y)
        y = np.where(fill, 0.97, y)
        frames.append(y.astype(np.float32))
        letter.append(shape & (xx >= GAP[0] - 8))
        gap.append(outer & hole)
    return frames, xy, letter, gap


def test_gap_between_stems_at_the_bottom_border_is_background() -> None:
    frames, xy, letter, gap = _scene()
    masks = moving_foreground(lambda k: frames[k], N, xy)
    # the gap reaches the bottom border, and the frame 24 back (before the letter entered)
    # sees the upper half of it clean
    ks = [k for k in range(28, 32) if gap[k][-1].any()]
    assert len(ks) == 4
    hit = lost = seen = 0
    for k in ks:
        m = masks[k]
        assert m is not None
        # the letter stays masked, and the gap (off its outline's soft edge) is not
        hit += int((m & letter[k]).sum())
        inner = ndimage.binary_erosion(gap[k], iterations=2, border_value=1)
        lost += int((m & inner).sum())
        seen += int(inner.sum())
    assert hit >= 0.9 * sum(int(letter[k].sum()) for k in ks)
    assert seen > 1000
    assert lost <= 0.1 * seen, (lost, seen)

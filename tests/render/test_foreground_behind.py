"""Background seen between a moving letter's stems and through its counter (issue #12): at
720p the moving-foreground analysis runs on frames reduced by 2, and its masks close the
gap of a few pixels between two stems and take a letter's counter as its inside. The
redrawn masks give those flat parts back where their colour is the background's around the
letter and the frames that see their scene points off their own masks agree.

The truth is the generator's: the letters (white in a dark outline) per frame, and the gap
and counter that show the flat background.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from overmix.render.foreground import moving_foreground
from overmix.render.foreground_edges import redraw_moving

H, W, N = 160, 240, 24
PAN = 1.2  # px per frame, the camera (x)
SCROLL = 1.5  # px per frame, the letters rising on screen
R = 2  # the analysis reduction of a 1280-column frame


def _box(yy: np.ndarray, xx: np.ndarray, y0: float, y1: float, x0: float,
         x1: float) -> np.ndarray:
    return (yy >= y0) & (yy < y1) & (xx >= x0) & (xx < x1)


def _scene() -> tuple[list[np.ndarray], np.ndarray, list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(5)
    # a drawn background: flat greys, discs of other greys
    wy, wx = np.mgrid[0:H + 20, 0:W + 60]
    world = np.full(wy.shape, 0.55)
    for _ in range(10):
        cy, cx, r = rng.uniform(0, H + 20), rng.uniform(0, W + 60), rng.uniform(10, 30)
        world[(wy - cy) ** 2 + (wx - cx) ** 2 < r * r] = rng.uniform(0.25, 0.45)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    xy = np.array([[PAN * k, 0.0] for k in range(N)])
    frames, letters, behind = [], [], []
    for k in range(N):
        y = ndimage.map_coordinates(world, [yy + 10, xx + 10 + xy[k, 0]], order=0)
        top = 60 - np.floor(SCROLL * k)
        # an 'n': two stems 9 px wide with a 5 px gap, an arch over them; an 'o': a ring
        # with a 7 px counter
        n_shape = _box(yy, xx, top, top + 40, 100, 123) & \
            ~_box(yy, xx, top + 9, top + 40, 109, 114)
        gap = _box(yy, xx, top + 9, top + 40, 109, 114)
        o_shape = _box(yy, xx, top + 10, top + 40, 140, 163) & \
            ~_box(yy, xx, top + 19, top + 31, 149, 154)
        hole = _box(yy, xx, top + 19, top + 31, 149, 154)
        shape = n_shape | o_shape
        fill = ndimage.binary_erosion(shape, iterations=2)
        y = np.where(shape, 0.05, y)
        y = np.where(fill, 0.97, y)
        frames.append(y.astype(np.float32))
        letters.append(shape)
        behind.append(gap | hole)
    return frames, xy, letters, behind


def _reduce(y: np.ndarray) -> np.ndarray:
    return y.reshape(H // R, R, W // R, R).mean(axis=(1, 3))


def test_gap_between_stems_and_counter_given_back() -> None:
    frames, xy, letters, behind = _scene()
    small = [_reduce(f) for f in frames]
    found = moving_foreground(lambda k: small[k], N, xy, reduce=R)
    crops = redraw_moving(found, R, lambda k: frames[k], xy, (H, W))
    hit = total = lost = seen = 0
    for k in range(6, N - 6):
        c = crops[k]
        assert c is not None
        m = c.full((H, W))
        hit += int((m & letters[k]).sum())
        total += int(letters[k].sum())
        # the gap and the counter, off the outline's soft edge
        inner = ndimage.binary_erosion(behind[k], iterations=1)
        lost += int((m & inner).sum())
        seen += int(inner.sum())
    assert hit >= 0.97 * total, (hit, total)
    assert seen > 1000
    # old code: 1330 of 1404 masked (the counters all given back now, the gaps in part:
    # some views see another grey of the background there)
    assert lost <= 0.75 * seen, (lost, seen)

"""Beside a moving mask, a line of the frame weighs less than a flat sample
(``overmix.render.clean_masks.ring_lines``, ``CleanPlan.frame_weights(luma=...)``; issue
#12: the 720p sprite's "few" region).

Generated: a drawn pan (tests/render/scene.py) with a block moving slowly against it, a
dark 1 px outline around a flat fill, bobbing 2 px between even and odd frames. The even
frames' masks end short of the block's bottom outline (a horizontal outline slides along
itself as the block moves sideways: no pair flags it); the odd frames' masks hold the whole
block and a pixel more. Where an even frame's bottom outline lies, the odd frames see the
background a pixel off their masks: both views are in the ring beside a mask (NEAR), the
outline is a line there, the background is not.
"""

from __future__ import annotations

import numpy as np

from overmix.color.spec import ChromaLocation, ColorInfo
from overmix.frame import Frame, PlaneLayout
from overmix.geometry import Offsets
from overmix.io.store import FrameStore
from overmix.morph import dilate
from overmix.render.clean_masks import ring_lines
from overmix.render.stack import render
from tests.render.moving_plan import moving_plan
from tests.render.scene import frame_planes, to_codes

N, H, W, R = 9, 48, 64, 2
COLOR = ColorInfo(bit_depth=10, chroma_location=ChromaLocation.LEFT)
TAPS = 4  # the cubic kernel
FILL, INK = 0.6, 0.05


def _scene() -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray], list[np.ndarray],
                      list[tuple[np.ndarray, ...]]]:
    """Offsets (N, 2); per frame the block's fill, its outline and its mask (bool (H, W));
    the clean frames' working planes."""
    xy = np.stack([np.arange(N) * 3.0, np.arange(N) * 1.0], axis=1)
    yy, xx = np.mgrid[0:H, 0:W]
    fills, inks, masks, clean = [], [], [], []
    for k, (x, y) in enumerate(xy):
        # 1 px per frame to the right on the canvas, the odd frames 2 px higher
        cx, cy = 14.0 + k - x, 22.0 - y - 2.0 * (k % 2)
        block = (xx >= cx) & (xx < cx + 28) & (yy >= cy) & (yy < cy + 16)
        fill = (xx >= cx + 1) & (xx < cx + 27) & (yy >= cy + 1) & (yy < cy + 15)
        ink = block & ~fill
        if k % 2 == 0:  # all but the bottom outline row
            m = block & (yy < cy + 15)
        else:
            m = dilate(block, 1)
        fills.append(fill)
        inks.append(ink)
        masks.append(m)
        clean.append(frame_planes(20.0 + x, 20.0 + y, H, W))
    return xy, fills, inks, masks, clean


def _dirty(clean: list[tuple[np.ndarray, ...]], fills: list[np.ndarray],
           inks: list[np.ndarray]) -> FrameStore:
    frames = []
    for k, planes in enumerate(clean):
        lum, cb, cr = (p.copy() for p in planes)
        lum[fills[k]] = FILL
        lum[inks[k]] = INK
        frames.append(Frame(to_codes((lum, cb, cr), 10), PlaneLayout(), COLOR, index=k))
    return FrameStore.from_frames(frames)


def test_ring_lines_are_the_outline_the_mask_ends_short_of() -> None:
    xy, fills, inks, masks, clean = _scene()
    with _dirty(clean, fills, inks) as ds:
        k = 0
        y = ds.luma(k)
        ring = dilate(masks[k], 2) & ~masks[k]
        got = ring_lines(y, ring)
    assert not (got & ~ring).any()
    missed = inks[k] & ~masks[k]  # the bottom outline row
    assert missed.sum() >= 20 and got[missed].all()
    # the ring's background two pixels below the outline: flat (the drawn pan's own lines
    # aside, which no other sample beside them is flatter than)
    below = ring & ~dilate(inks[k], 1)
    assert below.sum() >= 20 and got[below].mean() < 0.25


def test_the_background_beside_a_mask_beats_the_outline_there() -> None:
    xy, fills, inks, masks, clean = _scene()
    off = Offsets(xy, list(range(N)), W, H)
    rows = {k: k for k in range(N)}
    with FrameStore.from_frames([Frame(to_codes(c, 10), PlaneLayout(), COLOR, index=k)
                                 for k, c in enumerate(clean)]) as cs, \
            _dirty(clean, fills, inks) as ds:
        ref = render(cs, off).planes[0]
        old = render(ds, off, frame_weights=moving_plan(xy, masks, R).frame_weights(
            rows, "remove", TAPS, xy)).planes[0]
        new = render(ds, off, frame_weights=moving_plan(xy, masks, R).frame_weights(
            rows, "remove", TAPS, xy, ds.luma)).planes[0]
    # canvas places an even frame's unmasked bottom outline lies on, that no frame sees
    # clean off the rings beside the masks
    cv = off.canvas
    outline = np.zeros(ref.shape, bool)
    full = np.zeros(ref.shape, bool)
    for k in range(N):
        y, x = int(round(xy[k, 1] - cv.y)), int(round(xy[k, 0] - cv.x))
        if k % 2 == 0:
            outline[y:y + H, x:x + W] |= inks[k] & ~masks[k]
        full[y:y + H, x:x + W] |= ~dilate(masks[k], 3)
    place = outline & ~full
    assert place.sum() >= 20
    err_old = np.abs(old - ref)[place]
    err_new = np.abs(new - ref)[place]
    assert np.median(err_old) > 0.08, np.median(err_old)  # the outline blended in
    assert np.median(err_new) < 0.5 * np.median(err_old), (np.median(err_new),
                                                           np.median(err_old))
    # elsewhere nothing gets worse
    assert (np.abs(new - ref) - np.abs(old - ref))[~place].max() < 0.02

"""A moving mask's soft edge over the background beats the outline of the other pose there
(``overmix.render.clean_masks.soft_rim``, ``CleanPlan.frame_weights(luma=...)``; issue #12:
the 720p sprite's "few" region, a bobbing character's shoulder beside its neck).

Generated: a drawn pan (tests/render/scene.py) with a block moving slowly against it, a
dark 1 px outline around a flat fill, the odd frames a pixel lower than the even ones. The
even frames' masks hold the block and a pixel more (the soft edge a redrawn mask keeps past
an outline); the odd frames' masks end short of the block's bottom outline (a horizontal
outline sliding along itself: no pair flags it). Where an odd frame's bottom outline lies,
the even frames see the background, on the last pixel of their masks: no frame sees it
clean off the masks, the outline is in the ring beside a mask (NEAR_LINE).
"""

from __future__ import annotations

import numpy as np

from overmix.color.spec import ChromaLocation, ColorInfo
from overmix.frame import Frame, PlaneLayout
from overmix.geometry import Offsets
from overmix.io.store import FrameStore
from overmix.morph import dilate
from overmix.render.clean_masks import soft_rim
from overmix.render.stack import render
from tests.render.moving_plan import moving_plan
from tests.render.scene import frame_planes, to_codes

N, H, W, R = 9, 48, 64, 2
COLOR = ColorInfo(bit_depth=10, chroma_location=ChromaLocation.LEFT)
TAPS = 4  # the cubic kernel
FILL, INK = 0.98, 0.05


def _scene() -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray], list[np.ndarray],
                      list[tuple[np.ndarray, ...]]]:
    """Offsets (N, 2); per frame the block's fill, its outline and its mask (bool (H, W));
    the clean frames' working planes."""
    xy = np.stack([np.arange(N) * 3.0, np.arange(N) * 1.0], axis=1)
    yy, xx = np.mgrid[0:H, 0:W]
    fills, inks, masks, clean = [], [], [], []
    for k, (x, y) in enumerate(xy):
        # 1 px per frame to the right on the canvas, the odd frames 1 px lower
        cx, cy = 14.0 + k - x, 22.0 - y + (k % 2)
        block = (xx >= cx) & (xx < cx + 28) & (yy >= cy) & (yy < cy + 16)
        fill = (xx >= cx + 1) & (xx < cx + 27) & (yy >= cy + 1) & (yy < cy + 15)
        m = dilate(block, 1) if k % 2 == 0 else block & (yy < cy + 15)
        fills.append(fill)
        inks.append(block & ~fill)
        masks.append(m)
        clean.append(frame_planes(20.0 + x, 20.0 + y, H, W))
    return xy, fills, inks, masks, clean


def _store(planes: list[tuple[np.ndarray, ...]], fills: list[np.ndarray] | None = None,
           inks: list[np.ndarray] | None = None) -> FrameStore:
    frames = []
    for k, p in enumerate(planes):
        lum, cb, cr = (a.copy() for a in p)
        if fills is not None and inks is not None:
            lum[fills[k]] = FILL
            lum[inks[k]] = INK
        frames.append(Frame(to_codes((lum, cb, cr), 10), PlaneLayout(), COLOR, index=k))
    return FrameStore.from_frames(frames)


def test_soft_rim_is_the_masks_last_pixel_over_the_background() -> None:
    xy, fills, inks, masks, clean = _scene()
    with _store(clean, fills, inks) as ds:
        got = [soft_rim(ds.luma(k), masks[k]) for k in range(2)]
    edge = masks[0] & ~(fills[0] | inks[0])  # the even mask's pixel past the block
    assert not (got[0] & ~masks[0]).any() and not (got[0] & (fills[0] | inks[0])).any()
    # the drawn pan's own lines aside (a pixel there is like no flat one beside it)
    assert edge.sum() >= 80 and got[0][edge].mean() > 0.75
    # the odd mask ends on the block's fill and outline: none of it is the background's
    assert not got[1].any()


def test_the_soft_edge_beats_the_outline_of_the_other_pose() -> None:
    xy, fills, inks, masks, clean = _scene()
    off = Offsets(xy, list(range(N)), W, H)
    rows = {k: k for k in range(N)}
    with _store(clean) as cs, _store(clean, fills, inks) as ds:
        ref = render(cs, off).planes[0]
        got = render(ds, off, frame_weights=moving_plan(xy, masks, R).frame_weights(
            rows, "remove", TAPS, xy, ds.luma)).planes[0]
    # canvas places an odd frame's unmasked bottom outline lies on, that no frame sees
    # clean off the rings beside the masks
    cv = off.canvas
    outline = np.zeros(ref.shape, bool)
    seen = np.zeros(ref.shape, bool)
    for k in range(N):
        y, x = int(round(xy[k, 1] - cv.y)), int(round(xy[k, 0] - cv.x))
        if k % 2 == 1:
            outline[y:y + H, x:x + W] |= inks[k] & ~masks[k]
        seen[y:y + H, x:x + W] |= ~dilate(masks[k], 3)
    place = outline & ~seen
    assert place.sum() >= 20
    ink = np.abs(INK - ref[place])  # the outline shown there instead
    err = np.abs(got - ref)[place]
    # main before soft_rim: the outline alone (median error 1.00 of the outline's; 0.29 with)
    assert np.median(err) < 0.5 * np.median(ink), (np.median(err), np.median(ink))

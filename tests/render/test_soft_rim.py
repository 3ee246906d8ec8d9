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

from overmix.commands.clean_plan import MOVING_SOFT
from overmix.frame import Frame, PlaneLayout
from overmix.geometry import Offsets
from overmix.io.store import FrameStore
from overmix.morph import dilate
from overmix.render.clean_masks import soft_rim
from overmix.render.fixed_edges import Crop
from overmix.render.stack import render
from tests.render.bobbing_block import (
    COLOR,
    INK,
    TAPS,
    H,
    N,
    R,
    W,
    bobbing_block,
    store,
    unseen_outline,
)
from tests.render.moving_plan import moving_plan
from tests.render.scene import frame_planes, to_codes

FILL = 0.98


def test_soft_rim_is_the_masks_last_pixel_over_the_background() -> None:
    xy, fills, inks, masks, clean = bobbing_block(1.0, 1)
    with store(clean, fills, inks, FILL) as ds:
        got = [soft_rim(ds.luma(k), masks[k]) for k in range(2)]
    edge = masks[0] & ~(fills[0] | inks[0])  # the even mask's pixel past the block
    assert not (got[0] & ~masks[0]).any() and not (got[0] & (fills[0] | inks[0])).any()
    # the drawn pan's own lines aside (a pixel there is like no flat one beside it)
    assert edge.sum() >= 80 and got[0][edge].mean() > 0.75
    # the odd mask ends on the block's fill and outline: none of it is the background's
    assert not got[1].any()


def test_the_soft_edge_beats_the_outline_of_the_other_pose() -> None:
    xy, fills, inks, masks, clean = bobbing_block(1.0, 1)
    off = Offsets(xy, list(range(N)), W, H)
    rows = {k: k for k in range(N)}
    with store(clean) as cs, store(clean, fills, inks, FILL) as ds:
        ref = render(cs, off).planes[0]
        got = render(ds, off, frame_weights=moving_plan(xy, masks, R).frame_weights(
            rows, "remove", TAPS, xy, ds.luma)).planes[0]
    # canvas places an odd frame's unmasked bottom outline lies on, that no frame sees
    # clean off the rings beside the masks
    place = unseen_outline(xy, inks, masks, off, 1, ref.shape)
    assert place.sum() >= 20
    ink = np.abs(INK - ref[place])  # the outline shown there instead
    err = np.abs(got - ref)[place]
    # main before soft_rim: the outline alone (median error 1.00 of the outline's; 0.29 with)
    assert np.median(err) < 0.5 * np.median(ink), (np.median(err), np.median(ink))


def test_a_mask_cut_beside_a_subtitle_has_no_soft_edge_there() -> None:
    """A character whose legs reach a subtitle line: its moving part joins the line's and is
    left to the redrawn text (``defer_to_fixed``) but for the piece above it, whose mask ends
    on the character's flat fill a reduced sample above the text. That last pixel is the
    character, like the fill beyond it: no view of the background (640x360 slow subsprite)."""
    n, h, w = 9, 48, 64
    xy = np.stack([np.arange(n) * 3.0, np.arange(n) * 1.0], axis=1)
    yy, xx = np.mgrid[0:h, 0:w]
    text = (yy >= 32) & (yy < 40) & (xx >= 6) & (xx < 58)  # screen-fixed, redrawn
    frames, blocks, masks = [], [], []
    for k, (x, y) in enumerate(xy):
        block = (yy >= 12) & (yy < 36) & (xx >= 20 + k) & (xx < 36 + k)
        fill = (yy >= 13) & (yy < 35) & (xx >= 21 + k) & (xx < 35 + k)
        lum, cb, cr = (a.copy() for a in frame_planes(20.0 + x, 20.0 + y, h, w))
        lum[block] = INK
        lum[fill] = 0.6
        lum[text] = 0.92
        frames.append(Frame(to_codes((lum, cb, cr), 10), PlaneLayout(), COLOR, index=k))
        blocks.append(block)
        masks.append(dilate(block, 1) | text)  # the line's change joins the legs
    plan = moving_plan(xy, masks, R)
    plan.fixed = [Crop.tight(text)] * n
    with FrameStore.from_frames(frames) as ds:
        weights = plan.frame_weights({k: k for k in range(n)}, "remove", TAPS, xy, ds.luma)
        got = [weights(k) for k in range(n)]
    cut = soft = 0
    for k in range(n):
        own = plan._moving(k)
        assert own is not None and not (own & text).any()
        # the piece kept ends a reduced sample above the text, on the character
        last = own & ~np.roll(own, -1, axis=0) & (yy >= 24) & blocks[k]
        assert last.sum() == 16 and not (last & dilate(text, R - 1)).any()
        cut += int((got[k][last] >= MOVING_SOFT).sum())
        # its soft edge over the background above the character stays
        top = own & ~blocks[k] & (yy < 12)
        soft += int((got[k][top] >= MOVING_SOFT).sum())
    # main before the edge of all the masks: 126 of the 144 cut pixels raised
    assert cut == 0, cut
    assert soft >= 0.5 * 18 * n, soft

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

from overmix.geometry import Offsets
from overmix.render.clean_masks import soft_rim
from overmix.render.stack import render
from tests.render.bobbing_block import INK, TAPS, H, N, R, W, bobbing_block, store, unseen_outline
from tests.render.moving_plan import moving_plan

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

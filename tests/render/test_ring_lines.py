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

from overmix.geometry import Offsets
from overmix.morph import dilate
from overmix.render.clean_masks import ring_lines
from overmix.render.stack import render
from tests.render.bobbing_block import TAPS, H, N, R, W, bobbing_block, store, unseen_outline
from tests.render.moving_plan import moving_plan


def test_ring_lines_are_the_outline_the_mask_ends_short_of() -> None:
    xy, fills, inks, masks, clean = bobbing_block(-2.0, 0)
    with store(clean, fills, inks) as ds:
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
    xy, fills, inks, masks, clean = bobbing_block(-2.0, 0)
    off = Offsets(xy, list(range(N)), W, H)
    rows = {k: k for k in range(N)}
    with store(clean) as cs, store(clean, fills, inks) as ds:
        ref = render(cs, off).planes[0]
        old = render(ds, off, frame_weights=moving_plan(xy, masks, R).frame_weights(
            rows, "remove", TAPS, xy)).planes[0]
        new = render(ds, off, frame_weights=moving_plan(xy, masks, R).frame_weights(
            rows, "remove", TAPS, xy, ds.luma)).planes[0]
    # canvas places an even frame's unmasked bottom outline lies on, that no frame sees
    # clean off the rings beside the masks
    place = unseen_outline(xy, inks, masks, off, 0, ref.shape)
    assert place.sum() >= 20
    err_old = np.abs(old - ref)[place]
    err_new = np.abs(new - ref)[place]
    assert np.median(err_old) > 0.08, np.median(err_old)  # the outline blended in
    assert np.median(err_new) < 0.5 * np.median(err_old), (np.median(err_new),
                                                           np.median(err_old))
    # elsewhere nothing gets worse
    assert (np.abs(new - ref) - np.abs(old - ref))[~place].max() < 0.02

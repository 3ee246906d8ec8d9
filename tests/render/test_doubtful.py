"""Places no frame sees at full weight beside a moving thing: the views that continue the
background beside them win over a count of the thing's outline (``overmix.render.doubtful``,
``overmix.commands.clean_doubt.doubt_weights``; issue #12: the 720p sprite's "few" region).

Generated: a drawn pan (tests/render/scene.py) with a block moving slowly against it, a
dark 1 px outline around a flat fill, the odd frames a pixel lower than the even ones
(tests/render/bobbing_block.py). The odd frames' masks end short of the block's bottom
outline, which lies in the low-weight ring beside their masks; the even frames see the
background there on the last pixel of their masks only (their soft rim). No frame sees
those places at full weight, and the odd frames' outline outnumbers the even frames' clean
views.
"""

from __future__ import annotations

import numpy as np

from overmix.commands.clean_doubt import doubt_weights
from overmix.geometry import Offsets
from overmix.render.doubtful import doubtful_places
from overmix.render.stack import render
from tests.render.bobbing_block import INK, TAPS, H, N, R, W, bobbing_block, store, unseen_outline
from tests.render.moving_plan import moving_plan

FILL = 0.98


def test_views_that_continue_the_background_win() -> None:
    xy, fills, inks, masks, clean = bobbing_block(1.0, 1)
    off = Offsets(xy, list(range(N)), W, H)
    rows = {k: k for k in range(N)}
    with store(clean) as cs, store(clean, fills, inks, FILL) as ds:
        ref = render(cs, off).planes[0]
        plan = moving_plan(xy, masks, R)
        weights = plan.frame_weights(rows, "remove", TAPS, xy, ds.luma)
        first = render(ds, off, frame_weights=weights)
        decided = doubt_weights(weights, rows, off, plan.moving_mask, ds.luma,
                                first.planes[0], first.coverage)
        assert decided is not None
        got = render(ds, off, frame_weights=decided).planes[0]
    place = unseen_outline(xy, inks, masks, off, 1, ref.shape)
    assert place.sum() >= 20
    ink = np.median(np.abs(INK - ref[place]))  # the outline shown there instead
    before = np.median(np.abs(first.planes[0] - ref)[place])
    after = np.median(np.abs(got - ref)[place])
    # main: 0.29 of the outline's (the soft rim's 4e-3 against the outline's 2e-3s); 0.00
    assert before > 0.2 * ink and after < 0.05 * ink, (before, after, ink)
    # the places some frame sees at full weight are left as they were
    sure = first.coverage >= 0.5
    assert np.abs(got - first.planes[0])[sure].max() < 0.02


def test_no_doubt_where_every_place_is_seen_at_full_weight() -> None:
    y = np.full((8, 8), 0.5, np.float32)
    assert doubtful_places(y, np.ones((8, 8), np.float32)) is None
    cov = np.ones((8, 8), np.float32)
    cov[:, :4] = 1e-3  # a strip no frame sees at full weight: only the 3 px beside count
    got = doubtful_places(y, cov, reach=3)
    assert got is not None
    place = np.zeros((8, 8), bool)
    place[got.y0:got.y0 + got.place.shape[0], got.x0:got.x0 + got.place.shape[1]] = got.place
    assert place[:, 1:4].all() and not place[:, 0].any() and not place[:, 4:].any()

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


def _across_a_line() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A canvas (40 x 60) whose background has two colours across a dark line (a circle's
    outline at column 19): 0.6 left of it, 0.35 right. Columns 19-40 below row 6 are seen at
    full weight by no frame; the rest is. Returns the first render's Y' and summed weights,
    a frame that sees the background there and one that shows a flat block of 0.62 (near
    the left colour, inside a dark outline) over columns 21-45, rows 10-35."""
    bg = np.full((40, 60), 0.35, np.float32)
    bg[:, :19] = 0.6
    bg[:, 19] = 0.1
    cov = np.ones((40, 60), np.float32)
    cov[6:, 19:41] = 1e-3
    thing = bg.copy()
    thing[10:36, 21:46] = 0.1
    thing[11:35, 22:45] = 0.62
    return bg.copy(), cov, bg, thing


def test_flat_region_judged_on_its_own_sure_places() -> None:
    from overmix.render.doubtful import background_views
    from overmix.render.foreground import LEVEL

    y, cov, clean, thing = _across_a_line()
    doubt = doubtful_places(y, cov)
    assert doubt is not None
    near = np.ones(y.shape, bool)
    low = np.zeros(y.shape, bool)
    low[6:, 21:41] = True  # the flat places right of the line no frame sees at full weight
    got = background_views(doubt, clean, (0, 0), near, LEVEL)
    assert got is not None
    views, like = got
    # the frame's flat region right of the line holds sure places of its colour: its views
    # continue the background, the deep ones (over REACH from every sure place) too
    assert like[low].all(), int((~like & low).sum())
    got = background_views(doubt, thing, (0, 0), near, LEVEL)
    assert got is not None
    block = np.zeros(y.shape, bool)
    block[12:34, 23:44] = True  # the flat fill (its samples beside the outline are not)
    # the block's flat fill holds sure places (columns 41-44) of another colour: its views
    # do not continue the background, though the nearest sure place (left of the line,
    # 0.6) lies within LEVEL of it
    assert not got[1][block & low].any()
    assert np.abs(0.62 - 0.6) <= LEVEL
    # judged on the nearest sure place alone, the block beside the line continues the
    # background and the clean views there do not
    old = doubtful_places(y, cov)
    assert old is not None
    old.sure = old.y = old.deep = None
    assert background_views(old, thing, (0, 0), near, LEVEL)[1][block & low].any()
    assert not background_views(old, clean, (0, 0), near, LEVEL)[1][low].all()

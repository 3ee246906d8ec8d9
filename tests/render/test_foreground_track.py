"""How far the moving content moves against the background, and how many end frames take a
neighbour's mask (``render.foreground_track``, issue #12: slow pans). Generated frames: a
flat-cel background panned by whole pixels and a dark-outlined light box moving on its own,
at a known speed against the background."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from overmix.render.foreground import TRACK_FROM
from overmix.render.foreground_track import (
    ENOUGH,
    MOVE,
    content_speed,
    held_share,
    track_depth,
)

H, W = 120, 200


def _frame(rng_world: np.ndarray, bg_x: int, box_x: int) -> tuple[np.ndarray, np.ndarray]:
    y = rng_world[:, bg_x:bg_x + W].copy()
    box = np.zeros((H, W), bool)
    box[40:90, box_x:box_x + 40] = True
    ring = ndimage.binary_dilation(box, iterations=2) & ~box
    y[box] = 0.9
    y[ring] = 0.05
    return y.astype(np.float32), box | ring


def _world() -> np.ndarray:
    rng = np.random.default_rng(5)
    noise = ndimage.gaussian_filter(rng.uniform(0, 1, (H, W + 80)), 4.0)
    return (0.2 + 0.1 * np.digitize(noise, np.quantile(noise, [0.2, 0.4, 0.6, 0.8])))


def test_the_speed_against_the_background_is_measured() -> None:
    world = _world()
    # the camera pans 3 px per frame to the right (the background moves 3 px left on
    # screen), the box moves 2 px per frame to the left on screen: 1 px per frame against
    # the background, 8 frames apart
    src, mask = _frame(world, 10, 120)
    dst, _ = _frame(world, 10 + 24, 120 - 16)
    v = content_speed(mask, src, dst, np.array([-24.0, 0.0]), 8, radius=60)
    assert v is not None and abs(v - 1.0) < 0.05, v
    # the same box moving with the background does not move against it
    dst, _ = _frame(world, 10 + 24, 120 - 24)
    v = content_speed(mask, src, dst, np.array([-24.0, 0.0]), 8, radius=60)
    assert v is not None and v < 0.05, v


def test_the_ends_go_as_deep_as_the_travel_needs() -> None:
    world = _world()
    src, mask = _frame(world, 10, 120)
    depths = {}
    for rel in (2, 4, 6):  # px against the background over 8 frames
        dst, _ = _frame(world, 10 + 24, 120 - 24 + rel)
        depths[rel] = track_depth(mask, src, dst, np.array([-24.0, 0.0]), 8,
                                  least=TRACK_FROM, most=8, radius=8)
    # 0.75 px per frame: two frames see 1.5 px, enough (ENOUGH); 0.25 px per frame: the
    # depth whose pairs see MOVE px, ceil(2.5 / 0.25) = 10, at most 8
    assert 0.75 * TRACK_FROM >= ENOUGH
    assert depths[6] == TRACK_FROM
    assert depths[4] == 5  # 0.5 px per frame: ceil(2.5 / 0.5)
    assert 0.25 * TRACK_FROM < ENOUGH and MOVE / 0.25 > 8
    assert depths[2] == 8
    # nothing to follow: the least depth
    assert track_depth(None, src, src, np.zeros(2), 8, least=TRACK_FROM, most=8,
                       radius=8) == TRACK_FROM


def test_a_piece_that_keeps_its_screen_place_sets_no_depth() -> None:
    world = _world()
    # a slow pan (3 px over 8 frames) under a box that stays put on screen (a logo the
    # odd-one-out test flagged): screen-fixed, not a slow character, so the least depth
    src, mask = _frame(world, 10, 120)
    dst, _ = _frame(world, 13, 120)
    assert content_speed(mask, src, dst, np.array([-3.0, 0.0]), 8, radius=10) is None
    assert track_depth(mask, src, dst, np.array([-3.0, 0.0]), 8, least=TRACK_FROM, most=8,
                       radius=8) == TRACK_FROM
    # the same box moving 3 px on screen against a background moving 3 px the other way is
    # a character at 0.75 px per frame
    dst, _ = _frame(world, 13, 123)
    v = content_speed(mask, src, dst, np.array([-3.0, 0.0]), 8, radius=10)
    assert v is not None and abs(v - 0.75) < 0.05, v


def test_a_flat_part_that_matches_in_place_as_well_as_anywhere_sets_no_depth() -> None:
    # the flat inside of a box that stays put on screen while the background pans 24 px
    # over 8 frames (part of a logo the odd-one-out test flagged at the default step):
    # it matches in place as well as anywhere within the box, and a shift away from its
    # place had set a speed against the background (the start 5 frames deep, the 640x360
    # logo's few region -1.42 -> -1.99 dB)
    world = _world()
    src, _ = _frame(world, 10, 80)
    dst, _ = _frame(world, 34, 80)
    inside = np.zeros((H, W), bool)
    inside[50:80, 90:110] = True  # 10 px from the box's edges on every side
    assert content_speed(inside, src, dst, np.array([-24.0, 0.0]), 8, radius=60) is None
    assert track_depth(inside, src, dst, np.array([-24.0, 0.0]), 8, least=TRACK_FROM,
                       most=8, radius=8) == TRACK_FROM


def test_a_part_that_keeps_its_place_in_the_scene_is_not_held_or_missed() -> None:
    world = _world()
    # the background moves 24 px left on screen over 8 frames; frame dst's own mask holds
    # nothing. A box moving 2 px per frame against the background is a moving part dst's
    # mask misses: held share 0 (the end frames must follow deeper)
    src, mask = _frame(world, 10, 120)
    dst, _ = _frame(world, 10 + 24, 120 - 8)
    assert held_share(mask, src, dst, None, np.array([-24.0, 0.0]), radius=30) == 0.0
    # the same box moving with the background keeps its place in the scene (a talking mouth
    # on a face the camera pans over): no moving part to hold (a vertical pan's "all"
    # scene followed its last 6 frames from a mouth their own masks did not hold, and their
    # open mouths stayed in the still: 8-bit "few" -9.77 dB against -4.9 without)
    dst, _ = _frame(world, 10 + 24, 120 - 24)
    assert held_share(mask, src, dst, None, np.array([-24.0, 0.0]), radius=30) is None

"""The clip's end frames' moving masks (overmix.render.foreground_ends, foreground.follow).

A drawn character (a flat coat in a dark outline, a leg that swings) on a textured
background that pans by whole pixels: every frame and its true mask are drawn here, so the
truth does not come from the code under test.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from overmix.render.foreground import follow
from overmix.render.foreground_ends import carry, judge_end

H, W = 96, 160
N = 20
PAN = 2  # px per frame the background moves left on screen


def _world(seed: int = 3) -> np.ndarray:
    """A textured background (smoothed noise, values about 0.2-0.8), wide enough to pan."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    w = ndimage.gaussian_filter(rng.uniform(0, 1, (H, W + PAN * N)), 1.5)
    return (0.2 + 0.6 * (w - w.min()) / (w.max() - w.min())).astype(np.float32)


def _character(k: int) -> tuple[np.ndarray, np.ndarray]:
    """Frame k's character: (values, NaN outside; its mask). The body walks 1 px per frame
    right on screen (against the pan) and bobs; the leg below it swings."""
    yy, xx = np.mgrid[0:H, 0:W]
    x0, y0 = 60 + k, 20 + (k % 2)
    body = (yy >= y0) & (yy < y0 + 36) & (xx >= x0) & (xx < x0 + 24)
    inner = (yy >= y0 + 2) & (yy < y0 + 34) & (xx >= x0 + 2) & (xx < x0 + 22)
    a = 0.5 * np.sin(k * np.pi / 3)  # the leg's angle from the vertical
    hy, hx = y0 + 36, x0 + 12
    t = (yy - hy) * np.cos(a) + (xx - hx) * np.sin(a)  # along the leg
    s = -(yy - hy) * np.sin(a) + (xx - hx) * np.cos(a)  # across it
    leg = (t >= 0) & (t < 26) & (np.abs(s) < 3)
    val = np.full((H, W), np.nan, np.float32)
    val[leg] = 0.95
    val[body] = 0.02
    val[inner] = 0.9
    return val, body | leg


def _clip() -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    world = _world()
    frames, masks = [], []
    for k in range(N):
        f = world[:, PAN * k:PAN * k + W].copy()
        val, m = _character(k)
        f[m] = val[m]
        frames.append(f)
        masks.append(m)
    xy = np.array([[PAN * k, 0.0] for k in range(N)])
    return frames, masks, xy


def test_follow_carries_a_flat_coat_by_its_own_motion() -> None:
    # most of the body is a flat coat that matches itself at many shifts (its median
    # difference is 0 at all of them); its outline tells the shift: frame 0's body sits 2
    # columns left of frame 2's (both frames bob alike)
    frames, masks, _ = _clip()
    body = masks[2].copy()
    body[56:] = False  # the body only (the leg swings)
    got = follow(body, frames[2], frames[0], radius=8)
    want = np.roll(body, -2, axis=1)
    assert np.count_nonzero(got ^ want) <= 0.02 * np.count_nonzero(want)


def _body_over_box() -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Frames 0 and 2 of the pan with the character's body (no leg, rows < 56) walking over
    a textured subtitle box (rows 59-79, screen-fixed): (frames, bodies, box)."""
    world = _world()
    rng = np.random.default_rng(5)
    box = np.zeros((H, W), bool)
    box[59:80, 40:140] = True
    text = ndimage.gaussian_filter(rng.uniform(0, 1, (H, W)), 1.0).astype(np.float32)
    frames, bodies = [], []
    for k in (0, 2):
        f = world[:, PAN * k:PAN * k + W].copy()
        val, m = _character(k)
        body = m & (np.arange(H)[:, None] < 56)
        f[body] = val[body]
        f[box] = text[box]
        frames.append(f)
        bodies.append(body)
    return frames, bodies, box


def test_follow_parts_a_character_from_the_subtitle_line_below_its_feet() -> None:
    # the character's body (no leg) walks 1 px right per frame on screen; 3 px below it a
    # textured subtitle box, larger than the body, stands still on screen in every frame:
    # 3 px apart, the two are one part of the mask, and followed as one the box's match
    # carried the body with it (2 columns off between frames 2 and 0)
    frames, bodies, box = _body_over_box()
    got = follow(bodies[1] | box, frames[1], frames[0], radius=8)
    want = bodies[0] | box
    assert np.count_nonzero(got ^ want) <= 0.02 * np.count_nonzero(want)


@pytest.mark.parametrize("ends", ["follow", "carry"])
def test_a_character_joined_to_the_subtitle_line_by_a_neck_is_followed_alone(
        ends: str) -> None:
    # as above, but the character's soft edge touches the box: a 2 px wide, 3 px long
    # strip joins the body's foot to the box, so the two are ONE 8-connected piece. The box
    # (screen-fixed, larger) carried the body with it by 0 columns instead of 2 (the clip's
    # first frames' masks short of the character's front); split at the neck, each goes its
    # own way (the neck with the nearer one)
    frames, bodies, box = _body_over_box()
    neck = np.zeros((H, W), bool)
    neck[56:59, 72:74] = True  # below frame 2's body (columns 62-85), into the box
    src = bodies[1] | box | neck
    assert ndimage.label(src, structure=np.ones((3, 3)))[1] == 1
    if ends == "follow":
        got = follow(src, frames[1], frames[0], radius=8)
    else:
        got = carry(src, frames[1], frames[0], radius=8)[0]
    want = bodies[0] | box
    assert np.count_nonzero(got ^ want) <= 0.02 * np.count_nonzero(want)
    assert np.count_nonzero(bodies[0] & ~got) == 0  # the body's front, 2 columns on


@pytest.mark.parametrize("e", [0, N - 2, N - 1])  # frame 1's leg has frame 2's angle
def test_an_end_frame_takes_its_swung_leg_and_not_the_other_frames_leg(e: int) -> None:
    frames, masks, xy = _clip()
    src = 2 if e < 2 else N - 3
    moved, fits = carry(masks[src], frames[src], frames[e], radius=8 * abs(src - e) + 2)
    truth = masks[e]
    # carried alone, the mask misses the leg where it swung to and keeps the other frame's
    leak_before = np.count_nonzero(truth & ~moved)
    assert leak_before > 20
    got = judge_end(e, moved, fits, lambda j: frames[j], lambda j: masks[j], xy, N)
    grown = ndimage.binary_dilation(truth, iterations=2)
    assert np.count_nonzero(truth & ~got) <= 0.15 * leak_before  # the character
    assert np.count_nonzero(got & ~grown) <= 0.05 * np.count_nonzero(truth)  # and no ghost


def test_an_end_frame_keeps_a_part_of_its_own_mask_the_carried_one_does_not_reach() -> None:
    # a talking mouth (fixed in the world, far from the character) is open wide in frame
    # N - 3, whose mask the last two frames take, and drawn another way in frame N - 2: the
    # wide mouth matches nothing there and is not carried, and the carried mask's
    # surroundings, judged again, do not reach it. Frame N - 2's own mask has it: it stays
    from overmix.render.foreground_edges import redraw_moving

    frames, masks, xy = _clip()
    yy, xx = np.mgrid[0:H, 0:W]
    mouths = {}
    for k, (ry, rx, v) in {N - 3: (4, 7, 0.05), N - 2: (2, 3, 0.95), N - 1: (3, 5, 0.05)}.items():
        cx = 60 - PAN * k  # a world column: screen x 26 in frame N - 3
        m = ((yy - 75) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
        frames[k][m] = v
        masks[k] = masks[k] | m
        mouths[k] = m
    got = redraw_moving(masks, 1, lambda j: frames[j], xy, (H, W), track=(2, 2))
    e = N - 2
    assert got[e] is not None
    mask = got[e].full((H, W))
    assert np.count_nonzero(mouths[e] & ~mask) == 0  # the mouth
    near = ndimage.binary_dilation(mouths[e], iterations=3)
    assert np.count_nonzero(mask & (xx < 45) & ~near) == 0  # and nothing else there

"""Screen-fixed content over long jumps (overmix.registration.static): a subtitle over a slow
pan is found where the truth mask says, a clean pan and a still shot give no mask."""

from __future__ import annotations

import numpy as np
import pytest

from overmix.registration.static import screen_fixed
from tests.scenes.real import SCENES, luma709, make_scene


@pytest.mark.parametrize("known", [False, True])
def test_subtitle_over_a_slow_pan_is_found(known: bool) -> None:
    # with the pan's positions too (as aligning gives them): strokes along the pan say
    # nothing, the others still find the text
    sc = make_scene(SCENES["hardsub"], n=20, h=90, w=160, step=(1.0, 0.3), line_every=20)
    ys = [luma709(f) for f in sc.rgb]
    found = screen_fixed(lambda k: ys[k], sc.n, sc.xy if known else None)
    assert set(found) == set(range(sc.n))
    for k, m in found.items():
        truth = sc.overlay[k]
        assert (m & truth).sum() > 0.5 * truth.sum()  # most of the text
        assert (m & ~truth).sum() < 0.1 * m.size  # little else (the grown outline)


def test_clean_pan_and_still_shot_give_no_mask() -> None:
    sc = make_scene(SCENES["clean"], n=12, h=90, w=160, step=(1.0, 0.3))
    ys = [luma709(f) for f in sc.rgb]
    assert screen_fixed(lambda k: ys[k], sc.n) == {}
    still = [ys[0]] * 12
    assert screen_fixed(lambda k: still[k], 12) == {}


def test_straight_edges_sliding_along_a_pan_are_not_screen_fixed() -> None:
    # a horizontal pan over a band of horizontal stripes: the stripes stay where they were
    # (the aperture problem), the blocks below move: with the pan's positions, nothing is
    # screen-fixed
    rng = np.random.default_rng(2)
    h, w, n, step = 90, 160, 12, 1.5
    world = np.kron(rng.random((h // 6, (w + 40) // 6 + 1)), np.ones((6, 6)))[:h, : w + 40]
    world[: h // 6] = 0.2 + 0.6 * ((np.arange(h // 6) // 4) % 2)[:, None]
    xs = np.arange(w + 40, dtype=np.float64)
    frames = [np.stack([np.interp(xs[:w] + k * step, xs, row) for row in world]).astype(np.float32)
              for k in range(n)]
    xy = np.array([[k * step, 0.0] for k in range(n)])
    assert screen_fixed(lambda k: frames[k], n, xy) == {}
    assert screen_fixed(lambda k: frames[k], n) != {}  # what the pan's direction told apart


@pytest.mark.parametrize("size", [(90, 160), (200, 400)])  # one and two pyramid levels
def test_found_beside_the_measurements_as_in_turn(size: tuple[int, int],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # the aligner runs the screen-fixed search (and each frame's flat test and cut
    # histogram) on a second thread beside its measurements: what it finds, and so the
    # offsets and masks, must be those of running it in turn on the same thread
    from overmix.registration import align_scene, sweep

    sc = make_scene(SCENES["hardsub"], n=20, h=size[0], w=size[1], step=(1.0, 0.3),
                    line_every=20)
    ys = [luma709(f) for f in sc.rgb]
    beside = align_scene(ys)
    aside = sweep._Aside
    monkeypatch.setattr(sweep, "_Aside", lambda threaded: aside(False))
    in_turn = align_scene(ys)
    # the subtitle was found: the frames were aligned again with it masked
    assert beside.offsets.extra["masks"]["realigned"]
    np.testing.assert_array_equal(beside.offsets.xy, in_turn.offsets.xy)
    assert beside.offsets.extra["masks"] == in_turn.offsets.extra["masks"]
    assert beside.masks is not None and in_turn.masks is not None
    for k in range(sc.n):
        a, b = beside.masks.ignore(k), in_turn.masks.ignore(k)
        assert (a is None) == (b is None) and (a is None or np.array_equal(a, b))


def test_a_frame_shows_the_subtitle_the_jumps_found_elsewhere() -> None:
    # the jumps find the line over the pan's bright frames; a frame that shows the same
    # line over black (a fade from black: none of its jumps finds it) gets its mask from
    # the line's look, a frame without the line none
    from overmix.registration.static import ScreenFixed

    sc = make_scene(SCENES["hardsub"], n=20, h=180, w=320, line_every=40, seed=2)
    ys = [luma709(f) for f in sc.rgb]
    sf = ScreenFixed()
    for k, y in enumerate(ys):
        sf.add(k, y, None if k < 8 else sc.xy[k] - sc.xy[k - 8])
    truth = sc.overlay[0]
    dark = np.where(truth, ys[0], np.float32(0))  # the line alone, on black
    m = sf.shown(dark)
    assert m is not None and (m & truth).sum() > 0.8 * truth.sum()
    assert (m & ~truth).sum() < 0.1 * m.size
    # the line alone again, moved (not screen-fixed there): nothing shows
    assert sf.shown(np.roll(dark, 40, axis=1)) is None
    assert sf.shown(np.zeros_like(dark)) is None

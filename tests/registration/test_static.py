"""Screen-fixed content over long jumps (overmix.registration.static): a subtitle over a slow
pan is found where the truth mask says, a clean pan and a still shot give no mask."""

from __future__ import annotations

from overmix.registration.static import screen_fixed
from tests.scenes.real import SCENES, luma709, make_scene


def test_subtitle_over_a_slow_pan_is_found() -> None:
    sc = make_scene(SCENES["hardsub"], n=20, h=90, w=160, step=(1.0, 0.3), line_every=20)
    ys = [luma709(f) for f in sc.rgb]
    found = screen_fixed(lambda k: ys[k], sc.n)
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

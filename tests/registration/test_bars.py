"""Letterbox bars (``registration.bars.detect_bars``) against drawn frames with known bars
(tests/scenes/real.py): black bars are found over bright and dark pictures; the flat top of a
dark sky early in a fade-in is not a bar."""

from __future__ import annotations

from overmix.registration.bars import detect_bars
from tests.scenes.real import SCENES, luma709, make_scene


def test_black_bars_are_found_over_bright_and_dark_pictures() -> None:
    sc = make_scene(SCENES["letterbox"], n=2, h=180, w=320)
    y = luma709(sc.rgb[0])
    bar = round(0.1 * 180)  # the generator's bar height
    assert detect_bars(y) == (bar, bar, 0, 0)
    dark = y * 0.2  # a night scene: the picture beside the bars is dark too
    assert detect_bars(dark) == (bar, bar, 0, 0)


def test_a_faded_sky_is_not_a_bar() -> None:
    # frame 0 of a fade-in from black (gain 0.25): its top rows are sky, flat and darker
    # than the bar threshold, but they go on into the picture without a step
    sc = make_scene(SCENES["fade"], n=3, h=360, w=640)
    y = luma709(sc.rgb[0])
    assert (y[:3].std(axis=1) < 0.01).all() and (y[:3].mean(axis=1) < 0.1).all()
    assert detect_bars(y) == (0, 0, 0, 0)

"""Scene masks (overmix.registration.masks) and tile voting (overmix.registration.vote) on
scenes with known contamination (tests/scenes/real.py)."""

from __future__ import annotations

import numpy as np
import pytest

from overmix.registration import align_scene
from overmix.registration.masks import classify_pair, range3
from overmix.registration.phase import estimate_shift
from overmix.registration.pyramid import CODE_GAIN, prepare
from tests.scenes.real import SCENES, luma709, make_scene


@pytest.fixture(scope="module")
def busy():
    sc = make_scene(SCENES["all"], n=12, h=180, w=320, line_every=6)
    return sc, [luma709(f) for f in sc.rgb]


def test_masks_cover_the_contamination(busy) -> None:
    sc, lumas = busy
    res = align_scene(lumas)
    truth = sc.xy - sc.xy[0]
    assert np.abs(res.offsets.xy - truth).max() < 0.05
    m = res.masks
    h, w = sc.size
    strong_n = found_n = false_n = clean_n = sub_n = sub_ov = 0
    for k in range(sc.n):
        ov, fg, wt = m.overlay(k), m.foreground(k), m.weight(k)
        assert ov.shape == fg.shape == wt.shape == (h, w)
        assert ov.dtype == bool and wt.dtype == np.float32
        assert np.array_equal(wt == 0, ov | fg)
        bad = sc.overlay[k] | sc.foreground[k]
        # strong contamination (not the faint antialiased fringe) must be found
        strong = np.abs(sc.rgb[k] - sc.clean[k]).max(axis=-1) > 0.2
        strong_n += int(strong.sum())
        found_n += int((strong & (ov | fg)).sum())
        false_n += int(((ov | fg) & ~bad).sum())
        clean_n += int((~bad).sum())
        sub = sc.overlay[k] & strong  # subtitle and logo: screen-fixed
        sub_n += int(sub.sum())
        sub_ov += int((sub & ov).sum())
    # the maps are conservative (a change must stand out of its neighbours' range: thin
    # lines between sub-pixel phases must not count), so they hold the cores of what does
    # not follow the background, enough to keep it out of the alignment
    assert found_n > 0.3 * strong_n
    assert sub_ov > 0.25 * sub_n
    assert false_n < 0.05 * clean_n
    s = res.offsets.extra["masks"]
    assert s["overlay"] > 0.02 and s["foreground"] > 0 and s["realigned"]


def test_clean_pan_finds_nothing_and_aligns_once() -> None:
    sc = make_scene((), n=8, h=180, w=320)
    res = align_scene([luma709(f) for f in sc.rgb])
    s = res.offsets.extra["masks"]
    assert s["overlay"] == 0 and s["foreground"] == 0 and not s["realigned"]
    assert np.abs(res.offsets.xy - (sc.xy - sc.xy[0])).max() < 0.05


def test_tiles_outvote_a_strong_static_overlay() -> None:
    """Phase correlation alone picks zero shift here (the subtitle is the strongest
    correlate); the tiles vote for the background."""
    sc = make_scene(("hardsub",), n=8, h=180, w=320)
    a, b = luma709(sc.rgb[2]), luma709(sc.rgb[6])
    r = estimate_shift(a, b, guess=tuple(sc.xy[6] - sc.xy[2]))
    d = sc.xy[6] - sc.xy[2]
    assert abs(r.dx - d[0]) < 0.5 and abs(r.dy - d[1]) < 0.5


def test_a_pair_found_empty_still_vetoes_its_neighbours_foreground() -> None:
    """Maps of 3 frames of 6x8: pair (0, 1) finds a block moving in frame 1, pair (1, 2)
    nothing (its empty maps are shared, not copied). Frame 1's foreground is where BOTH
    its pairs say so: none; its alignment mask is the union (grown): the block's
    surroundings; frame 2 has none."""
    from overmix.registration.masks import SceneMasks

    m = SceneMasks((6, 8), 1, 3)
    block = np.zeros((6, 8), bool)
    block[2:4, 3:6] = True
    m.add_pair(1, block.copy(), np.zeros((6, 8), bool), (0.0, 0.0))
    m.add_pair(2, np.zeros((6, 8), bool), np.zeros((6, 8), bool), (1.0, 0.0))
    # the alignment mask is grown by 2 px (Chebyshev): rows 0-5, columns 1-7
    grown = np.zeros((6, 8), bool)
    grown[0:6, 1:8] = True
    assert not m.foreground(1).any() and not m.overlay(1).any()
    assert np.array_equal(m.ignore(1), grown)
    assert m.ignore(2) is None and not m.foreground(2).any()
    # frame 0 sees the block only from pair (0, 1): a single pair decides alone
    assert np.array_equal(m.ignore(0), grown) and np.array_equal(m.foreground(0), block)
    assert m.fraction() == pytest.approx(2 * block.sum() / (3 * block.size))
    s = m.summary()
    assert s["foreground_frames"] == 1 and s["overlay_frames"] == 0


@pytest.mark.parametrize("d", [(0.3, -0.2), (2.6, 1.4), (-3.2, 0.7)])
def test_ranges_made_ahead_classify_alike(busy, d: tuple[float, float]) -> None:
    """classify_pair with ref's 3x3 ranges made beforehand (the read-ahead's) gives the maps
    it makes alone, shifts under and over a pixel (the screen-fixed test) alike."""
    _, lumas = busy
    ref, mov = (prepare(lumas[k]).levels[-1].img for k in (3, 4))
    alone = classify_pair(ref, mov, d, unit=CODE_GAIN)
    ahead = classify_pair(ref, mov, d, unit=CODE_GAIN, ref_range=range3(ref))
    assert alone[0].any()  # the pair's contamination moves
    for a, b in zip(alone, ahead, strict=True):
        np.testing.assert_array_equal(a, b)

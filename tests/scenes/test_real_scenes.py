"""The real-scene generator's truths are consistent (tests/scenes/real.py)."""

from __future__ import annotations

import av
import numpy as np
import pytest

from tests.scenes.real import SCENES, luma709, make_scene


@pytest.fixture(scope="module")
def small():
    return make_scene(SCENES["all"], n=12, h=90, w=160, line_every=6)


def test_clean_frames_are_the_world_at_the_true_offsets(small) -> None:
    h, w = small.size
    for k in (0, 5, 11):
        x, y = small.xy[k]
        assert np.abs(small.background(x, y, w, h) - small.clean[k]).max() < 1e-5


def test_contamination_only_inside_its_masks(small) -> None:
    for k in range(small.n):
        diff = np.abs(small.rgb[k] - small.clean[k]).max(axis=-1)
        masked = small.overlay[k] | small.foreground[k]
        assert diff[~masked].max() < 0.02
        assert diff[masked].max() > 0.3
    # the subtitle changes line every 6 frames; the logo stays
    assert not np.array_equal(small.overlay[0], small.overlay[6])
    assert np.array_equal(small.overlay[0], small.overlay[5])


def test_pan_is_subpixel_and_cut_has_two_shots() -> None:
    sc = make_scene(SCENES["cut"], n=20, h=64, w=96)
    assert set(sc.shot.tolist()) == {0, 1}
    assert len(sc.main) == 13 and sc.main[0] == 0
    frac = np.abs(sc.xy[1:13] - np.round(sc.xy[1:13]))
    assert frac.max() > 0.1


@pytest.mark.parametrize("depth", [8, 10])
def test_encode_round_trip(tmp_path, depth) -> None:
    sc = make_scene(SCENES["letterbox"], n=6, h=64, w=96)
    path = sc.encode(tmp_path / f"s{depth}.mkv", depth)
    with av.open(str(path)) as box:
        frames = list(box.decode(video=0))
    assert len(frames) == 6
    y = np.from_dlpack(frames[3].planes[0]).astype(np.float64)
    scale = 1 << (depth - 8)
    luma = (y - 16 * scale) / (219 * scale)  # ITU-R BT.709 limited range
    assert np.abs(luma - luma709(sc.rgb[3])).mean() < 0.02

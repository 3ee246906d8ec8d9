"""Zoom and rotation: pairs, the global solve and ``auto`` on drawn scenes with known motion.

Frames are the continuous line-art scene of tests/registration/zoomscenes.py integrated over
each frame's exact (zoomed, rotated, panned) pixel footprints; some go through libx264 8/10-bit.
The check is the issue's: every frame's transform within 0.05 px at its four corners.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from overmix.registration import align
from overmix.registration.phase import prepare
from overmix.registration.similarity import estimate_similarity, midpoint, transform
from tests.registration.scenes import encode_decode
from tests.registration.zoomscenes import corner_error, line_art, sample, zoom_track

H, W = 90, 160


def _clip(n: int, seed: int, h: int = H, w: int = W, **motion: object) -> tuple[list, np.ndarray]:
    tr = zoom_track(n, w=w, h=h, **motion)  # type: ignore[arg-type]
    scene = line_art(-70, -50, w + 70, h + 50, seed=seed)
    return [sample(scene, tuple(t), h, w) for t in tr], tr


def _table(off) -> np.ndarray:
    return np.column_stack([off.xy, off.scales, off.angles])


def test_midpoint_parameters_invert() -> None:
    c = complex(79.5, 44.5)
    x, m = complex(3.2, -1.7), 1.013 * complex(math.cos(0.01), math.sin(0.01))
    t, mu = midpoint(x, m, c)
    x2, m2 = transform(t, mu, c)
    assert abs(x2 - x) < 1e-12 and abs(m2 - m) < 1e-12
    # the midpoint displacement at q = (p + T(p)) / 2 is T(p) - p
    p = complex(10.0, 20.0)
    q = (p + x + m * p) / 2
    assert abs(t + mu * (q - c) - (x + m * p - p)) < 1e-12


def test_pair_finds_zoom_and_rotation() -> None:
    frames, _ = _clip(1, 5, 180, 320)
    scene = line_art(-70, -50, 390, 230, seed=5)
    mov = sample(scene, (4.3, -2.6, 1.012, -0.35), 180, 320)
    r = estimate_similarity(prepare(frames[0]), prepare(mov))
    assert abs(r.scale - 1.012) < 1e-4 and abs(math.degrees(r.angle) + 0.35) < 5e-3
    err = corner_error(np.array([[r.dx, r.dy, r.scale, math.degrees(r.angle)]]),
                       np.array([[4.3, -2.6, 1.012, -0.35]]), 320, 180)
    assert err.max() < 0.03
    z = estimate_similarity(prepare(frames[0]), prepare(mov), model="zoom")
    assert z.angle == 0.0


def test_pair_sampled_whole_measures_a_small_transform() -> None:
    # whole=True (the benchmark's measure of a codec's displacement): every pixel sampled,
    # refined from the identity without a search
    frames, _ = _clip(1, 6, 180, 320)
    scene = line_art(-70, -50, 390, 230, seed=6)
    truth = (0.37, -0.21, 1.0021, 0.04)
    mov = sample(scene, truth, 180, 320)
    r = estimate_similarity(prepare(frames[0]), prepare(mov), guess=(0j, 1 + 0j), search=False,
                            whole=True)
    err = corner_error(np.array([[r.dx, r.dy, r.scale, math.degrees(r.angle)]]),
                       np.array([truth]), 320, 180)
    assert err.max() < 0.01


CASES = {
    "zoom": dict(zoom=0.03),
    "zoom+pan": dict(zoom=-0.03, pan=(30.0, 8.0)),
    "rotation+pan": dict(angle=0.5, pan=(36.0, -6.0)),
}


@pytest.mark.parametrize("case", list(CASES))
def test_auto_aligns_zoom_and_rotation_lossless(case: str) -> None:
    frames, tr = _clip(10, 3, **CASES[case])  # type: ignore[arg-type]
    off = align(frames, motion="auto")
    want = "similarity" if case.startswith("rotation") else "zoom"
    assert off.extra["motion"] == want
    assert corner_error(_table(off), tr, W, H).max() < 0.05


@pytest.mark.parametrize("depth", [8, 10])
@pytest.mark.parametrize("case", ["zoom+pan", "rotation+pan"])
def test_h264_zoom_and_rotation_within_005_px(case: str, depth: int, tmp_path) -> None:
    frames, tr = _clip(8, 7, 180, 320, **CASES[case])  # type: ignore[arg-type]
    dec = encode_decode(frames, depth, str(tmp_path / f"c{depth}.mkv"))
    off = align(dec, motion="similarity")
    err = corner_error(_table(off), tr, 320, 180)
    assert err.max() < 0.05, err


def test_auto_keeps_translation_for_a_pan() -> None:
    frames, tr = _clip(8, 4, pan=(25.0, 6.0))
    off = align(frames, motion="auto")
    assert off.extra["motion"] == "xy" and not off.has_transform
    assert np.abs(off.xy - tr[:, :2]).max() < 0.03
    plain = align(frames, motion="xy")
    np.testing.assert_array_equal(off.xy, plain.xy)  # the same translation result


def test_zoom_model_has_no_rotation_and_masks_are_respected() -> None:
    frames, tr = _clip(6, 9, zoom=0.02)
    # a static logo drawn on every frame: masked, it does not pull the zoom
    logo = np.zeros((H, W), bool)
    logo[5:25, 120:150] = True
    marked = [np.where(logo, 0.95, f).astype(np.float32) for f in frames]
    off = align(marked, motion="zoom", mask=logo)
    assert np.all(off.angles == 0.0)
    assert corner_error(_table(off), tr, W, H).max() < 0.05


def test_log_polar_candidates_find_a_fast_zoom_and_rotation() -> None:
    from overmix.registration.logpolar import similarity_candidates

    scene = line_art(-200, -150, 500, 300, seed=3)
    a = sample(scene, (0.0, 0.0, 2.0, 0.0), 135, 240, ss=2)
    for x, y, s, ang in ((3.0, 2.0, 2.16, 0.0), (-4.0, 3.0, 1.8, 0.0), (2.0, 1.0, 2.12, -3.0)):
        b = sample(scene, (x, y, s, ang), 135, 240, ss=2)
        # in a's pixels (pitch 2): b(p) = a(m p + x)
        mt = s / 2 * complex(math.cos(math.radians(ang)), math.sin(math.radians(ang)))
        xt = complex(x, y) / 2
        cands = similarity_candidates(a, b, rotate=True)
        xc, mc = cands[0]
        assert abs(abs(mc) / abs(mt) - 1) < 0.01
        assert abs(math.degrees(np.angle(mc / mt))) < 0.5
        assert abs(xc - xt) < 1.5


@pytest.mark.parametrize("motion", [dict(zoom=0.4, pan=(10.0, 3.0)),
                                    dict(zoom=0.25, angle=10.0, pan=(8.0, -3.0))])
def test_auto_finds_a_zoom_faster_than_the_refinement_basin(motion: dict) -> None:
    """About 7 % zoom (and 2 degrees) between neighbours: beyond the Gauss-Newton's basin
    from a translation start; the log-polar search gives the start."""
    h, w, n = 135, 240, 6
    tr = zoom_track(n, w=w, h=h, **motion)  # type: ignore[arg-type]
    scene = line_art(-250, -200, w + 250, h + 200, seed=3)
    frames = [sample(scene, tuple(t), h, w, ss=2) for t in tr]
    off = align(frames, motion="auto")
    assert off.extra["motion"] == ("zoom" if "angle" not in motion else "similarity")
    assert corner_error(_table(off), tr, w, h).max() < 0.1

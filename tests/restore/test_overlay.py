"""Static overlay (TV logo) detection, colour/alpha estimation and removal on drawn pans."""

from __future__ import annotations

import numpy as np
import pytest

from overmix.geometry import Canvas
from overmix.restore.overlay import overlay_weights, remove_overlay
from overmix.restore.overlay_detect import detect_static, static_mask
from overmix.restore.overlay_estimate import estimate_overlay
from tests.scenes.draw import logo_pan, pan, place_average, psnr, rgb_to_ycc


@pytest.fixture(scope="module")
def scene():
    return logo_pan(n=30)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max((a | b).sum(), 1))


def test_logo_mask_iou(scene) -> None:
    score = detect_static(scene.luma, scene.xy)
    assert score.dtype == np.float32 and score.shape == (96, 160)
    assert 0.0 <= score.min() and score.max() <= 1.0
    mask = static_mask(score)
    assert _iou(mask, scene.extra["mask"]) >= 0.9
    grown = static_mask(score, dilate=2)
    assert grown[scene.extra["mask"]].all() and grown.sum() > mask.sum()


def test_no_overlay_gives_empty_mask() -> None:
    sc = pan(n=20)
    assert not static_mask(detect_static(sc.luma, sc.xy)).any()
    # misregistered edges differ from the background too, but they follow it: still no mask
    rng = np.random.default_rng(0)
    jittered = sc.xy + rng.uniform(-0.4, 0.4, sc.xy.shape)
    assert not static_mask(detect_static(sc.luma, jittered)).any()


def test_logo_found_despite_subpixel_alignment_error(scene) -> None:
    rng = np.random.default_rng(1)
    jittered = scene.xy + rng.uniform(-0.3, 0.3, scene.xy.shape)
    mask = static_mask(detect_static(scene.luma, jittered))
    assert _iou(mask, scene.extra["mask"]) >= 0.9


def test_alpha_colour_and_clean_stitch(scene) -> None:
    mask = static_mask(detect_static(scene.luma, scene.xy))
    color, alpha = estimate_overlay(scene.planes, scene.xy, None, mask)
    truth_a = scene.extra["alpha"]
    logo = scene.extra["mask"]
    assert np.abs(alpha - truth_a)[logo].mean() < 0.05
    assert np.abs(alpha - truth_a).mean() < 0.01
    want = rgb_to_ycc(scene.extra["color"])
    for c in range(3):
        assert abs(float(np.median(color[c][logo])) - float(want[c])) < 0.03

    # clean stitch: remove the logo from every frame, weight by (1 - a)^2
    n = len(scene.frames)
    cleaned = [np.stack(remove_overlay(scene.planes(k), color, alpha), -1) for k in range(n)]
    w = overlay_weights(alpha)
    shape = (Canvas.covering(scene.xy, 160, 96).height, Canvas.covering(scene.xy, 160, 96).width)
    removed, _ = place_average(cleaned, scene.xy, shape, [w] * n)
    reference, cov = place_average(scene.extra["clean"], scene.xy, shape)
    plain, _ = place_average(scene.frames, scene.xy, shape)
    covered = cov > 0
    p_removed = psnr(removed, scene.truth, covered)
    p_reference = psnr(reference, scene.truth, covered)
    p_plain = psnr(plain, scene.truth, covered)
    assert p_removed > p_reference - 1.0, (p_removed, p_reference)
    assert p_plain < p_reference - 5.0  # the logo really spoils a plain stitch


def test_subsampled_chroma_planes(scene) -> None:
    """Planes at native 4:2:0 resolution: alpha from luma, chroma colour on its own grid."""
    def planes420(k: int) -> list[np.ndarray]:
        f = scene.frames[k]
        down = [f[..., c].reshape(48, 2, 80, 2).mean(axis=(1, 3)) for c in (1, 2)]
        return [f[..., 0], *down]

    mask = scene.extra["mask"]
    color, alpha = estimate_overlay(planes420, scene.xy, None, mask)
    assert color[1].shape == (48, 80) and alpha.shape == (96, 160)
    assert np.abs(alpha - scene.extra["alpha"])[mask].mean() < 0.05
    out = remove_overlay(planes420(3), color, alpha)
    assert [p.shape for p in out] == [(96, 160), (48, 80), (48, 80)]


def test_mask_shape_mismatch_is_an_error(scene) -> None:
    from overmix.errors import UsageError

    with pytest.raises(UsageError):
        estimate_overlay(scene.planes, scene.xy, None, np.zeros((10, 10), bool))

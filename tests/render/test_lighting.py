"""Lighting compensation on a drawn pan with a 20 % flash on some frames."""

from __future__ import annotations

import numpy as np

from overmix.render.lighting import apply_gain, estimate_gains, fit_pair, should_compensate
from tests.scenes.draw import flash_pan, pan, place_average


def _column_error(img: np.ndarray, truth: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """Mean signed Y' error per canvas column (a seam in a horizontal pan is a step here)."""
    d = np.where(covered, img[..., 0] - truth[..., 0], 0.0)
    return d.sum(axis=0) / np.maximum(covered.sum(axis=0), 1)


def test_flash_gains_and_seamless_stitch() -> None:
    sc = flash_pan(n=24, flash=(8, 9, 10, 11), gain=1.2)
    gains = estimate_gains(sc.luma, sc.xy)
    assert gains.shape == (24, 2)
    true = sc.extra["gains"]
    assert np.abs(gains[:, 0] - true).max() < 0.01
    assert np.abs(gains[:, 1]).max() < 0.01
    assert should_compensate(gains)

    shape = sc.truth.shape[:2]
    fixed = [np.stack(apply_gain(sc.planes(k), gains[k]), -1) for k in range(24)]
    comp, cov = place_average(fixed, sc.xy, shape)
    plain, _ = place_average(sc.frames, sc.xy, shape)
    covered = cov > 0
    err_comp = np.abs(comp - sc.truth)[covered].mean()
    err_plain = np.abs(plain - sc.truth)[covered].mean()
    assert err_comp < 0.006 < err_plain
    # no seam: every column's mean error stays under about one 8-bit code
    assert np.abs(_column_error(comp, sc.truth, covered)).max() < 0.004
    assert np.abs(_column_error(plain, sc.truth, covered)).max() > 0.02
    # chroma is scaled back too (a flash scales R'G'B', so Cb/Cr by the same gain)
    assert np.abs(comp[..., 1:] - sc.truth[..., 1:])[covered].mean() < 0.004


def test_steady_pan_needs_no_compensation() -> None:
    sc = pan(n=16)
    gains = estimate_gains(sc.luma, sc.xy)
    assert not should_compensate(gains)
    assert np.abs(gains[:, 0] - 1).max() < 0.01


def test_fade_offset() -> None:
    """A fade towards white: f = 0.8 s + 0.15 on some frames (gain and offset)."""
    sc = flash_pan(n=16, flash=())
    frames = [f.copy() for f in sc.frames]
    for k in (5, 6, 7):
        frames[k][..., 0] = 0.8 * frames[k][..., 0] + 0.15
        frames[k][..., 1:] *= 0.8
    gains = estimate_gains(lambda k: frames[k][..., 0], sc.xy)
    assert np.allclose(gains[5:8, 0], 0.8, atol=0.01)
    assert np.allclose(gains[5:8, 1], 0.15, atol=0.01)
    assert np.allclose(gains[:5, 0], 1.0, atol=0.01)


def test_fit_pair_is_unbiased_under_noise() -> None:
    rng = np.random.default_rng(0)
    s = rng.uniform(0.1, 0.8, 20000)
    x = s + rng.normal(0, 0.02, s.size)
    y = 1.2 * s + 0.01 + rng.normal(0, 0.02, s.size)
    a, b, conf = fit_pair(x, y)
    assert abs(a - 1.2) < 0.01 and abs(b - 0.01) < 0.01 and conf > 0
    assert fit_pair(np.full(100, 0.5), np.full(100, 0.5))[2] == 0.0  # flat: no fit

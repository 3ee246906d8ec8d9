"""Richardson–Lucy deconvolution and blur estimation against known blurs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from overmix.errors import InputError, UsageError
from overmix.restore.deconvolve import (
    estimate_psf_sigma,
    gaussian_psf,
    parse_deconvolve,
    richardson_lucy,
)
from tests.restore.scenes import CelScene, psnr


def _blurred(sigma: float, seed: int = 5, line: float = 1.3) -> tuple[np.ndarray, np.ndarray]:
    truth = CelScene(seed, hatch=False, line=line).luma(96, 128, 20, 20)
    rng = np.random.default_rng(0)
    b = ndimage.gaussian_filter(truth.astype(np.float64), sigma, mode="reflect")
    b = np.clip(np.round((b + rng.normal(0, 0.002, b.shape)) * 255) / 255, 0, 1)
    return truth, b.astype(np.float32)


def test_rl_gains_2db_without_halos() -> None:
    truth, blur = _blurred(1.2)
    calls = []
    out = richardson_lucy(blur, sigma=1.2, iterations=30,
                          progress=lambda s, d, t: calls.append(d))
    assert out.shape == blur.shape and out.dtype == np.float32
    gain = psnr(out, truth) - psnr(blur, truth)
    assert gain >= 2.0, gain
    assert calls[-1] == 30
    # overshoot at line-art edges: nothing brighter than the brightest truth nearby
    edges = ndimage.binary_dilation(np.hypot(*np.gradient(truth)) > 0.1, iterations=3)
    bright = np.maximum(out - ndimage.maximum_filter(truth, 5), 0)[edges]
    assert bright.max() < 0.03
    plain = richardson_lucy(blur, sigma=1.2, iterations=30, bound=None, tv=0)
    plain_bright = np.maximum(plain - ndimage.maximum_filter(truth, 5), 0)[edges]
    assert plain_bright.max() > 2 * bright.max()  # the bound is what removes the halos


def test_given_psf_matches_sigma() -> None:
    _, blur = _blurred(1.0)
    a = richardson_lucy(blur, sigma=1.0, iterations=5)
    b = richardson_lucy(blur, psf=gaussian_psf(1.0) * 3.0, iterations=5)  # normalised inside
    np.testing.assert_allclose(a, b, atol=1e-5)


@pytest.mark.parametrize("sigma", [0.8, 1.2, 2.0])
def test_estimate_sigma_from_edges(sigma: float) -> None:
    _, blur = _blurred(sigma, seed=8, line=0.0)  # flat shapes, step edges
    assert estimate_psf_sigma(blur) == pytest.approx(sigma, abs=0.25)


def test_estimate_sigma_on_line_art_and_sharp() -> None:
    _, blur = _blurred(1.2)
    assert estimate_psf_sigma(blur) == pytest.approx(1.2, abs=0.3)
    sharp = CelScene(5, hatch=False).luma(96, 128, 20, 20)
    assert estimate_psf_sigma(sharp) < 0.6
    with pytest.raises(InputError):
        estimate_psf_sigma(np.full((40, 40), 0.5, np.float32))


def test_parse_and_bad_input() -> None:
    assert parse_deconvolve("1.2") == (1.2, 30)
    assert parse_deconvolve("1.2:40") == (1.2, 40)
    assert parse_deconvolve("auto:10") == (None, 10)
    for bad in ("x", "0", "-1", "1.2:0", "1.2:x", "50"):
        with pytest.raises(UsageError):
            parse_deconvolve(bad)
    with pytest.raises(UsageError):
        richardson_lucy(np.zeros((8, 8)), psf=np.ones((2, 2)))
    with pytest.raises(InputError):
        richardson_lucy(np.zeros(8), sigma=1.0)

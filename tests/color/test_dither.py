"""8/16-bit quantisation: round to nearest (never truncate) and mean-preserving dither."""

from __future__ import annotations

import numpy as np
import pytest

from overmix.color.dither import quantize
from overmix.errors import UnsupportedError


def test_8bit_round_trip_of_every_level_is_lossless():
    levels = np.arange(256, dtype=np.uint8)
    img = np.stack([levels, levels[::-1], levels], axis=-1).reshape(16, 16, 3)
    back = quantize(img.astype(np.float32) / 255.0, 8)
    np.testing.assert_array_equal(back, img)
    # Dithering an exactly representable picture changes nothing either.
    np.testing.assert_array_equal(quantize(img / 255.0, 8, dither=True), img)


def test_rounds_to_nearest_not_truncate():
    v = np.array([100.49, 100.5, 100.51, 254.6]) / 255.0
    np.testing.assert_array_equal(quantize(v, 8), [100, 101, 101, 255])


def test_16bit_formula_and_clipping():
    v = np.array([-0.1, 0.0, 0.25, 0.5, 1.0, 1.5, np.nan], dtype=np.float32)
    want = [0, 0, round(0.25 * 65535), 32768, 65535, 65535, 0]
    got = quantize(v, 16)
    assert got.dtype == np.uint16
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("level", [0.3, 100.25 / 255, 0.7137])
def test_dither_keeps_the_mean(level):
    img = np.full((64, 80, 3), level, dtype=np.float32)
    plain = quantize(img, 8)
    fs = quantize(img, 8, dither=True)
    assert fs.dtype == np.uint8
    target = level * 255
    # Plain rounding is off by up to half a level everywhere; dithering keeps the mean.
    assert abs(fs.astype(np.float64).mean() - target) < 0.01
    assert fs.min() >= np.floor(target) and fs.max() <= np.ceil(target)
    if abs(target - round(target)) > 0.1:
        assert abs(plain.astype(np.float64).mean() - target) > 0.1


def test_dither_on_a_gradient_keeps_local_means_and_alpha_is_rounded():
    ramp = np.linspace(0.2, 0.21, 256, dtype=np.float32)  # less than 3 levels wide
    img = np.zeros((32, 256, 4), np.float32)
    img[..., :3] = ramp[None, :, None]
    img[..., 3] = 0.5
    fs = quantize(img, 8, dither=True).astype(np.float64)
    # 32x32 block means track the ramp to a small fraction of a level.
    for x0 in range(0, 256, 32):
        blk = fs[:, x0:x0 + 32, 1].mean()
        assert abs(blk - ramp[x0:x0 + 32].mean() * 255) < 0.1
    assert np.all(fs[..., 3] == 128)


def test_dither_gray_and_16bit_and_errors():
    g = np.full((8, 9), 0.5 / 65535 + 0.25, np.float32)
    assert quantize(g, 16, dither=True).dtype == np.uint16
    with pytest.raises(UnsupportedError):
        quantize(g, 17)
    with pytest.raises(UnsupportedError):
        quantize(np.zeros((2, 2, 2, 2)), 8, dither=True)

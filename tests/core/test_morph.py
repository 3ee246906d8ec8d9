"""overmix.morph: the same masks as scipy.ndimage's binary dilation and hole filling."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from overmix.morph import dilate, fill_holes


def _masks(seed: int, count: int) -> list[np.ndarray]:
    """Random masks of many sizes and densities, set pixels on the borders too, and
    blocks placed off-centre (the bounding-box crop must not change anything)."""
    rng = np.random.default_rng(seed)
    out = [np.zeros((5, 7), bool), np.ones((4, 9), bool), np.eye(6, dtype=bool)]
    for _ in range(count):
        h, w = (int(v) for v in rng.integers(1, 48, 2))
        m = np.zeros((h + 12, w + 12), bool)
        y, x = (int(v) for v in rng.integers(0, 12, 2))
        m[y:y + h, x:x + w] = rng.random((h, w)) < rng.choice([0.002, 0.05, 0.3, 0.7, 0.97])
        out.append(m)
    return out


@pytest.mark.parametrize("square", [False, True])
def test_dilate_is_scipys(square: bool) -> None:
    st = np.ones((3, 3), bool) if square else None
    rng = np.random.default_rng(7)
    for m in _masks(1, 150):
        n = int(rng.integers(1, 14))
        want = ndimage.binary_dilation(m, structure=st, iterations=n)
        got = dilate(m, n, square=square)
        assert got.dtype == bool and got.shape == m.shape
        assert np.array_equal(got, want), (m.shape, n, square)


def test_dilate_reach() -> None:
    # one pixel grown by 3: the city-block diamond (25 pixels), or the 7x7 square
    m = np.zeros((15, 15), bool)
    m[7, 7] = True
    d = dilate(m, 3)
    yy, xx = np.mgrid[:15, :15]
    assert np.array_equal(d, np.abs(yy - 7) + np.abs(xx - 7) <= 3)
    assert int(d.sum()) == 25
    assert int(dilate(m, 3, square=True).sum()) == 49
    assert not m[6, 7]  # the input is not modified


def test_dilate_until_stable_is_scipys() -> None:
    m = np.zeros((9, 9), bool)
    m[4, 4] = True
    assert np.array_equal(dilate(m, 0), ndimage.binary_dilation(m, iterations=0))


def test_fill_holes_is_scipys() -> None:
    for m in _masks(2, 300):
        assert np.array_equal(fill_holes(m), ndimage.binary_fill_holes(m)), m.shape


def test_fill_holes_ring() -> None:
    # a ring's inside is a hole; a ring open on one side has none; the input stays
    m = np.zeros((12, 12), bool)
    m[2:9, 2:9] = True
    m[3:8, 3:8] = False
    filled = fill_holes(m)
    assert filled[3:8, 3:8].all() and not filled[9:].any() and not m[5, 5]
    m[5, 2] = False
    assert np.array_equal(fill_holes(m), m)

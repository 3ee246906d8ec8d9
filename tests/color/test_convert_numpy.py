"""The numpy Y'CbCr → R'G'B' path (used by ``overmix stitch``) against the fused numba kernel,
and the numpy chroma resampling against a direct per-sample sum."""

from __future__ import annotations

import numpy as np
import pytest

from overmix.color.chroma import resample, upsample_tables
from overmix.color.convert import to_rgb, to_rgb_codes
from overmix.color.spec import ChromaLocation, ColorInfo, Matrix, Range


def _planes(rng: np.random.Generator, h: int, w: int) -> list[np.ndarray]:
    y = rng.integers(40, 980, (h, w)).astype(np.uint16)
    cb = rng.integers(40, 980, (-(-h // 2), -(-w // 2))).astype(np.uint16)
    cr = rng.integers(40, 980, cb.shape).astype(np.uint16)
    return [y, cb, cr]


@pytest.mark.parametrize("filt", ["bilinear", "bicubic", "lanczos", "nearest"])
def test_numpy_engine_matches_numba(filt: str) -> None:
    rng = np.random.default_rng(5)
    planes = _planes(rng, 17, 23)
    color = ColorInfo(matrix=Matrix.BT709, range=Range.LIMITED, bit_depth=10,
                      chroma_location=ChromaLocation.LEFT)
    a = to_rgb(planes, color, chroma_filter=filt, engine="numpy")
    b = to_rgb(planes, color, chroma_filter=filt, engine="numba")
    np.testing.assert_allclose(a, b, atol=1e-6)
    for depth in (8, 16):
        ca = to_rgb_codes(planes, color, depth=depth, chroma_filter=filt, engine="numpy")
        cb = to_rgb_codes(planes, color, depth=depth, chroma_filter=filt, engine="numba")
        assert ca.dtype == cb.dtype
        # identical but for a value within float rounding of a rounding boundary
        assert np.abs(ca.astype(np.int64) - cb.astype(np.int64)).max() <= 1
        assert np.count_nonzero(ca != cb) <= 2


def test_chroma_resample_matches_direct_sum() -> None:
    rng = np.random.default_rng(6)
    plane = rng.integers(0, 1024, (9, 11)).astype(np.uint16)
    rows, cols = upsample_tables(plane.shape, (18, 22), sub_x=2, sub_y=2,
                                 location=ChromaLocation.LEFT, filter="lanczos")
    got = resample(plane, rows, cols)
    want = np.zeros((18, 22))
    for i in range(18):
        for j in range(22):
            for ty in range(rows.index.shape[1]):
                for tx in range(cols.index.shape[1]):
                    want[i, j] += (float(rows.weight[i, ty]) * float(cols.weight[j, tx])
                                   * float(plane[rows.index[i, ty], cols.index[j, tx]]))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-4)

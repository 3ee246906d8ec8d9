"""Per-frame weights (``render(..., frame_weights=...)``): a blotch painted into some frames
is left out by every render method, in luma and in chroma, and a floor weight fills places no
frame sees cleanly instead of leaving a hole."""

from __future__ import annotations

import numpy as np
import pytest

from overmix.color.spec import ChromaLocation, ColorInfo
from overmix.errors import UsageError
from overmix.frame import Frame, PlaneLayout
from overmix.geometry import Offsets
from overmix.io.store import FrameStore
from overmix.render.stack import render
from tests.render.scene import frame_planes, to_codes

H, W = 40, 56
ORIGIN = 20.0
COLOR = ColorInfo(bit_depth=10, chroma_location=ChromaLocation.LEFT)
BLOTCH = (slice(10, 26), slice(14, 34))  # frame coordinates, even-aligned for 4:2:0


def _frames(xy: np.ndarray, dirty: set[int], lum_value: float = 0.02,
            ) -> tuple[list[tuple[np.ndarray, ...]], list]:
    """Clean and dirty code planes: frames in ``dirty`` get a saturated blotch."""
    clean, dirt = [], []
    for k, (x, y) in enumerate(xy):
        planes = frame_planes(ORIGIN + x, ORIGIN + y, H, W)
        clean.append(to_codes(planes, 10))
        if k in dirty:
            lum, cb, cr = (p.copy() for p in planes)
            lum[BLOTCH] = lum_value
            half = (slice(BLOTCH[0].start // 2, BLOTCH[0].stop // 2),
                    slice(BLOTCH[1].start // 2, BLOTCH[1].stop // 2))
            cb[half] = -0.2
            cr[half] = 0.45
            planes = (lum, cb, cr)
        dirt.append(to_codes(planes, 10))
    return clean, dirt


def _store(codes: list[tuple[np.ndarray, ...]]) -> FrameStore:
    return FrameStore.from_frames([Frame(c, PlaneLayout(), COLOR, index=k)
                                   for k, c in enumerate(codes)])


def _weights(dirty: set[int], floor: float = 0.0):
    m = np.ones((H, W), np.float32)
    m[BLOTCH[0].start - 2:BLOTCH[0].stop + 2, BLOTCH[1].start - 2:BLOTCH[1].stop + 2] = floor
    return lambda k: m if k in dirty else None


@pytest.mark.parametrize("method", ["average", "median", "min", "max", "sigma-clip"])
def test_masked_frames_leave_the_blotch_out(method: str) -> None:
    n = 7
    xy = np.stack([np.arange(n) * 4.0, np.arange(n) * 1.0], axis=1)
    dirty = {1, 2, 3, 4, 5}  # most frames: a median alone would keep the blotch
    clean, dirt = _frames(xy, dirty, 0.98 if method == "max" else 0.02)
    off = Offsets(xy, list(range(n)), W, H)
    with _store(clean) as cs, _store(dirt) as ds:
        ref = render(cs, off, method=method)
        plain = render(ds, off, method=method)
        got = render(ds, off, method=method, frame_weights=_weights(dirty))
        # where a clean frame reaches, the masked render equals the clean one
        for p in range(3):
            seen = ref.planes[p] != 0
            err = np.abs(got.planes[p] - ref.planes[p])
            bad = np.abs(plain.planes[p] - ref.planes[p])
            if p == 0:
                cov = got.coverage > 0
                assert bad[cov].max() > 0.1  # the blotch shows without the weights
                assert err[cov].max() < 2e-3, (method, p, err[cov].max())
            else:
                assert err[seen].max() < 2e-3 or np.percentile(err[seen], 99.5) < 2e-3


def test_floor_weight_fills_places_only_dirty_frames_see() -> None:
    n = 3
    xy = np.array([[0.0, 0.0], [3.0, 0.0], [6.0, 0.0]])
    dirty = {0, 1, 2}  # every frame: nothing sees the blotch area cleanly
    _, dirt = _frames(xy, dirty)
    off = Offsets(xy, list(range(n)), W, H)
    with _store(dirt) as ds:
        hole = render(ds, off, frame_weights=_weights(dirty, 0.0))
        filled = render(ds, off, frame_weights=_weights(dirty, 1e-4))
        plain = render(ds, off)
        assert hole.stats["holes"] > 0
        assert filled.stats["holes"] == 0
        # where no frame is clean, the frames fill in with their (equal) floor weights
        from scipy import ndimage

        inner = ndimage.binary_erosion(hole.coverage == 0, iterations=3)
        assert inner.any()
        assert np.abs(filled.planes[0] - plain.planes[0])[inner].max() < 2e-3
        med = render(ds, off, method="median", frame_weights=_weights(dirty, 1e-4))
        assert med.stats["holes"] == 0


def test_frame_weights_of_the_wrong_shape_are_refused() -> None:
    xy = np.array([[0.0, 0.0], [2.0, 1.0]])
    clean, _ = _frames(xy, set())
    with _store(clean) as cs, pytest.raises(UsageError, match="frame weights"):
        render(cs, Offsets(xy, [0, 1], W, H),
               frame_weights=lambda k: np.ones((H + 1, W), np.float32))

"""Mosaic detection and recovery on a drawn pan under a screen-fixed censor."""

from __future__ import annotations

import numpy as np
import pytest

from overmix.errors import InputError
from overmix.geometry import Canvas
from overmix.restore.degrade import BlockMean, block_mean
from overmix.restore.mosaic import MosaicInfo, detect_mosaic, recover_mosaic
from tests.restore.scenes import CelScene, psnr


def censored_pan(n: int = 40, h: int = 72, w: int = 96, block: int = 8,
                 phase: tuple[int, int] = (5, 3), region: tuple[slice, slice] | None = None,
                 seed: int = 4) -> tuple[CelScene, np.ndarray, list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    sc = CelScene(4, hatch=False)
    steps = np.c_[np.full(n, 1.0), np.full(n, 0.55)]
    xy = np.cumsum(steps, 0) - steps[0] + rng.uniform(-0.3, 0.3, (n, 2))
    xy[0] = 0
    mask = np.zeros((h, w), bool)
    py, px = phase[1], phase[0]
    region = region or (slice(py + 2 * block, py + 6 * block), slice(px + 2 * block,
                                                                   px + 8 * block))
    mask[region] = True
    frames = []
    for x, y in xy:
        f = sc.frame(h, w, 60 + x, 40 + y) + rng.normal(0, 0.003, (h, w))
        f = block_mean(f.astype(np.float32), block, phase, mask)
        frames.append(np.clip(np.round(f * 255) / 255, 0, 1).astype(np.float32))
    return sc, xy, frames, mask


def test_block_mean_is_a_projection() -> None:
    rng = np.random.default_rng(0)
    x = rng.random((20, 30)).astype(np.float32)
    mask = np.zeros((20, 30), bool)
    mask[5:15, 4:20] = True
    m = BlockMean(x.shape, 6, (4, 5), mask)
    y = m(x)
    np.testing.assert_allclose(m(y), y, atol=1e-6)  # idempotent
    z = rng.random((20, 30)).astype(np.float32)
    assert float(np.vdot(m(x), z)) == pytest.approx(float(np.vdot(x, m(z))), rel=1e-5)
    np.testing.assert_allclose(y, block_mean(x, 6, (4, 5), mask), atol=1e-6)
    assert np.array_equal(y[~m.sel], x[~m.sel])


@pytest.mark.parametrize(("block", "phase"), [(8, (5, 3)), (6, (0, 2)), (12, (7, 0))])
def test_detects_block_size_phase_and_region(block: int, phase: tuple[int, int]) -> None:
    _, _, frames, mask = censored_pan(n=12, block=block, phase=phase)
    info = detect_mosaic(frames, len(frames))
    assert info is not None
    assert info.block == block and info.phase == phase
    # precision matters most (a false region throws away direct observations); cells over
    # flat parts of the drawing are indistinguishable from the drawing and may be missed
    both = (info.mask & mask).sum()
    assert both / info.mask.sum() > 0.95
    assert both / mask.sum() > 0.6


def test_no_mosaic_in_a_clean_pan() -> None:
    sc = CelScene(8, hatch=False)
    frames = [sc.frame(72, 96, 30 + k, 30 + 0.5 * k) for k in range(10)]
    assert detect_mosaic(frames, len(frames)) is None
    with pytest.raises(InputError):
        detect_mosaic([], 0)


def test_recovers_covered_area_above_30db() -> None:
    sc, xy, frames, mask = censored_pan(n=40)
    info = detect_mosaic(frames, len(frames))
    assert info is not None
    canvas = Canvas.covering(xy, 96, 72)
    truth = sc.luma(canvas.height, canvas.width, 60 + canvas.x - 0.5, 40 + canvas.y - 0.5)
    calls = []
    res = recover_mosaic(frames, len(frames), xy, canvas, info, iterations=120,
                         progress=lambda s, d, t: calls.append(d))
    assert res.plane.shape == truth.shape
    assert res.covered.sum() > 0 and (res.covered & ~res.direct).sum() > 0
    assert psnr(res.plane, truth, res.covered) >= 30
    # the plain average of the censored frames is far worse on the covered area
    avg = np.zeros(truth.shape)
    cnt = np.zeros(truth.shape)
    for f, (x, y) in zip(frames, np.round(xy).astype(int), strict=True):
        avg[y:y + 72, x:x + 96] += f
        cnt[y:y + 72, x:x + 96] += 1
    avg /= np.maximum(cnt, 1)
    assert psnr(res.plane, truth, res.covered) > psnr(avg, truth, res.covered) + 5
    assert res.recovered_fraction > 0.95
    assert calls


def test_short_pan_reports_little_recovered() -> None:
    _, xy, frames, mask = censored_pan(n=3)
    res = recover_mosaic(frames, 3, xy, Canvas.covering(xy, 96, 72),
                         MosaicInfo(8, (5, 3), mask, 1.0), iterations=20)
    assert res.recovered_fraction < 0.5


def test_wrong_mask_shape() -> None:
    _, xy, frames, _ = censored_pan(n=4)
    bad = MosaicInfo(8, (0, 0), np.ones((10, 10), bool), 1.0)
    with pytest.raises(InputError):
        recover_mosaic(frames, 4, xy, Canvas.covering(xy, 96, 72), bad)

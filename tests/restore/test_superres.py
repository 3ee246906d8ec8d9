"""Super-resolution: forward operators and reconstruction against area-sampled truth."""

from __future__ import annotations

import math

import numpy as np
import pytest

from overmix.errors import InputError, UsageError
from overmix.geometry import Canvas
from overmix.restore.degrade import axis_operator, frame_warp, hr_grid
from overmix.restore.superres import SrStats, back_project, check_scale, superresolve
from tests.restore.scenes import CelScene, average_upscaled, common_area, psnr, ssim


def test_axis_operator_box_weights() -> None:
    # latent cells of width 0.5 starting at -0.5; a unit box centred at 0.25 covers
    # [-0.25, 0.75): half of cell 0, cells 1 and 2 whole... in thirds of its length
    op = axis_operator(np.array([0.25]), 1.0, 0.0, -0.5, 0.5, 6)
    dense = np.zeros(6)
    dense[op.start:op.start + op.span] = op.mat.toarray()[0]
    np.testing.assert_allclose(dense, [0.25, 0.5, 0.25, 0, 0, 0], atol=1e-6)
    # with a Gaussian the row still sums to one and spreads wider
    op2 = axis_operator(np.array([1.0]), 1.0, 0.8, -0.5, 0.5, 10)
    assert op2.mat.sum() == pytest.approx(1.0, abs=1e-5)
    assert op2.span > 4


def test_warp_adjoint_is_transpose() -> None:
    rng = np.random.default_rng(0)
    canvas = Canvas(0.0, 0.0, 30, 20)
    grid = hr_grid(canvas, 2.5, (2, 2), (0.0, 0.5))
    warp = frame_warp((3.3, 1.7), (8, 12), grid, plane_sub=(2, 2), plane_offset=(0.0, 0.5),
                      psf_sigma=0.6)
    x = rng.random(grid.shape).astype(np.float32)
    y = rng.random((8, 12)).astype(np.float32)
    aty = np.zeros(grid.shape, np.float32)
    warp.adjoint(y, aty)
    assert float(np.vdot(warp.forward(x), y)) == pytest.approx(float(np.vdot(x, aty)), rel=1e-4)


def _pan(n: int, h: int, w: int, seed: int = 1) -> tuple[CelScene, np.ndarray, list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    sc = CelScene(3)
    xy = np.c_[rng.uniform(0, 8, n), rng.uniform(0, 6, n)]
    xy[0] = 0
    frames = []
    for x, y in xy:
        f = sc.frame(h, w, 40 + x, 40 + y) + rng.normal(0, 0.01, (h, w))
        frames.append(np.clip(np.round(f * 255) / 255, 0, 1).astype(np.float32))
    return sc, xy, frames


@pytest.mark.parametrize("scale", [2.0, 1.5])
def test_superresolution_beats_upscaled_average(scale: float) -> None:
    n, h, w = 30, 48, 64
    sc, xy, frames = _pan(n, h, w)
    canvas = Canvas.covering(xy, w, h)
    hh, ww = math.ceil(canvas.height * scale), math.ceil(canvas.width * scale)
    truth = sc.luma(hh, ww, 40 + canvas.x - 0.5, 40 + canvas.y - 0.5, 1 / scale)
    _, base = average_upscaled(frames, xy, canvas.x, canvas.y, canvas.width, canvas.height,
                               scale)
    stats = SrStats([], [])
    calls = []
    sr, weight = superresolve(lambda k: frames[k], n, xy, canvas, scale=scale, iterations=15,
                              clip=(0, 1), stats=stats,
                              progress=lambda s, d, t: calls.append((s, d, t)))
    assert sr.shape == truth.shape == weight.shape
    a = common_area(xy, w, h, canvas.x, canvas.y, scale)
    gain = psnr(sr[a], truth[a]) - psnr(base[a], truth[a])
    assert gain >= 1.5, gain
    assert ssim(sr[a], truth[a]) > ssim(base[a], truth[a])
    # monotone objective (majorise-minimise steps), one progress call per iteration
    obj = stats.objective
    assert all(b <= a + 1e-3 for a, b in zip(obj[:-1], obj[1:], strict=True))
    assert calls[-1] == ("superres", 15, 15)


def test_superresolution_of_subsampled_chroma_keeps_siting() -> None:
    """A 4:2:0 'left'-sited plane: frames made by the forward model from a known picture."""
    rng = np.random.default_rng(5)
    sc = CelScene(7, hatch=False)
    n, h, w, scale = 24, 40, 56, 2.0
    off = (0.0, 0.5)  # left siting: chroma (i, j) at luma (2j, 2i + 0.5)
    xy = np.c_[rng.uniform(0, 6, n), rng.uniform(0, 6, n)]
    xy[0] = 0
    frames = []
    for x, y in xy:  # each chroma sample = mean over its 2x2 luma footprint
        frames.append(sc.luma(h // 2, w // 2, 30 + x + off[0] - 1, 30 + y + off[1] - 1, 2.0))
    canvas = Canvas.covering(xy, w, h)
    grid = hr_grid(canvas, scale, (2, 2), off)
    truth = sc.luma(grid.height, grid.width, 30 + grid.x0, 30 + grid.y0, grid.px)
    sr, _ = superresolve(frames, n, xy, canvas, scale=scale, plane_sub=(2, 2),
                         plane_offset=off, iterations=15)
    bp, _ = back_project(frames, n, xy, canvas, scale=scale, plane_sub=(2, 2),
                         plane_offset=off)
    inner = (slice(3, -3), slice(3, -3))
    assert psnr(sr[inner], truth[inner]) > 30
    assert psnr(sr[inner], truth[inner]) > psnr(bp[inner], truth[inner]) + 1.5
    # half a chroma sample of siting error costs several dB
    wrong, _ = superresolve(frames, n, xy, canvas, scale=scale, plane_sub=(2, 2),
                            plane_offset=(0.5, 0.5), grid_offset=off, iterations=15)
    assert psnr(sr[inner], truth[inner]) > psnr(wrong[inner], truth[inner]) + 2


@pytest.mark.parametrize("bad", [1, 1.0, 0.5, -2, 9, float("nan"), "x"])
def test_bad_scale(bad: object) -> None:
    with pytest.raises(UsageError):
        check_scale(bad)  # type: ignore[arg-type]
    with pytest.raises(UsageError):
        superresolve([np.zeros((4, 4), np.float32)], 1, np.zeros((1, 2)),
                     Canvas(0, 0, 4, 4), scale=bad)  # type: ignore[arg-type]


def test_superres_needs_frames() -> None:
    with pytest.raises(InputError):
        superresolve([], 0, np.zeros((0, 2)), Canvas(0, 0, 4, 4), scale=2)


def test_valid_mask_ignores_a_static_logo() -> None:
    n, h, w, scale = 24, 48, 64, 2.0
    sc, xy, frames = _pan(n, h, w, seed=3)
    logo = np.zeros((h, w), bool)
    logo[4:14, 40:60] = True  # fixed to the screen while the drawing pans
    stamped = [np.where(logo, np.float32(1.0), f) for f in frames]
    canvas = Canvas.covering(xy, w, h)
    hh, ww = math.ceil(canvas.height * scale), math.ceil(canvas.width * scale)
    truth = sc.luma(hh, ww, 40 + canvas.x - 0.5, 40 + canvas.y - 0.5, 1 / scale)
    a = common_area(xy, w, h, canvas.x, canvas.y, scale)
    plain, _ = superresolve(stamped, n, xy, canvas, scale=scale, iterations=10, clip=(0, 1))
    masked, wgt = superresolve(stamped, n, xy, canvas, scale=scale, iterations=10, clip=(0, 1),
                               valid=(~logo).astype(np.float32))
    assert psnr(masked[a], truth[a]) > psnr(plain[a], truth[a]) + 3
    assert wgt.max() > 0

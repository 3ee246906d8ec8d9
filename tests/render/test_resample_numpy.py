"""The numpy resampling passes against a direct per-sample loop (clamped taps, any plan)."""

from __future__ import annotations

import numpy as np
import pytest

from overmix.render.resample import AxisPlan, accumulate, axis_plan, resample_plane, splat


def _ref_resample(src: np.ndarray, px: AxisPlan, py: AxisPlan) -> np.ndarray:
    h, w = src.shape
    out = np.zeros((py.hi - py.lo, px.hi - px.lo))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            acc = 0.0
            for ty in range(py.weights.shape[1]):
                r = min(max(py.start[i] + ty, 0), h - 1)
                for tx in range(px.weights.shape[1]):
                    c = min(max(px.start[j] + tx, 0), w - 1)
                    acc += py.weights[i, ty] * px.weights[j, tx] * float(src[r, c])
            out[i, j] = acc
    return out


def _random_plan(rng: np.random.Generator, n_src: int, kernel: str, step: int) -> AxisPlan:
    off = float(rng.uniform(-3, 3))
    plan = axis_plan(-2.0, 1, n_src + 6, off, step, n_src, (off - 0.5, off + step * n_src - 0.5),
                     kernel)
    assert plan is not None
    return plan


@pytest.mark.parametrize("kernel", ["cubic", "lanczos3", "linear"])
@pytest.mark.parametrize("step", [1, 2])
def test_numpy_passes_match_loop(kernel: str, step: int) -> None:
    rng = np.random.default_rng(7 + step)
    src = rng.integers(0, 1024, (23, 31)).astype(np.uint16)
    px = _random_plan(rng, 31, kernel, step)
    py = _random_plan(rng, 23, kernel, step)
    ref = _ref_resample(src, px, py)
    got = resample_plane(src.astype(np.float32), px, py)
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-3)  # codes up to 1023

    a, b = 1 / 876.0, -64 / 876.0
    shape = (py.hi + 2, px.hi + 2)
    acc = np.zeros(shape, np.float32)
    wacc = np.zeros(shape, np.float32)
    splat(src, px, py, acc, wacc, a=a, b=b)
    w = np.multiply.outer(py.cover, px.cover).astype(np.float64)
    want = np.zeros(shape)
    want[py.lo:py.hi, px.lo:px.hi] = w * (a * ref + b)
    np.testing.assert_allclose(acc, want, atol=2e-6)
    np.testing.assert_allclose(wacc[py.lo:py.hi, px.lo:px.hi], w, atol=1e-7)

    acc2 = np.zeros(shape, np.float32)
    w2 = rng.uniform(0, 1, w.shape).astype(np.float32)
    accumulate(acc2, got, px, py, w2, power=2)
    g64 = got.astype(np.float64)
    np.testing.assert_allclose(acc2[py.lo:py.hi, px.lo:px.hi], w2 * g64 * g64, rtol=1e-6)

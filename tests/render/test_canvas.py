"""Canvas/frame sample grids and axis plans: chroma moves by offset / sub, never rounded."""

from __future__ import annotations

import numpy as np

from overmix.color.spec import ChromaLocation
from overmix.frame import PlaneLayout
from overmix.geometry import Canvas
from overmix.render.canvas import canvas_grid, frame_grid
from overmix.render.resample import axis_plan, kernel_weights


def test_grids_follow_the_siting() -> None:
    lay = PlaneLayout()
    cv = Canvas(-3.0, 2.0, 101, 51)
    g = canvas_grid(cv, lay, ChromaLocation.LEFT, 1)
    assert (g.x0, g.y0, g.step_x, g.rows, g.cols) == (-3.0, 2.5, 2, 26, 51)
    f = frame_grid(5.25, -1.5, 40, 60, lay, ChromaLocation.CENTER, 1)
    assert (f.x(2), f.y(1)) == (5.25 + 4 + 0.5, -1.5 + 2 + 0.5)
    full = canvas_grid(cv, lay, ChromaLocation.LEFT, 1, full_chroma=True)
    assert (full.step_x, full.x0, full.y0, full.cols) == (1, -3.0, 2.0, 101)


def test_odd_offset_moves_chroma_half_a_sample() -> None:
    lay = PlaneLayout()
    cv = Canvas(0.0, 0.0, 80, 40)
    dst = canvas_grid(cv, lay, ChromaLocation.LEFT, 1)
    src = frame_grid(3.0, 0.0, 40, 64, lay, ChromaLocation.LEFT, 1)
    p = axis_plan(dst.x0, dst.step_x, dst.cols, src.x0, src.step_x, src.cols, (2.0, 66.0))
    assert p is not None
    # canvas chroma sample j reads frame chroma position j - 1.5: phase 0.5, first tap j - 3
    j = np.arange(p.lo, p.hi)
    assert np.array_equal(p.start, j - 2 - 1)
    assert np.allclose(p.weights, kernel_weights("cubic", np.array([0.5]))[0])


def test_kernels_interpolate_and_sum_to_one() -> None:
    for k in ("cubic", "lanczos3", "linear"):
        w = kernel_weights(k, np.linspace(0, 0.99, 12))
        assert np.allclose(w.sum(axis=1), 1.0)
        w0 = kernel_weights(k, np.array([0.0]))[0]
        assert np.isclose(w0.max(), 1.0) and np.isclose(np.abs(w0).sum(), 1.0)

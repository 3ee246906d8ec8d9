"""pipeline: output conversion in strips, spilled store, offsets validation."""

from __future__ import annotations

import numpy as np
import pytest

from overmix.color.spec import ColorInfo
from overmix.errors import InputError
from overmix.frame import Frame, PlaneLayout
from overmix.geometry import Offsets
from overmix.io.store import FrameStore
from overmix.pipeline import (
    StitchOptions,
    _positions,
    canvas_frame,
    canvas_image,
    render_canvas,
)
from tests.render.scene import frame_planes, scene_rgb, to_codes

H, W = 40, 56
COLOR = ColorInfo(bit_depth=10)


def _frames(xy: np.ndarray) -> list[Frame]:
    return [Frame(to_codes(frame_planes(20 + x, 20 + y, H, W)), PlaneLayout(), COLOR, index=k)
            for k, (x, y) in enumerate(xy)]


@pytest.mark.parametrize("budget", [0, 1 << 30])
def test_rgb_output_matches_the_drawn_scene(budget: int) -> None:
    xy = np.array([[0.0, 0.0], [7.3, 0.0], [15.6, 0.0]])  # x only: no holes
    off = Offsets(xy, [0, 1, 2], W, H)
    with FrameStore.from_frames(_frames(xy), budget_bytes=budget) as store:
        (res,) = render_canvas(store, off, StitchOptions())
    assert not res.has_holes
    img = canvas_image(res, depth=16, strip=8)
    whole = canvas_image(res, depth=16, strip=100000)
    assert img.shape == (H, res.canvas.width, 3)
    assert np.array_equal(img, whole)  # strips join without seams
    yy, xx = np.mgrid[0:H, 0:res.canvas.width].astype(np.float64)
    truth = scene_rgb(xx + 20, yy + 20)
    err = img[2:-2, 2:-2] / 65535.0 - truth[2:-2, 2:-2]
    assert np.sqrt(np.mean(err**2)) < 0.03  # chroma is 4:2:0: colour edges are soft
    assert np.median(np.abs(err)) < 0.004


def test_holes_give_rgba_and_dump_frames_keep_codes() -> None:
    xy = np.array([[0.0, 0.0], [6.0, 5.0]])
    off = Offsets(xy, [0, 1], W, H)
    frames = _frames(xy)
    with FrameStore.from_frames(frames) as store:
        (res,) = render_canvas(store, off, StitchOptions())
    assert res.has_holes
    img = canvas_image(res, depth=8)
    assert img.shape[2] == 4
    assert img[0, -1, 3] == 0 and img[10, 10, 3] == 255
    f = canvas_frame(res)
    assert f.alpha is not None and f.planes[0].dtype == np.uint16
    # whole-pixel offsets: frame 0's codes come back unchanged where only it reaches
    assert np.array_equal(f.planes[0][:5, :6], frames[0].planes[0][:5, :6])


def test_offsets_for_missing_frames_are_named() -> None:
    with FrameStore.from_frames(_frames(np.zeros((2, 2)))) as store:
        off = Offsets(np.zeros((3, 2)), [0, 1, 7], W, H)
        with pytest.raises(InputError, match="not in the input: 7"):
            _positions(store, off)

"""pipeline: output conversion in strips, spilled store, offsets validation."""

from __future__ import annotations

import numpy as np
import pytest

from overmix.color.spec import ColorInfo
from overmix.commands.options import StitchOptions
from overmix.commands.stages import positions as _positions
from overmix.commands.stages import render_canvas
from overmix.errors import InputError
from overmix.frame import Frame, PlaneLayout
from overmix.geometry import Offsets
from overmix.io.store import FrameStore
from overmix.render.picture import canvas_frame, canvas_image
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


def test_lossless_video_pan_end_to_end_beats_single_frames(tmp_path) -> None:
    """Decode → align → render on a lossless 10-bit pan with sub-pixel motion in both axes:
    the stitched Y' is closer to the drawn scene than each frame is, over that frame's area."""
    from overmix.commands.stitch import stitch
    from tests.videogen import color_tags, encode_video

    h, w, n = 64, 96, 8
    rng = np.random.default_rng(3)
    xy = np.stack([np.arange(n) * 3.37, np.arange(n) * 1.21], axis=1)
    planes = [to_codes(frame_planes(20 + x, 20 + y, h, w), 10, 0.015, rng) for x, y in xy]
    path = encode_video(tmp_path / "pan.mkv", planes, "ffv1", "yuv420p10le",
                        tags=color_tags("709"))
    res = stitch(path, StitchOptions())
    off = res.offsets
    assert np.abs(off.xy - (xy - xy[0])).max() < 0.1
    cv = res.canvas
    lum = res.planes[0]
    for k, (x, y) in enumerate(off.xy):
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
        truth_k = scene_rgb(xx + 20 + xy[k, 0], yy + 20 + xy[k, 1])
        t_y = 0.2126 * truth_k[..., 0] + 0.7152 * truth_k[..., 1] + 0.0722 * truth_k[..., 2]
        f_y = (planes[k][0].astype(np.float64) - 64) / 876
        single = np.mean((f_y - t_y) ** 2)
        r0, c0 = int(np.ceil(y - cv.y)) + 1, int(np.ceil(x - cv.x)) + 1
        r1, c1 = r0 + h - 3, c0 + w - 3
        yy, xx = np.mgrid[r0:r1, c0:c1].astype(np.float64)
        tc = scene_rgb(xx + cv.x + 20, yy + cv.y + 20)
        tc_y = 0.2126 * tc[..., 0] + 0.7152 * tc[..., 1] + 0.0722 * tc[..., 2]
        stitched = np.mean((lum[r0:r1, c0:c1] - tc_y) ** 2)
        assert stitched < 0.7 * single, (k, stitched, single)


def test_progress_reports_each_stage(tmp_path) -> None:
    from overmix.commands.align import align_input
    from overmix.commands.stitch import stitch
    from tests.videogen import make_clip

    clip = make_clip(tmp_path / "c.mkv", n=4, h=48, w=64, options={"qp": "0"})
    seen: dict[str, list[tuple[int, int | None]]] = {}

    def progress(stage: str, done: int, total: int | None) -> None:
        seen.setdefault(stage, []).append((done, total))

    res = stitch(clip, StitchOptions(render="median"), progress, output=tmp_path / "o.png")
    for stage in ("load", "align", "render"):
        assert stage in seen, seen.keys()
        done, total = seen[stage][-1]
        assert total is None or done == total
    assert (tmp_path / "o.png").is_file() and res.summary["frames"] == 4
    assert set(res.summary["timings"]) >= {"load", "align", "render", "output"}
    off, summary = align_input(clip)
    assert len(off) == 4 and summary["canvas"]["width"] >= 64

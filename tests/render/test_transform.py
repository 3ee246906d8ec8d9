"""Rendering through zoom/rotation: each plane resampled through its frame's full transform.

Frames are the analytic scene of tests/render/scene.py sampled at each frame's exact
transform (luma at pixel centres, 4:2:0 chroma at its siting, DESIGN §4), so the truth on any
canvas grid is the scene itself, independent of the renderer.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from overmix.color.spec import ChromaLocation, ColorInfo
from overmix.frame import Frame, PlaneLayout
from overmix.geometry import Offsets
from overmix.io.store import FrameStore
from overmix.render.stack import render
from tests.render.scene import scene_ycbcr, to_codes

H, W = 48, 64
ORIGIN = 20.0
COLOR = ColorInfo(bit_depth=10, chroma_location=ChromaLocation.LEFT)


def _pts(tr: np.ndarray, jj: np.ndarray, ii: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y, s, a = (float(v) for v in tr)
    ca, sa = math.cos(math.radians(a)), math.sin(math.radians(a))
    return x + s * (jj * ca - ii * sa), y + s * (jj * sa + ii * ca)


def _planes(tr: np.ndarray) -> tuple[np.ndarray, ...]:
    ii, jj = np.mgrid[0:H, 0:W].astype(np.float64)
    X, Y = _pts(tr, jj, ii)
    lum = scene_ycbcr(X + ORIGIN, Y + ORIGIN)[0]
    ci, cj = np.mgrid[0:H // 2, 0:W // 2].astype(np.float64)
    X, Y = _pts(tr, 2 * cj, 2 * ci + 0.5)  # 4:2:0 left siting
    _, cb, cr = scene_ycbcr(X + ORIGIN, Y + ORIGIN)
    return lum, cb, cr


def _store(trs: np.ndarray, noise: float) -> FrameStore:
    rng = np.random.default_rng(0)
    frames = [Frame(to_codes(_planes(t), 10, noise, rng), PlaneLayout(), COLOR, index=k)
              for k, t in enumerate(trs)]
    return FrameStore.from_frames(frames)


def _offsets(trs: np.ndarray, **kw: object) -> Offsets:
    return Offsets(trs[:, :2], list(range(len(trs))), W, H, scale=trs[:, 2], angle=trs[:, 3],
                   **kw)  # type: ignore[arg-type]


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a - b) ** 2)))


TRS = np.array([(k * 3.1, k * 1.3, 1.0 - 0.004 * k, 0.1 * k) for k in range(8)])


@pytest.mark.parametrize("method", ["average", "median"])
def test_zoom_and_rotation_render_beats_every_frame(method: str) -> None:
    with _store(TRS, 0.02) as store:
        res = render(store, _offsets(TRS), method=method)
        cv = res.canvas
        assert cv.scale == pytest.approx(TRS[:, 2].min())  # the sharpest frame's pitch
        ii, jj = np.mgrid[0:cv.height, 0:cv.width].astype(np.float64)
        truth = scene_ycbcr(cv.x + cv.scale * jj + ORIGIN, cv.y + cv.scale * ii + ORIGIN)[0]
        common = res.coverage >= len(TRS) - 0.01  # inside every frame
        assert common.sum() > 1000
        stitched = _psnr(res.planes[0][common], truth[common])
        for k, tr in enumerate(TRS):
            yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
            X, Y = _pts(tr, xx, yy)
            single = _psnr(store.planes(k)[0], scene_ycbcr(X + ORIGIN, Y + ORIGIN)[0])
            assert stitched > single + 3.0, (k, stitched, single)
        # chroma at its own siting on the canvas grid
        ch = res.planes[1].shape
        ci, cj = np.mgrid[0:ch[0], 0:ch[1]].astype(np.float64)
        tcb = scene_ycbcr(cv.x + cv.scale * 2 * cj + ORIGIN,
                          cv.y + cv.scale * (2 * ci + 0.5) + ORIGIN)[1]
        cm = common[::2, ::2][:ch[0], :ch[1]]
        assert _psnr(res.planes[1][cm], tcb[cm]) > 38.0
        assert not res.alpha.all()  # rotated frames leave the canvas corners uncovered


def test_translation_through_the_2d_path_matches_the_separable_path() -> None:
    trs = np.array([(0, 0, 1, 0), (5.3, 3.1, 1, 0), (11.7, 2.2, 1, 0)], float)
    mask = np.ones((H, W), np.float32)
    mask[10:20, 10:30] = 0
    with _store(trs, 0.0) as store:
        plain = Offsets(trs[:, :2], [0, 1, 2], W, H)
        nudged = _offsets(trs)
        nudged.scale = np.array([1.0, 1.0 + 1e-12, 1.0])  # frame 1 through the 2-D path
        for method in ("average", "median"):
            a = render(store, plain, method=method, mask=mask)
            b = render(store, nudged, method=method, mask=mask)
            for p in range(3):
                assert np.abs(a.planes[p] - b.planes[p]).max() < 1e-5
            assert np.abs(a.coverage - b.coverage).max() < 1e-5


def test_canvas_scale_override_renders_a_finer_canvas() -> None:
    trs = TRS[:4]
    with _store(trs, 0.0) as store:
        res = render(store, _offsets(trs, canvas_scale=0.5))
        cv = res.canvas
        assert cv.scale == 0.5 and cv.width > 2 * W
        ii, jj = np.mgrid[0:cv.height, 0:cv.width].astype(np.float64)
        truth = scene_ycbcr(cv.x + 0.5 * jj + ORIGIN, cv.y + 0.5 * ii + ORIGIN)[0]
        common = res.coverage >= len(trs) - 0.01
        assert _psnr(res.planes[0][common], truth[common]) > 33.0
        coarse = render(store, _offsets(trs, canvas_scale=2.0))  # anti-aliased, still right
        cv = coarse.canvas
        assert cv.width < W
        ii, jj = np.mgrid[0:cv.height, 0:cv.width].astype(np.float64)
        # truth: the scene averaged over each 2x2 canvas footprint (4x4 points)
        acc = np.zeros((cv.height, cv.width))
        for u in (-0.75, -0.25, 0.25, 0.75):
            for v in (-0.75, -0.25, 0.25, 0.75):
                acc += scene_ycbcr(cv.x + 2 * jj + u + ORIGIN, cv.y + 2 * ii + v + ORIGIN)[0]
        common = coarse.coverage >= len(trs) - 0.01
        assert _psnr(coarse.planes[0][common], acc[common] / 16) > 30.0

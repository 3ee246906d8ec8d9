"""Rendering through zoom/rotation: each plane resampled through its frame's full transform.

Frames are the analytic scene of tests/render/scene.py sampled at each frame's exact
transform (luma at pixel centres, 4:2:0 chroma at its siting, DESIGN §4), so the truth on any
canvas grid is the scene itself, independent of the renderer.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from overmix.color.spec import ChromaLocation, ColorInfo
from overmix.frame import Family, Frame, PlaneLayout
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


def _phase_weight(d: float) -> float:
    """The phase weight's factor for a source position ``d`` samples off the canvas grid:
    a Gaussian of the distance to the nearest whole sample, width 0.2 sample (the
    renderer's documented weighting, written out here)."""
    f = d - round(d)
    return math.exp(-f * f / (2 * 0.2**2))


def test_translation_through_the_2d_path_matches_the_separable_path() -> None:
    trs = np.array([(0, 0, 1, 0), (5.3, 3.1, 1, 0), (11.7, 2.2, 1, 0)], float)
    mask = np.ones((H, W), np.float32)
    mask[10:20, 10:30] = 0
    with _store(trs, 0.0) as store:
        plain = Offsets(trs[:, :2], [0, 1, 2], W, H)
        nudged = _offsets(trs)
        nudged.scale = np.array([1.0, 1.0 + 1e-12, 1.0])  # the scene through the 2-D path
        a = render(store, plain, method="median", mask=mask)
        b = render(store, nudged, method="median", mask=mask)
        for p in range(3):
            assert np.abs(a.planes[p] - b.planes[p]).max() < 1e-5
        assert np.abs(a.coverage - b.coverage).max() < 1e-5
        # the average through the 2-D path: each frame resampled as by the separable path,
        # weighted by its phase (constant over a translated frame, per plane)
        b = render(store, nudged, mask=mask)
        cv = b.canvas
        singles = [render(store, plain.with_rows([k]), positions=[k], mask=mask, canvas=cv)
                   for k in range(3)]
        assert np.abs(b.coverage - sum(r.coverage for r in singles)).max() < 1e-5
        for p, sub in ((0, 1), (1, 2), (2, 2)):
            num = np.zeros_like(b.planes[p], np.float64)
            den = np.zeros_like(num)
            sure = np.ones(num.shape, bool)  # chroma: every frame's weight there is 0 or 1
            for (x, y), r in zip(trs[:, :2], singles, strict=True):
                w = r.coverage
                if p:  # a chroma sample's weight, where its luma cell's is all 0 or all 1
                    lo = ndimage.minimum_filter(w, 5)[::2, ::2][:num.shape[0], :num.shape[1]]
                    hi = ndimage.maximum_filter(w, 5)[::2, ::2][:num.shape[0], :num.shape[1]]
                    sure &= (lo == hi) & ((lo == 0) | (lo == 1))
                    w = lo
                psi = _phase_weight((cv.x - x) / sub) * _phase_weight((cv.y - y) / sub)
                num += psi * w * r.planes[p]
                den += psi * w
            inner = sure & (den > 0)
            assert inner.sum() > 200
            ref = num[inner] / den[inner]
            assert np.abs(b.planes[p][inner] - ref).max() < 1e-4, p


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


@pytest.mark.parametrize("motion", [dict(zoom=0.04, pan=(9.0, 4.0)),
                                    dict(angle=1.0, pan=(11.0, -3.0))])
def test_line_art_canvas_beats_every_frame_with_fine_grain(motion: dict) -> None:
    """Sharp, box-sampled line art (anti-aliased over about half a pixel) with fine grain:
    a plain mean of resampled frames is capped near 40 dB by the kernel's blur at fractional
    phases, below a single frame's own 40 dB; the phase-weighted canvas is well above."""
    from tests.registration.zoomscenes import line_art, sample, truth_on_grid, zoom_track

    h, w, n = 64, 96, 12
    tr = zoom_track(n, w=w, h=h, **motion)
    scene = line_art(-30, -30, w + 30, h + 30, seed=1, density=2)
    frames = [sample(scene, tuple(t), h, w) for t in tr]
    rng = np.random.default_rng(0)
    noisy = [f + rng.normal(0, 0.01, f.shape).astype(np.float32) for f in frames]

    class Lumas:
        layout = PlaneLayout(Family.GRAY, 1, 1)
        color = ColorInfo(bit_depth=10)
        shape = (h, w)

        def __len__(self) -> int:
            return n

        def planes(self, k: int) -> tuple[np.ndarray, ...]:
            return (noisy[k],)

    off = Offsets(tr[:, :2].copy(), list(range(n)), w, h, scale=tr[:, 2].copy(),
                  angle=tr[:, 3].copy())
    res = render(Lumas(), off)
    cv = res.canvas
    truth = truth_on_grid(scene, cv.x, cv.y, cv.scale, cv.height, cv.width)
    common = res.coverage >= n - 0.01
    assert common.sum() > 4000
    stitched = _psnr(res.planes[0][common], truth[common])
    best = max(_psnr(a, b) for a, b in zip(noisy, frames, strict=True))
    assert stitched > best + 3.0, (stitched, best)


def test_unrotated_frames_take_two_1d_passes_with_the_2d_paths_result() -> None:
    """A zoomed, unrotated frame is resampled separably (two 1-D passes); the 2-D gather of
    the same tensor-product weights must give the same values, coverage and phase weights,
    for a finer canvas, a coarser one (stretched kernel) and a border."""
    from overmix.render import transform as tf
    from overmix.render.canvas import PlaneGrid

    src = np.random.default_rng(0).random((60, 90)).astype(np.float32)
    own = PlaneGrid(0, 0, 1, 1, 60, 90)
    for step, s in ((0.98, 1.01), (2.0, 1.0), (0.5, 1.2)):
        dst = PlaneGrid(-3.2, 1.7, step, step, int(70 / step), int(100 / step))
        p = tf.plan_warp(dst, own, 3.3, 2.1, s, 0.0, 2.0)
        assert p is not None and tf._separable(p)
        a = tf._band_separable(p, src, p.rows_lo, p.rows_hi, True)
        b = tf._band_2d(p, src, p.rows_lo, p.rows_hi, True)
        for x, y in zip(a, b, strict=True):
            assert (x is None) == (y is None)
            if x is not None:
                assert np.abs(x - y).max() < 1e-6
    assert not tf._separable(tf.plan_warp(dst, own, 0.0, 0.0, 1.0, 0.2, 0.0))


@pytest.mark.parametrize("dtype", [np.float32, np.uint16])
def test_rotated_frames_sample_a_quadratic_field_exactly(dtype: type) -> None:
    """The rotated (2-D, compiled) path at any position: Keys' cubic kernel and the triangle
    reproduce a quadratic and a linear field exactly (Keys 1981), Lanczos-3 a linear one
    within 0.05 px of its slope, so a plane holding such a field, seen through a rotation and
    zoom, must give the field at each canvas sample's source position (worked out here from
    the transform, DESIGN §4)."""
    from overmix.render import transform as tf
    from overmix.render.canvas import PlaneGrid

    rows, cols = 60, 90
    vv, uu = np.mgrid[0:rows, 0:cols].astype(np.float64)

    def field(u: np.ndarray, v: np.ndarray, quad: bool) -> np.ndarray:
        f = 100.0 + 3.0 * u + 2.0 * v
        return f + 0.05 * (u - 40) ** 2 - 0.03 * (u - 40) * (v - 30) if quad else f

    own = PlaneGrid(0, 0, 1, 1, rows, cols)
    dst = PlaneGrid(-5.0, -4.0, 0.9, 0.9, 90, 120)
    x, y, s, a = 2.5, -1.5, 1.03, 7.0
    for kernel, quad, tol in (("cubic", True, 1e-3), ("linear", False, 1e-3),
                              ("lanczos3", False, 0.15)):
        src = field(uu, vv, quad)
        src = (np.round(src) if dtype is np.uint16 else src).astype(dtype)
        p = tf.plan_warp(dst, own, x, y, s, a, 0.0, kernel)
        assert p is not None and not tf._separable(p)
        vals = tf.warp_values(src, p, p.rows())
        # canvas (I, J) -> frame-0 (X, Y) -> the frame's own pixel (u, v)
        ii, jj = np.mgrid[p.rows_lo:p.rows_hi, p.lo:p.hi].astype(np.float64)
        X, Y = dst.x0 + dst.step_x * jj - x, dst.y0 + dst.step_y * ii - y
        ca, sa = math.cos(math.radians(a)), math.sin(math.radians(a))
        u, v = (ca * X + sa * Y) / s, (-sa * X + ca * Y) / s
        inside = (u > 4) & (u < cols - 5) & (v > 4) & (v < rows - 5)  # all taps in the plane
        assert inside.sum() > 2000
        want = field(u, v, quad)
        if dtype is np.uint16:  # whole codes: rounding errors of 0.5, summed by the weights
            assert np.abs(vals - want)[inside].max() < 0.8 + tol, kernel
        else:
            assert np.abs(vals - want)[inside].max() < tol, kernel

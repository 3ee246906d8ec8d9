"""Rendering: exact at whole pixels, accurate at sub-pixel offsets, chroma where it belongs."""

from __future__ import annotations

import numpy as np
import pytest

from overmix.color.spec import ChromaLocation, ColorInfo
from overmix.errors import UsageError
from overmix.frame import Family, Frame, PlaneLayout
from overmix.geometry import Offsets
from overmix.io.store import FrameStore
from overmix.render.stack import RENDERS, render
from tests.render.scene import frame_planes, scene_ycbcr, to_codes

H, W = 48, 64
ORIGIN = 20.0  # world position of frame 0's pixel (0, 0)
COLOR = ColorInfo(bit_depth=10, chroma_location=ChromaLocation.LEFT)


def _store(xy: np.ndarray, noise: float = 0.0, seed: int = 0) -> FrameStore:
    rng = np.random.default_rng(seed)
    frames = []
    for k, (x, y) in enumerate(xy):
        codes = to_codes(frame_planes(ORIGIN + x, ORIGIN + y, H, W), 10, noise, rng)
        frames.append(Frame(codes, PlaneLayout(), COLOR, index=k))
    return FrameStore.from_frames(frames)


def _truth(canvas, plane: int) -> np.ndarray:
    """The scene on canvas plane ``plane`` (4:2:0 left siting for chroma)."""
    if plane == 0:
        yy, xx = np.mgrid[0:canvas.height, 0:canvas.width].astype(np.float64)
        return scene_ycbcr(xx + canvas.x + ORIGIN, yy + canvas.y + ORIGIN)[0]
    ch, cw = -(-canvas.height // 2), -(-canvas.width // 2)
    cy, cx = np.mgrid[0:ch, 0:cw].astype(np.float64)
    return scene_ycbcr(2 * cx + canvas.x + ORIGIN, 2 * cy + 0.5 + canvas.y + ORIGIN)[plane]


def _fully_covered_chroma(cov: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Chroma samples whose whole kernel neighbourhood is covered (no hole nearby)."""
    hc, wc = shape
    m = np.ones(shape, bool)
    for dy in range(-2, 4):
        for dx in range(-2, 3):
            yy = np.clip(np.arange(hc) * 2 + dy, 0, cov.shape[0] - 1)
            xx = np.clip(np.arange(wc) * 2 + dx, 0, cov.shape[1] - 1)
            m &= cov[np.ix_(yy, xx)] > 0.999
    return m


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / np.mean((a - b) ** 2)))


def test_whole_pixel_offsets_reproduce_each_frame_exactly() -> None:
    xy = np.array([[0, 0], [5, 3], [11, 2]], float)
    with _store(xy) as store:
        res = render(store, Offsets(xy, [0, 1, 2], W, H))
        for k, (x, y) in enumerate(xy.astype(int)):
            ref = store.planes(k)
            got = res.planes[0][y:y + H, x:x + W]
            # identical content (same scene, no noise) → exact wherever it is sampled
            assert np.abs(got - ref[0]).max() < 2e-3  # 10-bit code rounding only
        assert res.stats["holes"] > 0 and not res.alpha.all()
    xy1 = np.array([[0.0, 0.0]])
    with _store(xy1, noise=0.05) as store:
        res = render(store, Offsets(xy1, [0], W, H))
        for p in range(3):  # no resampling: equal to float rounding of the code conversion
            assert np.abs(res.planes[p] - store.planes(0)[p]).max() < 1e-6
        assert res.alpha.all()


def test_subpixel_pan_beats_every_single_frame_against_the_truth() -> None:
    n = 9
    k = np.arange(n)
    xy = np.stack([k * 6.37, k * 1.83 - (k % 3) * 0.61], axis=1)  # both axes, odd fractions
    with _store(xy, noise=0.02, seed=1) as store:
        res = render(store, Offsets(xy, list(range(n)), W, H))
        cv = res.canvas
        truth = _truth(cv, 0)
        for kk, (x, y) in enumerate(xy):
            frame_y = store.planes(kk)[0]
            yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
            single = _psnr(frame_y, scene_ycbcr(xx + x + ORIGIN, yy + y + ORIGIN)[0])
            r0, c0 = int(np.ceil(y - cv.y)), int(np.ceil(x - cv.x))
            r1, c1 = int(np.floor(y + H - 1 - cv.y)), int(np.floor(x + W - 1 - cv.x))
            stitched = _psnr(res.planes[0][r0:r1, c0:c1], truth[r0:r1, c0:c1])
            assert stitched > single + 2.0, (kk, stitched, single)
        for p in (1, 2):
            # chroma: better than the best single frame's chroma against its own truth
            best = 0.0
            for kk, (x, y) in enumerate(xy):
                ref = frame_planes(ORIGIN + x, ORIGIN + y, H, W)[p]
                best = max(best, _psnr(store.planes(kk)[p], ref))
            t = _truth(cv, p)
            m = _fully_covered_chroma(res.coverage, res.planes[p].shape)
            assert _psnr(res.planes[p][m], t[m]) > best + 1.0


def _edge_frame(x0: float, y0: float, k: int, edge: float) -> Frame:
    """Flat luma, a soft vertical chroma edge at world x = ``edge`` (4:2:0 left siting)."""
    cy, cx = np.mgrid[0:H // 2, 0:W // 2].astype(np.float64)
    cb = 0.2 * np.tanh((x0 + 2 * cx - edge) / 1.5) + 0.0 * cy
    lum = np.full((H, W), 0.5)
    return Frame(to_codes((lum, cb, -cb)), PlaneLayout(), COLOR, index=k)


@pytest.mark.parametrize("x1", [31.0, 33.0, 30.0])
def test_odd_offsets_put_chroma_edges_where_the_truth_has_them(x1: float) -> None:
    # Frame 1 at an odd luma offset: its chroma lands half a chroma sample off the canvas
    # grid. Rounding it (as Overmix does) would move the chroma edge by one luma pixel.
    edge = 80.3
    xy = np.array([[0.0, 0.0], [x1, 3.0]])
    frames = [_edge_frame(x, y, k, edge) for k, (x, y) in enumerate(xy)]
    with FrameStore.from_frames(frames) as store:
        res = render(store, Offsets(xy, [0, 1], W, H))
    only1 = (slice(3, 24), slice(34, 46))  # chroma samples only frame 1 reaches
    cx = np.arange(34, 46, dtype=np.float64)
    truth = 0.2 * np.tanh((2 * cx - edge) / 1.5)
    for p, sign in ((1, 1.0), (2, -1.0)):
        got = res.planes[p][only1]
        assert np.abs(got - sign * truth).max() < 0.02  # a 1-px misplacement costs ~0.1
        # edge position (luma px) where the rendered chroma crosses 0, row by row
        row = sign * got.mean(axis=0)
        i = int(np.nonzero(row > 0)[0][0])
        x_cross = 2 * (cx[i - 1] + row[i - 1] / (row[i - 1] - row[i]))
        assert abs(x_cross - edge) < 0.15, (x_cross, edge)


def _const_frame(y: float, cb: float, cr: float, k: int, blob: tuple[float, ...] | None = None,
                 ) -> Frame:
    lum = np.full((H, W), y)
    c1 = np.full((H // 2, W // 2), cb)
    c2 = np.full((H // 2, W // 2), cr)
    if blob is not None:
        lum[10:20, 10:20] = blob[0]
        c1[5:10, 5:10] = blob[1]
        c2[5:10, 5:10] = blob[2]
    return Frame(to_codes((lum, c1, c2)), PlaneLayout(), COLOR, index=k)


def test_statistics_renders_reject_an_outlier_frame() -> None:
    base = (0.4, 0.05, -0.05)
    frames = [_const_frame(*base, k) for k in range(6)]
    frames.append(_const_frame(*base, 6, blob=(0.95, -0.2, 0.3)))  # bright blob in one frame
    xy = np.zeros((7, 2))
    off = Offsets(xy, list(range(7)), W, H)
    with FrameStore.from_frames(frames) as store:
        got = {m: render(store, off, method=m) for m in RENDERS}
    blob = (slice(12, 18), slice(12, 18))
    for m in ("median", "min", "winsorized", "sigma-clip", "min-luma"):
        assert abs(float(got[m].planes[0][blob].mean()) - 0.4) < 3e-3, m
        assert abs(float(got[m].planes[2][6:9, 6:9].mean()) + 0.05) < 3e-3, m
    assert got["average"].planes[0][blob].mean() > 0.45
    assert got["max"].planes[0][blob].mean() > 0.9
    assert got["max-luma"].planes[0][blob].mean() > 0.9
    # max-luma takes the blob frame's chroma with its luma; per-channel max would not
    assert abs(float(got["max-luma"].planes[1][6:9, 6:9].mean()) + 0.2) < 3e-3
    assert got["max"].planes[1][6:9, 6:9].mean() > 0.04
    diff = got["difference"]
    assert diff.layout.family == Family.GRAY and len(diff.planes) == 1
    assert diff.planes[0][blob].min() > 0.1 and diff.planes[0][30:, 30:].max() < 2e-3


def test_min_luma_picks_chroma_from_the_darkest_frame_per_site() -> None:
    # two frames, each darker on one half: chroma must follow the darker frame on each side
    a = _const_frame(0.3, 0.1, 0.1, 0)
    b = _const_frame(0.6, -0.1, -0.1, 1)
    pa = [p.copy() for p in a.planes]
    pb = [p.copy() for p in b.planes]
    pa[0][:, 32:], pb[0][:, 32:] = pb[0][:, 32:], pa[0][:, 32:].copy()
    fa, fb = a.replace(planes=tuple(pa)), b.replace(planes=tuple(pb))
    off = Offsets(np.zeros((2, 2)), [0, 1], W, H)
    with FrameStore.from_frames([fa, fb]) as store:
        res = render(store, off, method="min-luma")
    assert np.allclose(res.planes[0], 0.3, atol=3e-3)
    assert np.allclose(res.planes[1][:, :15], 0.1, atol=3e-3)
    assert np.allclose(res.planes[1][:, 17:], -0.1, atol=3e-3)


def test_mask_removes_a_region_from_stacking() -> None:
    base = (0.4, 0.05, -0.05)
    frames = [_const_frame(*base, 0), _const_frame(*base, 1, blob=(0.95, -0.2, 0.3))]
    mask = np.ones((H, W), np.float32)
    mask[8:22, 8:22] = 0.0  # ignore the blob area in every frame
    xy = np.array([[0.0, 0.0], [20.0, 10.0]])
    with FrameStore.from_frames(frames) as store:
        res = render(store, Offsets(xy, [0, 1], W, H), mask=mask)
    assert np.abs(res.planes[0][res.coverage > 0] - 0.4).max() < 3e-3
    assert res.coverage[12, 12] == 0  # masked in frame 0, outside frame 1: a hole
    assert res.coverage[30, 40] > 0.99


def test_full_chroma_renders_444_and_bad_options_are_refused() -> None:
    xy = np.array([[0.0, 0.0], [9.5, 2.25]])
    with _store(xy) as store:
        off = Offsets(xy, [0, 1], W, H)
        res = render(store, off, full_chroma=True)
        assert res.layout.sub_x == 1 and res.planes[1].shape == res.planes[0].shape
        yy, xx = np.mgrid[0:res.canvas.height, 0:res.canvas.width].astype(np.float64)
        t = scene_ycbcr(xx + ORIGIN, yy + ORIGIN)[1]
        inner = (slice(3, -3), slice(3, -3))
        assert _psnr(res.planes[1][inner], t[inner]) > 36
        with pytest.raises(UsageError):
            render(store, off, method="mean")
        with pytest.raises(UsageError):
            render(store, off, border=40)


def test_bands_give_the_same_median_as_one_tile() -> None:
    xy = np.array([[0.0, 0.0], [3.3, 1.7], [7.1, 4.2]])
    with _store(xy, noise=0.02) as store:
        off = Offsets(xy, [0, 1, 2], W, H)
        one = render(store, off, method="median")
        many = render(store, off, method="median", tile_budget=40_000)
    for a, b in zip(one.planes, many.planes, strict=True):
        assert np.array_equal(a, b)


def test_pixel_statistics_match_numpy_references() -> None:
    from overmix.render.stack_stats import WINSOR_FRACTION, _reduce

    rng = np.random.default_rng(5)
    stack = rng.normal(size=(9, 7, 11)).astype(np.float32)
    stack[rng.random(stack.shape) < 0.3] = np.nan
    stack[:, 0, 0] = np.nan  # a hole
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        ref_med = np.nanmedian(stack, axis=0)
    assert np.allclose(_reduce(stack, 0), ref_med, equal_nan=True)
    assert np.allclose(_reduce(stack, 1), np.fmin.reduce(stack, axis=0), equal_nan=True)
    assert np.allclose(_reduce(stack, 2), np.fmax.reduce(stack, axis=0), equal_nan=True)
    win = _reduce(stack, 3)
    for i, j in [(1, 1), (3, 5), (6, 10)]:
        v = np.sort(stack[:, i, j][~np.isnan(stack[:, i, j])])
        g = int(WINSOR_FRACTION * v.size)
        assert np.isclose(win[i, j], np.clip(v, v[g], v[v.size - 1 - g]).mean(), atol=1e-6)


def test_a_provider_that_changes_planes_is_read_through_planes() -> None:
    # regression: the fast codes path must not bypass a wrapper's planes() (overlay removal)
    class Brighter:
        def __init__(self, base: FrameStore) -> None:
            self.base = base

        def __getattr__(self, name: str) -> object:
            return getattr(self.base, name)

        def __len__(self) -> int:
            return len(self.base)

        def planes(self, k: int) -> tuple[np.ndarray, ...]:
            y, cb, cr = self.base.planes(k)
            return (y + 0.25, cb, cr)

    xy = np.array([[0.0, 0.0], [3.5, 1.25]])
    with _store(xy) as store:
        off = Offsets(xy, [0, 1], W, H)
        plain = render(store, off)
        bright = render(Brighter(store), off)
    cov = plain.coverage > 0
    assert np.allclose(bright.planes[0][cov] - plain.planes[0][cov], 0.25, atol=1e-5)


def test_sigma_clip_matches_a_plain_reference() -> None:
    from overmix.render.stack_stats import SIGMA_KAPPA, _reduce

    def ref(v: np.ndarray) -> float:
        keep = np.sort(v)
        for _ in range(5):
            if keep.size < 3:
                break
            med, sd = np.median(keep), keep.std()
            new = keep[(keep >= med - SIGMA_KAPPA * sd) & (keep <= med + SIGMA_KAPPA * sd)]
            if new.size == keep.size:
                break
            keep = new
        return float(keep.mean())

    rng = np.random.default_rng(8)
    stack = rng.normal(size=(12, 4, 6)).astype(np.float32)
    stack[0, :, :3] = 9.0  # outliers
    got = _reduce(stack, 4)
    for i in range(4):
        for j in range(6):
            assert np.isclose(got[i, j], ref(stack[:, i, j].astype(np.float64)), atol=1e-5)

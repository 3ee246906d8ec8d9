"""The never-seen core of a character walking across a slow pan is an outlier in nearly
every frame, like a logo, but it is no overlay to un-blend (issue #12, 720p sprite: the
un-blending weights outvoted the one frame that sees a place beside the character clean);
and the floor weight of left-out samples, summed over many frames, stays below the weight
of one usable sample next to a mask (NEAR)."""

from __future__ import annotations

import numpy as np

from overmix.frame import Frame, PlaneLayout
from overmix.geometry import Offsets
from overmix.io.store import FrameStore
from overmix.render.clean_masks import travelling
from overmix.render.consensus import FLOOR
from overmix.render.stack import render
from overmix.render.stack_base import NEAR
from tests.render.scene import frame_planes, to_codes
from tests.render.test_frame_weights import COLOR

H, W = 90, 160


def _box(y0: int, x0: int, hh: int, ww: int) -> np.ndarray:
    m = np.zeros((H, W), bool)
    m[y0:y0 + hh, x0:x0 + ww] = True
    return m


def test_walking_core_travels_a_logo_stays() -> None:
    n = 30
    # a character 40 px wide walking 1 px/frame on screen: outlier in every frame only
    # where all its positions overlap
    walk = [_box(20, 100 - k, 50, 40) for k in range(n)]
    core = np.logical_and.reduce(walk)
    assert 0 < core.sum() < 0.3 * walk[0].sum()
    got = travelling(core, walk)
    assert got.sum() == core.sum()
    # a logo: the moving masks flag it (its edges over the pan), a ragged sample or two
    # beyond it, always at the same screen place
    logo = _box(6, 8, 12, 30)
    rng = np.random.default_rng(1)
    flags = []
    for _ in range(n):
        f = logo & (rng.random((H, W)) < 0.8)
        f[5 + rng.integers(0, 2), 8 + rng.integers(0, 30)] = True
        flags.append(f)
    assert not travelling(logo, flags).any()
    # both in one clip: only the character's core travels
    both = travelling(core | logo, [a | b for a, b in zip(walk, flags, strict=True)])
    assert (both == core).all()


def test_one_near_view_outweighs_many_floor_views() -> None:
    """40 frames over one place: 39 show a blotch there (weight FLOOR), one shows the
    background next to its own mask (weight NEAR): the render shows the background."""
    n = 40
    xy = np.zeros((n, 2))
    base = frame_planes(0.0, 0.0, H, W)
    clean = to_codes(base, 10)
    lum = base[0].copy()
    lum[30:60, 40:120] = 0.95
    dirty = to_codes((lum, base[1], base[2]), 10)
    frames = [Frame(clean if k == 0 else dirty, PlaneLayout(), COLOR, index=k)
              for k in range(n)]
    w_dirty = np.ones((H, W), np.float32)
    w_dirty[26:64, 36:124] = FLOOR
    w_clean = np.ones((H, W), np.float32)
    w_clean[30:60, 40:120] = NEAR  # usable, but next to its own (elsewhere) mask
    with FrameStore.from_frames(frames) as store:
        ref = render(FrameStore.from_frames(frames[:1]), Offsets(xy[:1], [0], W, H))
        got = render(store, Offsets(xy, list(range(n)), W, H),
                     frame_weights=lambda k: w_clean if k == 0 else w_dirty)
    err = np.abs(got.planes[0] - ref.planes[0])[32:58, 42:118]
    assert err.max() < 0.01, err.max()  # blotch - background is ~0.5: under 2 % of it

"""Animation separation on drawn pans with a cyclic animation (truth: cels and ids)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from overmix.geometry import Canvas
from overmix.registration.animation import (
    CanvasAccumulator,
    animated_mask,
    auto_threshold,
    frame_mask,
    merge_static,
    separate,
)
from tests.scenes.draw import animated_pan, pan, psnr


def _same_partition(ids: list[int], truth: list[int]) -> bool:
    """ids equal truth up to renaming the groups."""
    pairs = set(zip(ids, truth, strict=True))
    return len(pairs) == len(set(ids)) == len(set(truth))


def _stitch(scene, ids, canvas, plane=0):
    groups = sorted(set(ids))
    accs = {g: CanvasAccumulator(canvas) for g in groups}
    alla = CanvasAccumulator(canvas)
    for k, g in enumerate(ids):
        accs[g].add(scene.frames[k][..., plane], scene.xy[k])
        alla.add(scene.frames[k][..., plane], scene.xy[k])
    return accs, alla


@pytest.mark.parametrize("hold", [1, 2])
def test_cyclic_animation_groups_and_psnr(hold: int) -> None:
    sc = animated_pan(n=30, hold=hold)
    canvas = Canvas.covering(sc.xy, 160, 96)
    res = separate(sc.luma, sc.xy, canvas)
    assert res.groups == 3
    assert _same_partition(res.ids, sc.extra["ids"])
    assert math.isfinite(res.threshold) and res.threshold > 0
    assert res.errors.shape == (29,)

    accs, alla = _stitch(sc, res.ids, canvas)
    groups = sorted(accs)
    renders = [accs[g].mean() for g in groups]
    weights = [accs[g].weight for g in groups]
    merged = merge_static(renders, weights, alla.mean(), alla.weight)
    covered = alla.weight > 0.5
    plain = alla.mean()
    for g in groups:
        # the truth cel of this group: the cel most of its frames show
        cel = int(np.bincount([sc.extra["ids"][k] for k in range(30) if res.ids[k] == g]).argmax())
        truth = sc.extra["cels"][cel][..., 0]
        p_plain = psnr(plain, truth, covered)
        p_own = psnr(merged[g], truth, covered)
        # the animated area alone, where the plain average blends the cels
        region = sc.extra["region"] & covered & (weights[g] > 0.5)
        assert p_own > p_plain + 6, (p_own, p_plain)
        assert psnr(merged[g], truth, region) > psnr(plain, truth, region) + 10
        assert p_own > 38


def test_plain_pan_is_one_group() -> None:
    sc = pan(n=20)
    res = separate(sc.luma, sc.xy)
    assert res.groups == 1 and set(res.ids) == {0}
    assert math.isinf(res.threshold)


def test_forced_group_count_and_threshold_override() -> None:
    sc = animated_pan(n=24, hold=2)
    two = separate(sc.luma, sc.xy, max_groups=2)
    assert two.groups == 2
    one = separate(sc.luma, sc.xy, threshold=10.0)  # nothing differs that much
    assert one.groups == 1
    # the override is used as given
    low = separate(sc.luma, sc.xy, threshold=1e-6)
    assert low.threshold == 1e-6 and low.groups == 24
    # scoring on 2x2 box means (what HD frames get by default) finds the same cels
    half = separate(sc.luma, sc.xy, reduce=2)
    assert half.groups == 3 and _same_partition(half.ids, sc.extra["ids"])


def test_auto_threshold_gap() -> None:
    same = np.array([0.020, 0.021, 0.019, 0.022])
    assert math.isinf(auto_threshold(same))
    mixed = np.array([0.02, 0.021, 0.3, 0.31, 0.019, 0.29])
    t = auto_threshold(mixed)
    assert 0.021 < t < 0.29
    # all different, far above the noise floor: every frame its own picture
    assert auto_threshold(np.array([0.3, 0.31, 0.32]), noise_floor=0.005) == 0.0


def test_animated_mask_and_frame_masks_cover_the_character() -> None:
    sc = animated_pan(n=24, hold=1)
    canvas = Canvas.covering(sc.xy, 160, 96)
    accs, _ = _stitch(sc, sc.extra["ids"], canvas)
    m = animated_mask([accs[g].mean() for g in sorted(accs)],
                      [accs[g].weight for g in sorted(accs)])
    region = sc.extra["region"]
    assert m[region].mean() > 0.95  # the moving parts are inside the mask
    assert m.mean() < 0.15  # and the mask is not the whole canvas
    fm = frame_mask(m, sc.xy[5], canvas, (96, 160))
    assert fm.shape == (96, 160)
    x, y = sc.xy[5]
    assert np.array_equal(fm, m[int(y) : int(y) + 96, int(x) : int(x) + 160])


def test_realignment_with_animation_masks() -> None:
    """Masks from the separation keep the moving character out of a re-alignment."""
    from overmix.registration import align
    from overmix.registration.animation import animated_frame_masks

    sc = animated_pan(n=18, hold=1)
    res = separate(sc.luma, sc.xy)
    cmask, masks = animated_frame_masks(sc.luma, sc.xy, res.ids)
    assert cmask[sc.extra["region"]].mean() > 0.95
    m5 = masks(5)
    assert m5.shape == (96, 160) and m5.any() and m5.mean() < 0.2
    offs = align([sc.luma(k) for k in range(18)], frame_masks=masks)
    got = offs.xy - offs.xy[0]
    assert np.abs(got - sc.xy).max() < 0.1


def test_small_blink_is_found_and_jitter_is_not_animation() -> None:
    """An eye of radius 2 px (13 px of a 160x96 frame) blinking every 3 frames: two groups.
    A still pan with sub-pixel offset errors: one group."""
    from tests.scenes.draw import _crop, _noisy, _path, _world

    n, h, w, step = 24, 96, 160, (3, 1)
    world, wh, ww = _world(h, w, n, step, 5)
    yy, xx = np.mgrid[0:wh, 0:ww]
    eye = (yy - wh // 2) ** 2 + (xx - ww // 2) ** 2 <= 4
    cels = []
    for c in range(2):
        wc = world.copy()
        wc[eye] = (0.05, 0.05, 0.05) if c == 0 else (0.9, 0.75, 0.6)
        cels.append(wc)
    xy = _path(n, step)
    rng = np.random.default_rng(1)
    ids = [(k // 3) % 2 for k in range(n)]
    frames = [_noisy(_crop(cels[ids[k]], xy[k], h, w), rng, 0.01)[..., 0] for k in range(n)]
    res = separate(frames, xy)
    assert res.groups == 2 and _same_partition(res.ids, ids)

    sc = pan(n=20)
    jittered = sc.xy + np.random.default_rng(3).uniform(-0.3, 0.3, sc.xy.shape)
    assert separate(sc.luma, jittered).groups == 1


def test_merge_planes_uses_all_frames_where_cels_agree() -> None:
    from overmix.registration.animation import merge_planes

    sc = animated_pan(n=30, hold=1, sigma=0.03)
    canvas = Canvas.covering(sc.xy, 160, 96)
    accs, alla = _stitch(sc, sc.extra["ids"], canvas)
    covered = alla.weight > 0.5
    region = sc.extra["region"]
    for g in sorted(accs):
        own = accs[g].mean()
        # a half-resolution second plane rides along (as native 4:2:0 chroma would)
        half = own[::2, ::2]
        planes, cov = merge_planes([own, half], accs[g].weight, [alla.mean(), half],
                                   alla.weight)
        assert planes[1].shape == half.shape and cov.shape == own.shape
        truth = sc.extra["cels"][g][..., 0]
        static = covered & ~ndimage_grow(region) & (accs[g].weight > 0.5)
        # static parts: averaged over all 30 frames instead of 10 -> clearly less noise
        assert psnr(planes[0], truth, static) > psnr(own, truth, static) + 3
        # animated parts keep the group's own pixels
        moving = region & (accs[g].weight > 0.5)
        assert np.array_equal(planes[0][moving], own[moving])
        # where the group saw nothing, the all-frame render fills in
        assert (cov > 0).sum() >= (accs[g].weight > 0).sum()


def ndimage_grow(mask: np.ndarray, n: int = 4) -> np.ndarray:
    from scipy import ndimage

    return ndimage.binary_dilation(mask, iterations=n)

"""A static overlay found over a slow pan (issue #12): the clean-still consensus's whole-clip
screen-fixed samples (overmix.render.consensus_maps.screen_fixed) and the full-resolution
redrawing (overmix.render.static_overlay). Frames from tests/scenes/real.py (a drawn world
sampled exactly, a semi-transparent TV logo whose alpha is known), lossless, true offsets."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from overmix.render.consensus_maps import screen_fixed
from overmix.render.static_overlay import refine_static
from tests.scenes.real import _logo_alpha, luma709, make_scene

H, W, N = 180, 320, 40
STEP = (0.6, 0.11)  # as slow against the picture as the benchmark's pan at 1280x720 is


def _scene() -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    sc = make_scene(("logo",), n=N, h=H, w=W, step=STEP)
    return [luma709(f) for f in sc.rgb], sc.xy - sc.xy[0], 0.55 * _logo_alpha(H, W)


def test_whole_clip_static_samples_hold_the_bar_that_slides_along_itself() -> None:
    ys, xy, alpha = _scene()
    _, static = screen_fixed(ys, xy, 0.03)
    logo = alpha > 0.1
    assert static is not None
    # the logo's horizontal bars move along themselves: only the pan's 4 px of travel
    # across them (over 40 frames) tells them from the background
    assert (static & logo).sum() >= 0.97 * logo.sum()  # measured 1.0
    near = ndimage.binary_dilation(alpha > 0.02, iterations=3)
    assert (static & ~near).sum() <= 20  # measured 5


def test_full_resolution_mask_hugs_the_logo() -> None:
    ys, xy, alpha = _scene()
    logo = alpha > 0.1
    region = ndimage.binary_dilation(logo, iterations=6)  # as wide as a reduced mask runs
    got = refine_static(lambda k: ys[k], xy, region, thr=0.03, min_travel=2.0)
    assert (got & logo).sum() >= 0.98 * logo.sum()  # measured 1.0
    rim = ndimage.binary_dilation(alpha > 0.02)
    # beyond the antialiased rim: 77 px (the box's inside that no frame sees clean);
    # the region itself holds 2300 more
    assert (got & ~rim).sum() <= 0.2 * logo.sum()


def _refine_by_samples(luma, xy, region, thr, min_travel):
    """refine_static as first written (before its speed-up): each round samples every
    partner's crop and the clear image bilinearly over the region's whole bounding box."""
    from overmix.morph import dilate
    from overmix.render.static_overlay import MIN_SEEN, MIN_SPECK, ROUNDS, SHARE, TRAVELS
    from overmix.travel import travel_partners
    from overmix.warp import sample_bilinear

    n = len(xy)
    rows, cols = np.flatnonzero(region.any(axis=1)), np.flatnonzero(region.any(axis=0))
    y0, y1, x0, x1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
    bh, bw = y1 - y0, x1 - x0
    partners = [sorted({j for t in TRAVELS for j in travel_partners(xy, k, t * min_travel)})
                for k in range(n)]
    frames = [np.asarray(luma(k), np.float32) for k in range(n)]
    box = region[y0:y1, x0:x1]
    static, undecided = np.zeros_like(box), box
    for _ in range(ROUNDS):
        blocked = np.zeros_like(region)
        blocked[y0:y1, x0:x1] = static | undecided
        outside = (~blocked).astype(np.float32)
        hits = np.zeros((bh, bw), np.float32)
        seen = np.zeros((bh, bw), np.float32)
        for k, js in enumerate(partners):
            v = frames[k][y0:y1, x0:x1]
            for j in js:
                dy, dx = xy[k, 1] - xy[j, 1], xy[k, 0] - xy[j, 0]
                val, cov = sample_bilinear(frames[j], None, y0 + dy, x0 + dx, bh, bw)
                ok, _ = sample_bilinear(outside, None, y0 + dy, x0 + dx, bh, bw)
                ok = (cov >= 0.99) & (ok >= 0.99)
                hits += ok & (np.abs(v - val) > thr)
                seen += ok
        now = box & (seen < MIN_SEEN)
        static = box & ~now & (hits >= SHARE * seen)
        if np.array_equal(now, undecided):
            break
        undecided = now
    static |= undecided
    lab, nlab = ndimage.label(static, structure=np.ones((3, 3), bool))
    if nlab:
        small = np.bincount(lab.ravel(), minlength=nlab + 1) < MIN_SPECK
        small[0] = False
        static &= ~small[lab]
    static |= dilate(static, square=True) & box
    out = np.zeros_like(region)
    out[y0:y1, x0:x1] = static
    return out


def test_parts_and_tap_codes_give_the_samples_mask() -> None:
    # the logo's region (top right, its partners' views leave the frame) and a band at the
    # bottom with nothing static in it: two parts of one bounding box, compared apart
    ys, xy, alpha = _scene()
    ys, xy = ys[:24], xy[:24]  # enough rounds, half the reference's time
    region = ndimage.binary_dilation(alpha > 0.1, iterations=6)
    region[150:170, 20:140] = True
    got = refine_static(lambda k: ys[k], xy, region, thr=0.03, min_travel=2.0)
    want = _refine_by_samples(lambda k: ys[k], xy, region, 0.03, 2.0)
    assert got[:100].sum() > 100  # the logo is found (and nothing at the bottom is)
    assert np.array_equal(got, want)

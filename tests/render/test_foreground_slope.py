"""A moving letter's edge left beside its mask, taken in by its value (issue #12): the
moving masks end where the pair test stops flagging, which leaves a slowly rising letter's
dark outline (beside its masked white fill) out.
:func:`overmix.render.foreground_slope.grow_slopes` takes in the pixels beside the mask whose
value stands out from what lies farther out, and leaves the background: the gap between two
stems, the counters, the edges of the drawn background's discs.

The truth is the generator's: the letters' pixels (outline and fill), drawn anti-aliased on a
background of flat greys and discs; the mask given is the letters less their outline's outer
pixel, as the redrawn masks of the 720p credits left them.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from overmix.render.fixed_edges import Crop
from overmix.render.foreground_slope import BAND, GROW, grow_slopes

H, W = 64, 260  # every row within the border band (BAND) of the top or the bottom


def _box(yy: np.ndarray, xx: np.ndarray, y0: float, y1: float, x0: float,
         x1: float) -> np.ndarray:
    return (yy >= y0) & (yy < y1) & (xx >= x0) & (xx < x1)


def _scene(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Frame (float32 (H, W)), letters (bool), the fill mask given (bool), the background
    that shows between stems and in counters (bool)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float64)
    y = 0.5 + 0.1 * xx / W  # a soft gradient, flat greys and discs of other greys
    for _ in range(14):
        cy, cx, r = rng.uniform(0, H), rng.uniform(0, W), rng.uniform(8, 26)
        y = np.where((yy - cy) ** 2 + (xx - cx) ** 2 < r * r, rng.uniform(0.25, 0.75), y)
    top = 12.0
    # an 'n' (two 9 px stems, a 5 px gap, an arch), an 'o' (a 7 px counter), and an 'e'
    # rising over the bottom border: its counter open below, its bar's top in the last two
    # rows, the bar left out of the mask
    n_shape = _box(yy, xx, top, top + 40, 30, 53) & ~_box(yy, xx, top + 9, top + 40, 39, 44)
    o_shape = _box(yy, xx, top + 10, top + 40, 80, 103) & \
        ~_box(yy, xx, top + 19, top + 31, 89, 94)
    e_top = H - 14
    e_shape = (_box(yy, xx, e_top, H, 140, 163) & ~_box(yy, xx, e_top + 6, H, 146, 157)) | \
        _box(yy, xx, H - 2, H, 146, 157)
    behind = _box(yy, xx, top + 9, top + 40, 39, 44) | _box(yy, xx, top + 19, top + 31, 89, 94) \
        | _box(yy, xx, e_top + 8, H - 4, 148, 155)
    shape = n_shape | o_shape | e_shape
    fill = ndimage.binary_erosion(shape, iterations=2, border_value=1)
    y = np.where(shape, 0.05, y)
    y = np.where(fill, 0.97, y)
    y = ndimage.gaussian_filter(y, 0.6)  # anti-aliased, as a renderer draws it
    y += rng.normal(0.0, 0.004, y.shape)  # encoder-like noise
    # the mask as found: the letters less their outline's outer pixel, without the entering
    # bar (no partner sees it)
    mask = ndimage.binary_erosion(shape, border_value=1) & ~_box(yy, xx, H - 2, H, 146, 157)
    return y.astype(np.float32), shape, mask, behind


def _grown(seed: int, pad: int = 0, band: int | None = BAND
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What :func:`grow_slopes` adds to the scene's mask (bool (H, W)), with the letters, the
    mask and the background behind; with ``pad``, the frame framed by ``pad`` px of its edge
    pixels repeated (the letters in its middle); ``band`` as :func:`grow_slopes` takes it."""
    y, shape, mask, behind = _scene(seed)
    yp = np.pad(y, pad, mode="edge")
    mp = np.pad(mask, pad)
    rows, cols = np.flatnonzero(mp.any(axis=1)), np.flatnonzero(mp.any(axis=0))
    crop = Crop(int(rows[0]), int(cols[0]),
                mp[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].copy())
    out = grow_slopes([crop, None], lambda k: yp, yp.shape, band=band)
    assert out[1] is None
    got = out[0].full(yp.shape)
    assert not (mp & ~got).any()  # only ever adds
    got = got[pad:pad + H, pad:pad + W]
    return got & ~mask, shape, mask, behind


def test_outline_taken_background_left() -> None:
    for seed in (1, 2, 3):
        added, shape, mask, behind = _grown(seed)
        near = ndimage.binary_dilation(mask, np.ones((3, 3), bool), iterations=GROW) & ~mask
        # the letters' pixels left out of the mask, against their anti-aliased rim: the
        # pixels of the letter shape itself
        edge = shape & ~mask
        back = near & ~ndimage.binary_dilation(shape, iterations=1)  # clear of the blur
        # measured: 0.93 of the outline left out taken (seeds 1-3), none of the background
        assert added[edge].mean() > 0.85, added[edge].mean()
        assert added[back].mean() < 0.02, added[back].mean()
        # the gap between the stems and the counters (less their blurred rim) stay open
        inner = ndimage.binary_erosion(behind, iterations=1)
        assert added[inner].sum() == 0



def test_only_in_the_border_band() -> None:
    # the same letters in the middle of a frame: the views of those scene points are many
    added, shape, _, _ = _grown(1, pad=BAND)
    assert added.sum() == 0


def test_whole_frame_without_band() -> None:
    # band=None (a redrawn subtitle's rim, which a pan shows anywhere in the frame): the same
    # letters in the frame's middle have their outline taken as at its border, the gap
    # between the stems and the counters left
    for seed in (1, 2):
        added, shape, mask, behind = _grown(seed, pad=BAND, band=None)
        edge = shape & ~mask
        assert added[edge].mean() > 0.85, added[edge].mean()
        assert added[ndimage.binary_erosion(behind, iterations=1)].sum() == 0


def test_taken_where_the_masks_were_found_at_full_resolution() -> None:
    # at 640x360 the moving masks are found at full resolution (reduce 1) and only judged at
    # the clip's ends and closed over their holes: the outline's last pixel is taken there too
    from overmix.render.foreground_edges import redraw_moving

    y, shape, mask, _ = _scene(1)
    got = redraw_moving([mask] * 3, 1, lambda k: y, np.zeros((3, 2)), y.shape)
    edge = shape & ~mask
    for crop in got:
        added = crop.full(y.shape) & ~mask
        assert added[edge].mean() > 0.85, added[edge].mean()  # old code: 0.08


def test_background_beyond_a_wide_mask_taken() -> None:
    # a redrawn subtitle mask on a slow pan runs two pixels past the letters:
    # like_background takes its outer pixels that show the flat background beyond it, and
    # none of the letters' own pixels
    from overmix.render.foreground_slope import SHRINK, like_background

    for seed in (1, 2, 3):
        y, shape, _, _ = _scene(seed)
        mask = ndimage.binary_dilation(shape, np.ones((3, 3), bool), iterations=SHRINK)
        crop = Crop.tight(mask)
        got = like_background([None, crop], lambda k, y=y: y, y.shape)
        assert got[0] is None
        taken = got[1].full(y.shape)
        assert not (taken & ~mask).any()  # only its own pixels
        beside = ndimage.binary_dilation(shape, np.ones((3, 3), bool))
        clear = mask & ~beside
        # measured (seeds 1-3): 0.93-0.99 of the mask's pixels clear of the letters' blurred
        # edge taken (a drawn disc's edge beside the letters is no flat background), none
        # of the letters' own, 0.14-0.33 of the blurred pixel beside them (where the
        # outline's blur is within LEVEL of a dark background) (old code: nothing taken)
        assert taken[clear].mean() > 0.9, taken[clear].mean()
        assert taken[shape].sum() == 0
        assert taken[beside & ~shape].mean() < 0.45, taken[beside & ~shape].mean()
        # never beside what never changes on screen
        got = like_background([crop], lambda k, y=y: y, y.shape, keep=mask)
        assert got[0] is None


def test_whole_frame_in_the_rows_near_the_clip_ends() -> None:
    # the rows near the clip's ends (one-sided or short pairs, which may show the outline
    # where the row does) are grown over the whole frame, the others only in the border band
    from overmix.render.foreground_edges import one_sided

    rows = one_sided(40, (8, 2))
    assert rows == frozenset([*range(10), 36, 37, 38, 39])
    assert one_sided(10, (8, 2)) == frozenset()  # too short to judge its ends
    y, shape, mask, behind = _scene(1)
    yp = np.pad(y, BAND, mode="edge")
    mp = np.pad(mask, BAND)
    crop = Crop.tight(mp)
    out = grow_slopes([crop, crop], lambda k: yp, yp.shape, everywhere={1})
    assert out[0] is crop  # the middle row: nothing taken in the frame's middle
    got = out[1].full(yp.shape)[BAND:BAND + H, BAND:BAND + W]
    edge = shape & ~mask
    assert not (mask & ~got).any()
    added = got & ~mask
    assert added[edge].mean() > 0.85, added[edge].mean()
    assert added[ndimage.binary_erosion(behind, iterations=1)].sum() == 0

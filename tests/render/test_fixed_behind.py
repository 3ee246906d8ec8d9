"""Background seen through a glyph's hole given back (overmix.render.fixed_behind, issue #12).

Frames are built here: a flat background band panned by whole pixels under two screen-fixed
things whose masks are known exactly: a ring glyph as at 720p (white fill, wide black
outline) whose hole shows a patch of the scene that, while it passes the hole, lies hidden
under the ring everywhere else (so the background just outside the glyph has another
colour), and a sign: a flat grey box of its own colour in a black frame.
"""

from __future__ import annotations

import numpy as np

from overmix.render.fixed_behind import release_behind
from overmix.render.fixed_edges import refine_fixed

H, W, N, STEP = 64, 200, 20, 2


def _scene() -> tuple[list[np.ndarray], np.ndarray, dict[str, np.ndarray], np.ndarray]:
    """Frames (N of (H, W) float32), offsets (N, 2), the truth masks (``ring``, ``hole``,
    ``sign``: bool (H, W)) and the candidate region."""
    rng = np.random.default_rng(6)
    wide = W + STEP * N
    world = np.kron(rng.uniform(0.3, 0.8, (H // 8, wide // 8 + 1)).astype(np.float32),
                    np.ones((8, 8), np.float32))[:, :wide]
    world[8:60] = 0.55
    mid = 60 + STEP * N // 2  # the world column under the hole at the middle frame
    world[22:46, mid - 20:mid + 20] = 0.75  # the patch: 40 px, as wide as the ring
    d = np.hypot(*np.mgrid[0:H, 0:W] - np.array([34.0, 60.0])[:, None, None])
    ring, hole = (d >= 8) & (d < 22), d < 6
    sign = np.zeros((H, W), bool)
    sign[18:50, 130:170] = True
    inside = np.zeros((H, W), bool)
    inside[22:46, 134:166] = True
    frames = []
    for k in range(N):
        f = world[:H, STEP * k:STEP * k + W].copy()
        f[ring & (d < 15)] = 1.0  # white fill
        f[ring & (d >= 15)] = 0.02  # black outline, 7 px
        f[sign] = 0.02
        f[inside] = 0.4
        frames.append(f)
    xy = np.stack([STEP * np.arange(N, dtype=np.float64), np.zeros(N)], axis=1)
    cand = np.zeros((H, W), bool)
    cand[2:62, 20:190] = True
    return frames, xy, {"ring": ring, "hole": hole, "sign": sign}, cand


def test_hole_shown_by_other_frames_is_given_back() -> None:
    """The hole's patch keeps its value at the same screen place while it passes (like the
    glyph), a partner frame 4 px away sees its scene points on the ring (the 'proof'), and
    its colour is not the colour around the glyph: the redrawing kept it masked. Other
    frames see the patch off their masks in its colour, and the ring around the hole is
    text: the hole is given back; the ring and the sign (whose scene points other frames
    see as the background beside it) stay masked."""
    frames, xy, truth, cand = _scene()

    def luma(n: int) -> np.ndarray:
        return frames[n]

    old = refine_fixed(luma, xy, lambda n: cand, thr=0.05, min_span=32.0)
    new = release_behind(luma, xy, old, thr=0.05)
    hole = truth["hole"]

    def usable(crops: list) -> float:
        return float(np.mean([1.0 - (c.full((H, W)) & hole).sum() / hole.sum()
                              for c in crops]))

    assert usable(old) <= 0.6, usable(old)  # measured 0.53
    assert usable(new) >= 0.95, usable(new)  # measured 0.99
    for k, c in enumerate(new):
        m = c.full((H, W))
        for name in ("ring", "sign"):
            assert (m & truth[name]).sum() >= 0.99 * truth[name].sum(), (k, name)
        assert not (m & ~old[k].full((H, W))).any(), k  # only ever less masked


def test_counters_and_gaps_of_no_text_colour_taken() -> None:
    # a slow pan's redrawn mask holds a whole subtitle line with its counters and gaps (their
    # background keeps its screen value over the little travel): off_text takes the pixels
    # of no text colour 2 px or more from the text's. The generator's 640x360 hardsub line
    # (white fill, 3 px black outline, anti-aliased) over its drawn world, uncompressed
    from scipy import ndimage

    from overmix.render.fixed_behind import off_text
    from overmix.render.fixed_edges import Crop
    from tests.scenes.real import SCENES, luma709, make_scene

    sc = make_scene(SCENES["hardsub"], n=2, h=360, w=640, step=(0.3, 0.05))
    y = luma709(sc.rgb[0]).astype(np.float32)
    drawn = sc.overlay[0]
    square = np.ones((3, 3), bool)
    mask = ndimage.binary_dilation(ndimage.binary_fill_holes(
        ndimage.binary_closing(drawn, square, iterations=3)), square)
    got = off_text([None, Crop.tight(mask)], lambda k: y, 0.05)
    assert got[0] is None
    taken = got[1].full(y.shape)
    # measured: 341 of the line's 12.7k masked pixels, none on the subtitle, every one
    # showing the clean background (old code: nothing taken)
    assert taken.sum() > 200, taken.sum()
    assert not (taken & ~mask).any()
    assert not (taken & drawn).any()
    assert np.abs(y - luma709(sc.clean[0]))[taken].max() < 0.01
    # never beside what never changes on screen
    assert off_text([Crop.tight(mask)], lambda k: y, 0.05, keep=mask)[0] is None

"""A place no frame sees clean beside a slow moving thing goes to the frame whose mask is
thinnest there (``overmix.render.rim_alone``, issue #12: the 720p sprite's "few" region).

Generated: a drawn pan (tests/render/scene.py) with a dark block moving slowly against it,
so the strips it has just left and is about to cover are seen clean only by the clip's
first and last frames. Every frame's moving mask is the block grown by 3 px (as wide as the
moving-foreground masks at 720p), so no frame is clean there; the consensus's choice (the
middle frame) shows the block, the thinnest mask shows the background.
"""

from __future__ import annotations

import numpy as np

from overmix.color.spec import ChromaLocation, ColorInfo
from overmix.frame import Frame, PlaneLayout
from overmix.geometry import Offsets
from overmix.io.store import FrameStore
from overmix.render.consensus import downsample_mask
from overmix.render.fixed_edges import Crop
from overmix.render.rim_alone import rim_owners
from overmix.render.stack import render
from tests.render.moving_plan import moving_plan
from tests.render.scene import frame_planes, to_codes

N, H, W, R = 9, 48, 64, 2
COLOR = ColorInfo(bit_depth=10, chroma_location=ChromaLocation.LEFT)
GROW = 3  # px the masks reach past the block
TAPS = 4  # the cubic kernel


def _scene() -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray], list[tuple[np.ndarray, ...]]]:
    """Offsets (N, 2), the block's true pixels and its masks per frame (bool (H, W)), and the
    clean frames' working planes."""
    xy = np.stack([np.arange(N) * 3.0, np.arange(N) * 1.0], axis=1)
    yy, xx = np.mgrid[0:H, 0:W]
    truth, masks, clean = [], [], []
    for k, (x, y) in enumerate(xy):
        # the block moves 2 px per frame to the right on the canvas
        cx, cy = 12.0 + k * 2.0 - x, 14.0 - y + 8.0
        t = (xx >= cx) & (xx < cx + 28) & (yy >= cy) & (yy < cy + 18)
        truth.append(t)
        m = t.copy()
        for _ in range(GROW):
            m[1:] |= m[:-1].copy()
            m[:-1] |= m[1:].copy()
            m[:, 1:] |= m[:, :-1].copy()
            m[:, :-1] |= m[:, 1:].copy()
        masks.append(m)
        clean.append(frame_planes(20.0 + x, 20.0 + y, H, W))
    return xy, truth, masks, clean


def _dirty(clean: list[tuple[np.ndarray, ...]], truth: list[np.ndarray]) -> FrameStore:
    frames = []
    for k, (planes, t) in enumerate(zip(clean, truth, strict=True)):
        lum, cb, cr = (p.copy() for p in planes)
        lum[t] = 0.05
        frames.append(Frame(to_codes((lum, cb, cr), 10), PlaneLayout(), COLOR, index=k))
    return FrameStore.from_frames(frames)


def test_rim_owners_give_unseen_places_beside_a_mask_to_the_thinnest() -> None:
    xy, truth, masks, _ = _scene()
    got = rim_owners(lambda n: masks[n], lambda n: masks[n], xy, (H, W))
    assert got is not None
    first, last = got.mask(0), got.mask(N - 1)
    assert first is not None and last is not None
    # the end frames show what they alone see beside the block (mostly its background;
    # a place deep in every other mask may take the last pixel of the block's edge)
    for k, m in ((0, first), (N - 1, last)):
        assert (m & ~truth[k]).sum() > 20
        assert (m & truth[k]).sum() < 0.5 * (m & ~truth[k]).sum()
    # the block's core (inside it in every frame), deep in every mask, is left to the
    # consensus
    deep = np.ones_like(got.owner, bool)
    for n in range(N):
        y, x = got.org[n]
        inner = truth[n].copy()
        for _ in range(2):
            inner[1:-1, 1:-1] &= inner[:-2, 1:-1] & inner[2:, 1:-1] & inner[1:-1, :-2] \
                & inner[1:-1, 2:]
        here = np.zeros_like(deep)
        here[y:y + H, x:x + W] = inner
        deep &= here
    assert deep.sum() > 20 and not (got.owner[deep] >= 0).any()
    # a place some frame sees clean is nobody's
    seen = np.zeros_like(got.owner, bool)
    for n in range(N):
        y, x = got.org[n]
        seen[y:y + H, x:x + W] |= ~masks[n]
    assert not (got.owner[seen] >= 0).any()


def test_still_shows_the_background_its_end_frames_alone_see() -> None:
    xy, truth, masks, clean = _scene()
    off = Offsets(xy, list(range(N)), W, H)
    rows = {k: k for k in range(N)}
    with FrameStore.from_frames([Frame(to_codes(c, 10), PlaneLayout(), COLOR, index=k)
                                 for k, c in enumerate(clean)]) as cs, _dirty(clean, truth) as ds:
        ref = render(cs, off).planes[0]
        plan = moving_plan(xy, masks, R)
        old = render(ds, off, frame_weights=plan.frame_weights(rows, "remove", TAPS)).planes[0]
        new = render(ds, off, frame_weights=plan.frame_weights(rows, "remove", TAPS,
                                                               xy)).planes[0]
    # canvas places only the first or the last frame sees clean (a pixel off the block's
    # soft edge), that some other frame covers
    cv = off.canvas
    ends = np.zeros(ref.shape, np.int32)
    mid = np.zeros(ref.shape, np.int32)
    dirty = np.zeros(ref.shape, np.int32)
    for k, t in enumerate(truth):
        y, x = int(round(xy[k, 1] - cv.y)), int(round(xy[k, 0] - cv.x))
        soft = t | np.roll(t, 1, 1) | np.roll(t, -1, 1) | np.roll(t, 1, 0) | np.roll(t, -1, 0)
        seen = ~soft
        seen[0] = seen[-1] = seen[:, 0] = seen[:, -1] = False
        (ends if k in (0, N - 1) else mid)[y:y + H, x:x + W] += seen
        dirty[y:y + H, x:x + W] += t
    only_ends = (ends > 0) & (mid == 0) & (dirty > 0)
    assert only_ends.sum() > 20
    err_old = np.abs(old - ref)[only_ends]
    err_new = np.abs(new - ref)[only_ends]
    assert np.median(err_old) > 0.1  # the middle frame's block
    assert np.median(err_new) < 0.02, np.median(err_new)
    # where some frame's mask leaves the place usable, the still is as close to the clean
    # one (closer: the consensus's frame, chosen on reduced samples, no longer blends in),
    # and overall it is closer
    usable = np.zeros(ref.shape, bool)
    for k, m in enumerate(masks):
        y, x = int(round(xy[k, 1] - cv.y)), int(round(xy[k, 0] - cv.x))
        usable[y:y + H, x:x + W] |= ~m
    inner = usable.copy()
    inner[2:-2, 2:-2] = usable[2:-2, 2:-2] & ~(~usable)[:-4, 2:-2] & ~(~usable)[4:, 2:-2] \
        & ~(~usable)[2:-2, :-4] & ~(~usable)[2:-2, 4:]  # a kernel off the masks
    assert (np.abs(new - ref) - np.abs(old - ref))[inner].max() < 1e-3
    assert np.abs(new - ref).mean() < 0.8 * np.abs(old - ref).mean()


def test_equally_thin_masks_give_the_place_to_the_frame_at_the_clips_end() -> None:
    # a block moving 1 px per frame to the right on a still canvas; the middle frames'
    # masks are tight (their pairs flag the outline itself), the end frames' are a pixel
    # wide (they carry a neighbour's mask). Beside the block's union, the place only the
    # first frame sees clean is 1 px inside its mask and 1 px inside frame 1's block:
    # equally thin, and frame 1 shows the block there
    n, h, w = 9, 24, 64
    xy = np.zeros((n, 2))
    cols = np.arange(w)
    truth, masks = [], []
    for k in range(n):
        t = np.zeros((h, w), bool)
        t[6:18, (cols >= 20 + k) & (cols < 40 + k)] = True
        m = t.copy()
        if k in (0, n - 1):
            m[5:19, (cols >= 19 + k) & (cols < 41 + k)] = True
        truth.append(t)
        masks.append(m)
    got = rim_owners(lambda j: masks[j], lambda j: masks[j], xy, (h, w))
    seen_by = {40: 0, 27: n - 1}  # column -> the only frame that sees it clean (rows 6-17)
    for col, k in seen_by.items():
        assert not truth[k][6:18, col].any()
        assert all(truth[j][6:18, col].all() for j in range(n) if j != k)
        owners = got.owner[6:18, col]
        assert (owners == k).all(), owners  # the old ties (nearest the middle) gave 1 / 7


def test_a_reduced_screen_fixed_guess_inside_the_thing_does_not_hide_its_rim() -> None:
    # the consensus's screen-fixed test, on reduced samples, takes a slowly moving
    # character's flat inside for screen-fixed (it keeps its value at the same screen
    # place), out to the rim of its mask; the full-resolution redrawing of the screen-fixed
    # content found nothing there.
    # The places beside the block only the end frames see still go to them
    xy, truth, masks, _ = _scene()
    plan = moving_plan(xy, masks, R)
    cons = plan.consensus
    assert cons is not None
    cons.fixed = [downsample_mask(m, R, (H // R, W // R)) for m in masks]  # to its rim
    plan.fixed = [Crop(0, 0, np.zeros((H, W), bool)) for _ in range(N)]
    plan.frame_weights({k: k for k in range(N)}, "remove", TAPS, xy)
    rims = plan.rims
    assert rims is not None
    for k in (0, N - 1):
        m = rims.mask(k)
        assert m is not None and (m & ~truth[k]).sum() > 20, k
        assert (m & truth[k]).sum() < 0.5 * (m & ~truth[k]).sum()


def test_near_distance_is_scipys_within_the_rim() -> None:
    """The rim owners' distances to the nearest usable sample are scipy's Euclidean
    distance transform's wherever that is at most the rim (all they read)."""
    from scipy import ndimage

    from overmix.render.rim_alone import _near_distance

    rng = np.random.default_rng(5)
    for _ in range(300):
        h, w = (int(v) for v in rng.integers(1, 40, 2))
        box = rng.random((h, w)) < rng.choice([0.3, 0.8, 0.95, 0.99])
        box[int(rng.integers(0, h)), int(rng.integers(0, w))] = False
        rim = int(rng.integers(1, 7))
        want = ndimage.distance_transform_edt(box)
        got = _near_distance(box, rim)
        inside = want <= rim
        assert np.array_equal(got <= rim, inside)
        assert np.array_equal(got[inside], want[inside])

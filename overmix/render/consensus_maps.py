"""The reduced-resolution maps the clean-still consensus (:mod:`overmix.render.consensus`) is
built from: frames placed on the reduced canvas, the mean and median references, each frame's
smoothed residual against a reference, screen-fixed content, and the cleaning of outlier
masks. Conventions (offsets in reduced samples, working Y'): :mod:`overmix.render.consensus`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from overmix.geometry import Canvas
from overmix.morph import dilate
from overmix.travel import travel_partners
from overmix.warp import CanvasAccumulator, sample_bilinear, window

MIN_SIZE = 2  # reduced samples: smaller outlier specks are noise
BAND_BYTES = 64 * 1024 * 1024
# a sample that differs from the scene in this share of its travel comparisons, and looks the
# same at the same screen place in this share, is fixed on screen over the whole clip
STATIC_SCENE = 0.6
STATIC_SCREEN = 0.2


def _place(small: np.ndarray, valid: np.ndarray | None, ty: float, tx: float, rows: int,
           cols: int) -> np.ndarray:
    """``small`` bilinearly sampled at ``(i + ty, j + tx)``, NaN where not (fully) covered."""
    val, cov = sample_bilinear(small, valid, ty, tx, rows, cols)
    val[cov < 0.99] = np.nan
    return val


def _nanmedian0(stack: np.ndarray) -> np.ndarray:
    """Median along axis 0 ignoring NaN (NaN where all are): sort (NaN last), then the
    middle one or two of the ``count`` valid values (10x faster than ``np.nanmedian``)."""
    cnt = np.count_nonzero(~np.isnan(stack), axis=0)
    if stack.shape[0] == 0:
        return np.full(stack.shape[1:], np.nan, np.float32)
    srt = np.sort(stack, axis=0)
    lo = (np.maximum(cnt, 1) - 1) // 2
    hi = np.maximum(cnt, 1) // 2
    out = 0.5 * (np.take_along_axis(srt, lo[None], 0)[0] + np.take_along_axis(srt, hi[None], 0)[0])
    out[cnt == 0] = np.nan
    return out.astype(np.float32)


def _median_reference(smalls: Sequence[np.ndarray], valids: Sequence[np.ndarray | None],
                      xy: np.ndarray, canvas: Canvas) -> np.ndarray:
    """Per-pixel median over the covering frames on the reduced canvas (NaN: no frame)."""
    hc, wc = canvas.height, canvas.width
    hs, ws = smalls[0].shape
    n = len(smalls)
    ref = np.full((hc, wc), np.nan, np.float32)
    band = max(1, int(BAND_BYTES // max(1, n * wc * 4)))
    oy = xy[:, 1] - canvas.y  # frame n's sample (0, 0) at reduced canvas (oy, ox)
    ox = xy[:, 0] - canvas.x
    for b0 in range(0, hc, band):
        b1 = min(hc, b0 + band)
        cover = [k for k in range(n) if oy[k] < b1 and oy[k] + hs > b0]
        stack = np.full((len(cover), b1 - b0, wc), np.nan, np.float32)
        for s, k in enumerate(cover):
            c0 = max(0, math.floor(ox[k]))
            c1 = min(wc, math.ceil(ox[k] + ws))
            stack[s, :, c0:c1] = _place(smalls[k], valids[k], b0 - oy[k], c0 - ox[k],
                                        b1 - b0, c1 - c0)
        ref[b0:b1] = _nanmedian0(stack)
        del stack
    return ref


def screen_fixed(smalls: Sequence[np.ndarray], xs: np.ndarray, thr: float, *,
                 min_move: float = 2.0) -> tuple[list[np.ndarray | None], np.ndarray | None]:
    """Per frame, the reduced samples that stay put on screen while the background moves;
    and the samples that do so over the whole clip (a logo, semi-transparent or not).

    For frame k and each of its travel partners j (:func:`overmix.travel.travel_partners`:
    the nearest frames before and after that moved at least ``min_move`` reduced samples
    along x, and along y, however many frames away: on a slow pan the neighbours have hardly
    moved, and an edge along the pan — a logo's bar, a subtitle box's top — slides along
    itself, so only the travel across it tells), a sample is screen-fixed when it hardly
    differs from frame j at the same *screen* position (3x3-smoothed difference below
    ``thr / 2``) but clearly differs from frame j at the same *scene* position (above
    ``thr``): text, logos, a character the camera follows. Content that looks the same both
    ways (flat areas) tells nothing and is not flagged.

    A semi-transparent logo shows the background through it, so where that is textured its
    value changes at the same screen position too, and where it covers a canvas place in
    most frames no median sees past it; but at its fixed frame position it differs from the
    scene in nearly every comparison. The second result (:func:`_static`) marks the samples
    that differ at the same scene position in most of their comparisons, in parts that also
    pass the whole test often enough somewhere (a character walking slowly across the
    screen differs from the scene as often, but its edges move, so it rarely looks the same
    at the same screen place); None when none.

    Returns bool masks in reduced frame coordinates (None: none).
    """

    out: list[np.ndarray | None] = []
    hs, ws = smalls[0].shape
    seen_n = np.zeros((hs, ws), np.float32)
    scene_n = np.zeros((hs, ws), np.float32)
    fixed_n = np.zeros((hs, ws), np.float32)
    for k in range(len(smalls)):
        m = None
        for j in travel_partners(xs, k, min_move):
            d = xs[k] - xs[j]  # frame k's sample (i, c) shows frame j's sample (i + dy, c + dx)
            same_screen = _box3(np.abs(smalls[k] - smalls[j]))
            val, cov = sample_bilinear(smalls[j], None, float(d[1]), float(d[0]), hs, ws)
            seen = cov >= 0.99
            diff = np.abs(smalls[k] - val)
            diff[~seen] = 0.0  # no comparison there (and nothing to smooth into neighbours)
            differs = (_box3(diff) > thr) & seen
            f = (same_screen < thr / 2) & differs
            seen_n += seen
            scene_n += differs
            fixed_n += f
            m = f if m is None else (m | f)
        out.append(m if m is not None and m.any() else None)
    return out, _static(seen_n, scene_n, fixed_n, len(smalls))


def _static(seen_n: np.ndarray, scene_n: np.ndarray, fixed_n: np.ndarray,
            count: int) -> np.ndarray | None:
    """Samples fixed on screen over the whole clip from the comparison counts of
    :func:`screen_fixed` (float32 (hs, ws) each): the connected parts of the samples that
    differ from the scene in :data:`STATIC_SCENE` of their comparisons holding some that
    also look the same at the same screen place in :data:`STATIC_SCREEN` of them (where a
    semi-transparent logo shows textured background, its value changes at the same screen
    place too; its letters and corners, over flatter parts, tell that the part is fixed).
    None when none."""
    enough = seen_n >= max(3.0, 0.5 * count)
    differs = enough & (scene_n >= STATIC_SCENE * seen_n)
    seeds = differs & (fixed_n >= STATIC_SCREEN * seen_n)
    if not seeds.any():
        return None
    from scipy import ndimage  # lazy: only where something is fixed on screen

    lab, n = ndimage.label(differs, structure=np.ones((3, 3), bool))
    keep = np.bincount(lab[seeds], minlength=n + 1) > 0
    keep[0] = False
    return keep[lab]


def still_samples(smalls: Sequence[np.ndarray], thr: float) -> np.ndarray:
    """Reduced frame samples whose value stays within ``thr / 2`` over every frame (bool):
    bars, an opaque static logo, and flat background that every frame shows alike."""
    lo = np.array(smalls[0], np.float32)
    hi = lo.copy()
    for s in smalls[1:]:
        np.minimum(lo, s, out=lo)
        np.maximum(hi, s, out=hi)
    return (hi - lo) < thr / 2


def _never_changes(smalls: Sequence[np.ndarray], xs: np.ndarray,
                   thr: float) -> np.ndarray | None:
    """Reduced frame samples whose value stays within ``thr / 2`` over every frame while the
    camera moves more than a frame's tenth: letterbox bars, opaque static logos (and flat
    background, which is harmless: every frame shows it alike). None when none, or when the
    camera hardly moves."""
    hs, ws = smalls[0].shape
    span = xs.max(axis=0) - xs.min(axis=0)
    if span[0] < 0.1 * ws and span[1] < 0.1 * hs:
        return None
    still = still_samples(smalls, thr)
    # only whole rows / columns from the frame edges inward: bars, not flat background
    m = np.zeros_like(still)
    rows, cols = still.mean(axis=1) >= 0.98, still.mean(axis=0) >= 0.98
    for line, axis in ((rows, 0), (cols, 1)):
        n = line.size
        a = int(np.argmin(line)) if not line.all() else n  # leading run
        b = int(np.argmin(line[::-1])) if not line.all() else 0  # trailing run
        if a >= n:  # every line still: the camera shows nothing that moves
            return None
        if axis == 0:
            m[:a] = True
            m[n - b:] = True
        else:
            m[:, :a] = True
            m[:, n - b:] = True
    return m if m.any() else None


def _mean_reference(smalls: Sequence[np.ndarray], valids: Sequence[np.ndarray | None],
                    xy: np.ndarray, canvas: Canvas) -> np.ndarray:
    """Per-pixel mean over the covering frames on the reduced canvas (NaN: no frame)."""
    acc = CanvasAccumulator(canvas, (1, 1))
    for s, v, p in zip(smalls, valids, xy, strict=True):
        acc.add(s, p, v)
    out = acc.mean()
    out[acc.weight <= 1e-6] = np.nan
    return out


def _residuals(smalls: Sequence[np.ndarray], ref: np.ndarray, xy: np.ndarray, canvas: Canvas,
               edge_slack: float) -> tuple[list[np.ndarray], float]:
    """Each frame's residual against ``ref`` (NaN = no reference) seen from its position,
    smoothed over 3x3 samples, minus the slope allowance; and the noise level (median
    smoothed residual)."""

    refcov = (~np.isnan(ref)).astype(np.float32)
    ref = np.nan_to_num(ref, nan=0.0)
    slope = _slope(ref)  # once on the canvas; a frame reads it at the nearest sample
    hs, ws = smalls[0].shape
    res: list[np.ndarray] = []
    sample = []
    for k, s in enumerate(smalls):
        ty, tx = xy[k, 1] - canvas.y, xy[k, 0] - canvas.x
        val, c = sample_bilinear(ref, refcov, ty, tx, hs, ws)
        d = np.abs(s - val)
        d[c < 0.99] = 0.0
        # the outermost samples were reduced from a clamped neighbourhood: no evidence
        d[:1], d[-1:], d[:, :1], d[:, -1:] = 0.0, 0.0, 0.0, 0.0
        d = _box3(d)
        sample.append(d[c >= 0.99][:: max(1, d.size // 4096)])
        # resampling (twice, bilinear) and sub-pixel misregistration leave residuals that
        # grow with the local slope: that much is not evidence of an outlier
        d -= np.float32(edge_slack) * window(slope, round(ty), round(tx), hs, ws)
        res.append(d)
    allr = np.concatenate(sample) if sample else np.zeros(1, np.float32)
    return res, (float(np.median(allr)) if allr.size else 0.0)


def _box3(a: np.ndarray) -> np.ndarray:
    """3x3 mean, edge samples repeated (numpy: the cheap path loads no scipy)."""
    p = np.pad(a, 1, mode="edge")
    h, w = a.shape
    out = np.zeros((h, w), np.float32)
    for dy in range(3):
        for dx in range(3):
            out += p[dy:dy + h, dx:dx + w]
    out *= np.float32(1.0 / 9.0)
    return out


def _has_blob(m: np.ndarray) -> bool:
    """True when some True sample has a True 8-neighbour (a component of >= 2 samples,
    :data:`MIN_SIZE`), without labelling."""
    if not m.any():
        return False
    p = np.pad(m, 1)
    h, w = m.shape
    nb = np.zeros_like(m)
    for dy in range(3):
        for dx in range(3):
            if dy != 1 or dx != 1:
                nb |= p[dy:dy + h, dx:dx + w]
    return bool((m & nb).any())


def _slope(a: np.ndarray) -> np.ndarray:
    """Largest absolute step to a neighbour within 3x3 samples (per sample, float32)."""
    gy = np.abs(np.diff(a, axis=0, prepend=a[:1]))
    gx = np.abs(np.diff(a, axis=1, prepend=a[:, :1]))
    g = np.pad(np.maximum(gy, gx), 1, mode="edge")
    h, w = a.shape
    out = np.zeros((h, w), np.float32)
    for dy in range(3):
        for dx in range(3):
            np.maximum(out, g[dy:dy + h, dx:dx + w], out=out)
    return out


def _clean_mask(m: np.ndarray, grow: int) -> np.ndarray | None:
    """Specks smaller than :data:`MIN_SIZE` dropped, the rest grown by ``grow``; None if
    empty."""
    from scipy import ndimage

    if not m.any():
        return None
    lab, nlab = ndimage.label(m)
    sizes = np.bincount(lab.ravel(), minlength=nlab + 1)
    small = sizes < MIN_SIZE
    small[0] = True
    m = ~small[lab]
    if not m.any():
        return None
    return dilate(m, grow)

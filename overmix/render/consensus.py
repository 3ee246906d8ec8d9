"""A clean still by default: per-frame outlier masks against a robust consensus (DESIGN §4
"Masks", §6 "Render").

Real scenes show things that do not belong to the panned background: hardsubs, logos, credits,
characters walking or talking while the camera pans. They sit at a canvas place in *some* of
the frames that cover it; the background sits there in the others. A plain average blends the
two (ghosts); this module finds, frame by frame, where a frame disagrees with the consistent
majority, so the render can fill those places from the frames that see them clean.

Streaming, at reduced resolution (luma only):

1. every frame's Y' is box-reduced by ``r`` (:func:`overmix.warp.reduce_box`; ``r`` about one
   per 320 frame columns) and kept (``n x`` a ``1/r²`` frame; ~14 MB for 60 frames of 720p);
2. the **reference** is the per-pixel median over the frames covering each reduced canvas
   sample (row bands under a byte budget), each frame's samples counted where its prior weight
   (e.g. the alignment's overlay masks) is at least one half;
3. each frame's **residual** against the reference seen from its position, smoothed over 3x3
   reduced samples (spatial coherence: a glyph or a sprite drops out whole, single noisy
   samples do not), is compared with ``max(k · noise, floor)`` (noise: the median residual);
   what exceeds it, grown by a few full-resolution pixels, is that frame's outlier mask.

A frame without outliers gets weight ``None`` (all usable), so a clean pan renders exactly as
before (the cheap path: one reduced read of the frames). Outlier pixels get a small floor weight
(:data:`FLOOR`) instead of 0: where every covering frame is an outlier (the background is never
seen clean) the render falls back to those frames instead of leaving a hole.

Pixels that are outliers in most of the frames that could see them are **persistent**: content
fixed on screen (a logo, a letterbox bar, a character the camera follows). They are reported
(:attr:`Consensus.persistent`) so a caller can try to un-blend a semi-transparent logo.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from overmix.geometry import Canvas
from overmix.warp import CanvasAccumulator, sample_bilinear, window

__all__ = ["FLOOR", "Consensus", "find_outliers", "reduce_factor", "upsample_mask"]

FLOOR = 1e-4  # weight of an outlier sample: used only where no frame sees the place clean
NOISE_K = 6.0  # outlier threshold in multiples of the median residual
MIN_LEVEL = 0.03  # ... and never below this (working Y', ~8 levels of 8-bit video)
EDGE_SLACK = 0.25  # residual allowed per unit of local slope (resampling, misregistration)
GROW_PX = 1  # outlier masks grow by this many full-resolution pixels (at least one sample)
MIN_SIZE = 2  # reduced samples: smaller outlier specks are noise
ALONE = 1e-3  # weight of the one frame that shows a place no frame sees clean
PERSIST = 0.9  # outlier in at least this fraction of the frames seeing a pixel: persistent
BAND_BYTES = 64 * 1024 * 1024


def reduce_factor(width: int, height: int) -> int:
    """Reduction used for the consensus: about one per 320 columns (1 for small frames)."""
    return max(1, min(round(width / 320), height // 32))


@dataclass
class Consensus:
    """Per-frame outlier masks.

    Attributes
    ----------
    reduce : int
        Reduction factor ``r`` of the masks.
    shape : (h, w)
        Full-resolution frame shape.
    masks : list of (ndarray bool (h // r, w // r)) or None
        Per row of the offsets: outlier samples in reduced frame coordinates (None: none).
    noise, threshold : float
        Median residual and the outlier threshold (working Y').
    persistent : ndarray bool (h, w)
        Full-resolution frame pixels that are outliers in at least :data:`PERSIST` of the frames
        (content fixed on screen: a logo, bars, a followed character).
    stats : dict
        ``outlier_frames`` (frames with outliers), ``outlier_fraction`` (mean fraction of a
        frame's pixels left out), ``reduce``, ``noise``, ``threshold``.
    fixed : list of (ndarray bool (h // r, w // r)) or None
        Per row, the part of ``masks`` found screen-fixed (text, bars); empty when not run.
    residual : list of (ndarray bool (h // r, w // r)) or None
        Per row, the part of ``masks`` found as residual outliers against the reference.
    moving : list of (ndarray bool (h // r, w // r)) or None
        Per row, the part of ``masks`` found moving on its own (``foreground``).
    """

    reduce: int
    shape: tuple[int, int]
    masks: list[np.ndarray | None]
    noise: float
    threshold: float
    persistent: np.ndarray
    stats: dict[str, object] = field(default_factory=dict)
    alone: list[np.ndarray | None] = field(default_factory=list)
    fixed: list[np.ndarray | None] = field(default_factory=list)
    residual: list[np.ndarray | None] = field(default_factory=list)
    moving: list[np.ndarray | None] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """True when no frame has outliers (a clean pan: render as usual)."""
        return all(m is None for m in self.masks)

    def outliers(self, n: int) -> np.ndarray | None:
        """Outlier mask of offsets row ``n`` at full resolution (bool (h, w)), or None."""
        m = self.masks[n]
        return None if m is None else upsample_mask(m, self.reduce, self.shape)

    def weights(self, n: int, floor: float = FLOOR) -> np.ndarray | None:
        """Render weight of row ``n``: float32 (h, w), 1 = use, ``floor`` at outliers,
        :data:`ALONE` at outliers where no frame sees the place clean and this frame is the
        one shown there; None when the frame has no outliers."""
        m = self.outliers(n)
        if m is None:
            return None
        w = np.where(m, np.float32(floor), np.float32(1.0)).astype(np.float32)
        a = self.alone[n] if n < len(self.alone) else None
        if a is not None:
            w[upsample_mask(a, self.reduce, self.shape) & m] = np.float32(ALONE)
        return w


def upsample_mask(m: np.ndarray, r: int, shape: tuple[int, int]) -> np.ndarray:
    """A reduced mask back at full resolution (each sample covers its ``r x r`` block; the
    ragged right/bottom edge dropped by the reduction repeats the last sample)."""
    if r > 1:
        m = np.repeat(np.repeat(m, r, axis=0), r, axis=1)
    h, w = shape
    out = np.empty((h, w), dtype=m.dtype)
    hh, ww = min(h, m.shape[0]), min(w, m.shape[1])
    out[:hh, :ww] = m[:hh, :ww]
    if hh < h:
        out[hh:, :ww] = m[hh - 1:hh, :ww]
    if ww < w:
        out[:, ww:] = out[:, ww - 1:ww]
    return out


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


def _neighbour(xs: np.ndarray, k: int, step: int, min_move: float, reach: int) -> int | None:
    """The nearest row after (``step`` 1) or before (-1) ``k`` that moved at least
    ``min_move`` reduced samples from it (within ``reach`` rows), or None."""
    for d in range(1, reach + 1):
        j = k + step * d
        if j < 0 or j >= len(xs):
            return None
        if np.abs(xs[j] - xs[k]).max() >= min_move:
            return j
    return None


def screen_fixed(smalls: Sequence[np.ndarray], xs: np.ndarray, thr: float, *,
                 min_move: float = 2.0, reach: int = 12) -> list[np.ndarray | None]:
    """Per frame, the reduced samples that stay put on screen while the background moves.

    For frame k and a neighbour j (the nearest frame before and after that moved at least
    ``min_move`` reduced samples), a sample is screen-fixed when it hardly differs from frame
    j at the same *screen* position (3x3-smoothed difference below ``thr / 2``) but clearly
    differs from frame j at the same *scene* position (above ``thr``): text, logos, a
    character the camera follows. Content that looks the same both ways (flat areas) tells
    nothing and is not flagged. Returns bool masks in reduced frame coordinates (None: none).
    """

    out: list[np.ndarray | None] = []
    hs, ws = smalls[0].shape
    for k in range(len(smalls)):
        m = None
        for step in (-1, 1):
            j = _neighbour(xs, k, step, min_move, reach)
            if j is None:
                continue
            d = xs[k] - xs[j]  # frame k's sample (i, c) shows frame j's sample (i + dy, c + dx)
            same_screen = _box3(np.abs(smalls[k] - smalls[j]))
            val, cov = sample_bilinear(smalls[j], None, float(d[1]), float(d[0]), hs, ws)
            seen = cov >= 0.99
            diff = np.abs(smalls[k] - val)
            diff[~seen] = 0.0  # no comparison there (and nothing to smooth into neighbours)
            same_scene = _box3(diff)
            f = (same_screen < thr / 2) & (same_scene > thr) & seen
            m = f if m is None else (m | f)
        out.append(m if m is not None and m.any() else None)
    return out


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
    lo = np.array(smalls[0], np.float32)
    hi = lo.copy()
    for s in smalls[1:]:
        np.minimum(lo, s, out=lo)
        np.maximum(hi, s, out=hi)
    still = (hi - lo) < thr / 2
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
    return ndimage.binary_dilation(m, iterations=grow)


def find_outliers(smalls: Sequence[np.ndarray] | Callable[[int], np.ndarray], count: int,
                  xy: np.ndarray, shape: tuple[int, int], reduce: int, *,
                  prior: Callable[[int], np.ndarray | None] | None = None,
                  noise_k: float = NOISE_K, min_level: float = MIN_LEVEL,
                  grow_px: int = GROW_PX, edge_slack: float = EDGE_SLACK,
                  foreground: Callable[[], Sequence[np.ndarray | None]] | None = None
                  ) -> Consensus:
    """Per-frame outlier masks against the median consensus (see the module docstring).

    Parameters
    ----------
    smalls : sequence or callable ``n -> ndarray float32 (h // r, w // r)``
        Reduced working Y' of each offsets row (:func:`overmix.warp.reduce_box` of the frame).
    count : int
        Number of rows.
    xy : ndarray (count, 2)
        Offsets (frame-0 luma pixels).
    shape : (h, w)
        Full-resolution frame shape.
    reduce : int
        The reduction ``r`` of ``smalls``.
    prior : callable or None
        ``n -> float32 (h, w)`` weights (1 = usable) or None: samples below one half do not
        vote for the reference (e.g. known overlays).
    noise_k, min_level : float
        Threshold ``max(noise_k · noise, min_level)`` on the smoothed residual.
    grow_px : int
        Full-resolution pixels by which outlier masks grow.
    foreground : callable or None
        ``() -> [bool (h // r, w // r) or None per row]``: what moves on its own
        (:func:`overmix.render.foreground.moving_foreground`), called only when the cheap
        test finds something. Those samples neither vote for the reference nor render: where
        a character covers a place in most frames, the few frames that see the background
        make the reference there.

    Returns
    -------
    Consensus
    """

    r = max(1, int(reduce))
    got = [smalls(k) if callable(smalls) else smalls[k] for k in range(count)]
    got = [np.asarray(g, np.float32) for g in got]
    hs, ws = got[0].shape
    xs = np.asarray(xy, np.float64).reshape(-1, 2) / r
    canvas = Canvas.covering(xs, ws, hs)
    valids: list[np.ndarray | None] = []
    for k in range(count):
        p = prior(k) if prior is not None else None
        if p is None:
            valids.append(None)
            continue
        pv = np.asarray(p, np.float32)
        if r > 1:
            h2, w2 = hs * r, ws * r
            pv = pv[:h2, :w2].reshape(hs, r, ws, r).min(axis=(1, 3))
        valids.append((pv >= 0.5).astype(np.float32))
    grow = max(1, math.ceil(grow_px / r))
    # cheap path: residuals against the plain mean; a clean pan has none and stops here
    mean = _mean_reference(got, valids, xs, canvas)
    res, noise = _residuals(got, mean, xs, canvas, edge_slack)
    thr = max(noise_k * noise, min_level)
    if all(v is None for v in valids) and not any(_has_blob(d > thr) for d in res):
        z = np.zeros(shape, bool)
        return Consensus(r, shape, [None] * count, noise, thr, z,
                         {"reduce": r, "noise": noise, "threshold": thr, "outlier_frames": 0,
                          "outlier_fraction": 0.0})
    del res, mean
    # screen-fixed content (hardsubs, static text, bars) neither votes nor renders
    fixed = screen_fixed(got, xs, min_level) if count >= 3 else [None] * count
    still = _never_changes(got, xs, min_level) if count >= 3 else None
    if still is not None:
        fixed = [still if f is None else (f | still) for f in fixed]
    fixed = [None if f is None else _clean_mask(f, grow) for f in fixed]
    for k, f in enumerate(fixed):
        if f is not None:
            keep = (~f).astype(np.float32)
            valids[k] = keep if valids[k] is None else valids[k] * keep
    # what moves on its own neither votes nor renders either
    moving = list(foreground()) if foreground is not None else [None] * count
    still_valids = list(valids)
    screen = list(fixed)  # the screen-fixed part alone
    for k, f in enumerate(moving):
        if f is not None:
            keep = (~f).astype(np.float32)
            valids[k] = keep if valids[k] is None else valids[k] * keep
            fixed[k] = f if fixed[k] is None else (fixed[k] | f)
    ref = _median_reference(got, valids, xs, canvas)
    if np.isnan(ref).any():  # places no frame sees through its prior: all frames vote ...
        alt = _median_reference(got, [None] * count, xs, canvas)
        if any(f is not None for f in moving):
            # ... but where a moving thing covers the place in every frame, no frame is
            # an outlier against it (its neighbours that see the background stay usable)
            alt[np.isnan(_median_reference(got, still_valids, xs, canvas)) == 0] = np.nan
        ref = np.where(np.isnan(ref), alt, ref)
    res, noise = _residuals(got, ref, xs, canvas, edge_slack)
    thr = max(noise_k * noise, min_level)
    masks: list[np.ndarray | None] = []
    persist_n = np.zeros((hs, ws), np.float32)
    left = 0.0
    residual: list[np.ndarray | None] = []
    for k in range(count):
        m = _clean_mask(res[k] > thr, grow)
        residual.append(m)
        if fixed[k] is not None:
            m = fixed[k] if m is None else (m | fixed[k])
        if m is not None:
            persist_n += m
            left += float(m.mean())
            masks.append(m)
        else:
            masks.append(None)
    del res
    persistent = upsample_mask(persist_n >= PERSIST * max(count, 1), r, shape) \
        if count >= 3 else np.zeros(shape, bool)
    nout = sum(m is not None for m in masks)
    stats: dict[str, object] = {
        "reduce": r, "noise": noise, "threshold": thr, "outlier_frames": nout,
        "outlier_fraction": left / max(count, 1),
    }
    alone = _seen_alone(masks, screen, xs, canvas, (hs, ws)) if nout else [None] * count
    return Consensus(r, shape, masks, noise, thr, persistent, stats, alone=alone,
                     fixed=screen, residual=residual, moving=moving)


def _seen_alone(masks: Sequence[np.ndarray | None], screen: Sequence[np.ndarray | None],
                xs: np.ndarray, canvas: Canvas,
                shape: tuple[int, int]) -> list[np.ndarray | None]:
    """Per frame, its outlier samples (reduced frame coordinates) at canvas places that no
    frame sees clean *and* that this frame shows for all: of the frames covering such a
    place, the one nearest in time to the middle frame. There the still shows that one frame
    (:data:`ALONE`), sharp, not a blend of every frame's foreground (a ghost). Screen-fixed
    samples (``screen``: subtitles, logos, bars) are never shown so."""
    hs, ws = shape
    n = len(masks)
    clean = np.zeros((canvas.height, canvas.width), np.int32)
    org = [(int(round(xs[k, 1] - canvas.y)), int(round(xs[k, 0] - canvas.x))) for k in range(n)]

    def view(a: np.ndarray, k: int) -> tuple[np.ndarray, slice, slice]:
        y, x = org[k]
        r0, c0 = max(y, 0), max(x, 0)
        r1, c1 = min(y + hs, a.shape[0]), min(x + ws, a.shape[1])
        return a[r0:r1, c0:c1], slice(r0 - y, r1 - y), slice(c0 - x, c1 - x)

    for k, m in enumerate(masks):
        v, rs, cs = view(clean, k)
        v += 1 if m is None else ~m[rs, cs]
    owner = np.full(clean.shape, -1, np.int32)
    out: list[np.ndarray | None] = [None] * n
    for k in sorted(range(n), key=lambda j: abs(j - n // 2)):
        m = masks[k]
        if m is None:
            continue
        o, rs, cs = view(owner, k)
        c, _, _ = view(clean, k)
        take = m[rs, cs] & (c == 0) & (o < 0)
        if screen[k] is not None:
            take &= ~screen[k][rs, cs]
        if take.any():
            o[take] = k
            a = np.zeros((hs, ws), bool)
            a[rs, cs] = take
            out[k] = a
    return out

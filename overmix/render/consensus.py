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
from overmix.render.consensus_maps import (
    _clean_mask,
    _has_blob,
    _mean_reference,
    _median_reference,
    _never_changes,
    _residuals,
    screen_fixed,
    still_samples,
)

__all__ = ["FLOOR", "Consensus", "downsample_mask", "find_outliers", "reduce_factor",
           "upsample_mask"]

FLOOR = 1e-7  # weight of an outlier sample: used only where no frame sees the place clean
# (summed over hundreds of frames it stays far below one usable sample next to a mask, NEAR)
NOISE_K = 6.0  # outlier threshold in multiples of the median residual
MIN_LEVEL = 0.03  # ... and never below this (working Y', ~8 levels of 8-bit video)
EDGE_SLACK = 0.25  # residual allowed per unit of local slope (resampling, misregistration)
GROW_PX = 1  # outlier masks grow by this many full-resolution pixels (at least one sample)
ALONE = 1e-3  # weight of the one frame that shows a place no frame sees clean
PERSIST = 0.9  # outlier in at least this fraction of the frames seeing a pixel: persistent


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
    still : ndarray bool (h // r, w // r) or None
        Samples whose value stays within half the threshold over every frame (bars, an
        opaque static logo, flat background every frame shows alike); None when not run.
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
    still: np.ndarray | None = None  # reduced samples that never change on screen

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


def downsample_mask(m: np.ndarray, r: int, shape: tuple[int, int]) -> np.ndarray:
    """A full-resolution bool mask on the reduced (hs, ws) = ``shape`` grid: a sample is set
    when any pixel of its ``r x r`` block is (the ragged right/bottom edge is dropped, as the
    reduction drops it)."""
    hs, ws = shape
    return np.asarray(m, bool)[:hs * r, :ws * r].reshape(hs, r, ws, r).any(axis=(1, 3))


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
    valids = _prior_valids(prior, count, r, hs, ws)
    grow = max(1, math.ceil(grow_px / r))
    # cheap path: residuals against the plain mean; a clean pan has none and stops here
    mean = _mean_reference(got, valids, xs, canvas)
    res, noise = _residuals(got, mean, xs, canvas, edge_slack)
    thr = max(noise_k * noise, min_level)
    if all(v is None for v in valids) and not any(_has_blob(d > thr) for d in res):
        return _clean_pan(r, shape, count, noise, thr)
    del res, mean
    # screen-fixed content (hardsubs, static text, bars) neither votes nor renders
    fixed = _fixed(got, xs, min_level, grow, count, valids)
    # what moves on its own neither votes nor renders either
    moving = list(foreground()) if foreground is not None else [None] * count
    still_valids = list(valids)
    screen = list(fixed)  # the screen-fixed part alone
    for k, f in enumerate(moving):
        if f is not None:
            _exclude(valids, k, f)
            fixed[k] = f if fixed[k] is None else (fixed[k] | f)
    ref = _reference(got, valids, still_valids, moving, xs, canvas)
    res, noise = _residuals(got, ref, xs, canvas, edge_slack)
    thr = max(noise_k * noise, min_level)
    masks, residual, persist_n, left = _outlier_masks(res, thr, grow, fixed, (hs, ws))
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
                     fixed=screen, residual=residual, moving=moving,
                     still=still_samples(got, min_level))


def _clean_pan(r: int, shape: tuple[int, int], count: int, noise: float,
               thr: float) -> Consensus:
    """The consensus of a scene without outliers: every frame usable everywhere."""
    z = np.zeros(shape, bool)
    return Consensus(r, shape, [None] * count, noise, thr, z,
                     {"reduce": r, "noise": noise, "threshold": thr, "outlier_frames": 0,
                      "outlier_fraction": 0.0})


def _prior_valids(prior: Callable[[int], np.ndarray | None] | None, count: int, r: int,
                  hs: int, ws: int) -> list[np.ndarray | None]:
    """Per row, the reduced samples whose prior weight is at least one half (1.0, else 0.0;
    None: all usable)."""
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
    return valids


def _fixed(got: list[np.ndarray], xs: np.ndarray, min_level: float, grow: int, count: int,
           valids: list[np.ndarray | None]) -> list[np.ndarray | None]:
    """Screen-fixed content of each row (hardsubs, static text, bars; cleaned and grown),
    taken out of ``valids`` in place: it neither votes nor renders."""
    fixed, static = screen_fixed(got, xs, min_level) if count >= 3 else ([None] * count, None)
    still = _never_changes(got, xs, min_level) if count >= 3 else None
    # fixed over the whole clip (bars, logos): in every frame, even where a frame's own
    # comparisons could not tell (a logo's bar sliding along itself, texture seen through it)
    for s in (still, static):
        if s is not None:
            fixed = [s if f is None else (f | s) for f in fixed]
    fixed = [None if f is None else _clean_mask(f, grow) for f in fixed]
    for k, f in enumerate(fixed):
        if f is not None:
            _exclude(valids, k, f)
    return fixed


def _exclude(valids: list[np.ndarray | None], k: int, f: np.ndarray) -> None:
    """Row k's samples under ``f`` neither vote nor render."""
    keep = (~f).astype(np.float32)
    valids[k] = keep if valids[k] is None else valids[k] * keep


def _reference(got: list[np.ndarray], valids: list[np.ndarray | None],
               still_valids: list[np.ndarray | None], moving: list[np.ndarray | None],
               xs: np.ndarray, canvas: Canvas) -> np.ndarray:
    """The median reference of the usable samples; where none is usable, of all of them."""
    count = len(got)
    ref = _median_reference(got, valids, xs, canvas)
    if np.isnan(ref).any():  # places no frame sees through its prior: all frames vote ...
        alt = _median_reference(got, [None] * count, xs, canvas)
        if any(f is not None for f in moving):
            # ... but where a moving thing covers the place in every frame, no frame is
            # an outlier against it (its neighbours that see the background stay usable)
            alt[np.isnan(_median_reference(got, still_valids, xs, canvas)) == 0] = np.nan
        ref = np.where(np.isnan(ref), alt, ref)
    return ref


def _outlier_masks(res: list[np.ndarray], thr: float, grow: int,
                   fixed: list[np.ndarray | None], shape: tuple[int, int],
                   ) -> tuple[list[np.ndarray | None], list[np.ndarray | None], np.ndarray,
                              float]:
    """Per row, the residuals above ``thr`` (cleaned, grown) with its fixed/moving content,
    and those residuals alone; how many rows each sample is an outlier in; the summed
    outlier fraction."""
    count = len(res)
    hs, ws = shape
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
    return masks, residual, persist_n, left


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

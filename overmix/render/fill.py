"""Excluded frame samples filled from their usable neighbours before resampling (DESIGN §6
"Render", per-frame weights).

A per-frame weight map (the clean still's outlier masks: hardsub glyphs, letterbox bars,
a walking character) marks samples a frame must not give to the canvas. Shrinking the usable
region by the kernel support (what a static ``--mask`` gets) would keep every interpolation
tap off the excluded samples, but it also throws away the usable samples next to them: a
canvas row that only one frame's first row below a letterbox bar sees clean, or the gaps
between subtitle glyphs, would then be seen by no frame at all. Instead the excluded samples
next to usable ones are replaced, ring by ring, by the mean of their already known 8
neighbours (an edge extension, like the clamping at a frame's own edges), so the taps of a
usable sample next to the mask read plausible background, never the overlay; the weight map
itself is not shrunk.
"""

from __future__ import annotations

import numpy as np

from overmix.morph import dilate

__all__ = ["EXCLUDED", "cell_any", "fill_excluded", "fill_steps"]

# Frame weights below this are "excluded" (the clean still's floor weight: used only where
# no frame sees a place clean); such samples are filled from usable neighbours.
EXCLUDED = 1e-3

_NB = ((-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1))


def fill_steps(taps: float) -> int:
    """Rings to fill for a kernel of ``taps`` taps: a canvas sample with any weight lies
    within one sample of a usable one, and its taps reach ``taps / 2`` samples further."""
    return int(np.ceil(taps / 2)) + 1


def cell_any(bad: np.ndarray, sy: int, sx: int) -> np.ndarray:
    """``bad`` (luma frame coords) on a plane subsampled by ``(sy, sx)``: a sample is
    excluded when any luma pixel of its cell is (edges padded)."""
    if (sy, sx) == (1, 1):
        return bad
    h, w = bad.shape
    ch, cw = -(-h // sy), -(-w // sx)
    b = np.pad(bad, ((0, ch * sy - h), (0, cw * sx - w)), mode="edge")
    return b.reshape(ch, sy, cw, sx).any(axis=(1, 3))


def fill_excluded(plane: np.ndarray, bad: np.ndarray, steps: int) -> np.ndarray:
    """``plane`` with the samples of ``bad`` within ``steps`` rings of a usable sample set to
    the mean of their usable (or already filled) 8 neighbours, one ring per step.

    Parameters
    ----------
    plane : ndarray (h, w), float or integer codes
        Not modified.
    bad : ndarray bool (h, w)
        Excluded samples.
    steps : int
        Rings to fill (:func:`fill_steps`).

    Returns
    -------
    ndarray (h, w), ``plane``'s dtype: a copy (integer codes rounded), or ``plane`` itself
    when nothing is filled.
    """
    if steps <= 0 or not bad.any() or bad.all():
        return plane
    band = bad & dilate(~bad, steps, square=True)
    idx = np.flatnonzero(band)
    if idx.size == 0:
        return plane
    h, w = bad.shape
    ys, xs = np.divmod(idx, w)
    nb = np.stack([np.clip(ys + dy, 0, h - 1) * w + np.clip(xs + dx, 0, w - 1)
                   for dy, dx in _NB])  # (8, m) flat neighbour indices, edges clamped
    out = plane.copy()
    flat = out.reshape(-1)
    known = ~bad.reshape(-1)
    integer = np.issubdtype(out.dtype, np.integer)
    hi = np.iinfo(out.dtype).max if integer else 0
    todo = np.ones(idx.size, bool)
    for _ in range(steps):
        kv = known[nb]
        cnt = kv.sum(axis=0)
        new = todo & (cnt > 0)
        if not new.any():
            break
        sel = idx[new]
        s = np.where(kv[:, new], flat[nb[:, new]].astype(np.float32), 0).sum(axis=0)
        v = s / cnt[new]
        flat[sel] = np.clip(np.rint(v), 0, hi) if integer else v
        known[sel] = True
        todo &= ~new
    return out

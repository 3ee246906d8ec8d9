"""Held content: a region that stays still on screen between neighbouring frames while the
background moves a fraction of a pixel (issue #12).

A character the camera follows, held on twos or threes, is the same drawing at the same screen
position in the frames of a hold. On a slow pan (less than a pixel or two per frame) its
pixels and the background's match at shifts too close for the refinement's robust weights to
tell apart: the pair's sub-pixel shift lands between the two motions (a 0.42 px pan behind a
held head measured 0.31 px). Longer pairs see the two motions apart and are right, so the
solve is pulled by a few hundredths up to tenths of a pixel and no pair disagrees by a pixel
(:mod:`overmix.registration.follow` sees no conflict).

The check here compares, per textured tile of a neighbouring pair, the squared difference at
zero shift with the one at the solved shift: a tile that matches at zero four times better
than at the solved motion is held (on screen). Tiles a codec copied (flat areas) also match at
zero but have no texture to pull with: the texture-weighted share of held tiles decides. When
held content is a :data:`HELD_SHARE` of the texture in most checked pairs, the frames are
aligned again without it (the caller keeps the new offsets when they are more consistent).
Frames are box-reduced to at most 720 px a side (as :mod:`.follow_pull`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from overmix.registration import follow_pull

__all__ = ["HELD_SHARE", "held_tiles", "held_masks", "holds"]

_TILE = 16
# A tile is held when its squared difference at zero shift is below this share of the one at
# the solved shift.
_RATIO = 0.25
# Tiles whose smaller structure-tensor eigenvalue is below this share of the median textured
# tile's are flat (as follow_pull).
_MIN_TEXTURE = 0.05
# Held texture (share of the textured tiles' structure-tensor weight) that pulls a pair: a
# clean x264 pan reads up to ~0.04 (flat blocks the codec copied), a held head 0.1-0.45.
HELD_SHARE = 0.1
# Solved shifts (px, either axis) between neighbours where held content can pull a pair: below
# the smaller one the pull is below the 0.1 px; above the larger one the refinement's
# robust weights leave the held pixels out.
_MIN_PX = 0.1
_MAX_PX = 3.0


def held_tiles(a: np.ndarray, b: np.ndarray, d: tuple[float, float],
               skip: np.ndarray | None = None) -> tuple[np.ndarray, float, tuple[int, int]]:
    """The held tiles of frame ``b`` against frame ``a`` (reduced (h, w) float32 planes of one
    size; ``d``: b's solved shift from a in their px, ``b(p) = a(p + d)``): (rows, cols) bool
    on the tile grid of the overlap, the texture-weighted share of held tiles, and the grid's
    first row and column in ``b`` (px). ``skip``: (h, w) bool of ``b``, pixels already left
    out (tiles mostly in it neither count nor hold)."""
    x, y, (r0, c0) = follow_pull._overlap(a, b, np.asarray(d, np.float64))
    if min(x.shape) < 2 * _TILE:
        return np.zeros((0, 0), bool), 0.0, (r0, c0)
    z = np.asarray(a, np.float32)[r0:r0 + x.shape[0], c0:c0 + x.shape[1]]
    ny, nx = x.shape[0] // _TILE, x.shape[1] // _TILE

    def tsum(v: np.ndarray) -> np.ndarray:
        return follow_pull.tile_sums(v[:ny * _TILE, :nx * _TILE], _TILE)

    e_d = tsum((x - y) ** 2)
    e_0 = tsum((z - y) ** 2)
    _, wt = follow_pull.tile_shifts(x, y, _TILE)
    wt = wt.reshape(ny, nx)
    if not (wt > 0).any():
        return np.zeros((ny, nx), bool), 0.0, (r0, c0)
    good = wt >= _MIN_TEXTURE * np.median(wt[wt > 0])
    if skip is not None:
        sk = np.asarray(skip, np.float32)[r0:r0 + x.shape[0], c0:c0 + x.shape[1]]
        good &= tsum(sk) < 0.5 * _TILE * _TILE
        if not good.any():
            return np.zeros((ny, nx), bool), 0.0, (r0, c0)
    held = good & (e_0 < _RATIO * e_d)
    return held, float(wt[held].sum() / wt[good].sum()), (r0, c0)


def holds(frames: dict[int, np.ndarray], xy: np.ndarray, scale: float,
          ignore: Callable[[int], np.ndarray | None] | None = None) -> bool:
    """Whether held content pulls the offsets: ``frames`` (store position -> reduced plane)
    holds neighbouring frames (k, k + 1) whose solved shift (``xy``: (n, 2) full-resolution
    px, NaN = not placed; ``scale``: full-resolution px per reduced px) is in the range held
    content pulls, and in most of those pairs held tiles carry :data:`HELD_SHARE` of the
    texture. ``ignore(k)``: frame k's full-resolution (H, W) bool mask of what the offsets
    were measured without (a hardsub the alignment found already; or None)."""
    shares = []
    for k in sorted(frames):
        if k + 1 not in frames or np.isnan(xy[k, 0]) or np.isnan(xy[k + 1, 0]):
            continue
        d = xy[k + 1] - xy[k]
        if not _MIN_PX <= float(np.abs(d).max()) <= _MAX_PX:
            continue
        b = frames[k + 1]
        m = ignore(k + 1) if ignore is not None else None
        skip = None
        if m is not None:  # nearest sample of the reduced frame's pixels
            m = np.asarray(m) > 0.5
            ri = np.minimum((np.arange(b.shape[0]) * m.shape[0]) // b.shape[0], m.shape[0] - 1)
            ci = np.minimum((np.arange(b.shape[1]) * m.shape[1]) // b.shape[1], m.shape[1] - 1)
            skip = m[ri][:, ci]
        shares.append(held_tiles(frames[k], b, tuple(d / scale), skip)[1])
    return len(shares) >= 2 and np.mean(np.asarray(shares) >= HELD_SHARE) > 0.5


def held_masks(read: Callable[[int], np.ndarray], xy: np.ndarray, shape: tuple[int, int],
               grow: bool = True) -> dict[int, np.ndarray]:
    """Per store position, the full-resolution (h, w) bool mask of the tiles held between the
    frame and its neighbours (``grow``: grown by a tile): every placed neighbouring pair of
    ``xy`` ((n, 2) px, NaN = not placed) in the range held content pulls, frames read once,
    in order."""
    h, w = shape
    grids: dict[int, np.ndarray] = {}
    prev: np.ndarray | None = None
    lev_shape = (0, 0)
    for k in range(len(xy)):
        if np.isnan(xy[k, 0]):
            prev = None
            continue
        cur = follow_pull._reduced(read(k))
        lev_shape = cur.shape
        if prev is not None and _MIN_PX <= float(np.abs(xy[k] - xy[k - 1]).max()) <= _MAX_PX:
            s = w / cur.shape[1]
            held, _, (r0, c0) = held_tiles(prev, cur, tuple((xy[k] - xy[k - 1]) / s))
            if held.any():
                for f in (k - 1, k):  # held: the same place on screen in both frames
                    g = grids.setdefault(f, np.zeros(cur.shape, bool))
                    g[r0:r0 + held.shape[0] * _TILE, c0:c0 + held.shape[1] * _TILE] |= (
                        np.kron(held, np.ones((_TILE, _TILE), bool)))
        prev = cur
    out = {}
    for f, g in grids.items():
        g = _grow(g, _TILE) if grow else g
        ri = np.minimum(np.arange(h) * lev_shape[0] // h, lev_shape[0] - 1)
        ci = np.minimum(np.arange(w) * lev_shape[1] // w, lev_shape[1] - 1)
        out[f] = g[ri][:, ci]
    return out


def _grow(m: np.ndarray, r: int) -> np.ndarray:
    """``m`` grown by ``r`` px (a square; separable running maxima by cumulative sums)."""
    out = m
    for axis in (0, 1):
        c = np.cumsum(out, axis=axis, dtype=np.int32)
        n = out.shape[axis]
        pad = np.concatenate([np.zeros_like(np.take(c, [0], axis=axis)), c], axis=axis)
        hi = np.minimum(np.arange(n) + r + 1, n)
        lo = np.maximum(np.arange(n) - r, 0)
        out = (np.take(pad, hi, axis=axis) - np.take(pad, lo, axis=axis)) > 0
    return out

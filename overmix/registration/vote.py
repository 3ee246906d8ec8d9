"""Coarse shift by tile voting: the largest consistent region wins, not the strongest peak.

Phase correlation of two whole frames gives a few candidate shifts (its strongest peaks and
their wrapped variants). On real footage the strongest peak is often not the background's:
a subtitle, a TV logo or letterbox bars stay put (a peak at zero shift), a character or
scrolling credits move their own way. So each candidate is scored by **tiles**: the moving
frame is cut into a fixed grid of ``tile`` x ``tile`` tiles; for every candidate, each tile
that lies inside the overlap gets the zero-mean normalised cross-correlation (ZNCC) of its
pixels with the reference at that shift. Every textured tile then votes for the candidate
where its ZNCC is highest (if that ZNCC is convincing), weighted by its texture; the
candidate with the largest vote wins. A subtitle wins only its own tiles, the background wins
all the others.

Arrays are one pyramid level of the two frames (any real dtype, an affine map of luma), with
optional validity masks (True = usable). Shifts follow :mod:`overmix.registration.phase`:
``mov(i, j) = ref(i + dy, j + dx)``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["tile_vote", "tile_winners"]

# A tile votes only for a candidate where its ZNCC reaches this.
MIN_TILE_ZNCC = 0.6
# ... and only when that beats every candidate more than a pixel away by this much.
MIN_TILE_MARGIN = 0.1


def _tile_sums(x: np.ndarray, t: int) -> np.ndarray:
    """Per-tile sums of a (ny * t, nx * t) array: (ny, nx) float64."""
    ny, nx = x.shape[0] // t, x.shape[1] // t
    return x.reshape(ny, t, nx, t).sum(axis=(1, 3), dtype=np.float64)


def tile_vote(ref: np.ndarray, mov: np.ndarray, ref_valid: np.ndarray | None,
              mov_valid: np.ndarray | None, cands: Sequence[tuple[int, int]], *,
              tile: int = 16, min_std: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Texture-weighted tile votes for integer candidate shifts.

    Parameters
    ----------
    ref, mov : (h, w) arrays
        The two planes (same level, same size).
    ref_valid, mov_valid : (h, w) bool or None
        Usable pixels (None = all).
    cands : sequence of (dx, dy) int
        Candidate shifts at this level.
    tile : int
        Tile size (pixels of this level).
    min_std : float
        Tiles of ``mov`` whose standard deviation (in the arrays' units) is below this are
        flat: they say nothing about the shift and do not vote.

    Returns
    -------
    votes : (len(cands),) float64
        Sum of the texture weights (``min(1, std / (4 min_std))``) of the tiles voting for
        each candidate or for a candidate at most a pixel away from it.
    zbest : (len(cands),) float64
        Mean ZNCC of each candidate's voting tiles (0 without votes), for tie-breaking.
    """
    nc = len(cands)
    z, weight = _tile_z(ref, mov, ref_valid, mov_valid, cands, tile, min_std)
    if z.size == 0:
        return np.zeros(nc), np.zeros(nc)
    return _count(z, weight, cands)


def tile_winners(ref: np.ndarray, mov: np.ndarray, ref_valid: np.ndarray | None,
                 mov_valid: np.ndarray | None, cands: Sequence[tuple[int, int]], *,
                 tile: int = 16, min_std: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Where :func:`tile_vote`'s votes come from (same parameters).

    Returns
    -------
    winner : (h // tile, w // tile) int64
        Per tile of ``mov``: the index in ``cands`` it votes for, -1 when it does not vote.
    weight : (h // tile, w // tile) float64
        Its texture weight (0 = flat).
    """
    z, weight = _tile_z(ref, mov, ref_valid, mov_valid, cands, tile, min_std)
    if z.size == 0:
        return np.full(weight.shape, -1, np.int64), weight
    best, voting = _winners(z, weight, cands)
    return np.where(voting, best, -1), weight


def _tile_z(ref: np.ndarray, mov: np.ndarray, ref_valid: np.ndarray | None,
            mov_valid: np.ndarray | None, cands: Sequence[tuple[int, int]], tile: int,
            min_std: float) -> tuple[np.ndarray, np.ndarray]:
    """ZNCC of mov's tiles per candidate (candidates, tile rows, tile columns; -inf where a
    tile cannot be compared; empty without tiles or candidates) and their texture weights."""
    h, w = mov.shape
    t = tile
    nty, ntx = h // t, w // t
    nc = len(cands)
    if nty == 0 or ntx == 0 or nc == 0:
        return np.zeros((0, nty, ntx)), np.zeros((nty, ntx))
    b = mov[: nty * t, : ntx * t].astype(np.float32)
    vb = None if mov_valid is None else mov_valid[: nty * t, : ntx * t]
    weight, s0, ss0 = _texture(b, vb, t, min_std)
    z = np.full((nc, nty, ntx), -np.inf)
    for c, (dx, dy) in enumerate(cands):
        # tiles whose reference window [r + dy, r + dy + t) x [q + dx, q + dx + t) fits
        ty0, ty1 = max(0, -(dy // t)), min(nty, (h - dy) // t)
        tx0, tx1 = max(0, -(dx // t)), min(ntx, (w - dx) // t)
        if ty1 <= ty0 or tx1 <= tx0:
            continue
        z[c, ty0:ty1, tx0:tx1] = _tile_zncc(ref, ref_valid, b, vb, s0, ss0, dx, dy, t,
                                            (ty0, ty1, tx0, tx1))
    return z, weight


def _texture(b: np.ndarray, vb: np.ndarray | None, t: int,
             min_std: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Texture weight of mov's tiles (over its valid pixels; 0 = flat, does not vote), and
    the tiles' sums and sums of squares."""
    wb = np.ones(b.shape, np.float32) if vb is None else vb.astype(np.float32)
    n0 = _tile_sums(wb, t)
    s0 = _tile_sums(b * wb, t)
    ss0 = _tile_sums(b * b * wb, t)
    var0 = np.maximum(ss0 / np.maximum(n0, 1) - (s0 / np.maximum(n0, 1)) ** 2, 0)
    std0 = np.sqrt(var0)
    weight = np.where((n0 >= 0.5 * t * t) & (std0 > min_std),
                      np.minimum(1.0, std0 / max(4 * min_std, 1e-12)), 0.0)
    return weight, s0, ss0


def _tile_zncc(ref: np.ndarray, ref_valid: np.ndarray | None, b: np.ndarray,
               vb: np.ndarray | None, s0: np.ndarray, ss0: np.ndarray, dx: int, dy: int,
               t: int, span: tuple[int, int, int, int]) -> np.ndarray:
    """ZNCC of mov's tiles ``span`` (tile rows ty0:ty1, columns tx0:tx1) against ref at the
    integer shift (dx, dy); -inf where a tile has too few usable pixels or no variance."""
    ty0, ty1, tx0, tx1 = span
    r0, r1, q0, q1 = ty0 * t, ty1 * t, tx0 * t, tx1 * t
    bb = b[r0:r1, q0:q1]
    aa = ref[r0 + dy:r1 + dy, q0 + dx:q1 + dx].astype(np.float32)
    if vb is None and ref_valid is None:
        n = float(t * t)
        sa, sb_ = _tile_sums(aa, t), s0[ty0:ty1, tx0:tx1]
        saa, sbb = _tile_sums(aa * aa, t), ss0[ty0:ty1, tx0:tx1]
        sab = _tile_sums(aa * bb, t)
    else:
        m = np.ones(bb.shape, bool) if vb is None else vb[r0:r1, q0:q1].copy()
        if ref_valid is not None:
            m &= ref_valid[r0 + dy:r1 + dy, q0 + dx:q1 + dx]
        mf = m.astype(np.float32)
        n = _tile_sums(mf, t)
        am, bm = aa * mf, bb * mf
        sa, sb_ = _tile_sums(am, t), _tile_sums(bm, t)
        saa, sbb, sab = _tile_sums(am * aa, t), _tile_sums(bm * bb, t), _tile_sums(am * bb, t)
    nn = np.maximum(n, 1)
    cov = sab - sa * sb_ / nn
    va = saa - sa * sa / nn
    vbb = sbb - sb_ * sb_ / nn
    with np.errstate(invalid="ignore", divide="ignore"):
        zz = cov / np.sqrt(va * vbb)
    ok = (va > 0) & (vbb > 0) & (np.asarray(n) >= 0.5 * t * t)
    return np.where(ok, zz, -np.inf)


def _count(z: np.ndarray, weight: np.ndarray,
           cands: Sequence[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """:func:`tile_vote`'s votes and mean ZNCC from the tiles' ZNCC per candidate ``z``
    (candidates, tile rows, tile columns)."""
    nc = len(cands)
    best, voting = _winners(z, weight, cands)
    zb = np.take_along_axis(z, best[None], axis=0)[0]
    cc = np.asarray(cands, np.int64).reshape(-1, 2)
    near = np.abs(cc[:, None, :] - cc[None, :, :]).max(axis=2) <= 1
    wv = np.where(voting, weight, 0.0)
    votes = np.bincount(best.ravel(), weights=wv.ravel(), minlength=nc)
    zsum = np.bincount(best.ravel(), weights=np.where(voting, zb, 0.0).ravel(), minlength=nc)
    cnt = np.bincount(best.ravel(), weights=voting.ravel().astype(np.float64), minlength=nc)
    zmean = np.where(cnt > 0, zsum / np.maximum(cnt, 1), 0.0)
    # each candidate counts the votes of its neighbours (the same motion) too
    return near @ votes, zmean


def _winners(z: np.ndarray, weight: np.ndarray,
             cands: Sequence[tuple[int, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Per tile: the candidate with the best ZNCC (tile rows, tile columns) int64, and
    whether the tile votes for it (bool)."""
    nc = len(cands)
    best = np.argmax(z, axis=0)
    zb = np.take_along_axis(z, best[None], axis=0)[0]
    # candidates a pixel apart are one motion (a sub-pixel shift splits its tiles between
    # the neighbouring integers)
    cc = np.asarray(cands, np.int64).reshape(-1, 2)
    near = np.abs(cc[:, None, :] - cc[None, :, :]).max(axis=2) <= 1
    # a tile votes only when it tells the motions apart: a smooth gradient or a stripe
    # along the pan matches several of them about equally and says nothing
    rival = np.full(zb.shape, -np.inf)
    for c in range(nc):
        sel = best == c
        if sel.any() and (~near[c]).any():
            rival[sel] = z[~near[c]][:, sel].max(axis=0)
    with np.errstate(invalid="ignore"):  # tiles outside every overlap: -inf - -inf
        voting = (weight > 0) & (zb >= MIN_TILE_ZNCC) & (zb - rival >= MIN_TILE_MARGIN)
    return best, voting

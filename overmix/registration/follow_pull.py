"""Sub-pixel pulls: the offsets follow a blend of the background and a region the camera
follows (issue #12).

When the camera follows a character slowly (less than a pixel or two per frame against the
background), the character's drawing, held on screen, and the background both match in a
pair's correlation; their peaks merge and the pair's shift lands between the two motions.
No pair then disagrees with the offsets by a pixel (:func:`overmix.registration.follow.
conflicts` sees nothing), and when every pair is pulled alike their residuals stay small:
the offsets are consistent and wrong by tenths of a pixel up to a few pixels.

The check here measures what the tiles say, not what the pairs' peaks say: frame ``k`` is
moved onto frame ``i`` by the solved offsets, and every textured tile estimates the shift
still left (Lucas-Kanade, one 2x2 least-squares system per tile, on frames of at most
720 px). The texture-weighted median over the tiles is the shift of the largest consistent
region (a minority that moves otherwise, a character or a subtitle, does not move it). Where
that median is not zero on a few pairs spread over the scene, the offsets are pulled.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from overmix.registration.pyramid import down2

__all__ = ["APART_PX", "PULL_PX", "Kept", "misfits", "pair_pull", "pulls", "tile_shifts",
           "tile_sums", "worse", "worst"]

# A pair whose tiles' median shift is at least this far (full-resolution px) from the
# solved offsets is pulled (the issue bounds offsets by 0.1 px; the measure itself is off by
# up to ~0.05 px on MPEG-2 and x264: a still DVD head turn read 0.11).
PULL_PX = 0.15
_TILE = 16
# Lucas-Kanade rounds (the frame moved again by what the first found).
_ROUNDS = 2
# A round that finds less than this (full-resolution px, either axis) left is the last: a
# further round from a shift this small moves it by a few thousandths of a pixel, far from
# PULL_PX (issue #15: the second round was half the check's cost on every scene).
_SETTLED_PX = 0.05
# The largest side of the finest level used (px): the check's cost stays small at 720p.
_MAX_SIDE = 720
# Tiles whose smaller structure-tensor eigenvalue is below this share of the median
# textured tile's are flat: they say nothing about the shift.
_MIN_TEXTURE = 0.05
# A textured tile whose own shift is this far (px, finest level) from the median belongs to
# the other region.
APART_PX = 0.3
# Pairs checked per scene.
_PAIRS = 4


def tile_sums(v: np.ndarray, tile: int) -> np.ndarray:
    """Sums of ``v`` ((h, w)) over the whole ``tile`` x ``tile`` tiles from its top-left
    corner: (h // tile, w // tile). Each tile's rows first, then its columns (two
    reductions along one axis each: a reduction over two axes at once took 6x longer)."""
    ny, nx = v.shape[0] // tile, v.shape[1] // tile
    rows = v[:ny * tile, :nx * tile].reshape(ny, tile, nx * tile).sum(axis=1)
    return rows.reshape(ny, nx, tile).sum(axis=2)


def tile_shifts(a: np.ndarray, b: np.ndarray, tile: int = _TILE
                ) -> tuple[np.ndarray, np.ndarray]:
    """Per tile, the shift ``d`` with ``b(p) = a(p + d)`` left between two float planes of
    the same shape (already moved onto each other up to a fraction of a pixel): Lucas-Kanade
    on the mean gradient. Returns ((t, 2) shifts (x, y) px, (t,) weights: the smaller
    eigenvalue of each tile's structure tensor)."""
    gy, gx = np.gradient(0.5 * (a + b))
    e = b - a

    def tsum(v: np.ndarray) -> np.ndarray:
        return tile_sums(v, tile).ravel()

    sxx, syy, sxy = tsum(gx * gx), tsum(gy * gy), tsum(gx * gy)
    bx, by = tsum(gx * e), tsum(gy * e)
    det = sxx * syy - sxy * sxy
    tr = sxx + syy
    lam = 0.5 * (tr - np.sqrt(np.maximum(tr * tr - 4 * det, 0.0)))
    with np.errstate(invalid="ignore", divide="ignore"):
        dx = (syy * bx - sxy * by) / det
        dy = (sxx * by - sxy * bx) / det
    ok = det > 0
    return (np.stack([np.where(ok, dx, 0.0), np.where(ok, dy, 0.0)], axis=1),
            np.where(ok, lam, 0.0))


def _median(v: np.ndarray, wt: np.ndarray) -> float:
    order = np.argsort(v)
    c = np.cumsum(wt[order])
    return float(v[order][np.searchsorted(c, 0.5 * c[-1])])


def _mode(sh: np.ndarray, wt: np.ndarray) -> np.ndarray:
    """The shift of the largest consistent group of tiles ((t, 2) shifts, (t,) weights):
    the weighted median, then the weighted mean of the tiles within :data:`APART_PX` of it,
    twice (the other region's tiles, all on one side, would move a median by a fraction of
    the tiles' spread)."""
    step = np.array([_median(sh[:, 0], wt), _median(sh[:, 1], wt)])
    for _ in range(2):
        near = np.abs(sh - step).max(axis=1) < APART_PX
        if not near.any():
            break
        step = (sh[near] * wt[near, None]).sum(axis=0) / wt[near].sum()
    return step


def _matched(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """``x`` brought to ``y``'s brightness (the same mean and standard deviation over the
    frame; a fit of ``y`` on ``x`` would shrink the gain by what the other region does not
    share): a fade or a flash would otherwise read as a shift wherever brightness and
    gradient go together."""
    mx, my = float(x.mean()), float(y.mean())
    dx = x - np.float32(mx)
    sx, sy = float(dx.std()), float(y.std())
    g = sy / sx if sx > 0 else 1.0
    return dx * np.float32(g) + np.float32(my)


def _keys(f: float) -> tuple[float, float, float, float]:
    """Keys cubic convolution weights (a = -0.5) of samples -1, 0, 1, 2 at fraction f."""
    return (((-0.5 * f + 1) * f - 0.5) * f, (1.5 * f - 2.5) * f * f + 1,
            ((-1.5 * f + 2) * f + 0.5) * f, (0.5 * f - 0.5) * f * f)


def _overlap(a: np.ndarray, b: np.ndarray, d: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """``a`` moved by ``d`` onto ``b`` (``out(p) = a(p + d)``, Keys cubic convolution: four
    taps per axis, no prefilter), both cropped to where they overlap, and the crop's first
    row and column."""
    out = np.asarray(a, np.float32)
    lo = []
    for axis, v in ((1, float(d[0])), (0, float(d[1]))):
        n = int(np.floor(v))
        size = out.shape[axis]
        p0, p1 = max(0, 1 - n), min(size, size - 2 - n)
        if p1 - p0 < 1:
            return out[:0, :0], b[:0, :0], (0, 0)
        acc = None
        for k, wk in zip((-1, 0, 1, 2), _keys(v - n), strict=True):
            sl = [slice(None), slice(None)]
            sl[axis] = slice(p0 + n + k, p1 + n + k)
            term = out[tuple(sl)] * np.float32(wk)
            acc = term if acc is None else acc + term
        out = acc
        lo.append(p0)
    c0, r0 = lo
    return out, b[r0:r0 + out.shape[0], c0:c0 + out.shape[1]], (r0, c0)


def pair_pull(a: np.ndarray, b: np.ndarray, d: tuple[float, float],
              shape: tuple[int, int] | None = None, skip: np.ndarray | None = None,
              ) -> tuple[np.ndarray, np.ndarray]:
    """What the largest consistent region says is left of shift ``d`` (px, ``b(p) = a(p +
    d)``) between luma planes ``a`` and ``b`` ((h, w), full resolution): the shift of the
    largest consistent group of textured tiles (:func:`_mode`), measured twice (``a`` moved
    again by the first) unless the first finds less than :data:`_SETTLED_PX`. Lucas-Kanade
    reaches about a pixel: a pull is what is left of offsets that are roughly right. Returns
    ((2,) px (x, y), (h, w) bool: the textured tiles of ``b`` that disagree with it by
    :data:`APART_PX` or more, the other region). ``a`` and ``b`` may come reduced from
    frames of ``shape`` (full resolution, the default their own): ``d``, the shift and the
    mask are in full-resolution px. ``skip``: (H, W) bool of ``b`` at full resolution, what
    to leave out (tiles mostly in it do not count)."""
    full = shape or a.shape
    pa, pb = np.asarray(a, np.float32), np.asarray(b, np.float32)
    while max(pa.shape) > _MAX_SIDE:
        pa, pb = down2(pa), down2(pb)
    s = full[1] / pa.shape[1]
    left = np.zeros(2)
    far = np.zeros(0, bool)
    x = np.zeros((0, 0), np.float32)
    r0 = c0 = 0
    for _ in range(_ROUNDS):
        x, y, (r0, c0) = _overlap(pa, pb, (np.asarray(d) + left) / s)
        if min(x.shape) < 2 * _TILE:
            return left, np.zeros(full, bool)
        sh, wt = tile_shifts(_matched(x, y), y)
        good = wt >= _MIN_TEXTURE * np.median(wt[wt > 0]) if (wt > 0).any() else wt > 0
        if skip is not None:
            good &= _tile_share(skip, pa.shape, (r0, c0), x.shape) < 0.5
        if not good.any():
            return left, np.zeros(full, bool)
        step = _mode(sh[good], wt[good])
        left = left + step * s
        far = good & (np.abs(sh - step).max(axis=1) >= APART_PX)
        if np.abs(step * s).max() < _SETTLED_PX:
            break
    grid = far.reshape(x.shape[0] // _TILE, x.shape[1] // _TILE)
    lev = np.zeros(pa.shape, bool)
    lev[r0:r0 + grid.shape[0] * _TILE, c0:c0 + grid.shape[1] * _TILE] = np.kron(
        grid, np.ones((_TILE, _TILE), bool))
    # back to full resolution (nearest sample of the level)
    ri = np.minimum(np.arange(full[0]) * lev.shape[0] // full[0], lev.shape[0] - 1)
    ci = np.minimum(np.arange(full[1]) * lev.shape[1] // full[1], lev.shape[1] - 1)
    return left, lev[ri][:, ci]


def _tile_share(m: np.ndarray, level: tuple[int, int], corner: tuple[int, int],
                size: tuple[int, int]) -> np.ndarray:
    """Per :data:`_TILE` tile of the crop at ``corner`` (row, col) of ``size`` on a level of
    shape ``level``, the share of its pixels in ``m`` ((H, W) bool at full resolution,
    nearest sample), raveled as :func:`tile_shifts` gives tiles."""
    m = np.asarray(m) > 0.5
    (r0, c0), (h, w) = corner, size
    ri = np.minimum((np.arange(r0, r0 + h) * m.shape[0]) // level[0], m.shape[0] - 1)
    ci = np.minimum((np.arange(c0, c0 + w) * m.shape[1]) // level[1], m.shape[1] - 1)
    sub = m[ri][:, ci]
    ny, nx = h // _TILE, w // _TILE
    return sub[:ny * _TILE, :nx * _TILE].reshape(ny, _TILE, nx, _TILE).mean(axis=(1, 3)).ravel()


def _reduced(f: np.ndarray) -> np.ndarray:
    """A float32 copy of luma plane ``f``, box-reduced to at most :data:`_MAX_SIDE` px."""
    out = np.array(f, np.float32)
    while max(out.shape) > _MAX_SIDE:
        out = down2(out)
    return out


class Kept:
    """A frame reader (store position -> (h, w) luma) that keeps reduced copies of the
    frames :func:`pulls` checks as the alignment reads them, in order: the check then reads
    no frame again (a provider streams each frame once)."""

    def __init__(self, read: Callable[[int], np.ndarray], n: int) -> None:
        self._read = read
        self._want = {round(t * (n - 1)) for t in np.linspace(0, 1, _PAIRS + 1)}
        # and the frame after each (the held check's neighbouring pairs,
        # :mod:`overmix.registration.follow_held`)
        self._next = {k + 1 for k in self._want if k + 1 < n} - self._want
        self.frames: dict[int, np.ndarray] = {}
        self.after: dict[int, np.ndarray] = {}
        self.shape: tuple[int, int] | None = None

    def __call__(self, k: int) -> np.ndarray:
        f = self._read(k)
        if k in self._want and k not in self.frames:
            self.frames[k] = _reduced(f)
            self.shape = (int(f.shape[0]), int(f.shape[1]))
        elif k in self._next and k not in self.after:
            self.after[k] = _reduced(f)
        return f


def pulls(read: Callable[[int], np.ndarray], xy: np.ndarray,
          skip: Callable[[int], np.ndarray | None] | None = None, moved: bool = False,
          ) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
    """Pairs of placed frames (``xy``: (n, 2) offsets, NaN = not placed) spread over the scene
    (the first placed frame against :data:`_PAIRS` later ones, the last among them; the
    placed ones :class:`Kept` holds when ``read`` is one) with what their tiles say is left
    of the offsets: (i, k, (2,) px, (h, w) bool tiles of frame k that disagree).
    ``skip(k)``: (H, W) bool of frame k at full resolution (or None), screen-fixed content
    to leave out: both frames' are left out of a pair (a subtitle on a slow pan stays on
    screen while the background moves a few pixels over the pair; its partly covered tiles
    read fractions of that, and pulled the median 0.17 px on a 0.3 px/frame pan).
    ``moved``: the first frame's mask also where the offsets move it onto the later one
    (:func:`_either`)."""
    ok = np.flatnonzero(~np.isnan(xy[:, 0]))
    if len(ok) < 2:
        return []
    kept = read.frames if isinstance(read, Kept) else {}
    shape = read.shape if isinstance(read, Kept) else None
    have = [k for k in sorted(kept) if k in set(ok.tolist())]
    if len(have) >= 2:
        first, picks = have[0], have[1:]
    else:
        first = int(ok[0])
        picks = sorted({int(ok[min(len(ok) - 1, round(t * (len(ok) - 1)))])
                        for t in np.linspace(0, 1, _PAIRS + 1)[1:]})

    def get(k: int) -> np.ndarray:
        nonlocal shape
        if k in kept:
            return kept[k]
        f = read(k)
        shape = (int(f.shape[0]), int(f.shape[1]))
        return _reduced(f)

    a = get(first)
    out = []
    for k in picks:
        d = xy[k] - xy[first]
        b = get(k)
        left, other = pair_pull(a, b, (float(d[0]), float(d[1])), shape,
                                _either(skip, first, k, d if moved else None))
        if np.abs(left + d).max() < APART_PX <= np.abs(d).max():
            continue  # the largest group stays on screen: a character held, not the background
        out.append((first, k, left, other))
    return out


def _either(skip: Callable[[int], np.ndarray | None] | None, i: int, k: int,
            d: np.ndarray | None = None) -> np.ndarray | None:
    """``skip(i) | skip(k)`` ((H, W) bool, frame k's pixels), or None when neither frame has
    a mask; with ``d`` (px, frame i's content at frame k's pixel p is at p + d), frame i's
    mask moved there too: frame i's subtitle, moved onto frame k with the background, lies
    elsewhere than frame k's (a fade-in under a subtitle: the dim frame's subtitle tiles,
    17 px from frame k's, read 0.34 px)."""
    if skip is None:
        return None
    got = [np.asarray(m) > 0.5 for m in (skip(i), skip(k)) if m is not None]
    if d is not None and (mi := skip(i)) is not None:
        got.append(_moved(np.asarray(mi) > 0.5, d))
    if not got:
        return None
    out = got[0]
    for m in got[1:]:
        out = out | m
    return out


def _moved(m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Mask ``m`` ((H, W) bool) seen from ``d`` further on (``out(p) = m(p + d)``, ``d``
    rounded outward to whole pixels: both neighbours; False beyond the frame)."""
    h, w = m.shape
    out = np.zeros_like(m)
    for dx in {int(np.floor(d[0])), int(np.ceil(d[0]))}:
        for dy in {int(np.floor(d[1])), int(np.ceil(d[1]))}:
            if abs(dx) >= w or abs(dy) >= h:
                continue
            out[max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)] |= \
                m[max(0, dy):h - max(0, -dy), max(0, dx):w - max(0, -dx)]
    return out


def misfits(read: Kept, xys: list[np.ndarray],
            skip: Callable[[int], np.ndarray | None] | None = None) -> np.ndarray:
    """How far each of several alignments of one scene (``xys``: (n, 2) offsets each, NaN =
    not placed) is from what the background's tiles say: over the pairs of the first frame
    :class:`Kept` holds with each later one it holds (placed in every alignment), the shift
    of the largest consistent group of tiles (:func:`pair_pull`, from the first
    alignment's shift; ``skip(k)``: (H, W) bool of frame k, tiles to leave out) against
    each alignment's. Returns (len(xys),) rms px (either axis; NaN without pairs). One
    measure for all: its own error (~0.05 px) does not favour one alignment."""
    frames = {**read.frames, **read.after}
    placed = [k for k in sorted(frames)
              if all(not np.isnan(xy[k, 0]) for xy in xys)]
    if len(placed) < 2 or read.shape is None:
        return np.full(len(xys), np.nan)
    first, rest = placed[0], placed[1:]
    sq = np.zeros(len(xys))
    count = 0
    for k in rest:
        d0 = xys[0][k] - xys[0][first]
        left, _ = pair_pull(frames[first], frames[k], (float(d0[0]), float(d0[1])),
                            read.shape, skip(k) if skip is not None else None)
        m = d0 + left
        if np.abs(m).max() < APART_PX <= np.abs(d0).max():
            continue  # the largest group stays on screen: not the background
        for a, xy in enumerate(xys):
            sq[a] += float(((m - (xy[k] - xy[first])) ** 2).sum())
        count += 1
    return np.sqrt(sq / (2 * count)) if count else np.full(len(xys), np.nan)


def worst(found: list[tuple[int, int, np.ndarray, np.ndarray]]) -> float:
    """The largest pull of :func:`pulls`' pairs (px, either axis), 0 without pairs."""
    return max((float(np.abs(p[2]).max()) for p in found), default=0.0)


def worse(new: dict, old: dict) -> bool:
    """Whether offsets aligned once more (``new``: their ``Offsets.extra``) are in doubt where
    the ones they would replace (``old``) were not: they warn of a conflict and the old ones did
    not warn."""
    got = new.get("follow") or {}
    # a pull warning alone is no reason to keep the first offsets: the realignment exists to
    # remove a pull (a parallax plane's), and its own check may read the plane as the bigger region
    return "warning" in got and "pull" not in got and "warning" not in (old.get("follow") or {})

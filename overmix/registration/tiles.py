"""Where the sub-pixel refinement samples: tiles placed by gradient energy, spread over zones.

A Gauss-Newton step (:mod:`overmix.registration.fine`) uses a number of pixels that follows the
frame's size (2.6 % of them, 4096 to 24k; small planes whole): the overlap is cut into a grid
of zones and each zone contributes one tile (48 px, smaller for small frames) where its
gradient energy is largest, so flat colour is not sampled and the tiles stay spread over the
frame.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from overmix.registration.pyramid import PreparedPlane

# Pixel budget of the full-resolution refinement (rows are taken in bands).
_FINE_BUDGET = 24_000
_TILE = 48
# The per-step budget follows the frame's pixels (so alignment cost follows the pixel count,
# issue #15): this fraction of the level's pixels, at least _MIN_BUDGET, at most
# _FINE_BUDGET; tiles shrink with it (down to _MIN_TILE) so there are always about
# _MIN_TILES zones spread over the frame.
_FINE_FRACTION = _FINE_BUDGET / (1280 * 720)
_MIN_BUDGET = 4096
_MIN_TILES = 10
_MIN_TILE = 16
# Cell size (px) of the gradient-energy map that places the tiles.
_CELL = 8


def _fine_budget(pixels: int) -> int | None:
    """Pixels per Gauss-Newton step at a level of ``pixels`` (None: the whole overlap)."""
    budget = min(_FINE_BUDGET, max(_MIN_BUDGET, round(_FINE_FRACTION * pixels)))
    return None if pixels <= 2 * budget else budget


def _tile_side(budget: int, zones: int = _MIN_TILES) -> int:
    """Side of the square tiles that give about ``zones`` tiles for ``budget`` pixels."""
    return int(min(_TILE, max(_MIN_TILE, math.isqrt(budget // zones))))


def _spread(lo: int, length: int, size: int, count: int) -> np.ndarray:
    """``count`` starts of windows of ``size`` spread evenly over [lo, lo + length)."""
    if count <= 1:
        return np.array([lo + (length - size) // 2], np.int64)
    return np.linspace(lo, lo + length - size, count).round().astype(np.int64)


def _tiles(y0: int, x0: int, rows: int, cols: int, budget: int | None,
           energy: np.ndarray | None = None, shift: tuple[float, float] = (0.0, 0.0),
           cell: int = 8, zones: int = _MIN_TILES) -> tuple[np.ndarray, int, int]:
    """Tiles (starts (n, 2), tile rows, tile cols) covering the region, or about ``budget``
    pixels of it: the region is cut into a grid of zones (so the tiles stay spread out, and
    an animated character cannot take them all) and each zone's tile sits where the
    gradient energy is largest (so flat colour, which says nothing about the shift, is not
    sampled). ``energy`` is :func:`_energy` of the plane whose pixel ``q + shift`` a q-tile
    reads, in cells of ``cell`` pixels of this level. ``zones``: about how many tiles the
    budget is cut into."""
    if budget is None or rows * cols <= budget:
        th, tw = min(rows, 32), cols
        ny = -(-rows // th)
        ys = _spread(y0, rows, th, ny) if ny > 1 else np.array([y0], np.int64)
        xs = np.array([x0], np.int64)
        grid = np.stack(np.meshgrid(ys, xs, indexing="ij"), axis=-1).reshape(-1, 2)
        return np.ascontiguousarray(grid, np.int64), th, tw
    side = _tile_side(budget, zones)
    th, tw = min(rows, side), min(cols, side)
    n_tiles = max(1, budget // (th * tw))
    # a grid of zones with the region's aspect ratio
    ny = max(1, min(rows // th, round(math.sqrt(n_tiles * rows / cols))))
    nx = max(1, min(cols // tw, n_tiles // ny))
    if energy is None:
        ys, xs = _spread(y0, rows, th, ny), _spread(x0, cols, tw, nx)
        grid = np.stack(np.meshgrid(ys, xs, indexing="ij"), axis=-1).reshape(-1, 2)
        return np.ascontiguousarray(grid, np.int64), th, tw
    corners, starts, first = _zone_plan(y0, x0, rows, cols, th, tw, ny, nx, cell,
                                        math.floor(shift[1]), math.floor(shift[0]),
                                        energy.shape[0], energy.shape[1])
    # tile energy of every candidate of every zone (zones, candidates), integral image
    v = energy.ravel().take(corners)
    e = v[0] - v[1]
    e -= v[2]
    e += v[3]
    best = e.argmax(axis=1)
    best += first
    return starts.take(best, axis=0), th, tw


@functools.lru_cache(maxsize=64)
def _zone_plan(y0: int, x0: int, rows: int, cols: int, th: int, tw: int, ny: int, nx: int,
               cell: int, fy: int, fx: int, hc: int, wc: int) -> tuple[np.ndarray, ...]:
    """Where :func:`_tiles` looks, which depends only on the region, the grid and the whole
    part of the shift (the same for every frame of a steady pan: cached): flat indices of
    the four integral-image corners (11, 01, 10, 00) of every candidate tile of every zone
    (4, ny nx, m), the candidates' starts (y, x) (ny nx m, 2) and each zone's first
    candidate's row in them (ny nx,). ``hc, wc``: the integral image's shape."""
    ey = np.linspace(y0, y0 + rows, ny + 1).astype(np.int64)
    ex = np.linspace(x0, x0 + cols, nx + 1).astype(np.int64)
    # candidate starts per zone row / column (every ``cell`` px), padded to one length by
    # repeating the last one (a repeat never wins a tie: argmax keeps the first maximum)
    ys, cy0, cy1 = _zone_candidates(ey, th, cell, fy, hc - 1)
    xs, cx0, cx1 = _zone_candidates(ex, tw, cell, fx, wc - 1)
    my, mx = ys.shape[1], xs.shape[1]

    def corner(cy: np.ndarray, cx: np.ndarray) -> np.ndarray:
        return (cy[:, None, :, None] * wc + cx[None, :, None, :]).reshape(ny, nx, my * mx)

    shape = (ny, nx, my, mx)
    starts = np.empty((ny * nx * my * mx, 2), np.int64)
    starts[:, 0] = np.broadcast_to(ys[:, None, :, None], shape).ravel()
    starts[:, 1] = np.broadcast_to(xs[None, :, None, :], shape).ravel()
    corners = np.stack([corner(cy1, cx1), corner(cy0, cx1), corner(cy1, cx0),
                        corner(cy0, cx0)]).reshape(4, ny * nx, my * mx)
    first = np.arange(ny * nx) * (my * mx)
    plan = (corners, starts, first)
    for a in plan:
        a.flags.writeable = False  # cached and shared
    return plan


def _zone_candidates(edges: np.ndarray, size: int, cell: int, shift: float,
                     ncell: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Candidate tile starts of each zone between ``edges`` (zones, m), padded, and the
    first / past-the-end energy cells the tiles cover (clipped to ``ncell``)."""
    a = edges[:-1]
    count = (np.maximum(edges[1:] - size, a) - a) // cell + 1
    step = np.minimum(np.arange(int(count.max()))[None, :], (count - 1)[:, None])
    pos = a[:, None] + cell * step
    # floor((pos + shift) / cell) in integers: pos is whole, so only floor(shift) matters
    p0 = pos + math.floor(shift)
    c0 = np.minimum(np.maximum(p0 // cell, 0), ncell)
    c1 = np.minimum(np.maximum((p0 + size) // cell, 0), ncell)
    return pos, c0, c1


def _energy(p: PreparedPlane) -> np.ndarray:
    """Integral image (float64, (H/_CELL + 1, W/_CELL + 1)) of the squared gradient of the
    full-resolution plane per _CELL x _CELL cell (estimated on every other pixel; ignored
    pixels count 0). Cached on the plane."""
    if p.energy is None:
        lv = p.levels[0]
        p.energy = energy_map(lv.img, lv.valid)
    return p.energy


def energy_map(img: np.ndarray, valid: np.ndarray | None = None,
               scratch: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """:func:`_energy` of a full-resolution level's codes ``img`` (h, w) and its validity
    mask, or of each plane of a stack (m, h, w) without masks at once ((m, ...) float64).
    ``scratch``: the temporaries' buffers, kept by the caller between calls (the read-ahead
    thread's batches, :mod:`.ahead`: a few MB of fresh temporaries per batch came from the
    OS page by page, ~700 page faults per 8 frames of 480x270, a fifth of the batch's
    time); the same values."""
    src = img[..., ::2, ::2]
    a = _work(scratch, "a", src.shape, np.float32)
    np.copyto(a, src, casting="unsafe")
    e = _work(scratch, "e", src.shape, np.float32)
    # e[i, j] = (a[i, j + 1] - a[i, j])^2 + (a[i + 1, j] - a[i, j])^2, 0 on the last row
    # and column (written in place: no whole-stack temporaries beyond the buffers)
    ex = e[..., :-1, :-1]
    np.subtract(a[..., :-1, 1:], a[..., :-1, :-1], out=ex)
    np.square(ex, out=ex)
    gy = _work(scratch, "g", ex.shape, np.float32)
    np.subtract(a[..., 1:, :-1], a[..., :-1, :-1], out=gy)
    np.square(gy, out=gy)
    ex += gy
    e[..., -1, :] = 0.0
    e[..., :-1, -1] = 0.0
    if valid is not None:
        e *= valid[::2, ::2]
    c = _CELL // 2
    hc, wc = e.shape[-2] // c, e.shape[-1] // c
    lead = e.shape[:-2]
    # cell sums: rows of cells first, then columns (contiguous reductions)
    rows = _work(scratch, "rows", (*lead, hc, wc * c), np.float64)
    np.sum(e[..., : hc * c, : wc * c].reshape(*lead, hc, c, wc * c), axis=-2,
           dtype=np.float64, out=rows)
    cells = rows.reshape(*lead, hc, wc, c).sum(axis=-1)
    integral = np.zeros((*lead, hc + 1, wc + 1))
    np.cumsum(np.cumsum(cells, axis=-2), axis=-1, out=integral[..., 1:, 1:])
    return integral


def _work(scratch: dict[str, np.ndarray] | None, name: str, shape: tuple[int, ...],
          dtype: type) -> np.ndarray:
    """An uninitialised array of ``shape``: ``scratch[name]`` (or its first planes, along
    the first axis) when it fits, else a new one kept there (without ``scratch``: new)."""
    if scratch is None:
        return np.empty(shape, dtype)
    buf = scratch.get(name)
    if (buf is None or buf.dtype != dtype or buf.ndim != len(shape)
            or buf.shape[1:] != tuple(shape[1:]) or buf.shape[0] < shape[0]):
        buf = scratch[name] = np.empty(shape, dtype)
    return buf[: shape[0]]

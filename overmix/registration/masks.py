"""What does not move with the background: per-frame masks of a scene (DESIGN §4 "Masks").

Two neighbouring frames ``ref`` (frame k-1) and ``mov`` (frame k), with the background shift
``d`` (``mov(p) = ref(p + d)``), say three things about each pixel p of ``mov``:

- **background**: ``mov(p)`` matches ``ref(p + d)``;
- **screen-fixed** (subtitle, logo, credits standing still, bars, a dirty edge): it does not
  match ``ref(p + d)`` but matches ``ref(p)``, the same place on the screen;
- **foreground** (a character, scrolling credits, a talking mouth): it matches neither.

The match against ``ref(p + d)`` uses the sampling-insensitive dissimilarity of Birchfield and
Tomasi (1998): the distance of ``mov(p)`` from the interval spanned by the four ``ref``
samples around ``p + d``, so a sub-pixel shift or a blurred edge does not count as a
difference. Both differences are averaged over 3x3 pixels (changes that matter are spatially
coherent; codec noise is not) and compared with a threshold above the noise
(:data:`FLOOR`, or 4x the robust spread of the differences when that is larger). Specks
smaller than :data:`MIN_SPECK` pixels are dropped and the maps grown by one pixel.

This runs on the coarsest pyramid level the aligner already holds (at most ~360 px a side:
a 1280x720 frame is classified in 4x4 blocks), so finding nothing costs little.
Frame k gets a map from its pair with k-1 and one from its pair with k+1; its foreground is
where both say so (a pixel that differs only from one neighbour is the neighbour's
foreground, seen from here), its screen-fixed content where either does.

:class:`SceneMasks` holds the maps and gives them in frame coordinates at full resolution:
``overlay(k)``, ``foreground(k)`` (bool (h, w)) and ``weight(k)`` (float32 (h, w), 1 =
background usable, 0 = not), plus a JSON summary.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = ["SceneMasks", "classify_pair", "FLOOR", "full_size", "range3"]

# Smallest 3x3-mean difference (luma units, Y' in [0, 1]) that counts as "does not match":
# above H.264 noise at crf ~18-24 on both 8 and 10 bits, below any visible overlay.
FLOOR = 0.045
# Connected regions smaller than this (pixels of the classification level) are noise.
MIN_SPECK = 3
# A pixel is screen-fixed when its unmoved difference is below this fraction of its
# motion-compensated one.
STATIC_RATIO = 0.5
# The tolerance interval of a pixel is its 3x3 neighbours' range, widened by this fraction of
# the range on each side (sub-pixel lines split between pixels).
WIDEN = 0.5
# The alignment's mask is the maps grown by this many map pixels.
IGNORE_GROW = 2
# Maps covering less than this fraction of the frames (on average) are codec specks on a
# clean pan, not content: no second alignment pass, no render weights.
MIN_FRACTION = 0.002


def classify_pair(ref: np.ndarray, mov: np.ndarray, d: tuple[float, float], *,
                  unit: float = 1.0, ref_range: tuple[np.ndarray, np.ndarray] | None = None,
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Non-background and screen-fixed maps of ``mov`` (its coordinates).

    Parameters
    ----------
    ref, mov : (h, w) arrays
        The same pyramid level of frames k-1 and k (values ``unit`` per luma unit, any
        offset: uint16 codes of the aligner's pyramid, or float luma with ``unit=1``).
    d : (dx, dy)
        Background shift at this level, ``mov(p) = ref(p + d)``.
    ref_range : ((h - 2, w - 2), (h - 2, w - 2)), optional
        :func:`range3` of ``ref`` (uint16 codes), when made already (the read-ahead makes
        it for a batch of small frames at once).

    Returns
    -------
    moving, static : (h, w) bool
        ``moving``: does not follow the background (screen-fixed or foreground);
        ``static``: the part of it that stays at the same screen place (only where the
        shift is at least a pixel, else screen-fixed content cannot be told apart).
    """
    scale = np.float32(1.0 / unit)
    h, w = mov.shape
    moving = np.zeros((h, w), bool)
    static = np.zeros((h, w), bool)
    dx, dy = float(d[0]), float(d[1])
    ix, iy = int(np.floor(dx + 0.5)), int(np.floor(dy + 0.5))
    # mov pixels whose 3x3 ref neighbourhood around the nearest p + d is inside ref
    y0, y1 = max(1, 1 - iy), min(h - 1, h - 1 - iy)
    x0, x1 = max(1, 1 - ix), min(w - 1, w - 1 - ix)
    if y1 - y0 < 3 or x1 - x0 < 3:
        return moving, static
    # ref's 3x3 range around p + d: only the window that holds it (inside ref, no padding)
    ry, rx = y0 + iy - 1, x0 + ix - 1
    raw = _distance(mov[y0:y1, x0:x1], ref[ry:y1 + iy + 1, rx:x1 + ix + 1], scale,
                    ranges=None if ref_range is None else
                    (ref_range[0][ry:ry + y1 - y0, rx:rx + x1 - x0],
                     ref_range[1][ry:ry + y1 - y0, rx:rx + x1 - x0]))
    if raw is None:
        return moving, static  # 3x3 means stay below the largest value: nothing moves
    da = _box3(raw)
    thr = FLOOR
    if np.count_nonzero(da) > 0.05 * da.size:  # da >= 0
        thr = max(thr, 4 * 1.4826 * float(np.median(da)))
    mv = da > thr
    if not mv.any():
        return moving, static
    mv = _drop_specks(mv, MIN_SPECK)
    moving[y0:y1, x0:x1] = mv
    if max(abs(dx), abs(dy)) >= 1.0:
        d0 = _box3(_distance(mov[y0:y1, x0:x1], ref[y0 - 1:y1 + 1, x0 - 1:x1 + 1], scale,
                             None, None if ref_range is None else
                             (ref_range[0][y0 - 1:y1 - 1, x0 - 1:x1 - 1],
                              ref_range[1][y0 - 1:y1 - 1, x0 - 1:x1 - 1])))
        static[y0:y1, x0:x1] = mv & (d0 < STATIC_RATIO * da) & (d0 < 0.5 * FLOOR)
    moving = _filter3(moving, np.logical_or)
    return moving, _filter3(static, np.logical_or) & moving


def _distance(v: np.ndarray, ref: np.ndarray, scale: np.float32,
              limit: float | None = 0.99 * FLOOR,
              ranges: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray | None:
    """:func:`_outside` of ``v`` (h, w) against the 3x3 ranges of ``ref`` (h + 2, w + 2), in
    luma (float32; values times ``scale``); None when it stays below ``limit`` everywhere.
    uint16 codes (the aligner's pyramid) in exact integer arithmetic: twice the distance in
    codes is ``max(3 lo - hi - 2 v, 2 v - 3 hi + lo, 0)`` (:data:`WIDEN` = 1/2), and a clean
    pan's pair is told from it before any float map is made. ``ranges``: ``range3(ref)``
    when the caller has it (uint16 codes)."""
    if v.dtype != np.uint16 or ref.dtype != np.uint16 or WIDEN != 0.5:
        raw = _outside(v.astype(np.float32) * scale, *_range3(ref, scale))
        return None if limit is not None and float(raw.max()) < limit else raw
    lo, hi = _range3(ref, None) if ranges is None else ranges
    v2 = np.multiply(v, 2, dtype=np.int32)
    t = np.multiply(lo, 3, dtype=np.int32)
    t -= hi
    t -= v2
    t2 = np.multiply(hi, -3, dtype=np.int32)
    t2 += lo
    t2 += v2
    np.maximum(t, t2, out=t)
    if limit is not None and int(t.max()) < 2 * limit / float(scale):
        return None
    np.maximum(t, 0, out=t)
    return t.astype(np.float32) * np.float32(0.5 * float(scale))


def _outside(v: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Distance of ``v`` from the interval [lo, hi] widened by its own width on both sides
    (0 inside): a line thinner than a pixel puts all its weight in one pixel at one phase
    and splits it between two at another, up to twice the neighbours' range."""
    r = hi - lo
    r = r * np.float32(WIDEN)
    return np.maximum(np.maximum(lo - r - v, v - hi - r), 0)


def range3(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """3x3 minimum and maximum of uint16 codes ``codes`` (h, w), or of each plane of a
    stack (m, h, w), on the inner (h - 2, w - 2) pixels: what :func:`classify_pair` reads
    of its ``ref`` (``ref_range``)."""
    return _range3(codes, None)


def _range3(a: np.ndarray, scale: np.float32 | None) -> tuple[np.ndarray, np.ndarray]:
    """3x3 minimum and maximum of ``a`` (h, w) on its inner (h - 2, w - 2) pixels, times
    ``scale``, float32 (separable passes of shifted slices); in a's own type when ``scale``
    is None (then also of each plane of a stack (..., h, w))."""
    lo = np.minimum(a[..., :-2], a[..., 1:-1])
    hi = np.maximum(a[..., :-2], a[..., 1:-1])
    np.minimum(lo, a[..., 2:], out=lo)
    np.maximum(hi, a[..., 2:], out=hi)
    out = []
    for r, op in ((lo, np.minimum), (hi, np.maximum)):
        v = op(r[..., :-2, :], r[..., 1:-1, :])
        op(v, r[..., 2:, :], out=v)
        if scale is None:
            out.append(v)
            continue
        f = v.astype(np.float32)
        f *= scale
        out.append(f)
    return out[0], out[1]


def _pad1(a: np.ndarray) -> np.ndarray:
    """``np.pad(a, 1, mode="edge")`` of a 2-D array (without np.pad's per-call cost)."""
    h, w = a.shape
    p = np.empty((h + 2, w + 2), a.dtype)
    p[1:-1, 1:-1] = a
    p[0, 1:-1] = a[0]
    p[-1, 1:-1] = a[-1]
    p[:, 0] = p[:, 1]
    p[:, -1] = p[:, -2]
    return p


def _filter3(a: np.ndarray, op: np.ufunc) -> np.ndarray:
    """3x3 neighbourhood reduction (``np.minimum``, ``np.maximum``, ``np.logical_or``) with
    replicated edges, as two separable passes of shifted slices."""
    p = _pad1(a)
    r = op(op(p[:, :-2], p[:, 1:-1]), p[:, 2:])
    return op(op(r[:-2], r[1:-1]), r[2:])


def _box3(a: np.ndarray) -> np.ndarray:
    """3x3 mean with replicated edges (float32)."""
    p = _pad1(a)
    r = p[:, :-2] + p[:, 1:-1] + p[:, 2:]
    return (r[:-2] + r[1:-1] + r[2:]) * np.float32(1.0 / 9.0)


def _drop_specks(mask: np.ndarray, min_size: int) -> np.ndarray:
    from scipy import ndimage  # only once something was found (keeps scipy off clean runs)

    lab, count = ndimage.label(mask)
    if count == 0:
        return mask
    sizes = np.bincount(lab.ravel(), minlength=count + 1)
    small = sizes < min_size
    small[0] = True
    return ~small[lab]



def full_size(m: np.ndarray, scale: int, shape: tuple[int, int]) -> np.ndarray:
    """A bool map of a reduced level (``scale`` frame pixels per map pixel) at frame size
    ``shape``: each map pixel repeated, the rows and columns the reduction cut off repeating
    the last ones."""
    h, w = shape
    if scale > 1:
        m = np.repeat(np.repeat(m, scale, axis=0), scale, axis=1)
    out = np.zeros((h, w), bool)
    hh, ww = min(h, m.shape[0]), min(w, m.shape[1])
    out[:hh, :ww] = m[:hh, :ww]
    if hh < h:  # rows the pyramid cut off: repeat the last map row
        out[hh:, :ww] = out[hh - 1:hh, :ww]
    if ww < w:
        out[:, ww:] = out[:, ww - 1:ww]
    return out

def shift_map(m: np.ndarray, d: tuple[float, float]) -> np.ndarray:
    """A map of frame k (pair (k-1, k), k's coordinates) seen in frame k-1's coordinates:
    ``out(q) = m(q - d)`` at the nearest whole pixel (False outside)."""
    h, w = m.shape
    sx, sy = int(round(d[0])), int(round(d[1]))
    out = np.zeros_like(m)
    ys, yd = (slice(0, h - sy), slice(sy, h)) if sy >= 0 else (slice(-sy, h), slice(0, h + sy))
    xs, xd = (slice(0, w - sx), slice(sx, w)) if sx >= 0 else (slice(-sx, w), slice(0, w + sx))
    if ys.stop > ys.start and xs.stop > xs.start:
        out[yd, xd] = m[ys, xs]
    return out


@dataclass
class _Maps:
    prev: tuple[np.ndarray, np.ndarray] | None = None  # (moving, static) from pair (k-1, k)
    nxt: tuple[np.ndarray, np.ndarray] | None = None  # from pair (k, k+1), in k's coordinates


@dataclass
class SceneMasks:
    """Per-frame masks of a scene, in frame coordinates.

    Frames are addressed by their position in the aligned sequence (0..n-1, the order of the
    frames given to :func:`overmix.registration.align`). Maps are kept at the classification
    level (``scale`` full-resolution pixels per map pixel) and returned at full resolution.

    Attributes
    ----------
    shape : (h, w)
        Full-resolution frame size.
    scale : int
        Full-resolution pixels per map pixel (a power of 2).
    bars : (h, w) bool or None
        Letterbox/pillarbox bars (screen-fixed in every frame).
    fixed : callable or None
        ``fixed(k)``: frame k's screen-fixed content found over long jumps
        (:class:`overmix.registration.static.ScreenFixed`: (h, w) bool or None), which the
        last pass measured the offsets without; counted in :meth:`summary` only (the clean
        still redraws screen-fixed content itself). Between neighbours a pan under ~2 map
        pixels per frame hides a subtitle from the maps (their 3x3 ranges take the shift):
        on a slowing pan they held none of the one the alignment left out.
    """

    shape: tuple[int, int]
    scale: int
    n: int
    bars: np.ndarray | None = None
    fixed: Callable[[int], np.ndarray | None] | None = None
    maps: dict[int, _Maps] = field(default_factory=dict)
    # frames that some map marks (the others' queries need not look at their maps)
    marked: set[int] = field(default_factory=set)
    _empty: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    # -- building (the aligner)
    def add_pair(self, k: int, moving: np.ndarray, static: np.ndarray,
                 d: tuple[float, float]) -> None:
        """Record the maps of pair (k-1, k) (``d`` at the map level)."""
        if not moving.any():  # static is a part of moving
            # empty maps (most pairs of a clean pan): one shared, read-only pair of them for
            # every such pair (the maps of a long scene would otherwise grow with its frames)
            if self._empty is None or self._empty[0].shape != moving.shape:
                moving.flags.writeable = static.flags.writeable = False
                self._empty = (moving, static)
            self.maps.setdefault(k, _Maps()).prev = self._empty
            self.maps.setdefault(k - 1, _Maps()).nxt = self._empty
            return
        self.maps.setdefault(k, _Maps()).prev = (moving, static)
        self.maps.setdefault(k - 1, _Maps()).nxt = (shift_map(moving, d), shift_map(static, d))
        self.marked.update((k - 1, k))

    # -- queries
    def _level(self, k: int) -> tuple[np.ndarray, np.ndarray] | None:
        m = self.maps.get(k) if k in self.marked else None  # unmarked: empty maps
        if m is None or (m.prev is None and m.nxt is None):
            return None
        got = [p for p in (m.prev, m.nxt) if p is not None]
        static = got[0][1] if len(got) == 1 else (got[0][1] | got[1][1])
        moving = got[0][0] if len(got) == 1 else (got[0][0] & got[1][0])
        return moving & ~static, static

    def _full(self, m: np.ndarray) -> np.ndarray:
        return full_size(m, self.scale, self.shape)

    def overlay(self, k: int) -> np.ndarray:
        """Screen-fixed content of frame k (subtitles, logos, bars): bool (h, w)."""
        lv = self._level(k)
        out = np.zeros(self.shape, bool) if lv is None else self._full(lv[1])
        if self.bars is not None:
            out |= self.bars
        return out

    def foreground(self, k: int) -> np.ndarray:
        """Content of frame k moving on its own (characters, credits, mouths): bool (h, w)."""
        lv = self._level(k)
        return np.zeros(self.shape, bool) if lv is None else self._full(lv[0])

    def ignore(self, k: int) -> np.ndarray | None:
        """Everything of frame k that did not follow the background in either pair (the
        alignment's mask: the union, conservative), or None when there is nothing."""
        m = self.maps.get(k) if k in self.marked else None
        parts = [] if m is None else [p[0] for p in (m.prev, m.nxt)
                                      if p is not None and p[0].any()]
        if not parts and self.bars is None:
            return None
        grown = np.logical_or.reduce(parts) if parts else None
        if grown is not None and not grown.any():
            grown = None  # nothing found (a clean pan): no growing or upsampling
            if self.bars is None:
                return None
        if grown is not None:
            # grown: the soft, compressed edges of text and outlines must not vote either
            for _ in range(IGNORE_GROW):
                grown = _filter3(grown, np.logical_or)
            out = self._full(grown)
        else:
            out = np.zeros(self.shape, bool)
        if self.bars is not None:
            out |= self.bars
        return out if out.any() else None

    def weight(self, k: int) -> np.ndarray:
        """float32 (h, w): 1 where frame k shows usable background, 0 where not."""
        return (~(self.overlay(k) | self.foreground(k))).astype(np.float32)

    def fraction(self) -> float:
        """Fraction of all frames' pixels the alignment mask ignores (bars excluded)."""
        tot = 0.0
        for m in (self.maps[k] for k in sorted(self.marked) if k in self.maps):  # others: empty
            parts = [p[0] for p in (m.prev, m.nxt) if p is not None]
            if parts:
                tot += np.count_nonzero(np.logical_or.reduce(parts)) / parts[0].size
        return tot / max(self.n, 1)

    def found(self) -> bool:
        """Whether the maps hold content (at least :data:`MIN_FRACTION`) or bars."""
        return self.bars is not None or self.fraction() >= MIN_FRACTION

    def summary(self) -> dict[str, object]:
        """JSON-able summary: mean overlay (the maps' screen-fixed content with the
        long-jump one, :attr:`fixed`) / foreground fraction per frame, frames with each, and
        the bars."""
        ov, fg = [], []
        for k in range(self.n):
            lv = self._level(k)
            # count_nonzero / size: the mean of a bool map without a float copy of it
            ov.append(0.0 if lv is None else np.count_nonzero(lv[1]) / lv[1].size)
            fg.append(0.0 if lv is None else np.count_nonzero(lv[0]) / lv[0].size)
            fx = self.fixed(k) if self.fixed is not None else None
            if fx is not None:  # the long-jump content too, at full resolution
                fx = np.asarray(fx, bool) if lv is None else fx | self._full(lv[1])
                ov[-1] = np.count_nonzero(fx if self.bars is None else fx & ~self.bars) / fx.size
        bars = 0.0 if self.bars is None else np.count_nonzero(self.bars) / self.bars.size
        return {
            "overlay": round(float(np.mean(ov)) + bars, 4) if ov else bars,
            "foreground": round(float(np.mean(fg)), 4) if fg else 0.0,
            "overlay_frames": int(sum(v > 0 for v in ov)) if bars == 0 else self.n,
            "foreground_frames": int(sum(v > 0 for v in fg)),
            "bars": round(bars, 4),
        }

"""The average render's splat of a translated frame, one cache-sized strip of canvas rows at
a time, the planes of a plane group together (issue #15).

:func:`overmix.render.resample.splat` makes whole-plane float32 temporaries (3.7 MB each for a
720p plane, a dozen passes), so every numpy pass streams from main memory. Here the same
arithmetic runs on strips of :data:`STRIP_ROWS` canvas rows whose temporaries stay in a core's
cache, the planes sharing a sample grid (R'G'B', or Cb and Cr) in one array so each numpy call
does all of them, and the strips of a frame can go to different threads: each canvas sample
gets the same additions in the same order whichever thread owns its rows.

The values are bit-identical to :func:`~overmix.render.resample.splat`: per canvas sample the
x pass is ``((v0·w0 + v1·w1) + v2·w2) + v3·w3`` in float32 on the codes (cast exactly) with
the taps clamped at the frame edges, then the y pass the same with the weights times ``a``,
then ``+ b``, the coverage (or ``w2``) product and the sums. Clamping is done by padding a
strip's source rows (a replicated edge sample is what a clamped tap reads), and the rows of
all planes are laid end to end, so each tap of either pass is one multiply and one add over a
flat run shifted by the tap (the few samples between rows are scratch, never used).

Only translations at the source's own pitch with one weight set for every sample take this
path (:meth:`GroupSplat.make` returns None otherwise); the others go through
:func:`~overmix.render.resample.splat` strip by strip.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from overmix.render.resample import AxisPlan

__all__ = ["STRIP_ROWS", "GroupSplat"]

# Canvas rows per strip: the float32 scratch of a strip of three 1280-column planes (~0.5 MB
# per array) stays in a core's L2 cache, and there are enough strips for two threads.
STRIP_ROWS = 32


def _taps(w: np.ndarray) -> tuple[list[np.float32], list[bool]] | None:
    """Per tap the one float32 weight every sample shares, and whether the tap can be skipped
    (a zero weight of a whole-sample phase); None when the samples' weights differ."""
    if not bool(np.all(w == w[0])):
        return None
    ws = [np.float32(v) for v in w[0]]
    skip = [v == 0.0 for v in ws]
    if all(skip):
        skip[-1] = False
    return ws, skip


def _consecutive(p: AxisPlan) -> bool:
    return p.start.size == 1 or bool(np.all(np.diff(p.start) == 1))


class GroupSplat:
    """A frame's planes of one group splatted strip by strip: :meth:`run` adds canvas rows
    ``[i0, i1)`` of ``splat(src[p], px, py, acc[p], wacc, a=a, b=b, w2=w2)`` for every plane
    ``p`` (``acc`` one (planes, H, W) array; ``wacc`` gets the weights once)."""

    def __init__(self, srcs: Sequence[np.ndarray], px: AxisPlan, py: AxisPlan,
                 acc: np.ndarray, wacc: np.ndarray | None, b: float, w2: np.ndarray | None,
                 wx: tuple[list[np.float32], list[bool]],
                 wy: tuple[list[np.float32], list[bool]]) -> None:
        self.srcs, self.px, self.py, self.acc, self.wacc, self.w2 = srcs, px, py, acc, wacc, w2
        self.b = np.float32(b) if b != 0.0 else None
        self.taps = px.weights.shape[1]
        (self.wx, self.skip_x), (self.wy, self.skip_y) = wx, wy
        self.c0 = int(px.start[0])  # source columns the x taps read (unclamped)
        self.c1 = int(px.start[-1]) + self.taps - 1
        self.ex = np.flatnonzero(px.cover != 1.0)
        self.cover_xe = px.cover[self.ex]

    @classmethod
    def make(cls, srcs: Sequence[np.ndarray], px: object, py: object, acc: np.ndarray,
             wacc: np.ndarray | None, a: float, b: float,
             w2: np.ndarray | None) -> GroupSplat | None:
        """The strip splat of these plans, or None when they are not a translation at the
        source's pitch with one weight set (use :func:`~overmix.render.resample.splat`)."""
        if not (isinstance(px, AxisPlan) and isinstance(py, AxisPlan)
                and _consecutive(px) and _consecutive(py)):
            return None
        wx = _taps(px.weights)
        wy = _taps(py.weights if a == 1.0 else py.weights * np.float32(a))
        if wx is None or wy is None:
            return None
        return cls(srcs, px, py, acc, wacc, b, w2, wx, wy)

    def run(self, i0: int, i1: int, bufs: dict[str, np.ndarray]) -> None:
        """Add canvas rows ``[i0, i1)`` (inside ``[py.lo, py.hi)``); ``bufs`` is the calling
        thread's scratch (reused between calls)."""
        px, py, taps, k = self.px, self.py, self.taps, len(self.srcs)
        n, m = px.hi - px.lo, i1 - i0
        pitch = n + taps - 1  # samples per scratch row (a padded source row)
        s = i0 - py.lo
        v0 = int(py.start[s])  # first (virtual, unclamped) source row the strip reads
        rows = m + taps - 1  # scratch rows per plane: the strip's source rows
        size = k * rows * pitch
        xs = _buf(bufs, "x", size)
        self._pass_x(v0, rows, xs, pitch, bufs)
        # y: output row i of a plane is the sum over t of scratch row i + t, so each tap is
        # the flat run shifted by t rows (the last taps - 1 rows of each plane are scratch)
        run = size - (taps - 1) * pitch
        out = _buf(bufs, "y", size)
        _taps_sum(xs, out[:run], _buf(bufs, "t", run), self.wy, self.skip_y, pitch)
        if self.b is not None:
            out[:run] += self.b
        vals = out.reshape(k, rows, pitch)[:, :m, :n]
        dst = self.acc[:, i0:i1, px.lo:px.hi]
        if self.w2 is not None:
            w2 = self.w2[s:s + m]
            vals *= w2
            dst += vals
            if self.wacc is not None:
                self.wacc[i0:i1, px.lo:px.hi] += w2
            return
        cy = py.cover[s:s + m]
        ey = np.flatnonzero(cy != 1.0)
        if ey.size:
            vals[:, ey] *= cy[ey, None]
        if self.ex.size:
            vals[:, :, self.ex] *= self.cover_xe
        dst += vals
        if self.wacc is not None:  # cover_y ⊗ cover_x: just cover_x where cover_y is 1
            wdst = self.wacc[i0:i1, px.lo:px.hi]
            if ey.size:
                wdst += np.multiply.outer(cy, px.cover)
            elif self.ex.size:
                wdst += px.cover
            else:
                wdst += np.float32(1.0)

    def _pass_x(self, v0: int, rows: int, xs: np.ndarray, pitch: int,
                bufs: dict[str, np.ndarray]) -> None:
        """Source rows ``v0 .. v0 + rows - 1`` (clamped) of every plane resampled along x into
        ``xs`` (flat (planes, rows, pitch); the first ``n`` samples of a row are the canvas
        columns)."""
        taps, k = self.taps, len(self.srcs)
        h, w = self.srcs[0].shape
        c0, c1 = self.c0, self.c1
        r0, r1 = min(max(v0, 0), h - 1), min(max(v0 + rows - 1, 0), h - 1)
        real = r1 - r0 + 1
        # the real rows, cast to float32, with the clamped columns replicated
        pad = _buf(bufs, "p", k * real * pitch).reshape(k, real, pitch)
        a0, a1 = min(max(c0, 0), w - 1), min(max(c1, 0), w - 1)
        for p, src in enumerate(self.srcs):
            pad[p, :, a0 - c0:a1 - c0 + 1] = src[r0:r1 + 1, a0:a1 + 1]
        if a0 > c0:
            pad[:, :, :a0 - c0] = pad[:, :, a0 - c0:a0 - c0 + 1]
        if a1 < c1:
            pad[:, :, a1 - c0 + 1:] = pad[:, :, a1 - c0:a1 - c0 + 1]
        x3 = xs.reshape(k, rows, pitch)
        lo = r0 - v0  # where the real rows sit among the strip's (virtual) rows
        if real == rows:  # every plane's rows end to end: one flat run
            flat, run = pad.reshape(-1), k * real * pitch - (taps - 1)
            _taps_sum(flat, xs[:run], _buf(bufs, "q", run), self.wx, self.skip_x, 1)
            xs[run:] = 0.0  # the last row's scratch tail
            return
        for p in range(k):  # a strip at the frame's top or bottom edge
            flat, run = pad[p].reshape(-1), real * pitch - (taps - 1)
            dst = x3[p, lo:lo + real].reshape(-1)
            _taps_sum(flat, dst[:run], _buf(bufs, "q", run), self.wx, self.skip_x, 1)
            dst[run:] = 0.0
        if lo > 0:  # rows above the frame read its first row
            x3[:, :lo] = x3[:, lo:lo + 1]
        if lo + real < rows:  # rows below read its last
            x3[:, lo + real:] = x3[:, lo + real - 1:lo + real]


def _taps_sum(src: np.ndarray, out: np.ndarray, tmp: np.ndarray, ws: list[np.float32],
              skip: list[bool], shift: int) -> None:
    """``out = Σ_t ws[t] · src[t·shift : t·shift + len(out)]`` (flat float32 runs), in tap
    order, as ``((w0·s0 + w1·s1) + w2·s2) + w3·s3`` (zero taps skipped)."""
    size = out.size
    first = True
    for t, wt in enumerate(ws):
        if skip[t]:
            continue
        v = src[t * shift:t * shift + size]
        if first:
            np.multiply(v, wt, out=out)
            first = False
        else:
            np.multiply(v, wt, out=tmp)
            out += tmp


def _buf(bufs: dict[str, np.ndarray], key: str, size: int) -> np.ndarray:
    """``size`` float32 scratch samples from ``bufs`` (grown when too small)."""
    b = bufs.get(key)
    if b is None or b.size < size:
        b = np.empty(size, np.float32)
        bufs[key] = b
    return b[:size]

"""The average render's splat of a translated frame, one cache-sized strip of canvas rows at
a time, the planes of a plane group together (issue #15).

:func:`overmix.render.resample.splat` makes whole-plane float32 temporaries (3.7 MB each for a
720p plane, a dozen passes), so every numpy pass streams from main memory. Here a strip of
:data:`STRIP_ROWS` canvas rows is resampled in two BLAS products whose operands stay in a
core's cache, the planes sharing a sample grid (R'G'B', or Cb and Cr) in one array, and the
strips of a frame can go to different threads (BLAS and numpy release the GIL).

A translation reads the source at one phase per axis, so each 1-D pass is a small FIR filter
with the same taps for every sample, applied as a matrix product over blocks of samples:

* x: the strip's source rows (clamped taps by replicating the edge samples, cast from the
  codes) laid end to end at a pitch that is a multiple of :data:`BLOCK_X`; each block of
  ``BLOCK_X`` outputs is that block of inputs times a ``BLOCK_X x BLOCK_X`` banded Toeplitz
  matrix plus the first ``taps - 1`` inputs of the next block times a small one;
* y: each block of :data:`BLOCK_Y` output rows is a ``BLOCK_Y x (BLOCK_Y + taps - 1)`` banded
  matrix times those source rows (a strided view: the row blocks overlap, no copy);

then ``+ b``, the coverage (or ``w2``) product and the sums as in ``splat``. Products over the
zero entries of a banded matrix add exact zeros, so every sample is the same float32 dot
product of its taps wherever it falls in a block, strip or thread: the canvas does not depend
on the number of threads. Against ``splat`` (numpy passes) the values agree to float32
rounding (the summation of a sample's taps is fused differently).

Every BLAS call stays below :data:`BLAS_MNK` multiply-adds: above ``4 · 65536`` OpenBLAS
splits a product over its own threads, which next to the render's worker threads (and on a
loaded machine) made single products up to 100x slower.

Only translations at the source's own pitch with one weight set for every sample take this
path (:meth:`GroupSplat.make` returns None otherwise); the others go through
:func:`~overmix.render.resample.splat` strip by strip.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from overmix.render.resample import AxisPlan

__all__ = ["BLOCK_X", "BLOCK_Y", "MIN_STRIP_ROWS", "STRIPS_PER_WORKER", "STRIP_ROWS", "Cover",
           "GroupSplat", "add_covers"]

# Canvas rows per strip, at most: the float32 scratch of a strip of three 1280-column planes
# (~2 MB per array at 128 rows) stays in a core's L2 or close to it, and few strips keep
# their per-call costs small (the 60-frame 720p render: 64 rows took 11 % less CPU and wall
# than 32). Every numpy or BLAS call of a strip gives up and retakes the GIL, which the
# render's main thread and its other workers want too: on a busy 2-core machine each call
# is a hand-over between threads, so fewer, larger calls pay (same render, 21 alternating
# runs under load: 128 rows 0.36 s wall / 0.67 s CPU, 64 rows 0.40 / 0.72; same canvas).
STRIP_ROWS = 128
# ... but at least this many strips per worker thread when the canvas is short (the threads
# share the strips in turn: 3 each keep them within a strip of even), strips of at least
# MIN_STRIP_ROWS rows
STRIPS_PER_WORKER = 3
MIN_STRIP_ROWS = 32
BLOCK_X = 16  # output samples per x product block (the pitch is a multiple of it)
BLOCK_Y = 8  # output rows per y product block
BLAS_MNK = 1 << 17  # multiply-adds per BLAS call at most (single-threaded OpenBLAS)
COVER_BATCH = 64  # frames per coverage product (its matrices grow with the canvas, not the clip)


def _taps(w: np.ndarray) -> np.ndarray | None:
    """The one float32 weight set every sample shares (taps,), or None when they differ."""
    if not bool(np.all(w == w[0])):
        return None
    return np.asarray(w[0], np.float32)


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def _consecutive(p: AxisPlan) -> bool:
    return p.start.size == 1 or bool(np.all(np.diff(p.start) == 1))


def _band(w: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """``rows x cols`` float32 matrix with ``m[j + t, j] = w[t]`` (a block of the FIR
    ``out[j] = Σ_t w[t] · in[j + t]`` as ``out = in @ m``; entries past ``rows`` dropped)."""
    m = np.zeros((rows, cols), np.float32)
    for t, wt in enumerate(w):
        j = np.arange(cols)
        keep = j + t < rows
        m[j[keep] + t, j[keep]] = wt
    return m


class GroupSplat:
    """A frame's planes of one group splatted strip by strip: :meth:`run` adds canvas rows
    ``[i0, i1)`` of ``splat(src[p], px, py, acc[p], wacc, a=a, b=b, w2=w2)`` for every plane
    ``p`` (``acc`` one (planes, H, W) array; ``wacc`` gets the weights once)."""

    def __init__(self, srcs: Sequence[np.ndarray], px: AxisPlan, py: AxisPlan,
                 acc: np.ndarray, wacc: np.ndarray | None, b: float, w2: np.ndarray | None,
                 wx: np.ndarray, wy: np.ndarray) -> None:
        self.srcs, self.px, self.py, self.acc, self.wacc, self.w2 = srcs, px, py, acc, wacc, w2
        self.b = np.float32(b) if b != 0.0 else None
        self.taps = taps = px.weights.shape[1]
        self.c0 = int(px.start[0])  # source columns the x taps read (unclamped)
        self.c1 = int(px.start[-1]) + taps - 1
        self.ex = np.flatnonzero(px.cover != 1.0)
        self.cover_xe = px.cover[self.ex]
        # x: out block = in block @ mx + first taps - 1 of the next block @ tx
        full = _band(wx, BLOCK_X + taps - 1, BLOCK_X)
        self.mx, self.tx = full[:BLOCK_X].copy(), full[BLOCK_X:].copy()
        # y: out rows block = my @ (BLOCK_Y + taps - 1 source rows)
        self.my = np.ascontiguousarray(_band(wy, BLOCK_Y + taps - 1, BLOCK_Y).T)
        # the pitch: a row's inputs, in column chunks small enough for one y product
        need = (px.hi - px.lo) + taps - 1
        per = max(BLOCK_X, BLAS_MNK // (BLOCK_Y * (BLOCK_Y + taps - 1)) // BLOCK_X * BLOCK_X)
        self.ncol = _ceil(need, per)
        self.cc = _ceil(_ceil(need, self.ncol), BLOCK_X) * BLOCK_X  # columns per chunk
        self.pitch = self.ncol * self.cc

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
        px, py, taps, k, pitch = self.px, self.py, self.taps, len(self.srcs), self.pitch
        n, m = px.hi - px.lo, i1 - i0
        s = i0 - py.lo
        v0 = int(py.start[s])  # first (virtual, unclamped) source row the strip reads
        nby = _ceil(m, BLOCK_Y)
        ry = nby * BLOCK_Y + taps - 1  # source rows per plane in the scratch (y blocks)
        xs = _buf(bufs, "x", k * ry * pitch).reshape(k, ry, pitch)
        out = _buf(bufs, "y", k * ry * pitch)  # the x pass's scratch, then the y output
        self._pass_x(v0, m + taps - 1, xs, out, bufs)
        ys = out[:k * nby * BLOCK_Y * pitch].reshape(k, nby * BLOCK_Y, pitch)
        _fir_y(xs, ys, self.my, nby, self.ncol, self.cc)
        vals = ys[:, :m, :n]
        if self.b is not None:
            vals += self.b
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

    def _pass_x(self, v0: int, rows: int, xs: np.ndarray, tmp: np.ndarray,
                bufs: dict[str, np.ndarray]) -> None:
        """Source rows ``v0 .. v0 + rows - 1`` (clamped) of every plane resampled along x into
        the first ``rows`` rows of ``xs`` ((planes, ry, pitch); the first ``n`` samples of a row
        are the canvas columns); its rows past ``rows`` are zeroed (finite y inputs)."""
        k, (_, ry, pitch) = len(self.srcs), xs.shape
        h, w = self.srcs[0].shape
        c0, c1 = self.c0, self.c1
        r0, r1 = min(max(v0, 0), h - 1), min(max(v0 + rows - 1, 0), h - 1)
        real = r1 - r0 + 1
        lo = r0 - v0  # where the real rows sit among the strip's (virtual) rows
        # the rows, cast to float32, with the clamped columns and rows replicated: the
        # same planes x rows x pitch layout as xs, plus a block of zeros read past the end
        size = k * ry * pitch
        pad = _buf(bufs, "p", size + BLOCK_X)
        pad[size:] = 0.0
        p3 = pad[:size].reshape(k, ry, pitch)
        a0, a1 = min(max(c0, 0), w - 1), min(max(c1, 0), w - 1)
        for p, src in enumerate(self.srcs):
            p3[p, lo:lo + real, a0 - c0:a1 - c0 + 1] = src[r0:r1 + 1, a0:a1 + 1]
        body = p3[:, lo:lo + real]
        if a0 > c0:
            body[:, :, :a0 - c0] = body[:, :, a0 - c0:a0 - c0 + 1]
        if a1 < c1:
            body[:, :, a1 - c0 + 1:c1 - c0 + 1] = body[:, :, a1 - c0:a1 - c0 + 1]
        body[:, :, c1 - c0 + 1:] = 0.0  # unused columns: finite
        if lo > 0:  # rows above the frame read its first row
            p3[:, :lo] = p3[:, lo:lo + 1]
        if lo + real < rows:  # rows below read its last
            p3[:, lo + real:rows] = p3[:, lo + real - 1:lo + real]
        p3[:, rows:] = 0.0
        _fir_x(pad, xs.reshape(-1), self.mx, self.tx, tmp)


def _fir_x(src: np.ndarray, out: np.ndarray, m: np.ndarray, t: np.ndarray,
           tmp: np.ndarray) -> None:
    """``out[i] = Σ_j w[j] · src[i + j]`` for the whole of ``out`` (a multiple of
    :data:`BLOCK_X` samples; ``src`` has a block more): per block of outputs, the block of
    inputs ``@ m`` plus the next block's first inputs ``@ t`` (:class:`GroupSplat`)."""
    nb, tail = out.size // BLOCK_X, t.shape[0]
    f = src[:(nb + 1) * BLOCK_X].reshape(nb + 1, BLOCK_X)
    o = out.reshape(nb, BLOCK_X)
    o2 = tmp[:out.size].reshape(nb, BLOCK_X)
    chunk = max(1, BLAS_MNK // (BLOCK_X * BLOCK_X))
    full = nb // chunk * chunk
    if full:  # batched: numpy loops over the chunks in C, one small product each
        np.matmul(f[:full].reshape(-1, chunk, BLOCK_X), m,
                  out=o[:full].reshape(-1, chunk, BLOCK_X))
        np.matmul(f[1:full + 1].reshape(-1, chunk, BLOCK_X)[:, :, :tail], t,
                  out=o2[:full].reshape(-1, chunk, BLOCK_X))
    if full < nb:
        np.matmul(f[full:nb], m, out=o[full:])
        np.matmul(f[full + 1:nb + 1, :tail], t, out=o2[full:])
    o += o2


def _fir_y(xs: np.ndarray, ys: np.ndarray, m: np.ndarray, nby: int, ncol: int,
           cc: int) -> None:
    """``ys[p, i] = Σ_t wy[t] · xs[p, i + t]`` for ``nby`` blocks of :data:`BLOCK_Y` rows:
    each block (and column chunk of ``cc``) one product with the banded ``m``."""
    k, ry, pitch = xs.shape
    e = xs.itemsize
    # overlapping row blocks of xs (read only) and the matching blocks of ys, as views
    src = np.ndarray((k, nby, ncol, m.shape[1], cc), xs.dtype, buffer=xs,
                     strides=(ry * pitch * e, BLOCK_Y * pitch * e, cc * e, pitch * e, e))
    dst = np.ndarray((k, nby, ncol, BLOCK_Y, cc), ys.dtype, buffer=ys,
                     strides=(nby * BLOCK_Y * pitch * e, BLOCK_Y * pitch * e, cc * e,
                              pitch * e, e))
    np.matmul(m, src, out=dst)


class Cover(NamedTuple):
    """A translated frame's coverage on the canvas: ``outer(cy, cx)`` at rows ``y0 ..``,
    columns ``x0 ..`` (``AxisPlan.lo`` and ``AxisPlan.cover`` of both axes)."""

    y0: int
    cy: np.ndarray
    x0: int
    cx: np.ndarray


def add_covers(acc: np.ndarray, covers: Sequence[Cover]) -> None:
    """``acc += Σ_f outer(cy_f, cx_f)`` placed at each frame's rows and columns: the weight
    sums of frames splatted without a weight array, as products ``Cy @ Cx`` of the frames'
    row and column coverages (``(H, F) @ (F, W)`` for :data:`COVER_BATCH` frames at a time,
    in calls below :data:`BLAS_MNK`) instead of a pass over the canvas per frame."""
    for f0 in range(0, len(covers), COVER_BATCH):
        _add_cover_batch(acc, covers[f0:f0 + COVER_BATCH])


def _add_cover_batch(acc: np.ndarray, covers: Sequence[Cover]) -> None:
    h, w = acc.shape
    f = len(covers)
    cy = np.zeros((h, f), np.float32)
    cx = np.zeros((f, w), np.float32)
    for k, c in enumerate(covers):
        cy[c.y0:c.y0 + c.cy.size, k] = c.cy
        cx[k, c.x0:c.x0 + c.cx.size] = c.cx
    wc = max(1, min(w, BLAS_MNK // f))  # canvas columns per product
    rc = max(1, BLAS_MNK // (f * wc))  # canvas rows per product
    band = rc * max(1, 64 // rc)  # rows per batch of products (numpy loops over them in C)
    tmp = np.empty((band, wc), np.float32)
    for c0 in range(0, w, wc):
        c1 = min(w, c0 + wc)
        for r0 in range(0, h, band):
            r1 = min(h, r0 + band)
            n = -(-(r1 - r0) // rc)
            if n * rc != r1 - r0:  # the last rows: one product each
                for i in range(r0, r1, rc):
                    j = min(r1, i + rc)
                    part = tmp[:j - i, :c1 - c0]
                    np.matmul(cy[i:j], cx[:, c0:c1], out=part)
                    acc[i:j, c0:c1] += part
                continue
            part = tmp[:r1 - r0, :c1 - c0]
            np.matmul(cy[r0:r1].reshape(n, rc, f), cx[:, c0:c1],
                      out=part.reshape(n, rc, c1 - c0))
            acc[r0:r1, c0:c1] += part


def _buf(bufs: dict[str, np.ndarray], key: str, size: int) -> np.ndarray:
    """``size`` float32 scratch samples from ``bufs`` (grown when too small)."""
    b = bufs.get(key)
    if b is None or b.size < size:
        b = np.empty(size, np.float32)
        bufs[key] = b
    return b[:size]

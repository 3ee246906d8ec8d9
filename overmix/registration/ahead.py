"""The frames of a pass, read ahead of the alignment on a second thread (issue #15).

A pass (:mod:`.sweep`) reads each frame once, in order, and never two at once.

Large frames (at least ``_POOL_MIN_PIXELS``) are read one ahead while the caller measures the
current one (the store's luma conversion releases the GIL).

Small frames' work is numpy's per-call cost, which the GIL serialises: one frame at a time on
a second thread cost more in GIL hand-overs (each a wake-up of the other thread) than it
saved. So their next frames are read a batch at a time, and what depends on nothing but the
frame itself — the pyramid's uint16 codes, the gradient-energy map of its full-resolution
level, its flat test, its cut histogram and the screen-fixed search's half-resolution level
and edges — is made for the whole batch with one numpy call per step, while the caller
measures the batch before (the same values as one frame at a time; the masks, which depend
on the measurements, are the caller's).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from overmix.registration.framestats import flat_codes, flat_level, histograms
from overmix.registration.masks import range3
from overmix.registration.pyramid import CODE_GAIN, _n_levels, level_codes
from overmix.registration.schedule import _POOL_MIN_PIXELS
from overmix.registration.static import _down2, _edges
from overmix.registration.tiles import _fine_budget, energy_map

__all__ = ["BATCH", "Frame", "frames_ahead"]

# Small frames per batch (the first batches are smaller: the caller waits for the first
# one). 8 frames of 480x270: 4 MB of float32 reduced at once.
BATCH = 8
_FIRST = (1, 2, 3, 4, 6)


@dataclass
class Frame:
    """A frame as read (``y``; once its products are made, a read-only stand-in of its
    shape, float32 without pixels: the frame was released as soon as it was copied into
    the batch) and, for a small frame, what was made of it ahead: its
    pyramid's :func:`~overmix.registration.pyramid.level_codes`, the
    :func:`~overmix.registration.tiles.energy_map` of their full-resolution level and
    whether it is flat (:func:`~overmix.registration.framestats.flat_codes`); when asked
    for, its cut histogram (:func:`~overmix.registration.framestats.histograms`, the
    pyramid without masks) and the screen-fixed search's working level (``half``: the
    pyramid's half-resolution codes, or :func:`~overmix.registration.static._down2` of a
    one-level pyramid's frame) with its :func:`~overmix.registration.static._edges`
    (``unit``: half's values per luma unit), and the classification's
    :func:`~overmix.registration.masks.range3` of the coarsest level. None: not made (large
    frames; a frame that is not a float 2-D plane of frame 0's shape, which the caller
    reports)."""

    y: np.ndarray
    codes: list[np.ndarray] | None = None
    energy: np.ndarray | None = None
    flat: bool | None = None
    hist: np.ndarray | None = None
    half: np.ndarray | None = None
    edges: np.ndarray | None = None
    unit: float = 1.0
    range3: tuple[np.ndarray, np.ndarray] | None = None


def frames_ahead(read: Callable[[int], np.ndarray], n: int, detect: bool = False
                 ) -> Iterator[Frame]:
    """``read(0..n-1)`` in order, as :class:`Frame` s (``detect``: with the cut histogram
    and the screen-fixed search's level and edges). Frame 0 is read here; then large frames
    are read one ahead on a second thread, small ones a batch ahead with their products
    (:data:`BATCH`). Still one read at a time, in order; a failed read is raised in its
    turn."""
    if n <= 0:
        return
    y = np.asarray(read(0))
    if n == 1:
        yield Frame(y)
        return
    with ThreadPoolExecutor(1, thread_name_prefix="overmix-read") as ahead:
        if y.size >= _POOL_MIN_PIXELS:
            yield from _one_ahead(ahead, read, n, y)
        else:
            yield from _batches(ahead, read, n, y, detect)


def _one_ahead(ahead: ThreadPoolExecutor, read: Callable[[int], np.ndarray], n: int,
               y: np.ndarray) -> Iterator[Frame]:
    nxt: Future[np.ndarray] = ahead.submit(read, 1)
    try:
        yield Frame(y)
        for k in range(1, n):
            y = nxt.result()
            if k + 1 < n:
                nxt = ahead.submit(read, k + 1)
            yield Frame(y)
    finally:
        nxt.cancel()


_Made = tuple[list[Frame], BaseException | None]


def _batches(ahead: ThreadPoolExecutor, read: Callable[[int], np.ndarray], n: int,
             y0: np.ndarray, detect: bool) -> Iterator[Frame]:
    sizes = iter(_FIRST)
    start = 1
    # the frames of a batch as float32, spent by the products: one buffer for every batch
    # (a fresh one each time would come from the OS page by page)
    buf = np.empty((min(BATCH, n - 1), *y0.shape), np.float32) if y0.ndim == 2 else None
    # and the products' temporaries, kept for the same reason (tiles.energy_map)
    scratch: dict[str, np.ndarray] = {}

    def submit() -> Future[_Made]:
        nonlocal start
        stop = min(n, start + next(sizes, BATCH))
        job = ahead.submit(_batch, read, range(start, stop), y0, detect, buf, scratch)
        start = stop
        return job

    nxt: Future[_Made] | None = submit()
    try:
        yield Frame(y0)
        while nxt is not None:
            got, err = nxt.result()
            # the next batch while the caller measures this one
            nxt = submit() if err is None and start < n else None
            yield from got
            if err is not None:
                raise err
    finally:
        if nxt is not None:
            nxt.cancel()


def _batch(read: Callable[[int], np.ndarray], ks: range, y0: np.ndarray, detect: bool,
           buf: np.ndarray | None, scratch: dict[str, np.ndarray] | None = None) -> _Made:
    """Frames ``ks`` read in order and their products made together; a failed read ends the
    batch (the frames before it, and the error). Each frame is copied into ``buf`` as read
    and released (at most one frame read and not yet copied), up to the first one that is
    not a float 2-D plane of frame 0's shape: that one and the rest are kept as read.
    ``scratch``: buffers for the products' temporaries, reused batch after batch."""
    rest: list[np.ndarray] = []
    m = 0
    err: BaseException | None = None
    try:
        for k in ks:
            y = np.asarray(read(k))
            if buf is not None and not rest and (
                    y.ndim == 2 and y.shape == y0.shape and y.dtype.kind == "f"):
                buf[m] = y
                m += 1
            else:
                rest.append(y)
            del y
    except BaseException as e:  # raised by the caller in its turn
        err = e
    if m == 0:
        return [Frame(y) for y in rest], err
    assert buf is not None
    stack = buf[:m]
    nlv = _n_levels(y0.shape)
    # a one-level pyramid's half-resolution plane: reduced before the codes spend the stack
    half = _down2(stack) if detect and nlv == 1 else None
    codes = level_codes(stack, overwrite=True)
    # (frames small enough to be sampled whole place no tiles: no map)
    energy = energy_map(codes[0], scratch=scratch) if _fine_budget(y0.size) is not None else None
    flat = flat_codes(codes[flat_level(nlv)]).tolist()
    hist = histograms(codes[-1], nlv) if detect else None
    if detect and half is None:
        half = codes[1]
    unit = CODE_GAIN if nlv > 1 else 1.0
    edges = None if half is None else _edges(half, unit)
    lo, hi = range3(codes[-1]) if detect else (None, None)
    # the frames themselves are released: their shape stands in for them (no pixels)
    stand_in = np.broadcast_to(np.float32(0), y0.shape)
    return [Frame(stand_in, [c[b] for c in codes], None if energy is None else energy[b], flat[b],
                  None if hist is None else hist[b], None if half is None else half[b],
                  None if edges is None else edges[b], unit,
                  None if lo is None or hi is None else (lo[b], hi[b]))
            for b in range(m)] + [Frame(y) for y in rest], err

"""The clean-still stage's first reads made on a thread while lighting runs
(overmix.commands.clean_ahead, issue #15): the consensus comes out exactly as when it reads
the frames itself, with and without lighting gains, and reads made for other offsets, or
cut short, are not used."""

from __future__ import annotations

import numpy as np

from overmix.commands.clean import find_clean
from overmix.commands.clean_ahead import CleanReads
from overmix.commands.options import StitchOptions
from overmix.frame import Frame, PlaneLayout
from overmix.geometry import Offsets
from overmix.io.store import FrameStore
from overmix.render.consensus import reduce_factor
from tests.render.scene import frame_planes, to_codes
from tests.render.test_frame_weights import COLOR

H, W, N = 72, 128, 8


def _frames() -> tuple[list[Frame], np.ndarray]:
    """A pan of 3 px a frame with a dark block moving against it (outliers in every frame)
    and a black line at every frame's left border (a dirty edge)."""
    xy = np.stack([np.arange(N) * 3.0, np.zeros(N)], axis=1)
    frames = []
    for k, (x, y) in enumerate(xy):
        planes = [p.copy() for p in frame_planes(10 + x, 10 + y, H, W)]
        planes[0][20:40, 30 + 6 * k:50 + 6 * k] = 0.1
        planes[0][:, 0] = 0.0
        frames.append(Frame(to_codes(tuple(planes), 10), PlaneLayout(), COLOR, index=k))
    return frames, xy


def _same(a, b) -> None:  # two clean-still plans
    assert a.edges == b.edges
    ca, cb = a.consensus, b.consensus
    assert ca.stats == cb.stats
    assert np.array_equal(ca.persistent, cb.persistent)
    for ma, mb in zip(ca.masks, cb.masks, strict=True):
        assert (ma is None) == (mb is None)
        assert ma is None or np.array_equal(ma, mb)


def test_reads_ahead_give_the_same_consensus() -> None:
    frames, xy = _frames()
    off = Offsets(xy, list(range(N)), W, H)
    opts = StitchOptions()
    gains = np.stack([1.0 + 0.02 * np.arange(N), 0.01 * np.arange(N)], axis=1)
    with FrameStore.from_frames(frames, budget_bytes=0) as store:  # every frame spilled
        for g in (None, gains):
            own = find_clean(store, off, opts, None, gains=g, finish=False)
            ahead = find_clean(store, off, opts, None, gains=g, finish=False,
                               reads=CleanReads.start(store, off))
            _same(own, ahead)
        assert own.edges["left"] >= 1  # the dirty line was found
        assert own.consensus.stats["outlier_frames"] >= N // 2  # the block was left out


def test_reads_for_other_offsets_or_cut_short_are_not_used() -> None:
    frames, xy = _frames()
    off = Offsets(xy, list(range(N)), W, H)
    r = reduce_factor(W, H)
    with FrameStore.from_frames(frames, budget_bytes=0) as store:
        reads = CleanReads.start(store, off)
        assert reads.take(list(range(N)), xy + 0.5, r) == (None, None)
        reads = CleanReads.start(store, off)
        edges, smalls = reads.take(list(range(N)), xy, r)
        assert edges is not None and smalls is not None and len(smalls) == N
        assert reads.take(list(range(N)), xy, r) == (None, None)  # taken once
        reads = CleanReads(store, off)
        reads.cancel()
        reads._thread.start()
        assert reads.take(list(range(N)), xy, r) == (None, None)
    # the store closed under a running read: no values, no error escapes the thread
    store = FrameStore.from_frames(frames, budget_bytes=0)
    reads = CleanReads.start(store, off)
    store.close()
    edges, smalls = reads.take(list(range(N)), xy, r)
    assert smalls is None or len(smalls) == N

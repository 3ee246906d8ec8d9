"""The clean-still stage's first reads of the frames, made on a thread while lighting runs
(issue #15).

The consensus (:func:`overmix.commands.clean.find_clean`) starts with two passes over the
frames that do not depend on the lighting stage's result: each frame's border lines
(:func:`overmix.render.frame_edges.dirty_edges`, in scene values only when lighting gains
are applied) and each frame's box-reduced Y' (the gains map it afterwards, per frame). The
lighting stage reads every frame too and, on two cores, keeps only ~1.6 of them busy; the
consensus's passes keep ~1.3. Started together, the two share the cores (the 60-frame 720p
pan: lighting 0.11 s and these passes ~0.06 s one after the other).

The values are those the consensus would compute itself: the same functions on the same
frames. Anything else than the offsets and store positions they were made for, or an error
on the thread (the consensus then reads the frames itself and reports it), and they are not
used.
"""

from __future__ import annotations

import threading

import numpy as np

from overmix.commands.clean_frames import luma_boxes, reduced_luma
from overmix.commands.stages import positions
from overmix.geometry import Offsets
from overmix.io.store import FrameStore
from overmix.render.consensus import reduce_factor
from overmix.render.frame_edges import dirty_edges

__all__ = ["CleanReads"]


class CleanReads:
    """The gain-free border-line flags and reduced frames of ``offsets``' frames, read on a
    daemon thread from :meth:`start`; :meth:`take` waits for them."""

    def __init__(self, store: FrameStore, offsets: Offsets) -> None:
        assert store.shape is not None
        h, w = store.shape
        self.pos = positions(store, offsets)
        self.xy = np.array(offsets.xy, np.float64)
        self.r = reduce_factor(w, h)
        self.edges: dict[str, int] | None = None
        self.smalls: list[np.ndarray] | None = None
        self._stop = False
        self._thread = threading.Thread(target=self._run, args=(store, (h, w)), daemon=True,
                                        name="overmix-clean-reads")

    @classmethod
    def start(cls, store: FrameStore, offsets: Offsets) -> CleanReads:
        reads = cls(store, offsets)
        reads._thread.start()
        return reads

    def _run(self, store: FrameStore, shape: tuple[int, int]) -> None:
        try:
            edges = dirty_edges(luma_boxes(store, self.pos, None), len(self.pos), self.xy,
                                shape)
            smalls = []
            for p in self.pos:
                if self._stop:
                    return
                smalls.append(reduced_luma(store, p, self.r))
            self.edges, self.smalls = edges, smalls
        except BaseException:  # noqa: BLE001 - the consensus reads the frames itself
            self.edges = self.smalls = None

    def cancel(self) -> None:
        """Stop after the frame being read (nothing is used)."""
        self._stop = True

    def take(self, pos: list[int], xy: np.ndarray, r: int
             ) -> tuple[dict[str, int] | None, list[np.ndarray] | None]:
        """``(edges, smalls)`` once read, for frames at store positions ``pos`` with offsets
        ``xy`` reduced by ``r``; ``(None, None)`` when they were made for others or failed."""
        self._thread.join()
        if pos != self.pos or r != self.r or not np.array_equal(np.asarray(xy, np.float64),
                                                                self.xy):
            return None, None
        edges, smalls = self.edges, self.smalls
        self.edges = self.smalls = None  # taken once: the consensus frees them
        return edges, smalls

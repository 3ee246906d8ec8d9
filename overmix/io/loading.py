"""A FrameStore filled on a background thread, read by the next stage as frames arrive.

Loading a folder of PNGs or dumps keeps both cores busy decoding, but the alignment that
follows does not (its per-pair work is partly serial). With :class:`LoadingStore` the
alignment starts on the first frames while the later ones still decode, so the two stages
share the cores instead of taking turns (on the 60-frame 720p PNG pan the two used ~0.9 s
of wall for ~1.4 s of CPU one after the other).

It is a :class:`~overmix.io.store.FrameStore` whose readers wait for frame ``k`` when it is
not decoded yet. Its length and frame indices are the source's, known before decoding
(PNG and dump folders: ``source.indices``); sources that cannot say (videos, whose IVTC,
dedup and damaged streams settle the count while decoding) are loaded in the caller's
thread as before (:func:`load_store`). Frames and values are the same either way: only
*when* a frame can be read changes.

A frame that fails to decode (or differs from the first) ends the load; a reader waiting
for it, or for any later frame, gets that error, and :meth:`LoadingStore.finish` raises it
again so that the caller reports the input's error, not a consequence of it.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from overmix.errors import InputError
from overmix.frame import Frame, FrameSource
from overmix.io.prefetch import decode_workers
from overmix.io.store import FrameStore
from overmix.progress import ProgressCallback, no_progress

__all__ = ["LoadingStore", "load_store", "reading"]


def load_store(source: FrameSource, *, budget_bytes: int, tmp_dir: str | Path | None = None,
               progress: ProgressCallback = no_progress,
               background: bool = False) -> FrameStore:
    """The frames of ``source`` in a new store; the source is closed when they are all in.

    ``background``: when the source knows its frames' indices up front, return once the first
    frame is stored and decode the others on a background thread (a :class:`LoadingStore`);
    otherwise (or when False) decode them all first."""
    indices = getattr(source, "indices", None)
    if not background or indices is None or len(indices) < 2:
        try:
            return FrameStore.from_source(source, budget_bytes=budget_bytes, tmp_dir=tmp_dir,
                                          progress=progress)
        finally:
            source.close()
    return LoadingStore.start(source, [int(i) for i in indices], budget_bytes=budget_bytes,
                              tmp_dir=tmp_dir, progress=progress)


@contextmanager
def reading(store: FrameStore) -> Iterator[None]:
    """The block that reads a :class:`LoadingStore` while it loads: the whole load is done
    when the block ends (:meth:`LoadingStore.finish`); if the block fails, the load stops and
    its own error, if any, is raised instead (a frame that failed to decode is the error to
    report, not what it caused). Nothing for a store already loaded."""
    if not isinstance(store, LoadingStore):
        yield
        return
    try:
        yield
    except BaseException:
        store.finish(stop=True)
        raise
    store.finish()


class LoadingStore(FrameStore):
    """A :class:`~overmix.io.store.FrameStore` decoded by a background thread (see the module
    docs); made by :meth:`start`. ``load_seconds``: wall time of the whole load, once done."""

    def __init__(self, indices: list[int], *, budget_bytes: int,
                 tmp_dir: str | Path | None = None) -> None:
        super().__init__(budget_bytes=budget_bytes, tmp_dir=tmp_dir)
        self._planned = list(indices)
        self._cond = threading.Condition()
        self._done = False
        self._stop = False
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self.load_seconds: float | None = None

    @classmethod
    def start(cls, source: FrameSource, indices: list[int], *, budget_bytes: int,
              tmp_dir: str | Path | None = None,
              progress: ProgressCallback = no_progress) -> LoadingStore:
        """Store the first frame of ``source`` here (its errors are raised here), then
        decode the others on a background thread; ``indices``: every frame's index, in
        order (the source yields exactly these)."""
        t0 = time.perf_counter()
        store = cls(indices, budget_bytes=budget_bytes, tmp_dir=tmp_dir)
        info = getattr(source, "info", None)
        if isinstance(info, dict):
            store.source_info = dict(info)
        if hasattr(source, "decode_ahead"):
            # every core decodes: the alignment reading the frames meanwhile is the faster
            # stage (beside one decoding thread it waited for frames most of the time; the
            # 60-frame 720p pan's load and alignment end ~3 % sooner); one decoded frame
            # per thread waits beside its working set (peak memory), and the one being stored
            source.decode_ahead = decode_workers() + 1
        frames = iter(source)
        total = len(indices)
        try:
            progress("load", 0, total)
            first = next(frames, None)
            if first is None:
                raise InputError(f"{source.path}: no frames could be read")
            store._add_checked(first)
            progress("load", 1, total)
            with _signals_deferred():  # the loader is either not made, or started and owned
                thread = threading.Thread(target=store._fill,
                                          args=(frames, source, progress, t0),
                                          name="overmix-load", daemon=True)
                thread.start()
                store._thread = thread
        except BaseException:  # a signal may land here too: nothing may be left behind
            if store._thread is not None:
                store.close()  # stops the loader, which closes the frames and the source
            else:
                _close(frames, source)
                store.close()
            raise
        return store

    # ------------------------------------------------------------ the loader thread

    def _add_checked(self, frame: Frame) -> None:
        k = len(self._entries)
        if k >= len(self._planned) or frame.index != self._planned[k]:
            raise InputError(f"{frame.source or 'input'}: frame {frame.index} was not "
                             "expected at this place of the input")
        self.add(frame)

    def _fill(self, frames: Iterator[Frame], source: FrameSource, progress: ProgressCallback,
              t0: float) -> None:
        total = len(self._planned)
        try:
            for frame in frames:
                if self._stop:
                    return
                self._add_checked(frame)
                with self._cond:
                    self._cond.notify_all()
                progress("load", len(self._entries), total)
            if len(self._entries) != total:
                raise InputError(f"{source.path}: {len(self._entries)} of {total} frames "
                                 "could be read")
        except BaseException as e:  # noqa: BLE001 - handed to the readers and to finish()
            self._error = e
        finally:
            _close(frames, source)
            with self._cond:
                self._done = True
                self.load_seconds = time.perf_counter() - t0
                self._cond.notify_all()

    # ------------------------------------------------------------ waiting readers

    def _wait(self, k: int) -> int:
        """Position ``k`` (negative: from the end) once that frame is stored."""
        if k < 0:
            k += len(self._planned)
        if 0 <= k < len(self._entries):
            return k
        if not 0 <= k < len(self._planned):
            raise IndexError(f"frame position {k} out of range")
        with self._cond:
            while k >= len(self._entries) and not self._done:
                self._cond.wait()
        if k >= len(self._entries):
            raise self._error if self._error is not None else InputError(
                "the input's frames could not be read")
        return k

    def finish(self, *, stop: bool = False) -> None:
        """Wait for the whole load (``stop``: stop it after the frame being decoded); raise
        the error that ended it, if any."""
        if stop:
            self._stop = True
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise self._error

    def __len__(self) -> int:
        return len(self._planned)

    @property
    def indices(self) -> list[int]:
        return list(self._planned)

    @property
    def spilled(self) -> int:
        self.finish()
        return super().spilled

    @property
    def memory_bytes(self) -> int:
        self.finish()
        return super().memory_bytes

    def frame(self, k: int) -> Frame:
        return super().frame(self._wait(k))

    def codes(self, k: int, plane: int) -> np.ndarray:
        return super().codes(self._wait(k), plane)

    def luma(self, k: int) -> np.ndarray:
        return super().luma(self._wait(k))

    def alpha(self, k: int) -> np.ndarray | None:
        return super().alpha(self._wait(k))

    def close(self) -> None:
        """Stop the load (after the frame being decoded), then drop the frames and remove the
        spill folder."""
        self._stop = True
        try:
            t = self._thread
            if t is not None and t.ident is not None and t is not threading.current_thread():
                t.join()
        finally:
            super().close()


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP that arrive inside the block are raised when it ends.

    Starting a thread is not atomic: a signal between making it and ``start()`` returning
    leaves a thread that cannot be joined (never started) or that runs unowned. Outside the
    main thread Python delivers no signals, so there is nothing to defer."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    saved: dict[int, object] = {}
    try:
        for name in ("SIGINT", "SIGTERM", "SIGHUP"):
            if hasattr(signal, name):
                s = getattr(signal, name)
                saved[s] = signal.signal(s, lambda signum, _frame: caught.append(signum))
        yield
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)  # type: ignore[arg-type]
        for s in caught:
            signal.raise_signal(s)  # now handled as it would have been


def _close(frames: Iterator[Frame], source: FrameSource) -> None:
    """Close the frame iterator (its read-ahead threads stop) and the source."""
    close = getattr(frames, "close", None)
    try:
        if close is not None:
            close()
    finally:
        source.close()

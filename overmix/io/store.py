"""FrameStore: the frames of one scene, decoded once, readable many times (DESIGN §3).

Alignment reads every frame's luma several times, rendering reads every plane once per tile
band, restoration iterates. Decoding a video again for each pass would be slow and, for
long-GOP codecs, costly to seek, so the scene's frames are decoded once into a store.

Frames are kept as **native codes** (uint8/uint16 planes, exactly as decoded), which is 2-4x
smaller than float working planes. The store holds frames in memory up to a budget
(``budget_bytes``, default :data:`DEFAULT_BUDGET` = 4 MB, one HD frame); frames past the budget
are written to a temporary folder as raw plane files (plain writes, no fsync) and read back
with plain reads when asked for. Each frame is read a few times per stitch (align, lighting,
clean still, render), so the read-back comes from the OS page cache: spilling a 60-frame 720p
clip costs no measurable time (issue #5: 3.11 s either way) but keeps ~170 MB of codes out of
the process, whose memory then grows with the canvas, not with the number of frames. Read-back
uses plain reads, not memory maps, so that the resident set size reported by the OS reflects
what the program really holds. The folder is removed on :meth:`FrameStore.close` (or when the
store is used as a context manager, on exit).

Working planes (float32, range removed: Y' in [0, 1], Cb/Cr in [-0.5, 0.5], R'G'B' in [0, 1])
are made on demand with the range constants of :func:`overmix.color.convert.range_constants`
(DESIGN §4 formulas); they are not cached.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import threading
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from overmix.atomic import remove_stale
from overmix.color.spec import ColorInfo
from overmix.errors import InputError
from overmix.frame import Family, Frame, FrameSource, PlaneLayout
from overmix.progress import ProgressCallback, no_progress

__all__ = ["DEFAULT_BUDGET", "FrameStore", "close_open_stores", "remove_stale_stores"]

# Bytes of float32 luma a spilled frame's luma is made in at a time (FrameStore.luma, and
# the scratch of FrameStore.luma_of). Each strip's reads and numpy passes give up and retake
# the GIL, which the stitch's other threads want too (the lighting's frames beside the
# clean-still reads): fewer, larger strips pay, up to where a strip's arrays stop being
# reused by malloc (2 MB: every strip faults fresh pages in). 60 720p frames, alternating
# runs under load: the luma of all of them 0.096 -> 0.077 s CPU single-threaded, the
# lighting beside the clean-still reads 0.23-0.28 -> 0.19-0.23 s wall (256 KB -> 1 MB).
LUMA_STRIP_BYTES = 1 << 20
# Bytes of native codes kept in memory; the rest is spilled (see the module docs). Small
# inputs (tests, short low-resolution clips) never touch the disk.
DEFAULT_BUDGET = 4 * 1024 * 1024
# Spill folders are named after their owner process, so that stores left by a killed run
# (SIGKILL, power loss) are recognised and removed by the next store made in that place.
STORE_PREFIX = "overmix-store-"
_STORE_RE = re.compile(rf"^{STORE_PREFIX}(\d+)-")
_swept: set[str] = set()
# every store not closed yet: a command cut short (a signal) between making a store and
# entering its ``with`` would otherwise leave the spill folder behind
_open_stores: weakref.WeakSet[FrameStore] = weakref.WeakSet()


def close_open_stores() -> None:
    """Close every store of this process that is still open (the CLI calls it when a command
    ends, however it ends)."""
    for store in list(_open_stores):
        store.close()


def remove_stale_stores(parent: str | Path | None = None) -> list[Path]:
    """Remove spill folders in ``parent`` (default: the temporary folder) whose owner
    process is gone; returns them."""
    return remove_stale(parent or tempfile.gettempdir(), _STORE_RE)


class SpillFolder:
    """A temporary folder of this process, made on first use and removed on close.

    Its name carries the process id (:data:`STORE_PREFIX`), so that a killed run's folder is
    recognised and removed by the next store made in that place. Shared by the frame store and
    :class:`overmix.io.spill.ArraySpill`.

    Parameters
    ----------
    tmp_dir : path or None
        Where the folder is made (default: the system temporary folder).
    """

    def __init__(self, tmp_dir: str | Path | None = None) -> None:
        self._tmp_parent = tmp_dir
        self._tmp: Path | None = None
        self._made = threading.Lock()  # one folder, whichever thread spills first

    def _spill_dir(self) -> Path:
        with self._made:
            if self._tmp is None:
                self._tmp = Path(tempfile.mkdtemp(prefix=f"{STORE_PREFIX}{os.getpid()}-",
                                                  dir=self._tmp_parent))
            return self._tmp

    def _remove_folder(self) -> None:
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __del__(self) -> None:  # a forgotten close() must not leave files behind
        try:
            self._remove_folder()
        except Exception:  # noqa: BLE001 - interpreter shutdown
            pass


@dataclass
class _Entry:
    """One stored frame: the Frame (planes may be None when spilled) and where its bytes are."""

    frame: Frame
    shapes: list[tuple[int, int]]
    dtype: np.dtype
    files: list[Path] = field(default_factory=list)  # one per plane (+ alpha last) when spilled
    has_alpha: bool = False


class FrameStore(SpillFolder):
    """The frames of one scene as native codes, in memory up to a budget, else on disk.

    Parameters
    ----------
    budget_bytes : int
        How many bytes of codes to keep in memory; later frames spill to a temporary folder.
        ``0`` spills everything (streaming with bounded memory).
    tmp_dir : path or None
        Where to create the spill folder (default: the system temporary folder).

    Notes
    -----
    Every frame must have the same luma size, plane layout, bit depth and colour as the first;
    a frame that differs raises :class:`~overmix.errors.InputError` naming it. Frames are
    addressed by their position ``k`` in the store (0..n-1); :attr:`indices` gives each frame's
    index in its input.
    """

    def __init__(self, *, budget_bytes: int = DEFAULT_BUDGET,
                 tmp_dir: str | Path | None = None) -> None:
        super().__init__(tmp_dir)
        self.budget_bytes = int(max(0, budget_bytes))
        parent = str(tmp_dir or tempfile.gettempdir())
        if parent not in _swept:  # at start, once per place and process: killed runs' stores
            _swept.add(parent)
            remove_stale_stores(parent)
        self._entries: list[_Entry] = []
        self._mem_bytes = 0
        self.layout: PlaneLayout | None = None
        self.color: ColorInfo | None = None
        self.shape: tuple[int, int] | None = None  # luma (height, width)
        self.source_info: dict[str, object] = {}
        _open_stores.add(self)

    # ---------------------------------------------------------------- construction

    @classmethod
    def from_source(cls, source: FrameSource | Iterable[Frame], *,
                    budget_bytes: int = DEFAULT_BUDGET, tmp_dir: str | Path | None = None,
                    progress: ProgressCallback = no_progress) -> FrameStore:
        """Decode every frame of ``source`` once into a new store.

        Progress is reported as stage ``"load"`` (total = ``source.count`` when known).
        """
        store = cls(budget_bytes=budget_bytes, tmp_dir=tmp_dir)
        total = getattr(source, "count", None)
        info = getattr(source, "info", None)
        if isinstance(info, dict):
            store.source_info = dict(info)
        try:
            progress("load", 0, total)
            for n, frame in enumerate(source, 1):
                store.add(frame)
                progress("load", n, total)
            progress("load", len(store), len(store))
        except BaseException:
            store.close()
            raise
        return store

    @classmethod
    def from_frames(cls, frames: Iterable[Frame], *, budget_bytes: int = DEFAULT_BUDGET,
                    tmp_dir: str | Path | None = None) -> FrameStore:
        """A store of already decoded frames (for tests and other stages)."""
        return cls.from_source(frames, budget_bytes=budget_bytes, tmp_dir=tmp_dir)

    def add(self, frame: Frame) -> int:
        """Append a frame (validated against the first one); returns its position ``k``."""
        frame.validate()
        k = len(self._entries)
        if self.layout is None:
            self.layout, self.color, self.shape = frame.layout, frame.color, frame.shape
        else:
            self._check_same(frame, k)
        planes = [np.ascontiguousarray(p) for p in frame.planes]
        alpha = None if frame.alpha is None else np.ascontiguousarray(frame.alpha)
        arrays = planes + ([alpha] if alpha is not None else [])
        nbytes = sum(a.nbytes for a in arrays)
        entry = _Entry(frame, [a.shape for a in planes], planes[0].dtype,
                       has_alpha=alpha is not None)
        if self._mem_bytes + nbytes <= self.budget_bytes:
            # Own the arrays so a caller reusing its buffers cannot change stored frames.
            own = [a.copy() for a in arrays]
            entry.frame = frame.replace(planes=tuple(own[: len(planes)]),
                                        alpha=own[len(planes)] if alpha is not None else None)
            self._mem_bytes += nbytes
        else:
            folder = self._spill_dir()
            for p, a in enumerate(arrays):
                path = folder / f"{k:06d}.{p}.raw"
                a.tofile(path)
                entry.files.append(path)
            entry.frame = frame.replace(planes=(), alpha=None)
        self._entries.append(entry)
        return k

    def _check_same(self, frame: Frame, k: int) -> None:
        assert self.shape is not None and self.layout is not None and self.color is not None
        where = f"frame {frame.index}" + (f" ({frame.source})" if frame.source else "")
        if frame.shape != self.shape:
            raise InputError(
                f"{where} is {frame.width}x{frame.height}, but the first frame is "
                f"{self.shape[1]}x{self.shape[0]}: frames of different sizes cannot be stitched"
            )
        if frame.layout != self.layout:
            raise InputError(
                f"{where} is {frame.layout.name}, but the first frame is {self.layout.name}: "
                "frames of different formats cannot be stitched"
            )
        if frame.color.bit_depth != self.color.bit_depth:
            raise InputError(
                f"{where} has {frame.color.bit_depth}-bit samples, but the first frame has "
                f"{self.color.bit_depth}-bit: frames of different formats cannot be stitched"
            )
        if frame.color != self.color:
            raise InputError(
                f"{where} has colour {frame.color.to_json()}, but the first frame has "
                f"{self.color.to_json()}: frames of different formats cannot be stitched"
            )

    # ---------------------------------------------------------------- access

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Frame]:
        for k in range(len(self)):
            yield self.frame(k)

    @property
    def indices(self) -> list[int]:
        """Each stored frame's index in its input."""
        return [e.frame.index for e in self._entries]

    @property
    def spilled(self) -> int:
        """How many frames live on disk."""
        return sum(1 for e in self._entries if e.files)

    @property
    def memory_bytes(self) -> int:
        """Bytes of codes held in memory."""
        return self._mem_bytes

    def frame(self, k: int) -> Frame:
        """Frame ``k`` with its native-code planes (read back from disk when spilled)."""
        e = self._entries[k]
        if not e.files:
            return e.frame
        arrays = [_read_file(path, shape, e.dtype)
                  for path, shape in zip(e.files, e.shapes + ([self.shape] if e.has_alpha
                                                              else []), strict=True)]
        n = len(e.shapes)
        return e.frame.replace(planes=tuple(arrays[:n]),
                               alpha=arrays[n] if e.has_alpha else None)

    def codes(self, k: int, plane: int) -> np.ndarray:
        """Native codes of plane ``plane`` of frame ``k`` (when spilled, only that plane is
        read back)."""
        e = self._entries[k]
        if not e.files:
            return e.frame.planes[plane]
        return _read_file(e.files[plane], e.shapes[plane], e.dtype)

    def planes(self, k: int) -> tuple[np.ndarray, ...]:
        """Working planes of frame ``k`` at native resolution, float32.

        Y'CbCr: (Y' in [0, 1], Cb, Cr in [-0.5, 0.5]); gray: (Y',); RGB: (R', G', B') in [0, 1].
        """
        return self._working(self.frame(k).planes)

    def luma(self, k: int) -> np.ndarray:
        """Working Y' (or gray, or G' for RGB frames) of frame ``k``, float32, shape (h, w).

        For RGB frames the luma is the BT.709 weighted sum of R'G'B' (enough for alignment).
        A spilled frame is read strip by strip, only the planes the luma needs: no whole copy
        of its codes nor a whole-frame temporary is held besides the result.
        """
        e = self._entries[k]
        if not e.files:
            return self.luma_of(e.frame.planes)
        assert self.layout is not None
        h, w = e.shapes[0]
        out = np.empty((h, w), np.float32)
        rows = max(1, LUMA_STRIP_BYTES // (4 * w))
        need = 3 if self.layout.family == Family.RGB else 1
        bufs = [np.empty((min(rows, h), w), e.dtype) for _ in range(need)]
        files = [open(path, "rb", buffering=0) for path in e.files[:need]]  # noqa: SIM115
        try:
            for y0 in range(0, h, rows):
                y1 = min(h, y0 + rows)
                strip = tuple(_read_rows(f, b[:y1 - y0]) for f, b in zip(files, bufs,
                                                                        strict=True))
                self.luma_of(strip, out=out[y0:y1])
        finally:
            for f in files:
                f.close()
        return out

    def luma_of(self, planes: tuple[np.ndarray, ...],
                out: np.ndarray | None = None) -> np.ndarray:
        """:meth:`luma` of a frame's codes (``planes``: all of them, or the same rows of
        each: the result is per sample, so a strip of rows gives that strip of the luma),
        written to ``out`` (float32, the planes' shape) when given."""
        assert self.layout is not None
        if self.layout.family == Family.RGB:
            if out is None:
                out = np.empty(np.shape(planes[0]), np.float32)
            if out.ndim < 2:
                return self._rgb_luma(planes, out, np.empty_like(out))
            # in strips of rows: the temporary stays small and in cache (a whole-frame
            # one, fresh from the OS, doubled the time of a 720p frame's luma)
            rows = max(1, LUMA_STRIP_BYTES // max(1, out[0].nbytes))
            tmp = np.empty((min(rows, len(out)), *out.shape[1:]), np.float32)
            for y0 in range(0, len(out), rows):
                y1 = min(len(out), y0 + rows)
                self._rgb_luma(tuple(p[y0:y1] for p in planes), out[y0:y1], tmp[:y1 - y0])
            return out
        if out is None:
            return self._working(planes[:1])[0]
        return self._luma_into(planes[0], out)

    def _rgb_luma(self, planes: tuple[np.ndarray, ...], out: np.ndarray,
                  tmp: np.ndarray) -> np.ndarray:
        """:meth:`luma_of` of R'G'B' codes into ``out`` (``tmp``: scratch of its shape)."""
        (cr, cg, cb), off = self.luma_coefficients()
        # straight from the codes in float32: three passes instead of ten
        y = np.multiply(planes[0], np.float32(cr), out=out, dtype=np.float32)
        np.multiply(planes[1], np.float32(cg), out=tmp, dtype=np.float32)
        y += tmp
        np.multiply(planes[2], np.float32(cb), out=tmp, dtype=np.float32)
        y += tmp
        if off:  # full-range R'G'B' has none: a pass saved
            y += np.float32(off)
        return y

    def luma_coefficients(self) -> tuple[tuple[float, ...], float]:
        """:meth:`luma` as an affine map of the codes: ``Y' = Σ_p c[p] · code_p + offset``
        over the first ``len(c)`` planes (R'G'B': ITU-R BT.709-6 item 3.2 weights, which sum
        to 1, so the range offset comes off once; else the luma plane's range removal)."""
        from overmix.color.convert import range_constants

        assert self.color is not None and self.layout is not None
        off, scale = range_constants(self.color.bit_depth, self.color.range)[:2]
        if self.layout.family == Family.RGB:
            return (0.2126 / scale, 0.7152 / scale, 0.0722 / scale), -off / scale
        return (1.0 / scale,), -off / scale

    def alpha(self, k: int) -> np.ndarray | None:
        """Alpha of frame ``k`` as float32 in [0, 1] (1 = opaque), or None."""
        if not self._entries[k].has_alpha:  # known without reading the frame back
            return None
        f = self.frame(k)
        if f.alpha is None:
            return None
        assert self.color is not None
        return (f.alpha.astype(np.float32) / float((1 << self.color.bit_depth) - 1))

    def _working(self, planes: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
        # The constants come from color.convert (the one place that defines them); the
        # arithmetic is done in float32 without a float64 temporary: codes ≤ 65535 are exact
        # in float32 and the result is within 1 ulp of codes_to_working's.
        from overmix.color.convert import range_constants

        assert self.color is not None and self.layout is not None
        ycc = self.layout.family == Family.YCBCR
        yo, ys, co, cs = range_constants(self.color.bit_depth, self.color.range)
        out = []
        for i, p in enumerate(planes):
            off, scale = (co, cs) if ycc and i > 0 else (yo, ys)
            out.append(_affine_into(p, np.empty(p.shape, np.float32), off, scale))
        return tuple(out)

    def _luma_into(self, plane: np.ndarray, out: np.ndarray) -> np.ndarray:
        """:meth:`_working` of the luma plane's codes (or a strip of them) into ``out``."""
        from overmix.color.convert import range_constants

        assert self.color is not None
        yo, ys = range_constants(self.color.bit_depth, self.color.range)[:2]
        return _affine_into(plane, out, yo, ys)

    # ---------------------------------------------------------------- lifetime

    def close(self) -> None:
        """Drop the frames and remove the spill folder."""
        _open_stores.discard(self)
        self._entries.clear()
        self._mem_bytes = 0
        self._remove_folder()

    def __enter__(self) -> FrameStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _affine_into(codes: np.ndarray, out: np.ndarray, off: float, scale: float) -> np.ndarray:
    """``out = (codes - off) / scale`` in float32 (codes ≤ 65535 are exact in float32; the
    result is within 1 ulp of ``codes_to_working``'s)."""
    out[...] = codes
    out -= np.float32(off)
    out *= np.float32(1.0 / scale)
    return out


def _read_file(path: Path, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """A spilled plane's samples read back into a new ``shape`` array: one unbuffered
    ``readinto`` (``numpy.fromfile`` took ~4x longer for a 720p plane read from the page
    cache, ~1 ms of every frame read back; frames are read back ~4 times a stitch)."""
    out = np.empty(shape, dtype)
    with open(path, "rb", buffering=0) as f:
        return _read_rows(f, out)


def _read_rows(f: BinaryIO, buf: np.ndarray) -> np.ndarray:
    """The next ``buf.size`` samples of the raw plane file ``f``, read into ``buf``."""
    view = memoryview(buf.reshape(-1)).cast("B")
    got = 0
    while got < view.nbytes:
        n = f.readinto(view[got:])
        if not n:
            raise OSError(f"{getattr(f, 'name', 'spill file')}: truncated frame store file")
        got += n
    return buf

"""Open any input as a :class:`~overmix.frame.FrameSource`.

INPUT may be (DESIGN §7): a video file, a dump file, a folder of dumps (with or without
``scene.json``), a PNG file or a folder of PNGs. Folders are read in natural name order
(``2.png`` before ``10.png``; zero-padded dump names sort the same either way); hidden files
(such as half-written temporary files) are skipped.

Ranges (``start``/``end``/``frames``) select by 0-based position in that order, or by time:
the first frame whose ``time`` in the manifest (seconds since the video's first frame, as the
video reader counts them) is at or after the time, so ``--frame 1s`` picks the same frame on
a video and on its dumps, also at a variable frame rate. A manifest without times falls back
to time = position / ``frame_rate``. Without a manifest, and for PNGs, there is no rate and
only frame indices are accepted. (``Frame.index``/``pts``/``time`` carry the manifest's
values; two files may not claim one index.)
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

from overmix.atomic import check_input, register_input
from overmix.color.spec import ColorInfo
from overmix.errors import InputError, UsageError
from overmix.frame import Frame, FrameSource, PlaneLayout
from overmix.inputs import InputOptions, input_keywords
from overmix.io.dumps import ProbeDump, frame_from_dump, read_dump, read_dump_info
from overmix.io.manifest import MANIFEST_NAME, Manifest, read_manifest
from overmix.io.prefetch import prefetch
from overmix.progress import ProgressCallback, no_progress
from overmix.ranges import FrameRange, Position

__all__ = [
    "DumpSource",
    "PngSource",
    "is_video_path",
    "list_inputs",
    "open_source",
]

DUMP_EXTS = (".dump",)
PNG_EXTS = (".png",)
#: Files never taken for videos even without a known video extension.
_NOT_VIDEO = DUMP_EXTS + PNG_EXTS + (".json", ".txt", ".xml", ".overmix", ".jpg", ".jpeg")


def _natural_key(name: str) -> list[object]:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]


def list_inputs(folder: Path, exts: tuple[str, ...]) -> list[Path]:
    """Visible files of ``folder`` with one of ``exts`` (lower case), in natural name order."""
    try:
        names = os.listdir(folder)
    except OSError as exc:
        raise InputError(f"cannot read folder {folder}: {exc.strerror or exc}") from None
    files = [folder / n for n in names
             if not n.startswith(".") and Path(n).suffix.lower() in exts]
    files = [f for f in files if f.is_file()]
    return sorted(files, key=lambda p: _natural_key(p.name))


def is_video_path(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is (or names) a file that is neither a dump, a PNG nor a folder."""
    p = Path(path)
    if p.is_dir():
        return False
    return p.suffix.lower() not in _NOT_VIDEO


class _Base:
    """Common FrameSource plumbing."""

    kind = ""
    path: Path
    color: ColorInfo
    layout: PlaneLayout
    count: int | None
    rate: Fraction | None
    info: dict[str, Any]
    # threads decoding files ahead (None: one per core), and decoded files waiting at most
    # (None: two per thread; io.loading keeps one per thread beside the alignment's memory)
    decode_threads: int | None = None
    decode_ahead: int | None = None

    def close(self) -> None:
        return None

    def __enter__(self) -> _Base:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return int(self.count or 0)


class DumpSource(_Base):
    """A dump file or a folder of dumps (a FrameSource).

    Attributes
    ----------
    files : list of Path
        The selected dump files, in display order.
    color_from : str
        ``"manifest"``, ``"header"`` or ``"guess"``.
    manifest : Manifest or None
    """

    kind = "dumps"

    def __init__(self, path: Path, files: list[Path], manifest: Manifest | None,
                 rng: FrameRange, progress: ProgressCallback | None) -> None:
        self.path = path
        self.manifest = manifest
        self.progress = progress or no_progress
        entries = [manifest.frame_for(f.name) if manifest else None for f in files]
        _check_indices(path, files, entries)
        self.rate = manifest.rate if manifest else None
        selection = _by_time(rng, entries).resolve(len(files),
                                                   float(self.rate) if self.rate else None)
        self.files = [files[i] for i in selection]
        self._entries = [entries[i] for i in selection]
        self._positions = list(selection)
        self.count = len(self.files)
        # every frame's index, known before decoding (io.loading reads while decoding)
        self.indices = [_entry_index(e, pos) for e, pos in zip(self._entries, self._positions,
                                                               strict=True)]
        # Describe from the first file's headers (no decoding).
        first = self.files[0]
        dinfo = read_dump_info(first)
        # scene.json describes every dump of its folder (listed or not)
        self._manifest_color = manifest.color if manifest is not None else None
        probe = ProbeDump(dinfo)
        frame, how = frame_from_dump(probe, color=self._manifest_color,  # type: ignore[arg-type]
                                     source=str(first))
        self.color = frame.color
        self.layout = frame.layout
        self.color_from = how
        self._shape = (frame.height, frame.width)
        self._depths = [p.depth for p in dinfo.planes]
        self.info = {
            "kind": "dumps",
            "source": manifest.source if manifest and manifest.source else str(path),
            "path": str(path),
            "frames": self.count,
            "first": self.files[0].name,
            "last": self.files[-1].name,
            "color": self.color.to_json(),
            "color_from": how,
            "layout": self.layout.name,
            "width": frame.width,
            "height": frame.height,
            "frame_rate": manifest.frame_rate if manifest else None,
            "range": {"first": selection.start, "last": selection.stop - 1},
        }
        if manifest is not None:
            self.info["ivtc"] = manifest.ivtc
            self.info["dedup"] = manifest.dedup

    def __iter__(self) -> Iterator[Frame]:
        total = self.count
        color = self._manifest_color

        def decode(job: tuple[Path, dict[str, Any] | None, int]) -> tuple[Frame, str]:
            path, entry, pos = job
            index = _entry_index(entry, pos)
            return frame_from_dump(read_dump(path), color=color, index=index, source=str(path))

        jobs = list(zip(self.files, self._entries, self._positions, strict=True))
        # files are inflated ahead in threads (zlib and ISA-L release the GIL)
        for k, ((path, entry, _), (frame, how)) in enumerate(
            zip(jobs, prefetch(decode, jobs, workers=self.decode_threads,
                                       ahead=self.decode_ahead), strict=True)
        ):
            if frame.shape != self._shape or frame.layout != self.layout:
                raise InputError(
                    f"{path}: {frame.width}x{frame.height} {frame.layout.name} differs from "
                    f"the first file ({self._shape[1]}x{self._shape[0]} {self.layout.name})"
                )
            if frame.color != self.color:
                raise InputError(
                    f"{path}: colour ({how}: {_short(frame.color)}) differs from the first file "
                    f"({self.color_from}: {_short(self.color)})"
                )
            if entry is not None:
                frame = frame.replace(
                    pts=entry.get("pts"), time=entry.get("time"),
                    key_frame=bool(entry.get("key_frame", False)), fields=entry.get("fields"),
                )
                frame.extra.update({k2: entry[k2] for k2 in ("dedup",) if k2 in entry})
            elif path.stem.endswith("k"):  # video_dumper marks key frames "output00012k"
                frame = frame.replace(key_frame=True)
            frame.extra["color_from"] = how
            self.progress("read", k + 1, total)
            yield frame


def _entry_index(entry: dict[str, Any] | None, pos: int) -> int:
    index = entry.get("index") if entry else None
    return index if isinstance(index, int) and not isinstance(index, bool) else pos


def _check_indices(path: Path, files: list[Path], entries: list[dict[str, Any] | None]) -> None:
    """Two files with one frame index (a manifest entry and an unlisted file's position) would
    make outputs named by index overwrite each other: refuse."""
    seen: dict[int, str] = {}
    for pos, (f, e) in enumerate(zip(files, entries, strict=True)):
        k = _entry_index(e, pos)
        if k in seen:
            raise InputError(f"{path}: {f.name} and {seen[k]} are both frame {k} "
                             "(fix or remove scene.json)")
        seen[k] = f.name


def _by_time(rng: FrameRange, entries: list[dict[str, Any] | None]) -> FrameRange:
    """``rng`` with times turned into positions through the manifest's per-frame ``time``
    (the first frame at or after it), when every file has one in display order."""
    times = [e.get("time") if e else None for e in entries]
    numeric = all(isinstance(t, (int, float)) and not isinstance(t, bool) for t in times)
    if not times or not numeric or any(b < a for a, b in zip(times, times[1:], strict=False)):
        return rng

    def conv(p: Position | None) -> Position | None:
        if p is None or p.seconds is None:
            return p
        return Position(index=bisect.bisect_left(times, p.seconds - 1e-6))

    return FrameRange(conv(rng.start), conv(rng.end), rng.frames)


def _short(c: ColorInfo) -> str:
    return f"{c.matrix.name.lower()} {c.range.name.lower()} {c.bit_depth}-bit"


class PngSource(_Base):
    """A PNG file or a folder of PNGs (a FrameSource); decoding by :mod:`overmix.io.png`."""

    kind = "png"

    def __init__(self, path: Path, files: list[Path], rng: FrameRange,
                 progress: ProgressCallback | None) -> None:
        self.path = path
        self.progress = progress or no_progress
        self.rate = None
        selection = rng.resolve(len(files), None)
        self.files = [files[i] for i in selection]
        self._positions = list(selection)
        self.count = len(self.files)
        self.indices = list(self._positions)  # known before decoding (see io.loading)
        first = self._read(self.files[0], self._positions[0])
        self._first: Frame | None = first  # decoded to describe the input: used once
        self.color = first.color
        self.layout = first.layout
        self._shape = first.shape
        self.info = {
            "kind": "png", "path": str(path), "frames": self.count,
            "first": self.files[0].name, "last": self.files[-1].name,
            "color": self.color.to_json(), "layout": self.layout.name,
            "width": first.width, "height": first.height,
            "range": {"first": selection.start, "last": selection.stop - 1},
        }

    @staticmethod
    def _read(path: Path, index: int) -> Frame:
        from overmix.io.png import read_png  # written separately; imported on use

        return read_png(path).replace(index=index, source=str(path))

    def __iter__(self) -> Iterator[Frame]:
        jobs = list(zip(self.files, self._positions, strict=True))
        # files are decoded ahead in threads (FFmpeg's png decoder releases the GIL)
        first, self._first = self._first, None

        def read(job: tuple[Path, int]) -> Frame:
            if first is not None and job == jobs[0]:
                return first
            return self._read(*job)

        frames = prefetch(read, jobs, workers=self.decode_threads, ahead=self.decode_ahead)
        for k, ((path, _), frame) in enumerate(zip(jobs, frames, strict=True)):
            if frame.shape != self._shape or frame.layout != self.layout \
                    or frame.color.bit_depth != self.color.bit_depth:
                raise InputError(
                    f"{path}: {frame.width}x{frame.height} {frame.layout.name} "
                    f"{frame.color.bit_depth}-bit differs from the first file "
                    f"({self._shape[1]}x{self._shape[0]} {self.layout.name} "
                    f"{self.color.bit_depth}-bit)"
                )
            self.progress("read", k + 1, self.count)
            yield frame


@input_keywords
def open_source(path: str | os.PathLike[str], *, progress: ProgressCallback | None = None,
                **options: Any) -> FrameSource:
    """Open a video, dump file, dump folder, PNG file or PNG folder as a frame source.

    Parameters
    ----------
    path : input path.
    start, end, frames, ivtc, field_order, dedup, dedup_threshold, stream :
        :class:`~overmix.inputs.InputOptions`: the range ``[start, end)`` (frame index or
        time), a maximum count and the video options (see :func:`overmix.video.open_video`).
        Dumps and PNGs are already frames: ``ivtc="on"`` and ``dedup`` are refused for them.
    progress : callback ``(stage, done, total)``.

    Raises
    ------
    InputError
        Missing path, empty folder, unreadable or inconsistent files.
    RangeError, UsageError
        Empty range or bad options.
    """
    o = InputOptions(**options)
    p = Path(path)
    check_input(p)  # missing, FIFO, device: fail now instead of blocking in a reader
    register_input(p)  # outputs never land on an input (overmix.atomic)
    rng = FrameRange.parse(o.start, o.end, o.frames)
    if p.is_dir():
        dumps = list_inputs(p, DUMP_EXTS)
        if dumps:
            _refuse_video_options("dumps", o.ivtc, o.dedup, o.stream)
            manifest = read_manifest(p)
            if manifest is not None and not manifest.complete:
                raise InputError(f"{p} holds an interrupted dump (its scene.json is marked "
                                 "incomplete); run the dump again to replace it")
            return DumpSource(p, dumps, manifest, rng, progress)  # type: ignore[return-value]
        pngs = list_inputs(p, PNG_EXTS)
        if pngs:
            _refuse_video_options("PNGs", o.ivtc, o.dedup, o.stream)
            return PngSource(p, pngs, rng, progress)  # type: ignore[return-value]
        raise InputError(f"no .dump or .png files in folder {p}")
    suffix = p.suffix.lower()
    if suffix in DUMP_EXTS or has_dump_magic(p):
        _refuse_video_options("dumps", o.ivtc, o.dedup, o.stream)
        manifest = None
        if (p.parent / MANIFEST_NAME).is_file():
            register_input(p.parent / MANIFEST_NAME)
            manifest = read_manifest(p.parent)
        return DumpSource(p, [p], manifest, rng, progress)  # type: ignore[return-value]
    if suffix in PNG_EXTS:
        _refuse_video_options("PNGs", o.ivtc, o.dedup, o.stream)
        return PngSource(p, [p], rng, progress)  # type: ignore[return-value]
    opener = _video_opener()
    return opener(p, progress=progress, **o.keywords())


def _video_opener() -> Callable[..., FrameSource]:
    from overmix.video import open_video  # PyAV is loaded only for videos

    return open_video  # type: ignore[return-value]


def has_dump_magic(path: Path) -> bool:
    """True when the file starts with the dump format's ``DMP0`` magic."""
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"DMP0"
    except OSError:
        return False


def _refuse_video_options(what: str, ivtc: str, dedup: bool, stream: int | None) -> None:
    if (ivtc or "auto").lower() == "on":
        raise UsageError(f"--ivtc on applies to videos, not to {what}")
    if dedup:
        raise UsageError(f"--dedup applies to videos, not to {what}")
    if stream not in (None, 0):
        raise UsageError(f"--stream applies to videos, not to {what}")

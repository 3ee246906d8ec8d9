"""Writing a folder of dumps plus ``scene.json`` from a frame source (``overmix dump``).

Frames are decoded in the calling thread (FFmpeg decodes with its own threads) while a pool of
worker threads compresses and writes them: zlib (or ISA-L) and lzma release the GIL, so every
core works. The queue between them is bounded, so memory stays a few frames whatever the
clip's length. Every file is written atomically; on any error the files this run wrote (and
the folder, if this run created it) are removed, so nothing partial is left.
"""

from __future__ import annotations

import os
import re
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from overmix.atomic import check_input, is_input, register_input, write_bytes_atomic
from overmix.commands.options import command_options
from overmix.commands.paths import check_output_folder, make_folder
from overmix.errors import OvermixError, UsageError
from overmix.frame import Frame
from overmix.io.dumps import encode_frame
from overmix.io.manifest import (
    MANIFEST_NAME,
    Manifest,
    dump_name,
    format_rate,
    read_manifest,
    write_manifest,
)
from overmix.io.sources import open_source
from overmix.progress import ProgressCallback, no_progress
from overmix.video.scenes import detect_cuts, scenes_from_cuts

__all__ = ["ZLIB_DEFAULT_LEVEL", "DumpResult", "dump", "scene_bounds"]

NAME_RE = re.compile(r"^\d{6,}\.dump$")
# zlib level 1 vs 6 on a 1080p 10-bit frame: 0.43 vs 0.43 of the raw size at ~10-25x the speed.
ZLIB_DEFAULT_LEVEL = 1


@dataclass
class DumpResult:
    """What :func:`dump` wrote."""

    folder: Path
    frames: int
    bytes: int
    seconds: float
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def lost_frames(self) -> int:
        return int(self.info.get("lost_frames", 0) or 0)


def _interrupted(out: Path) -> bool:
    """True when ``out`` holds the incomplete ``scene.json`` of a dump that did not finish."""
    try:
        manifest = read_manifest(out) if out.is_dir() else None
    except OvermixError:
        return False
    return manifest is not None and not manifest.complete


def scene_bounds(path: str | os.PathLike[str], scene: int, *, progress: ProgressCallback
                 | None = None, **source_options: Any) -> tuple[int, int, int]:
    """``(start, end, scene_count)`` of scene ``scene`` (0-based; a full scan for cuts)."""
    report = progress or no_progress
    src = open_source(path, progress=lambda s, d, t: report("scenes", d, t), **source_options)
    with src:
        cuts, n = detect_cuts(src)
    scenes = scenes_from_cuts(cuts, n)
    if not 0 <= scene < len(scenes):
        raise UsageError(f"--scene {scene}: the video has {len(scenes)} scene(s) "
                         f"(0-{len(scenes) - 1})")
    s = scenes[scene]
    return s.start, s.end, len(scenes)


def dump(path: str | os.PathLike[str], folder: str | os.PathLike[str], *,
         progress: ProgressCallback | None = None, **options: Any) -> DumpResult:
    """Dump the frames of ``path`` (a range, or scene ``scene``) into ``folder``.

    ``options`` are those of ``overmix dump`` (:data:`~overmix.commands.options.OPTIONS`):
    ``start``, ``end``, ``frames``, ``scene``, ``ivtc``, ``field_order``, ``dedup``,
    ``dedup_threshold``, ``stream``, ``compress``, ``level``, ``force``, ``workers``.
    Files are ``000042.dump`` (zero-padded display index), DMP0 at native depth, plus
    ``scene.json`` (DESIGN §5). ``level`` defaults to 1 for zlib (see :data:`ZLIB_DEFAULT_LEVEL`)
    and 6 for xz. An existing non-empty folder is refused unless ``force``; with ``force``,
    stale dumps of an earlier run are removed once the new ones are in place.
    """
    o = command_options("dump", options)
    report = progress or no_progress
    out = Path(folder)
    start, end, scene, level = o["start"], o["end"], o["scene"], o["level"]
    if scene is not None and (start is not None or end is not None):
        raise UsageError("--scene cannot be combined with --start/--end")
    compression = str(o["compress"])
    if level is not None and level > 9 and compression != "xz":
        raise UsageError("--level 0e-9e (extreme) is for --compress xz only")
    check_input(path)  # missing, FIFO, device: one line, never a blocked read
    register_input(path)  # the output folder may not hold it (overmix.atomic)
    force = o["force"]
    if not force and _interrupted(out):
        force = True  # a killed run's folder (manifest still incomplete) is replaced
    create = check_output_folder(out, force=force, not_in=[path])
    if level is None and compression == "zlib":
        level = ZLIB_DEFAULT_LEVEL
    video_options = {k: o[k] for k in ("ivtc", "field_order", "dedup", "dedup_threshold",
                                        "stream")}
    t0 = time.perf_counter()
    scene_info = None
    if scene is not None:
        s0, s1, nscenes = scene_bounds(path, scene, progress=report, **video_options)
        start, end = s0, s1
        scene_info = {"scene": scene, "of": nscenes, "start": s0, "end": s1}
    src = open_source(path, start=start, end=end, frames=o["frames"], **video_options)
    writer = _Writer(out, compression, level, o["workers"] or max(1, os.cpu_count() or 1),
                     lambda n: report("dump", n, getattr(src, "count", None)))
    try:
        if create:
            make_folder(out)
            writer.created = True
        # The manifest comes first, marked incomplete: a dump killed before its end (even by
        # SIGKILL) is then recognisable; the final manifest below replaces it.
        write_manifest(out, Manifest(color=src.color, source=str(Path(path).resolve()),
                                     complete=False))
        with src:
            for frame in src:
                writer.submit(frame)
            writer.drain(0)
        info = dict(getattr(src, "info", {}) or {})
        write_manifest(out, _manifest(src, path, info, writer.entries, {
            "compression": compression, "level": level, "scene": scene_info}))
        writer.written.append(out / "scene.json")
        if force:
            writer.remove_stale()
    except BaseException:
        writer.undo()
        raise
    finally:
        writer.pool.shutdown(wait=True)
    return DumpResult(out, len(writer.entries), writer.total, time.perf_counter() - t0, info)


def _manifest(src: Any, path: str | os.PathLike[str], info: dict[str, Any],
              entries: list[dict[str, Any]], extra: dict[str, Any]) -> Manifest:
    """The ``scene.json`` of a dump (DESIGN §5): colour, source, rate, frames, decisions."""
    return Manifest(
        color=src.color,
        source=str(Path(path).resolve()),
        stream=info.get("stream") if isinstance(info.get("stream"), int) else None,
        frame_rate=format_rate(src.rate) if src.rate else None,
        frames=entries,
        ivtc=info.get("ivtc") or {"mode": "off"},
        dedup=info.get("dedup") or {"enabled": False},
        extra={
            "compression": extra["compression"],
            "level": extra["level"],
            "video": info.get("video"),
            "range": info.get("range"),
            "scene": extra["scene"],
            "lost_frames": info.get("lost_frames", 0),
            "decode_errors": info.get("decode_errors", 0),
        },
    )


class _Writer:
    """Compresses and writes frames on a thread pool, in order, a bounded number in flight;
    remembers what it wrote so that :meth:`undo` can remove it."""

    def __init__(self, out: Path, compression: str, level: int | None, workers: int,
                 report: Callable[[int], None]) -> None:
        self.out, self.compression, self.level = out, compression, level
        self.workers, self.report = workers, report
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dump")
        self.pending: deque[tuple[Future[int], Path, dict[str, Any]]] = deque()
        self.written: list[Path] = []
        self.entries: list[dict[str, Any]] = []
        self.total = 0
        self.created = False

    def _write(self, frame: Frame, target: Path) -> int:
        data = encode_frame(frame, compression=self.compression, level=self.level)
        write_bytes_atomic(target, data)
        return len(data)

    def submit(self, frame: Frame) -> None:
        name = dump_name(frame.index)
        entry: dict[str, Any] = {
            "file": name, "index": frame.index, "pts": frame.pts,
            "time": None if frame.time is None else round(frame.time, 6),
            "key_frame": bool(frame.key_frame), "fields": frame.fields,
        }
        if "ordinal" in frame.extra:
            entry["source_frame"] = frame.extra["ordinal"]
        target = self.out / name
        self.pending.append((self.pool.submit(self._write, frame, target), target, entry))
        self.drain(2 * self.workers)

    def drain(self, keep: int) -> None:
        """Wait for the oldest writes until at most ``keep`` are in flight."""
        while len(self.pending) > keep:
            fut, target, entry = self.pending[0]
            entry["bytes"] = fut.result()  # a signal here leaves it in `pending` for undo()
            self.pending.popleft()
            self.written.append(target)
            self.entries.append(entry)
            self.total += entry["bytes"]
            self.report(len(self.entries))

    def remove_stale(self) -> None:
        """``--force``: dumps of an earlier run that this one did not write."""
        keep = {p.name for p in self.written}
        for old in self.out.iterdir():
            if NAME_RE.match(old.name) and old.name not in keep and is_input(old) is None:
                old.unlink()

    def undo(self) -> None:
        """Remove every file this run wrote (and the folder if it made it)."""
        for fut, _, _ in self.pending:
            fut.cancel()
        self.pool.shutdown(wait=True)
        for fut, target, _ in self.pending:
            if fut.done() and not fut.cancelled() and fut.exception() is None:
                self.written.append(target)
        for p in self.written:
            p.unlink(missing_ok=True)
        try:  # only our incomplete manifest left: nothing to flag any more
            if self.out.is_dir() and {q.name for q in self.out.iterdir()} <= {MANIFEST_NAME} \
                    and _interrupted(self.out):
                (self.out / MANIFEST_NAME).unlink()
        except OSError:
            pass
        if self.created:
            try:
                self.out.rmdir()
            except OSError:
                pass

"""``overmix dump VIDEO -o DIR``: frames as dumps (DESIGN §5) plus ``scene.json``.

Frames are decoded in the main thread (FFmpeg decodes with its own threads) while a pool of
worker threads compresses and writes them: zlib and lzma release the GIL, so both cores work.
Every file is written atomically; on any error the files this run wrote (and the folder, if
this run created it) are removed, so nothing partial is left.
"""

from __future__ import annotations

import argparse
import os
import re
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from overmix.cli._ui import UI
from overmix.errors import OutputError, UsageError
from overmix.frame import Frame

NAME_RE = re.compile(r"^\d{6,}\.dump$")
# zlib level 1 vs 6 on a 1080p 10-bit frame: 0.430 vs 0.427 of the raw size, ~108 vs ~11 MB/s.
ZLIB_DEFAULT_LEVEL = 1


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "dump", help="write video frames as dump files plus scene.json",
        description="Dump the frames of a video (or a range / scene of it) as .dump files at "
                    "native bit depth, named by display index, with scene.json beside them.")
    add_arguments(p)
    p.set_defaults(func=run)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", metavar="INPUT", help="video file (or dumps/PNGs)")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder")
    p.add_argument("--start", metavar="T", help="first frame: index, seconds or HH:MM:SS.mmm")
    p.add_argument("--end", metavar="T", help="end (excluded): index, seconds or HH:MM:SS.mmm")
    p.add_argument("--frames", type=int, metavar="N", help="at most N frames")
    p.add_argument("--scene", type=int, metavar="N", help="dump scene N (0-based, see "
                   "`overmix info VIDEO --scenes`)")
    p.add_argument("--ivtc", choices=("auto", "on", "off"), default="auto",
                   help="inverse telecine (default auto)")
    p.add_argument("--field-order", choices=("tff", "bff"), default=None,
                   help="override the stream's field order for IVTC")
    p.add_argument("--dedup", action="store_true", help="drop frames repeating their "
                   "predecessor")
    p.add_argument("--dedup-threshold", type=float, metavar="X", default=None,
                   help="duplicate if the largest 16x16 block difference is at most X "
                        "(8-bit codes; default automatic)")
    p.add_argument("--compress", choices=("zlib", "xz", "none"), default="zlib",
                   help="plane compression (default zlib)")
    p.add_argument("--level", type=int, metavar="L", default=None,
                   help="zlib level 0-9 (default 1: on video noise it compresses within 1%% "
                        "of level 6 at ~10x the speed) or xz preset 0-9 (default 6)")
    p.add_argument("--stream", type=int, metavar="N", default=None,
                   help="video stream (0-based among video streams)")
    p.add_argument("--force", action="store_true", help="write into a non-empty folder")
    p.add_argument("--workers", type=int, default=None, help=argparse.SUPPRESS)


def _check_output(out: Path, force: bool) -> bool:
    """Validate the output folder; returns True when this run must create it."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"output {out} exists and is not a folder")
    if out.is_dir():
        if any(out.iterdir()) and not force:
            raise OutputError(f"output folder {out} exists and is not empty (use --force)")
        if not os.access(out, os.W_OK):
            raise OutputError(f"output folder {out} is not writable")
        return False
    if not out.parent.exists():
        raise OutputError(f"parent folder of {out} does not exist")
    return True


def scene_range(args: argparse.Namespace, progress: Any) -> tuple[int, int, int]:
    """``(start, end, count)`` of scene ``args.scene`` (a full scan for cuts)."""
    from overmix.io.sources import open_source
    from overmix.video.scenes import detect_cuts, scenes_from_cuts

    src = open_source(args.input, ivtc=args.ivtc, field_order=args.field_order,
                      dedup=args.dedup, dedup_threshold=args.dedup_threshold,
                      stream=args.stream, progress=lambda s, d, t: progress("scenes", d, t))
    with src:
        cuts, n = detect_cuts(src)
    scenes = scenes_from_cuts(cuts, n)
    if not 0 <= args.scene < len(scenes):
        raise UsageError(f"--scene {args.scene}: the video has {len(scenes)} scene(s) "
                         f"(0-{len(scenes) - 1})")
    s = scenes[args.scene]
    return s.start, s.end, len(scenes)


def run(args: argparse.Namespace, ui: UI) -> int:
    from overmix.io.dumps import encode_frame
    from overmix.io.manifest import Manifest, dump_name, format_rate, write_manifest
    from overmix.io.sources import open_source

    out = Path(args.output)
    if args.scene is not None and (args.start is not None or args.end is not None):
        raise UsageError("--scene cannot be combined with --start/--end")
    if args.level is not None and not 0 <= args.level <= 9:
        raise UsageError(f"--level must be 0-9, got {args.level}")
    if args.frames is not None and args.frames <= 0:
        raise UsageError(f"--frames must be 1 or more, got {args.frames}")
    create = _check_output(out, args.force)
    if not Path(args.input).exists():
        from overmix.errors import InputError

        raise InputError(f"no such file: {args.input}")

    written: list[Path] = []
    created = False
    t0 = time.perf_counter()
    with ui.progress() as progress:
        start, end = args.start, args.end
        scene_info = None
        if args.scene is not None:
            s0, s1, nscenes = scene_range(args, progress)
            start, end = s0, s1
            scene_info = {"scene": args.scene, "of": nscenes, "start": s0, "end": s1}
        src = open_source(args.input, start=start, end=end, frames=args.frames,
                          ivtc=args.ivtc, field_order=args.field_order, dedup=args.dedup,
                          dedup_threshold=args.dedup_threshold, stream=args.stream)
        workers = args.workers or max(1, os.cpu_count() or 1)
        pending: deque[tuple[Future[int], Path, dict[str, Any]]] = deque()
        entries: list[dict[str, Any]] = []
        total_bytes = 0
        n = 0

        level = args.level
        if level is None and args.compress == "zlib":
            level = ZLIB_DEFAULT_LEVEL

        def write_one(frame: Frame, path: Path) -> int:
            data = encode_frame(frame, compression=args.compress, level=level)
            from overmix.atomic import write_bytes_atomic

            write_bytes_atomic(path, data)
            return len(data)

        def finish_one() -> None:
            nonlocal total_bytes, n
            fut, path, entry = pending.popleft()
            size = fut.result()
            written.append(path)
            entry["bytes"] = size
            entries.append(entry)
            total_bytes += size
            n += 1
            progress("dump", n, getattr(src, "count", None))

        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dump")
        try:
            if create:
                try:
                    out.mkdir()
                except OSError as exc:
                    raise OutputError(f"cannot create {out}: {exc.strerror or exc}") from None
                created = True
            with src:
                for frame in src:
                    name = dump_name(frame.index)
                    path = out / name
                    entry: dict[str, Any] = {
                        "file": name, "index": frame.index, "pts": frame.pts,
                        "time": None if frame.time is None else round(frame.time, 6),
                        "key_frame": bool(frame.key_frame), "fields": frame.fields,
                    }
                    if "ordinal" in frame.extra:
                        entry["source_frame"] = frame.extra["ordinal"]
                    pending.append((pool.submit(write_one, frame, path), path, entry))
                    # bounded queue: memory stays a few frames, whatever the clip length
                    while len(pending) > 2 * workers:
                        finish_one()
                while pending:
                    finish_one()
            info = dict(getattr(src, "info", {}) or {})
            dedup = info.get("dedup") or {"enabled": False}
            manifest = Manifest(
                color=src.color,
                source=str(Path(args.input).resolve()),
                stream=info.get("stream") if isinstance(info.get("stream"), int) else None,
                frame_rate=format_rate(src.rate) if src.rate else None,
                frames=entries,
                ivtc=info.get("ivtc") or {"mode": "off"},
                dedup=dedup,
                extra={
                    "compression": args.compress,
                    "level": level,
                    "video": info.get("video"),
                    "range": info.get("range"),
                    "scene": scene_info,
                    "lost_frames": info.get("lost_frames", 0),
                    "decode_errors": info.get("decode_errors", 0),
                },
            )
            write_manifest(out, manifest)
            written.append(out / "scene.json")
            if args.force:
                keep = {p.name for p in written}
                for old in out.iterdir():  # stale dumps of an earlier run
                    if NAME_RE.match(old.name) and old.name not in keep:
                        old.unlink()
        except BaseException:
            for fut, _, _ in pending:
                fut.cancel()
            pool.shutdown(wait=True)
            for fut, path, _ in pending:
                if fut.done() and not fut.cancelled() and fut.exception() is None:
                    written.append(path)
            for p in written:
                p.unlink(missing_ok=True)
            if created:
                try:
                    out.rmdir()
                except OSError:
                    pass
            raise
        finally:
            pool.shutdown(wait=True)
    dt = max(time.perf_counter() - t0, 1e-9)
    lost = int(info.get("lost_frames", 0) or 0)
    if lost:
        ui.warn(f"{lost} frames could not be decoded")
    extra = ""
    if isinstance(dedup, dict) and dedup.get("enabled"):
        extra += f", {dedup.get('dropped', 0)} duplicates dropped"
    iv = info.get("ivtc") or {}
    if iv.get("mode") in ("hard", "soft"):
        extra += f", IVTC {iv.get('mode')}"
    ui.note(f"wrote {n} dumps to {out} ({total_bytes / 1e6:.1f} MB, {n / dt:.1f} frames/s"
            f"{extra})")
    return 0

"""``overmix dump VIDEO -o DIR``: frames as dumps (DESIGN §5) plus ``scene.json``.

A thin layer over :func:`overmix.commands.dump.dump` (threaded compression, atomic files,
nothing partial left on error).
"""

from __future__ import annotations

import argparse
from typing import Any

from overmix.cli._types import finite_float
from overmix.cli._ui import UI


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
    p.add_argument("--dedup-threshold", type=finite_float, metavar="X", default=None,
                   help="duplicate if the largest 16x16 block difference is at most X "
                        "(8-bit codes; default automatic)")
    p.add_argument("--compress", choices=("zlib", "xz", "none"), default="zlib",
                   help="plane compression (default zlib)")
    p.add_argument("--level", type=int, metavar="L", default=None,
                   help="zlib level 0-9 (default 1: on video noise it compresses within 1%% "
                        "of level 6 at ~10-25x the speed) or xz preset 0-9 (default 6)")
    p.add_argument("--stream", type=int, metavar="N", default=None,
                   help="video stream (0-based among video streams)")
    p.add_argument("--force", action="store_true", help="write into a non-empty folder")
    p.add_argument("--workers", type=int, default=None, help=argparse.SUPPRESS)


def run(args: argparse.Namespace, ui: UI) -> int:
    from overmix.commands.dump import dump  # lazy: only when dumping

    with ui.progress() as progress:
        res = dump(
            args.input, args.output, start=args.start, end=args.end, frames=args.frames,
            scene=args.scene, ivtc=args.ivtc, field_order=args.field_order, dedup=args.dedup,
            dedup_threshold=args.dedup_threshold, stream=args.stream,
            compression=args.compress, level=args.level, force=args.force,
            workers=args.workers, progress=progress,
        )
    if res.lost_frames:
        ui.warn(f"{res.lost_frames} frames could not be decoded")
    extra = ""
    dedup = res.info.get("dedup") or {}
    if isinstance(dedup, dict) and dedup.get("enabled"):
        extra += f", {dedup.get('dropped', 0)} duplicates dropped"
    iv = res.info.get("ivtc") or {}
    if iv.get("mode") in ("hard", "soft"):
        extra += f", IVTC {iv.get('mode')}"
    rate = res.frames / max(res.seconds, 1e-9)
    ui.note(f"wrote {res.frames} dumps to {res.folder} ({res.bytes / 1e6:.1f} MB, "
            f"{rate:.1f} frames/s{extra})")
    return 0

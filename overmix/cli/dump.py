"""``overmix dump VIDEO -o DIR``: frames as dumps (DESIGN §5) plus ``scene.json``.

A thin layer over :func:`overmix.commands.dump.dump` (threaded compression, atomic files,
nothing partial left on error).
"""

from __future__ import annotations

import argparse
from typing import Any

from overmix.cli._parser import add_command
from overmix.cli._ui import UI
from overmix.commands.options import check_namespace


def register(subparsers: Any) -> None:
    add_command(
        subparsers, "dump", run, help="write video frames as dump files plus scene.json",
        description="Dump the frames of a video (or a range / scene of it) as .dump files at "
                    "native bit depth, named by display index, with scene.json beside them.",
        input_help="video file (or dumps/PNGs)", output=("DIR", "output folder"))


def run(args: argparse.Namespace, ui: UI) -> int:
    from overmix.commands.dump import dump  # lazy: only when dumping

    with ui.progress() as progress:
        res = dump(args.input, args.output, progress=progress,
                   **check_namespace(args, "dump"))
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

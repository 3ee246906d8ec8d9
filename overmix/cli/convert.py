"""``overmix convert INPUT -o OUT``: frames → colour-accurate 8/16-bit PNGs; the work is done
by :func:`overmix.commands.convert.convert`."""

from __future__ import annotations

import argparse
from typing import Any

from overmix.cli._parser import add_command
from overmix.cli._ui import UI
from overmix.commands.options import check_namespace


def register(subparsers: Any) -> None:
    add_command(
        subparsers, "convert", run, help="convert frames to colour-accurate PNGs",
        description="Convert one frame (or all / a range) of a video, dump, dump folder or PNG "
                    "to 8- or 16-bit PNG with exact colour maths (range, matrix, chroma siting).",
        input_help="video, dump file, dump folder, PNG or PNGs",
        output=("OUT", "output PNG file (one frame) or folder (--all / a range; a range "
                       "into a *.png file writes its first frame)"))


def run(args: argparse.Namespace, ui: UI) -> int:
    # lazy: the colour pipeline and PyAV load only when a conversion runs
    from overmix.commands.convert import convert

    with ui.progress() as progress:
        res = convert(args.input, args.output, progress=progress,
                      **check_namespace(args, "convert"))
    what = f"{len(res.written)} PNG(s) to {args.output}" if res.folder else str(args.output)
    ui.note(f"wrote {what} ({_describe(res.frame, res.image)})")
    return 0


def _describe(frame: Any, image: Any) -> str:
    c = frame.color
    bits = 16 if image.dtype.itemsize == 2 else 8
    chans = {1: "gray", 2: "gray+alpha", 3: "RGB", 4: "RGBA"}[image.shape[2]]
    return (f"{image.shape[1]}x{image.shape[0]} {bits}-bit {chans}; source "
            f"{frame.layout.name} {c.bit_depth}-bit {c.matrix.name.lower()} "
            f"{c.range.name.lower()}")

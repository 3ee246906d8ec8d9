"""``overmix preview INPUT -o sheet.png``: a contact sheet of a dump folder or a video range."""

from __future__ import annotations

import argparse
from typing import Any

from overmix.cli._parser import add_command
from overmix.cli._ui import UI
from overmix.commands.options import check_namespace


def register(subparsers: Any) -> None:
    add_command(
        subparsers, "preview", run, help="contact sheet of a dump folder or a video range",
        description="Thumbnails with frame index and time; key frames framed orange, frames "
                    "dedup drops framed red and greyed; IVTC: a blue corner on frames woven "
                    "from two coded frames, a red right edge where the next coded frame was "
                    "decimated.",
        input_help="video, dump file/folder or PNG folder", output=("SHEET.png", "output PNG"))


def run(args: argparse.Namespace, ui: UI) -> int:
    # lazy: the contact sheet loads numba (dither), which other commands skip
    from overmix.commands.preview import preview

    options = check_namespace(args, "preview")
    options.pop("json")
    with ui.progress() as progress:
        sheet = preview(args.input, args.output, progress=progress, **options)
    if args.json:
        ui.print_json({"output": args.output, **sheet.to_json()})
    else:
        h, w = sheet.image.shape[:2]
        ui.note(f"{args.output}: {len(sheet.tiles)} thumbnails, {w}x{h}")
    return 0

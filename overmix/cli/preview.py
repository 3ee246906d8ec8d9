"""``overmix preview INPUT -o sheet.png``: a contact sheet of a dump folder or a video range."""

from __future__ import annotations

import argparse
from typing import Any

from overmix.cli._ui import UI


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "preview", help="contact sheet of a dump folder or a video range",
        description="Thumbnails with frame index and time; key frames framed orange, frames "
                    "dedup drops framed red and greyed; IVTC: a blue corner on frames woven "
                    "from two coded frames, a red right edge where the next coded frame was "
                    "decimated.")
    p.add_argument("input", metavar="INPUT", help="video, dump file/folder or PNG folder")
    p.add_argument("-o", "--output", required=True, metavar="SHEET.png", help="output PNG")
    p.add_argument("--every", type=int, default=1, metavar="N",
                   help="one thumbnail per N frames (default 1)")
    p.add_argument("--start", metavar="T", help="first frame: index, seconds or HH:MM:SS.mmm")
    p.add_argument("--end", metavar="T", help="end (excluded): index, seconds or HH:MM:SS.mmm")
    p.add_argument("--columns", type=int, default=8, metavar="C",
                   help="thumbnails per row (default 8)")
    p.add_argument("--thumb-width", type=int, default=160, metavar="W",
                   help="thumbnail width in pixels (default 160)")
    p.add_argument("--ivtc", choices=("auto", "on", "off"), default="auto",
                   help="inverse telecine for videos (default auto)")
    p.add_argument("--dedup", action="store_true",
                   help="mark the frames dedup would drop (videos; ranges count all frames)")
    p.add_argument("--json", action="store_true", help="print the tile layout as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    # lazy: the contact sheet loads numba (dither), which other commands skip
    from overmix.atomic import check_input
    from overmix.commands.paths import check_not_input
    from overmix.commands.preview import contact_sheet, write_contact_sheet

    check_input(args.input)
    check_not_input([args.input], [args.output])  # before the work; again at the write
    with ui.progress() as progress:
        sheet = contact_sheet(args.input, every=args.every, start=args.start, end=args.end,
                              columns=args.columns, thumb_width=args.thumb_width,
                              ivtc=args.ivtc, dedup=args.dedup, progress=progress)
    write_contact_sheet(sheet, args.output)
    if args.json:
        ui.print_json({"output": args.output, **sheet.to_json()})
    else:
        h, w = sheet.image.shape[:2]
        ui.note(f"{args.output}: {len(sheet.tiles)} thumbnails, {w}x{h}")
    return 0

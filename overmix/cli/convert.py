"""``overmix convert INPUT -o OUT``: frames → colour-accurate 8/16-bit PNGs; the work is done
by :func:`overmix.commands.convert.convert`."""

from __future__ import annotations

import argparse
from typing import Any

from overmix.cli._ui import UI

FILTER_CHOICES = ("bilinear", "bicubic", "lanczos")


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "convert", help="convert frames to colour-accurate PNGs",
        description="Convert one frame (or all / a range) of a video, dump, dump folder or PNG "
                    "to 8- or 16-bit PNG with exact colour maths (range, matrix, chroma siting).",
    )
    p.add_argument("input", metavar="INPUT", help="video, dump file, dump folder, PNG or PNGs")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output PNG file (one frame) or folder (--all / a range; a range "
                        "into a *.png file writes its first frame)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--frame", metavar="N", default=None,
                       help="frame to convert: index (default 0), or a time such as 12.5s "
                            "or 00:01:02.500")
    which.add_argument("--all", action="store_true",
                       help="convert every frame (of the range) into the folder OUT")
    p.add_argument("--start", metavar="T", help="first frame: index, seconds or HH:MM:SS.mmm")
    p.add_argument("--end", metavar="T", help="end (excluded): index, seconds or HH:MM:SS.mmm")
    p.add_argument("--depth", type=int, choices=(8, 16), default=None,
                   help="PNG bit depth (default 16 for sources deeper than 8 bit, else 8)")
    p.add_argument("--dither", action="store_true",
                   help="Floyd-Steinberg error diffusion instead of rounding")
    p.add_argument("--matrix", metavar="M", default=None,
                   help="override the Y'CbCr matrix: 601, 709, 2020, 240m, fcc, ...")
    p.add_argument("--range", dest="range_", metavar="R", default=None,
                   help="override the quantisation range: limited or full")
    p.add_argument("--chroma-filter", choices=FILTER_CHOICES, default="bilinear",
                   help="chroma upsampling filter (default bilinear)")
    p.add_argument("--linear", action="store_true",
                   help="write linear light (BT.1886 EOTF) instead of the source's R'G'B'")
    p.add_argument("--ivtc", choices=("auto", "on", "off"), default="auto",
                   help="inverse telecine for videos (default auto)")
    p.add_argument("--stream", type=int, metavar="N", default=None,
                   help="video stream (0-based among video streams)")
    p.add_argument("--reinterpret", metavar="USED:CORRECT", default=None,
                   help="repair an RGB screenshot rendered with the wrong matrix, e.g. 601:709 "
                        "(re-encode with USED, decode with CORRECT)")
    p.add_argument("--force", action="store_true",
                   help="write into a non-empty output folder")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    # lazy: the colour pipeline and PyAV load only when a conversion runs
    from overmix.commands.convert import convert

    with ui.progress() as progress:
        res = convert(args.input, args.output, frame=args.frame, all=args.all,
                      start=args.start, end=args.end, depth=args.depth, dither=args.dither,
                      matrix=args.matrix, range=args.range_, chroma_filter=args.chroma_filter,
                      linear=args.linear, ivtc=args.ivtc, stream=args.stream,
                      reinterpret=args.reinterpret, force=args.force, progress=progress)
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

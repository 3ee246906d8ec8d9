"""``overmix convert INPUT -o OUT``: frames → colour-accurate 8/16-bit PNGs.

One frame (``--frame N``, default the first) goes to the file OUT. ``--all`` or a range
(``--start``/``--end``) writes a folder OUT of PNGs named by frame index (``000042.png``);
a range with an OUT named ``*.png`` (and no ``--all``) writes the range's first frame there.
Colour comes from the source (``scene.json`` → dump header → untagged rules for dumps; stream
tags for videos); ``--matrix``/``--range`` override it.

``--reinterpret USED:CORRECT`` repairs RGB screenshots a player rendered with the wrong
matrix: the pixels are re-encoded to Y'CbCr with USED (the matrix the player wrongly applied)
and decoded with CORRECT. ``--reinterpret 601:709`` fixes an HD screenshot decoded as BT.601
(old VLC); ``709:601`` the reverse.
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path
from typing import Any

from overmix.cli._ui import UI
from overmix.errors import InputError, OutputError, RangeError, UsageError

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


def _parse_reinterpret(text: str) -> tuple[Any, Any]:
    from overmix.color.spec import Matrix

    parts = text.split(":")
    if len(parts) != 2 or not all(parts):
        raise UsageError(f"--reinterpret wants USED:CORRECT such as 601:709, not {text!r}")
    try:
        used, correct = Matrix.parse(parts[0]), Matrix.parse(parts[1])
    except InputError as exc:
        raise UsageError(f"--reinterpret: {exc}") from None
    if used in (Matrix.RGB, Matrix.GRAY) or correct in (Matrix.RGB, Matrix.GRAY):
        raise UsageError("--reinterpret takes two Y'CbCr matrices, e.g. 601:709")
    return used, correct


def _check_folder(out: Path, force: bool) -> bool:
    """Validate the output folder; True when this run has to create it."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"output {out} exists and is not a folder")
    if out.is_dir():
        if any(out.iterdir()) and not force:
            raise OutputError(f"output folder {out} exists and is not empty (use --force)")
        if not os.access(out, os.W_OK | os.X_OK):
            raise OutputError(f"output folder {out} is not writable")
        return False
    parent = out.parent
    if not parent.is_dir():
        raise OutputError(f"parent folder of {out} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot create {out}: {parent} is not writable")
    return True


def _check_file(out: Path, inp: Path) -> None:
    if out.is_dir():
        raise OutputError(f"output {out} is a folder (use --all to write a folder of PNGs)")
    if out.exists() and inp.exists() and out.resolve() == inp.resolve():
        raise OutputError(f"output {out} is the input file")
    parent = out.parent
    if not parent.is_dir():
        raise OutputError(f"output folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"output folder {parent} is not writable")


def _options(args: argparse.Namespace) -> dict[str, Any]:
    from overmix.color.spec import Matrix, Range

    opts: dict[str, Any] = {}
    try:
        opts["matrix"] = Matrix.parse(args.matrix) if args.matrix else None
        opts["range"] = Range.parse(args.range_) if args.range_ else None
    except InputError as exc:
        raise UsageError(str(exc)) from None
    if opts["matrix"] == Matrix.GRAY:
        raise UsageError("--matrix gray is not a conversion; use a Y'CbCr matrix")
    opts["reinterpret"] = _parse_reinterpret(args.reinterpret) if args.reinterpret else None
    if args.frame is not None:
        from overmix.ranges import parse_position

        opts["frame"] = parse_position(args.frame)  # UsageError when invalid or negative
    if args.frame is not None and (args.start is not None or args.end is not None):
        raise UsageError("--frame cannot be combined with --start/--end")
    return opts


def _recolor(frame: Any, opts: dict[str, Any]) -> Any:
    """Apply --matrix/--range overrides to one frame."""
    from overmix.frame import Family

    changes: dict[str, Any] = {}
    if opts["matrix"] is not None:
        if frame.layout.family != Family.YCBCR:
            raise UsageError(f"--matrix applies to Y'CbCr sources; this one is "
                             f"{frame.layout.family.value}")
        changes["matrix"] = opts["matrix"]
    if opts["range"] is not None:
        changes["range"] = opts["range"]
    if opts["reinterpret"] is not None and frame.layout.family != Family.RGB:
        raise UsageError("--reinterpret applies to RGB inputs such as PNG screenshots; use "
                         "--matrix for Y'CbCr sources")
    return frame.replace(color=frame.color.with_(**changes)) if changes else frame


def run(args: argparse.Namespace, ui: UI) -> int:
    from overmix.color.convert import frame_to_image
    from overmix.io.png import write_png
    from overmix.io.sources import open_source

    opts = _options(args)
    inp = Path(args.input)
    out = Path(args.output)
    if not inp.exists():
        raise InputError(f"no such file or folder: {inp}")
    ranged = args.start is not None or args.end is not None
    # A range writes a folder, except into a file named *.png (then its first frame).
    many = bool(args.all) or (ranged and out.suffix.lower() != ".png")
    if many:
        same = out.resolve() == inp.resolve()
        if same or (inp.is_file() and out.resolve() == inp.parent.resolve()):
            raise OutputError(f"output folder {out} is the input folder")
        create = _check_folder(out, args.force)
    else:
        _check_file(out, inp)
        create = False

    def convert(frame: Any) -> Any:
        frame = _recolor(frame, opts)
        return frame_to_image(
            frame, depth=args.depth, dither=args.dither, chroma_filter=args.chroma_filter,
            linear=args.linear, reinterpret_from=opts["reinterpret"],
        )

    if not many:
        if ranged:
            start, end, n = args.start, args.end, args.start or 0
        else:
            n = opts.get("frame") or 0
            start, end = n, None
        try:
            src = open_source(inp, start=start, end=end, frames=1, ivtc=args.ivtc,
                              stream=args.stream)
        except RangeError as exc:
            raise RangeError(f"frame {n} is out of range: {exc}") from None
        with src:
            frame = next(iter(src), None)
        if frame is None:
            raise RangeError(f"frame {n} is out of range: the input has no frame there")
        image = convert(frame)
        write_png(out, image)
        ui.note(f"wrote {out} ({_describe(frame, image)})")
        return 0

    written: list[Path] = []
    first: tuple[Any, Any] | None = None
    ok = False
    try:
        src = open_source(inp, start=args.start, end=args.end, ivtc=args.ivtc,
                          stream=args.stream)
        if create:
            try:
                out.mkdir()
            except OSError as exc:
                raise OutputError(f"cannot create {out}: {exc.strerror or exc}") from None
        with src, ui.progress() as progress:
            total = getattr(src, "count", None)
            for k, frame in enumerate(src):
                image = convert(frame)
                path = out / f"{int(frame.index):06d}.png"
                write_png(path, image)
                written.append(path)
                first = first or (frame, image)
                progress("convert", k + 1, total)
        if not written:
            raise RangeError("the range selects no frame")
        ok = True
    finally:
        if not ok:
            for path in written:
                path.unlink(missing_ok=True)
            if create and out.is_dir() and not any(out.iterdir()):
                shutil.rmtree(out, ignore_errors=True)
    assert first is not None
    ui.note(f"wrote {len(written)} PNG(s) to {out} ({_describe(*first)})")
    return 0


def _describe(frame: Any, image: Any) -> str:
    c = frame.color
    bits = 16 if image.dtype.itemsize == 2 else 8
    chans = {1: "gray", 2: "gray+alpha", 3: "RGB", 4: "RGBA"}[image.shape[2]]
    return (f"{image.shape[1]}x{image.shape[0]} {bits}-bit {chans}; source "
            f"{frame.layout.name} {c.bit_depth}-bit {c.matrix.name.lower()} "
            f"{c.range.name.lower()}")

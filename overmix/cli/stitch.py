"""``overmix stitch INPUT -o OUT.png``: one still from a camera pan (DESIGN §7).

Options are registered here with the exact names of the CLI contract; the work is done by
:func:`overmix.commands.stitch.stitch`.
"""

from __future__ import annotations

import argparse
from typing import Any

from rich.table import Table

from overmix.cli._types import finite_float
from overmix.cli._ui import UI
from overmix.commands.options import StitchOptions
from overmix.errors import UsageError
from overmix.render.names import RENDERS


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "stitch", help="stitch the frames of a pan into one still",
        description="Align the frames of a camera pan to a fraction of a pixel, render every "
                    "Y'CbCr plane at its exact position onto one canvas, and write it as a "
                    "PNG (converted to RGB once, at the end) or a dump.")
    p.add_argument("input", metavar="INPUT", help="video, dump file, folder of dumps or PNGs")
    p.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output .png (8/16-bit RGB, RGBA when the canvas has holes) or .dump")
    add_input_arguments(p)
    add_align_arguments(p)
    g = p.add_argument_group("render")
    g.add_argument("--render", choices=RENDERS, default="average",
                   help="how frames are combined (default average)")
    g.add_argument("--offsets", metavar="FILE", help="use these offsets (JSON) instead of "
                   "aligning")
    g.add_argument("--save-offsets", metavar="FILE", help="write the offsets (JSON)")
    g.add_argument("--depth", type=int, choices=(8, 16), default=None,
                   help="PNG bits per channel (default 16 for sources deeper than 8 bits)")
    g.add_argument("--dither", action="store_true", help="error-diffusion dither to 8 bits")
    g.add_argument("--chroma", choices=("native", "full"), default="native",
                   help="chroma canvas at the source's subsampling (native) or 4:4:4 (full)")
    g.add_argument("--kernel", choices=("cubic", "lanczos3"), default="cubic",
                   help="sub-pixel resampling kernel (default cubic = Catmull-Rom)")
    s = p.add_argument_group("scene")
    s.add_argument("--animation", default="off", metavar="auto|off|N",
                   help="separate animation frames (writes OUT-NN.png and an APNG)")
    s.add_argument("--logo", default="off", metavar="auto|off|FILE",
                   help="remove a static overlay (detected, or this mask PNG)")
    s.add_argument("--extract-overlay", metavar="FILE", help="write the static overlay as "
                   "RGBA PNG")
    s.add_argument("--lighting", choices=("auto", "off", "on"), default="off",
                   help="compensate per-frame brightness changes (default off)")
    r = p.add_argument_group("restoration")
    r.add_argument("--scale", type=finite_float, metavar="S", help="super-resolution factor")
    r.add_argument("--deconvolve", metavar="SIGMA[:ITERS]", help="Richardson-Lucy deblur")
    r.add_argument("--mosaic", choices=("auto", "off"), default="off",
                   help="recover detail under a mosaic censor")
    r.add_argument("--jpeg", action="store_true", help="JPEG inputs: DCT-constraint estimation")
    r.add_argument("--save-project", metavar="FILE", help="write an Overmix project "
                   "(.xml.overmix)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    # nothing to clean up after run() (the store's folder is gone): the program may end
    # without the interpreter's teardown (overmix.cli.main)
    p.set_defaults(func=run, exit_fast=True)


def add_input_arguments(p: argparse.ArgumentParser) -> None:
    """``--start/--end/--frames/--ivtc/--field-order/--dedup/--dedup-threshold/--stream``."""
    p.add_argument("--start", metavar="T", help="first frame: index, seconds or HH:MM:SS.mmm")
    p.add_argument("--end", metavar="T", help="end (excluded): index, seconds or HH:MM:SS.mmm")
    p.add_argument("--frames", type=int, metavar="N", help="at most N frames")
    p.add_argument("--ivtc", choices=("auto", "on", "off"), default="auto",
                   help="inverse telecine (default auto)")
    p.add_argument("--field-order", choices=("tff", "bff"), default=None,
                   help="override the stream's field order for IVTC")
    p.add_argument("--dedup", action="store_true", help="drop frames repeating their "
                   "predecessor")
    p.add_argument("--dedup-threshold", type=finite_float, metavar="X", default=None,
                   help="duplicate threshold (8-bit codes; default automatic)")
    p.add_argument("--stream", type=int, metavar="N", default=None,
                   help="video stream (0-based among video streams)")
    p.add_argument("--memory-budget", type=finite_float, metavar="MB", default=None,
                   help="decoded frames kept in memory (default 4 MB); the rest wait in a "
                        "temporary folder")


def add_align_arguments(p: argparse.ArgumentParser) -> None:
    """``--motion/--mask/--border``."""
    p.add_argument("--motion", choices=("xy", "x", "y", "zoom", "similarity", "auto"),
                   default="auto",
                   help="camera motion model: xy (pan), x or y (one axis), zoom (pan + zoom), "
                        "similarity (pan + zoom + rotation), auto (the simplest that fits; "
                        "default)")
    p.add_argument("--canvas-scale", type=float, metavar="C", default=None,
                   help="canvas pixel size in frame-0 pixels (default: the most zoomed-in "
                        "frame's; C < 1 is finer than frame 0)")
    p.add_argument("--mask", metavar="FILE", help="PNG in frame size: white = ignore")
    p.add_argument("--border", type=int, default=0, metavar="N",
                   help="ignore N pixels at every frame edge")


def options(args: argparse.Namespace) -> Any:
    """:class:`~overmix.commands.options.StitchOptions` from parsed arguments."""
    if args.frames is not None and args.frames < 1:
        raise UsageError(f"--frames must be >= 1 (got {args.frames})")
    names = StitchOptions.__dataclass_fields__
    kw = {k: v for k, v in vars(args).items() if k in names}
    if getattr(args, "memory_budget", None) is not None:
        if args.memory_budget < 0:
            raise UsageError(f"--memory-budget must be >= 0 (got {args.memory_budget:g})")
        kw["memory_budget"] = int(args.memory_budget * 2**20)
    else:
        kw.pop("memory_budget", None)
    return StitchOptions(**kw).check()


def summary_rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    cv = summary["canvas"]
    rows = [
        ("frames used", f"{summary['frames']} of {summary['input_frames']}"),
        ("canvas", f"{cv['width']}x{cv['height']} at ({cv['x']:g}, {cv['y']:g})"),
    ]
    if "residual_px" in summary:
        rows.append(("residual alignment error",
                     f"{float(summary['residual_px']):.3f} px RMS, "
                     f"{float(summary.get('residual_max', 0.0)):.3f} px max"))
    if summary.get("motion"):
        rows.append(("motion model", str(summary["motion"])))
    if summary.get("unaligned_frames"):
        rows.append(("unaligned frames", ", ".join(map(str, summary["unaligned_frames"]))))
    if "disagreement" in summary:
        rows.append(("frame disagreement", f"{float(summary['disagreement']) * 255:.2f} "
                     "(8-bit levels, RMS of per-pixel std of Y')"))
    if summary.get("holes"):
        rows.append(("uncovered pixels", f"{summary['holes']} (transparent)"))
    if summary.get("animation_frames", 1) > 1:
        rows.append(("animation frames", str(summary["animation_frames"])))
    t = summary.get("timings", {})
    rows.append(("time (s)", ", ".join(f"{k} {v:.2f}" for k, v in t.items())))
    for w in summary.get("warnings", []):
        rows.append(("warning", str(w)))
    for f in summary.get("outputs", []):
        rows.append(("wrote", str(f)))
    return rows


def print_summary(ui: UI, summary: dict[str, Any]) -> None:
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for k, v in summary_rows(summary):
        table.add_row(k, v)
    ui.out.print(table)


def run(args: argparse.Namespace, ui: UI) -> int:
    # lazy: the stitch loads registration/render/restore (scipy), which other commands skip
    from overmix.commands.stitch import stitch

    opts = options(args)
    with ui.progress() as progress:
        result = stitch(args.input, opts, progress, output=args.output)
    for w in result.summary.get("warnings", []):
        ui.warn(w)
    if args.json:
        ui.print_json({**result.summary, "offsets": result.offsets.to_json()})
    else:
        print_summary(ui, result.summary)
    return 0

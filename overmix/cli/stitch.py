"""``overmix stitch INPUT -o OUT.png``: one still from a camera pan (DESIGN §7).

The options come from :mod:`overmix.commands.options` (the CLI contract's names); the work is
done by :func:`overmix.commands.stitch.stitch`.
"""

from __future__ import annotations

import argparse
from typing import Any

from overmix.cli._parser import add_command
from overmix.cli._ui import UI, new_table
from overmix.commands.options import stitch_options


def register(subparsers: Any) -> None:
    # nothing to clean up after run() (the store's folder is gone): the program may end
    # without the interpreter's teardown (overmix.cli.main)
    add_command(
        subparsers, "stitch", run, help="stitch the frames of a pan into one still",
        description="Align the frames of a camera pan to a fraction of a pixel, render every "
                    "Y'CbCr plane at its exact position onto one canvas, and write it as a "
                    "PNG (converted to RGB once, at the end) or a dump.",
        input_help="video, dump file, folder of dumps or PNGs",
        output=("OUT", "output .png (8/16-bit RGB, RGBA when the canvas has holes) or .dump"),
        exit_fast=True)


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
    if summary.get("left_out"):
        rows.append(("left out", ", ".join(str(e["index"]) for e in summary["left_out"])))
    masks = summary.get("masks")
    if isinstance(masks, dict) and (masks.get("overlay") or masks.get("foreground")):
        rows.append(("not following the background",
                     f"{100 * float(masks['overlay']):.1f} % screen-fixed, "
                     f"{100 * float(masks['foreground']):.1f} % moving (of each frame)"))
    if "disagreement" in summary:
        rows.append(("frame disagreement", f"{float(summary['disagreement']) * 255:.2f} "
                     "(8-bit levels, RMS of per-pixel std of Y')"))
    if summary.get("holes"):
        rows.append(("uncovered pixels", f"{summary['holes']} (transparent)"))
    if summary.get("animation_frames", 1) > 1:
        rows.append(("animation frames", str(summary["animation_frames"])))
    if summary.get("lighting"):
        rows.append(("lighting", lighting_text(summary["lighting"])))
    t = summary.get("timings", {})
    rows.append(("time (s)", ", ".join(f"{k} {v:.2f}" for k, v in t.items())))
    for w in summary.get("warnings", []):
        rows.append(("warning", str(w)))
    for f in summary.get("outputs", []):
        rows.append(("wrote", str(f)))
    return rows


def lighting_text(info: dict[str, Any]) -> str:
    """One line: whether lighting was compensated and the range of gains/offsets."""
    if "gain_range" not in info:
        return str(info.get("source", "not compensated"))
    g0, g1 = info["gain_range"]
    o0, o1 = info["offset_range"]
    span = f"gains {g0:.4f}-{g1:.4f}, offsets {o0 * 255:+.2f} to {o1 * 255:+.2f} (8-bit levels)"
    if info.get("compensated"):
        src = " (from the offsets file)" if info.get("source") == "offsets file" else ""
        return f"compensated{src}: {span}"
    return f"steady, not compensated (within the estimate's uncertainty): {span}"
def left_out_message(left: Any, used: Any = None) -> str | None:
    """One line naming the frames that were left out and why (consecutive frames as ranges,
    the ranges gathered under their reason), or None. ``used``: the frames placed (when only
    one is, the line says that the still is that frame alone)."""
    if not left:
        return None
    by_reason: dict[str, list[list[int]]] = {}  # reason -> [first, last] ranges
    for e in left:
        i, why = int(e["index"]), str(e["reason"])
        ranges = by_reason.setdefault(why, [])
        if ranges and ranges[-1][1] + 1 == i:
            ranges[-1][1] = i
        else:
            ranges.append([i, i])
    parts = []
    for why, ranges in by_reason.items():
        many = len(ranges) > 1 or ranges[0][0] != ranges[0][1]
        spans = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)
        parts.append(f"frame{'s' if many else ''} {spans} ({why})")
    alone = (f"; the still is frame {int(used[0])} alone" if used is not None
             and len(used) == 1 else "")
    return (f"left out {len(left)} frame{'s' if len(left) > 1 else ''} that could not be "
            "placed: " + "; ".join(parts) + alone + " (--strict makes this an error)")


def warn_left_out(ui: UI, left: Any, used: Any = None) -> None:
    msg = left_out_message(left, used)
    if msg:
        ui.warn(msg)


def print_summary(ui: UI, summary: dict[str, Any]) -> None:
    table = new_table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for k, v in summary_rows(summary):
        table.add_row(k, v)
    ui.out.print(table)


def run(args: argparse.Namespace, ui: UI) -> int:
    # lazy: the stitch loads registration/render/restore (scipy), which other commands skip
    from overmix.commands.stitch import stitch

    opts = stitch_options(args, "stitch")
    with ui.progress() as progress:
        result = stitch(args.input, opts, progress, output=args.output)
    for w in result.summary.get("warnings", []):
        ui.warn(w)
    warn_left_out(ui, result.summary.get("left_out"), result.summary.get("used_frames"))
    if args.json:
        ui.print_json({**result.summary, "offsets": result.offsets.to_json()})
    else:
        print_summary(ui, result.summary)
    return 0

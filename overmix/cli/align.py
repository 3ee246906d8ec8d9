"""``overmix align INPUT``: sub-pixel offsets of a pan's frames (DESIGN §7 offsets JSON)."""

from __future__ import annotations

import argparse
from typing import Any

from overmix.cli._parser import add_command
from overmix.cli._ui import UI, new_table
from overmix.cli.stitch import summary_rows, warn_left_out
from overmix.commands.options import stitch_options


def register(subparsers: Any) -> None:
    add_command(
        subparsers, "align", run, help="measure the sub-pixel offsets of a pan's frames",
        description="Align the frames of a camera pan (Y' plane, sub-pixel) and print a "
                    "table, or the offsets JSON with --json; -o writes the JSON file that "
                    "`overmix stitch --offsets` reads.",
        input_help="video, dump file, folder of dumps or PNGs",
        output=("FILE", "write the offsets JSON here"), output_required=False)


def run(args: argparse.Namespace, ui: UI) -> int:
    # lazy: alignment loads registration (scipy), which other commands skip
    from overmix.commands.align import align_input

    opts = stitch_options(args, "align")
    with ui.progress() as progress:
        offsets, summary = align_input(args.input, opts, progress, output=args.output)
    for w in summary.get("warnings", []):
        ui.warn(w)
    warn_left_out(ui, summary.get("left_out"), summary.get("used_frames"))
    if args.json:
        ui.print_json(offsets.to_json())
        return 0
    table = new_table(title="offsets (luma pixels, frame 0 at 0, 0)")
    for col in ("index", "x", "y"):
        table.add_column(col, justify="right")
    for i, (x, y) in zip(offsets.indices, offsets.xy, strict=True):
        table.add_row(str(i), f"{x:.3f}", f"{y:.3f}")
    ui.out.print(table)
    for k, v in summary_rows(summary):
        ui.out.print(f"{k}: {v}")
    if args.output:
        ui.out.print(f"wrote {args.output}")
    return 0

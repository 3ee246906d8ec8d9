"""``overmix compress PATH... [--to zlib|xz|none] [--level L] [--matrix M] [--jobs N]``.

Recompresses dumps in place, bit-exactly and atomically (a thin layer over
:mod:`overmix.commands.compress`).
"""

from __future__ import annotations

import argparse
from typing import Any

from overmix.cli._parser import add_command
from overmix.cli._ui import UI, new_table
from overmix.commands.options import check_namespace
from overmix.errors import InputError, UsageError


def register(subparsers: Any) -> None:
    p = add_command(
        subparsers, "compress", run,
        help="recompress dumps in place (zlib, xz or none), bit-exactly",
        description="Recompress dump files or folders of dumps in place. Every sample and the "
                    "header stay bit-exact; each file is replaced atomically only after the new "
                    "bytes were decoded and compared. Headerless (video_dumper) dumps get a "
                    "DMP0 header when their matrix is known (scene.json or --matrix).")
    p.add_argument("paths", nargs="+", metavar="PATH", help="dump files or folders of dumps")


def _size(n: int) -> str:
    for unit, div in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= div:
            return f"{n / div:.2f} {unit}"
    return f"{n} B"


def run(args: argparse.Namespace, ui: UI) -> int:
    from overmix.commands.compress import color_for_matrix, recompress  # lazy: only here

    o = check_namespace(args, "compress")
    if o["range"] and not o["matrix"]:
        raise UsageError("--range needs --matrix")
    color = color_for_matrix(o["matrix"], o["range"]) if o["matrix"] else None
    with ui.progress() as progress:
        results = recompress(args.paths, to=str(o["to"]), level=o["level"], matrix=color,
                             jobs=o["jobs"], force=o["force"], progress=progress)
    failed = [r for r in results if r.status == "failed"]
    done = [r for r in results if r.status == "recompressed"]
    before = sum(r.before for r in results)
    after = sum(r.after for r in results)
    headerless = [r for r in results if r.header == "none"]
    added = sum(r.header == "added" for r in results)
    if args.json:
        ui.print_json({
            "files": [r.to_json() for r in results],
            "recompressed": len(done),
            "skipped": sum(r.status == "skipped" for r in results),
            "failed": len(failed),
            "headers_added": added,
            "headerless": len(headerless),
            "total_before": before,
            "total_after": after,
            "size_ratio": round(after / before, 4) if before else None,  # after / before
        })
    else:
        table = new_table(title=f"{len(done)} of {len(results)} files recompressed to {args.to}",
                      title_justify="left")
        for col in ("file", "before", "after", "from", "to", "header", "status"):
            table.add_column(col, justify="right" if col in ("before", "after") else "left",
                             overflow="fold")
        show = results if len(results) <= 40 else [r for r in results if r.status != "skipped"]
        for r in show[:200]:
            table.add_row(r.file, _size(r.before), _size(r.after), r.compression_before,
                          r.compression_after, r.header, r.status)
        if len(show) > 200:
            table.add_row(f"... {len(show) - 200} more", "", "", "", "", "", "")
        pct = f" ({after / before:.1%})" if before else ""
        table.add_row("total", _size(before), _size(after) + pct, "", "", "", "", style="bold")
        ui.out.print(table)
    if headerless:
        ui.warn(f"{len(headerless)} headerless dump(s) left without a DMP0 header (matrix "
                f"unknown; give --matrix or a scene.json), e.g. {headerless[0].file}")
    if failed:
        names = "; ".join(r.error or r.file for r in failed[:3])
        more = f" (and {len(failed) - 3} more)" if len(failed) > 3 else ""
        raise InputError(f"{len(failed)} file(s) left untouched: {names}{more}")
    return 0

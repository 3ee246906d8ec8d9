"""``overmix info INPUT [--json]``: what a dump, a dump folder, a PNG or a video holds.

Dumps are described here (:mod:`overmix.io.dumpinfo`); videos by ``overmix.cli._info_video``.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.table import Table

from overmix.cli._ui import UI
from overmix.errors import InputError, UnsupportedError

try:  # video info is built separately; info on dumps works without it
    from overmix.cli import _info_video
except ImportError:  # pragma: no cover - before that module exists
    _info_video = None  # type: ignore[assignment]


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "info", help="describe a video, dump, dump folder or PNG",
        description="Show sizes, planes, bit depth, compression and colour of a dump file or a "
                    "folder of dumps (totals and inconsistent files), or the streams of a "
                    "video.",
        conflict_handler="resolve",
    )
    p.add_argument("input", metavar="INPUT", help="video file, dump file, dump folder or PNG")
    p.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")
    p.add_argument("--verify", action="store_true",
                   help="dumps: decode every payload too (slower; finds corrupt data)")
    if _info_video is not None and hasattr(_info_video, "add_arguments"):
        _info_video.add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from overmix.atomic import check_input
    from overmix.commands.info import describe_dump, describe_dump_folder
    from overmix.io.sources import DUMP_EXTS, PNG_EXTS, is_video_path, list_inputs

    path = Path(args.input)
    check_input(path)  # missing, FIFO, device: one line now, never a blocked read
    if path.is_dir():
        if list_inputs(path, DUMP_EXTS):
            with ui.progress() as progress:
                data = describe_dump_folder(path, verify=args.verify, progress=progress)
            _show(ui, args, data, _folder_table)
            if not data.get("complete", True):
                ui.warn(f"{path} holds an interrupted dump (scene.json is marked incomplete); "
                        "run the dump again to replace it")
            return 0
        if list_inputs(path, PNG_EXTS):
            return _png_info(args, ui, path)
        raise InputError(f"no .dump or .png files in folder {path}")
    suffix = path.suffix.lower()
    if suffix in DUMP_EXTS or _starts_with_magic(path):
        _show(ui, args, describe_dump(path, decode=args.verify), _dump_table)
        return 0
    if suffix in PNG_EXTS:
        return _png_info(args, ui, path)
    if is_video_path(path):
        if _info_video is None or not hasattr(_info_video, "run_video_info"):
            raise UnsupportedError("video info is not available in this build")
        return int(_info_video.run_video_info(args, ui) or 0)
    raise UnsupportedError(f"{path}: not a video, dump or PNG")


def _starts_with_magic(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"DMP0"
    except OSError:
        return False


def _show(ui: UI, args: argparse.Namespace, data: dict[str, Any], table: Any) -> None:
    if args.json:
        ui.print_json(data)
    else:
        for t in table(data):
            ui.out.print(t)


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    for unit, div in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n >= div:
            return f"{n / div:.2f} {unit}"
    return f"{n} B"


def _color_text(data: dict[str, Any]) -> str:
    c = data.get("color")
    if not c:
        return data.get("color_error", "-")
    return (f"{c['matrix']} {c['range']}, transfer {c['transfer']}, primaries "
            f"{c['primaries']}, chroma {c['chroma_location']}  (from {data.get('color_from')})")


def _kv_table(title: str, rows: list[tuple[str, str]]) -> Table:
    t = Table(title=title, show_header=False, title_justify="left")
    t.add_column("field", style="bold")
    t.add_column("value", overflow="fold")
    for k, v in rows:
        t.add_row(k, v)
    return t


def _dump_table(d: dict[str, Any]) -> list[Table]:
    h = d["header"]
    head = (f"DMP0, transform {h['transform']} ({h['transform_name']}), transfer "
            f"{h['transfer']} ({h['transfer_name']})" if h["magic"] else "none (legacy)")
    ratio = d["compression_ratio"]
    rows = [
        ("size", f"{d['width']}x{d['height']} {d['layout'] or '(unsupported layout)'}"
         + (" + alpha" if d["alpha"] else "")),
        ("bit depth", str(d["depth"])),
        ("header", head),
        ("colour", _color_text(d)),
        ("file size", f"{_size(d['file_size'])} ({d['file_size']} bytes)"),
        ("raw size", _size(d["raw_bytes"])),
        ("ratio", f"{ratio:.2f}:1" if ratio else "-"),
    ]
    planes = Table(title="planes", title_justify="left")
    for col in ("#", "size", "depth", "compression", "stored", "raw", "ratio"):
        planes.add_column(col, justify="right" if col not in ("compression",) else "left")
    for p in d["planes"]:
        r = p["raw_bytes"] / p["payload_bytes"] if p["payload_bytes"] else 0
        planes.add_row(str(p["index"]), f"{p['width']}x{p['height']}", str(p["depth"]),
                       p["compression"], _size(p["payload_bytes"]), _size(p["raw_bytes"]),
                       f"{r:.2f}:1")
    return [_kv_table(d["path"], rows), planes]


def _folder_table(d: dict[str, Any]) -> list[Table]:
    ratio = d.get("compression_ratio")
    rows = [
        ("frames", f"{d['frames']}" + (f" ({d['readable']} readable)"
                                       if d["readable"] != d["frames"] else "")),
        ("size", f"{d.get('width')}x{d.get('height')} {d.get('layout')}"
         + (" + alpha" if d.get("alpha") else "")),
        ("format", d.get("format", "-")),
        ("bit depths", ", ".join(map(str, d["depths"])) or "-"),
        ("compression", ", ".join(f"{k} ({v} planes)" for k, v in d["compressions"].items())
         or "-"),
        ("colour", _color_text(d)),
        ("total size", f"{_size(d['total_bytes'])} ({d['total_bytes']} bytes)"),
        ("raw size", _size(d["raw_bytes"])),
        ("ratio", f"{ratio:.2f}:1" if ratio else "-"),
        ("scene.json", ("yes" if d.get("complete", True) else
                        "INCOMPLETE: an interrupted dump, run it again") if d["manifest"]
         else "no"),
    ]
    if d["manifest"]:
        rows += [("source", str(d.get("source"))), ("frame rate", str(d.get("frame_rate")))]
        if d.get("missing"):
            rows.append(("listed, missing", ", ".join(d["missing"][:10])
                         + (" ..." if len(d["missing"]) > 10 else "")))
        if d.get("unlisted"):
            rows.append(("not in scene.json", ", ".join(d["unlisted"][:10])
                         + (" ..." if len(d["unlisted"]) > 10 else "")))
    tables = [_kv_table(d["path"], rows)]
    if d["inconsistent"]:
        t = Table(title=f"{len(d['inconsistent'])} inconsistent files", title_justify="left")
        t.add_column("file")
        t.add_column("problem", overflow="fold")
        for b in d["inconsistent"]:
            t.add_row(b["file"], b["reason"])
        tables.append(t)
    return tables


def _png_info(args: argparse.Namespace, ui: UI, path: Path) -> int:
    from overmix.io.sources import open_source

    with open_source(path) as src:
        data = {"kind": "png", **src.info}
    if args.json:
        ui.print_json(data)
    else:
        ui.out.print(_kv_table(str(path), [
            ("frames", str(data.get("frames"))),
            ("size", f"{data.get('width')}x{data.get('height')} {data.get('layout')}"),
            ("colour", _color_text({"color": data.get("color"), "color_from": "file"})),
        ]))
    return 0

"""``overmix info INPUT [--json]``: what a dump, a dump folder, a PNG or a video holds.

The description is :func:`overmix.commands.info.describe`; this module prints it as tables:
dump files and folders (totals, inconsistent files), PNGs, and videos (container, codec,
pixel format, size, SAR, frame rate and film rate after telecine, exact frame count,
duration, colour tags and what is assumed, field order, the telecine decision of ``--ivtc
auto``; ``--scenes`` adds the scene cuts).
"""

from __future__ import annotations

import argparse
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from overmix.cli._parser import add_command
from overmix.cli._ui import UI, new_table
from overmix.commands.options import check_namespace

if TYPE_CHECKING:
    from rich.table import Table


def register(subparsers: Any) -> None:
    add_command(
        subparsers, "info", run, help="describe a video, dump, dump folder or PNG",
        description="Show sizes, planes, bit depth, compression and colour of a dump file or a "
                    "folder of dumps (totals and inconsistent files), or the streams of a "
                    "video.",
        input_help="video file, dump file, dump folder or PNG")


def run(args: argparse.Namespace, ui: UI) -> int:
    # lazy: describing a video loads PyAV and the decoder, which other commands skip
    from overmix.commands.info import describe

    o = check_namespace(args, "info")
    with ui.progress() as progress:
        data = describe(args.input, verify=o["verify"], scenes=o["scenes"], stream=o["stream"],
                        progress=progress)
    if o["json"]:
        ui.print_json(data)
    else:
        tables = {"dump": _dump_table, "dump-folder": _folder_table, "png": _png_table,
                  "video": _video_tables}[data["kind"]]
        for t in tables(data):
            ui.out.print(t)
        if data.get("lost_frames") and data["kind"] == "video":
            ui.warn(f"{data['lost_frames']} frames could not be decoded")
    if not data.get("complete", True):
        ui.warn(f"{args.input} holds an interrupted dump (scene.json is marked incomplete); "
                "run the dump again to replace it")
    return 0


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
    t = new_table(title=title, show_header=False, title_justify="left")
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
    planes = new_table(title="planes", title_justify="left")
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
        t = new_table(title=f"{len(d['inconsistent'])} inconsistent files", title_justify="left")
        t.add_column("file")
        t.add_column("problem", overflow="fold")
        for b in d["inconsistent"]:
            t.add_row(b["file"], b["reason"])
        tables.append(t)
    return tables


def _png_table(data: dict[str, Any]) -> list[Table]:
    return [_kv_table(str(data.get("path")), [
        ("frames", str(data.get("frames"))),
        ("size", f"{data.get('width')}x{data.get('height')} {data.get('layout')}"),
        ("colour", _color_text({"color": data.get("color"), "color_from": "file"})),
    ])]


def _video_tables(data: dict[str, Any]) -> list[Table]:
    table = new_table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for label, value in video_rows(data):
        table.add_row(label, value)
    if "scenes" not in data:
        return [table]
    st = new_table(title=f"{len(data['scenes'])} scene(s)")
    for col in ("scene", "start", "end", "frames", "time"):
        st.add_column(col, justify="right")
    for s in data["scenes"]:
        st.add_row(str(s["scene"]), str(s["start"]), str(s["end"]), str(s["frames"]),
                   _fmt_time(s["start_time"]))
    return [table, st]


def _fmt_time(t: float | None) -> str:
    if t is None:
        return "?"
    m, s = divmod(float(t), 60.0)
    h, m = divmod(int(m), 60)
    return f"{h:02d}:{m:02d}:{s:06.3f}"


def _rate(text: str | None) -> str | None:
    return None if not text else f"{float(Fraction(text)):.3f} fps ({Fraction(text)})"


def video_rows(data: dict[str, Any]) -> list[tuple[str, str]]:
    """``(label, value)`` rows of a video's description (:func:`describe_video`'s JSON, or
    ``VideoInfo.to_json()``); with the IVTC decision when the description has one."""
    c, guessed = data["color"], data.get("color_guessed", {})

    def tag(name: str, value: str) -> str:
        return value + (" (assumed)" if guessed.get(name) else "")

    tags = ", ".join(f"{k}={v}" for k, v in data["tags"].items() if v is not None)
    rate, film = _rate(data["frame_rate"]), _rate(data.get("film_rate"))
    sar = data.get("sar")
    rows = [
        ("file", data["path"]), ("container", data["container"]), ("stream", str(data["stream"])),
        ("codec", data["codec"] + (f" ({data['profile']})" if data.get("profile") else "")),
        ("pixel format", f"{data['pix_fmt']} ({data['layout']}, {c['bit_depth']}-bit)"),
        ("size", f"{data['width']}x{data['height']}"),
        ("SAR", sar.replace("/", ":") if sar else "1:1 (unset)"),
        ("frame rate", rate or "unknown"),
    ]
    iv = data.get("ivtc") or {}
    if iv.get("mode") == "hard" and data.get("delivered_rate"):
        rows.append(("film rate", f"{_rate(data['delivered_rate'])} after IVTC, about "
                                  f"{data['frame_count'] * 4 // 5} frames"))
    if film and data.get("film_rate") != data["frame_rate"]:
        rows.append(("film rate", film))
    duration = data.get("duration")
    rows += [
        ("frames", f"{data['frame_count']}"
         + (" (estimated)" if data.get("frame_count_estimated") else "")),
        ("duration", f"{duration:.3f} s" if duration is not None else "unknown"),
        ("colour tags", tags or "none"),
        ("matrix", tag("matrix", c["matrix"].upper())),
        ("range", tag("range", c["range"])),
        ("transfer", tag("transfer", c["transfer"].upper())),
        ("primaries", tag("primaries", c["primaries"].upper())),
        ("chroma location", tag("chroma_location", c["chroma_location"])),
        ("field order", data["field_order"] + (" (interlaced)" if data.get("interlaced")
                                               else "")),
        ("telecine", _telecine(data, iv)),
    ]
    return rows


def _telecine(data: dict[str, Any], iv: dict[str, Any]) -> str:
    rate = data.get("delivered_rate")
    if iv.get("mode") == "hard":
        return f"hard telecine: {iv.get('pattern') or '3:2'} (IVTC on, {rate} fps)"
    if iv.get("mode") == "soft":
        return (f"soft telecine: {iv.get('pattern') or '3:2'} (coded frames passed through "
                f"at {rate} fps)")
    value = str((data.get("telecine") or {}).get("guess", "none"))
    return f"{value} ({iv['reason']})" if iv.get("reason") else value

"""``overmix info VIDEO``: the video part of the ``info`` command (called by ``cli/info.py``).

Shows container, codec, profile, pixel format, size, SAR, frame rate (film rate after soft
telecine), exact frame count, duration, colour tags and what will be assumed, field order and
the telecine decision of ``--ivtc auto``; ``--scenes`` adds the scene cuts.
"""

from __future__ import annotations

import argparse
from fractions import Fraction
from typing import Any

from rich.table import Table

from overmix.cli._ui import UI


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Video options of ``overmix info`` (``--json`` is added by ``info.py``)."""
    parser.add_argument("--scenes", action="store_true",
                        help="videos: list scene cuts (decodes the whole stream)")
    parser.add_argument("--stream", type=int, metavar="N", default=None,
                        help="videos: video stream (0-based among video streams)")


def video_info(path: str, *, stream: int | None = None, scenes: bool = False,
               progress: Any = None) -> dict[str, Any]:
    """The JSON description of a video (probe + IVTC decision + optional scenes)."""
    from overmix.video import open_video
    from overmix.video.scenes import detect_cuts, scenes_from_cuts

    src = open_video(path, stream=stream, ivtc="auto", progress=progress)
    data = src.video.to_json()
    data["ivtc"] = src.ivtc_decision
    iv = src.ivtc_decision
    if iv.get("mode") == "hard":
        data["telecine"] = {**data.get("telecine", {}), "guess": "hard",
                            "pattern": iv.get("pattern"),
                            "film_rate": None if src.rate is None else str(src.rate)}
    data["delivered_rate"] = None if src.rate is None else str(src.rate)
    data["assumed_color"] = src.color.to_json()
    if scenes:
        cuts, n = detect_cuts(src)
        end_time = data.get("duration")
        sc = scenes_from_cuts(cuts, n, end_time=end_time)
        data["scenes"] = [s.to_json() for s in sc]
        data["cuts"] = [c.to_json() for c in cuts]
        if src.info.get("lost_frames"):
            data["lost_frames"] = src.info["lost_frames"]
    return data


def _fmt_time(t: float | None) -> str:
    if t is None:
        return "?"
    m, s = divmod(float(t), 60.0)
    h, m = divmod(int(m), 60)
    return f"{h:02d}:{m:02d}:{s:06.3f}"


def run_video_info(args: argparse.Namespace, ui: UI) -> int:
    """Print the description of ``args.input`` (a video); returns the exit status."""
    from overmix.video import probe

    path = args.input
    stream = getattr(args, "stream", None)
    want_scenes = bool(getattr(args, "scenes", False))
    with ui.progress() as progress:
        data = video_info(path, stream=stream, scenes=want_scenes, progress=progress)
    if getattr(args, "json", False):
        ui.print_json(data)
        return 0
    vinfo = probe(path, stream)
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    rows = vinfo.rows()
    iv = data.get("ivtc") or {}
    tele = {"hard": f"hard telecine: {iv.get('pattern') or '3:2'} (IVTC on, "
                    f"{data.get('delivered_rate')} fps)",
            "soft": f"soft telecine: {iv.get('pattern') or '3:2'} (coded frames passed "
                    f"through at {data.get('delivered_rate')} fps)"}.get(iv.get("mode", ""))
    if iv.get("mode") == "hard" and data.get("delivered_rate"):
        rate = Fraction(data["delivered_rate"])
        at = next(i for i, r in enumerate(rows) if r[0] == "frame rate") + 1
        rows.insert(at, ("film rate", f"{float(rate):.3f} fps ({rate}) after IVTC, about "
                                      f"{vinfo.frame_count * 4 // 5} frames"))
    for label, value in rows:
        if label == "telecine" and tele:
            value = tele
        elif label == "telecine":
            value = f"{value} ({iv.get('reason', '')})" if iv.get("reason") else value
        table.add_row(label, value)
    ui.out.print(table)
    if want_scenes:
        st = Table(title=f"{len(data['scenes'])} scene(s)")
        for col in ("scene", "start", "end", "frames", "time"):
            st.add_column(col, justify="right")
        for s in data["scenes"]:
            st.add_row(str(s["scene"]), str(s["start"]), str(s["end"]), str(s["frames"]),
                       _fmt_time(s["start_time"]))
        ui.out.print(st)
        if data.get("lost_frames"):
            ui.warn(f"{data['lost_frames']} frames could not be decoded")
    return 0

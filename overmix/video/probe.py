"""Probing a video stream: container, codec, pixel format, size, rate, count, colour, telecine.

The colour tags of the first frame (or the codec context) go through
:func:`overmix.color.untagged.video_color`, which fills in what they leave out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from overmix.color.spec import ColorInfo
from overmix.color.untagged import video_color
from overmix.errors import InputError, UsageError
from overmix.frame import PlaneLayout
from overmix.video.index import PacketIndex, open_container, packet_index
from overmix.video.pixfmt import pix_spec

__all__ = ["VideoInfo", "cadence", "probe"]

# AVFieldOrder: 0 unknown, 1 progressive, 2 TT, 3 BB, 4 TB, 5 BT.
_FIELD_ORDER = {0: "unknown", 1: "progressive", 2: "tff", 3: "bff", 4: "tff", 5: "bff"}


@dataclass
class VideoInfo:
    """What ``overmix info VIDEO`` shows (see :meth:`rows` and :meth:`to_json`)."""

    path: str
    container: str
    stream: int
    codec: str
    profile: str | None
    pix_fmt: str
    width: int
    height: int
    sar: Fraction | None
    rate: Fraction | None  # coded frame rate (stream)
    film_rate: Fraction | None  # after soft telecine / IVTC, what frames are delivered at
    frame_count: int
    count_estimated: bool
    duration: float | None
    time_base: Fraction
    start_pts: int | None
    tags: dict[str, int | None]
    color: ColorInfo
    guessed: dict[str, bool]
    layout: PlaneLayout
    field_order: str
    interlaced: bool
    telecine: dict[str, Any] = field(default_factory=dict)
    streams: list[dict[str, Any]] = field(default_factory=list)
    stream_index: int = 0  # index of the stream in the container (all stream types)
    header_frames: int = 0  # frame count the container header states (0 = not stated)
    header_seconds: float | None = None  # the stream's own duration from the header

    def to_json(self) -> dict[str, Any]:
        def frac(f: Fraction | None) -> str | None:
            return None if f is None else f"{f.numerator}/{f.denominator}"

        return {
            "kind": "video",
            "path": self.path,
            "container": self.container,
            "stream": self.stream,
            "codec": self.codec,
            "profile": self.profile,
            "pix_fmt": self.pix_fmt,
            "width": self.width,
            "height": self.height,
            "sar": frac(self.sar),
            "frame_rate": frac(self.rate),
            "frame_rate_fps": None if self.rate is None else float(self.rate),
            "film_rate": frac(self.film_rate),
            "frame_count": self.frame_count,
            "frames": self.frame_count,
            "frame_count_estimated": self.count_estimated,
            "fps": None if self.film_rate is None else float(self.film_rate),
            "depth": self.color.bit_depth,
            "duration": self.duration,
            "time_base": frac(self.time_base),
            "layout": self.layout.name,
            "tags": self.tags,
            "color": self.color.to_json(),
            "color_guessed": self.guessed,
            "field_order": self.field_order,
            "interlaced": self.interlaced,
            "telecine": self.telecine,
            "streams": self.streams,
        }


def _pick_stream(c: av.container.InputContainer, path: Path, stream: int | None) -> Any:
    videos = list(c.streams.video)
    if not videos:
        raise InputError(f"{path} has no video stream")
    if stream is None:
        # the first non-attached-picture video stream (cover art in MKV/MP4 is a video stream)
        for s in videos:
            if not (int(s.disposition) & 0x400):  # AV_DISPOSITION_ATTACHED_PIC
                return s
        raise InputError(f"{path} has no video stream (only attached cover art)")
    if 0 <= stream < len(videos):
        return videos[stream]
    raise UsageError(f"--stream {stream}: {path} has {len(videos)} video stream(s) (0-based)")


def _frac(x: Any) -> Fraction | None:
    if x is None:
        return None
    try:
        f = Fraction(x)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return f if f > 0 else None


def _snap_rate(rate: float) -> Fraction:
    """The common rate nearest to ``rate`` (within 0.2 %), else a rounded fraction."""
    for r in (Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001),
              Fraction(30), Fraction(50), Fraction(60000, 1001), Fraction(60), Fraction(12),
              Fraction(15), Fraction(48), Fraction(120)):
        if abs(float(r) - rate) / float(r) < 0.002:
            return r
    return Fraction(rate).limit_denominator(1001)


def cadence(index: PacketIndex, time_base: Fraction, coded_rate: Fraction | None
            ) -> dict[str, Any]:
    """Soft-telecine detection from the pts steps of the first ~200 frames.

    Repeat-field flags make display durations alternate between 2 and 3 fields (e.g. 3003 and
    4504 ticks at 90 kHz for 29.97i fields), averaging 2.5 fields per frame: film at 4/5 of
    the field-pair rate. Returns ``{"soft": bool, "film_rate": Fraction|None, "steps": [...]}``.
    """
    pts = np.asarray(index.pts[:200], dtype=np.int64)
    out: dict[str, Any] = {"soft": False, "film_rate": None, "steps": []}
    if pts.size < 6:
        return out
    steps = np.diff(pts)
    steps = steps[steps > 0]
    if steps.size < 5:
        return out
    mean = float(steps.mean())
    mean_rate = 1.0 / (mean * float(time_base))
    lo, hi = float(np.min(steps)), float(np.max(steps))
    vals = sorted({int(s) for s in steps})
    out["steps"] = vals[:6]
    # two step sizes in ratio ~3:2 (allow rounding of odd ticks)
    two_sizes = hi > lo * 1.3 and np.all((np.abs(steps - lo) <= 2) | (np.abs(steps - hi) <= 2))
    ratio_ok = abs(hi / lo - 1.5) < 0.05 if lo > 0 else False
    snapped = _snap_rate(mean_rate)
    fewer = coded_rate is not None and abs(float(snapped) / float(coded_rate) - 0.8) < 0.01
    # Steps of 2.5 fields each (pts rounded per frame to 3754/3753) with a 30000/1001 coded
    # rate also mean soft telecine.
    if two_sizes and ratio_ok:
        # one 2:3 cycle = a short and a long step, whatever the number of steps seen
        lo_mean = float(steps[steps < (lo + hi) / 2].mean())
        hi_mean = float(steps[steps >= (lo + hi) / 2].mean())
        out["soft"] = True
        out["film_rate"] = _snap_rate(2.0 / ((lo_mean + hi_mean) * float(time_base)))
    elif fewer:
        out["soft"] = True
        out["film_rate"] = snapped
    return out


def probe(path: str | Path, stream: int | None = None) -> VideoInfo:
    """Describe a video stream: container, codec, format, size, rate, count, colour, telecine.

    Decodes the first frame (for the pixel format and colour tags) and demuxes every packet
    once for the exact frame count (cached for later seeking).

    Raises
    ------
    InputError : not a video / no video stream / nothing decodable.
    UnsupportedError : a pixel format the toolkit does not read.
    """
    p = Path(path)
    with open_container(p) as c:
        s = _pick_stream(c, p, stream)
        s.thread_type = "AUTO"
        cc = s.codec_context
        first = _first_frame(c, s, p)
        spec = pix_spec(first.format.name)
        tags = _color_tags(first, cc)
        codec = cc.name
        color, guessed = video_color(tags, spec.layout.family.value, spec.depth, first.width,
                                     first.height, codec, spec.full_range)
        fo = _FIELD_ORDER.get(int(cc.field_order or 0), "unknown")
        interlaced = bool(first.interlaced_frame)
        if fo in ("unknown", "progressive") and interlaced:
            fo = "tff" if getattr(first, "top_field_first", True) else "bff"
        profile = cc.profile if isinstance(cc.profile, str) else None
        tb = Fraction(s.time_base) if s.time_base else Fraction(1, 90000)
        vids = list(c.streams.video)
        streams = [{"index": i, "codec": v.codec_context.name,
                    "size": f"{v.codec_context.width}x{v.codec_context.height}"}
                   for i, v in enumerate(vids)]
        sub_index = vids.index(s)
        stream_index = int(s.index)
        container_name = c.format.name
        header_frames = int(s.frames or 0)
        header_seconds = _tag_seconds(s.metadata.get("DURATION") or s.metadata.get("duration"))
        avg_rate = _frac(s.average_rate)
        base_rate = _frac(s.base_rate) or _frac(s.guessed_rate)
        coded_rate = _frac(cc.framerate) or base_rate or avg_rate
        cdur = float(c.duration) / av.time_base if c.duration else None
        sdur = float(s.duration * tb) if s.duration else None
        sar = _frac(s.sample_aspect_ratio) or _frac(cc.sample_aspect_ratio)
    idx = packet_index(p, stream_index)
    count, estimated = idx.count, False
    if count == 0:
        dur = sdur or cdur
        rate0 = avg_rate or coded_rate
        count = header_frames or (round(dur * float(rate0)) if dur and rate0 else 0)
        estimated = True
    rate, film, telecine = _telecine(cadence(idx, tb, coded_rate), avg_rate or coded_rate,
                                     coded_rate, fo in ("tff", "bff") or interlaced)
    return VideoInfo(
        path=str(p), container=container_name, stream=sub_index, codec=codec, profile=profile,
        pix_fmt=spec.name, width=int(first.width), height=int(first.height), sar=sar,
        rate=rate, film_rate=film, frame_count=int(count), count_estimated=estimated,
        duration=_duration(idx, tb, sdur or cdur), time_base=tb,
        start_pts=idx.pts[0] if idx.pts else None, tags=tags, color=color,
        guessed=guessed, layout=spec.layout, field_order=fo, interlaced=interlaced,
        telecine=telecine, streams=streams, stream_index=stream_index,
        header_frames=header_frames, header_seconds=sdur or header_seconds,
    )


def _first_frame(c: av.container.InputContainer, s: Any, p: Path) -> av.VideoFrame:
    """The first decodable frame of stream ``s`` (for the pixel format and colour tags)."""
    first = None
    try:
        for fr in c.decode(s):
            first = fr
            break
    except (av.error.FFmpegError, OSError):
        first = None
    if first is None:
        raise InputError(f"{p}: no frame of video stream {s.index} could be decoded")
    return first


def _color_tags(fr: av.VideoFrame, cc: Any) -> dict[str, int | None]:
    """The FFmpeg colour codes of a frame, else of the codec context when the frame has none."""
    tags = {
        "colorspace": int(fr.colorspace),
        "color_range": int(fr.color_range),
        "color_trc": int(fr.color_trc),
        "color_primaries": int(fr.color_primaries),
        "chroma_location": None,  # not exposed by PyAV 18
    }
    if not any(v for k, v in tags.items() if k != "chroma_location"):
        tags = {"colorspace": int(cc.colorspace), "color_range": int(cc.color_range),
                "color_trc": int(cc.color_trc), "color_primaries": int(cc.color_primaries),
                "chroma_location": None}
    return tags


def _duration(idx: PacketIndex, tb: Fraction, header: float | None) -> float | None:
    """Seconds from the first pts to the end of the last packet, else the header's duration."""
    if len(idx.pts) >= 2:
        duration = float((idx.pts[-1] - idx.pts[0] + (idx.durations[-1] or 0)) * tb)
        return duration if duration > 0 else header
    return header


def _telecine(cad: dict[str, Any], rate: Fraction | None, coded_rate: Fraction | None,
              interlaced: bool) -> tuple[Fraction | None, Fraction | None, dict[str, Any]]:
    """``(rate, film_rate, telecine)`` from the pts cadence (:func:`cadence`)."""
    film = rate
    telecine: dict[str, Any] = {"guess": "none"}
    if cad["soft"]:
        film = cad["film_rate"]
        telecine = {"guess": "soft", "film_rate": f"{film.numerator}/{film.denominator}",
                    "coded_rate": None if coded_rate is None else str(coded_rate),
                    "pts_steps": cad["steps"]}
        rate = coded_rate if coded_rate and coded_rate != film else rate
    elif interlaced:
        telecine = {"guess": "interlaced (run `--ivtc auto` to check for hard telecine)"}
    return rate, film, telecine


def _tag_seconds(text: str | None) -> float | None:
    """``"00:01:02.500000000"`` (Matroska DURATION tag) in seconds."""
    if not text:
        return None
    try:
        parts = [float(x) for x in str(text).split(":")]
    except ValueError:
        return None
    sec = 0.0
    for x in parts:
        sec = sec * 60 + x
    return sec

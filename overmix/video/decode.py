"""Video decoding with PyAV: probing, raw planes at native depth, frame-accurate ranges.

Conventions
-----------
- Frames are numbered 0, 1, ... in presentation (display) order over the whole stream; after
  IVTC/dedup (when on) the numbering is that of the frames those steps deliver.
- ``Frame.time`` is seconds since the first frame of the stream (``(pts - pts_0) * time_base``),
  so a clip that starts at pts 1.4 s in a TS file still starts at time 0.
- Planes are copied out of the decoder's buffers with ``np.from_dlpack`` (no colour or depth
  conversion: codes as decoded; MSB-aligned semi-planar formats such as p010 are shifted down to
  their real depth, big-endian ones byte-swapped, gbrp reordered to R, G, B).

Frame-accurate seeking
----------------------
The presentation timestamps of every packet are read once per file (demuxing only, no decoding)
and cached in memory. To start at frame ``k`` the reader seeks backwards to a keyframe at or
before ``pts[k]`` (earlier still for MPEG-TS/PS and MPEG-1/2, whose open GOPs and imprecise
seeking need a margin), decodes forward and drops frames until ``pts[k]``. If the first frame
delivered is not the one asked for, it retries further back and finally decodes from the start.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from overmix.color.spec import (
    ChromaLocation,
    ColorInfo,
    Matrix,
    Primaries,
    Range,
    Transfer,
)
from overmix.errors import InputError, RangeError, UnsupportedError, UsageError
from overmix.frame import Family, Frame, PlaneLayout
from overmix.progress import ProgressCallback, no_progress
from overmix.ranges import FrameRange, Position

__all__ = [
    "PixSpec",
    "VideoInfo",
    "VideoSource",
    "open_video",
    "pix_spec",
    "probe",
]

# Containers and codecs whose seeking needs a margin (imprecise timestamps / open GOPs).
_LOOSE_CONTAINERS = {"mpegts", "mpeg", "mpegvideo", "vob", "mpegtsraw", "m2v"}
_LOOSE_CODECS = {"mpeg1video", "mpeg2video", "mpegvideo"}

# AVFieldOrder: 0 unknown, 1 progressive, 2 TT, 3 BB, 4 TB, 5 BT.
_FIELD_ORDER = {0: "unknown", 1: "progressive", 2: "tff", 3: "bff", 4: "tff", 5: "bff"}


# --------------------------------------------------------------------------------------------
# pixel formats


@dataclass(frozen=True)
class PixSpec:
    """How to read the planes of one pixel format.

    Attributes
    ----------
    name : FFmpeg pix_fmt name.
    layout : PlaneLayout of the frames produced.
    depth : bits per sample.
    sources : per output plane ``(av plane index, channel or None)``; channel indexes the
        interleaved pairs of semi-planar chroma (nv12: plane 1 channel 0 = Cb, 1 = Cr).
    alpha : av plane index of alpha, or None.
    big_endian : samples stored big-endian.
    shift : right shift to undo MSB alignment (p010: 6).
    full_range : the format itself implies full range (yuvj*).
    """

    name: str
    layout: PlaneLayout
    depth: int
    sources: tuple[tuple[int, int | None], ...]
    alpha: int | None = None
    big_endian: bool = False
    shift: int = 0
    full_range: bool = False

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(np.uint8 if self.depth <= 8 else np.uint16)


_SPEC_CACHE: dict[str, PixSpec] = {}


def pix_spec(name: str) -> PixSpec:
    """The :class:`PixSpec` of an FFmpeg pixel format; raises UnsupportedError for others.

    Supported: planar Y'CbCr (yuv/yuvj 4:1:0-4:4:4, 8-16 bit, le/be, with optional alpha),
    semi-planar nv12/nv21/nv16/nv24/nv42 and p010/p012/p016/p210/p216/p410/p416, gray/gray10/
    gray12/gray16, planar RGB gbrp* (reordered to R, G, B).
    """
    if name in _SPEC_CACHE:
        return _SPEC_CACHE[name]
    try:
        fmt = av.VideoFormat(name, 64, 64)
    except (ValueError, av.error.FFmpegError):
        raise UnsupportedError(f"unknown pixel format {name!r}") from None
    comps = list(fmt.components)
    bad = ("bayer", "xyz", "pal8", "f16", "f32", "vaapi", "cuda", "qsv", "videotoolbox", "d3d")
    if any(b in name for b in bad) or not comps:
        raise UnsupportedError(f"pixel format {name} is not supported")
    bits = {c.bits for c in comps}
    if len(bits) != 1 or max(bits) > 16:
        raise UnsupportedError(f"pixel format {name} is not supported (mixed or >16-bit samples)")
    depth = bits.pop()
    colour = [c for c in comps if not c.is_alpha]
    alpha_c = [c for c in comps if c.is_alpha]
    planes_used = [c.plane for c in comps]
    alpha = alpha_c[0].plane if alpha_c else None
    if alpha is not None and planes_used.count(alpha) > 1:
        raise UnsupportedError(f"packed pixel format {name} is not supported")
    be = bool(fmt.is_big_endian)
    if fmt.is_rgb:
        # Planar RGB: one component per plane; components come in R, G, B order.
        if len({c.plane for c in colour}) != 3 or len(colour) != 3:
            raise UnsupportedError(f"packed RGB pixel format {name} is not supported")
        spec = PixSpec(name, PlaneLayout(Family.RGB, 1, 1), depth,
                       tuple((c.plane, None) for c in colour), alpha, be)
    elif len(colour) == 1:
        spec = PixSpec(name, PlaneLayout(Family.GRAY, 1, 1), depth, ((colour[0].plane, None),),
                       alpha, be)
    elif len(colour) == 3:
        y, cb, cr = colour
        sub_x = max(1, round(64 / cb.width))
        sub_y = max(1, round(64 / cb.height))
        layout = PlaneLayout(Family.YCBCR, sub_x, sub_y)
        if y.plane == cb.plane:
            raise UnsupportedError(f"packed pixel format {name} is not supported")
        if cb.plane == cr.plane:  # semi-planar: interleaved chroma pairs
            order = (1, 0) if name.startswith(("nv21", "nv42", "nv61")) else (0, 1)
            shift = 16 - depth if depth > 8 and name[0] == "p" else 0
            spec = PixSpec(name, layout, depth, ((y.plane, None), (cb.plane, order[0]),
                                                 (cr.plane, order[1])), alpha, be, shift)
        else:
            spec = PixSpec(name, layout, depth, ((y.plane, None), (cb.plane, None),
                                                 (cr.plane, None)), alpha, be,
                           full_range=name.startswith("yuvj"))
    else:
        raise UnsupportedError(f"pixel format {name} is not supported")
    if spec.depth > 8 and name.startswith(("yuv", "gbr", "gray")) and not name.endswith(
        ("le", "be")
    ):
        raise UnsupportedError(f"pixel format {name} is not supported")
    _SPEC_CACHE[name] = spec
    return spec


def _read_plane(plane: Any, dtype: np.dtype, big_endian: bool, channels: int) -> np.ndarray:
    """Copy one av plane out as (rows, cols[, channels]) of native-endian samples."""
    if not big_endian:
        return np.array(np.from_dlpack(plane))
    # DLPack refuses big-endian formats: go through the buffer with the line size.
    raw = np.frombuffer(plane, np.uint8)
    rows, ls = plane.height, plane.line_size
    bps = dtype.itemsize
    arr = raw[: rows * ls].reshape(rows, ls)[:, : plane.width * channels * bps]
    arr = arr.copy().view(dtype.newbyteorder(">")).astype(dtype)
    return arr.reshape(rows, plane.width, channels) if channels > 1 else arr


def frame_planes(avframe: av.VideoFrame, spec: PixSpec) -> tuple[tuple[np.ndarray, ...],
                                                                 np.ndarray | None]:
    """The planes (in Y, Cb, Cr / R, G, B order) and alpha of a decoded frame, as codes."""
    cache: dict[int, np.ndarray] = {}
    out = []
    for pidx, ch in spec.sources:
        if pidx not in cache:
            cache[pidx] = _read_plane(avframe.planes[pidx], spec.dtype, spec.big_endian,
                                      1 if ch is None else 2)
        a = cache[pidx]
        if ch is not None:
            a = np.ascontiguousarray(a[:, :, ch])
        if spec.shift:
            a = a >> spec.shift
        out.append(a)
    alpha = None
    if spec.alpha is not None:
        alpha = _read_plane(avframe.planes[spec.alpha], spec.dtype, spec.big_endian, 1)
    return tuple(out), alpha


# --------------------------------------------------------------------------------------------
# colour


def _enum_or_none(enum: type, value: Any, unspecified: set[int]) -> Any:
    try:
        v = int(value)
    except (TypeError, ValueError):
        return None
    if v in unspecified:
        return None
    try:
        return enum(v)
    except ValueError:
        return None


def resolve_color(tags: dict[str, int | None], spec: PixSpec, width: int, height: int,
                  codec: str = "") -> tuple[ColorInfo, dict[str, bool]]:
    """The colour to assume from FFmpeg tags (DESIGN §4 untagged rules).

    Parameters
    ----------
    tags : FFmpeg codes ``colorspace``, ``color_range``, ``color_trc``, ``color_primaries``,
        ``chroma_location`` (``None`` or 0/2 = unspecified).
    Returns the ColorInfo and, per field, whether it was guessed (True) or tagged.
    """
    guess = ColorInfo.untagged(width, height, spec.depth)
    guessed: dict[str, bool] = {}
    fam = spec.layout.family
    if fam == Family.RGB:
        matrix, guessed["matrix"] = Matrix.RGB, False
    elif fam == Family.GRAY:
        matrix, guessed["matrix"] = Matrix.GRAY, False
    else:
        m = _enum_or_none(Matrix, tags.get("colorspace"), {0, 2, 3})
        guessed["matrix"] = m is None
        matrix = m if m is not None else guess.matrix
    r = Range.from_ffmpeg(tags.get("color_range") or 0)
    if r is None:
        r = Range.FULL if (spec.full_range or fam == Family.RGB or codec == "mjpeg") else (
            Range.LIMITED)
        guessed["range"] = not spec.full_range
    else:
        guessed["range"] = False
    t = _enum_or_none(Transfer, tags.get("color_trc"), {0, 2, 3})
    guessed["transfer"] = t is None
    if t is None:
        t = guess.transfer if matrix not in (Matrix.BT709, Matrix.BT2020_NCL) else (
            Transfer.BT709)
    p = _enum_or_none(Primaries, tags.get("color_primaries"), {0, 2, 3})
    guessed["primaries"] = p is None
    if p is None:
        p = guess.primaries if guessed["matrix"] else {
            Matrix.BT709: Primaries.BT709, Matrix.BT2020_NCL: Primaries.BT2020,
            Matrix.BT470BG: Primaries.BT470BG}.get(matrix, guess.primaries)
    loc = ChromaLocation.from_ffmpeg(tags.get("chroma_location") or 0)
    guessed["chroma_location"] = loc is None
    if loc is None:
        # H.264/H.265/MPEG-2 default is left; JPEG/MPEG-1 are centred.
        loc = ChromaLocation.CENTER if codec in ("mjpeg", "mpeg1video") else ChromaLocation.LEFT
    return ColorInfo(matrix, r, t, p, loc, spec.depth), guessed


def _frame_tags(fr: av.VideoFrame) -> dict[str, int | None]:
    return {
        "colorspace": int(fr.colorspace),
        "color_range": int(fr.color_range),
        "color_trc": int(fr.color_trc),
        "color_primaries": int(fr.color_primaries),
        "chroma_location": None,  # not exposed by PyAV 18
    }


# --------------------------------------------------------------------------------------------
# packet index


@dataclass
class PacketIndex:
    """Presentation timestamps of a stream, from demuxing packets once (no decoding).

    ``pts`` is sorted (display order); ``keyframes`` the pts of keyframe packets; ``usable``
    False when some packets had no pts (then seeking falls back to decoding from the start).
    """

    pts: list[int]
    keyframes: list[int]
    durations: list[int]
    usable: bool
    bad_packets: int = 0

    @property
    def count(self) -> int:
        return len(self.pts)


_INDEX_CACHE: dict[tuple[str, int, int, int], PacketIndex] = {}
_INDEX_LOCK = threading.Lock()


def packet_index(path: str | Path, stream_index: int) -> PacketIndex:
    """The (cached) :class:`PacketIndex` of stream ``stream_index`` of ``path``."""
    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), st.st_mtime_ns, st.st_size, stream_index)
    with _INDEX_LOCK:
        if key in _INDEX_CACHE:
            return _INDEX_CACHE[key]
    pts: list[int] = []
    keys: list[int] = []
    durs: list[int] = []
    missing = 0
    bad = 0
    with _open_container(p) as c:
        stream = c.streams[stream_index]
        it = c.demux(stream)
        while True:
            try:
                pkt = next(it)
            except StopIteration:
                break
            except (av.error.FFmpegError, OSError):
                bad += 1
                break
            if pkt.size == 0:
                continue
            if pkt.pts is None:
                missing += 1
                continue
            pts.append(int(pkt.pts))
            durs.append(int(pkt.duration or 0))
            if pkt.is_keyframe:
                keys.append(int(pkt.pts))
    order = np.argsort(np.asarray(pts, dtype=np.int64), kind="stable")
    spts = [pts[i] for i in order]
    sdur = [durs[i] for i in order]
    usable = missing == 0 and len(set(spts)) == len(spts)
    idx = PacketIndex(spts, sorted(keys), sdur, usable, bad)
    with _INDEX_LOCK:
        _INDEX_CACHE[key] = idx
    return idx


# --------------------------------------------------------------------------------------------
# probe


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

    def rows(self) -> list[tuple[str, str]]:
        """``(label, value)`` rows for a table."""
        def tag(name: str, value: str) -> str:
            return value + (" (assumed)" if self.guessed.get(name) else "")

        c = self.color
        tags = ", ".join(f"{k}={v}" for k, v in self.tags.items() if v is not None)
        rate = f"{float(self.rate):.3f} fps ({self.rate})" if self.rate else "unknown"
        film = (f"{float(self.film_rate):.3f} fps ({self.film_rate})"
                if self.film_rate and self.film_rate != self.rate else None)
        rows = [
            ("file", self.path),
            ("container", self.container),
            ("stream", str(self.stream)),
            ("codec", self.codec + (f" ({self.profile})" if self.profile else "")),
            ("pixel format", f"{self.pix_fmt} ({self.layout.name}, {c.bit_depth}-bit)"),
            ("size", f"{self.width}x{self.height}"),
            ("SAR", f"{self.sar.numerator}:{self.sar.denominator}" if self.sar else "1:1 (unset)"),
            ("frame rate", rate),
        ]
        if film:
            rows.append(("film rate", film))
        rows += [
            ("frames", f"{self.frame_count}" + (" (estimated)" if self.count_estimated else "")),
            ("duration", f"{self.duration:.3f} s" if self.duration is not None else "unknown"),
            ("colour tags", tags or "none"),
            ("matrix", tag("matrix", c.matrix.name)),
            ("range", tag("range", c.range.name.lower())),
            ("transfer", tag("transfer", c.transfer.name)),
            ("primaries", tag("primaries", c.primaries.name)),
            ("chroma location", tag("chroma_location", c.chroma_location.name.lower())),
            ("field order", self.field_order + (" (interlaced)" if self.interlaced else "")),
            ("telecine", str(self.telecine.get("guess", "none"))),
        ]
        return rows


def _open_container(path: Path) -> av.container.InputContainer:
    if not path.exists():
        raise InputError(f"no such file: {path}")
    if path.is_dir():
        raise InputError(f"{path} is a folder, not a video")
    try:
        return av.open(str(path), "r")
    except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not a video FFmpeg can read ({_why(exc)})") from None


def _why(exc: BaseException) -> str:
    return str(getattr(exc, "strerror", None) or exc).strip() or type(exc).__name__


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
    with _open_container(p) as c:
        s = _pick_stream(c, p, stream)
        s.thread_type = "AUTO"
        cc = s.codec_context
        first = None
        try:
            for fr in c.decode(s):
                first = fr
                break
        except (av.error.FFmpegError, OSError):
            first = None
        if first is None:
            raise InputError(f"{p}: no frame of video stream {s.index} could be decoded")
        spec = pix_spec(first.format.name)
        tags = _frame_tags(first)
        if not any(v for k, v in tags.items() if k != "chroma_location"):
            tags = {"colorspace": int(cc.colorspace), "color_range": int(cc.color_range),
                    "color_trc": int(cc.color_trc), "color_primaries": int(cc.color_primaries),
                    "chroma_location": None}
        codec = cc.name
        color, guessed = resolve_color(tags, spec, first.width, first.height, codec)
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
    count = idx.count
    estimated = False
    if count == 0:
        dur = sdur or cdur
        rate0 = avg_rate or coded_rate
        count = header_frames or (round(dur * float(rate0)) if dur and rate0 else 0)
        estimated = True
    start_pts = idx.pts[0] if idx.pts else None
    if idx.count >= 2:
        duration = float((idx.pts[-1] - idx.pts[0] + (idx.durations[-1] or 0)) * tb)
        if duration <= 0:
            duration = sdur or cdur
    else:
        duration = sdur or cdur
    cad = cadence(idx, tb, coded_rate)
    rate = avg_rate or coded_rate
    film = rate
    telecine: dict[str, Any] = {"guess": "none"}
    if cad["soft"]:
        film = cad["film_rate"]
        telecine = {"guess": "soft", "film_rate": f"{film.numerator}/{film.denominator}",
                    "coded_rate": None if coded_rate is None else str(coded_rate),
                    "pts_steps": cad["steps"]}
        rate = coded_rate if coded_rate and coded_rate != film else rate
    elif fo in ("tff", "bff") or interlaced:
        telecine = {"guess": "interlaced (run `--ivtc auto` to check for hard telecine)"}
    return VideoInfo(
        path=str(p), container=container_name, stream=sub_index, codec=codec, profile=profile,
        pix_fmt=spec.name, width=int(first.width), height=int(first.height), sar=sar,
        rate=rate, film_rate=film, frame_count=int(count), count_estimated=estimated,
        duration=duration, time_base=tb, start_pts=start_pts, tags=tags, color=color,
        guessed=guessed, layout=spec.layout, field_order=fo, interlaced=interlaced,
        telecine=telecine, streams=streams, stream_index=stream_index,
        header_frames=header_frames, header_seconds=sdur or header_seconds,
    )


# --------------------------------------------------------------------------------------------
# decoding


@dataclass
class RawFrame:
    """A decoded frame before IVTC/dedup: planes plus where it came from."""

    planes: tuple[np.ndarray, ...]
    alpha: np.ndarray | None
    pts: int | None
    key_frame: bool
    interlaced: bool
    ordinal: int  # 0-based display position in the stream
    fields: str | None = None


class _Decoder:
    """Decodes a stream with error accounting; drains the decoder at EOF."""

    def __init__(self, path: Path, stream_index: int, spec: PixSpec) -> None:
        self.path = path
        self.stream_index = stream_index
        self.spec = spec
        self.errors = 0
        self.truncated = False
        self.format_changes = 0

    def frames(self, seek_pts: int | None = None) -> Iterator[av.VideoFrame]:
        """Yield decoded av frames, optionally after a backward keyframe seek to ``seek_pts``."""
        c = _open_container(self.path)
        try:
            s = c.streams[self.stream_index]
            s.thread_type = "AUTO"
            if seek_pts is not None:
                try:
                    c.seek(int(seek_pts), stream=s, backward=True, any_frame=False)
                except (av.error.FFmpegError, OSError):
                    c.seek(0, backward=True)
            it = c.demux(s)
            while True:
                try:
                    pkt = next(it)
                except StopIteration:
                    break
                except (av.error.FFmpegError, OSError):
                    # Truncated or corrupt container: decode what we have, then drain.
                    self.truncated = True
                    self.errors += 1
                    try:
                        yield from s.codec_context.decode(None)
                    except (av.error.FFmpegError, OSError):
                        pass
                    break
                try:
                    decoded = pkt.decode()
                except (av.error.FFmpegError, OSError):
                    self.errors += 1
                    continue
                yield from decoded
        finally:
            c.close()


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


def _time_of(pts: int | None, start_pts: int | None, tb: Fraction) -> float | None:
    if pts is None or start_pts is None:
        return None
    return float((pts - start_pts) * tb)


class VideoSource:
    """Frames of one video stream, in display order (a :class:`~overmix.frame.FrameSource`).

    Built by :func:`open_video`. Iterating decodes; frames are not kept. ``info`` holds the
    probe, the range, and the IVTC/dedup decisions (filled in while iterating; complete once
    the iteration has finished).
    """

    kind = "video"

    def __init__(self, path: Path, vinfo: VideoInfo, stream_index: int, spec: PixSpec,
                 rng: FrameRange, ivtc: str, field_order: str | None, dedup: bool,
                 dedup_threshold: float | None, progress: ProgressCallback | None) -> None:
        self.path = path
        self.video = vinfo
        self.stream_index = stream_index
        self.spec = spec
        self.color = vinfo.color
        self.layout = spec.layout
        self.range_request = rng
        self.progress = progress or no_progress
        self.field_order = field_order or (vinfo.field_order
                                           if vinfo.field_order in ("tff", "bff") else None)
        self.dedup = dedup
        self.dedup_threshold = dedup_threshold
        self._index = packet_index(path, stream_index)
        self.ivtc_decision = self._decide_ivtc(ivtc)
        soft = vinfo.telecine.get("guess") == "soft"
        self.rate: Fraction | None = vinfo.film_rate if soft else vinfo.rate
        if self.ivtc_decision.get("mode") == "hard" and vinfo.rate:
            self.rate = vinfo.rate * Fraction(4, 5)
        self.selection: range | None = None
        self.count: int | None = None
        if not self._reindexing:
            self.selection = self._resolve(rng, vinfo.frame_count)
            self.count = len(self.selection)
        self.info: dict[str, Any] = {
            "source": str(path),
            "stream": vinfo.stream,
            "video": vinfo.to_json(),
            "range": {"start": None if rng.start is None else str(rng.start),
                      "end": None if rng.end is None else str(rng.end),
                      "frames": rng.frames},
            "ivtc": self.ivtc_decision,
        }
        if self.selection is not None:
            self.info["range"].update(first=self.selection.start, last=self.selection.stop - 1)
        self._closed = False

    # -- decisions ------------------------------------------------------------------------

    @property
    def _reindexing(self) -> bool:
        """True when IVTC or dedup change the numbering (ranges then need a linear pass)."""
        return self.ivtc_decision.get("mode") == "hard" or self.dedup

    def _decide_ivtc(self, mode: str) -> dict[str, Any]:
        mode = (mode or "auto").lower()
        if mode not in ("auto", "on", "off"):
            raise UsageError(f"--ivtc must be auto, on or off, not {mode!r}")
        soft = self.video.telecine.get("guess") == "soft"
        if mode == "off":
            return {"requested": "off", "mode": "off",
                    "reason": "turned off" + ("; soft telecine passed through" if soft else "")}
        if soft:
            return {"requested": mode, "mode": "soft",
                    "reason": "repeat-field cadence in the timestamps: coded progressive "
                              "frames passed through", "film_rate": self.video.telecine.get(
                                  "film_rate"), "pattern": "soft 3:2 (pts steps "
                    f"{self.video.telecine.get('pts_steps')})"}
        if mode == "on":
            return {"requested": "on", "mode": "hard", "reason": "forced on",
                    "field_order": self.field_order or "tff"}
        if self.video.field_order == "progressive" and not self.video.interlaced:
            # Hard telecine is coded as interlaced pictures; a stream that declares itself
            # progressive is not analysed (saves decoding ~50 frames; force with --ivtc on).
            return {"requested": "auto", "mode": "off",
                    "reason": "the stream is coded progressive"}
        from overmix.video.ivtc import detect_telecine

        return detect_telecine(self._raw_frames(None, limit=50), self.field_order,
                               self.spec.depth)

    def _to_index(self, p: Position | None, default: int) -> Position | None:
        if p is None or p.index is not None:
            return p
        idx = self._index
        if idx.usable and idx.pts and self.ivtc_decision.get("mode") != "hard":
            tb = self.video.time_base
            target = idx.pts[0] + float(p.seconds) / float(tb)  # type: ignore[arg-type]
            i = int(np.searchsorted(np.asarray(idx.pts, dtype=np.float64), target - 1e-6 /
                                    float(tb) * 1000))
            return Position(index=i)
        return p

    def _resolve(self, rng: FrameRange, count: int) -> range:
        s = self._to_index(rng.start, 0)
        e = self._to_index(rng.end, count)
        fr = FrameRange(s, e, rng.frames)
        if s is not None and e is not None and s.index is not None and e.index is not None:
            if e.index <= s.index:
                raise RangeError(f"empty range: end {rng.end} is not after start {rng.start}")
        return fr.resolve(count, float(self.rate) if self.rate else None)

    # -- raw decoding ---------------------------------------------------------------------

    def _wrap(self, fr: av.VideoFrame, ordinal: int) -> RawFrame:
        if fr.format.name != self.spec.name or fr.width != self.video.width or (
                fr.height != self.video.height):
            raise UnsupportedError(
                f"{self.path}: the stream changes format mid-way ({self.spec.name} "
                f"{self.video.width}x{self.video.height} -> {fr.format.name} "
                f"{fr.width}x{fr.height}) at frame {ordinal}")
        planes, alpha = frame_planes(fr, self.spec)
        return RawFrame(planes, alpha, fr.pts, bool(fr.key_frame), bool(fr.interlaced_frame),
                        ordinal)

    def _raw_frames(self, start: int | None, limit: int | None = None) -> Iterator[RawFrame]:
        """Decoded frames in display order from ordinal ``start`` (frame-accurate)."""
        dec = _Decoder(self.path, self.stream_index, self.spec)
        self._last_decoder = dec
        idx = self._index
        n = 0
        if start and idx.usable and start < idx.count:
            target = idx.pts[start]
            gen = self._seek_frames(dec, start, target)
            if gen is not None:
                for raw in gen:
                    yield raw
                    n += 1
                    if limit is not None and n >= limit:
                        return
                return
        # linear decode from the start
        ordinal = 0
        skip = start or 0
        for fr in dec.frames(None):
            if ordinal >= skip:
                yield self._wrap(fr, ordinal)
                n += 1
                if limit is not None and n >= limit:
                    return
            ordinal += 1

    def _seek_frames(self, dec: _Decoder, start: int, target: int
                     ) -> Iterator[RawFrame] | None:
        """Frames from ordinal ``start`` via a keyframe seek; None if seeking cannot work."""
        idx = self._index
        loose = (self.video.container.split(",")[0] in _LOOSE_CONTAINERS
                 or self.video.codec in _LOOSE_CODECS)
        rate = float(self.video.rate or 25)
        ticks_per_frame = 1.0 / (rate * float(self.video.time_base))
        for attempt in range(3):
            margin_frames = (0 if not loose else 12) * (4 ** attempt) + (attempt * 30)
            seek_pts = target - int(margin_frames * ticks_per_frame)
            if seek_pts <= idx.pts[0]:
                break
            frames = dec.frames(seek_pts)
            ok = False
            for fr in frames:
                if fr.pts is None:
                    break
                if fr.pts < target:
                    continue
                if fr.pts != target:
                    break  # the seek landed after the target: try further back
                ok = True
                break
            if not ok:
                frames.close()
                continue

            def run(first: av.VideoFrame = fr, rest: Iterator[av.VideoFrame] = frames
                    ) -> Iterator[RawFrame]:
                yield self._wrap(first, start)
                last = first.pts
                n = start
                for f in rest:
                    if f.pts is not None and last is not None and f.pts <= last:
                        continue  # a frame from before the seek point (reordering)
                    last = f.pts
                    n += 1
                    yield self._wrap(f, n)

            return run()
        return None

    # -- iteration ------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Frame]:
        sel = self.selection
        stages: Iterator[RawFrame]
        if sel is not None:
            stages = self._raw_frames(sel.start)
        else:
            stages = self._raw_frames(None)
        if self.ivtc_decision.get("mode") == "hard":
            from overmix.video.ivtc import ivtc_frames

            stats: dict[str, Any] = {}
            self.info["ivtc"] = {**self.ivtc_decision, "result": stats}
            stages = ivtc_frames(stages, self.ivtc_decision.get("field_order") or "tff", stats,
                                 self.spec.depth)
        dedup_log: dict[str, Any] | None = None
        if self.dedup:
            from overmix.video.dedup import dedup_frames

            dedup_log = {}
            self.info["dedup"] = dedup_log
            stages = dedup_frames(stages, self.dedup_threshold, self.spec.depth, dedup_log)
        start_pts = self.video.start_pts
        tb = self.video.time_base
        total = self.count
        delivered = 0
        out_index = sel.start if sel is not None else 0
        rng = self.range_request
        want: range | None = sel
        pending_linear = sel is None
        for k, raw in enumerate(stages):
            idx_here = (sel.start + k) if sel is not None else k
            if pending_linear:
                # IVTC/dedup numbering: resolve the range lazily on the output numbering.
                if want is None:
                    want = self._lazy_range(rng)
                if idx_here < want.start:
                    continue
                if idx_here >= want.stop:
                    break
            elif idx_here >= sel.stop:  # type: ignore[union-attr]
                break
            out_index = idx_here
            yield Frame(
                planes=raw.planes, layout=self.layout, color=self.color, alpha=raw.alpha,
                index=out_index, pts=raw.pts, time=_time_of(raw.pts, start_pts, tb),
                key_frame=raw.key_frame, fields=raw.fields, source=str(self.path),
                extra={"ordinal": raw.ordinal, "interlaced": raw.interlaced},
            )
            delivered += 1
            self.progress("decode", delivered, total)
        dec = getattr(self, "_last_decoder", None)
        lost = 0
        if dec is not None:
            self.info["decode_errors"] = dec.errors
            self.info["truncated"] = dec.truncated
        if sel is not None and not self._reindexing:
            short = max(0, len(sel) - delivered)
            if dec is not None and (dec.errors or dec.truncated):
                lost = short
            elif short:
                # no decode error: packets that are not frames (e.g. field-coded pictures)
                self.info["count_mismatch"] = {"packets": len(sel), "frames": delivered}
            if sel.stop >= self.video.frame_count:
                # frames the header promises beyond the packets present (a truncated file)
                header_total = self._header_frames()
                missing = header_total - self.video.frame_count
                if missing >= 2 or (missing > 0 and dec is not None
                                    and (dec.errors or dec.truncated)):
                    lost += missing
        self.info["lost_frames"] = int(lost)
        self.info["delivered"] = delivered
        if delivered == 0:
            raise RangeError(f"{self.path}: the range selects no frame"
                             + (f" (start {rng.start} is beyond the end)" if rng.start else ""))

    def _lazy_range(self, rng: FrameRange) -> range:
        a = 0
        if rng.start is not None:
            if rng.start.index is None:
                rate = float(self.rate or 24)
                a = int(math.ceil(float(rng.start.seconds) * rate - 1e-6))  # type: ignore
            else:
                a = rng.start.index
        b = 1 << 62
        if rng.end is not None:
            if rng.end.index is None:
                rate = float(self.rate or 24)
                b = int(math.ceil(float(rng.end.seconds) * rate - 1e-6))  # type: ignore
            else:
                b = rng.end.index
        if rng.frames is not None:
            b = min(b, a + rng.frames)
        if b <= a:
            raise RangeError(f"empty range: {rng.start}..{rng.end} selects no frame")
        return range(a, b)

    def _header_frames(self) -> int:
        """Frames the container header promises (for counting frames lost to truncation)."""
        v = self.video
        if v.header_frames:
            return v.header_frames
        dur = v.header_seconds  # the stream's own duration (the container's may be audio's)
        if dur and v.rate and self.ivtc_decision.get("mode") != "soft":
            return int(round(dur * float(v.rate)))
        return 0

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_video(
    path: str | os.PathLike[str],
    *,
    start: str | int | float | Position | None = None,
    end: str | int | float | Position | None = None,
    frames: int | None = None,
    ivtc: str = "auto",
    field_order: str | None = None,
    dedup: bool = False,
    dedup_threshold: float | None = None,
    stream: int | None = None,
    progress: ProgressCallback | None = None,
) -> VideoSource:
    """Open a video stream as a :class:`VideoSource` of raw-plane frames.

    Parameters
    ----------
    path : video file (any container/codec FFmpeg reads).
    start, end, frames : range ``[start, end)`` by frame index (int / ``"42"``) or time
        (``"12.5"``, ``"12s"``, ``"00:01:02.5"``), and a maximum count. Indices count frames in
        display order after IVTC/dedup when those are on.
    ivtc : ``"auto"`` (decide from the stream), ``"on"`` (force field matching +
        decimation), ``"off"``.
    field_order : ``"tff"`` / ``"bff"`` to override the stream's field order.
    dedup : drop frames equal to their predecessor within the codec noise.
    dedup_threshold : mean absolute Y difference (8-bit code scale) under which a frame is a
        duplicate; ``None`` = automatic.
    stream : 0-based index among the video streams.
    progress : callback ``(stage, done, total)``.

    Raises
    ------
    InputError, UnsupportedError, RangeError, UsageError
    """
    if field_order is not None and field_order not in ("tff", "bff"):
        raise UsageError(f"--field-order must be tff or bff, not {field_order!r}")
    if dedup_threshold is not None and not dedup_threshold >= 0:
        raise UsageError("--dedup-threshold must be 0 or more")
    p = Path(path)
    vinfo = probe(p, stream)
    sidx = vinfo.stream_index
    spec = pix_spec(vinfo.pix_fmt)
    rng = FrameRange.parse(start, end, frames)
    if rng.start is not None and rng.start.index is not None and not dedup and ivtc == "off" \
            and rng.start.index >= vinfo.frame_count:
        raise RangeError(f"start {rng.start} is beyond the last frame ({vinfo.frame_count} "
                         "frames)")
    return VideoSource(p, vinfo, sidx, spec, rng, ivtc, field_order, dedup, dedup_threshold,
                       progress)

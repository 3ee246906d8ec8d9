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
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from overmix.errors import RangeError, UnsupportedError, UsageError
from overmix.frame import Frame
from overmix.inputs import InputOptions, input_keywords
from overmix.progress import ProgressCallback, no_progress
from overmix.ranges import FrameRange, Position
from overmix.video.index import Packets, open_container, packet_index
from overmix.video.pixfmt import PixSpec, frame_planes, pix_spec
from overmix.video.probe import VideoInfo, probe

__all__ = ["RawFrame", "VideoSource", "open_video"]

# Containers and codecs whose seeking needs a margin (imprecise timestamps / open GOPs).
_LOOSE_CONTAINERS = {"mpegts", "mpeg", "mpegvideo", "vob", "mpegtsraw", "m2v"}
_LOOSE_CODECS = {"mpeg1video", "mpeg2video", "mpegvideo"}


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
        c = open_container(self.path)
        try:
            s = c.streams[self.stream_index]
            s.thread_type = "AUTO"
            if seek_pts is not None:
                try:
                    c.seek(int(seek_pts), stream=s, backward=True, any_frame=False)
                except (av.error.FFmpegError, OSError):
                    c.seek(0, backward=True)
            packets = Packets(c, s)
            for pkt in packets:
                try:
                    decoded = pkt.decode()
                except (av.error.FFmpegError, OSError):
                    self.errors += 1
                    continue
                yield from decoded
            if packets.failed:
                # Truncated or corrupt container: decode what we have, then drain.
                self.truncated = True
                self.errors += 1
                try:
                    yield from s.codec_context.decode(None)
                except (av.error.FFmpegError, OSError):
                    pass
        finally:
            c.close()


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

    def _last_time(self) -> float | None:
        """Seconds from the first frame to the last one (None without an index)."""
        idx = self._index
        if not (idx.usable and idx.pts):
            return None
        return float((max(idx.pts) - idx.pts[0]) * self.video.time_base)

    def _resolve(self, rng: FrameRange, count: int) -> range:
        s = self._to_index(rng.start, 0)
        e = self._to_index(rng.end, count)
        if rng.start is not None and rng.start.seconds is not None and s is not None and (
                s.index is not None and s.index >= count):
            # name the time as given, not the index it became
            last = self._last_time()
            upto = f", the last starts at {last:.3f}s" if last is not None else ""
            raise RangeError(f"start {rng.start} is beyond the last frame ({count} frames"
                             f"{upto})")
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
                # MPEG-TS/PS carry constant-rate broadcast video where packets get lost in the
                # middle; other containers may be variable-rate (see _header_frames)
                by_rate = (dec is not None and bool(dec.errors or dec.truncated)) or \
                    self.video.container in ("mpegts", "mpeg")
                header_total = self._header_frames(by_rate)
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
        """The range on the numbering IVTC/dedup deliver (times at the delivered rate)."""
        a = self._delivered_index(rng.start, 0)
        b = self._delivered_index(rng.end, 1 << 62)
        if rng.frames is not None:
            b = min(b, a + rng.frames)
        if b <= a:
            raise RangeError(f"empty range: {rng.describe()} selects no frame")
        return range(a, b)

    def _delivered_index(self, p: Position | None, default: int) -> int:
        if p is None:
            return default
        if p.index is None:
            rate = float(self.rate or 24)
            return int(math.ceil(float(p.seconds) * rate - 1e-6))  # type: ignore[arg-type]
        return p.index

    def _header_frames(self, by_rate: bool = True) -> int:
        """Frames the container header promises (for counting frames lost to truncation)."""
        v = self.video
        if v.header_frames:
            return v.header_frames
        dur = v.header_seconds  # the stream's own duration (the container's may be audio's)
        if not dur or not v.rate or self.ivtc_decision.get("mode") == "soft":
            return 0
        pts = self._index.pts
        if not by_rate and len(pts) >= 2:
            # A stream that decoded cleanly can only have lost frames at its end: the
            # header's duration not covered by the packets, in steps of the typical frame
            # duration. A variable frame rate stream (whose average rate times duration is
            # not its frame count) then counts no loss. Damaged streams and MPEG-TS/PS are
            # counted by rate (duration x rate).
            tb = float(v.time_base)
            step = float(np.median(np.diff(np.asarray(pts, dtype=np.float64)))) * tb
            covered = (pts[-1] - pts[0]) * tb + step
            if step > 0:
                return len(pts) + max(0, int(round((dur - covered) / step)))
        return int(round(dur * float(v.rate)))

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@input_keywords
def open_video(path: str | os.PathLike[str], *, progress: ProgressCallback | None = None,
               **options: Any) -> VideoSource:
    """Open a video stream as a :class:`VideoSource` of raw-plane frames.

    Parameters
    ----------
    path : video file (any container/codec FFmpeg reads).
    start, end, frames, ivtc, field_order, dedup, dedup_threshold, stream :
        :class:`~overmix.inputs.InputOptions`. Indices count frames in display order after
        IVTC/dedup when those are on.
    progress : callback ``(stage, done, total)``.

    Raises
    ------
    InputError, UnsupportedError, RangeError, UsageError
    """
    o = InputOptions(**options)
    if o.field_order is not None and o.field_order not in ("tff", "bff"):
        raise UsageError(f"--field-order must be tff or bff, not {o.field_order!r}")
    if o.dedup_threshold is not None and not o.dedup_threshold >= 0:
        raise UsageError("--dedup-threshold must be 0 or more")
    p = Path(path)
    vinfo = probe(p, o.stream)
    sidx = vinfo.stream_index
    spec = pix_spec(vinfo.pix_fmt)
    rng = FrameRange.parse(o.start, o.end, o.frames)
    if rng.start is not None and rng.start.index is not None and not o.dedup and o.ivtc == "off" \
            and rng.start.index >= vinfo.frame_count:
        raise RangeError(f"start {rng.start} is beyond the last frame ({vinfo.frame_count} "
                         "frames)")
    return VideoSource(p, vinfo, sidx, spec, rng, o.ivtc, o.field_order, o.dedup,
                       o.dedup_threshold, progress)

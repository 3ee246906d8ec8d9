"""The packet index of a stream: presentation timestamps from demuxing once (no decoding).

It gives exact frame counts and the pts that frame-accurate seeking aims at; it is cached per
file (path, mtime, size, stream) for the life of the process.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from overmix.errors import InputError

__all__ = ["PacketIndex", "Packets", "open_container", "packet_index"]


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
    no_pts: int = 0  # packets without a timestamp (a raw H.264/HEVC elementary stream)

    @property
    def count(self) -> int:
        """Frame packets, with or without a timestamp (one coded picture each)."""
        return len(self.pts) + self.no_pts


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
    with open_container(p) as c:
        packets = Packets(c, c.streams[stream_index])
        for pkt in packets:
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
    idx = PacketIndex(spts, sorted(keys), sdur, usable, int(packets.failed), missing)
    with _INDEX_LOCK:
        _INDEX_CACHE[key] = idx
    return idx


class Packets:
    """The packets of one stream, in file order, until the end or the first demuxing error.

    A truncated or corrupt container ends the iteration early with ``failed`` set, so callers
    keep what was read (and a decoder can be drained).
    """

    def __init__(self, container: av.container.InputContainer, stream: Any) -> None:
        self.container = container
        self.stream = stream
        self.failed = False

    def __iter__(self) -> Iterator[av.Packet]:
        it = self.container.demux(self.stream)
        while True:
            try:
                pkt = next(it)
            except StopIteration:
                return
            except (av.error.FFmpegError, OSError):
                self.failed = True
                return
            yield pkt


def open_container(path: Path) -> av.container.InputContainer:
    """``av.open`` for reading, with the library's errors for missing or unreadable files."""
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

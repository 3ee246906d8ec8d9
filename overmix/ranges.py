"""Frame positions and ranges given on the command line (DESIGN §4 "Time").

A position is either a 0-based frame index (a plain integer, ``42``) or a time: seconds with a
decimal point or an ``s`` suffix (``12.5``, ``12s``) or ``[HH:]MM:SS[.mmm]``. A range
``start``/``end`` includes the start and excludes the end; ``frames`` limits the count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from overmix.errors import RangeError, UsageError

_CLOCK = re.compile(r"^(?:(\d+):)?(\d+):(\d+(?:\.\d*)?)$")


@dataclass(frozen=True)
class Position:
    """A frame index (``index``) or a time in seconds (``seconds``); exactly one is set."""

    index: int | None = None
    seconds: float | None = None

    def __str__(self) -> str:
        return str(self.index) if self.index is not None else f"{self.seconds:.3f}s"


def parse_position(text: str | int | float | Position) -> Position:
    """Parse ``42`` (frame 42), ``12.5`` / ``12s`` (seconds) or ``00:01:02.500`` (time).

    >>> parse_position("42"), parse_position("1:02.5")
    (Position(index=42, seconds=None), Position(index=None, seconds=62.5))
    """
    if isinstance(text, Position):
        return text
    if isinstance(text, bool):
        raise UsageError(f"invalid frame position {text!r}")
    if isinstance(text, int):
        pos = Position(index=text)
    elif isinstance(text, float):
        pos = Position(seconds=text)
    else:
        s = text.strip().lower()
        m = _CLOCK.match(s)
        try:
            if m:
                h, mi, sec = m.groups()
                pos = Position(seconds=int(h or 0) * 3600 + int(mi) * 60 + float(sec))
            elif s.endswith("s"):
                pos = Position(seconds=float(s[:-1]))
            elif re.fullmatch(r"[+-]?\d+", s):
                pos = Position(index=int(s))
            else:
                pos = Position(seconds=float(s))
        except ValueError:
            raise UsageError(
                f"invalid frame position {text!r} (use a frame index, seconds or HH:MM:SS.mmm)"
            ) from None
    value = pos.index if pos.index is not None else pos.seconds
    if value is None or value < 0 or value != value:
        raise UsageError(f"invalid frame position {text!r}: must be 0 or more")
    return pos


@dataclass(frozen=True)
class FrameRange:
    """``[start, end)`` plus an optional frame count; ``None`` means open."""

    start: Position | None = None
    end: Position | None = None
    frames: int | None = None

    @classmethod
    def parse(
        cls,
        start: str | int | float | Position | None = None,
        end: str | int | float | Position | None = None,
        frames: int | None = None,
    ) -> FrameRange:
        s = parse_position(start) if start is not None else None
        e = parse_position(end) if end is not None else None
        if frames is not None and frames <= 0:
            raise UsageError(f"--frames must be 1 or more, got {frames}")
        if s is not None and e is not None and s.index is not None and e.index is not None:
            if e.index <= s.index:
                raise RangeError(f"empty range: end {e} is not after start {s}")
        if s is not None and e is not None and s.seconds is not None and e.seconds is not None:
            if e.seconds <= s.seconds:
                raise RangeError(f"empty range: end {e} is not after start {s}")
        return cls(s, e, frames)

    def resolve(self, count: int, rate: float | None = None) -> range:
        """The indices selected in a sequence of ``count`` frames at ``rate`` frames/s.

        Times are turned into indices with ``ceil(t * rate)`` (the first frame at or after t).
        Raises :class:`~overmix.errors.RangeError` when the selection is empty or starts past
        the end.
        """

        def to_index(p: Position | None, default: int) -> int:
            if p is None:
                return default
            if p.index is not None:
                return p.index
            if not rate:
                raise UsageError("a time range needs a frame rate; give frame indices")
            import math

            return int(math.ceil(p.seconds * rate - 1e-6))  # type: ignore[operator]

        a = to_index(self.start, 0)
        b = min(to_index(self.end, count), count)
        if self.frames is not None:
            b = min(b, a + self.frames)
        if a >= count:
            raise RangeError(f"start {self.start} is beyond the last frame ({count} frames)")
        if b <= a:
            raise RangeError(f"empty range: {self.describe()} selects no frame")
        return range(a, b)

    def describe(self) -> str:
        """The range as the user gave it, an open start as 0 and an open end as "the end"
        (``0..10``, ``5..the end``)."""
        return (f"{0 if self.start is None else self.start}.."
                f"{'the end' if self.end is None else self.end}")

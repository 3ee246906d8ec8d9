"""The options that say how an input is read, defined once for every opener.

:func:`overmix.io.sources.open_source` (any input) and :func:`overmix.video.open_video` take
the same keywords: the range ``start``/``end``/``frames`` (:mod:`overmix.ranges`) and the video
decoding options. :class:`InputOptions` holds them; :func:`input_keywords` shows them in an
opener's signature, which takes them as ``**options``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from overmix.ranges import Position

__all__ = ["InputOptions", "input_keywords"]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class InputOptions:
    """How to read an input.

    Attributes
    ----------
    start, end, frames : the range ``[start, end)`` by frame index (int / ``"42"``) or time
        (``"12.5"``, ``"12s"``, ``"00:01:02.5"``), and a maximum count.
    ivtc : ``"auto"`` (decide from the stream), ``"on"`` (force field matching + decimation),
        ``"off"``.
    field_order : ``"tff"`` / ``"bff"`` to override the stream's field order.
    dedup : drop frames equal to their predecessor within the codec noise.
    dedup_threshold : a frame repeats its predecessor when its largest 16x16 block difference
        to the last kept frame is at most this (8-bit codes); ``None`` = automatic
        (:mod:`overmix.video.dedup`).
    stream : 0-based index among the video streams.
    """

    start: str | int | float | Position | None = None
    end: str | int | float | Position | None = None
    frames: int | None = None
    ivtc: str = "auto"
    field_order: str | None = None
    dedup: bool = False
    dedup_threshold: float | None = None
    stream: int | None = None

    def keywords(self) -> dict[str, Any]:
        """The options as keywords of an opener (values as given: a ``Position`` stays one)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def input_keywords(fn: F) -> F:
    """Show :class:`InputOptions`' fields as keyword-only parameters of ``fn`` (which takes
    them as ``**options``), after its positional ones and before its own keywords."""
    sig = inspect.signature(fn)
    own = [p for p in sig.parameters.values() if p.kind is not p.VAR_KEYWORD]
    lead = [p for p in own if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    opts = [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default,
                              annotation=f.type) for f in fields(InputOptions)]
    fn.__signature__ = sig.replace(  # type: ignore[attr-defined]
        parameters=[*lead, *opts, *(p for p in own if p not in lead)])
    return fn

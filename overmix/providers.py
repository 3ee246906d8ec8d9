"""Frame providers: how the scene algorithms read frames, one protocol for all of them.

Registration, render and restore read the frames of a scene one at a time, by position ``k``
(0-based, in the order of the offsets), and never hold them all. A per-frame array provider
is any of:

- a callable ``k -> item``; its length comes from the offsets or an explicit ``n``;
- an object with ``len()`` and ``luma(k)`` (:class:`HasLuma`, e.g.
  :class:`overmix.io.store.FrameStore`), read for its luma;
- a sequence: ``len(p)`` and ``p[k]`` (a list of arrays, a 3-D array, ...).

An item is a working plane (``(h, w)`` float32; Y' in [0, 1] for a :data:`LumaProvider`) or,
for a :data:`PlanesProvider`, a frame's working planes (each at its own resolution).
:func:`reader` turns any of them into a ``k -> item`` function, :func:`count` gives the
length. The renderer reads whole frames of native codes through :class:`PlaneProvider`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar, Union, runtime_checkable

import numpy as np

from overmix.color.spec import ColorInfo
from overmix.errors import UsageError
from overmix.frame import PlaneLayout

__all__ = ["ArrayProvider", "HasLuma", "LumaProvider", "PlaneProvider", "PlanesProvider",
           "Provider", "count", "luma_reader", "reader"]

T = TypeVar("T")


@runtime_checkable
class HasLuma(Protocol):
    """A frame container that hands out working luma planes."""

    def __len__(self) -> int: ...

    def luma(self, k: int) -> np.ndarray: ...


class PlaneProvider(Protocol):
    """Frames of native codes with their layout and colour (what the renderer reads)."""

    layout: PlaneLayout | None
    color: ColorInfo | None
    shape: tuple[int, int] | None

    def __len__(self) -> int: ...

    def planes(self, k: int) -> tuple[np.ndarray, ...]: ...


# typing.Union (not |): the generic alias is subscripted at run time, on Python 3.10 too.
Provider = Union[Callable[[int], T], Sequence[T]]  # noqa: UP007
ArrayProvider = Provider[np.ndarray]
LumaProvider = Union[Callable[[int], np.ndarray], Sequence[np.ndarray], HasLuma]  # noqa: UP007
PlanesProvider = Provider[Sequence[np.ndarray]]


def reader(src: Any) -> Callable[[int], Any]:
    """``k -> item`` for a provider: a callable as is, else ``src.luma``, else ``src[k]``."""
    if callable(src):
        return src
    luma = getattr(src, "luma", None)
    if callable(luma):
        return luma
    if hasattr(src, "__getitem__"):
        return src.__getitem__
    raise UsageError("frames are given as a sequence, a callable k -> array or an object "
                     f"with .luma(k), not {type(src).__name__}")


def luma_reader(src: Any) -> Callable[[int], np.ndarray]:
    """``k -> (h, w) float32`` from a provider (no copy when the item is float32 already)."""
    get = reader(src)
    return lambda k: np.asarray(get(k), dtype=np.float32)


def count(src: Any, n: int | None = None) -> int:
    """The number of frames: ``n`` when given, else ``len(src)`` (a bare callable has none)."""
    if n is not None:
        return n
    if callable(src) or not hasattr(src, "__len__"):
        raise UsageError("a frame callable needs the number of frames (offsets or n)")
    return len(src)

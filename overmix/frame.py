"""The data model: a frame is planes of native integer codes plus what they mean.

Conventions (DESIGN §3-4)
-------------------------
- ``planes`` are 2-D arrays of the codes as decoded: ``uint8`` for bit depths ≤ 8, ``uint16``
  otherwise, never shifted. Plane 0 is Y' (or G/R... see :class:`Family`), 1 and 2 are Cb, Cr.
- Subsampled planes have ``ceil(width / sub_x) x ceil(height / sub_y)`` samples.
- Luma sample (i, j) has its centre at (x = j, y = i); chroma siting comes from
  ``color.chroma_location``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from enum import Enum
from fractions import Fraction
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from overmix.color.spec import ChromaLocation, ColorInfo, Matrix, Primaries, Range, Transfer
from overmix.errors import UnsupportedError

__all__ = [
    "ChromaLocation",
    "ColorInfo",
    "Family",
    "Frame",
    "FrameSource",
    "dtype_for_depth",
    "Matrix",
    "PlaneLayout",
    "Primaries",
    "Range",
    "Transfer",
]


class Family(str, Enum):
    """How the planes are to be read."""

    GRAY = "gray"  # one plane (Y' or gray)
    YCBCR = "ycbcr"  # Y', Cb, Cr
    RGB = "rgb"  # R', G', B' (note: FFmpeg's gbrp order is reordered to R, G, B on decode)


@dataclass(frozen=True)
class PlaneLayout:
    """Which planes there are and how the chroma planes are subsampled.

    ``sub_x``/``sub_y`` are the chroma subsampling factors (4:2:0 = 2, 2; 4:2:2 = 2, 1;
    4:4:4 = 1, 1). They apply to planes 1 and 2 of a Y'CbCr frame only.
    """

    family: Family = Family.YCBCR
    sub_x: int = 2
    sub_y: int = 2

    @property
    def nplanes(self) -> int:
        return 1 if self.family == Family.GRAY else 3

    @property
    def name(self) -> str:
        """``gray``, ``rgb``, ``yuv420``, ``yuv422``, ``yuv444``, ``yuv411``, ..."""
        if self.family != Family.YCBCR:
            return self.family.value
        table = {(1, 1): "444", (2, 1): "422", (2, 2): "420", (4, 1): "411", (4, 4): "410"}
        return "yuv" + table.get((self.sub_x, self.sub_y), f"sub{self.sub_x}x{self.sub_y}")

    def plane_shape(self, index: int, height: int, width: int) -> tuple[int, int]:
        """``(rows, cols)`` of plane ``index`` for a frame of luma size ``height x width``."""
        if index == 0 or self.family != Family.YCBCR:
            return (height, width)
        return (-(-height // self.sub_y), -(-width // self.sub_x))

    def plane_scale(self, index: int) -> tuple[int, int]:
        """Subsampling ``(sub_x, sub_y)`` of plane ``index``."""
        if index == 0 or self.family != Family.YCBCR:
            return (1, 1)
        return (self.sub_x, self.sub_y)

    @classmethod
    def from_shapes(cls, shapes: list[tuple[int, int]], family: Family) -> PlaneLayout:
        """Infer the subsampling from plane shapes (as the dump format stores it)."""
        if family != Family.YCBCR:
            return cls(family, 1, 1)
        (h, w), (ch, cw) = shapes[0], shapes[1]
        if ch == 0 or cw == 0:
            raise UnsupportedError(f"chroma plane of size {cw}x{ch}")
        sx = max(1, round(w / cw))
        sy = max(1, round(h / ch))
        layout = cls(family, sx, sy)
        for i, s in enumerate(shapes[:3]):
            if tuple(s) != layout.plane_shape(i, h, w):
                raise UnsupportedError(
                    f"plane sizes {[f'{c}x{r}' for r, c in shapes]} are not a known subsampling"
                )
        return layout


def dtype_for_depth(bit_depth: int) -> np.dtype:
    """``uint8`` for ≤ 8 bits, else ``uint16``."""
    return np.dtype(np.uint8 if bit_depth <= 8 else np.uint16)


@dataclass(frozen=True, eq=False)
class Frame:
    """One picture as native codes.

    Attributes
    ----------
    planes : tuple of ndarray
        2-D arrays (rows, cols) of integer codes, uint8 or uint16.
    layout : PlaneLayout
    color : ColorInfo
    alpha : ndarray or None
        Full-size alpha plane, same dtype and depth as the planes (max code = opaque).
    index : int
        Position in presentation order within its source (after IVTC/dedup when on).
    pts, time : source timestamp (stream time base) and seconds, when known.
    key_frame : bool
    fields : str or None
        After IVTC, which source fields made this frame, e.g. ``"12t+13b"``.
    source : str or None
        Where it came from (file path).
    """

    planes: tuple[np.ndarray, ...]
    layout: PlaneLayout
    color: ColorInfo
    alpha: np.ndarray | None = None
    index: int = 0
    pts: int | None = None
    time: float | None = None
    key_frame: bool = False
    fields: str | None = None
    source: str | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def width(self) -> int:
        return int(self.planes[0].shape[1])

    @property
    def height(self) -> int:
        return int(self.planes[0].shape[0])

    @property
    def shape(self) -> tuple[int, int]:
        """Luma ``(height, width)``."""
        return (self.height, self.width)

    def replace(self, **changes: object) -> Frame:
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def to_rgb(
        self,
        *,
        chroma_filter: str = "bilinear",
        linear: bool = False,
        with_alpha: bool = True,
    ) -> np.ndarray:
        """R'G'B' float32 (H, W, 3), or (H, W, 4) with alpha; in [0, 1], not clipped.

        See :func:`overmix.color.convert.to_rgb` (range, matrix, siting-aware chroma
        upsampling; ``linear`` applies the BT.1886 EOTF).
        """
        from overmix.color.convert import to_rgb

        return to_rgb(
            self.planes, self.color, family=self.layout.family, sub_x=self.layout.sub_x,
            sub_y=self.layout.sub_y, chroma_filter=chroma_filter, linear=linear,
            alpha=self.alpha if with_alpha else None,
        )

    def validate(self) -> Frame:
        """Check plane count, shapes and dtypes against the layout; returns self."""
        if len(self.planes) != self.layout.nplanes:
            raise UnsupportedError(
                f"{len(self.planes)} planes for a {self.layout.name} frame"
            )
        h, w = self.shape
        want = dtype_for_depth(self.color.bit_depth)
        for i, p in enumerate(self.planes):
            if p.ndim != 2 or tuple(p.shape) != self.layout.plane_shape(i, h, w):
                raise UnsupportedError(f"plane {i} has shape {p.shape} in a {w}x{h} frame")
            if p.dtype != want:
                raise UnsupportedError(
                    f"plane {i} is {p.dtype} for {self.color.bit_depth}-bit codes"
                )
        if self.alpha is not None and tuple(self.alpha.shape) != (h, w):
            raise UnsupportedError(f"alpha of shape {self.alpha.shape} in a {w}x{h} frame")
        return self


@runtime_checkable
class FrameSource(Protocol):
    """Anything that yields the frames of one input in presentation order.

    Implemented by the video reader (``overmix.video``) and the dump/PNG readers
    (``overmix.io.sources``). Iterating streams frames; nothing is kept beyond the current one.

    Attributes
    ----------
    kind : str
        ``"video"``, ``"dumps"`` or ``"png"``.
    path : Path
    color : ColorInfo
        The resolved colour of the frames.
    layout : PlaneLayout
    count : int or None
        How many frames iteration yields, when known up front.
    rate : Fraction or None
        Frames per second of the yielded frames (film rate after IVTC), when known.
    info : dict
        JSON-able description (source, stream, decisions such as IVTC/dedup).
    """

    kind: str
    path: Path
    color: ColorInfo
    layout: PlaneLayout
    count: int | None
    rate: Fraction | None
    info: dict[str, object]

    def __iter__(self) -> Iterator[Frame]: ...

    def close(self) -> None: ...

    def __enter__(self) -> FrameSource: ...

    def __exit__(self, *exc: object) -> None: ...

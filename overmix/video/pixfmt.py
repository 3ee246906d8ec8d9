"""Pixel formats: how the planes of each FFmpeg pixel format are read as native codes.

Planes are copied out of the decoder's buffers with ``np.from_dlpack`` (no colour or depth
conversion: codes as decoded; MSB-aligned semi-planar formats such as p010 are shifted down to
their real depth, big-endian ones byte-swapped, gbrp reordered to R, G, B).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import av
import numpy as np

from overmix.errors import UnsupportedError
from overmix.frame import Family, PlaneLayout

__all__ = ["PixSpec", "frame_planes", "pix_spec"]


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

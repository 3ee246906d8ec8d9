"""Frames to and from dump files (the :mod:`dumpfmt` format), with colour resolution.

Colour of a dump (DESIGN §5): from the scene manifest when the caller passes it (``color=``),
else from the ``DMP0`` header bytes, else the untagged rules of DESIGN §4 (BT.601 for SD,
BT.709 above; limited range; left chroma). Overmix itself assumes BT.709 for every
headerless file, which is wrong for SD sources; we do not copy that.

Header byte mapping (catalogue §1.2):

=========  ==========================================  ==================================
transform  read as                                     written for
=========  ==========================================  ==================================
0 gray     gray, full range                            ``Matrix.GRAY``
1 RGB      R'G'B', full range                          ``Matrix.RGB``
2 601      BT.601 (BT470BG) limited range              BT470BG/SMPTE170M, limited
3 709      BT.709 limited range                        BT709, limited
4 JPEG     BT.601 full range, centre-sited chroma      BT470BG/SMPTE170M, full
5 Bayer    unsupported                                 never
6 unknown  untagged guess by size                      every other matrix/range
=========  ==========================================  ==================================

Transfer byte: 0 linear, 1 sRGB (IEC 61966-2-1), 2 Rec.709 curve (BT709, or SMPTE170M next
to a 601 matrix; BT.2020 10/12-bit share the curve), 3 unknown (the matrix's usual transfer).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

import dumpfmt
from overmix.atomic import write_bytes_atomic
from overmix.color.spec import (
    ColorInfo,
    Matrix,
    Range,
    Transfer,
)
from overmix.color.untagged import BT601_MATRICES, REC709_CURVES, dump_color
from overmix.errors import FormatError, InputError, OutputError, UnsupportedError
from overmix.frame import Family, Frame, PlaneLayout, dtype_for_depth

__all__ = [
    "color_from_header",
    "header_for_color",
    "read_dump",
    "read_dump_info",
    "read_frame",
    "frame_from_dump",
    "write_frame",
    "encode_frame",
    "ProbeDump",
]



def _fail(path: str | os.PathLike[str], exc: BaseException) -> InputError:
    """Turn a dumpfmt/OS error into the library's error with the file name."""
    if isinstance(exc, dumpfmt.DumpError):
        return FormatError(f"{path}: {exc}")
    if isinstance(exc, FileNotFoundError):
        return InputError(f"no such file: {path}")
    if isinstance(exc, IsADirectoryError):
        return InputError(f"{path}: is a folder, not a dump file")
    if isinstance(exc, OSError):
        return InputError(f"cannot read {path}: {exc.strerror or exc}")
    return InputError(f"{path}: {exc}")


def read_dump(path: str | os.PathLike[str], *, validate: bool = False) -> dumpfmt.Dump:
    """:func:`dumpfmt.read` with errors as :class:`~overmix.errors.FormatError` /
    :class:`~overmix.errors.InputError` naming the file."""
    try:
        return dumpfmt.read(path, validate=validate)
    except (dumpfmt.DumpError, OSError) as exc:
        raise _fail(path, exc) from None


def read_dump_info(path: str | os.PathLike[str]) -> dumpfmt.DumpInfo:
    """:func:`dumpfmt.read_info` (header and plane sizes, no decoding) with overmix errors."""
    try:
        return dumpfmt.read_info(path)
    except (dumpfmt.DumpError, OSError) as exc:
        raise _fail(path, exc) from None


def color_from_header(
    header: dumpfmt.Header, width: int, height: int, depth: int, ncolour: int
) -> tuple[ColorInfo, str]:
    """The colour a dump's header implies, and where it came from
    (:func:`overmix.color.untagged.dump_color` holds the rules).

    Parameters
    ----------
    header : dumpfmt.Header
    width, height : int
        Luma (plane 0) size, for the untagged SD/HD guess.
    depth : int
        Bits per sample of the colour planes.
    ncolour : int
        Colour planes (1 or 3; alpha not counted).

    Returns
    -------
    (ColorInfo, str)
        The colour and ``"header"`` or ``"guess"``.
    """
    return dump_color(header.transform if header.has_magic else None, header.transfer, width,
                      height, depth, ncolour)


def header_for_color(color: ColorInfo) -> tuple[int, int]:
    """``(transform, transfer)`` header bytes for a colour (see the module table)."""
    m, r = color.matrix, color.range
    if m == Matrix.GRAY:
        transform = dumpfmt.TRANSFORM["gray"]
    elif m == Matrix.RGB:
        transform = dumpfmt.TRANSFORM["rgb"]
    elif m in BT601_MATRICES:
        transform = dumpfmt.TRANSFORM["ycbcr601" if r == Range.LIMITED else "jpeg"]
    elif m == Matrix.BT709 and r == Range.LIMITED:
        transform = dumpfmt.TRANSFORM["ycbcr709"]
    else:
        transform = dumpfmt.TRANSFORM["unknown"]
    tr = color.transfer
    if tr == Transfer.LINEAR:
        transfer = dumpfmt.TRANSFER["linear"]
    elif tr == Transfer.IEC61966_2_1:
        transfer = dumpfmt.TRANSFER["srgb"]
    elif tr in REC709_CURVES:
        transfer = dumpfmt.TRANSFER["rec709"]
    else:
        transfer = dumpfmt.TRANSFER["unknown"]
    return transform, transfer


def _rescale(plane: np.ndarray, src_depth: int, dst_depth: int) -> np.ndarray:
    """Codes of ``src_depth`` bits to ``dst_depth`` bits, v * (2^d - 1) / (2^s - 1), rounded."""
    if src_depth == dst_depth:
        return plane
    scale = ((1 << dst_depth) - 1) / ((1 << src_depth) - 1)
    out = np.rint(plane.astype(np.float64) * scale)
    return np.clip(out, 0, (1 << dst_depth) - 1).astype(dtype_for_depth(dst_depth))


def frame_from_dump(
    dump: dumpfmt.Dump,
    *,
    color: ColorInfo | None = None,
    index: int = 0,
    source: str | None = None,
) -> tuple[Frame, str]:
    """Planes of a decoded dump as a :class:`Frame`, and where its colour came from.

    1 plane = gray, 2 = gray + alpha, 3 = Y'CbCr (or R'G'B' by header/colour), 4 = 3 + alpha.
    Subsampling follows the plane sizes. ``color`` (from the manifest) wins over the header;
    its bit depth is replaced by the file's.
    """
    n = len(dump.planes)
    ncolour = 1 if n in (1, 2) else 3
    depths = dump.depths[:ncolour]
    if len(set(depths)) != 1:
        raise UnsupportedError(f"colour planes of different bit depths {depths}")
    depth = depths[0]
    where = f"{source}: " if source else ""
    if color is not None:
        resolved, how = color.with_(bit_depth=depth), "manifest"
        if ncolour == 1 and color.matrix != Matrix.GRAY:
            resolved = resolved.with_(matrix=Matrix.GRAY)
        if ncolour == 3 and color.matrix == Matrix.GRAY:
            resolved, how = color_from_header(dump.header, dump.width, dump.height, depth, 3)
    else:
        try:
            resolved, how = color_from_header(dump.header, dump.width, dump.height, depth,
                                              ncolour)
        except UnsupportedError as exc:
            raise UnsupportedError(f"{where}{exc}") from None
    if ncolour == 1:
        family = Family.GRAY
    elif resolved.matrix == Matrix.RGB:
        family = Family.RGB
    else:
        family = Family.YCBCR
    planes = list(dump.planes[:ncolour])
    padded = False
    if family == Family.YCBCR:
        planes, padded = _pad_floored_chroma(planes)
    try:
        layout = PlaneLayout.from_shapes([p.shape for p in planes], family)
    except UnsupportedError as exc:
        raise UnsupportedError(f"{where}{exc}") from None
    if family != Family.YCBCR and any(p.shape != planes[0].shape for p in planes):
        raise UnsupportedError(f"{where}{family.value} planes of different sizes")
    alpha = None
    if n in (2, 4):
        alpha = dump.planes[-1]
        if alpha.shape != planes[0].shape:
            raise UnsupportedError(f"{where}alpha plane {alpha.shape[1]}x{alpha.shape[0]} in a "
                                   f"{dump.width}x{dump.height} frame")
        alpha = _rescale(alpha, dump.depths[-1], depth)
    frame = Frame(tuple(planes), layout, resolved, alpha=alpha, index=index, source=source)
    if padded:
        frame.extra["chroma_padded"] = True
    return frame, how


def _pad_floored_chroma(planes: list[np.ndarray]) -> tuple[list[np.ndarray], bool]:
    """Chroma of odd-sized video_dumper frames has ``floor(W/sx) x floor(H/sy)`` samples
    (catalogue §1.6); our frames have ``ceil``. Repeat the last column/row to fill the gap."""
    (h, w), (ch, cw) = planes[0].shape, planes[1].shape
    if ch == 0 or cw == 0 or planes[2].shape != (ch, cw):
        return planes, False
    sx, sy = max(1, round(w / cw)), max(1, round(h / ch))
    want = (-(-h // sy), -(-w // sx))
    if (ch, cw) == want or (ch, cw) != (h // sy, w // sx):
        return planes, False
    pad = ((0, want[0] - ch), (0, want[1] - cw))
    return [planes[0]] + [np.pad(p, pad, mode="edge") for p in planes[1:]], True


def read_frame(
    path: str | os.PathLike[str], *, color: ColorInfo | None = None, index: int = 0
) -> Frame:
    """Read one dump file as a :class:`Frame`.

    Parameters
    ----------
    path : path
    color : ColorInfo, optional
        Colour from the scene manifest; when None the header (or the untagged rules) decide.
    index : int
        Stored as ``Frame.index``.

    Raises
    ------
    InputError
        Missing or unreadable file.
    FormatError
        Malformed dump (message ``"<file>: <reason>"``).
    UnsupportedError
        A valid dump the toolkit does not handle (Bayer, odd plane sizes).
    """
    dump = read_dump(path)
    frame, how = frame_from_dump(dump, color=color, index=index, source=str(path))
    frame.extra["color_from"] = how
    return frame


def encode_frame(frame: Frame, *, compression: str = "zlib", level: int | None = None) -> bytes:
    """The dump bytes of a frame: ``DMP0`` + header for its colour + planes at native depth."""
    transform, transfer = header_for_color(frame.color)
    try:
        return dumpfmt.encode(
            list(frame.planes), depth=frame.color.bit_depth, transform=transform,
            transfer=transfer, compression=compression, level=level, alpha=frame.alpha,
        )
    except dumpfmt.DumpError as exc:
        raise UnsupportedError(f"cannot write this frame as a dump: {exc}") from None


def write_frame(
    path: str | os.PathLike[str],
    frame: Frame,
    *,
    compression: str = "zlib",
    level: int | None = None,
) -> int:
    """Write a frame as a dump, atomically; returns the file size in bytes.

    The depth written is ``frame.color.bit_depth`` (codes unchanged, never shifted).
    What the header cannot hold (range of non-601 matrices, primaries, siting, timestamps)
    belongs in the scene manifest (:mod:`overmix.io.manifest`).
    """
    data = encode_frame(frame, compression=compression, level=level)
    try:
        write_bytes_atomic(path, data)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    return len(data)


def is_dump_path(path: str | os.PathLike[str]) -> bool:
    """True for a ``*.dump`` file name."""
    return Path(path).suffix.lower() == ".dump"


class ProbeDump:
    """Stand-in for a decoded dump, built from plane records alone (no payload decoding)."""

    def __init__(self, info: dumpfmt.DumpInfo) -> None:
        self.header = info.header
        self.depths = [p.depth for p in info.planes]
        self.compressions = [p.compression for p in info.planes]
        # Zero-stride arrays of the right shape and dtype, no memory.
        self.planes = [
            np.lib.stride_tricks.as_strided(
                np.zeros(1, np.uint8 if p.depth <= 8 else np.uint16),
                shape=(p.height, p.width), strides=(0, 0))
            for p in info.planes
        ]
        self.height, self.width = (int(v) for v in self.planes[0].shape)

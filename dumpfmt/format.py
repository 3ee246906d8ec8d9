"""Reader and writer of the Overmix dump format (numpy + stdlib only).

Byte layout (everything little-endian, no padding, no row stride)::

    [ "DMP0" | transform u8 | transfer u8 ]     optional 6-byte header
    plane record, back to back until EOF (1-4 records):
        u32 width | u32 height | u16 depth | u16 config
        [u32 L]                                 only when config & 3 != 0
        payload: L compressed bytes, or width*height*B raw bytes
                 (B = 1 for depth <= 8, else 2, samples little-endian, row-major)

``config & 1`` = zlib stream (RFC 1950), else ``config & 2`` = xz (``.lzma``-alone streams are
accepted on read too), else raw. dump-tools' video_dumper writes a 32-bit depth, which reads as
``depth`` + ``config = 0`` (raw); such legacy files have no ``DMP0`` header.

The reader trusts nothing: every size is checked against the bytes left in the input before
anything is allocated or decompressed, and decompression is bounded to ``width * height * B``
bytes, so corrupt or hostile input fails fast with :class:`DumpError`.

Samples above ``2**depth - 1`` are kept as they are (Overmix never masks either); pass
``validate=True`` to :func:`~dumpfmt.read`/:func:`~dumpfmt.decode` to reject them instead.

This module holds the layout (constants, records, the decoded :class:`Dump`);
:mod:`dumpfmt.reader` reads it and :mod:`dumpfmt.writer` writes it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "COMPRESSIONS",
    "MAGIC",
    "MAX_FILE_BYTES",
    "MAX_SAMPLES",
    "Dump",
    "DumpError",
    "DumpInfo",
    "Header",
    "PlaneInfo",
    "TRANSFER",
    "TRANSFORM",
]

MAGIC = b"DMP0"

#: Transform byte values (Overmix ``Transform`` enum, catalogue §1.2).
TRANSFORM = {"gray": 0, "rgb": 1, "ycbcr601": 2, "ycbcr709": 3, "jpeg": 4, "bayer": 5,
             "unknown": 6}
#: Transfer byte values (Overmix ``Transfer`` enum).
TRANSFER = {"linear": 0, "srgb": 1, "rec709": 2, "unknown": 3}

#: Compression names, in the order of the config bits that select them.
COMPRESSIONS = ("none", "zlib", "xz")

#: Largest plane (in samples) the reader accepts: 16384 x 16384. Guards against a header that
#: claims a huge plane behind a tiny, highly compressed payload.
MAX_SAMPLES = 1 << 28
#: Largest decoded size of one file, all planes together (bytes of samples: 1 per sample up to
#: 8 bits, 2 above). Checked from the plane records, before anything is allocated or
#: decompressed. 1 GiB holds e.g. a 16384 x 16384 8-bit 4:4:4 picture (768 MiB) or a
#: 7680 x 4320 16-bit 4:4:4 + alpha frame (253 MiB); four 16384^2 16-bit planes (2 GiB) are
#: refused.
MAX_FILE_BYTES = 1 << 30

#: A plane record (width, height, depth, config) and the u32 compressed-length field.
PLANE_RECORD = struct.Struct("<IIHH")
U32 = struct.Struct("<I")
#: Config bits selecting the payload compression.
CFG_ZLIB = 0x1
CFG_XZ = 0x2


class DumpError(ValueError):
    """A dump whose bytes do not follow the format, or arguments that cannot be written."""


@dataclass(frozen=True)
class Header:
    """The optional file header.

    ``transform``/``transfer`` are the raw header bytes (0-255; see :data:`TRANSFORM` and
    :data:`TRANSFER`), ``None`` when the file has no ``DMP0`` magic.
    """

    has_magic: bool
    transform: int | None = None
    transfer: int | None = None


@dataclass(frozen=True)
class PlaneInfo:
    """One plane record as stored.

    Attributes
    ----------
    width, height : int
        Plane size in samples.
    depth : int
        Bits per sample, 1-16.
    compression : str
        ``"none"``, ``"zlib"`` or ``"xz"``.
    payload_bytes : int
        Bytes of payload in the file (compressed size, or ``width*height*B`` when raw).
    offset : int
        File offset of the payload's first byte.
    """

    width: int
    height: int
    depth: int
    compression: str
    payload_bytes: int
    offset: int

    @property
    def bytes_per_sample(self) -> int:
        return 1 if self.depth <= 8 else 2

    @property
    def raw_bytes(self) -> int:
        """Size of the decoded samples, ``width * height * B``."""
        return self.width * self.height * self.bytes_per_sample


@dataclass(frozen=True)
class DumpInfo:
    """What :func:`read_info` learns without decompressing: header, plane records, file size."""

    header: Header
    planes: list[PlaneInfo]
    file_size: int

    @property
    def raw_bytes(self) -> int:
        return sum(p.raw_bytes for p in self.planes)


@dataclass
class Dump:
    """A decoded dump.

    Attributes
    ----------
    header : Header
    planes : list of ndarray
        2-D ``(height, width)`` arrays of the stored codes, ``uint8`` for depth <= 8 and
        ``uint16`` otherwise (native byte order, writable). Never shifted or masked.
    depths : list of int
        Bits per sample of each plane.
    compressions : list of str
        How each plane was stored.
    """

    header: Header
    planes: list[np.ndarray]
    depths: list[int]
    compressions: list[str] = field(default_factory=list)

    @property
    def width(self) -> int:
        return int(self.planes[0].shape[1])

    @property
    def height(self) -> int:
        return int(self.planes[0].shape[0])

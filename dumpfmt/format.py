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
``validate=True`` to :func:`read`/:func:`decode` to reject them instead.
"""

from __future__ import annotations

import io
import lzma
import os
import secrets
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

try:  # optional accelerator for zlib levels 1-3; the format needs only the standard library
    from isal import isal_zlib as _isal_zlib
except ImportError:  # pragma: no cover - depends on the environment
    _isal_zlib = None

__all__ = [
    "COMPRESSIONS",
    "MAGIC",
    "MAX_SAMPLES",
    "Dump",
    "DumpError",
    "DumpInfo",
    "Header",
    "PlaneInfo",
    "TRANSFER",
    "TRANSFORM",
    "decode",
    "encode",
    "read",
    "read_info",
    "write",
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

_PLANE = struct.Struct("<IIHH")
_U32 = struct.Struct("<I")
_CFG_ZLIB = 0x1
_CFG_XZ = 0x2


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


# ----------------------------------------------------------------------------------- reading


def _open(src: str | os.PathLike[str] | bytes | bytearray | memoryview) -> tuple[BinaryIO, int]:
    if isinstance(src, (bytes, bytearray, memoryview)):
        data = bytes(src)
        return io.BytesIO(data), len(data)
    f = open(src, "rb")  # noqa: SIM115 - closed by the caller
    try:
        size = os.fstat(f.fileno()).st_size
    except BaseException:
        f.close()
        raise
    return f, size


def _read_exact(f: BinaryIO, n: int, what: str) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise DumpError(f"truncated {what}: {len(data)} of {n} bytes")
    return data


def _parse(f: BinaryIO, size: int) -> tuple[Header, list[PlaneInfo]]:
    """Walk the header and plane records, seeking over payloads; checks every size."""
    head = f.read(4)
    if head == MAGIC:
        if size < 6:
            raise DumpError("truncated header: DMP0 without transform and transfer bytes")
        transform, transfer = _read_exact(f, 2, "header")
        header = Header(True, transform, transfer)
    else:
        header = Header(False)
        f.seek(0)
    pos = f.tell()
    if pos >= size:
        raise DumpError("no plane in the file (empty dump)")
    planes: list[PlaneInfo] = []
    while pos < size:
        n = len(planes)
        left = size - pos
        if left < _PLANE.size:
            what = "plane header" if n < 4 else "trailing data"
            raise DumpError(
                f"truncated {what} after plane {n}: {left} bytes left, a plane header has 12"
            )
        width, height, depth, config = _PLANE.unpack(_read_exact(f, _PLANE.size, "plane header"))
        pos += _PLANE.size
        if n == 0 and not header.has_magic:
            _check_headerless_start(width, height, depth, config)
        if width == 0 or height == 0:
            if n == 0:
                raise DumpError(f"first plane has size {width}x{height}")
            if pos != size:  # an end-of-planes record must end the file
                raise DumpError(f"{size - pos} bytes of trailing data after the planes")
            break
        if n >= 4:
            raise DumpError("more than 4 planes (a dump has 1-4: gray, gray+alpha, 3 colour, "
                            "3 colour+alpha)")
        if not 1 <= depth <= 16:
            raise DumpError(f"plane {n}: unsupported bit depth {depth} (must be 1-16)")
        if config & ~0x3:
            raise DumpError(f"plane {n}: unknown compression flags 0x{config:04x}")
        if width * height > MAX_SAMPLES:
            raise DumpError(f"plane {n}: size {width}x{height} is larger than the reader accepts")
        bps = 1 if depth <= 8 else 2
        raw = width * height * bps
        if config & _CFG_ZLIB:
            comp = "zlib"
        elif config & _CFG_XZ:
            comp = "xz"
        else:
            comp = "none"
        if comp == "none":
            length = raw
        else:
            if size - pos < 4:
                raise DumpError(f"plane {n}: truncated compressed-length field")
            (length,) = _U32.unpack(_read_exact(f, 4, "length field"))
            pos += 4
        if length > size - pos:
            raise DumpError(
                f"plane {n} ({width}x{height}, depth {depth}, {comp}): truncated payload, "
                f"needs {length} bytes, {size - pos} left"
            )
        planes.append(PlaneInfo(width, height, depth, comp, length, pos))
        pos += length
        f.seek(pos)
    return header, planes


def _check_headerless_start(width: int, height: int, depth: int, config: int) -> None:
    """A file without ``DMP0`` must start with a plausible plane record, else it is not a dump."""
    problem = None
    if width == 0 or height == 0:
        problem = f"first plane has size {width}x{height}"
    elif not 1 <= depth <= 16:
        problem = f"first plane has bit depth {depth}"
    elif config & ~0x3:
        problem = f"first plane has unknown compression flags 0x{config:04x}"
    elif width * height > MAX_SAMPLES:
        problem = f"first plane has size {width}x{height}"
    if problem:
        raise DumpError(f"not a dump file (no DMP0 header, and the {problem})")


def _decompress(data: bytes, info: PlaneInfo, index: int) -> bytes:
    """Inflate one payload, producing at most ``info.raw_bytes`` bytes."""
    want = info.raw_bytes
    try:
        if info.compression == "zlib":
            dz = zlib.decompressobj()
            out = dz.decompress(data, want)
            if not dz.eof and dz.unconsumed_tail:
                if dz.decompress(dz.unconsumed_tail, 1):
                    raise DumpError(
                        f"plane {index}: zlib payload inflates to more than {want} bytes"
                    )
            if not dz.eof:
                raise DumpError(f"plane {index}: zlib payload is truncated or corrupt")
            extra = dz.unused_data
        else:
            dec = lzma.LZMADecompressor(lzma.FORMAT_AUTO)
            out = dec.decompress(data, want)
            if not dec.eof and len(out) >= want:
                if dec.decompress(b"", 1):
                    raise DumpError(
                        f"plane {index}: xz payload decompresses to more than {want} bytes"
                    )
            if not dec.eof:
                raise DumpError(f"plane {index}: xz payload is truncated or corrupt")
            extra = dec.unused_data
    except zlib.error as exc:
        raise DumpError(f"plane {index}: corrupt zlib payload ({exc})") from None
    except lzma.LZMAError as exc:
        raise DumpError(f"plane {index}: corrupt xz payload ({exc})") from None
    if extra:
        raise DumpError(f"plane {index}: {len(extra)} bytes of garbage after the "
                        f"{info.compression} stream")
    if len(out) != want:
        raise DumpError(f"plane {index}: {info.compression} payload decompresses to {len(out)} "
                        f"bytes, a {info.width}x{info.height} depth-{info.depth} plane needs "
                        f"{want}")
    return out


def _decode_all(f: BinaryIO, size: int, validate: bool) -> Dump:
    header, infos = _parse(f, size)
    planes: list[np.ndarray] = []
    for i, p in enumerate(infos):
        dtype = np.dtype("<u1") if p.depth <= 8 else np.dtype("<u2")
        f.seek(p.offset)
        if p.compression == "none":
            arr = np.empty((p.height, p.width), dtype=dtype)
            if f.readinto(memoryview(arr).cast("B")) != p.raw_bytes:  # type: ignore[attr-defined]
                raise DumpError(f"plane {i}: truncated payload")  # file shrank under us
        else:
            data = _read_exact(f, p.payload_bytes, f"plane {i} payload")
            arr = np.frombuffer(_decompress(data, p, i), dtype=dtype).reshape(p.height, p.width)
            arr = arr.copy()
        arr = arr.astype(np.uint8 if p.depth <= 8 else np.uint16, copy=False)
        if validate and p.depth not in (8, 16):
            top = int(arr.max())
            if top > (1 << p.depth) - 1:
                raise DumpError(f"plane {i}: sample {top} does not fit in {p.depth} bits")
        planes.append(arr)
    return Dump(header, planes, [p.depth for p in infos], [p.compression for p in infos])


def read(src: str | os.PathLike[str] | bytes, *, validate: bool = False) -> Dump:
    """Read and decode a whole dump.

    Parameters
    ----------
    src : path or bytes
        A file name, or the file's bytes.
    validate : bool
        Also reject samples above ``2**depth - 1`` (by default they are kept as stored).

    Raises
    ------
    DumpError
        Malformed, truncated or corrupt input (a ``ValueError``).
    OSError
        The file cannot be opened or read.
    """
    f, size = _open(src)
    with f:
        return _decode_all(f, size, validate)


def decode(data: bytes | bytearray | memoryview, *, validate: bool = False) -> Dump:
    """:func:`read` for bytes in memory."""
    return read(bytes(data), validate=validate)


def read_info(src: str | os.PathLike[str] | bytes) -> DumpInfo:
    """Header and plane records without decompressing any payload (payloads are seeked over).

    All structural checks of :func:`read` are done (sizes, depths, plane count, trailing data);
    only the payload contents are not looked at.
    """
    f, size = _open(src)
    with f:
        header, planes = _parse(f, size)
    return DumpInfo(header, planes, size)


# ----------------------------------------------------------------------------------- writing


def _plane_bytes(plane: np.ndarray, depth: int, index: int, check_range: bool = True) -> bytes:
    a = np.asarray(plane)
    if a.ndim != 2:
        raise DumpError(f"plane {index} has {a.ndim} dimensions, need 2")
    h, w = a.shape
    if not (0 < w < 1 << 32 and 0 < h < 1 << 32):
        raise DumpError(f"plane {index} has size {w}x{h}")
    if a.dtype.kind not in "ui" and a.dtype != np.bool_:
        raise DumpError(f"plane {index} has dtype {a.dtype}; samples must be integers")
    if a.size:
        lo, hi = int(a.min()), int(a.max())
        top = (1 << depth) - 1 if check_range else (255 if depth <= 8 else 65535)
        if lo < 0 or hi > top:
            raise DumpError(
                f"plane {index} has samples {lo}..{hi}, outside 0..{top} for depth {depth}"
            )
    dtype = "<u1" if depth <= 8 else "<u2"
    return np.ascontiguousarray(a, dtype=dtype).tobytes()


def _zlib_compress(raw: bytes, level: int) -> bytes:
    """A zlib (RFC 1950) stream of ``raw``.

    Levels 1-3 use Intel ISA-L's deflate (the ``isal`` package) when it is installed: the same
    stream format any zlib reads (Overmix included), about 4x faster than zlib's level 1 at a
    similar ratio on 10-bit video planes. Without it, and for every other level, the standard
    library's zlib.
    """
    if 1 <= level <= 3 and _isal_zlib is not None:
        return _isal_zlib.compress(raw, level)
    return zlib.compress(raw, level)


def _compress(raw: bytes, compression: str, level: int | None) -> bytes:
    if compression == "zlib":
        return _zlib_compress(raw, 6 if level is None else level)
    # .xz container with CRC64, as Overmix writes it (catalogue §1.5), any preset.
    return lzma.compress(raw, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64,
                         preset=6 if level is None else level)


def _check_level(compression: str, level: int | None) -> None:
    if level is None or compression == "none":
        return
    if compression == "zlib" and not -1 <= level <= 9:
        raise DumpError(f"zlib level {level} is outside 0-9")
    if compression == "xz" and not 0 <= (level & ~lzma.PRESET_EXTREME) <= 9:
        raise DumpError(f"xz preset {level} is outside 0-9 (optionally | PRESET_EXTREME)")


def encode(
    planes: Sequence[np.ndarray],
    *,
    depth: int | Sequence[int],
    transform: int | None = None,
    transfer: int | None = None,
    compression: str | Sequence[str] | None = None,
    level: int | None = None,
    alpha: np.ndarray | None = None,
    magic: bool = True,
    legacy: bool = False,
    check_range: bool = True,
) -> bytes:
    """The bytes of a dump.

    Parameters
    ----------
    planes : sequence of 2-D integer arrays
        The colour planes in stored order (Y', Cb, Cr / R, G, B / gray), or all planes when
        ``alpha`` is None (2 or 4 planes: the last is alpha). Chroma planes may be smaller
        (subsampling is implied by the sizes). Values must fit in ``depth`` bits.
    depth : int or sequence of int
        Bits per sample (1-16), one for all planes or one per plane (alpha included).
    transform, transfer : int, optional
        Header bytes (:data:`TRANSFORM`, :data:`TRANSFER`); defaults: gray for one colour
        plane, else YCbCr 709; transfer Rec.709. Any byte 0-255 is written as given.
    compression : str or sequence of str
        ``"zlib"`` (default), ``"xz"`` or ``"none"``, for all planes or one per plane.
    level : int, optional
        zlib level 0-9 (default 6) or xz preset 0-9, optionally ``| lzma.PRESET_EXTREME``
        (default 6).
    alpha : 2-D array, optional
        Appended as the last plane.
    magic : bool
        Write the ``DMP0`` header (default). Without it the transform/transfer are not stored.
    legacy : bool
        video_dumper style: no header, raw planes (implies ``magic=False``, compression none).
    check_range : bool
        Reject samples above ``2**depth - 1`` (default). ``False`` stores any value that fits
        the sample size (1 or 2 bytes), e.g. to re-encode a file as it was read.
    """
    planes = list(planes)
    if alpha is not None:
        if len(planes) not in (1, 3):
            raise DumpError(f"alpha given with {len(planes)} colour planes (need 1 or 3)")
        planes.append(alpha)
    if not 1 <= len(planes) <= 4:
        raise DumpError(f"a dump holds 1-4 planes, got {len(planes)}")
    depths = [depth] * len(planes) if isinstance(depth, (int, np.integer)) else list(depth)
    if len(depths) != len(planes):
        raise DumpError(f"{len(depths)} depths for {len(planes)} planes")
    for d in depths:
        if not 1 <= int(d) <= 16:
            raise DumpError(f"bit depth {d} is outside 1-16")
    if legacy:
        if compression not in (None, "none") and set(
            [compression] if isinstance(compression, str) else compression
        ) != {"none"}:
            raise DumpError("legacy (video_dumper) dumps are uncompressed")
        magic = False
        compression = "none"
    comps = [compression or "zlib"] * len(planes) if (
        compression is None or isinstance(compression, str)) else list(compression)
    if len(comps) != len(planes):
        raise DumpError(f"{len(comps)} compressions for {len(planes)} planes")
    for c in comps:
        if c not in COMPRESSIONS:
            raise DumpError(f"unknown compression {c!r} (use zlib, xz or none)")
        _check_level(c, level)
    ncolour = len(planes) - (1 if len(planes) in (2, 4) else 0)
    if transform is None:
        transform = TRANSFORM["gray"] if ncolour == 1 else TRANSFORM["ycbcr709"]
    if transfer is None:
        transfer = TRANSFER["rec709"]
    if not (0 <= transform <= 255 and 0 <= transfer <= 255):
        raise DumpError(f"header bytes must be 0-255, got {transform}, {transfer}")

    out = bytearray()
    if magic:
        out += MAGIC + bytes((transform, transfer))
    for i, (p, d, c) in enumerate(zip(planes, depths, comps, strict=True)):
        raw = _plane_bytes(p, int(d), i, check_range)
        h, w = np.shape(p)
        if c == "none":
            out += _PLANE.pack(w, h, int(d), 0)
            out += raw
        else:
            payload = _compress(raw, c, level)
            out += _PLANE.pack(w, h, int(d), _CFG_ZLIB if c == "zlib" else _CFG_XZ)
            out += _U32.pack(len(payload))
            out += payload
    return bytes(out)


def write_bytes(path: str | os.PathLike[str], data: bytes, *, fsync: bool = False,
                mode: int | None = None) -> None:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder + rename).

    The new file gets ``mode`` when given, else the usual ``0o666 & ~umask``. With ``fsync``
    the data reach the disk before the rename (safe against power loss, slower).
    """
    path = Path(path)
    folder = path.parent
    while True:  # like mkstemp, but honouring the umask (mkstemp makes 0600 files)
        tmp = folder / f".{path.name}.tmp-{secrets.token_hex(6)}.dump"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                         0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write(
    path: str | os.PathLike[str],
    planes: Sequence[np.ndarray],
    *,
    depth: int | Sequence[int],
    transform: int | None = None,
    transfer: int | None = None,
    compression: str | Sequence[str] | None = None,
    level: int | None = None,
    alpha: np.ndarray | None = None,
    magic: bool = True,
    legacy: bool = False,
    check_range: bool = True,
) -> int:
    """Encode (see :func:`encode` for the parameters) and write atomically; returns the size.

    The file appears complete or not at all: it is written to a hidden temporary file in the
    same folder and renamed over ``path``.
    """
    data = encode(planes, depth=depth, transform=transform, transfer=transfer,
                  compression=compression, level=level, alpha=alpha, magic=magic, legacy=legacy,
                  check_range=check_range)
    write_bytes(path, data)
    return len(data)

"""Reading dumps: structure first (every size checked against the bytes left), then payloads.

Nothing is allocated or decompressed before its size has been checked, and decompression is
bounded to the plane's ``width * height * B`` bytes (see :mod:`dumpfmt.format`).
"""

from __future__ import annotations

import io
import lzma
import os
import stat
import zlib
from typing import BinaryIO

import numpy as np

from dumpfmt.format import (
    CFG_XZ,
    CFG_ZLIB,
    MAGIC,
    MAX_FILE_BYTES,
    MAX_SAMPLES,
    PLANE_RECORD,
    U32,
    Dump,
    DumpError,
    DumpInfo,
    Header,
    PlaneInfo,
)

__all__ = ["decode", "read", "read_info"]


def _open(src: str | os.PathLike[str] | bytes | bytearray | memoryview) -> tuple[BinaryIO, int]:
    if isinstance(src, (bytes, bytearray, memoryview)):
        data = bytes(src)
        return io.BytesIO(data), len(data)
    st = os.stat(src)
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(21, "Is a directory", str(src))
    if not stat.S_ISREG(st.st_mode):  # a FIFO or a device would block or never end
        raise DumpError("not a regular file (a FIFO or a device); dumps are read from files")
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
    total = 0  # decoded bytes of the planes so far
    while pos < size:
        n = len(planes)
        left = size - pos
        if left < PLANE_RECORD.size:
            what = "plane header" if n < 4 else "trailing data"
            raise DumpError(
                f"truncated {what} after plane {n}: {left} bytes left, a plane header has 12"
            )
        record = _read_exact(f, PLANE_RECORD.size, "plane header")
        width, height, depth, config = PLANE_RECORD.unpack(record)
        pos += PLANE_RECORD.size
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
        if config & CFG_ZLIB:
            comp = "zlib"
        elif config & CFG_XZ:
            comp = "xz"
        else:
            comp = "none"
        if comp == "none":
            length = raw
        else:
            if size - pos < 4:
                raise DumpError(f"plane {n}: truncated compressed-length field")
            (length,) = U32.unpack(_read_exact(f, 4, "length field"))
            pos += 4
        if length > size - pos:
            raise DumpError(
                f"plane {n} ({width}x{height}, depth {depth}, {comp}): truncated payload, "
                f"needs {length} bytes, {size - pos} left"
            )
        total += raw
        if total > MAX_FILE_BYTES:
            raise DumpError(f"planes 0-{n} decode to {total} bytes, more than the "
                            f"{MAX_FILE_BYTES >> 20} MiB per file the reader accepts")
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

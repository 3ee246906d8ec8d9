"""Writing dumps: planes at native depth, zlib (default), xz or raw, written atomically."""

from __future__ import annotations

import lzma
import os
import secrets
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dumpfmt.format import (
    CFG_XZ,
    CFG_ZLIB,
    COMPRESSIONS,
    MAGIC,
    MAX_FILE_BYTES,
    MAX_SAMPLES,
    PLANE_RECORD,
    TRANSFER,
    TRANSFORM,
    U32,
    DumpError,
)

try:  # optional accelerator for zlib levels 1-3; the format needs only the standard library
    from isal import isal_zlib as _isal_zlib
except ImportError:  # pragma: no cover - depends on the environment
    _isal_zlib = None

__all__ = ["check_level", "encode", "write", "write_bytes"]


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


def check_level(compression: str, level: int | None) -> None:
    """Raise :class:`DumpError` when ``level`` is not valid for ``compression``."""
    if level is None or compression == "none":
        return
    if compression == "zlib" and not -1 <= level <= 9:
        raise DumpError(f"zlib level {level} is outside 0-9")
    if compression == "xz" and not 0 <= (level & ~lzma.PRESET_EXTREME) <= 9:
        raise DumpError(f"xz preset {level} is outside 0-9 (optionally | PRESET_EXTREME)")


def _plane_settings(planes: Sequence[np.ndarray], depth: int | Sequence[int],
                    compression: str | Sequence[str] | None, level: int | None,
                    alpha: np.ndarray | None, magic: bool, legacy: bool
                    ) -> tuple[list[np.ndarray], list[int], list[str], bool]:
    """:func:`encode`'s arguments checked and spread per plane: planes, depths, compressions
    and whether to write the header."""
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
        check_level(c, level)
    # What the reader would refuse is not written (one limit for both sides).
    size = sum(int(np.size(p)) * (1 if int(d) <= 8 else 2)
               for p, d in zip(planes, depths, strict=True))
    if size > MAX_FILE_BYTES:
        raise DumpError(f"the planes take {size} bytes, more than the {MAX_FILE_BYTES >> 20} MiB "
                        "per file a dump may hold")
    shapes = [np.shape(p) for p in planes]
    if any(len(s) == 2 and s[0] * s[1] > MAX_SAMPLES for s in shapes):
        raise DumpError(f"a plane of {max(s[0] * s[1] for s in shapes if len(s) == 2)} samples "
                        f"is larger than the {MAX_SAMPLES} a dump plane may hold")
    return planes, depths, comps, magic


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
    planes, depths, comps, magic = _plane_settings(planes, depth, compression, level, alpha,
                                                   magic, legacy)
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
            out += PLANE_RECORD.pack(w, h, int(d), 0)
            out += raw
        else:
            payload = _compress(raw, c, level)
            out += PLANE_RECORD.pack(w, h, int(d), CFG_ZLIB if c == "zlib" else CFG_XZ)
            out += U32.pack(len(payload))
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
        # The pid lets a later run tell a dead process's leftover from a write in progress.
        tmp = folder / f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(6)}.dump"
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

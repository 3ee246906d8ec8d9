"""Malformed dumps fail fast with DumpError, before anything large is allocated."""

from __future__ import annotations

import lzma
import struct
import zlib

import numpy as np
import pytest

import dumpfmt

Y = (np.arange(16 * 12, dtype=np.uint16).reshape(12, 16) * 5) % 1024


def _good(comp: str = "zlib") -> bytes:
    return dumpfmt.encode([Y, Y[:6, :8], Y[:6, :8]], depth=10, compression=comp)


@pytest.mark.parametrize("comp", ["zlib", "xz", "none"])
@pytest.mark.parametrize("cut", [3, 5, 6, 10, 17, 21, 40, -1])
def test_truncated(comp: str, cut: int) -> None:
    data = _good(comp)
    with pytest.raises(dumpfmt.DumpError, match="truncated|no plane|size|depth"):
        dumpfmt.decode(data[:cut])
    with pytest.raises(dumpfmt.DumpError):
        dumpfmt.read_info(data[:cut])


def test_empty_and_garbage() -> None:
    with pytest.raises(dumpfmt.DumpError, match="no plane"):
        dumpfmt.decode(b"")
    with pytest.raises(dumpfmt.DumpError, match="not a dump file"):
        dumpfmt.decode(b"GIF89a this is not a dump at all, just some text " * 20)
    rng = np.random.default_rng(0)
    for _ in range(50):  # random bytes never crash, never allocate wildly
        blob = rng.integers(0, 256, int(rng.integers(1, 300)), dtype=np.uint8).tobytes()
        with pytest.raises(dumpfmt.DumpError):
            dumpfmt.decode(blob)


def test_five_planes() -> None:
    p = np.zeros((2, 2), np.uint8)
    rec = struct.pack("<IIHH", 2, 2, 8, 0) + p.tobytes()
    with pytest.raises(dumpfmt.DumpError, match="more than 4 planes"):
        dumpfmt.decode(b"DMP0\x00\x00" + rec * 5)
    with pytest.raises(dumpfmt.DumpError, match="more than 4 planes"):
        dumpfmt.read_info(b"DMP0\x00\x00" + rec * 5)
    with pytest.raises(dumpfmt.DumpError, match="1-4 planes"):
        dumpfmt.encode([p] * 5, depth=8)


@pytest.mark.parametrize("depth", [0, 17, 32, 33, 65535])
def test_bad_depth(depth: int) -> None:
    blob = b"DMP0\x00\x00" + struct.pack("<IIHH", 2, 2, depth, 0) + bytes(8)
    with pytest.raises(dumpfmt.DumpError, match=f"bit depth {depth}"):
        dumpfmt.decode(blob)
    with pytest.raises(dumpfmt.DumpError, match="outside 1-16"):
        dumpfmt.encode([np.zeros((2, 2), np.uint16)], depth=depth)


def test_zero_size_first_plane() -> None:
    with pytest.raises(dumpfmt.DumpError, match="first plane has size 0x4"):
        dumpfmt.decode(b"DMP0\x00\x00" + struct.pack("<IIHH", 0, 4, 8, 0))


def test_end_record_and_trailing_garbage() -> None:
    good = _good("none")
    # an end-of-planes record (width 0) at the very end is accepted, as Overmix stops there
    assert len(dumpfmt.decode(good + bytes(12)).planes) == 3
    with pytest.raises(dumpfmt.DumpError, match="trailing"):
        dumpfmt.decode(good + bytes(12) + b"junk")
    with pytest.raises(dumpfmt.DumpError, match="truncated plane header"):
        dumpfmt.decode(good + b"xyz")


@pytest.mark.parametrize("comp", ["zlib", "xz"])
def test_corrupt_payload(comp: str) -> None:
    data = bytearray(_good(comp))
    info = dumpfmt.read_info(bytes(data))
    p = info.planes[0]
    mid = p.offset + p.payload_bytes // 2
    data[mid : mid + 4] = bytes(b ^ 0x5A for b in data[mid : mid + 4])
    with pytest.raises(dumpfmt.DumpError, match=f"plane 0: (corrupt {comp}|{comp})"):
        dumpfmt.decode(bytes(data))
    # read_info does not look at payloads, so it still works
    assert len(dumpfmt.read_info(bytes(data)).planes) == 3


def test_payload_too_large_or_small_for_plane() -> None:
    big = zlib.compress(bytes(10_000))  # claims a 4x4 8-bit plane (16 bytes)
    blob = struct.pack("<IIHHI", 4, 4, 8, 1, len(big)) + big
    with pytest.raises(dumpfmt.DumpError, match="more than 16 bytes"):
        dumpfmt.decode(blob)
    small = lzma.compress(bytes(10))
    blob = struct.pack("<IIHHI", 4, 4, 8, 2, len(small)) + small
    with pytest.raises(dumpfmt.DumpError, match="decompresses to 10 bytes"):
        dumpfmt.decode(blob)
    xbig = lzma.compress(bytes(100))
    blob = struct.pack("<IIHHI", 4, 4, 8, 2, len(xbig)) + xbig
    with pytest.raises(dumpfmt.DumpError, match="more than 16 bytes"):
        dumpfmt.decode(blob)


def test_huge_claimed_size_fails_before_allocating() -> None:
    # 60000 x 60000 16-bit raw plane claimed in a 30-byte file: must not try to allocate 7 GB.
    blob = struct.pack("<IIHH", 60000, 60000, 16, 0) + bytes(18)
    with pytest.raises(dumpfmt.DumpError, match="not a dump file|larger than|truncated"):
        dumpfmt.decode(blob)
    blob = struct.pack("<IIHH", 4000, 4000, 16, 0) + bytes(18)
    with pytest.raises(dumpfmt.DumpError, match="truncated payload, needs 32000000 bytes"):
        dumpfmt.decode(blob)


def test_unknown_compression_bits() -> None:
    blob = struct.pack("<IIHH", 1, 1, 8, 0x10) + b"\x00"
    with pytest.raises(dumpfmt.DumpError, match="compression flags"):
        dumpfmt.decode(blob)


def test_missing_file_is_oserror(tmp_path) -> None:
    with pytest.raises(FileNotFoundError):
        dumpfmt.read(tmp_path / "nope.dump")

"""dumpfmt round trips, checked against an independent reader written from the byte layout.

The reader ``_independent_read`` below is written only from overmix-catalogue.md §1.1 (it is
deliberately naive: struct + zlib/lzma one-shot calls, no shared code with dumpfmt).
"""

from __future__ import annotations

import lzma
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dumpfmt


def _independent_read(data: bytes) -> dict:
    """Catalogue §1.1: optional DMP0 + transform + transfer, then plane records until EOF."""
    out: dict = {"magic": False, "transform": None, "transfer": None, "planes": []}
    pos = 0
    if data[:4] == b"DMP0":
        out["magic"] = True
        out["transform"], out["transfer"] = data[4], data[5]
        pos = 6
    while pos < len(data):
        width, height, depth, config = struct.unpack_from("<IIHH", data, pos)
        pos += 12
        if width == 0 or height == 0 or depth > 32:
            break
        nbytes = 1 if depth <= 8 else 2
        if config & 3:
            (length,) = struct.unpack_from("<I", data, pos)
            pos += 4
            payload = data[pos : pos + length]
            pos += length
            if config & 1:
                raw = zlib.decompress(payload)
                kind = "zlib"
            else:
                raw = lzma.decompress(payload)
                assert payload[:6] == b"\xfd7zXZ\x00"  # .xz container, as Overmix reads
                kind = "xz"
        else:
            raw = data[pos : pos + width * height * nbytes]
            pos += width * height * nbytes
            kind = "none"
        assert len(raw) == width * height * nbytes
        samples = np.frombuffer(raw, dtype="<u1" if nbytes == 1 else "<u2").reshape(height, width)
        out["planes"].append((depth, kind, samples))
    return out


@st.composite
def dump_cases(draw: st.DrawFn) -> dict:
    colour = draw(st.sampled_from([1, 3]))
    alpha = draw(st.booleans())
    h = draw(st.integers(1, 37))
    w = draw(st.integers(1, 37))
    sx, sy = draw(st.sampled_from([(1, 1), (2, 1), (2, 2), (4, 1)]))
    # video_dumper floors chroma sizes, we ceil; both must round-trip (floor may give 0: skip)
    rounding = draw(st.sampled_from(["ceil", "floor"]))
    if rounding == "ceil":
        ch, cw = -(-h // sy), -(-w // sx)
    else:
        ch, cw = max(1, h // sy), max(1, w // sx)
    depth = draw(st.integers(1, 16))
    legacy = draw(st.booleans())
    magic = not legacy and draw(st.booleans())
    n = colour + alpha
    comps = ["none"] * n if legacy else draw(
        st.lists(st.sampled_from(["none", "zlib", "xz"]), min_size=n, max_size=n)
    )
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    dtype = np.uint8 if depth <= 8 else np.uint16
    shapes = [(h, w)] + ([(ch, cw)] * 2 if colour == 3 else []) + ([(h, w)] if alpha else [])
    # Mix of noise and flat areas so both compressible and incompressible data are written.
    planes = []
    for s in shapes:
        p = rng.integers(0, 1 << depth, size=s, dtype=np.int64)
        p[: s[0] // 2] = rng.integers(0, 1 << depth)
        planes.append(p.astype(dtype))
    transform = draw(st.integers(0, 6))
    transfer = draw(st.integers(0, 3))
    return dict(planes=planes, depth=depth, comps=comps, magic=magic, legacy=legacy,
                transform=transform, transfer=transfer)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dump_cases())
def test_round_trip_every_variant(case: dict) -> None:
    planes = case["planes"]
    data = dumpfmt.encode(
        planes, depth=case["depth"], compression=case["comps"], magic=case["magic"],
        legacy=case["legacy"], transform=case["transform"], transfer=case["transfer"],
    )
    # Our reader
    dump = dumpfmt.decode(data, validate=True)
    assert dump.header.has_magic == case["magic"]
    if case["magic"]:
        assert (dump.header.transform, dump.header.transfer) == (case["transform"],
                                                                  case["transfer"])
    else:
        assert data[:4] != b"DMP0"
    assert dump.depths == [case["depth"]] * len(planes)
    assert dump.compressions == case["comps"]
    for got, want in zip(dump.planes, planes, strict=True):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    # The independent reader
    ind = _independent_read(data)
    assert ind["magic"] == case["magic"]
    if case["magic"]:
        assert (ind["transform"], ind["transfer"]) == (case["transform"], case["transfer"])
    assert [k for _, k, _ in ind["planes"]] == case["comps"]
    for (d, _, got), want in zip(ind["planes"], planes, strict=True):
        assert d == case["depth"]
        np.testing.assert_array_equal(got, want)
    # Header-only view agrees without decoding
    info = dumpfmt.read_info(data)
    assert info.file_size == len(data)
    assert [(p.width, p.height) for p in info.planes] == [(p.shape[1], p.shape[0])
                                                         for p in planes]
    # Re-encoding what was read gives the same bytes (deterministic writer)
    again = dumpfmt.encode(dump.planes, depth=dump.depths, compression=dump.compressions,
                           magic=dump.header.has_magic, transform=case["transform"],
                           transfer=case["transfer"])
    assert again == data


def test_write_to_file_is_atomic_and_readable(tmp_path) -> None:
    y = (np.arange(6 * 5, dtype=np.uint16).reshape(6, 5) * 30) % 1024
    path = tmp_path / "a.dump"
    size = dumpfmt.write(path, [y, y[:3, :3], y[:3, :3]], depth=10, compression="xz",
                         level=9 | lzma.PRESET_EXTREME, transform=3, transfer=2)
    assert path.stat().st_size == size
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.dump"]  # no temp file left
    d = dumpfmt.read(path)
    np.testing.assert_array_equal(d.planes[0], y)
    assert d.compressions == ["xz"] * 3


def test_tiny_planes_compress_fine() -> None:
    # Overmix fails to LZMA-compress planes under ~50 bytes (catalogue §1.5); we must not.
    one = np.array([[7]], dtype=np.uint8)
    for comp in ("xz", "zlib", "none"):
        d = dumpfmt.decode(dumpfmt.encode([one, one, one, one], depth=3, compression=comp))
        assert [int(p[0, 0]) for p in d.planes] == [7, 7, 7, 7]


def test_overmix_written_example_catalogue_1_5() -> None:
    """DMP0, RGB, sRGB, 640x360, depth 10, LZMA: the header bytes of catalogue §1.5."""
    rng = np.random.default_rng(5)
    planes = []
    blob = b"DMP0" + bytes([1, 1])
    for k in range(3):
        # smooth gradient + some noise, like a pre-processed picture
        p = (np.add.outer(np.arange(360), np.arange(640)) + 100 * k) % 1024
        p = np.clip(p + rng.integers(-3, 4, p.shape), 0, 1023).astype("<u2")
        planes.append(p)
        payload = lzma.compress(p.tobytes(), format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64,
                                preset=1)
        blob += struct.pack("<IIHHI", 640, 360, 10, 2, len(payload)) + payload
    # 44 4D 50 30 | 01 01 | 80 02 00 00 | 68 01 00 00 | 0A 00 | 02 00 | L | FD 37 7A 58 5A 00
    assert blob[:18] == bytes.fromhex("444D5030" "0101" "80020000" "68010000" "0A00" "0200")
    assert blob[22:28] == b"\xfd7zXZ\x00"
    d = dumpfmt.decode(blob)
    assert d.header == dumpfmt.Header(True, dumpfmt.TRANSFORM["rgb"], dumpfmt.TRANSFER["srgb"])
    assert d.depths == [10, 10, 10] and d.compressions == ["xz"] * 3
    for got, want in zip(d.planes, planes, strict=True):
        assert got.dtype == np.uint16
        np.testing.assert_array_equal(got, want)
    info = dumpfmt.read_info(blob)
    assert info.planes[0].offset == 22 and info.planes[0].compression == "xz"


def test_video_dumper_legacy_10bit_420() -> None:
    """Headerless, three 32-bit (w, h, depth) plane headers, raw LE samples (catalogue §1.6)."""
    rng = np.random.default_rng(1)
    y = rng.integers(64, 941, (360, 640)).astype("<u2")
    cb = rng.integers(64, 961, (180, 320)).astype("<u2")
    cr = rng.integers(64, 961, (180, 320)).astype("<u2")
    blob = b"".join(struct.pack("<III", p.shape[1], p.shape[0], 10) + p.tobytes()
                    for p in (y, cb, cr))
    assert len(blob) == 691236  # the size formula of §1.6
    d = dumpfmt.decode(blob)
    assert d.header == dumpfmt.Header(False, None, None)
    assert d.depths == [10] * 3 and d.compressions == ["none"] * 3
    for got, want in zip(d.planes, (y, cb, cr), strict=True):
        np.testing.assert_array_equal(got, want)
    # and our legacy writer produces exactly these bytes
    assert dumpfmt.encode([y, cb, cr], depth=10, legacy=True) == blob


def test_lzma_alone_payload_is_accepted() -> None:
    p = np.arange(12, dtype=np.uint8).reshape(3, 4)
    payload = lzma.compress(p.tobytes(), format=lzma.FORMAT_ALONE)
    blob = struct.pack("<IIHHI", 4, 3, 8, 2, len(payload)) + payload
    np.testing.assert_array_equal(dumpfmt.decode(blob).planes[0], p)


def test_out_of_range_samples_kept_or_rejected() -> None:
    p = np.array([[0, 1023]], dtype="<u2")
    blob = struct.pack("<IIHH", 2, 1, 9, 0) + p.tobytes()  # 1023 > 511
    assert int(dumpfmt.decode(blob).planes[0][0, 1]) == 1023  # kept, not masked
    with pytest.raises(dumpfmt.DumpError, match="does not fit in 9 bits"):
        dumpfmt.decode(blob, validate=True)
    with pytest.raises(dumpfmt.DumpError, match="outside 0..511"):
        dumpfmt.encode([p], depth=9)


def test_out_of_range_samples_can_be_reencoded_as_stored() -> None:
    p = np.array([[0, 1023, 65535]], dtype=np.uint16)
    data = dumpfmt.encode([p], depth=9, compression="xz", check_range=False)
    np.testing.assert_array_equal(dumpfmt.decode(data).planes[0], p)
    with pytest.raises(dumpfmt.DumpError, match="outside 0..255"):
        dumpfmt.encode([np.array([[256]])], depth=8, check_range=False)


@pytest.mark.parametrize("level", [1, 2, 3, 6, 9])
def test_fast_zlib_levels_are_plain_zlib_streams(level: int) -> None:
    # Levels 1-3 may go through ISA-L; any zlib (Overmix's uncompress()) must still read them.
    rng = np.random.default_rng(level)
    y = (rng.integers(0, 60, (36, 52)) * 16 + np.arange(52)).astype(np.uint16)
    data = dumpfmt.encode([y], depth=10, compression="zlib", level=level)
    (depth, kind, got), = _independent_read(data)["planes"]
    assert (depth, kind) == (10, "zlib")
    np.testing.assert_array_equal(got, y)
    length = struct.unpack_from("<I", data, 6 + 12)[0]
    assert zlib.decompress(data[6 + 16 : 6 + 16 + length]) == y.astype("<u2").tobytes()

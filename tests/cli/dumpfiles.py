"""Dump files for CLI tests: every variant the reader accepts, and every kind of bad file."""

from __future__ import annotations

import lzma
import struct
from pathlib import Path

import numpy as np

import dumpfmt


def variants(folder: Path, seed: int = 0) -> dict[str, list[np.ndarray]]:
    """Write one dump per variant into ``folder``; returns ``{name: planes}``."""
    rng = np.random.default_rng(seed)
    out: dict[str, list[np.ndarray]] = {}

    def planes(h, w, sx, sy, depth, n=3, alpha=False):
        dt = np.uint8 if depth <= 8 else np.uint16
        ch, cw = -(-h // sy), -(-w // sx)
        shapes = [(h, w)] + [(ch, cw)] * (n - 1) + ([(h, w)] if alpha else [])
        ps = []
        for s in shapes:
            base = np.add.outer(np.arange(s[0]), np.arange(s[1])) % (1 << depth)
            noise = rng.integers(0, 3, s)
            ps.append(np.clip(base + noise, 0, (1 << depth) - 1).astype(dt))
        return ps

    def put(name, ps, **kw):
        dumpfmt.write(folder / name, ps, **kw)
        out[name] = ps

    put("000000.dump", planes(33, 47, 2, 2, 10), depth=10, transform=3, transfer=2)
    put("000001.dump", planes(20, 30, 2, 2, 8), depth=8, compression="xz", transform=2)
    put("000002.dump", planes(17, 9, 1, 1, 16), depth=16, compression="none", transform=1,
        transfer=1)
    put("000003.dump", planes(12, 12, 2, 1, 12, alpha=True), depth=12,
        compression=["zlib", "xz", "none", "zlib"], transform=4)
    put("000004.dump", planes(7, 5, 1, 1, 1, n=1), depth=1)  # gray, 1 bit
    put("000005.dump", planes(8, 8, 1, 1, 8, n=1, alpha=True), depth=8, transform=0)
    # video_dumper: headerless raw, 32-bit depth field
    y, cb, cr = planes(36, 64, 2, 2, 10)
    (folder / "output00006k.dump").write_bytes(b"".join(
        struct.pack("<III", p.shape[1], p.shape[0], 10) + p.tobytes() for p in (y, cb, cr)))
    out["output00006k.dump"] = [y, cb, cr]
    # dump-tools compressor: headerless, xz planes (preset 9e, CRC64)
    ps = planes(10, 14, 2, 2, 8)
    blob = b""
    for p in ps:
        payload = lzma.compress(p.tobytes(), format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64,
                                preset=9 | lzma.PRESET_EXTREME)
        blob += struct.pack("<IIHHI", p.shape[1], p.shape[0], 8, 2, len(payload)) + payload
    (folder / "output00007.lzma.dump").write_bytes(blob)
    out["output00007.lzma.dump"] = ps
    g = planes(6, 11, 1, 1, 8, n=1)
    dumpfmt.write(folder / "output00008.dump", g, depth=8, legacy=True)  # headerless gray
    out["output00008.dump"] = g
    return out


def bad_files(folder: Path) -> dict[str, Path]:
    """Malformed dumps, one per kind; returns ``{kind: path}``."""
    y = (np.arange(40 * 24, dtype=np.uint16).reshape(24, 40) * 7) % 1024
    good = dumpfmt.encode([y, y[:12, :20], y[:12, :20]], depth=10, compression="zlib")
    goodxz = dumpfmt.encode([y, y[:12, :20], y[:12, :20]], depth=10, compression="xz")
    p1 = struct.pack("<IIHH", 2, 2, 8, 0) + bytes(4)
    files = {
        "truncated": good[: len(good) - 10],
        "garbage": b"Not a dump file, just some text that happens to end in .dump\n" * 4,
        "five planes": b"DMP0\x03\x02" + p1 * 5,
        "depth 0": b"DMP0\x03\x02" + struct.pack("<IIHH", 2, 2, 0, 0) + bytes(4),
        "depth 17": b"DMP0\x03\x02" + struct.pack("<IIHH", 2, 2, 17, 0) + bytes(8),
    }
    for name, data in (("corrupt zlib", good), ("corrupt xz", goodxz)):
        info = dumpfmt.read_info(data)
        b = bytearray(data)
        mid = info.planes[0].offset + info.planes[0].payload_bytes // 2
        b[mid : mid + 8] = bytes(x ^ 0xA5 for x in b[mid : mid + 8])
        files[name] = bytes(b)
    out = {}
    for k, (name, data) in enumerate(files.items()):
        path = folder / f"bad{k}.dump"
        path.write_bytes(data)
        out[name] = path
    return out

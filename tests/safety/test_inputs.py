"""Awkward inputs end fast in one line: FIFOs, oversized dumps, broken scene.json (issue 13)."""

from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import dumpfmt
from overmix.cli import main

_PLANE = struct.Struct("<IIHH")


def _claims(path: Path, planes: list[tuple[int, int, int]], payload: bytes = b"\x78\x9c") -> Path:
    """A DMP0 file whose plane records claim (width, height, depth) planes, zlib-compressed,
    with a tiny (not decodable) payload each: only the headers are real."""
    blob = bytearray(b"DMP0\x03\x02")
    for w, h, d in planes:
        blob += _PLANE.pack(w, h, d, 1) + struct.pack("<I", len(payload)) + payload
    path.write_bytes(bytes(blob))
    return path


def test_per_file_limit_counts_all_planes(tmp_path, capsys) -> None:
    """Four 16384² 16-bit planes (2 GiB) are refused from the headers; each plane alone is
    within the per-plane limit, so only a per-file limit catches it."""
    big = _claims(tmp_path / "big.dump", [(16384, 16384, 16)] * 4)
    assert 16384 * 16384 <= dumpfmt.MAX_SAMPLES
    with pytest.raises(dumpfmt.DumpError, match="MiB per file"):
        dumpfmt.read_info(big)
    for argv in (["info", str(big)], ["convert", str(big), "-o", str(tmp_path / "x.png")]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.startswith("overmix: error: ") and "MiB per file" in err, err
    assert not (tmp_path / "x.png").exists()


def test_writer_keeps_the_same_limit() -> None:
    """What the reader refuses is never written: three 16384² 16-bit planes (1.5 GiB) are
    refused by the encoder (zero-stride planes: nothing is allocated here)."""
    big = np.broadcast_to(np.uint16(0), (16384, 16384))
    with pytest.raises(dumpfmt.DumpError, match="MiB per file"):
        dumpfmt.encode([big, big, big], depth=10)
    with pytest.raises(dumpfmt.DumpError, match="a dump plane may hold"):
        dumpfmt.encode([np.broadcast_to(np.uint8(0), (16385, 16384))], depth=8)


def test_png_size_limit_from_the_header(tmp_path, capsys) -> None:
    """A PNG whose IHDR claims 60000x60000 RGBA 16-bit (28.8 GB decoded) behind a few bytes
    of data: refused from the header, before FFmpeg allocates anything."""
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", 60000, 60000, 16, 6, 0, 0, 0)
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(b"\0" * 1000)) + chunk(b"IEND", b""))
    folder = tmp_path / "pngs"
    folder.mkdir()
    shutil.copy(bomb, folder / "0.png")
    for argv in (["info", str(bomb)], ["convert", str(bomb), "-o", str(tmp_path / "o.png")],
                 ["stitch", str(folder), "-o", str(tmp_path / "s.png")]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert "MiB per file" in err and err.count("\n") == 1, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bomb.png", "pngs"]


def test_info_reads_headers_only(tmp_path) -> None:
    """A 768 MiB-when-decoded file (under the limit) is described from its headers: `info`
    stays small in memory; `--verify` decodes and finds the payloads corrupt."""
    f = _claims(tmp_path / "ok.dump", [(16384, 16384, 8)] * 3)
    # VmHWM: this process's peak resident set (ru_maxrss would carry the forking parent's)
    code = ("import sys\nfrom overmix.cli import main\nrc = main(sys.argv[1:])\n"
            "hwm = [ln for ln in open('/proc/self/status') if ln.startswith('VmHWM')]\n"
            "print(hwm[0].split()[1], file=sys.stderr)\nsys.exit(rc)\n")
    p = subprocess.run([sys.executable, "-c", code, "info", "--json", str(f)],
                       capture_output=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["raw_bytes"] == 3 * 16384 * 16384
    assert int(p.stderr.split()[-1]) < 400_000  # kB: far below the 768 MiB a decode needs
    p = subprocess.run([sys.executable, "-m", "overmix", "info", "--verify", str(f)],
                       capture_output=True, timeout=300)
    assert p.returncode == 1 and p.stderr.decode().count("\n") == 1


def test_fifo_inputs_fail_fast(tmp_path) -> None:
    """A FIFO anywhere an input is read: one line, promptly (a blocking open would hang)."""
    fifo = tmp_path / "pipe.dump"
    os.mkfifo(fifo)
    png = tmp_path / "f.png"
    from overmix.io.png import write_png

    write_png(png, np.zeros((8, 8, 3), np.uint8))
    pngs = tmp_path / "pngs"
    pngs.mkdir()
    for k in range(2):
        shutil.copy(png, pngs / f"{k}.png")
    mask = tmp_path / "mask.png"
    os.mkfifo(mask)
    runs = [
        ["info", str(fifo)],
        ["convert", str(fifo), "-o", str(tmp_path / "o.png")],
        ["stitch", str(fifo), "-o", str(tmp_path / "s.png")],
        ["dump", str(fifo), "-o", str(tmp_path / "d")],
        ["compress", str(fifo)],
        ["preview", str(fifo), "-o", str(tmp_path / "p.png")],
        ["stitch", str(pngs), "-o", str(tmp_path / "s.png"), "--mask", str(mask)],
    ]
    code = ("import sys\nfrom overmix.cli import main\n"
            "for a in sys.argv[1:]:\n    print(main(a.split('|')), file=sys.stderr)\n")
    p = subprocess.run([sys.executable, "-c", code, *("|".join(r) for r in runs)],
                       capture_output=True, timeout=240)
    lines = p.stderr.decode().splitlines()
    assert lines[1::2] == ["1"] * len(runs), lines
    assert all(ln.startswith("overmix: error: ") and "FIFO" in ln for ln in lines[::2]), lines
    assert sorted(x.name for x in tmp_path.iterdir()) == ["f.png", "mask.png", "pipe.dump",
                                                          "pngs"]


def _folder(tmp_path: Path, n: int = 3) -> Path:
    folder = tmp_path / "d"
    folder.mkdir()
    y = (np.arange(16 * 24, dtype=np.uint8).reshape(16, 24))
    for k in range(n):
        dumpfmt.write(folder / f"{k:06d}.dump", [y, y[:8, :12], y[:8, :12]], depth=8,
                      transform=3, transfer=2)
    return folder


def _manifest(frames: list[dict], **top) -> dict:
    return {"version": 1, "color": {"matrix": "bt709", "range": "limited", "bit_depth": 8},
            "frame_rate": "24/1", "frames": frames, **top}


BAD_MANIFESTS = {
    "version string": _manifest([], version="1"),
    "version list": _manifest([], version=[1]),
    "version from the future": _manifest([], version=99),
    "deeply nested": None,  # written as text below
    "repeated index": _manifest([{"file": f"{k:06d}.dump", "index": 0} for k in range(3)]),
    "repeated file": _manifest([{"file": "000000.dump", "index": k} for k in range(3)]),
    "bit depth infinite": {"version": 1, "color": {"bit_depth": 1e400}},
    "time nan": _manifest([{"file": "000000.dump", "index": 0, "time": float("nan")}]),
    "ivtc a list": _manifest([], ivtc=[1, 2]),
    "complete a string": _manifest([], complete="yes"),
}


@pytest.mark.parametrize("case", sorted(BAD_MANIFESTS))
def test_bad_scene_json_is_one_line(tmp_path, capsys, case: str) -> None:
    folder = _folder(tmp_path)
    text = "[" * 100_000 + "]" * 100_000 if case == "deeply nested" else \
        json.dumps(BAD_MANIFESTS[case])
    (folder / "scene.json").write_text(text)
    for argv in (["info", str(folder)],
                 ["convert", str(folder), "--all", "-o", str(tmp_path / "all")],
                 ["stitch", str(folder), "-o", str(tmp_path / "s.png")]):
        assert main(argv) == 1, (case, argv)
        err = capsys.readouterr().err
        assert err.startswith("overmix: error: ") and err.count("\n") == 1, err
        assert "internal error" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


@pytest.mark.parametrize("name,text", [
    ("job.json", "[" * 100_000 + "]" * 100_000),
    ("job.toml", "a = " + "[" * 100_000 + "]" * 100_000),
    ("offsets.json", '{"frames": ' + "[" * 100_000 + "]" * 100_000 + "}"),
])
def test_deeply_nested_side_files_are_one_line(tmp_path, capsys, name: str, text: str) -> None:
    f = tmp_path / name
    f.write_text(text)
    folder = _folder(tmp_path)
    argv = ["batch", "plan", str(f)] if name.startswith("job") else \
        ["stitch", str(folder), "-o", str(tmp_path / "s.png"), "--offsets", str(f)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "nested too deeply" in err and err.count("\n") == 1 and "internal" not in err

"""`overmix info` on dump files and folders, and on bad input."""

from __future__ import annotations

import json

import pytest

from overmix.cli import main
from overmix.color.spec import ColorInfo, Matrix, Range
from overmix.io.manifest import Manifest, write_manifest
from tests.cli.dumpfiles import bad_files, variants


def test_info_dump_file_json(tmp_path, capsys) -> None:
    variants(tmp_path)
    assert main(["info", "--json", str(tmp_path / "000003.dump")]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["kind"] == "dump" and d["width"] == 12 and d["height"] == 12
    assert d["layout"] == "yuv422" and d["alpha"] is True and d["depth"] == 12
    assert [p["compression"] for p in d["planes"]] == ["zlib", "xz", "none", "zlib"]
    assert d["header"]["transform_name"] == "jpeg" and d["color_from"] == "header"
    assert d["color"]["matrix"] == "bt470bg" and d["color"]["range"] == "full"
    assert d["file_size"] == (tmp_path / "000003.dump").stat().st_size
    assert d["raw_bytes"] == 12 * 12 * 2 * 2 + 6 * 12 * 2 * 2


def test_info_legacy_file_table(tmp_path, capsys) -> None:
    variants(tmp_path)
    assert main(["info", str(tmp_path / "output00006k.dump")]) == 0
    out = capsys.readouterr().out
    assert "64x36 yuv420" in out and "none (legacy)" in out
    assert "bt470bg limited" in out and "(from guess)" in out


def test_info_folder_totals_and_inconsistent(tmp_path, capsys) -> None:
    folder = tmp_path / "scene"
    folder.mkdir()
    import numpy as np

    import dumpfmt

    y = np.zeros((16, 24), np.uint16)
    c = np.zeros((8, 12), np.uint16)
    for k in range(5):
        dumpfmt.write(folder / f"{k:06d}.dump", [y, c, c], depth=10, transform=3,
                      compression="xz" if k % 2 else "zlib")
    dumpfmt.write(folder / "000005.dump", [y, c, c], depth=12, transform=3)  # other depth
    dumpfmt.write(folder / "000006.dump", [y[:8], c[:4], c[:4]], depth=10, transform=3)
    (folder / "000007.dump").write_bytes(b"DMP0\x03\x02" + b"\x01" * 5)  # unreadable
    write_manifest(folder, Manifest(color=ColorInfo(Matrix.BT709, Range.FULL, bit_depth=10),
                                    frame_rate="24/1", frames=[
                                        {"file": f"{k:06d}.dump", "index": k} for k in range(9)]))
    assert main(["info", "--json", str(folder)]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["kind"] == "dump-folder" and d["frames"] == 8 and d["readable"] == 7
    assert d["width"] == 24 and d["height"] == 16 and d["layout"] == "yuv420"
    assert d["depths"] == [10, 12]
    assert d["color"]["range"] == "full" and d["color_from"] == "manifest"
    assert d["total_bytes"] == sum(f.stat().st_size for f in folder.glob("*.dump"))
    assert d["compression_ratio"] > 1
    bad = {b["file"]: b["reason"] for b in d["inconsistent"]}
    assert set(bad) == {"000005.dump", "000006.dump", "000007.dump"}
    assert "@12" in bad["000005.dump"] and "24x8@10" in bad["000006.dump"]
    assert "truncated" in bad["000007.dump"]
    assert d["missing"] == ["000008.dump"]
    # the table names them too
    assert main(["info", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "3 inconsistent files" in out and "000006.dump" in out


def test_info_folder_verify_finds_corrupt_payload(tmp_path, capsys) -> None:
    import numpy as np

    import dumpfmt

    folder = tmp_path / "scene"
    folder.mkdir()
    y = (np.arange(24 * 40, dtype=np.uint16).reshape(24, 40) * 7) % 1024
    for k in range(3):  # same format as bad_files' corrupt xz file
        dumpfmt.write(folder / f"{k:06d}.dump", [y, y[:12, :20], y[:12, :20]], depth=10)
    (tmp_path / "bad").mkdir()
    bad_files(tmp_path / "bad")["corrupt xz"].rename(folder / "zzz.dump")
    assert main(["info", "--json", str(folder)]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["inconsistent"] == []  # headers are fine; payloads not decoded
    assert main(["info", "--json", "--verify", str(folder)]) == 0
    d = json.loads(capsys.readouterr().out)
    reasons = {b["file"]: b["reason"] for b in d["inconsistent"]}
    assert list(reasons) == ["zzz.dump"] and "corrupt xz payload" in reasons["zzz.dump"]


@pytest.mark.parametrize("kind", ["truncated", "garbage", "five planes", "depth 0", "depth 17",
                                  "corrupt zlib", "corrupt xz"])
def test_info_bad_input(tmp_path, capsys, kind: str) -> None:
    path = bad_files(tmp_path)[kind]
    before = path.read_bytes()
    listing = sorted(p.name for p in tmp_path.iterdir())
    # info reads headers only (a payload is never decompressed just to report the file);
    # --verify decodes, so corrupt payloads are found there
    verify = ["--verify"] if kind.startswith("corrupt") else []
    if verify:
        assert main(["info", str(path)]) == 0
        capsys.readouterr()
    assert main(["info", *verify, str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"overmix: error: {path}: ") and err.count("\n") == 1
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == listing


def test_info_missing(tmp_path, capsys) -> None:
    assert main(["info", str(tmp_path / "nope.dump")]) == 1
    assert capsys.readouterr().err == f"overmix: error: no such file or folder: " \
                                      f"{tmp_path / 'nope.dump'}\n"
    (tmp_path / "empty").mkdir()
    assert main(["info", str(tmp_path / "empty")]) == 1
    assert "no .dump or .png files" in capsys.readouterr().err

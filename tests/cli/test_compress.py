"""`overmix compress`: bit-exact round trips, header conversion, bad input, kill safety."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import dumpfmt
from overmix.cli import main
from overmix.color.spec import ColorInfo, Matrix
from overmix.io.manifest import Manifest, write_manifest
from tests.cli.dumpfiles import bad_files, variants

REPO = Path(__file__).resolve().parents[2]


def _check_planes(folder: Path, expected: dict[str, list[np.ndarray]]) -> dict[str, dumpfmt.Dump]:
    got = {}
    for name, planes in expected.items():
        d = dumpfmt.read(folder / name)
        assert len(d.planes) == len(planes), name
        for a, b in zip(d.planes, planes, strict=True):
            assert a.dtype == b.dtype and a.shape == b.shape, name
            np.testing.assert_array_equal(a, b, err_msg=name)
        got[name] = d
    return got


def test_mixed_folder_xz_zlib_none_bit_exact(tmp_path, capsys) -> None:
    expected = variants(tmp_path)
    headers0 = {n: dumpfmt.read_info(tmp_path / n).header for n in expected}
    depths0 = {n: [p.depth for p in dumpfmt.read_info(tmp_path / n).planes] for n in expected}
    for target in ("xz", "zlib", "none", "xz"):
        assert main(["compress", str(tmp_path), "--to", target, "--json"]) == 0
        cap = capsys.readouterr()
        report = json.loads(cap.out)
        assert report["failed"] == 0
        got = _check_planes(tmp_path, expected)
        for name, d in got.items():
            assert d.compressions == [target] * len(d.planes), name
            assert d.depths == depths0[name], name
            if headers0[name].has_magic:
                assert d.header == headers0[name], name  # header bytes kept
        # headerless gray gets DMP0 {GRAY, REC709}; headerless colour stays headerless
        assert got["output00008.dump"].header == dumpfmt.Header(True, 0, 2)
        assert not got["output00006k.dump"].header.has_magic
        assert "2 headerless dump(s) left without a DMP0 header" in cap.err
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(expected)  # no temp files left


def test_header_added_from_manifest_or_matrix(tmp_path, capsys) -> None:
    expected = variants(tmp_path)
    # scene.json lists the video_dumper file: its colour gives the header (601 limited -> 2)
    write_manifest(tmp_path, Manifest(color=ColorInfo(Matrix.BT470BG, bit_depth=10),
                                      frames=[{"file": "output00006k.dump", "index": 0}]))
    assert main(["compress", str(tmp_path / "output00006k.dump"), "--to", "zlib"]) == 0
    assert "recompressed" in capsys.readouterr().out
    d = _check_planes(tmp_path, {"output00006k.dump": expected["output00006k.dump"]})
    assert d["output00006k.dump"].header == dumpfmt.Header(True, 2, 2)
    # --matrix for files without an entry (709 limited -> 3)
    assert main(["compress", str(tmp_path / "output00007.lzma.dump"), "--to", "xz",
                 "--matrix", "709"]) == 0
    d = _check_planes(tmp_path, {"output00007.lzma.dump": expected["output00007.lzma.dump"]})
    assert d["output00007.lzma.dump"].header == dumpfmt.Header(True, 3, 2)
    capsys.readouterr()
    # already-xz files are skipped unless --level/--force
    assert main(["compress", str(tmp_path / "000001.dump"), "--to", "xz", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["files"][0]["status"] == "skipped"
    assert main(["compress", str(tmp_path / "000001.dump"), "--to", "xz", "--level", "9e",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["files"][0]["status"] == "recompressed"
    _check_planes(tmp_path, {"000001.dump": expected["000001.dump"]})


@pytest.mark.parametrize("kind", ["truncated", "garbage", "five planes", "depth 0", "depth 17",
                                  "corrupt zlib", "corrupt xz"])
def test_compress_bad_input(tmp_path, capsys, kind: str) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    expected = variants(folder)
    bad = bad_files(tmp_path)[kind]
    target = folder / "zz_bad.dump"
    bad.rename(target)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert main(["compress", str(target), "--to", "xz"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("overmix: error: ") and err.count("\n") == 1
    assert str(target) in err
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # untouched
    # a whole folder containing it: structural problems stop before anything is written;
    # corrupt payloads (found only when decoding) leave that file untouched, others done
    assert main(["compress", str(folder), "--to", "none"]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert [ln for ln in lines if ln.startswith("overmix: error: ")] == lines[-1:]
    assert "zz_bad.dump" in lines[-1]
    assert target.read_bytes() == before["zz_bad.dump"]
    assert sorted(p.name for p in folder.iterdir()) == sorted(before)
    _check_planes(folder, expected)


def test_out_of_range_samples_survive(tmp_path, capsys) -> None:
    # Overmix does not clamp on save: a 9-bit dump may hold codes above 511. Keep them.
    import struct

    p = np.array([[0, 511, 1023, 700]], dtype="<u2")
    path = tmp_path / "x.dump"
    path.write_bytes(b"DMP0\x00\x02" + struct.pack("<IIHH", 4, 1, 9, 0) + p.tobytes())
    assert main(["compress", str(path), "--to", "xz"]) == 0
    d = dumpfmt.read(path)
    assert d.compressions == ["xz"] and d.depths == [9]
    np.testing.assert_array_equal(d.planes[0], p)


def test_compress_missing_and_usage(tmp_path, capsys) -> None:
    assert main(["compress", str(tmp_path / "nope.dump")]) == 1
    assert capsys.readouterr().err == f"overmix: error: no such file or folder: " \
                                      f"{tmp_path / 'nope.dump'}\n"
    variants(tmp_path)
    assert main(["compress", str(tmp_path), "--to", "xz", "--matrix", "rgb"]) == 2
    assert "--matrix rgb" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["compress", str(tmp_path), "--level", "12"])
    assert exc.value.code == 2


def test_compress_unwritable(tmp_path, capsys, monkeypatch) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    expected = variants(folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    if os.geteuid() != 0:
        folder.chmod(0o555)
    else:  # root ignores permissions: make every write fail as a read-only folder would
        def deny(*args, **kwargs):
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(dumpfmt, "write_bytes", deny)
    try:
        assert main(["compress", str(folder), "--to", "none"]) == 1
    finally:
        folder.chmod(0o755)
    lines = capsys.readouterr().err.splitlines()
    assert [ln for ln in lines if ln.startswith("overmix: error: ")] == lines[-1:]
    assert "ermission denied" in lines[-1]
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    _check_planes(folder, expected)


def test_kill_midway_leaves_every_file_old_or_new(tmp_path) -> None:
    folder = tmp_path / "d"
    folder.mkdir()
    rng = np.random.default_rng(7)
    originals = {}
    for k in range(16):
        planes = [rng.integers(0, 1024, (192, 256)).astype(np.uint16),
                  rng.integers(0, 1024, (96, 128)).astype(np.uint16),
                  rng.integers(0, 1024, (96, 128)).astype(np.uint16)]
        name = f"{k:06d}.dump"
        dumpfmt.write(folder / name, planes, depth=10, compression="none", transform=3)
        originals[name] = (planes, (folder / name).read_bytes())
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(
        [sys.executable, "-m", "overmix", "--quiet", "compress", str(folder), "--to", "xz",
         "--level", "9e", "--jobs", "2"], env=env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    killed = False
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            changed = sum((folder / n).read_bytes()[:4] == b"DMP0" and
                          (folder / n).stat().st_size != len(raw)
                          for n, (_, raw) in originals.items())
            if changed >= 2:
                proc.send_signal(signal.SIGKILL)
                killed = True
                break
            time.sleep(0.005)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    assert killed, "compress finished before it could be interrupted"
    n_new = 0
    for name, (planes, raw) in originals.items():
        data = (folder / name).read_bytes()
        d = dumpfmt.decode(data)  # readable, never broken
        for a, b in zip(d.planes, planes, strict=True):
            np.testing.assert_array_equal(a, b)
        if data == raw:
            continue
        assert d.compressions == ["xz"] * 3 and d.header == dumpfmt.Header(True, 3, 2)
        n_new += 1
    assert 2 <= n_new < len(originals)
    # only hidden temporary files may be left by the kill; they are not dumps to readers
    leftovers = {p.name for p in folder.iterdir()} - set(originals)
    assert all(n.startswith(".") and ".tmp-" in n for n in leftovers)
    # and a second run finishes the job
    assert main(["--quiet", "compress", str(folder), "--to", "xz"]) == 0
    for name in originals:
        assert dumpfmt.read_info(folder / name).planes[0].compression == "xz"


def test_interrupt_stops_queued_files(tmp_path, monkeypatch) -> None:
    """Ctrl-C while files are queued: queued files are not touched, running ones finish."""
    from overmix.commands import compress as rc

    folder = tmp_path / "d"
    folder.mkdir()
    expected = {}
    rng = np.random.default_rng(3)
    for k in range(12):
        p = [rng.integers(0, 1024, (160, 160)).astype(np.uint16)]  # ~0.1 s each to xz
        dumpfmt.write(folder / f"{k:06d}.dump", p, depth=10, compression="none")
        expected[f"{k:06d}.dump"] = p
    calls = []

    def progress(stage, done, total):
        calls.append(done)
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rc.recompress([folder], to="xz", jobs=2, progress=progress)
    states = [dumpfmt.read_info(folder / n).planes[0].compression for n in expected]
    assert 2 <= states.count("xz") < 12  # queued files were cancelled
    _check_planes(folder, expected)

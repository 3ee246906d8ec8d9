"""A killed run leaves nothing behind and never a half-written output (issue 13).

Real subprocesses: ``overmix stitch`` and ``overmix dump`` are started on real inputs, then
sent SIGTERM (or SIGKILL) while they work. Afterwards the temporary folder is empty, the
output folder holds no partial or temporary file, the inputs are byte for byte unchanged,
and what SIGKILL cannot clean is recognised and cleaned by the next run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from overmix.cli import main
from tests.safety.conftest import snapshot
from tests.videogen import make_clip, pan_frames


def _default_sigint() -> None:
    # as from a terminal, whatever this test run inherited (the background job of a
    # non-interactive shell ignores SIGINT, and its children would too)
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _start(argv: list[str], tmp: Path) -> subprocess.Popen[bytes]:
    env = dict(os.environ, TMPDIR=str(tmp))
    return subprocess.Popen([sys.executable, "-m", "overmix", "-q", *argv], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=_default_sigint)


def _wait_for(cond, proc: subprocess.Popen[bytes], what: str, timeout: float = 120) -> None:
    t0 = time.monotonic()
    while not cond():
        if proc.poll() is not None:
            pytest.fail(f"the run ended (rc {proc.returncode}) before {what}: "
                        f"{proc.stderr.read().decode() if proc.stderr else ''}")
        if time.monotonic() - t0 > timeout:
            proc.kill()
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.01)


def _store_files(tmp: Path) -> list[Path]:
    return [f for d in tmp.glob("overmix-store-*") for f in d.iterdir()]


@pytest.fixture(scope="module")
def pan(tmp_path_factory) -> Path:
    """40 PNG frames of a 320x180 pan: long enough to be caught mid-run."""
    from overmix.io.png import write_png

    folder = tmp_path_factory.mktemp("pan") / "pan"
    folder.mkdir()
    for k, rgb in enumerate(pan_frames(40, 180, 320, step=(0.0, 2.0))):
        write_png(folder / f"{k:03d}.png", np.round(rgb * 255).astype(np.uint8))
    return folder


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_mid_stitch_removes_the_frame_store(pan, tmp_path, sig) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    before = snapshot(pan)
    proc = _start(["stitch", str(pan), "-o", str(out / "s.png"), "--memory-budget", "0"], tmp)
    _wait_for(lambda: len(_store_files(tmp)) >= 3, proc, "the frame store spilled")
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    lines = err.decode().splitlines()
    assert proc.returncode == 128 + sig if sig == signal.SIGTERM else proc.returncode == 130
    assert len(lines) == 1 and lines[0].startswith("overmix: error: "), lines
    assert list(tmp.iterdir()) == []  # the spilled frames are gone
    assert list(out.iterdir()) == []  # no output, no temporary file
    assert snapshot(pan) == before


def test_kill_mid_stitch_store_is_removed_by_the_next_run(pan, tmp_path) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = _start(["stitch", str(pan), "-o", str(tmp_path / "s.png"), "--memory-budget", "0"],
                  tmp)
    _wait_for(lambda: len(_store_files(tmp)) >= 3, proc, "the frame store spilled")
    proc.kill()
    proc.wait(timeout=60)
    assert _store_files(tmp)  # SIGKILL cannot be cleaned up after...
    small = tmp_path / "small"
    small.mkdir()
    for name in ("000.png", "001.png", "002.png"):
        (small / name).write_bytes((pan / name).read_bytes())
    # (the next run keeps its 3 small frames in memory: the sweep does not depend on spilling)
    again = _start(["stitch", str(small), "-o", str(tmp_path / "t.png")], tmp)
    assert again.wait(timeout=300) == 0, again.stderr.read() if again.stderr else ""
    assert list(tmp.iterdir()) == []  # ...so the next run removes the dead run's store
    assert not (tmp_path / "s.png").exists() and (tmp_path / "t.png").is_file()


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    """48 frames of 320x240 lossless H.264: a dump of it with xz takes a few seconds."""
    return make_clip(tmp_path_factory.mktemp("video") / "v.mkv", n=48, h=240, w=320,
                     options={"qp": "0"})


def _dumps(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.dump")) if folder.is_dir() else []


DUMP = ["--compress", "xz", "--level", "9", "--workers", "1"]


def test_sigterm_mid_dump_leaves_nothing(video, tmp_path) -> None:
    out = tmp_path / "d"
    before = snapshot(video)
    proc = _start(["dump", str(video), "-o", str(out), *DUMP], tmp_path)
    _wait_for(lambda: len(_dumps(out)) >= 2, proc, "two dumps were written")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM
    assert err.decode() == "overmix: error: terminated by SIGTERM\n"
    assert not out.exists()  # the run created the folder: all of it is gone
    assert snapshot(video) == before


def test_killed_dump_is_recognised_and_replaced(video, tmp_path, capsys) -> None:
    out = tmp_path / "d"
    proc = _start(["dump", str(video), "-o", str(out), *DUMP], tmp_path)
    _wait_for(lambda: len(_dumps(out)) >= 2, proc, "two dumps were written")
    proc.kill()
    proc.wait(timeout=60)
    partial = _dumps(out)
    assert 2 <= len(partial) < 48 and (out / "scene.json").is_file()
    # a temporary file of the dead process (it may or may not have had one in flight)
    stale = out / f".000047.dump.tmp-{proc.pid}-0123abcd.dump"
    stale.write_bytes(b"half a dump")
    # info flags it, readers refuse it
    assert main(["info", str(out)]) == 0
    assert "interrupted dump" in capsys.readouterr().err
    for argv in (["stitch", str(out), "-o", str(tmp_path / "s.png")],
                 ["convert", str(out), "-o", str(tmp_path / "c.png")]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert "interrupted dump" in err and err.count("\n") == 1
    # a rerun (no --force needed) replaces it; the stale temporary file is removed
    assert main(["dump", str(video), "-o", str(out), "-q"]) == 0
    capsys.readouterr()
    assert len(_dumps(out)) == 48
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".")) == []
    assert main(["info", "--json", str(out)]) == 0
    import json

    data = json.loads(capsys.readouterr().out)
    assert data["complete"] is True and data["frames"] == 48 and not data["inconsistent"]


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_stale_temporary_files_are_removed_by_the_next_run(pan, tmp_path, capsys) -> None:
    """Temporary files of a dead process (SIGKILL, power loss) in an output folder are
    removed by the next command writing there: stitch, convert, compress."""
    import dumpfmt

    out = tmp_path / "out"
    out.mkdir()
    dumps = tmp_path / "dumps"
    dumps.mkdir()
    dumpfmt.write(dumps / "000000.dump", [np.zeros((8, 8), np.uint8)], depth=8)
    dead = _dead_pid()
    stale = [out / f".s.png.tmp-{dead}-0a1b2c3d.png", out / f".c.png.tmp-{dead}-99.png",
             dumps / f".000000.dump.tmp-{dead}-0123456789ab.dump"]
    alive = out / f".other.png.tmp-{os.getpid()}-0a1b.png"  # a live process's: kept
    for f in [*stale, alive]:
        f.write_bytes(b"half a file")
    assert main(["stitch", str(pan / "000.png"), "-o", str(out / "one.png"), "-q"]) in (0, 1)
    assert main(["convert", str(pan / "000.png"), "-o", str(out / "c.png")]) == 0
    assert main(["compress", str(dumps), "--to", "xz"]) == 0
    capsys.readouterr()
    assert [f for f in stale if f.exists()] == []
    assert alive.exists()


def test_sigterm_mid_convert_all_leaves_nothing(video, tmp_path) -> None:
    out = tmp_path / "png"
    before = snapshot(video)
    proc = _start(["convert", str(video), "--all", "-o", str(out), "--depth", "16"], tmp_path)
    _wait_for(lambda: out.is_dir() and len(list(out.iterdir())) >= 2, proc,
              "two PNGs were written")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM
    assert err.decode() == "overmix: error: terminated by SIGTERM\n"
    assert not out.exists()
    assert snapshot(video) == before

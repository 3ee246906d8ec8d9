"""No output ever lands on an input, and only regular files are ever replaced (issue 13).

Every command and every side output is tried against real inputs: the output names an input
file directly, through a symlink or a hard link, or is (or holds) the input folder. Each run
must end in one ``overmix: error:`` line, and every input must be left byte for byte.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from overmix.atomic import (
    atomic_path,
    check_output,
    input_scope,
    register_input,
    write_bytes_atomic,
)
from overmix.cli import main
from overmix.errors import OutputError
from tests.safety.conftest import snapshot


@pytest.fixture
def work(material, tmp_path) -> dict[str, Path]:
    """A private copy of the material (the video, its dumps, the PNG folder)."""
    shutil.copy(material["video"], tmp_path / "clip.mkv")
    shutil.copytree(material["dumps"], tmp_path / "dumps")
    shutil.copytree(material["pngs"], tmp_path / "pngs")
    (tmp_path / "pngs" / "p.xml.overmix").write_text("an item of the input folder")
    (tmp_path / "out").mkdir()
    os.symlink(tmp_path / "pngs" / "003.png", tmp_path / "out" / "link.png")
    os.link(tmp_path / "pngs" / "003.png", tmp_path / "out" / "hard.png")
    os.symlink(tmp_path / "dumps" / "000001.dump", tmp_path / "out" / "link.dump")
    return {"root": tmp_path, "video": tmp_path / "clip.mkv", "dumps": tmp_path / "dumps",
            "pngs": tmp_path / "pngs"}


# Command lines ({root} is the copy); each one's output (or side output) is an input.
REFUSED = {
    "stitch onto a frame of its PNG folder": "stitch {root}/pngs -o {root}/pngs/003.png",
    "stitch onto a dump of its folder": "stitch {root}/dumps -o {root}/dumps/000002.dump",
    "stitch onto a symlink to an input": "stitch {root}/pngs -o {root}/out/link.png",
    "stitch onto a hard link of an input": "stitch {root}/pngs -o {root}/out/hard.png",
    "stitch --save-offsets onto an input":
        "stitch {root}/pngs -o {root}/out/a.png --save-offsets {root}/pngs/001.png",
    "stitch --save-project onto an input":
        "stitch {root}/pngs -o {root}/out/a.png --save-project {root}/pngs/p.xml.overmix",
    "stitch --extract-overlay onto an input":
        "stitch {root}/pngs -o {root}/out/a.png --logo auto "
        "--extract-overlay {root}/pngs/002.png",
    "stitch onto its own --mask": "stitch {root}/pngs -o {root}/out/m.png --mask "
                                  "{root}/out/m.png",
    "stitch onto the video": "stitch {root}/clip.mkv -o {root}/clip.mkv",
    "align -o onto an input": "align {root}/pngs -o {root}/pngs/000.png",
    "align -o onto scene.json": "align {root}/dumps -o {root}/dumps/scene.json",
    "convert onto itself": "convert {root}/pngs/000.png -o {root}/pngs/000.png",
    "convert onto a hard link of a folder item":
        "convert {root}/pngs --frame 1 -o {root}/out/hard.png",
    "convert --all into the input folder": "convert {root}/dumps --all -o {root}/dumps --force",
    "convert --all into the folder of the video":
        "convert {root}/clip.mkv --all -o {root} --force",
    "dump into its own dump folder": "dump {root}/dumps -o {root}/dumps --force --start 2",
    "dump into the folder of the video": "dump {root}/clip.mkv -o {root} --force",
    "preview onto an input": "preview {root}/pngs -o {root}/pngs/004.png",
    "preview onto a symlink to an input": "preview {root}/pngs -o {root}/out/link.png",
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_output_on_an_input_is_refused(work, capsys, case: str) -> None:
    root = work["root"]
    before = snapshot(root)
    links = {p: os.readlink(p) for p in (root / "out").iterdir() if p.is_symlink()}
    argv = REFUSED[case].format(root=root).split()
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 1, err
    assert err.startswith("overmix: error: ") and err.count("\n") == 1, err
    assert snapshot(root) == before  # every input byte for byte, nothing new, no temp files
    assert {p: os.readlink(p) for p in (root / "out").iterdir() if p.is_symlink()} == links


def test_outputs_beside_inputs_still_work(work, capsys) -> None:
    """The guard refuses only what would touch an input: new names in the same folders work."""
    root = work["root"]
    before = snapshot(work["pngs"], work["dumps"], work["video"])
    assert main(["convert", str(work["pngs"] / "000.png"), "-o",
                 str(work["pngs"] / "converted.png")]) == 0
    assert main(["stitch", str(work["dumps"]), "-o", str(root / "out" / "s.png"),
                 "--save-offsets", str(work["dumps"] / "offsets.json"), "-q"]) == 0
    assert main(["dump", str(work["video"]), "-o", str(root / "again"), "-q"]) == 0
    after = snapshot(work["pngs"], work["dumps"], work["video"])
    assert {k: v for k, v in after.items() if k in before} == before
    assert set(after) - set(before) == {str(work["pngs"] / "converted.png"),
                                        str(work["dumps"] / "offsets.json")}


def test_batch_plan_refuses_outputs_on_inputs(work, capsys) -> None:
    root = work["root"]
    cases = {
        # a convert whose output template gives the source video's own name
        "file": 'output = "."\ninputs = ["clip.mkv"]\n[[action]]\ncommand = "convert"\n'
                'output = "{stem}.mkv"\n',
        # a dump whose output folder is the folder holding the inputs (swapped in whole)
        "folder": 'output = "."\ninputs = ["pngs/000.png"]\n[[action]]\ncommand = "dump"\n'
                  'output = "pngs"\n',
        # a side output landing on the mask the task reads
        "side": 'output = "out"\ninputs = ["clip.mkv"]\n[[action]]\ncommand = "stitch"\n'
                'output = "s.png"\n[action.options]\nmask = "out/m.png"\n'
                'save_offsets = "m.png"\n',
    }
    (root / "out" / "m.png").write_bytes((work["pngs"] / "000.png").read_bytes())
    before = snapshot(root)
    for name, text in cases.items():
        job = root / f"job-{name}.toml"
        job.write_text(text)
        before[str(job)] = snapshot(job)[str(job)]
        assert main(["batch", "plan", str(job)]) == 2, name
        err = capsys.readouterr().err
        assert err.startswith("overmix: error: task ") and "input" in err, err
        assert err.count("\n") == 1
    assert snapshot(root) == before


# ----------------------------------------------------------------------- non-regular targets


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def _device(path: Path) -> Path:
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 7))  # a copy of /dev/full
    except (PermissionError, OSError):
        pytest.skip("cannot make device nodes here")
    return path


@pytest.mark.parametrize("kind", ["fifo", "device", "symlink", "dangling symlink"])
def test_non_regular_outputs_are_never_replaced(work, capsys, kind: str) -> None:
    root = work["root"]
    target = root / "elsewhere.png"
    target.write_bytes(b"not overmix's to replace")
    out = root / "out" / "x.png"
    if kind == "fifo":
        _fifo(out)
    elif kind == "device":
        _device(out)
    elif kind == "symlink":
        os.symlink(target, out)
    else:
        os.symlink(root / "missing.png", out)
    mode = os.lstat(out).st_mode
    for argv in (["convert", str(work["pngs"] / "000.png"), "-o", str(out)],
                 ["stitch", str(work["pngs"]), "-o", str(out)],
                 ["preview", str(work["pngs"]), "-o", str(out)]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.startswith("overmix: error: ") and err.count("\n") == 1, err
        assert os.lstat(out).st_mode == mode  # still the same kind of thing
    assert target.read_bytes() == b"not overmix's to replace"
    assert not (root / "missing.png").exists()  # nothing written through a dangling link
    assert sorted(p.name for p in (root / "out").iterdir()) == sorted(
        ["link.png", "hard.png", "link.dump", "x.png"])


def test_compress_leaves_symlinked_dumps_alone(work, capsys) -> None:
    link = work["root"] / "out" / "link.dump"
    target = work["dumps"] / "000001.dump"
    before = target.read_bytes()
    assert main(["compress", str(link), "--to", "xz"]) == 1
    err = capsys.readouterr().err
    assert "symbolic link" in err and err.count("overmix: error:") == 1
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_bytes() == before
    # the real file is recompressed in place, as compress is for
    assert main(["compress", str(target), "--to", "xz"]) == 0
    assert target.read_bytes() != before and link.is_symlink()


def test_atomic_guard_unit(tmp_path) -> None:
    """The one write path: registered inputs (by identity) and non-regular files refused."""
    a = tmp_path / "a.bin"
    a.write_bytes(b"input")
    os.symlink(a, tmp_path / "l.bin")
    os.link(a, tmp_path / "h.bin")
    with input_scope():
        register_input(tmp_path)
        for name in ("a.bin", "h.bin"):
            with pytest.raises(OutputError, match="input"):
                write_bytes_atomic(tmp_path / name, b"x")
        with pytest.raises(OutputError, match="symbolic link"):
            check_output(tmp_path / "l.bin")
        check_output(tmp_path / "new.bin")  # a new name beside the inputs is fine
        with atomic_path(tmp_path / "new.bin") as tmp:
            tmp.write_bytes(b"new")
    with input_scope():  # another command: a.bin is not its input
        write_bytes_atomic(tmp_path / "a.bin", b"rewritten")
    assert (tmp_path / "h.bin").read_bytes() == b"input"  # replaced by rename, link kept old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "h.bin", "l.bin", "new.bin"]


# ----------------------------------------------------------------------------- permissions


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_outputs_get_normal_permissions(work, capsys, umask: int) -> None:
    root = work["root"]
    old = os.umask(umask)
    try:
        assert main(["convert", str(work["dumps"]), "-o", str(root / "c.png")]) == 0
        assert main(["stitch", str(work["pngs"]), "-o", str(root / "s.png"),
                     "--save-offsets", str(root / "s.json"), "-q"]) == 0
        assert main(["dump", str(work["video"]), "-o", str(root / "d"), "-q",
                     "--frames", "2"]) == 0
    finally:
        os.umask(old)
    want = 0o666 & ~umask
    files = [root / "c.png", root / "s.png", root / "s.json", *sorted((root / "d").iterdir())]
    assert {f.name: oct(stat.S_IMODE(f.stat().st_mode)) for f in files} == \
        {f.name: oct(want) for f in files}
    # a replaced file keeps its mode (as writing it with open() would)
    os.chmod(root / "c.png", 0o640)
    assert main(["convert", str(work["dumps"]), "--frame", "1", "-o", str(root / "c.png")]) == 0
    assert stat.S_IMODE((root / "c.png").stat().st_mode) == 0o640

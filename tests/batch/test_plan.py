"""Job files, plans and the manifest logic (no Dask)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from overmix import batch
from overmix.errors import UsageError
from tests.batch.conftest import FAKE


def _job(tmp_path: Path, text: str, name: str = "job.toml") -> batch.Job:
    p = tmp_path / name
    p.write_text(text)
    return batch.load_job(p)


@pytest.fixture
def clips(tmp_path: Path) -> list[Path]:
    (tmp_path / "clips").mkdir()
    out = []
    for k in range(3):
        p = tmp_path / "clips" / f"ep{k}.mkv"
        p.write_bytes(b"clip %d" % k)
        out.append(p)
    return out


def test_plan_expands_globs_scenes_and_actions(tmp_path, clips):
    job = _job(tmp_path, """
output = "out"
inputs = ["clips/ep*.mkv"]
scenes = [{start = 0, end = 8}, [8, 16], {start = "16", end = "1.5s"}]

[[action]]
command = "stitch"
output = "{stem}/scene-{scene:03d}.png"
[action.options]
render = "median"
depth = 16
dither = true
jpeg = false

[[action]]
command = "convert"
output = "{stem}/still-{scene}.png"
frame = "middle"
""")
    plan = batch.make_plan(job)
    assert job.output == tmp_path / "out"
    stitch = [t for t in plan.tasks if t.command == "stitch"]
    assert [t.id for t in stitch[:3]] == ["ep0/scene-000.png", "ep0/scene-001.png",
                                          "ep0/scene-002.png"]
    assert len(stitch) == 9
    t = stitch[1]
    assert t.argv == ("stitch", str(clips[0]), "-o", batch.OUT, "--start", "8", "--end", "16",
                      "--depth", "16", "--dither", "--render", "median")
    conv = [t for t in plan.tasks if t.command == "convert"]
    # scenes 0 and 1 have index ranges -> middle frames 3 and 11; scene 2 ends at a time
    assert [t.argv[-1] for t in conv] == ["3", "11"] * 3
    assert len(plan.problems) == 3 and "frame-index" in plan.problems[0].reason


def test_auto_scenes_use_detector_and_cache(tmp_path, clips):
    job = _job(tmp_path, """
output = "out"
inputs = ["clips/*.mkv"]
scenes = "auto"
min_frames = 2
[[action]]
command = "dump"
output = "{stem}/{scene:02d}-{start}-{end}"
""")
    calls = []

    def detect(p: Path):
        calls.append(p.name)
        return [(0, 5), (5, 6), (6, 20)]

    plan = batch.make_plan(job, detect=detect)
    assert calls == ["ep0.mkv", "ep1.mkv", "ep2.mkv"]
    # the 1-frame scene is left out (min_frames = 2); scenes keep the detector's numbers
    assert [t.id for t in plan.tasks[:2]] == ["ep0/00-0-5", "ep0/02-6-20"]
    again = batch.make_plan(job, detect=detect, scenes_cache=plan.scenes)
    assert len(calls) == 3 and [t.key for t in again.tasks] == [t.key for t in plan.tasks]
    os.utime(clips[1], ns=(1, 1))  # a changed input is detected again
    batch.make_plan(job, detect=detect, scenes_cache=plan.scenes)
    assert calls[3:] == ["ep1.mkv"]


def test_problems_and_invalid_jobs(tmp_path, clips):
    job = _job(tmp_path, """
output = "out"
inputs = ["missing/*.mkv", "clips/ep0.mkv", "clips/nothere.mkv"]
[[action]]
command = "stitch"
output = "{stem}.png"
""")
    plan = batch.make_plan(job)
    assert [t.id for t in plan.tasks] == ["ep0.png"]
    assert [p.reason for p in plan.problems] == [
        "no file matches this pattern", "cannot read input: No such file or directory"]
    with pytest.raises(UsageError, match="same file"):
        batch.make_plan(_job(tmp_path, """
output = "out"
inputs = ["clips/*.mkv"]
[[action]]
command = "stitch"
output = "all.png"
"""))
    bad = [
        ('output = "o"\ninputs = ["a"]\n[[action]]\ncommand = "rm"\noutput = "x"', "one of"),
        ('output = "o"\ninputs = ["a"]\n[[action]]\ncommand = "stitch"\noutput = "../x"',
         "inside"),
        ('output = "o"\ninputs = ["a"]\n[[action]]\ncommand = "stitch"\noutput = "x"\n'
         '[action.options]\nstart = 3', "set by the batch"),
        ('output = "o"\ninputs = ["a"]\nscenes = [[5, 2]]\n[[action]]\ncommand = "stitch"\n'
         'output = "x"', "empty range"),
        ('inputs = ["a"]', "'output'"),
        ('output = "o"\ninputs = ["a"]\nfoo = 1', "unknown"),
    ]
    for text, msg in bad:
        with pytest.raises(batch.OvermixError, match=msg):
            _job(tmp_path, text)


def test_json_job_and_options_argv(tmp_path, clips):
    job = _job(tmp_path, json.dumps({
        "output": "o", "input": [{"path": "clips/ep1.mkv", "start": 2, "end": "00:00:01.000"}],
        "action": [{"command": "stitch", "output": "{name}-{input}.png",
                    "options": {"motion": "x", "scale": 2.0, "border": 3,
                                "extract_overlay": "a.png"}}]}), "job.json")
    (t,) = batch.make_plan(job).tasks
    assert t.id == "ep1.mkv-0.png"
    assert t.argv[4:] == ("--start", "2", "--end", "00:00:01.000", "--border", "3",
                          "--extract-overlay", batch.OUTDIR + "/a.png", "--motion", "x",
                          "--scale", "2.0")


def test_serial_execution_manifest_and_is_done(tmp_path, clips):
    job = _job(tmp_path, """
output = "out"
inputs = ["clips/ep0.mkv"]
scenes = [[0, 4], [4, 8]]
[[action]]
command = "stitch"
output = "{stem}/{scene}.png"
[[action]]
command = "dump"
output = "{stem}/dump-{scene}"
""")
    plan = batch.make_plan(job)
    root = job.output
    root.mkdir()
    res = batch.serial_run(plan.tasks, root, FAKE)
    assert [r["status"] for r in res] == ["done"] * 4
    assert sorted(os.listdir(root / "ep0")) == ["0.png", "1.png", "dump-0", "dump-1"]
    assert sorted(os.listdir(root / "ep0" / "dump-1")) == ["000000.dump", "000001.dump"]
    assert res[1]["outputs"]["ep0/dump-0"]["size"] == 2 * (64 * 64 + 1)
    manifest = {"version": 1, "tasks": {t.id: {"key": t.key, "outputs": r["outputs"]}
                                        for t, r in zip(plan.tasks, res, strict=True)}}
    assert all(batch.is_done(t, manifest, root) for t in plan.tasks)
    (root / "ep0" / "0.png").write_bytes(b"x")  # damaged output -> not done
    assert not batch.is_done(plan.tasks[0], manifest, root)
    assert not (root / batch.STAGING_NAME).exists() or not any(
        (root / batch.STAGING_NAME).iterdir())
    # a failing command: reason from its "overmix: error:" line, no output
    (tmp_path / "clips" / "ep0.mkv").write_bytes(b"BAD")
    (bad,) = batch.serial_run(plan.tasks[:1], tmp_path / "out", FAKE)
    assert bad["status"] == "failed" and bad["reason"].endswith("corrupt input")


def test_missing_dask_gives_install_hint(tmp_path, clips, monkeypatch, capsys):
    import sys

    from overmix.cli import main

    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails as if not installed
    (tmp_path / "job.toml").write_text(
        'output = "out"\ninputs = ["clips/ep0.mkv"]\n[[action]]\ncommand = "stitch"\n'
        'output = "{stem}.png"\n')
    assert main(["batch", "run", str(tmp_path / "job.toml")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("overmix: error: ") and "install overmix[batch]" in err
    assert main(["batch", "plan", str(tmp_path / "job.toml")]) == 0  # planning needs no Dask
    assert "ep0.png" in capsys.readouterr().out


def test_file_options(tmp_path, clips):
    job = _job(tmp_path, """
output = "out"
inputs = ["clips/ep0.mkv"]
scenes = [[0, 4], [4, 8]]
[[action]]
command = "stitch"
output = "{stem}/{scene}.png"
[action.options]
mask = "masks/m.png"
logo = "auto"
save_offsets = "{stem}-{scene:02d}.json"
""")
    plan = batch.make_plan(job)
    argv = plan.tasks[1].argv
    assert argv[argv.index("--mask") + 1] == str(tmp_path / "masks" / "m.png")
    assert argv[argv.index("--logo") + 1] == "auto"
    assert argv[argv.index("--save-offsets") + 1] == batch.OUTDIR + "/ep0-01.json"
    root = job.output
    root.mkdir()
    (res,) = batch.serial_run(plan.tasks[1:], root, FAKE)
    assert sorted(res["outputs"]) == ["ep0/1.png", "ep0/ep0-01.json"]
    assert (root / "ep0" / "ep0-01.json").read_text() == "{}"
    bad = _job(tmp_path, 'output = "o"\ninputs = ["clips/ep0.mkv"]\n[[action]]\n'
               'command = "stitch"\noutput = "x.png"\n[action.options]\n'
               'save_offsets = "sub/o.json"\n')
    assert "file name" in batch.make_plan(bad).problems[0].reason

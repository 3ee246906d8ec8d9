"""Batch jobs with the real commands: same files as running them one by one; bad inputs."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from overmix import batch
from overmix.cli import main
from tests.batch.hooks import kill_once_real
from tests.videogen import make_clip

pytest.importorskip("distributed")

N_CLIPS, SCENES, LEN = 3, 3, 8


def _tree(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != batch.MANIFEST_NAME}


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("clips")
    for k in range(N_CLIPS):  # 3 scenes of 8 frames each (a new drawing every 8 frames)
        make_clip(d / f"ep{k}.mp4", n=SCENES * LEN, h=72, w=128, seed=10 * k,
                  cut_every=LEN)
    return d


def _has(command: str) -> bool:
    from overmix.cli import build_parser

    return command in build_parser()._subparsers._group_actions[0].choices  # type: ignore


def test_job_equals_commands_one_by_one(clips, tmp_path, client):
    # dump and stitch per scene (convert runs in the corrupt-input test below); convert stands
    # in for stitch while the stitch command is not there
    second = ('[[action]]\ncommand = "stitch"\noutput = "{stem}/pan-{scene:02d}.png"\n'
              '[action.options]\ndepth = 16\n' if _has("stitch") else
              '[[action]]\ncommand = "convert"\noutput = "{stem}/pan-{scene:02d}.png"\n'
              'frame = "middle"\n[action.options]\ndepth = 16\n')
    actions = ['[[action]]\ncommand = "dump"\noutput = "{stem}/scene-{scene:02d}"\n', second]
    job_file = tmp_path / "job.toml"
    job_file.write_text(f'output = "out"\ninputs = ["{clips}/*.mp4"]\nscenes = "auto"\n\n'
                        + "\n".join(actions))
    job = batch.load_job(job_file)
    # one worker is killed 0.4 s into its first command; the job still completes
    report = batch.run_job(job, client=client, execute=kill_once_real)
    assert (tmp_path / "killed-marker").exists()
    assert report.failed == 0, [r.reason for r in report.results if r.status == "failed"]
    assert not any(".tmp" in p.name or ".old-" in p.name or p.name == batch.STAGING_NAME
                   for p in job.output.rglob("*"))
    for pid in os.listdir("/proc"):  # the killed worker's command died with it
        if pid.isdigit():
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            assert str(job.output).encode() not in cmd, cmd
    per_scene = len(actions)
    assert report.count("done") == N_CLIPS * SCENES * per_scene
    # the scene detector found the three 8-frame scenes of every clip
    manifest = json.loads((job.output / batch.MANIFEST_NAME).read_text())
    assert all(e["scenes"] == [[0, 8], [8, 16], [16, 24]] for e in manifest["scenes"].values())

    # the same commands typed in a shell (each on its own, two at a time to save time) give
    # byte-identical files
    ref = tmp_path / "ref"
    commands = []
    for t in batch.make_plan(job, scenes_cache=manifest["scenes"]).tasks:
        out = ref / t.output
        out.parent.mkdir(parents=True, exist_ok=True)
        commands.append([sys.executable, "-m", "overmix",
                         *(str(out) if w == batch.OUT else w for w in t.argv)])
    with ThreadPoolExecutor(2) as pool:
        for proc in pool.map(lambda c: subprocess.run(c, capture_output=True), commands):
            assert proc.returncode == 0, proc.stderr
    got, want = _tree(job.output), _tree(ref)
    assert got.keys() == want.keys() and len(got) >= N_CLIPS * SCENES * (LEN + 2)
    different = sorted(k for k in got if got[k] != want[k])
    assert not different, different[:5]
    # a second run does nothing
    again = batch.run_job(job, client=client)
    assert again.count("skipped") == len(again.results) and _tree(job.output) == got
    # the manifest's hashes are the outputs' hashes
    entry = manifest["tasks"]["ep1/pan-02.png"]
    assert entry["outputs"]["ep1/pan-02.png"]["sha256"] == got["ep1/pan-02.png"]


def test_corrupt_input_via_cli(clips, tmp_path, client, capsys):
    bad = tmp_path / "broken.mp4"
    data = (clips / "ep0.mp4").read_bytes()
    bad.write_bytes(data[:48] + bytes(len(data) - 48))  # header kept, payload zeroed
    (tmp_path / "junk.mp4").write_bytes(b"this is not a video")
    job = tmp_path / "job.toml"
    job.write_text(f'output = "out"\ninputs = ["{clips}/ep1.mp4", "{bad}", "junk.mp4"]\n'
                   'scenes = [[0, 8], [8, 16]]\n[[action]]\ncommand = "convert"\n'
                   'output = "{stem}-{scene}.png"\n')
    log = tmp_path / "run.log"
    rc = main(["batch", "run", str(job), "--scheduler", client.scheduler.address,
               "--log", str(log), "--json"])
    captured = capsys.readouterr()
    assert rc == 1
    assert captured.err.strip().splitlines()[-1] == "overmix: error: 4 of 6 tasks failed"
    res = {r["id"]: r for r in json.loads(captured.out)["results"]}
    assert {k for k, r in res.items() if r["status"] == "done"} == {"ep1-0.png", "ep1-1.png"}
    for k in ("broken-0.png", "broken-1.png", "junk-0.png", "junk-1.png"):
        assert res[k]["status"] == "failed" and res[k]["reason"], res[k]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "batch-manifest.json", "ep1-0.png", "ep1-1.png"]
    events = [json.loads(x)["event"] for x in log.read_text().splitlines()]
    assert events[0] == "start" and events[-1] == "end" and "stderr" in events
    # plan shows the tasks and their state
    assert main(["batch", "plan", str(job), "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert {t["id"]: t["done"] for t in plan["tasks"]}["ep1-0.png"] is True
    assert {t["id"]: t["done"] for t in plan["tasks"]}["junk-0.png"] is False

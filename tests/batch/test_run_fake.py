"""The Dask runner with a fast stand-in command: resume, option changes, lost workers."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from overmix import batch
from tests.batch.conftest import FAKE

pytest.importorskip("distributed")

JOB = """
output = "out"
inputs = ["clips/*.mkv"]
scenes = [[0, 8], [8, 16], [16, 24]]

[[action]]
command = "stitch"
output = "{stem}/scene-{scene:03d}.png"
[action.options]
render = "median"

[[action]]
command = "dump"
output = "{stem}/dump-{scene:03d}"
"""


def _tree(root: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file below root (manifest excluded)."""
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != batch.MANIFEST_NAME}


def _setup(tmp_path: Path, text: str = JOB) -> batch.Job:
    (tmp_path / "clips").mkdir(exist_ok=True)
    for k in range(3):
        clip = tmp_path / "clips" / f"ep{k}.mkv"
        if not clip.exists():
            clip.write_bytes(b"clip %d" % k * 100)
    (tmp_path / "job.toml").write_text(text)
    return batch.load_job(tmp_path / "job.toml")


def test_run_resume_and_option_change(tmp_path, client):
    job = _setup(tmp_path)
    events = []
    report = batch.run_job(job, client=client, program=FAKE,
                           progress=lambda s, d, t: events.append((s, d, t)),
                           log=tmp_path / "batch.log")
    assert (report.count("done"), report.failed) == (18, 0)
    assert ("tasks", 18, 18) in events and ("ep1.mkv", 6, 6) in events
    # same files as the commands run one after another
    ref = tmp_path / "ref"
    ref.mkdir()
    batch.serial_run(batch.make_plan(job).tasks, ref, FAKE)
    first = _tree(job.output)
    assert first == _tree(ref) and len(first) == 9 + 18
    manifest = json.loads((job.output / batch.MANIFEST_NAME).read_text())
    assert len(manifest["tasks"]) == 18
    lines = [json.loads(x) for x in (tmp_path / "batch.log").read_text().splitlines()]
    assert lines[0]["event"] == "start" and lines[-1]["event"] == "end"

    # a second run does nothing
    mtimes = {p: p.stat().st_mtime_ns for p in job.output.rglob("*.png")}
    again = batch.run_job(job, client=client, program=FAKE)
    assert (again.count("skipped"), again.count("done")) == (18, 0)
    assert {p: p.stat().st_mtime_ns for p in job.output.rglob("*.png")} == mtimes

    # changing one option redoes exactly the stitch tasks; touching one input redoes its tasks
    job2 = _setup(tmp_path, JOB.replace('"median"', '"average"'))
    third = batch.run_job(job2, client=client, program=FAKE)
    redone = sorted(r.id for r in third.results if r.status == "done")
    assert redone == sorted(f"ep{k}/scene-{s:03d}.png" for k in range(3) for s in range(3))
    assert _tree(job.output) != first
    os.utime(tmp_path / "clips" / "ep2.mkv", ns=(time.time_ns(), time.time_ns()))
    fourth = batch.run_job(job2, client=client, program=FAKE)
    assert sorted(r.id for r in fourth.results if r.status == "done") == sorted(
        t.id for t in batch.make_plan(job2).tasks if "ep2" in t.id)
    # --force runs everything
    assert batch.run_job(job2, client=client, program=FAKE, force=True).count("done") == 18


def test_lost_worker_is_retried_and_leaves_nothing_partial(tmp_path, client):
    from tests.batch.hooks import kill_once

    job = _setup(tmp_path)
    report = batch.run_job(job, client=client, program=FAKE, execute=kill_once)
    assert (tmp_path / "killed-marker").exists()  # a worker really died mid-command
    assert (report.count("done"), report.failed) == (18, 0)
    ref = tmp_path / "ref"
    ref.mkdir()
    batch.serial_run(batch.make_plan(job).tasks, ref, FAKE)
    assert _tree(job.output) == _tree(ref)
    names = [p.name for p in job.output.rglob("*")]
    assert not any(".tmp" in n or ".old-" in n for n in names)
    assert not (job.output / batch.STAGING_NAME).exists()
    # the killed worker's command died with it (no orphan left to write later)
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            assert not (b"fakeprog.py" in cmd and b"--slow" in cmd), cmd
    client.wait_for_workers(2, timeout=30)


def test_corrupt_input_is_reported_and_others_finish(tmp_path, client):
    job = _setup(tmp_path)
    (tmp_path / "clips" / "ep1.mkv").write_bytes(b"BAD file")
    seen = []
    report = batch.run_job(job, client=client, program=FAKE, on_result=seen.append)
    failed = [r for r in report.results if r.status == "failed"]
    assert sorted(r.id for r in failed) == sorted(
        t.id for t in batch.make_plan(job).tasks if t.id.startswith("ep1/"))
    assert all(r.reason.endswith("corrupt input") for r in failed)
    assert report.count("done") == 12 and len(seen) == 18
    assert not (job.output / "ep1").exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_command_of_a_worker_gone_before_it_starts_does_not_run(tmp_path, monkeypatch):
    """A worker killed between the fork and its child's first run (a loaded machine): the
    parent-death signal does not cover it, so the child, already another process's, must
    end itself before running the command (else an orphan writes files after the job)."""
    from overmix.batch import worker

    marker = tmp_path / "ran"
    cmd = [sys.executable, "-c", f"open({str(marker)!r}, 'w').close()"]
    ok = subprocess.run(cmd, preexec_fn=worker._parent_death_signal(), check=False)
    assert ok.returncode == 0 and marker.exists()
    marker.unlink()
    with monkeypatch.context() as m:  # the worker that forked it: some other process
        m.setattr(worker.os, "getpid", lambda: 1)
        preexec = worker._parent_death_signal()
    gone = subprocess.run(cmd, preexec_fn=preexec, check=False)
    assert gone.returncode == -signal.SIGKILL and not marker.exists()

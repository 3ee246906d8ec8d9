"""Benchmark overmix batch: N scene tasks serially vs on a local Dask cluster, plus overheads.

Prints, in one run on this machine:

- wall time of N scene tasks run one after another (``overmix.batch.serial_run``: the same
  subprocess per task, no Dask) and on a ``LocalCluster`` of W worker processes
  (``run_job`` with a client started beforehand), and the speed-up;
- the cluster's start-up time;
- Dask's scheduling overhead per task (M no-op tasks submitted and gathered with
  ``as_completed``, on the same cluster);
- the per-task floor of the subprocess design (start ``python -m overmix``, import, convert
  one tiny frame, exit).

Usage: ``python tools/bench_batch.py [--scenes 8] [--workers 2] [--command dump]
[--size 320x180] [--frames 12] [--noop 200]``
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from overmix import batch  # noqa: E402
from tests.videogen import make_clip  # noqa: E402


def _child_cpu() -> float:
    """CPU seconds (user + system) used by this process's finished children."""
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenes", type=int, default=8, help="scene tasks (default 8)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--command", default="dump", choices=("dump", "convert", "stitch"))
    ap.add_argument("--size", default="320x180")
    ap.add_argument("--frames", type=int, default=12, help="frames per scene")
    ap.add_argument("--noop", type=int, default=200, help="no-op tasks for the overhead")
    ap.add_argument("--repeat", type=int, default=2, help="runs of each mode (best kept)")
    return ap.parse_args()


def _make_job(tmp: Path, args: argparse.Namespace, w: int, h: int) -> batch.Job:
    """Two clips of ``--scenes`` scenes in all, and a job running ``--command`` on each."""
    clips = 2
    per_clip = max(1, args.scenes // clips)
    for k in range(clips):
        make_clip(tmp / f"c{k}.mp4", n=per_clip * args.frames, h=h, w=w, seed=7 * k,
                  cut_every=args.frames)
    ranges = [[s * args.frames, (s + 1) * args.frames] for s in range(per_clip)]
    opts = {"dump": "", "convert": "", "stitch": ""}[args.command]
    (tmp / "job.toml").write_text(
        f'output = "out"\ninputs = ["c*.mp4"]\nscenes = {ranges}\n[[action]]\n'
        f'command = "{args.command}"\noutput = "{{stem}}/{{scene:03d}}'
        f'{"" if args.command == "dump" else ".png"}"\n{opts}')
    return batch.load_job(tmp / "job.toml")


def _serial_and_cluster(client, job: batch.Job, tasks: list, tmp: Path, repeat: int
                        ) -> tuple[tuple[float, float], tuple[float, float], int]:
    """Best (wall s, child CPU s) of ``repeat`` serial runs and of as many cluster runs, and
    the tasks the cluster did. Serial and cluster runs alternate (other processes on the
    machine add noise, mostly upwards)."""
    best_serial = best_par = (float("inf"), 0.0)
    ndone = 0
    for rep in range(repeat):
        serial_root = tmp / f"serial{rep}"
        serial_root.mkdir()
        c0 = _child_cpu()
        t0 = time.perf_counter()
        res = batch.serial_run(tasks, serial_root)
        serial = time.perf_counter() - t0
        best_serial = min(best_serial, (serial, _child_cpu() - c0))
        bad = [r for r in res if r["status"] != "done"]
        if bad:
            raise SystemExit(f"serial run failed: {bad[0]}")
        c0 = sum(client.run(_child_cpu).values())
        t0 = time.perf_counter()
        report = batch.run_job(job, client=client, force=True)
        par = time.perf_counter() - t0
        best_par = min(best_par, (par, sum(client.run(_child_cpu).values()) - c0))
        ndone = report.count("done")
        if ndone != len(tasks):
            raise SystemExit(f"cluster run: {report.to_json()}")
    return best_serial, best_par, ndone


def _noop_overhead(client, n: int) -> float:
    """Seconds per no-op task through submit + as_completed."""
    import distributed

    client.gather(client.map(abs, range(10), pure=False))  # warm up
    t0 = time.perf_counter()
    futs = client.map(abs, range(n), pure=False)
    for _ in distributed.as_completed(futs):
        pass
    return (time.perf_counter() - t0) / n


def _subprocess_floor(tmp: Path) -> list[float]:
    """The floor of the subprocess design: start Python, import overmix, convert one frame
    of a 64x36 clip, exit (5 runs, seconds each)."""
    make_clip(tmp / "tiny.mp4", n=2, h=36, w=64)
    starts = []
    for i in range(5):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "overmix", "-q", "convert",
                        str(tmp / "tiny.mp4"), "-o", str(tmp / f"tiny{i}.png")],
                       check=True, capture_output=True)
        starts.append(time.perf_counter() - t0)
    return starts


def main() -> None:
    args = _args()
    w, h = (int(x) for x in args.size.split("x"))
    import distributed

    tmp = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    try:
        job = _make_job(tmp, args, w, h)
        tasks = batch.make_plan(job).tasks
        print(f"{len(tasks)} '{args.command}' tasks, {args.frames} frames of {w}x{h} each, "
              f"{args.workers} workers; {os.cpu_count()} CPUs, load average "
              f"{os.getloadavg()[0]:.1f} at start")

        t0 = time.perf_counter()
        cluster = distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1,
                                           processes=True, dashboard_address=":0",
                                           silence_logs=logging.ERROR)
        client = distributed.Client(cluster)
        startup = time.perf_counter() - t0
        try:
            (serial, serial_cpu), (par, par_cpu), ndone = _serial_and_cluster(
                client, job, tasks, tmp, args.repeat)
            noop = _noop_overhead(client, args.noop)
        finally:
            client.close()
            cluster.close()
        starts = _subprocess_floor(tmp)

        print(f"serial (one subprocess after another): {serial:7.2f} s "
              f"({serial / len(tasks):.2f} s/task; commands used {serial_cpu:.1f} CPU-s, "
              f"{serial_cpu / serial:.2f} cores on average)")
        print(f"local cluster, {args.workers} workers:       {par:7.2f} s for {ndone} tasks "
              f"({par / max(ndone, 1):.2f} s/task; commands used {par_cpu:.1f} CPU-s, "
              f"{par_cpu / par:.2f} cores; cluster start-up {startup:.2f} s not included)")
        print(f"speed-up: {serial / par:.2f}x on {args.workers} workers "
              f"(best of {args.repeat} runs each)")
        print(f"scheduler overhead per no-op task ({args.noop} tasks): {noop * 1e3:.2f} ms")
        print(f"per-task floor of a subprocess (python -m overmix convert of one 64x36 "
              f"frame), median of 5: {statistics.median(starts):.2f} s")
        print(f"load average {os.getloadavg()[0]:.1f} at the end (other processes share the "
              "CPUs: figures are only comparable within a quiet run)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

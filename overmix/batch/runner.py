"""Running a batch job on Dask: scene detection, then the tasks, recorded in the manifest.

The client submits one :func:`~overmix.batch.worker.detect_task` per ``"auto"`` input whose
scenes are not known yet, plans the job (:func:`~overmix.batch.plan.make_plan`), skips the
tasks the manifest says are done and submits one :func:`~overmix.batch.worker.execute_task`
per remaining task; results are recorded as they arrive.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from overmix.batch.job import Job
from overmix.batch.manifest import (
    STAGING_NAME,
    is_done,
    read_manifest,
    record_done,
    write_manifest,
)
from overmix.batch.plan import Detector, Plan, Task, expand, fingerprint, make_plan
from overmix.batch.worker import client_environment, detect_task, execute_task
from overmix.errors import OvermixError
from overmix.progress import ProgressCallback, no_progress

__all__ = ["RunReport", "TaskResult", "dashboard_link", "import_distributed", "run_job",
           "serial_run", "start_client"]

_INSTALL_HINT = "batch needs Dask: install overmix[batch] (pip install 'overmix[batch]')"


@dataclass
class TaskResult:
    """What happened to one task (or to an input that could not be planned)."""

    id: str
    input: str
    status: str  # "done" | "skipped" | "failed"
    reason: str = ""
    seconds: float = 0.0
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RunReport:
    """The outcome of :func:`run_job`."""

    results: list[TaskResult]
    seconds: float
    dashboard: str | None = None

    def count(self, status: str) -> int:
        return sum(r.status == status for r in self.results)

    @property
    def failed(self) -> int:
        return self.count("failed")

    def to_json(self) -> dict[str, Any]:
        return {"done": self.count("done"), "skipped": self.count("skipped"),
                "failed": self.failed, "seconds": self.seconds, "dashboard": self.dashboard,
                "results": [r.to_json() for r in self.results]}


def import_distributed() -> Any:
    """``dask.distributed``, or a clear error when the ``batch`` extra is missing."""
    try:
        import distributed
    except ImportError:
        raise OvermixError(_INSTALL_HINT) from None
    return distributed


def start_client(scheduler: str | None = None, workers: int | None = None) -> Any:
    """A Dask client: on ``scheduler`` when given, else on a new local cluster.

    The local cluster has ``workers`` processes (default: the CPU count) with one thread
    each; its dashboard listens on a free port when bokeh is installed.
    """
    distributed = import_distributed()
    import logging

    if scheduler:
        try:
            return distributed.Client(scheduler, timeout="20s")
        except (OSError, TimeoutError) as exc:
            raise OvermixError(f"cannot connect to scheduler {scheduler}: {exc}") from None
    n = workers or os.cpu_count() or 1
    # A free port, never the fixed 8787 another cluster may hold. Without bokeh the
    # server has no pages, and dashboard_link() reports no link.
    cluster = distributed.LocalCluster(
        n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0",
        silence_logs=logging.ERROR,
    )
    return distributed.Client(cluster)


def run_job(job: Job, *, client: Any = None, scheduler: str | None = None,
            workers: int | None = None, force: bool = False,
            progress: ProgressCallback = no_progress,
            on_result: Callable[[TaskResult], None] | None = None,
            on_start: Callable[[Plan, list[Task], str | None], None] | None = None,
            log: str | os.PathLike[str] | None = None,
            execute: Callable[..., dict[str, Any]] | None = None,
            detect: Detector | None = None,
            program: Sequence[str] | None = None) -> RunReport:
    """Run a job on Dask and return what happened to each task.

    Parameters
    ----------
    job : Job
    client : distributed.Client, optional
        Use this client (it is left open). Otherwise one is started with
        :func:`start_client` (``scheduler`` address or a local cluster of ``workers``) and
        closed at the end.
    force : bool
        Run every task even when the manifest says it is done.
    progress : ProgressCallback
        Stages ``"scenes"`` (inputs examined), ``"tasks"`` (all tasks finished, including
        skipped ones) and one stage per input file name (its tasks).
    on_result : callable(TaskResult), optional
        Called on the client as each task finishes (or is skipped/fails).
    on_start : callable(plan, tasks_to_run, dashboard_link), optional
        Called once the plan is known, before tasks are submitted.
    log : path, optional
        Append a line per event (JSON lines) to this file.
    execute, detect, program : optional
        Task runner (default :func:`~overmix.batch.worker.execute_task`), scene detector
        and command prefix; for tests and tools. ``execute`` must be importable on the workers.

    Failures are isolated: a failing command, a lost worker (after retries), an unreadable
    input each give a ``failed`` result; the other tasks finish.
    """
    t0 = time.perf_counter()
    distributed = import_distributed()
    root = job.output
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OvermixError(f"cannot create output folder {root}: {exc.strerror}") from None
    # Staging left by a run that was killed (one job per output folder at a time).
    shutil.rmtree(root / STAGING_NAME, ignore_errors=True)
    events = _EventLog(log)
    own_client = client is None
    if own_client:
        client = start_client(scheduler, workers or job.workers)
    try:
        dashboard = dashboard_link(client)
        manifest = read_manifest(root)
        events.note("start", job=str(job.path), output=str(root), dashboard=dashboard)
        # Phase 1: scene detection of "auto" inputs, in parallel on the workers.
        transient = _detect_scenes(job, client, distributed, manifest, root, detect, progress)
        plan = make_plan(job, detect=detect,
                         scenes_cache={**manifest.get("scenes", {}), **transient})
        run = [t for t in plan.tasks if force or not is_done(t, manifest, root)]
        if on_start:
            on_start(plan, run, dashboard)
        tracker = _Tracker(plan, progress, events, on_result)
        tracker.begin(run, manifest)
        # Phase 2: the tasks.
        _run_tasks(client, distributed, run, job, manifest, execute or execute_task, program,
                   tracker, events)
        report = RunReport(tracker.results, time.perf_counter() - t0, dashboard)
        events.note("end", done=report.count("done"), skipped=report.count("skipped"),
                    failed=report.failed, seconds=round(report.seconds, 3))
        return report
    finally:
        shutil.rmtree(root / STAGING_NAME, ignore_errors=True)
        events.close()
        if own_client:
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None:
                cluster.close()


class _EventLog:
    """JSON lines, one per event, appended to the ``log`` file (nothing without one)."""

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self._fh = open(path, "a", encoding="utf-8") if path else None  # noqa: SIM115

    def note(self, event: str, **kw: Any) -> None:
        if self._fh:
            rec = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "event": event, **kw}
            self._fh.write(json.dumps(rec, default=str) + "\n")
            self._fh.flush()

    def close(self) -> None:
        if self._fh:
            self._fh.close()


def _detect_scenes(job: Job, client: Any, distributed: Any, manifest: dict[str, Any],
                   root: Path, detect: Detector | None, progress: ProgressCallback
                   ) -> dict[str, dict[str, Any]]:
    """Detect the scenes of "auto" inputs not in the manifest's cache, on the workers.

    Results (scenes, or an error of the input itself) go into ``manifest["scenes"]``, which
    is written; failures not to remember (lost workers) are returned.
    """
    cache = manifest.get("scenes", {})
    todo: list[tuple[str, int, int]] = []
    for spec in job.inputs:
        if spec.scenes != "auto":
            continue
        for m in expand(spec.pattern):
            m = os.path.abspath(m)
            try:
                size, mtime = fingerprint(m)
            except OSError:
                continue  # reported by make_plan
            e = cache.get(m)
            if not (e and e.get("size") == size and e.get("mtime_ns") == mtime) \
                    and m not in [t[0] for t in todo]:
                todo.append((m, size, mtime))
    transient: dict[str, dict[str, Any]] = {}
    if not todo:
        return transient
    progress("scenes", 0, len(todo))
    futs = {client.submit(detect_task, m, detect, pure=False, retries=job.retries,
                          key=f"scenes-{uuid.uuid4().hex[:8]}-{Path(m).name}"): (m, s, t)
            for m, s, t in todo}
    for n, fut in enumerate(distributed.as_completed(futs), 1):
        m, size, mtime = futs[fut]
        try:
            res = fut.result()
        except Exception as exc:  # lost workers beyond the retries, ...
            transient[m] = {"size": size, "mtime_ns": mtime,
                            "error": f"scene detection: {_exc_reason(exc)}"}
        else:  # scenes, or an error of the input itself: remembered
            cache[m] = {"size": size, "mtime_ns": mtime, **res}
        progress("scenes", n, len(todo))
    manifest["scenes"] = cache
    write_manifest(root, manifest)
    return transient


class _Tracker:
    """Collects results and reports progress: overall (``"tasks"``) and per input file."""

    def __init__(self, plan: Plan, progress: ProgressCallback, events: _EventLog,
                 on_result: Callable[[TaskResult], None] | None) -> None:
        self.plan = plan
        self.progress = progress
        self.events = events
        self.on_result = on_result
        self.results: list[TaskResult] = []
        self.total = len(plan.tasks) + len(plan.problems)
        self.per_total = Counter(t.input_index for t in plan.tasks)
        self.per_done: Counter[int] = Counter()
        self.stages = _stage_names(plan.tasks)

    def begin(self, run: list[Task], manifest: dict[str, Any]) -> None:
        """Progress at zero, then the inputs that could not be planned and the skipped tasks."""
        self.progress("tasks", 0, self.total)
        for i, name in self.stages.items():
            self.progress(name, 0, self.per_total[i])
        for p in self.plan.problems:
            self.finish(TaskResult(p.id, p.input, "failed", p.reason), None)
        run_ids = {t.id for t in run}
        for t in self.plan.tasks:
            if t.id not in run_ids:
                old = manifest["tasks"][t.id]
                self.finish(TaskResult(t.id, t.input, "skipped", "up to date", 0.0,
                                       old.get("outputs", {})), t)

    def finish(self, res: TaskResult, task: Task | None) -> None:
        self.results.append(res)
        self.events.note("task", **res.to_json())
        self.progress("tasks", len(self.results), self.total)
        if task is not None:
            i = task.input_index
            self.per_done[i] += 1
            self.progress(self.stages[i], self.per_done[i], self.per_total[i])
        if self.on_result:
            self.on_result(res)


def _stage_names(tasks: Iterable[Task]) -> dict[int, str]:
    """A progress stage name per input: its file name (``name#k`` when two inputs share it)."""
    stages: dict[int, str] = {}
    used: set[str] = set()
    for t in tasks:
        if t.input_index not in stages:
            name = Path(t.input).name
            if name in used:
                name = f"{name}#{t.input_index}"
            used.add(name)
            stages[t.input_index] = name
    return stages


def _run_tasks(client: Any, distributed: Any, run: list[Task], job: Job,
               manifest: dict[str, Any], fn: Callable[..., dict[str, Any]],
               program: Sequence[str] | None, tracker: _Tracker, events: _EventLog) -> None:
    """Submit the tasks and record each result as it arrives (manifest written per task)."""
    root = job.output
    futures = {}
    env = client_environment()
    for t in run:
        spec = {**t.to_json(), "env": env}
        args = (spec, str(root)) if program is None else (spec, str(root), list(program))
        fut = client.submit(fn, *args, pure=False, retries=job.retries,
                            key=f"{t.command}-{t.key[:10]}-{uuid.uuid4().hex[:6]}")
        futures[fut] = t
    for fut in distributed.as_completed(futures):
        t = futures[fut]
        try:
            out = fut.result()
        except Exception as exc:
            res = TaskResult(t.id, t.input, "failed", _exc_reason(exc))
        else:
            if out.get("status") == "done":
                res = TaskResult(t.id, t.input, "done", "", out.get("seconds", 0.0),
                                 out.get("outputs", {}))
                record_done(manifest, t, res.outputs, res.seconds)
                write_manifest(root, manifest)
            else:
                res = TaskResult(t.id, t.input, "failed", str(out.get("reason", "failed")),
                                 out.get("seconds", 0.0))
                if out.get("stderr"):
                    events.note("stderr", id=t.id, stderr=out["stderr"])
        tracker.finish(res, t)


def dashboard_link(client: Any) -> str | None:
    """The Dask dashboard's address, or ``None`` when it has no pages to show.

    A local cluster serves the dashboard only with bokeh installed (without it the server
    answers 404); a remote scheduler's dashboard is its own business, so its link is given.
    """
    import importlib.util

    try:
        info = client.scheduler_info()
        if not info.get("services", {}).get("dashboard"):
            return None
        local = getattr(client, "cluster", None) is not None
        if local and importlib.util.find_spec("bokeh") is None:
            return None
        return str(client.dashboard_link)
    except Exception:  # noqa: BLE001 - the dashboard link is optional
        return None


def _exc_reason(exc: BaseException) -> str:
    name = type(exc).__name__
    if name == "KilledWorker":
        return "worker lost too many times while running this task"
    text = " ".join(str(exc).split())
    return f"{name}: {text}" if text else name


def serial_run(tasks: Iterable[Task], root: Path,
               program: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Run tasks one after another in this process (no Dask); for benchmarks and checks."""
    return [execute_task(t.to_json(), str(root), program) for t in tasks]

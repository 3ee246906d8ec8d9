"""What runs on a Dask worker: one task's command in a subprocess, then its outputs published.

The command writes into a private staging folder; only when it exits with status 0 are its
files moved into place with ``os.replace``, so outputs are always complete. The subprocess is
tied to the worker's life (Linux ``PR_SET_PDEATHSIG``): a killed worker leaves no orphan
writing files.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from overmix.batch.manifest import STAGING_NAME, tree_hash, tree_size
from overmix.batch.plan import OUT, OUTDIR, Detector, detect_scenes, task_inputs, touches
from overmix.errors import OvermixError

__all__ = ["client_environment", "default_program", "detect_task", "execute_task"]


def default_program() -> list[str]:
    """The command that runs ``overmix`` in a subprocess."""
    return [sys.executable, "-m", "overmix", "-q"]


def _parent_death_signal() -> Callable[[], None] | None:
    """A ``preexec_fn`` that kills the child when the worker dies (Linux), else ``None``."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before fork
    except (OSError, AttributeError):
        return None
    pr_set_pdeathsig = 1
    parent = os.getpid()

    def preexec() -> None:
        prctl(pr_set_pdeathsig, signal.SIGKILL)
        # The signal only covers a parent that dies after the call: on a loaded machine the
        # child may first run after the worker was killed (it is then some other process's
        # child) and must not go on to write files.
        if os.getppid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)

    return preexec


def execute_task(task: dict[str, Any], root: str, program: Sequence[str] | None = None
                 ) -> dict[str, Any]:
    """Run one task's command and move its outputs into place; runs on a Dask worker.

    Parameters
    ----------
    task : dict
        :meth:`Task.to_json`, plus ``env``: variables to set (``None`` = unset) for the
        command, see :func:`client_environment`.
    root : str
        Output root.
    program : list of str, optional
        Command prefix (default :func:`default_program`).

    Returns
    -------
    dict
        ``{"status": "done", "outputs": {rel: {"size", "sha256"}}, "seconds"}`` or
        ``{"status": "failed", "reason", "stderr", "seconds"}`` when the command fails
        (a deterministic failure: not retried).
    """
    t0 = time.perf_counter()
    root_p = Path(root)
    final = root_p / task["output"]
    staging = root_p / STAGING_NAME / f"{task['key'][:12]}-{uuid.uuid4().hex[:8]}"
    staging.mkdir(parents=True, exist_ok=False)
    try:
        tmp_out = staging / final.name
        argv = [*(program or default_program()),
                *(str(tmp_out) if w == OUT else
                  str(staging / w[len(OUTDIR) + 1:]) if w.startswith(OUTDIR + "/") else w
                  for w in task["argv"])]
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                              preexec_fn=_parent_death_signal(),
                              env=_task_env(task.get("env")), check=False)
        err = proc.stderr.decode("utf-8", "replace")
        if proc.returncode != 0:
            return {"status": "failed", "reason": _reason(err, proc.returncode),
                    "stderr": err[-4000:], "seconds": time.perf_counter() - t0}
        made = sorted(staging.iterdir())
        if not made:
            return {"status": "failed", "reason": "the command wrote no output",
                    "stderr": err[-4000:], "seconds": time.perf_counter() - t0}
        problem = _unsafe(made, final.parent, task_inputs(task))
        if problem:  # checked before anything is published
            return {"status": "failed", "reason": f"{problem}; nothing replaced",
                    "stderr": err[-4000:], "seconds": time.perf_counter() - t0}
        outputs = _publish(made, final.parent, root_p)
        return {"status": "done", "outputs": outputs, "seconds": time.perf_counter() - t0}
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _task_env(changes: dict[str, str | None] | None) -> dict[str, str]:
    """This process's environment with a task's variables set (``None`` = unset)."""
    env = dict(os.environ)
    for k, v in (changes or {}).items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


def _unsafe(made: list[Path], folder: Path, reads: list[str]) -> str | None:
    """Why publishing ``made`` into ``folder`` would be unsafe (None when it is safe): a
    destination that is (or holds) one of the task's inputs, or that exists as a symlink,
    device or FIFO (only regular files and folders are replaced)."""
    for item in made:
        dest = folder / item.name
        hit = next((r for r in reads if touches(dest, r)), None)
        if hit is not None:
            return f"output {dest} would replace the input {hit}"
        if dest.is_symlink() or (dest.exists() and not (dest.is_file() or dest.is_dir())):
            return f"output {dest} is a link, device or FIFO"
    return None


def _publish(made: list[Path], folder: Path, root: Path) -> dict[str, dict[str, Any]]:
    """Move staged outputs into ``folder``; ``{path below root: {"size", "sha256"}}``."""
    folder.mkdir(parents=True, exist_ok=True)
    outputs: dict[str, dict[str, Any]] = {}
    for item in made:
        if item.name.startswith(".") and ".tmp" in item.name:
            continue  # a temporary file the command left behind: never publish it
        dest = folder / item.name
        info = {"size": tree_size(item), "sha256": tree_hash(item)}
        _replace(item, dest)
        outputs[dest.relative_to(root).as_posix()] = info
    return outputs


def client_environment() -> dict[str, str | None]:
    """This process's values of the variables Dask changes in its worker processes.

    Dask starts workers with ``OMP_NUM_THREADS=1``, ``MKL_NUM_THREADS=1``,
    ``OPENBLAS_NUM_THREADS=1``, ... (``distributed.nanny.pre-spawn-environ``). A command run
    with those gets other thread counts than the same command typed in a shell, and BLAS
    results can then differ in the last bits. Tasks carry the submitting process's values
    (``None`` = unset) and their commands run with them, so batch outputs equal the outputs
    of the commands run by hand.
    """
    keys = {"OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
            "MALLOC_TRIM_THRESHOLD_"}
    try:
        import dask

        for name in ("distributed.nanny.pre-spawn-environ", "distributed.nanny.environ"):
            keys |= set(dask.config.get(name, default={}) or {})
    except ImportError:  # pragma: no cover - dask is needed to run jobs anyway
        pass
    return {k: os.environ.get(k) for k in sorted(keys)}


def _reason(stderr: str, rc: int) -> str:
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    for ln in reversed(lines):
        if ln.startswith("overmix: error:"):
            return ln[len("overmix: error:"):].strip()
    if rc < 0:
        try:
            return f"killed by {signal.Signals(-rc).name}"
        except ValueError:
            return f"killed by signal {-rc}"
    return lines[-1] if lines else f"exit status {rc}"


def _replace(src: Path, dest: Path) -> None:
    """Move ``src`` onto ``dest`` atomically; an existing folder is swapped out first."""
    if dest.is_dir() and not dest.is_symlink():
        trash = dest.with_name(f".{dest.name}.old-{uuid.uuid4().hex[:8]}")
        os.replace(dest, trash)
        os.replace(src, dest)
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(src, dest)


def detect_task(path: str, detect: Detector | None = None) -> dict[str, Any]:
    """Scene detection for one input (runs on a worker): ``{"scenes"}`` or ``{"error"}``."""
    try:
        found = (detect or detect_scenes)(Path(path))
        return {"scenes": [[int(a), int(b)] for a, b in found]}
    except OvermixError as exc:
        return {"error": f"scene detection: {exc}"}


# ------------------------------------------------------------------------------------------
# Running a job

"""Task runners used by the batch tests; importable on the Dask workers."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path
from typing import Any

from overmix.batch import execute_task


def _first(task: dict[str, Any], root: str) -> bool:
    """Whether this is the first task to get here (it claims the job's marker file)."""
    marker = Path(root).parent / "killed-marker"
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    os.write(fd, task["id"].encode())
    os.close(fd)
    return True


def _kill_worker_in(seconds: float) -> None:
    threading.Timer(seconds, lambda: os.kill(os.getpid(), signal.SIGKILL)).start()


def kill_once(task: dict[str, Any], root: str, program: list[str]) -> dict[str, Any]:
    """The first task to get here kills its own worker process while its command writes."""
    if not _first(task, root):
        return execute_task(task, root, program)
    # Kill the worker 0.5 s into a command that writes half its output and then sleeps.
    _kill_worker_in(0.5)
    return execute_task(task, root, [*program, "--slow"])


def kill_once_real(task: dict[str, Any], root: str, program: list[str] | None = None
                   ) -> dict[str, Any]:
    """The first task to get here kills its worker 0.4 s into its real overmix command."""
    if _first(task, root):
        _kill_worker_in(0.4)
    return execute_task(task, root, program)

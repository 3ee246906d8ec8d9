"""Terminal output for the CLI: errors, progress bars (rich, on stderr), tables, JSON."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from overmix.progress import ProgressCallback

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table


class UI:
    """What the CLI shows. Progress appears only when stderr is a terminal and not ``--quiet``."""

    def __init__(self, *, quiet: bool = False) -> None:
        self._err: Console | None = None
        self._out: Console | None = None
        self.show_progress = not quiet and sys.stderr.isatty()

    # rich is imported on first use: a ``--json`` or ``--quiet`` run that prints no table
    # never loads it (~25 ms of every start-up)
    @property
    def err(self) -> Console:
        """The rich console on stderr (progress, notes)."""
        if self._err is None:
            from rich.console import Console

            self._err = Console(stderr=True, highlight=False)
        return self._err

    @property
    def out(self) -> Console:
        """The rich console on stdout (tables)."""
        if self._out is None:
            from rich.console import Console

            self._out = Console(highlight=False, soft_wrap=True)
        return self._out

    def error(self, message: str) -> None:
        # One line, no markup: the contract's `overmix: error: ...`.
        sys.stderr.write("overmix: error: " + " ".join(str(message).split()) + "\n")
        sys.stderr.flush()

    def warn(self, message: str) -> None:
        sys.stderr.write("overmix: warning: " + " ".join(str(message).split()) + "\n")

    def note(self, message: str) -> None:
        """A human-readable line on stderr (kept off stdout so ``--json`` stays clean)."""
        if not self.show_progress and not sys.stderr.isatty():
            sys.stderr.write(message + "\n")
        else:
            self.err.print(message, markup=False)

    def print_json(self, data: Any) -> None:
        sys.stdout.write(json.dumps(data, indent=2, default=_json_default) + "\n")

    @contextmanager
    def progress(self) -> Iterator[ProgressCallback]:
        """A progress callback for the library, drawing one bar per stage."""
        if not self.show_progress:
            yield _silent
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskID,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        columns = (
            TextColumn("{task.description:<12}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
        )
        tasks: dict[str, TaskID] = {}
        with Progress(*columns, console=self.err, transient=False) as bar:

            def callback(stage: str, done: int, total: int | None) -> None:
                if stage not in tasks:
                    tasks[stage] = bar.add_task(stage, total=total, rate="")
                task = tasks[stage]
                t = bar.tasks[tasks[stage]]
                rate = f"{t.speed:.1f}/s" if t.speed else ""
                bar.update(task, completed=done, total=total, rate=rate)

            yield callback


def new_table(*args: Any, **kwargs: Any) -> Table:
    """A rich :class:`~rich.table.Table` (rich is imported on first use)."""
    from rich.table import Table

    return Table(*args, **kwargs)


def _silent(stage: str, done: int, total: int | None) -> None:
    return None


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "to_json"):
        return obj.to_json()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "__fspath__"):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")

"""The ``overmix`` command: argparse + rich, a thin layer over the library.

Each sub-command lives in its own module of this package and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a callable
``run(args, ui) -> int``. Errors from the library (:class:`~overmix.errors.OvermixError`)
become one line on stderr, ``overmix: error: <message>``: exit status 2 for usage errors,
1 for everything else.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from overmix.atomic import input_scope
from overmix.cli._ui import UI
from overmix.errors import OvermixError, UsageError
from overmix.memory import one_arena

# Sub-command modules, in the order `overmix --help` lists them.
COMMANDS = ("info", "dump", "convert", "align", "stitch", "batch", "compress", "preview")


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as the single line the CLI contract asks for."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"overmix: error: {message}\n")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="overmix",
        description="Turn anime video into clean, full-size, colour-accurate stills.",
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"overmix.cli.{name}")
        except ModuleNotFoundError as exc:  # a command not built yet
            if exc.name == f"overmix.cli.{name}":
                continue
            raise
        module.register(sub)
    _add_quiet(sub)
    return parser


def _add_quiet(sub: argparse._SubParsersAction) -> None:
    """Accept ``--quiet`` after the command too (``overmix stitch ... --quiet``), recursively."""
    for child in set(sub.choices.values()):
        if not any("--quiet" in a.option_strings for a in child._actions):
            child.add_argument("--quiet", "-q", dest="quiet_sub", action="store_true",
                               help="no progress bars")
        for action in child._actions:
            if isinstance(action, argparse._SubParsersAction):
                _add_quiet(action)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if argv is None:  # the program itself: its threads share one malloc arena
        one_arena()
    quiet = args.quiet or getattr(args, "quiet_sub", False) or getattr(args, "json", False)
    ui = UI(quiet=quiet)
    rc = _dispatch(args, ui)
    if argv is None and getattr(args, "exit_fast", False):
        # The program itself (console script / python -m), for a command that leaves
        # nothing to clean up: skip the interpreter's teardown (freeing numba's and the
        # modules' objects took ~0.3 s of a 3 s stitch). In-process callers pass argv.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(rc)
    return rc


class _Terminated(KeyboardInterrupt):
    """SIGTERM (or SIGHUP), raised in the main thread so that every ``finally`` and context
    manager runs: temporary files and the spilled frame store are removed on the way out."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _on_signal(signum: int, frame: object) -> None:
    signal.signal(signum, signal.SIG_IGN)  # a second one must not cut the cleanup short
    raise _Terminated(signum)


@contextmanager
def _signals_cleanup() -> Iterator[None]:
    """Turn SIGTERM/SIGHUP into an exception for the command's duration (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    wanted = [signal.SIGTERM] + ([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])
    saved = {s: signal.signal(s, _on_signal) for s in wanted}
    try:
        yield
    finally:
        for s, h in saved.items():
            signal.signal(s, h)


@contextmanager
def _stores_closed() -> Iterator[None]:
    """Whatever ends the command, close the frame stores it left open (a signal between
    making a store and entering its ``with`` leaves one open): their spill folders go."""
    try:
        yield
    finally:
        store = sys.modules.get("overmix.io.store")  # no store was made if it is not loaded
        if store is not None:
            store.close_open_stores()


def _dispatch(args: argparse.Namespace, ui: UI) -> int:
    """Run the command; library errors become one line on stderr and an exit status.

    The command gets its own registry of inputs (overmix.atomic: no output may land on one),
    and SIGTERM/SIGINT unwind it like an error, so that nothing temporary is left behind.
    """
    try:
        with _signals_cleanup(), input_scope(), _quiet_numpy(), _stores_closed():
            return int(args.func(args, ui) or 0)
    except UsageError as exc:
        ui.error(str(exc))
        return 2
    except OvermixError as exc:
        ui.error(str(exc))
        return 1
    except _Terminated as exc:
        ui.error(f"terminated by {signal.Signals(exc.signum).name}")
        return 128 + exc.signum
    except KeyboardInterrupt:
        ui.error("interrupted")
        return 130
    except MemoryError:
        ui.error("out of memory")
        return 1
    except RecursionError:  # a hostile input nested deeper than a reader expected
        ui.error("an input is nested too deeply to be read")
        return 1
    except OSError as exc:  # a filesystem error the library did not wrap
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        ui.error(f"{exc.strerror or exc}{where}")
        return 1
    except Exception as exc:  # a bug: still one line, unless OVERMIX_DEBUG asks for the trace
        if os.environ.get("OVERMIX_DEBUG"):
            raise
        ui.error(f"internal error ({type(exc).__name__}: {exc}); set OVERMIX_DEBUG=1 for details")
        return 1


@contextmanager
def _quiet_numpy() -> Iterator[None]:
    """No numpy RuntimeWarning dumps on the terminal (all-black frames, empty masks): a
    degenerate input ends in the library's one-line error, not in warnings before it."""
    import warnings

    import numpy as np

    with np.errstate(all="ignore"), warnings.catch_warnings():
        # errstate is per thread; worker threads' numpy warnings go through `warnings`
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

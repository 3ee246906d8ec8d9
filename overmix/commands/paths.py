"""The output-path rules of every command, in one place.

An output is checked before any work: a file output must have an accepted suffix, must not be
a folder or one of the inputs, and its folder must exist and be writable; a folder output
must be a folder (or creatable), empty unless ``force``, writable, and not the input.
Messages are one line naming the path.

"Not an input" is the guard of :mod:`overmix.atomic`: the inputs are registered (a folder
with every file in it, by identity, so symlinks and hard links count) and an output that is
one of them, or exists as a symlink, device or FIFO, is refused here before the work and
again by the atomic write itself.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from overmix.atomic import check_output, register_input
from overmix.atomic import check_output_folder as holds_no_input
from overmix.errors import OutputError, UsageError

__all__ = ["check_not_input", "check_output_file", "check_output_folder", "check_suffix"]

PathLike = str | os.PathLike[str]


def _same(a: PathLike, b: PathLike) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def check_not_input(inputs: Iterable[PathLike | None],
                    outputs: Iterable[PathLike | None]) -> None:
    """Never overwrite an input: register ``inputs`` (``None`` entries are skipped) and refuse
    any output that is one of the registered inputs, a link, device or FIFO, or that two
    outputs share."""
    for i in inputs:
        if i is not None:
            register_input(i)
    seen: set[str] = set()
    for o in outputs:
        if o is None:
            continue
        check_output(o)
        key = os.path.abspath(o)
        if key in seen:
            raise OutputError(f"two outputs name the same file: {o}")
        seen.add(key)


def check_suffix(path: PathLike, suffixes: Sequence[str], what: str = "output") -> None:
    """``path`` must end in one of ``suffixes`` (case-insensitive); a usage error otherwise."""
    if not str(path).lower().endswith(tuple(s.lower() for s in suffixes)):
        raise UsageError(f"{what} must end in {' or '.join(suffixes)}: {path}")


def check_output_file(out: PathLike, *, inputs: Iterable[PathLike] = (),
                      suffixes: Sequence[str] | None = None, folder_hint: str = "") -> Path:
    """Validate a file output; returns it as a Path.

    ``suffixes`` (e.g. ``(".png", ".dump")``) are the accepted endings; ``folder_hint`` is
    added to the message when ``out`` is a folder.
    """
    out = Path(out)
    if suffixes is not None and out.suffix.lower() not in suffixes:
        raise OutputError(f"output must end in {' or '.join(suffixes)}: {out}")
    if out.is_dir():
        raise OutputError(f"output {out} is a folder{folder_hint}")
    check_not_input(inputs, [out])  # also: not a link, device or FIFO
    _check_parent(out.parent, f"output folder {out.parent} does not exist",
                  f"output folder {out.parent} is not writable")
    return out


def check_output_folder(out: PathLike, *, force: bool = False,
                        not_in: Iterable[PathLike] = ()) -> bool:
    """Validate a folder output; True when the run has to create it.

    ``not_in`` are paths the folder must not be (the input, or the input's folder where
    writing beside it could replace an input file).
    """
    out = Path(out)
    if any(_same(out, p) for p in not_in):
        raise OutputError(f"output folder {out} is the input folder")
    holds_no_input(out)  # stale files are removed there: it must hold no registered input
    if out.exists() and not out.is_dir():
        raise OutputError(f"output {out} exists and is not a folder")
    if out.is_dir():
        if any(out.iterdir()) and not force:
            raise OutputError(f"output folder {out} exists and is not empty (use --force)")
        if not os.access(out, os.W_OK | os.X_OK):
            raise OutputError(f"output folder {out} is not writable")
        return False
    _check_parent(out.parent, f"parent folder of {out} does not exist",
                  f"cannot create {out}: {out.parent} is not writable")
    return True


def _check_parent(parent: Path, missing: str, unwritable: str) -> None:
    """The folder an output goes into must exist and take new files."""
    if not parent.is_dir():
        raise OutputError(missing)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(unwritable)


def make_folder(out: Path) -> None:
    """Create the output folder (after :func:`check_output_folder` said so)."""
    try:
        out.mkdir()
    except OSError as exc:
        raise OutputError(f"cannot create {out}: {exc.strerror or exc}") from None

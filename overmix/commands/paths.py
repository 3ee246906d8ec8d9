"""The output-path rules of every command, in one place.

An output is checked before any work: a file output must have an accepted suffix, must not be
a folder or one of the inputs, and its folder must exist and be writable; a folder output
must be a folder (or creatable), empty unless ``force``, writable, and not the input.
Messages are one line naming the path.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

from overmix.errors import OutputError, UsageError

__all__ = ["check_not_input", "check_output_file", "check_output_folder", "check_suffix"]

PathLike = str | os.PathLike[str]


def _same(a: PathLike, b: PathLike) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def check_not_input(inputs: Iterable[PathLike], outputs: Iterable[PathLike | None]) -> None:
    """Never overwrite an input: refuse any output that resolves to one of ``inputs``."""
    ins = [Path(i) for i in inputs]
    for o in outputs:
        if o is not None and any(_same(o, i) for i in ins):
            raise OutputError(f"the output would overwrite the input: {o}")


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
    check_not_input(inputs, [out])
    parent = out.parent
    if not parent.is_dir():
        raise OutputError(f"output folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"output folder {parent} is not writable")
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
    if out.exists() and not out.is_dir():
        raise OutputError(f"output {out} exists and is not a folder")
    if out.is_dir():
        if any(out.iterdir()) and not force:
            raise OutputError(f"output folder {out} exists and is not empty (use --force)")
        if not os.access(out, os.W_OK | os.X_OK):
            raise OutputError(f"output folder {out} is not writable")
        return False
    parent = out.parent
    if not parent.is_dir():
        raise OutputError(f"parent folder of {out} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"cannot create {out}: {parent} is not writable")
    return True


def make_folder(out: Path) -> None:
    """Create the output folder (after :func:`check_output_folder` said so)."""
    try:
        out.mkdir()
    except OSError as exc:
        raise OutputError(f"cannot create {out}: {exc.strerror or exc}") from None

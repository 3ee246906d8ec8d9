"""Atomic output: write to a temporary file in the destination folder, then rename.

A crash or an error never leaves a partial output file, and readers never see one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from overmix.errors import OutputError

__all__ = ["atomic_path", "write_bytes_atomic", "write_text_atomic"]


@contextmanager
def atomic_path(path: str | os.PathLike[str], *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path``.

    ``suffix`` (default: the suffix of ``path``) lets writers that pick a format from the
    file name (e.g. PyAV's image muxer) see the right extension. On any exception the
    temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        raise OutputError(f"output folder does not exist: {folder}")
    if path.is_dir():
        raise OutputError(f"output path is a folder: {path}")
    try:
        # Hidden name with a ".tmp" marker, still ending in the real suffix.
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{path.name}.tmp-", suffix=path.suffix if suffix is None else suffix,
            dir=folder,
        )
    except OSError as exc:
        raise OutputError(f"cannot write to {folder}: {exc.strerror}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    write_bytes_atomic(path, text.encode("utf-8"))

"""Recompress dump files in place (``overmix compress``), bit-exactly and atomically.

For each file: decode, re-encode every plane with the requested compression (same depths,
same header bytes), decode the new bytes and compare them with the old planes, header and
depths, and only then replace the file (temporary file in the same folder + ``os.replace``).
A crash or a kill at any moment leaves each file either old or new, never half-written.

Headerless (video_dumper / dump-tools compressor) files get a ``DMP0`` header when their
colour is known: from ``scene.json`` beside them, or from an explicit matrix. One- and
two-plane headerless files are gray ({GRAY, REC709}, what Overmix assumes for them). Other
headerless files stay headerless.

Work is spread over a pool (threads by default: zlib and lzma release the GIL while they
compress, so threads use every core without copying planes between processes).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

import dumpfmt
from overmix.atomic import check_input, check_output, clean_stale_temps
from overmix.color.spec import ColorInfo, Matrix, Range
from overmix.color.untagged import matrix_color
from overmix.errors import InputError, OutputError, OvermixError, UsageError
from overmix.io.dumps import header_for_color, read_dump, read_dump_info
from overmix.io.manifest import read_manifest
from overmix.io.sources import DUMP_EXTS, list_inputs
from overmix.progress import ProgressCallback, no_progress

__all__ = ["FileResult", "collect_dumps", "color_for_matrix", "recompress", "recompress_file"]


@dataclass
class FileResult:
    """What happened to one file.

    ``status`` is ``"recompressed"``, ``"skipped"`` (already in the wanted form) or
    ``"failed"`` (file untouched; ``error`` says why). ``header`` is ``"kept"``, ``"added"``
    (a headerless file got ``DMP0``) or ``"none"`` (headerless, colour unknown).
    """

    file: str
    before: int
    after: int
    compression_before: str
    compression_after: str
    header: str
    status: str
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def color_for_matrix(matrix: str, range_: str | None = None) -> ColorInfo:
    """The colour an explicit ``--matrix`` (and ``--range``) means for header conversion."""
    try:
        m = Matrix.parse(matrix)
        r = Range.parse(range_) if range_ else None
    except InputError as exc:  # UnsupportedError: a bad option value
        raise UsageError(str(exc)) from None
    if m == Matrix.RGB:
        # video_dumper stores gbrp as G, B, R without a tag: an RGB header would swap colours.
        raise UsageError("--matrix rgb is not supported for headerless dumps (video_dumper "
                         "stores G, B, R planes)")
    return matrix_color(m, r)


def collect_dumps(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """Dump files named directly or found in folders (not recursive), without duplicates."""
    out: list[Path] = []
    seen: set[Path] = set()
    for raw in paths:
        p = Path(raw)
        check_input(p)  # missing, FIFO, device: one line, never a blocked read
        if p.is_dir():
            found = list_inputs(p, DUMP_EXTS)
            if not found:
                raise InputError(f"no .dump files in folder {p}")
        elif p.is_file():
            found = [p]
        else:
            raise InputError(f"no such file or folder: {p}")
        for f in found:
            key = f.resolve()
            if key not in seen:
                seen.add(key)
                out.append(f)
    return out


def _replace_verified(path: Path, data: bytes) -> None:
    """Write ``data`` beside ``path`` and rename it over ``path`` (keeps the file mode)."""
    check_output(path, inplace=True)  # a symlink is never replaced nor written through
    clean_stale_temps(path.parent)  # what a killed earlier run left beside the dumps
    try:
        mode = os.stat(path).st_mode & 0o7777
        dumpfmt.write_bytes(path, data, fsync=True, mode=mode)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None


def _summary(comps: list[str]) -> str:
    return comps[0] if len(set(comps)) == 1 else "+".join(comps)


def recompress_file(
    path: str | os.PathLike[str],
    *,
    to: str,
    level: int | None = None,
    color: ColorInfo | None = None,
    force: bool = False,
) -> FileResult:
    """Recompress one dump in place; see the module notes.

    Parameters
    ----------
    path : dump file.
    to : ``"zlib"``, ``"xz"`` or ``"none"``.
    level : zlib level / xz preset (default 6 for both).
    color : colour for a headerless file's new header (None: leave it headerless).
    force : recompress even when every plane already uses ``to`` (by default such files are
        skipped unless ``level`` is given or a header is to be added).

    Raises
    ------
    InputError, FormatError : unreadable or corrupt file (left untouched).
    OutputError : the new file cannot be written (the old one is left untouched).
    """
    p = Path(path)
    before = p.stat().st_size if p.exists() else 0
    dump = read_dump(p)
    h = dump.header
    header_state = "kept"
    transform, transfer, magic = h.transform, h.transfer, h.has_magic
    if not h.has_magic:
        ncolour = 1 if len(dump.planes) in (1, 2) else 3
        if ncolour == 1:
            transform, transfer = dumpfmt.TRANSFORM["gray"], dumpfmt.TRANSFER["rec709"]
            magic, header_state = True, "added"
        elif color is not None:
            transform, transfer = header_for_color(color)
            magic, header_state = True, "added"
        else:
            header_state = "none"
    old = _summary(dump.compressions)
    if (not force and level is None and header_state != "added"
            and all(c == to for c in dump.compressions)):
        return FileResult(str(p), before, before, old, old, header_state, "skipped")
    try:
        data = dumpfmt.encode(dump.planes, depth=dump.depths, transform=transform,
                              transfer=transfer, compression=to, level=level, magic=magic,
                              check_range=False)  # keep out-of-range samples as stored
    except dumpfmt.DumpError as exc:  # e.g. samples above the stored depth
        raise InputError(f"{p}: cannot re-encode: {exc}") from None
    # Verify before touching the file: decode the new bytes and compare everything.
    new = dumpfmt.decode(data)
    same = (
        new.depths == dump.depths
        and new.header.has_magic == magic
        and (not magic or (new.header.transform, new.header.transfer) == (transform, transfer))
        and len(new.planes) == len(dump.planes)
        and all(a.dtype == b.dtype and np.array_equal(a, b)
                for a, b in zip(new.planes, dump.planes, strict=True))
    )
    if not same:  # pragma: no cover - would be a bug in the writer
        raise OutputError(f"{p}: re-encoded file does not match the original; left untouched")
    _replace_verified(p, data)
    return FileResult(str(p), before, len(data), old, to, header_state, "recompressed")


def _job(path: str, to: str, level: int | None, color: dict[str, Any] | None,
         force: bool) -> FileResult:
    """Pool entry point (plain arguments so it pickles for process pools)."""
    col = ColorInfo.from_json(color) if color is not None else None
    try:
        return recompress_file(path, to=to, level=level, color=col, force=force)
    except OvermixError as exc:
        size = Path(path).stat().st_size if Path(path).exists() else 0
        msg = str(exc)
        return FileResult(path, size, size, "?", "?", "?", "failed",
                          msg if msg.startswith(path) else f"{path}: {msg}")


def _header_colors(files: list[Path], matrix: ColorInfo | None,
                   ) -> dict[Path, dict[str, Any] | None]:
    """Check every file's structure and folder; the colour (JSON) headerless files get:
    ``matrix`` when given, else their folder's ``scene.json`` (None: unknown)."""
    colors: dict[Path, dict[str, Any] | None] = {}
    manifests: dict[Path, Any] = {}
    for f in files:
        info = read_dump_info(f)
        if not os.access(f.parent, os.W_OK):
            raise OutputError(f"cannot write to {f.parent}: permission denied")
        col: ColorInfo | None = None
        if not info.header.has_magic:
            if matrix is not None:
                col = matrix
            else:
                if f.parent not in manifests:
                    manifests[f.parent] = read_manifest(f.parent)
                m = manifests[f.parent]
                if m is not None:  # scene.json describes every dump of its folder
                    col = m.color
        colors[f] = col.to_json() if col is not None else None
    return colors


def recompress(
    paths: Iterable[str | os.PathLike[str]],
    *,
    to: str = "xz",
    level: int | None = None,
    matrix: ColorInfo | None = None,
    jobs: int | None = None,
    executor: str = "thread",
    force: bool = False,
    progress: ProgressCallback | None = None,
) -> list[FileResult]:
    """Recompress dump files and folders in place.

    Every file is first checked structurally (headers and sizes, without decoding); any
    malformed file stops the run before anything is written. Files whose payload turns out
    corrupt while decoding are reported as ``failed`` and left untouched.

    Parameters
    ----------
    paths : dump files and/or folders of dumps.
    to, level : target compression and level/preset.
    matrix : colour for headerless files (an explicit choice wins over the ``scene.json`` of
        their folder).
    jobs : workers (default: CPU count).
    executor : ``"thread"`` or ``"process"``.
    force : recompress files already in the target compression.
    progress : callback ``("compress", done, total)``.

    Returns
    -------
    list of FileResult, in input order.
    """
    if to not in dumpfmt.COMPRESSIONS:
        raise UsageError(f"unknown compression {to!r} (use zlib, xz or none)")
    if level is not None:
        try:
            dumpfmt.check_level(to, level)
        except dumpfmt.DumpError as exc:
            raise UsageError(str(exc)) from None
    files = collect_dumps(paths)
    progress = progress or no_progress
    colors = _header_colors(files, matrix)  # phase 1: structure, colours; nothing written
    # Phase 2: recompress in parallel.
    n = len(files)
    workers = max(1, min(jobs or os.cpu_count() or 1, n))
    results: dict[Path, FileResult] = {}
    pool: Callable[..., Executor] = ProcessPoolExecutor if executor == "process" \
        else ThreadPoolExecutor
    if workers == 1:
        for k, f in enumerate(files):
            results[f] = _job(str(f), to, level, colors[f], force)
            progress("compress", k + 1, n)
    else:
        ex = pool(max_workers=workers)
        try:
            futures = {ex.submit(_job, str(f), to, level, colors[f], force): f for f in files}
            for k, fut in enumerate(as_completed(futures)):
                results[futures[fut]] = fut.result()
                progress("compress", k + 1, n)
        except BaseException:
            # Ctrl-C or an error: drop queued files, let running ones finish their atomic
            # replace (each file stays old or becomes new).
            ex.shutdown(wait=True, cancel_futures=True)
            raise
        ex.shutdown(wait=True)
    return [results[f] for f in files]

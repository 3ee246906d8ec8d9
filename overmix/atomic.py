"""Safe output: the one place every file overmix writes goes through.

The contract (README "Safety"):

- **Atomic**: a file is written to a hidden temporary file in its destination folder
  (``.NAME.tmp-PID-RANDOM.EXT``) and renamed over the target, so a crash or an error never
  leaves a partial output and readers never see one. Temporary files of processes that are
  gone (``kill -9``, power loss) are removed by the next write into that folder.
- **Normal permissions**: new files get ``0o666 & ~umask`` (0644 under umask 022), like any
  file a program creates; a replaced file keeps its mode.
- **Inputs are never touched**: commands register what they read (:func:`register_input`:
  the file, resolved through symlinks, or a folder and every file in it); a target that is
  one of them (same file: path, symlink or hard link) is refused with an
  :class:`~overmix.errors.OutputError`, before any work where a command knows its outputs
  up front (:func:`check_output`) and again at the rename.
- **Only regular files are replaced**: a target that exists and is a symbolic link, a device
  node, a FIFO, a socket or a folder is refused; a symlink's target is never written through
  it.

The registry of inputs is per process; :func:`input_scope` gives a command (a CLI run, an API
call) its own, so what one call read does not constrain the next.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from overmix.errors import InputError, OutputError

__all__ = [
    "atomic_path",
    "check_input",
    "check_output",
    "check_output_folder",
    "clean_stale_temps",
    "input_scope",
    "is_input",
    "pid_alive",
    "register_input",
    "remove_stale",
    "write_bytes_atomic",
    "write_text_atomic",
]

# ---------------------------------------------------------------------------- inputs

_Key = tuple[int, int]  # (st_dev, st_ino): one file whatever the path, symlink or hard link
_lock = threading.RLock()
# file key -> (a path it was registered under, key of the folder holding it)
_inputs: dict[_Key, tuple[str, _Key | None]] = {}
_folders: dict[_Key, str] = {}  # input folders (their items are in _inputs)


def _key(st: os.stat_result) -> _Key:
    return (st.st_dev, st.st_ino)


def _stat(path: str | os.PathLike[str]) -> os.stat_result | None:
    try:
        return os.stat(path)
    except (OSError, ValueError):
        return None


def register_input(path: str | os.PathLike[str]) -> None:
    """Mark ``path`` as an input of the running command: outputs never land on it.

    A file is registered by identity (device and inode, so through symlinks and hard links);
    a folder registers itself and every file directly in it (dumps, PNGs, ``scene.json``,
    anything). Missing paths are ignored (the reader reports them).
    """
    st = _stat(path)
    if st is None:
        return
    with _lock:
        if stat.S_ISDIR(st.st_mode):
            fkey = _key(st)
            _folders[fkey] = str(path)
            try:
                entries = list(os.scandir(path))
            except OSError:
                return
            for e in entries:
                est = _stat(e.path)
                if est is not None and not stat.S_ISDIR(est.st_mode):
                    _inputs.setdefault(_key(est), (e.path, fkey))
        else:
            parent = _stat(Path(os.path.realpath(path)).parent)
            _inputs.setdefault(_key(st), (str(path), None if parent is None else _key(parent)))


def is_input(path: str | os.PathLike[str]) -> str | None:
    """The registered input that ``path`` is (the path it was registered under), or None."""
    st = _stat(path)
    if st is None:
        return None
    key = _key(st)
    with _lock:
        hit = _inputs.get(key) or ((_folders[key], None) if key in _folders else None)
    if hit is None:
        return None
    # The registered path must still be that file: an inode freed and reused by a new file
    # after the input was deleted is not the input any more.
    again = _stat(hit[0])
    return hit[0] if again is not None and _key(again) == key else None


def check_input(path: str | os.PathLike[str]) -> os.stat_result:
    """Refuse an input that is neither a regular file nor a folder (a FIFO, a device node or a
    socket would block the reader or never end); returns its ``os.stat`` (symlinks followed).

    Raises :class:`~overmix.errors.InputError` for those and for a missing path.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(f"no such file or folder: {path}") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        raise InputError(f"{path} is {_describe(st.st_mode)}; overmix reads regular files and "
                         "folders only")
    return st


@contextmanager
def input_scope() -> Iterator[None]:
    """Run a command with its own (initially empty) registry of inputs; restored on exit."""
    global _inputs, _folders
    with _lock:
        saved = (_inputs, _folders)
        _inputs, _folders = {}, {}
    try:
        yield
    finally:
        with _lock:
            _inputs, _folders = saved


# ---------------------------------------------------------------------------- checks


def _describe(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device node"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_output(path: str | os.PathLike[str], *, inplace: bool = False) -> Path:
    """Refuse ``path`` as an output unless writing it is safe; returns it as a Path.

    Refused (:class:`~overmix.errors.OutputError`): a missing folder, a folder, an existing
    symbolic link, device node, FIFO or socket, and (unless ``inplace``, for commands whose
    job is to rewrite their inputs such as ``compress``) any registered input.
    """
    p = Path(path)
    try:
        lst = os.lstat(p)
    except FileNotFoundError:
        lst = None
    except OSError as exc:
        raise OutputError(f"cannot write {p}: {exc.strerror or exc}") from None
    if lst is not None:
        if stat.S_ISDIR(lst.st_mode):
            raise OutputError(f"output path is a folder: {p}")
        if not stat.S_ISREG(lst.st_mode):
            raise OutputError(f"output {p} is {_describe(lst.st_mode)}; overmix only "
                              "replaces regular files (choose another output name)")
        if not inplace:
            hit = is_input(p)
            if hit is not None:
                same = "" if os.path.abspath(hit) == os.path.abspath(p) else f" ({hit})"
                raise OutputError(f"the output would overwrite the input {p}{same}; "
                                  "choose another output name")
    if not p.parent.is_dir():
        raise OutputError(f"output folder does not exist: {p.parent}")
    return p


def check_output_folder(path: str | os.PathLike[str]) -> Path:
    """Refuse a folder output that is an input folder or holds an input file.

    Commands that fill a folder (``dump``, ``convert --all``) may remove stale files of an
    earlier run there, so the folder itself must hold no input.
    """
    p = Path(path)
    st = _stat(p)
    if st is None or not stat.S_ISDIR(st.st_mode):
        return p
    key = _key(st)
    with _lock:
        if key in _folders:
            raise OutputError(f"output folder {p} is the input folder; choose another folder")
        inside = [name for name, parent in _inputs.values() if parent == key]
    for name in inside:
        if is_input(name) is not None:
            raise OutputError(f"output folder {p} holds the input {name}; "
                              "choose another folder")
    return p


# ---------------------------------------------------------------------------- stale files

_TMP_RE = re.compile(r"^\..+\.tmp-(\d+)-[0-9a-f]+(\.[^.]*)?$")
_cleaned: set[str] = set()


def pid_alive(pid: int) -> bool:
    """True when process ``pid`` exists (or may exist: it belongs to another user)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True
    return True


def remove_stale(folder: str | os.PathLike[str], pattern: re.Pattern[str]) -> list[Path]:
    """Remove this user's entries of ``folder`` whose name matches ``pattern`` and whose owner
    process (the pattern's first group, a pid) is gone; returns what was removed."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    me = os.getuid() if hasattr(os, "getuid") else None
    for e in entries:
        m = pattern.match(e.name)
        if not m or pid_alive(int(m.group(1))):
            continue
        try:
            st = e.stat(follow_symlinks=False)
            if me is not None and st.st_uid != me:
                continue
            if stat.S_ISDIR(st.st_mode):
                shutil.rmtree(e.path, ignore_errors=True)
            elif stat.S_ISREG(st.st_mode):
                os.unlink(e.path)
            else:
                continue
            removed.append(Path(e.path))
        except OSError:
            continue
    return removed


def clean_stale_temps(folder: str | os.PathLike[str]) -> None:
    """Remove dead processes' temporary files (``.NAME.tmp-PID-*``) from ``folder``, once per
    folder and process (every write through :func:`atomic_path` does it)."""
    _clean_once(Path(folder))


def _clean_once(folder: Path) -> None:
    """Remove dead processes' temporary files from ``folder`` (once per folder and process)."""
    key = os.path.abspath(folder)
    with _lock:
        if key in _cleaned:
            return
        _cleaned.add(key)
    remove_stale(folder, _TMP_RE)


def temp_name(path: Path, suffix: str) -> str:
    """The hidden temporary name for ``path``: ``.NAME.tmp-PID-RANDOM`` + ``suffix``."""
    return f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}{suffix}"


# ---------------------------------------------------------------------------- writing


@contextmanager
def atomic_path(path: str | os.PathLike[str], *, suffix: str | None = None,
                inplace: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path``.

    ``path`` is checked by :func:`check_output` first (and again just before the rename).
    ``suffix`` (default: the suffix of ``path``) lets writers that pick a format from the
    file name (e.g. PyAV's image muxer) see the right extension. The temporary file is
    created with the permissions a new file gets (``0o666 & ~umask``; a replaced file's mode
    is kept). On any exception the temporary file is removed and ``path`` is left as it was.
    """
    path = check_output(path, inplace=inplace)
    folder = path.parent
    _clean_once(folder)
    old = _stat(path)
    while True:
        tmp = folder / temp_name(path, path.suffix if suffix is None else suffix)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                         0o666)
            break
        except FileExistsError:
            continue
        except OSError as exc:
            raise OutputError(f"cannot write to {folder}: {exc.strerror}") from None
    os.close(fd)
    try:
        yield tmp
        if old is not None and stat.S_ISREG(old.st_mode):
            os.chmod(tmp, stat.S_IMODE(old.st_mode))
        check_output(path, inplace=inplace)  # nothing became a link or an input meanwhile
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes, *,
                       inplace: bool = False) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path, inplace=inplace) as tmp:
        try:
            tmp.write_bytes(data)
        except OSError as exc:
            raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    write_bytes_atomic(path, text.encode("utf-8"))

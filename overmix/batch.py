"""Many scenes at once on Dask: job files, plans, a resumable manifest and the runner (issue 8).

A **job** (TOML or JSON) names inputs (files or globs), the scenes of each (explicit
``start``/``end`` ranges, ``"auto"`` for the scenes the detector finds, or the whole input) and
what to do with every scene (``dump``, ``convert``, ``stitch`` with their command-line options),
plus where outputs go (a path template below the output root)::

    output = "out"                      # output root, relative to the job file
    inputs = ["clips/*.mkv"]            # files or globs, relative to the job file
    scenes = "auto"                     # default for every input: "auto", a list, or absent

    [[input]]                           # per-input settings (optional, in addition)
    path = "special.mp4"
    scenes = [{start = 0, end = 120}, [120, 300]]

    [[action]]
    command = "stitch"
    output = "{stem}/scene-{scene:03d}.png"
    [action.options]                    # command-line options without the dashes
    render = "median"
    depth = 16

Template fields: ``stem``, ``name`` (file name), ``ext``, ``input`` (0-based input number),
``scene`` (0-based scene number), ``start``, ``end``, ``command``.

Options that name files the command reads (``mask``, ``offsets``, ``logo``) are taken relative
to the job file's folder. Options that name extra files a command writes (``save_offsets``,
``save_project``, ``extract_overlay``) take a file name (a template, e.g.
``"{stem}-{scene:03d}.json"``): the file is written beside the task's main output, through the
same staging folder, and recorded in the manifest with it.

How a task runs
---------------
Every task is one command line, ``python -m overmix -q COMMAND INPUT -o OUT --start A --end B
[options]``, started by a Dask worker as a **subprocess**. This is deliberate:

- *identical output by construction*: a batch result is the output of the very command a user
  would type, with the same code path and options parsing (``overmix.batch`` sits below
  ``overmix.cli`` in the layer contract and may not call it in-process);
- *crash isolation*: a decoder crash or an out-of-memory kill ends one subprocess, not the
  worker and the tasks it holds;
- *no frames on the network*: each command decodes only its own range (frame-accurate seek),
  tasks carry a few hundred bytes of arguments and results.

The price is an interpreter start and imports per task (about a second, measured by
``tools/bench_batch.py``), small next to decoding and stitching a scene.

A command writes into a private staging folder (``.overmix-batch/`` below the output root,
one per attempt); only when it exits with status 0 are its files moved into place with
``os.replace``, so outputs are always complete. The subprocess is tied to the life of its
worker (Linux ``PR_SET_PDEATHSIG``), so a killed worker leaves no orphan writing files.
Tasks are idempotent: a retry after a lost worker (``retries``, and the scheduler's
allowed-failures) redoes the whole command into a fresh staging folder.

With ``--scheduler`` the workers run on other machines: inputs, the job's files and the
output folder must be at the same paths there (a shared filesystem), and overmix installed.

The **manifest** (``batch-manifest.json`` in the output root, rewritten atomically after each
finished task) records per task the input's size and mtime, the command, range and options
(their hash is the task's *key*), and the outputs with sizes and SHA-256. A rerun skips a task
whose key is unchanged and whose outputs are still there with their recorded sizes; a changed
input or option changes the key and the task runs again.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from overmix.atomic import write_text_atomic
from overmix.errors import InputError, OvermixError, UsageError
from overmix.progress import ProgressCallback, no_progress
from overmix.ranges import FrameRange

__all__ = [
    "Action",
    "InputSpec",
    "Job",
    "MANIFEST_NAME",
    "Plan",
    "RunReport",
    "Task",
    "TaskResult",
    "execute_task",
    "load_job",
    "make_plan",
    "run_job",
]

MANIFEST_NAME = "batch-manifest.json"
STAGING_NAME = ".overmix-batch"
COMMANDS = ("dump", "convert", "stitch")
_INSTALL_HINT = "batch needs Dask: install overmix[batch] (pip install 'overmix[batch]')"

Scene = tuple["int | str | None", "int | str | None"]
Detector = Callable[[Path], list[tuple[int, int]]]


# ------------------------------------------------------------------------------------------
# Job description
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """What to do with each scene: a command, its options and the output path template."""

    command: str
    output: str
    options: dict[str, Any] = field(default_factory=dict)
    frame: str = "start"  # convert only: which frame of the scene ("start" or "middle")


@dataclass(frozen=True)
class InputSpec:
    """A file or glob pattern and its scenes.

    ``scenes`` is ``"auto"`` (detected), a list of ``(start, end)`` positions (frame index
    ints or time strings, ``None`` = open), or ``None`` for the whole input as one scene.
    """

    pattern: str
    scenes: str | list[Scene] | None = None
    min_frames: int = 1


@dataclass(frozen=True)
class Job:
    """A parsed job file. Paths are absolute."""

    path: Path
    output: Path
    inputs: tuple[InputSpec, ...]
    actions: tuple[Action, ...]
    workers: int | None = None
    retries: int = 2


def load_job(path: str | os.PathLike[str]) -> Job:
    """Read a job file (``.toml`` or ``.json``); relative paths are relative to its folder.

    Raises :class:`~overmix.errors.InputError` when the file cannot be read or parsed and
    :class:`~overmix.errors.UsageError` when its content is invalid.
    """
    path = Path(path).resolve()
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read job file {path}: {exc.strerror}") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InputError(f"{path}: invalid JSON: {exc}") from None
    else:
        toml = _toml_module()
        try:
            data = toml.loads(text.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: invalid TOML: {exc}") from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}: a job is a table of settings")
    return job_from_dict(data, path)


def _toml_module() -> Any:
    try:
        import tomllib  # Python >= 3.11

        return tomllib
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        try:
            import tomli

            return tomli
        except ModuleNotFoundError:
            raise UsageError("TOML job files need Python 3.11 or tomli; use JSON") from None


def job_from_dict(data: dict[str, Any], path: Path) -> Job:
    """Validate a job given as a dict (the parsed TOML/JSON); ``path`` is the job file."""
    base = path.parent
    known = {"output", "inputs", "input", "scenes", "min_frames", "action", "actions",
             "workers", "retries"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise UsageError(f"{path.name}: unknown job setting(s): {', '.join(unknown)}")
    out = data.get("output")
    if not isinstance(out, str) or not out:
        raise UsageError(f"{path.name}: 'output' (the output folder) is required")
    default_scenes = _scenes_setting(data.get("scenes"), "scenes")
    default_min = _int_setting(data.get("min_frames", 1), "min_frames", 1)

    inputs: list[InputSpec] = []
    plain = data.get("inputs", [])
    if isinstance(plain, str):
        plain = [plain]
    if not isinstance(plain, list):
        raise UsageError(f"{path.name}: 'inputs' is a list of files or globs")
    for item in plain:
        if isinstance(item, str):
            inputs.append(InputSpec(_abs(base, item), default_scenes, default_min))
        elif isinstance(item, dict):
            inputs.append(_input_table(item, base, default_scenes, default_min))
        else:
            raise UsageError(f"{path.name}: 'inputs' entries are paths or tables")
    tables = data.get("input", [])
    if isinstance(tables, dict):
        tables = [tables]
    for item in tables:
        if not isinstance(item, dict):
            raise UsageError(f"{path.name}: [[input]] entries are tables")
        inputs.append(_input_table(item, base, default_scenes, default_min))
    if not inputs:
        raise UsageError(f"{path.name}: no inputs ('inputs = [...]' or [[input]])")

    raw_actions = data.get("action", data.get("actions", []))
    if isinstance(raw_actions, dict):
        raw_actions = [raw_actions]
    actions = [_action(a, path.name) for a in raw_actions]
    if not actions:
        raise UsageError(f"{path.name}: no actions ([[action]] with command and output)")
    workers = data.get("workers")
    if workers is not None:
        workers = _int_setting(workers, "workers", 1)
    retries = _int_setting(data.get("retries", 2), "retries", 0)
    return Job(path, Path(_abs(base, out)), tuple(inputs), tuple(actions), workers, retries)


def _abs(base: Path, p: str) -> str:
    p = os.path.expanduser(p)
    return p if os.path.isabs(p) else str(base / p)


def _int_setting(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise UsageError(f"job setting '{name}' must be an integer >= {minimum}, got {value!r}")
    return value


def _input_table(item: dict[str, Any], base: Path, default_scenes: Any,
                 default_min: int) -> InputSpec:
    unknown = sorted(set(item) - {"path", "scenes", "start", "end", "min_frames"})
    if unknown:
        raise UsageError(f"unknown input setting(s): {', '.join(unknown)}")
    p = item.get("path")
    if not isinstance(p, str) or not p:
        raise UsageError("an [[input]] needs a 'path'")
    scenes = _scenes_setting(item.get("scenes"), "scenes") if "scenes" in item else default_scenes
    if "start" in item or "end" in item:
        if "scenes" in item:
            raise UsageError(f"input {p}: give either 'scenes' or 'start'/'end'")
        scenes = [_scene_pair((item.get("start"), item.get("end")))]
    min_frames = _int_setting(item.get("min_frames", default_min), "min_frames", 1)
    return InputSpec(_abs(base, p), scenes, min_frames)


def _scenes_setting(value: Any, name: str) -> str | list[Scene] | None:
    if value is None:
        return None
    if value == "auto":
        return "auto"
    if isinstance(value, list):
        return [_scene_pair(v) for v in value]
    raise UsageError(f"'{name}' is \"auto\" or a list of {{start, end}} ranges, got {value!r}")


def _scene_pair(v: Any) -> Scene:
    if isinstance(v, dict):
        if set(v) - {"start", "end"}:
            raise UsageError(f"a scene range has 'start' and 'end', got {v!r}")
        pair = (v.get("start"), v.get("end"))
    elif isinstance(v, (list, tuple)) and len(v) == 2:
        pair = (v[0], v[1])
    else:
        raise UsageError(f"a scene range is {{start = A, end = B}} or [A, B], got {v!r}")
    for x in pair:
        if x is not None and (isinstance(x, bool) or not isinstance(x, (int, float, str))):
            raise UsageError(f"invalid scene position {x!r}")
    # Validate with the same parser the commands use (raises UsageError/RangeError).
    FrameRange.parse(*pair)
    return (pair[0], pair[1])  # type: ignore[return-value]


def _action(a: Any, where: str) -> Action:
    if not isinstance(a, dict):
        raise UsageError(f"{where}: [[action]] entries are tables")
    unknown = sorted(set(a) - {"command", "output", "options", "frame"})
    if unknown:
        raise UsageError(f"{where}: unknown action setting(s): {', '.join(unknown)} "
                         "(command options go in [action.options])")
    cmd = a.get("command")
    if cmd not in COMMANDS:
        raise UsageError(f"{where}: action command must be one of {', '.join(COMMANDS)}, "
                         f"got {cmd!r}")
    out = a.get("output")
    if not isinstance(out, str) or not out:
        raise UsageError(f"{where}: action '{cmd}' needs an 'output' path template")
    if os.path.isabs(out) or ".." in Path(out).parts:
        raise UsageError(f"{where}: output template {out!r} must stay inside the output folder")
    opts = a.get("options", {})
    if not isinstance(opts, dict):
        raise UsageError(f"{where}: [action.options] is a table")
    for k in opts:
        if k in ("o", "output", "start", "end", "frame", "all", "quiet", "q"):
            raise UsageError(f"{where}: option '{k}' is set by the batch itself")
    frame = a.get("frame", "start")
    if frame not in ("start", "middle"):
        raise UsageError(f"{where}: 'frame' is \"start\" or \"middle\", got {frame!r}")
    return Action(cmd, out, dict(opts), frame)


def options_argv(options: dict[str, Any]) -> list[str]:
    """Command-line words for ``{name: value}`` options.

    ``True`` → ``--name``; ``False``/``None`` → omitted; a list → the option repeated;
    anything else → ``--name VALUE``. Underscores in names become dashes.
    """
    argv: list[str] = []
    for key in sorted(options):
        value = options[key]
        flag = "--" + key.replace("_", "-")
        if value is True:
            argv.append(flag)
        elif value is False or value is None:
            continue
        elif isinstance(value, list):
            for v in value:
                argv += [flag, _word(v)]
        else:
            argv += [flag, _word(value)]
    return argv


def _word(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return repr(v)  # keep "2.0" a float so the command reads the same value
    return str(v)


# ------------------------------------------------------------------------------------------
# Plan
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Task:
    """One command on one scene.

    ``id`` is the output path relative to the output root (unique in a plan); ``argv`` is
    the command line after ``overmix``, with :data:`OUT` standing for the output path.
    ``key`` hashes what determines the output: the input's path, size and mtime, the
    command line and the overmix version.
    """

    id: str
    command: str
    input: str
    input_index: int
    scene: int
    start: int | str | None
    end: int | str | None
    output: str
    argv: tuple[str, ...]
    key: str
    input_size: int
    input_mtime_ns: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


OUT = "{OUT}"
OUTDIR = "{OUTDIR}"

# Options naming files the command reads: relative paths are taken from the job's folder.
INPUT_FILE_OPTIONS = {"mask", "offsets", "logo"}
# Options naming extra files the command writes: a file name (template) written beside the
# task's main output, through the same staging folder, and recorded in the manifest.
OUTPUT_FILE_OPTIONS = {"save_offsets", "save_project", "extract_overlay"}


@dataclass
class Problem:
    """An input that cannot be planned (no file matches, scene detection failed, ...)."""

    id: str
    input: str
    reason: str


@dataclass
class Plan:
    """The tasks of a job, plus the inputs that could not be planned."""

    job: Job
    tasks: list[Task]
    problems: list[Problem]
    scenes: dict[str, dict[str, Any]] = field(default_factory=dict)  # detection cache

    def to_json(self) -> dict[str, Any]:
        return {
            "job": str(self.job.path),
            "output": str(self.job.output),
            "tasks": [t.to_json() for t in self.tasks],
            "problems": [asdict(p) for p in self.problems],
        }


def _expand(pattern: str) -> list[str]:
    if glob.has_magic(pattern):
        return sorted(p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
    return [pattern]


def _fingerprint(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


def detect_scenes(path: Path) -> list[tuple[int, int]]:
    """Scene ranges ``[(start, end), ...]`` (frame indices, end exclusive) of an input.

    The same detection as ``overmix dump --scene N`` (:func:`overmix.video.scenes.detect_cuts`
    on the input opened with default options), so scene numbers and ranges agree with it.
    Raises :class:`~overmix.errors.OvermixError` subclasses for unreadable inputs.
    """
    from overmix.io.sources import open_source
    from overmix.video.scenes import detect_cuts, scenes_from_cuts

    with open_source(path) as src:
        cuts, n = detect_cuts(src)
    if n == 0:
        raise InputError(f"{path}: no frames")
    return [(s.start, s.end) for s in scenes_from_cuts(cuts, n)]


def make_plan(job: Job, *, detect: Detector | None = None,
              scenes_cache: dict[str, dict[str, Any]] | None = None,
              progress: ProgressCallback = no_progress) -> Plan:
    """Expand a job into tasks.

    Parameters
    ----------
    job : Job
    detect : callable(path) -> [(start, end), ...], optional
        Scene detector for ``scenes = "auto"`` (default :func:`detect_scenes`), run here,
        serially. :func:`run_job` runs detection on the cluster instead and passes the
        results in ``scenes_cache``.
    scenes_cache : dict, optional
        ``{path: {"size", "mtime_ns", "scenes"}}``; entries whose size and mtime still match
        are used instead of detecting again.
    progress : ProgressCallback
        Stage ``"scenes"``: inputs examined.
    """
    detect = detect or detect_scenes
    cache = dict(scenes_cache or {})
    tasks: list[Task] = []
    problems: list[Problem] = []
    files: list[tuple[str, InputSpec]] = []
    seen: set[str] = set()
    for spec in job.inputs:
        matches = _expand(spec.pattern)
        if not matches:
            problems.append(Problem(_rel(spec.pattern, job.path.parent), spec.pattern,
                                    "no file matches this pattern"))
        for m in matches:
            m = os.path.abspath(m)
            if m not in seen:
                seen.add(m)
                files.append((m, spec))
    ids: dict[str, Task] = {}
    for n, (p, spec) in enumerate(files):
        progress("scenes", n, len(files))
        try:
            size, mtime = _fingerprint(p)
        except OSError as exc:
            problems.append(Problem(Path(p).name, p, f"cannot read input: {exc.strerror}"))
            continue
        if spec.scenes == "auto":
            entry = cache.get(p)
            if entry and entry.get("size") == size and entry.get("mtime_ns") == mtime:
                if "error" in entry:
                    problems.append(Problem(Path(p).name, p, str(entry["error"])))
                    continue
                found = [tuple(s) for s in entry["scenes"]]
            else:
                try:
                    found = [tuple(s) for s in detect(Path(p))]
                except OvermixError as exc:
                    problems.append(Problem(Path(p).name, p, f"scene detection: {exc}"))
                    continue
                cache[p] = {"size": size, "mtime_ns": mtime, "scenes": [list(s) for s in found]}
            # Scene numbers stay the detector's (as `overmix info --scenes` / `dump --scene N`
            # number them) when short scenes are left out.
            numbered: list[tuple[int, Any, Any]] = [
                (k, a, b) for k, (a, b) in enumerate(found)
                if int(b) - int(a) >= spec.min_frames  # type: ignore[call-overload]
            ]
        elif spec.scenes is None:
            numbered = [(0, None, None)]
        else:
            numbered = [(k, a, b) for k, (a, b) in enumerate(spec.scenes)]
        for k, a, b in numbered:
            for action in job.actions:
                try:
                    t = _task(job, action, p, n, k, a, b, size, mtime)
                except UsageError as exc:
                    problems.append(Problem(f"{Path(p).name}#{k}", p, str(exc)))
                    continue
                if t.id in ids:
                    raise UsageError(
                        f"output template gives the same file {t.id!r} for two tasks "
                        f"({Path(ids[t.id].input).name} and {Path(p).name}); "
                        "add {stem} or {scene} to it"
                    )
                ids[t.id] = t
                tasks.append(t)
    progress("scenes", len(files), len(files))
    return Plan(job, tasks, problems, cache)


def _rel(p: str, base: Path) -> str:
    try:
        return os.path.relpath(p, base)
    except ValueError:  # pragma: no cover - other drive on Windows
        return p


def _task(job: Job, action: Action, path: str, n: int, k: int, a: Any, b: Any,
          size: int, mtime: int) -> Task:
    pp = Path(path)
    fields = {"stem": pp.stem, "name": pp.name, "ext": pp.suffix.lstrip("."), "input": n,
              "scene": k, "start": "" if a is None else a, "end": "" if b is None else b,
              "command": action.command}
    try:
        rel = action.output.format(**fields)
    except (KeyError, IndexError, ValueError) as exc:
        raise UsageError(f"bad output template {action.output!r}: {exc}") from None
    rel = os.path.normpath(rel)
    if rel.startswith("..") or os.path.isabs(rel) or rel in (".", MANIFEST_NAME) \
            or rel.split(os.sep)[0] == STAGING_NAME:
        raise UsageError(f"output {rel!r} must be a path inside the output folder")
    argv: list[str] = [action.command, path, "-o", OUT]
    if action.command == "convert":
        if a is not None and not _is_index(a):
            raise UsageError("convert in a batch needs frame-index scene ranges")
        first = int(a or 0)
        if action.frame == "middle":
            if b is None or not _is_index(b):
                raise UsageError("convert frame = \"middle\" needs a frame-index scene end")
            first = (first + int(b) - 1) // 2
        argv += ["--frame", str(first)]
    else:
        if a is not None:
            argv += ["--start", str(a)]
        if b is not None:
            argv += ["--end", str(b)]
    argv += options_argv(_resolve_file_options(action.options, job.path.parent, fields))
    from overmix import __version__

    key_src = json.dumps({"input": path, "size": size, "mtime_ns": mtime, "argv": argv,
                          "version": __version__}, sort_keys=True)
    key = hashlib.sha256(key_src.encode()).hexdigest()[:32]
    return Task(rel, action.command, path, n, k, a, b, rel, tuple(argv), key, size, mtime)


def _resolve_file_options(options: dict[str, Any], base: Path, fields: dict[str, Any]
                          ) -> dict[str, Any]:
    """Input-file options made absolute; output-file options placed beside the output."""
    out = dict(options)
    for key, value in options.items():
        name = key.replace("-", "_")
        if not isinstance(value, str):
            continue
        if name in INPUT_FILE_OPTIONS and value not in ("auto", "off", "on"):
            out[key] = _abs(base, os.path.expanduser(value))
        elif name in OUTPUT_FILE_OPTIONS:
            try:
                fname = value.format(**fields)
            except (KeyError, IndexError, ValueError) as exc:
                raise UsageError(f"bad file name template {value!r}: {exc}") from None
            if not fname or "/" in fname or os.sep in fname or fname.startswith("."):
                raise UsageError(f"option '{key}' in a batch job is a file name (written "
                                 f"beside the task's output), not a path: {value!r}")
            out[key] = f"{OUTDIR}/{fname}"
    return out


def _is_index(v: Any) -> bool:
    if isinstance(v, str):
        return re.fullmatch(r"\d+", v.strip()) is not None
    return isinstance(v, int)


# ------------------------------------------------------------------------------------------
# Manifest
# ------------------------------------------------------------------------------------------


def read_manifest(root: Path) -> dict[str, Any]:
    """The manifest in ``root`` (an empty one when absent or unreadable)."""
    try:
        data = json.loads((root / MANIFEST_NAME).read_text("utf-8"))
        if isinstance(data, dict) and data.get("version") == 1:
            data.setdefault("tasks", {})
            data.setdefault("scenes", {})
            return data
    except (OSError, ValueError):
        pass
    return {"version": 1, "tasks": {}, "scenes": {}}


def write_manifest(root: Path, manifest: dict[str, Any]) -> None:
    """Write the manifest atomically."""
    write_text_atomic(root / MANIFEST_NAME, json.dumps(manifest, indent=1, sort_keys=True))


def is_done(task: Task, manifest: dict[str, Any], root: Path) -> bool:
    """Whether ``task`` finished with the same key and its outputs are still in place."""
    entry = manifest.get("tasks", {}).get(task.id)
    if not entry or entry.get("key") != task.key or not entry.get("outputs"):
        return False
    for rel, info in entry["outputs"].items():
        p = root / rel
        try:
            if _size(p) != info.get("size"):
                return False
        except OSError:
            return False
    return True


def _size(p: Path) -> int:
    if p.is_dir():
        return sum(f.stat().st_size for f in sorted(p.rglob("*")) if f.is_file())
    return p.stat().st_size


def _hash(p: Path) -> str:
    """SHA-256 of a file, or of a folder's files (relative names and contents, sorted)."""
    h = hashlib.sha256()
    if p.is_dir():
        for f in sorted(x for x in p.rglob("*") if x.is_file()):
            h.update(f.relative_to(p).as_posix().encode() + b"\0")
            h.update(_hash(f).encode())
        return h.hexdigest()
    with open(p, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ------------------------------------------------------------------------------------------
# Executing one task (runs on a worker)
# ------------------------------------------------------------------------------------------


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

    def preexec() -> None:
        prctl(pr_set_pdeathsig, signal.SIGKILL)

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
        env = dict(os.environ)
        for k, v in (task.get("env") or {}).items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                              preexec_fn=_parent_death_signal(), env=env, check=False)
        err = proc.stderr.decode("utf-8", "replace")
        if proc.returncode != 0:
            return {"status": "failed", "reason": _reason(err, proc.returncode),
                    "stderr": err[-4000:], "seconds": time.perf_counter() - t0}
        made = sorted(staging.iterdir())
        if not made:
            return {"status": "failed", "reason": "the command wrote no output",
                    "stderr": err[-4000:], "seconds": time.perf_counter() - t0}
        final.parent.mkdir(parents=True, exist_ok=True)
        outputs: dict[str, dict[str, Any]] = {}
        for item in made:
            if item.name.startswith(".") and ".tmp" in item.name:
                continue  # a temporary file the command left behind: never publish it
            dest = final.parent / item.name
            info = {"size": _size(item), "sha256": _hash(item)}
            _replace(item, dest)
            outputs[dest.relative_to(root_p).as_posix()] = info
        return {"status": "done", "outputs": outputs, "seconds": time.perf_counter() - t0}
    finally:
        shutil.rmtree(staging, ignore_errors=True)


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
# ------------------------------------------------------------------------------------------


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
        Task runner (default :func:`execute_task`), scene detector and command prefix; for
        tests and tools. ``execute`` must be importable on the workers.

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
    logf = open(log, "a", encoding="utf-8") if log else None  # noqa: SIM115

    def note(event: str, **kw: Any) -> None:
        if logf:
            rec = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "event": event, **kw}
            logf.write(json.dumps(rec, default=str) + "\n")
            logf.flush()

    own_client = client is None
    if own_client:
        client = start_client(scheduler, workers or job.workers)
    try:
        dashboard = dashboard_link(client)
        manifest = read_manifest(root)
        note("start", job=str(job.path), output=str(root), dashboard=dashboard)

        # Phase 1: scene detection of "auto" inputs, in parallel on the workers.
        cache = manifest.get("scenes", {})
        todo = []
        for spec in job.inputs:
            if spec.scenes != "auto":
                continue
            for m in _expand(spec.pattern):
                m = os.path.abspath(m)
                try:
                    size, mtime = _fingerprint(m)
                except OSError:
                    continue  # reported by make_plan
                e = cache.get(m)
                if not (e and e.get("size") == size and e.get("mtime_ns") == mtime) \
                        and m not in [t[0] for t in todo]:
                    todo.append((m, size, mtime))
        transient: dict[str, dict[str, Any]] = {}  # failures not to remember (lost workers)
        if todo:
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

        plan = make_plan(job, detect=detect, scenes_cache={**cache, **transient})
        results: list[TaskResult] = []
        stages: dict[int, str] = {}
        per_input_total: dict[int, int] = {}
        per_input_done: dict[int, int] = {}
        for t in plan.tasks:
            per_input_total[t.input_index] = per_input_total.get(t.input_index, 0) + 1
        names_used: set[str] = set()
        for t in plan.tasks:
            if t.input_index not in stages:
                name = Path(t.input).name
                if name in names_used:
                    name = f"{name}#{t.input_index}"
                names_used.add(name)
                stages[t.input_index] = name
        total = len(plan.tasks) + len(plan.problems)
        done_count = 0

        def finish(res: TaskResult, task: Task | None) -> None:
            nonlocal done_count
            results.append(res)
            done_count += 1
            note("task", **res.to_json())
            progress("tasks", done_count, total)
            if task is not None:
                i = task.input_index
                per_input_done[i] = per_input_done.get(i, 0) + 1
                progress(stages[i], per_input_done[i], per_input_total[i])
            if on_result:
                on_result(res)

        run: list[Task] = []
        for t in plan.tasks:
            if not force and is_done(t, manifest, root):
                continue
            run.append(t)
        if on_start:
            on_start(plan, run, dashboard)
        progress("tasks", 0, total)
        for i in stages:
            progress(stages[i], 0, per_input_total[i])
        for p in plan.problems:
            finish(TaskResult(p.id, p.input, "failed", p.reason), None)
        run_ids = {t.id for t in run}
        for t in plan.tasks:
            if t.id not in run_ids:
                old = manifest["tasks"][t.id]
                finish(TaskResult(t.id, t.input, "skipped", "up to date", 0.0,
                                  old.get("outputs", {})), t)

        fn = execute or execute_task
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
                    manifest["tasks"][t.id] = {
                        "key": t.key, "command": t.command, "argv": list(t.argv),
                        "input": {"path": t.input, "size": t.input_size,
                                  "mtime_ns": t.input_mtime_ns},
                        "start": t.start, "end": t.end, "outputs": res.outputs,
                        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
                        "seconds": round(res.seconds, 3),
                    }
                    write_manifest(root, manifest)
                else:
                    res = TaskResult(t.id, t.input, "failed", str(out.get("reason", "failed")),
                                     out.get("seconds", 0.0))
                    if out.get("stderr"):
                        note("stderr", id=t.id, stderr=out["stderr"])
            finish(res, t)
        report = RunReport(results, time.perf_counter() - t0, dashboard)
        note("end", done=report.count("done"), skipped=report.count("skipped"),
             failed=report.failed, seconds=round(report.seconds, 3))
        return report
    finally:
        shutil.rmtree(root / STAGING_NAME, ignore_errors=True)
        if logf:
            logf.close()
        if own_client:
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None:
                cluster.close()


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

"""Batch plans: a job expanded into tasks, one command line per scene and action.

A task's ``argv`` is the command line after ``overmix`` with :data:`OUT` (and ``OUTDIR/...``)
standing for paths in the task's staging folder; its ``key`` hashes everything that decides
the output, so the manifest can tell finished work from stale work.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from overmix.batch.job import Action, InputSpec, Job, abs_path
from overmix.batch.manifest import MANIFEST_NAME, STAGING_NAME
from overmix.commands.options import OPTIONS, options_argv
from overmix.errors import InputError, OvermixError, UsageError
from overmix.progress import ProgressCallback, no_progress

__all__ = ["OUT", "OUTDIR", "Plan", "Problem", "Task", "detect_scenes", "make_plan",
           "options_argv"]

Detector = Callable[[Path], list[tuple[int, int]]]


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
INPUT_FILE_OPTIONS = {o.name for o in OPTIONS.values() if o.path == "in"}
# Options naming extra files the command writes: a file name (template) written beside the
# task's main output, through the same staging folder, and recorded in the manifest.
OUTPUT_FILE_OPTIONS = {o.name for o in OPTIONS.values() if o.path == "out"}


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


def expand(pattern: str) -> list[str]:
    """The files a pattern names: the glob's matches (sorted), or the path itself."""
    if glob.has_magic(pattern):
        return sorted(p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
    return [pattern]


def fingerprint(path: str) -> tuple[int, int]:
    """``(size, mtime_ns)`` of a file (raises ``OSError``)."""
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
    files = _input_files(job, problems)
    ids: dict[str, Task] = {}
    for n, (p, spec) in enumerate(files):
        progress("scenes", n, len(files))
        try:
            size, mtime = fingerprint(p)
        except OSError as exc:
            problems.append(Problem(Path(p).name, p, f"cannot read input: {exc.strerror}"))
            continue
        numbered = _numbered_scenes(p, spec, size, mtime, cache, detect, problems)
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
    check_outputs_vs_inputs(tasks, Path(job.output))
    return Plan(job, tasks, problems, cache)


def task_inputs(task: Task | dict[str, Any]) -> list[str]:
    """Every file a task reads: its input and the input-file options (``--mask``, ...)."""
    src = task if isinstance(task, dict) else task.to_json()
    words = list(src["argv"])
    found = [src["input"]]
    for k, w in enumerate(words[:-1]):
        if w.startswith("--") and w[2:].replace("-", "_") in INPUT_FILE_OPTIONS:
            found.append(words[k + 1])
    return found


def task_outputs(task: Task, root: Path) -> list[Path]:
    """Where a task's files land: its output and the side outputs beside it."""
    final = root / task.output
    side = [final.parent / w[len(OUTDIR) + 1:] for w in task.argv if w.startswith(OUTDIR + "/")]
    return [final, *side]


def touches(out: str | os.PathLike[str], inp: str | os.PathLike[str]) -> bool:
    """True when writing ``out`` (a file, or a folder swapped in whole) would touch ``inp``:
    the same file (also through symlinks or hard links) or a folder that holds it."""
    o, i = os.path.realpath(out), os.path.realpath(inp)
    if o == i or i.startswith(o.rstrip(os.sep) + os.sep):
        return True
    try:
        return os.path.samefile(out, inp)
    except OSError:
        return False


def check_outputs_vs_inputs(tasks: list[Task], root: Path) -> None:
    """Refuse a plan where any task's output (or side output) lands on, or is a folder that
    holds, any task's input: a batch never replaces its own sources (issue 13)."""
    inputs = sorted({p for t in tasks for p in task_inputs(t)})
    for t in tasks:
        for out in task_outputs(t, root):
            for inp in inputs:
                if touches(out, inp):
                    raise UsageError(
                        f"task {t.id!r} would write {out}, which is (or holds) the input "
                        f"{inp}; change the output root or template")


def _input_files(job: Job, problems: list[Problem]) -> list[tuple[str, InputSpec]]:
    """Every input file of the job once (first spec wins), with its spec, in job order."""
    files: list[tuple[str, InputSpec]] = []
    seen: set[str] = set()
    for spec in job.inputs:
        matches = expand(spec.pattern)
        if not matches:
            problems.append(Problem(_rel(spec.pattern, job.path.parent), spec.pattern,
                                    "no file matches this pattern"))
        for m in matches:
            m = os.path.abspath(m)
            if m not in seen:
                seen.add(m)
                files.append((m, spec))
    return files


def _numbered_scenes(p: str, spec: InputSpec, size: int, mtime: int,
                     cache: dict[str, dict[str, Any]], detect: Detector,
                     problems: list[Problem]) -> list[tuple[int, Any, Any]]:
    """``[(scene number, start, end), ...]`` of one input; detection results go to ``cache``.

    An input whose detection fails is reported in ``problems`` and has no scenes.
    """
    if spec.scenes is None:
        return [(0, None, None)]
    if spec.scenes != "auto":
        return [(k, a, b) for k, (a, b) in enumerate(spec.scenes)]
    entry = cache.get(p)
    if entry and entry.get("size") == size and entry.get("mtime_ns") == mtime:
        if "error" in entry:
            problems.append(Problem(Path(p).name, p, str(entry["error"])))
            return []
        found = [tuple(s) for s in entry["scenes"]]
    else:
        try:
            found = [tuple(s) for s in detect(Path(p))]
        except OvermixError as exc:
            problems.append(Problem(Path(p).name, p, f"scene detection: {exc}"))
            return []
        cache[p] = {"size": size, "mtime_ns": mtime, "scenes": [list(s) for s in found]}
    # Scene numbers stay the detector's (as `overmix info --scenes` / `dump --scene N`
    # number them) when short scenes are left out.
    return [(k, a, b) for k, (a, b) in enumerate(found)
            if int(b) - int(a) >= spec.min_frames]  # type: ignore[call-overload]


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
            out[key] = abs_path(base, os.path.expanduser(value))
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


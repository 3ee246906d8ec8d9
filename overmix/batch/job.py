"""Batch job files: reading and validating a job (TOML or JSON) into a :class:`Job`.

The job format is described in :mod:`overmix.batch`. Relative paths are made absolute against
the job file's folder here, so everything after this module works with absolute paths.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from overmix.atomic import check_input
from overmix.commands.options import check_command_options
from overmix.errors import InputError, UsageError
from overmix.ranges import FrameRange

__all__ = ["COMMANDS", "Action", "InputSpec", "Job", "Scene", "abs_path", "job_from_dict",
           "load_job"]

COMMANDS = ("dump", "convert", "stitch")

Scene = tuple["int | str | None", "int | str | None"]


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
    check_input(path)  # a FIFO would block the read
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read job file {path}: {exc.strerror}") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InputError(f"{path}: invalid JSON: {exc}") from None
        except RecursionError:
            raise InputError(f"{path}: JSON nested too deeply") from None
    else:
        toml = _toml_module()
        try:
            data = toml.loads(text.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: invalid TOML: {exc}") from None
        except RecursionError:
            raise InputError(f"{path}: TOML nested too deeply") from None
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
            inputs.append(InputSpec(abs_path(base, item), default_scenes, default_min))
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
    return Job(path, Path(abs_path(base, out)), tuple(inputs), tuple(actions), workers, retries)


def abs_path(base: Path, p: str) -> str:
    """``p`` (``~`` expanded) made absolute against ``base``."""
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
    return InputSpec(abs_path(base, p), scenes, min_frames)


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
    try:  # what the command line would refuse, with its message
        check_command_options(cmd, opts)
    except UsageError as exc:
        raise UsageError(f"{where}: [action.options] of {cmd}: {exc}") from None
    frame = a.get("frame", "start")
    if frame not in ("start", "middle"):
        raise UsageError(f"{where}: 'frame' is \"start\" or \"middle\", got {frame!r}")
    return Action(cmd, out, dict(opts), frame)

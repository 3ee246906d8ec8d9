"""The batch manifest (``batch-manifest.json`` in the output root) and the output layout.

Per task the manifest records the key (input path, size and mtime, command line, version),
the range and the outputs with their sizes and SHA-256; per ``"auto"`` input the detected
scenes. It is rewritten atomically after each finished task, so a killed run loses nothing
that finished.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from overmix.atomic import write_text_atomic

if TYPE_CHECKING:
    from overmix.batch.plan import Task

__all__ = ["MANIFEST_NAME", "STAGING_NAME", "is_done", "read_manifest", "record_done",
           "tree_hash", "tree_size", "write_manifest"]

MANIFEST_NAME = "batch-manifest.json"
# Private staging folder below the output root: one subfolder per task attempt.
STAGING_NAME = ".overmix-batch"


def read_manifest(root: Path) -> dict[str, Any]:
    """The manifest in ``root`` (an empty one when absent or unreadable)."""
    try:
        data = json.loads((root / MANIFEST_NAME).read_text("utf-8"))
        if isinstance(data, dict) and data.get("version") == 1:
            data.setdefault("tasks", {})
            data.setdefault("scenes", {})
            return data
    except (OSError, ValueError, RecursionError):
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
            if tree_size(p) != info.get("size"):
                return False
        except OSError:
            return False
    return True


def tree_size(p: Path) -> int:
    """Size in bytes of a file, or the sum over a folder's files."""
    if p.is_dir():
        return sum(f.stat().st_size for f in sorted(p.rglob("*")) if f.is_file())
    return p.stat().st_size


def tree_hash(p: Path) -> str:
    """SHA-256 of a file, or of a folder's files (relative names and contents, sorted)."""
    h = hashlib.sha256()
    if p.is_dir():
        for f in sorted(x for x in p.rglob("*") if x.is_file()):
            h.update(f.relative_to(p).as_posix().encode() + b"\0")
            h.update(tree_hash(f).encode())
        return h.hexdigest()
    with open(p, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def record_done(manifest: dict[str, Any], task: Task, outputs: dict[str, dict[str, Any]],
                seconds: float) -> None:
    """Enter a finished task (its key, command, input fingerprint and outputs) in ``manifest``."""
    manifest["tasks"][task.id] = {
        "key": task.key, "command": task.command, "argv": list(task.argv),
        "input": {"path": task.input, "size": task.input_size, "mtime_ns": task.input_mtime_ns},
        "start": task.start, "end": task.end, "outputs": outputs,
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "seconds": round(seconds, 3),
    }

"""The scene manifest, ``scene.json`` beside a folder of dumps (DESIGN §5).

It holds what the dump format cannot: the exact colour (range, primaries, chroma siting,
matrix), the source file and stream, the frame rate, and per frame its display index,
timestamps, key-frame flag, IVTC fields and dedup decisions. Dump files are named by their
zero-padded display index (``000042.dump``) so that sorting by name gives display order.

Example::

    {
      "version": 1,
      "source": "/videos/ep01.mkv", "stream": 0,
      "color": {"matrix": "bt709", "range": "limited", ..., "bit_depth": 10},
      "frame_rate": "24000/1001",
      "frames": [{"file": "000000.dump", "index": 0, "pts": 0, "time": 0.0,
                  "key_frame": true, "fields": "0t+0b"}, ...],
      "ivtc": {"mode": "auto", "pattern": "..."},
      "dedup": {"enabled": false}
    }
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from overmix.atomic import check_input, write_text_atomic
from overmix.color.spec import ColorInfo
from overmix.errors import FormatError, InputError, OutputError

__all__ = [
    "MANIFEST_NAME",
    "MANIFEST_VERSION",
    "Manifest",
    "dump_name",
    "read_manifest",
    "write_manifest",
]

MANIFEST_NAME = "scene.json"
MANIFEST_VERSION = 1


def dump_name(index: int) -> str:
    """File name of the dump at display index ``index``: ``000042.dump`` (6+ digits)."""
    if index < 0:
        raise ValueError(f"negative frame index {index}")
    return f"{index:06d}.dump"


@dataclass
class Manifest:
    """Contents of ``scene.json``.

    Attributes
    ----------
    color : ColorInfo
        Colour of every dump in the folder.
    source : str or None
        The video the dumps came from.
    stream : int or None
        Its video stream index.
    frame_rate : str or None
        Frames per second of the dumped frames as ``"num/den"`` (after IVTC).
    frames : list of dict
        Display order. Each has ``file``, ``index`` and, when known, ``pts`` (stream time
        base), ``time`` (seconds), ``key_frame``, ``fields`` (IVTC source fields) and
        ``dedup`` (e.g. ``{"kept": true, "duplicate_of": null, "difference": 0.01}``).
    ivtc, dedup : dict
        Summaries of those decisions.
    version : int
    complete : bool
        False while ``overmix dump`` is still writing the folder: the manifest is written
        first as incomplete and rewritten complete at the end, so a dump that was killed is
        recognisable (readers refuse it, ``info`` flags it, a rerun replaces it). Manifests
        without the key are complete.
    extra : dict
        Any other top-level keys, kept on rewrite.
    """

    color: ColorInfo
    source: str | None = None
    stream: int | None = None
    frame_rate: str | None = None
    frames: list[dict[str, Any]] = field(default_factory=list)
    ivtc: dict[str, Any] = field(default_factory=dict)
    dedup: dict[str, Any] = field(default_factory=dict)
    version: int = MANIFEST_VERSION
    complete: bool = True
    extra: dict[str, Any] = field(default_factory=dict)
    _by_file: tuple[Any, int, dict[str, dict[str, Any]]] | None = field(
        default=None, init=False, repr=False, compare=False)

    @property
    def rate(self) -> Fraction | None:
        """``frame_rate`` as a Fraction (None when absent or invalid)."""
        return parse_rate(self.frame_rate)

    def frame_for(self, file_name: str) -> dict[str, Any] | None:
        """The ``frames`` entry of a dump file name, if any (O(1) after the first call)."""
        cache = self._by_file
        if cache is None or cache[0] is not self.frames or cache[1] != len(self.frames):
            table = {str(f.get("file")): f for f in self.frames}
            self._by_file = cache = (self.frames, len(self.frames), table)
        return cache[2].get(file_name)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "version": self.version,
            "source": self.source,
            "stream": self.stream,
            "color": self.color.to_json(),
            "frame_rate": self.frame_rate,
            "frames": self.frames,
            "ivtc": self.ivtc,
            "dedup": self.dedup,
            "complete": self.complete,
        }
        for k, v in self.extra.items():
            data.setdefault(k, v)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], *, where: str = MANIFEST_NAME) -> Manifest:
        if not isinstance(data, dict):
            raise FormatError(f"{where}: not a JSON object")
        color = data.get("color")
        if not isinstance(color, dict):
            raise FormatError(f"{where}: no \"color\" object")
        try:
            col = ColorInfo.from_json(color)
        except (ValueError, TypeError, OverflowError) as exc:
            raise FormatError(f"{where}: bad colour: {exc}") from None
        except InputError as exc:
            raise FormatError(f"{where}: {exc}") from None
        frames = data.get("frames", [])
        if not isinstance(frames, list) or not all(
            isinstance(f, dict) and isinstance(f.get("file"), str) for f in frames
        ):
            raise FormatError(f"{where}: \"frames\" must be a list of objects with a \"file\"")
        _check_frames(frames, where)
        rate = data.get("frame_rate")
        if rate is not None:
            rate = str(rate)
            if parse_rate(rate) is None:
                raise FormatError(f"{where}: bad frame_rate {rate!r} (want \"num/den\")")
        version = data.get("version", MANIFEST_VERSION)
        if not _is_int(version) or not 1 <= version <= MANIFEST_VERSION:
            raise FormatError(f"{where}: unsupported version {version!r} (this overmix reads "
                              f"version 1-{MANIFEST_VERSION})")
        complete = data.get("complete", True)
        if not isinstance(complete, bool):
            raise FormatError(f"{where}: \"complete\" must be true or false")
        source = data.get("source")
        if source is not None and not isinstance(source, str):
            raise FormatError(f"{where}: \"source\" must be a string")
        summaries = {}
        for key in ("ivtc", "dedup"):
            value = data.get(key) or {}
            if not isinstance(value, dict):
                raise FormatError(f"{where}: \"{key}\" must be an object")
            summaries[key] = dict(value)
        known = {"version", "source", "stream", "color", "frame_rate", "frames", "ivtc", "dedup",
                 "complete"}
        stream = data.get("stream")
        return cls(
            color=col,
            source=source,
            stream=stream if _is_int(stream) else None,
            frame_rate=rate,
            frames=frames,
            ivtc=summaries["ivtc"],
            dedup=summaries["dedup"],
            version=version,
            complete=complete,
            extra={k: v for k, v in data.items() if k not in known},
        )


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _check_frames(frames: list[dict[str, Any]], where: str) -> None:
    """Each file listed once, each ``index`` a distinct integer >= 0, numbers where numbers go:
    a manifest that repeats a frame would make readers and writers disagree on the count."""
    files: set[str] = set()
    indices: set[int] = set()
    for f in frames:
        name = f["file"]
        if name in files:
            raise FormatError(f"{where}: \"frames\" lists {name!r} twice")
        files.add(name)
        index = f.get("index")
        if index is not None:
            if not _is_int(index) or index < 0:
                raise FormatError(f"{where}: frame {name!r} has a bad index {index!r}")
            if index in indices:
                raise FormatError(f"{where}: \"frames\" repeats index {index} ({name!r})")
            indices.add(index)
        for key in ("pts", "source_frame"):
            if f.get(key) is not None and not _is_int(f[key]):
                raise FormatError(f"{where}: frame {name!r} has a bad {key} {f[key]!r}")
        t = f.get("time")
        if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float))
                              or t != t or t in (float("inf"), float("-inf"))):
            raise FormatError(f"{where}: frame {name!r} has a bad time {t!r}")
        if f.get("fields") is not None and not isinstance(f["fields"], str):
            raise FormatError(f"{where}: frame {name!r} has bad fields {f['fields']!r}")


def parse_rate(text: str | None) -> Fraction | None:
    """``"24000/1001"`` or ``"25"`` as a positive Fraction; None when absent or invalid."""
    if text is None:
        return None
    try:
        r = Fraction(str(text).strip())
    except (ValueError, ZeroDivisionError):
        return None
    return r if r > 0 else None


def format_rate(rate: Fraction | float | int | None) -> str | None:
    """A rate as the manifest's ``"num/den"`` string."""
    if rate is None:
        return None
    r = Fraction(rate).limit_denominator(1_000_000)
    return f"{r.numerator}/{r.denominator}"


def read_manifest(folder: str | os.PathLike[str]) -> Manifest | None:
    """The manifest of a dump folder, or None when it has no ``scene.json``.

    Raises :class:`~overmix.errors.FormatError` when the file exists but is not a valid
    manifest.
    """
    path = Path(folder) / MANIFEST_NAME
    if not path.exists():
        return None
    check_input(path)  # a FIFO would block the read
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise FormatError(f"{path}: not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(f"{path}: invalid JSON ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise FormatError(f"{path}: JSON nested too deeply") from None
    return Manifest.from_json(data, where=str(path))


def write_manifest(folder: str | os.PathLike[str], manifest: Manifest) -> Path:
    """Write ``scene.json`` atomically into ``folder``; returns its path."""
    path = Path(folder) / MANIFEST_NAME
    text = json.dumps(manifest.to_json(), indent=1, default=_default) + "\n"
    try:
        write_text_atomic(path, text)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def _default(obj: Any) -> Any:
    if isinstance(obj, Fraction):
        return f"{obj.numerator}/{obj.denominator}"
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    if hasattr(obj, "__fspath__"):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")

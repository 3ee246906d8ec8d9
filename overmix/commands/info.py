"""``overmix info``: what a video, a dump, a dump folder or a PNG holds, as JSON-able dicts.

:func:`describe` picks the kind of input; :func:`describe_video` probes a video (and the
telecine decision of ``--ivtc auto``, optionally the scene cuts). Dumps:

A single file is fully decoded (so a corrupt payload is an error). A folder is described from
the plane records alone (fast on thousands of files); ``verify=True`` decodes every payload
too. Files that differ from the folder's majority (size, layout, depth, plane count, header)
or cannot be read are listed under ``inconsistent`` rather than stopping the report.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import dumpfmt
from overmix.atomic import check_input
from overmix.errors import InputError, OvermixError, UnsupportedError
from overmix.io.dumps import ProbeDump, frame_from_dump, read_dump, read_dump_info
from overmix.io.manifest import Manifest, read_manifest
from overmix.io.sources import (
    DUMP_EXTS,
    PNG_EXTS,
    has_dump_magic,
    is_video_path,
    list_inputs,
    open_source,
)
from overmix.progress import ProgressCallback, no_progress
from overmix.video import open_video
from overmix.video.scenes import detect_cuts, scenes_from_cuts

__all__ = ["describe_dump", "describe_dump_folder", "transform_name", "transfer_name"]

_TRANSFORM_NAMES = {v: k for k, v in dumpfmt.TRANSFORM.items()}
_TRANSFER_NAMES = {v: k for k, v in dumpfmt.TRANSFER.items()}


def transform_name(value: int | None) -> str | None:
    if value is None:
        return None
    return _TRANSFORM_NAMES.get(value, f"invalid ({value})")


def transfer_name(value: int | None) -> str | None:
    if value is None:
        return None
    return _TRANSFER_NAMES.get(value, f"invalid ({value})")


def _header_json(h: dumpfmt.Header) -> dict[str, Any]:
    return {"magic": h.has_magic, "transform": h.transform,
            "transform_name": transform_name(h.transform), "transfer": h.transfer,
            "transfer_name": transfer_name(h.transfer)}


def _planes_json(info: dumpfmt.DumpInfo) -> list[dict[str, Any]]:
    return [{"index": i, "width": p.width, "height": p.height, "depth": p.depth,
             "compression": p.compression, "payload_bytes": p.payload_bytes,
             "raw_bytes": p.raw_bytes} for i, p in enumerate(info.planes)]


def _ratio(raw: int, size: int) -> float | None:
    return round(raw / size, 4) if size else None


def _manifest_color(path: Path) -> Manifest | None:
    """The scene.json of the file's folder (it describes every dump there)."""
    return read_manifest(path.parent)


def describe_dump(path: str | os.PathLike[str], *, decode: bool = True) -> dict[str, Any]:
    """Header, planes, colour (resolved, and from where), sizes of one dump file.

    ``decode`` (default) decodes every payload, so a corrupt one raises
    :class:`~overmix.errors.FormatError`.
    """
    p = Path(path)
    info = read_dump_info(p)
    if decode:
        read_dump(p)
    manifest = _manifest_color(p)
    data: dict[str, Any] = {
        "kind": "dump",
        "path": str(p),
        "file_size": info.file_size,
        "header": _header_json(info.header),
        "planes": _planes_json(info),
        "width": info.planes[0].width,
        "height": info.planes[0].height,
        "layout": None,
        "alpha": len(info.planes) in (2, 4),
        "depth": info.planes[0].depth,
        "color": None,
        "color_from": None,
        "raw_bytes": info.raw_bytes,
        "compression_ratio": _ratio(info.raw_bytes, info.file_size),
    }
    try:
        frame, how = frame_from_dump(ProbeDump(info),  # type: ignore[arg-type]
                                     color=manifest.color if manifest else None, source=str(p))
    except OvermixError as exc:  # e.g. a Bayer dump: describe it, say why it is not usable
        data.update(color_error=str(exc), alpha=None)
        return data
    data.update(layout=frame.layout.name, alpha=frame.alpha is not None,
                depth=frame.color.bit_depth, color=frame.color.to_json(), color_from=how)
    return data


def _signature(info: dumpfmt.DumpInfo) -> tuple[Any, ...]:
    return (tuple((p.width, p.height, p.depth) for p in info.planes), info.header.has_magic,
            info.header.transform, info.header.transfer)


def _describe_signature(sig: tuple[Any, ...]) -> str:
    planes, magic, transform, transfer = sig
    sizes = ", ".join(f"{w}x{h}@{d}" for w, h, d in planes)
    head = f"DMP0 {transform_name(transform)}/{transfer_name(transfer)}" if magic else \
        "no header"
    return f"{len(planes)} planes [{sizes}], {head}"


def _majority(data: dict[str, Any], infos: dict[Path, dumpfmt.DumpInfo],
              sigs: dict[Path, tuple[Any, ...]], ref_sig: tuple[Any, ...],
              manifest: Manifest | None) -> list[dict[str, str]]:
    """Describe the folder by its majority format (into ``data``); the files that differ."""
    ref_file = next(f for f, s in sigs.items() if s == ref_sig)
    ref = infos[ref_file]
    try:
        frame, how = frame_from_dump(ProbeDump(ref),  # type: ignore[arg-type]
                                     color=manifest.color if manifest else None,
                                     source=str(ref_file))
        data.update(width=frame.width, height=frame.height, layout=frame.layout.name,
                    alpha=frame.alpha is not None, color=frame.color.to_json(),
                    color_from=how)
    except OvermixError as exc:
        data.update(width=ref.planes[0].width, height=ref.planes[0].height, layout=None,
                    color=None, color_from=None, color_error=str(exc))
    data["format"] = _describe_signature(ref_sig)
    return [{"file": f.name, "reason": f"{_describe_signature(s)}; most files: "
                                       f"{_describe_signature(ref_sig)}"}
            for f, s in sigs.items() if s != ref_sig]


def describe_dump_folder(
    folder: str | os.PathLike[str],
    *,
    verify: bool = False,
    progress: ProgressCallback | None = None,
) -> dict[str, Any]:
    """Totals and consistency of a folder of dumps.

    Returns a dict with ``frames``, ``total_bytes``, ``raw_bytes``, ``compression_ratio``
    (raw / stored), ``width``/``height``/``layout``/``depths``/``compressions``, the resolved
    ``color`` and ``color_from``, manifest facts (``manifest``, ``frame_rate``, ``source``,
    ``missing``: listed but absent files, ``unlisted``: files the manifest does not list) and
    ``inconsistent``: ``[{"file", "reason"}]``.
    """
    progress = progress or no_progress
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"no such folder: {root}")
    files = list_inputs(root, DUMP_EXTS)
    if not files:
        raise InputError(f"no .dump files in folder {root}")
    manifest = read_manifest(root)
    infos: dict[Path, dumpfmt.DumpInfo] = {}
    bad: list[dict[str, str]] = []
    for k, f in enumerate(files):
        try:
            infos[f] = read_dump_info(f)
            if verify:
                read_dump(f)
        except OvermixError as exc:
            bad.append({"file": f.name, "reason": str(exc).removeprefix(f"{f}: ")})
            infos.pop(f, None)
        progress("scan", k + 1, len(files))
    sigs = {f: _signature(i) for f, i in infos.items()}
    counts = Counter(sigs.values())
    data: dict[str, Any] = {
        "kind": "dump-folder",
        "path": str(root),
        "frames": len(files),
        "readable": len(infos),
        "total_bytes": sum(f.stat().st_size for f in files),
        "raw_bytes": sum(i.raw_bytes for i in infos.values()),
        "manifest": manifest is not None,
        # False: a dump that was interrupted (scene.json written first, marked incomplete)
        "complete": manifest is None or manifest.complete,
    }
    data["compression_ratio"] = _ratio(
        data["raw_bytes"], sum(i.file_size for i in infos.values()))
    comps: Counter[str] = Counter()
    for i in infos.values():
        comps.update(p.compression for p in i.planes)
    data["compressions"] = dict(comps)
    data["depths"] = sorted({p.depth for i in infos.values() for p in i.planes})
    if counts:
        bad += _majority(data, infos, sigs, counts.most_common(1)[0][0], manifest)
    if manifest is not None:
        listed = {str(e.get("file")) for e in manifest.frames}
        present = {f.name for f in files}
        data.update(frame_rate=manifest.frame_rate, source=manifest.source,
                    manifest_frames=len(manifest.frames),
                    missing=sorted(listed - present), unlisted=sorted(present - listed),
                    ivtc=manifest.ivtc, dedup=manifest.dedup)
    order = {f.name: k for k, f in enumerate(files)}
    data["inconsistent"] = sorted(bad, key=lambda b: order.get(b["file"], 0))
    return data


def describe(path: str | os.PathLike[str], *, verify: bool = False, scenes: bool = False,
             stream: int | None = None,
             progress: ProgressCallback = no_progress) -> dict[str, Any]:
    """The description of any input; its ``kind`` is ``dump``, ``dump-folder``, ``png`` or
    ``video``."""
    p = Path(path)
    check_input(p)  # missing, FIFO, device: one line now, never a blocked read
    if p.is_dir():
        if list_inputs(p, DUMP_EXTS):
            return describe_dump_folder(p, verify=verify, progress=progress)
        if list_inputs(p, PNG_EXTS):
            return describe_png(p)
        raise InputError(f"no .dump or .png files in folder {p}")
    suffix = p.suffix.lower()
    if suffix in DUMP_EXTS or has_dump_magic(p):
        return describe_dump(p, decode=verify)
    if suffix in PNG_EXTS:
        return describe_png(p)
    if is_video_path(p):
        return describe_video(p, stream=stream, scenes=scenes, progress=progress)
    raise UnsupportedError(f"{p}: not a video, dump or PNG")


def describe_png(path: Path) -> dict[str, Any]:
    """A PNG file or folder of PNGs: frames, size, layout, colour."""
    with open_source(path) as src:
        return {"kind": "png", **src.info}


def describe_video(path: str | os.PathLike[str], *, stream: int | None = None,
                   scenes: bool = False,
                   progress: ProgressCallback | None = None) -> dict[str, Any]:
    """A video (probe + IVTC decision + optional scenes)."""
    src = open_video(path, stream=stream, ivtc="auto", progress=progress)
    data = src.video.to_json()
    data["ivtc"] = src.ivtc_decision
    iv = src.ivtc_decision
    if iv.get("mode") == "hard":
        data["telecine"] = {**data.get("telecine", {}), "guess": "hard",
                            "pattern": iv.get("pattern"),
                            "film_rate": None if src.rate is None else str(src.rate)}
    data["delivered_rate"] = None if src.rate is None else str(src.rate)
    data["assumed_color"] = src.color.to_json()
    if scenes:
        cuts, n = detect_cuts(src)
        sc = scenes_from_cuts(cuts, n, end_time=data.get("duration"))
        data["scenes"] = [s.to_json() for s in sc]
        data["cuts"] = [c.to_json() for c in cuts]
        if src.info.get("lost_frames"):
            data["lost_frames"] = src.info["lost_frames"]
    return data

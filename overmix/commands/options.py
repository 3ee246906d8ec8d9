"""Every option of the commands, once: flag, type, default, choices, range and help (DESIGN §7).

:data:`OPTIONS` is the one table. Everything else is derived from it:

- the CLI's argparse: :func:`add_options` adds a command's options to its parser;
- :class:`StitchOptions`, the stitch/align options dataclass (its fields are
  :data:`STITCH`'s options, their defaults and types) and its validation :meth:`check`;
- the Python API's keyword arguments (``overmix.stitch(..., render="median")`` →
  ``StitchOptions(**kw).check()``);
- ``batch``'s check of ``[action.options]`` (:func:`check_command_options`: the same parser
  and the same checks as the command line, hence the same messages).

Modes that are choices are :class:`Choice` enums (``str`` subclasses: ``Render.MEDIAN ==
"median"``, and they hash, print and serialise as their value). Ranges are checked by
:func:`check_value`, after parsing, with one message per kind of bound.

Adding a stitch option is one :class:`Option` row here, its name in :data:`STITCH_CLI` (or
:data:`ALIGN`, for ``align`` too) and the code that uses ``opts.<name>``: the flag, the
dataclass field, the keyword, the batch check and the help follow.
"""

from __future__ import annotations

import argparse
import lzma
import os
from collections.abc import Mapping, Sequence
from dataclasses import field, fields, make_dataclass
from typing import Any

from overmix.commands.paths import check_suffix
from overmix.commands.schema import (
    Choice,
    Option,
    Refuse,
    check_value,
    choice,
    finite_float,
    options_argv,
)
from overmix.errors import UsageError
from overmix.geometry import MOTIONS
from overmix.inputs import InputOptions
from overmix.io.store import DEFAULT_BUDGET
from overmix.render.names import RENDERS

__all__ = [
    "COMMAND_OPTIONS", "OPTIONS", "STITCH", "Choice", "Option", "StitchOptions",
    "add_options", "check_command_options", "check_namespace", "check_value",
    "command_options", "options_argv", "parse_foreground", "source_options", "stitch_options",
]


Render = choice("Render", RENDERS)
Ivtc = choice("Ivtc", ("auto", "on", "off"))
FieldOrder = choice("FieldOrder", ("tff", "bff"))
Motion = choice("Motion", MOTIONS)
Kernel = choice("Kernel", ("cubic", "lanczos3"))
Chroma = choice("Chroma", ("native", "full"))
Lighting = choice("Lighting", ("auto", "off", "on"))
Mosaic = choice("Mosaic", ("auto", "off"))
ChromaFilter = choice("ChromaFilter", ("bilinear", "bicubic", "lanczos"))
Compression = choice("Compression", ("zlib", "xz", "none"))

Overlays = choice("Overlays", ("remove", "keep"))

MB = 2**20  # budgets are given in MB


def parse_foreground(value: Any) -> tuple[str, int | None]:
    """``--foreground remove|keep[:FRAME]`` -> ``(mode, frame or None)``."""
    mode, _, frame = str(value).partition(":")
    if mode not in ("remove", "keep") or (frame and mode != "keep"):
        raise UsageError(f"--foreground must be remove or keep[:FRAME] (got {value!r})")
    if not frame:
        return mode, None
    if not frame.isdigit():
        raise UsageError(f"--foreground keep:FRAME needs a frame index (got {frame!r})")
    return mode, int(frame)


def _foreground(value: Any) -> str:
    parse_foreground(value)
    return str(value)


def _animation(value: Any) -> str:
    """``auto``, ``off`` or a count >= 1 (as text)."""
    a = str(value)
    if a not in ("auto", "off") and not (a.isdigit() and int(a) >= 1):
        raise UsageError(f"--animation must be auto, off or a count >= 1 (got {a!r})")
    return a


def _level(word: str) -> int:
    """``0``-``9``, or ``0e``-``9e`` for xz's extreme presets (a command-line word)."""
    t = str(word).strip().lower()
    extreme = t.endswith("e")
    try:
        n = int(t[:-1] if extreme else t)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid level {word!r} (use 0-9, or 0e-9e for xz)") \
            from None
    if not 0 <= n <= 9:
        raise argparse.ArgumentTypeError(f"level {n} is outside 0-9")
    return n | lzma.PRESET_EXTREME if extreme else n


def _level_value(value: Any) -> int:
    """A level given as a number (API, batch): 0-9, xz's extreme flag allowed."""
    if isinstance(value, str):
        return _level(value)
    n = int(value)
    if not 0 <= (n & ~lzma.PRESET_EXTREME) <= 9:
        raise argparse.ArgumentTypeError(f"level {n} is outside 0-9")
    return n


def _deconvolve(value: Any) -> str:
    """``SIGMA[:ITERS]``, checked by the deconvolution's own parser."""
    # lazy: restore.deconvolve loads scipy, which the CLI's start (every command) skips
    from overmix.restore.deconvolve import parse_deconvolve

    parse_deconvolve(str(value))
    return str(value)


def _scale(value: Any) -> float:
    """A super-resolution factor, checked by the super-resolution's own rule (> 1, <= 8)."""
    # lazy: restore.superres loads scipy, which the CLI's start (every command) skips
    from overmix.restore.superres import check_scale

    return check_scale(value)


def _project(value: Any) -> str:
    check_suffix(value, (".xml.overmix",), "--save-project")
    return os.fspath(value)


_T = "index, seconds or HH:MM:SS.mmm"
_VIDEO = ("stitch", "align")

OPTIONS: dict[str, Option] = {o.name: o for o in (
    # --- input selection
    Option("start", f"first frame: {_T}", metavar="T"),
    Option("end", f"end (excluded): {_T}", metavar="T"),
    Option("frames", "at most N frames", int, metavar="N", low=1),
    Option("frame", "frame to convert: index (default 0), or a time such as 12.5s or "
           "00:01:02.500", metavar="N", exclusive="which"),
    Option("all", "convert every frame (of the range) into the folder OUT", bool,
           default=False, exclusive="which"),
    Option("scene", "dump scene N (0-based, see `overmix info VIDEO --scenes`)", int,
           metavar="N", low=0),
    Option("ivtc", "inverse telecine for videos (default auto)", Ivtc, default="auto"),
    Option("field_order", "override the stream's field order for IVTC", FieldOrder),
    Option("dedup", "drop frames repeating their predecessor", bool, default=False,
           helps={"preview": "mark the frames dedup would drop (videos; ranges count all "
                             "frames)"}),
    Option("dedup_threshold", "a frame repeats its predecessor when its largest 16x16 block "
           "difference to the last kept frame is at most X (8-bit codes; default automatic, "
           "2-6 from the codec noise)", float, metavar="X"),
    Option("stream", "video stream (0-based among video streams)", int, metavar="N", low=0),
    Option("memory_budget", f"decoded frames kept in memory, MB (default "
           f"{DEFAULT_BUDGET / MB:g}); the rest wait in a temporary folder", float,
           default=DEFAULT_BUDGET / MB, metavar="MB", low=0),
    Option("tile_budget", "frame stacks of the statistics renders, MB", float, default=256.0,
           flag="", low=0),
    Option("tmp_dir", "folder for the frames beyond the memory budget", flag=""),
    # --- geometry
    Option("motion", "camera motion model: xy (pan), x or y (one axis), zoom (pan + zoom), "
           "similarity (pan + zoom + rotation), auto (the simplest that fits; default)",
           Motion, default="auto"),
    Option("canvas_scale", "canvas pixel size in frame-0 pixels (default: the most zoomed-in "
           "frame's; C < 1 is finer than frame 0)", float, metavar="C", low=0.05, high=20),
    Option("mask", "PNG in frame size: white = ignore", metavar="FILE", path="in"),
    Option("border", "ignore N pixels at every frame edge", int, default=0, metavar="N",
           low=0),
    Option("strict", "a frame that cannot be placed with confidence is an error (default: "
           "it is left out with one warning; of two shots the larger is used)", bool,
           default=False),
    Option("offsets", "use these offsets (JSON) instead of aligning", metavar="FILE",
           path="in", group="render"),
    Option("save_offsets", "write the offsets (JSON)", metavar="FILE", path="out",
           group="render"),
    # --- render and output
    Option("render", "how frames are combined (default average)", Render, default="average",
           group="render"),
    Option("kernel", "sub-pixel resampling kernel (default cubic = Catmull-Rom)", Kernel,
           default="cubic", group="render"),
    Option("chroma", "chroma canvas at the source's subsampling (native) or 4:4:4 (full)",
           Chroma, default="native", group="render"),
    Option("depth", "PNG bits per channel (default 16 for sources deeper than 8 bits)", int,
           values=(8, 16), group="render"),
    Option("dither", "Floyd-Steinberg error diffusion to 8 bits instead of rounding", bool,
           default=False, group="render"),
    Option("chroma_filter", "chroma upsampling filter (default bilinear)", ChromaFilter,
           default="bilinear"),
    Option("linear", "write linear light (BT.1886 EOTF) instead of the source's R'G'B'", bool,
           default=False),
    Option("matrix", "Y'CbCr matrix: 601, 709, 2020, 240m, fcc, ...", metavar="M",
           helps={"convert": "override the Y'CbCr matrix: 601, 709, 2020, 240m, fcc, ...",
                  "compress": "matrix of headerless dumps (601, 709, 2020, ...) for their new "
                              "header; wins over scene.json"}),
    Option("range", "quantisation range: limited or full", metavar="R",
           helps={"convert": "override the quantisation range: limited or full",
                  "compress": "range that goes with --matrix (default: limited)"}),
    Option("reinterpret", "repair an RGB screenshot rendered with the wrong matrix, e.g. "
           "601:709 (re-encode with USED, decode with CORRECT)", metavar="USED:CORRECT"),
    # --- scene
    Option("animation", "separate animation frames (writes OUT-NN.png and an APNG)",
           default="off", metavar="auto|off|N", parse=_animation, group="scene"),
    Option("logo", "remove a static overlay (detected, or this mask PNG)", default="off",
           metavar="auto|off|FILE", path="in", group="scene"),
    Option("extract_overlay", "write the static overlay as RGBA PNG", metavar="FILE",
           path="out", group="scene"),
    Option("lighting", "compensate per-frame brightness changes (fades, flashes, flicker): "
           "auto (default) only where the frames' lighting measurably changes", Lighting,
           default="auto", group="scene"),
    Option("foreground", "moving foreground (characters): left out where other frames see "
           "the background (remove, default), or pasted sharp from one frame (keep; FRAME = "
           "input frame index, default the middle frame)", default="remove",
           metavar="remove|keep[:FRAME]", parse=_foreground, group="scene"),
    Option("overlays", "screen-fixed overlays (logos, bars): left out or un-blended (remove, "
           "default), or pasted from the kept frame (keep)", Overlays, default="remove",
           group="scene"),
    # --- restoration
    Option("scale", "super-resolution factor (> 1, at most 8)", float, metavar="S",
           parse=_scale, group="restoration"),
    Option("deconvolve", "Richardson-Lucy deblur", metavar="SIGMA[:ITERS]",
           parse=_deconvolve, group="restoration"),
    Option("mosaic", "recover detail under a mosaic censor", Mosaic, default="off",
           group="restoration"),
    Option("jpeg", "JPEG inputs: DCT-constraint estimation", bool, default=False,
           group="restoration"),
    Option("save_project", "write an Overmix project (.xml.overmix)", metavar="FILE",
           path="out", parse=_project, group="restoration"),
    # --- dump, compress, preview, info
    Option("compress", "plane compression (default zlib)", Compression, default="zlib"),
    Option("to", "target compression (default: xz)", Compression, default="xz"),
    Option("level", "zlib level 0-9 (default 1: on video noise it compresses within 1%% of "
           "level 6 at ~10-25x the speed) or xz preset 0-9, 0e-9e (default 6)", metavar="L",
           parse=_level_value, word=_level,
           helps={"compress": "zlib level 0-9 / xz preset 0-9 or 0e-9e (default 6); with "
                              "--level, files already in the target compression are "
                              "recompressed too"}),
    Option("jobs", "parallel workers (default: number of CPU cores)", int, short="-j",
           metavar="N", low=1),
    Option("workers", "compression threads", int, metavar="N", low=1, hidden=True,
           helps={"batch run": "worker processes of the local cluster (default: CPU count)"}),
    Option("every", "one thumbnail per N frames (default 1)", int, default=1, metavar="N",
           low=1),
    Option("columns", "thumbnails per row (default 8)", int, default=8, metavar="C", low=1),
    Option("thumb_width", "thumbnail width in pixels (default 160)", int, default=160,
           metavar="W", low=8, high=4096),
    Option("verify", "dumps: decode every payload too (slower; finds corrupt data)",
           bool, default=False),
    Option("scenes", "videos: list scene cuts (decodes the whole stream)", bool,
           default=False),
    Option("force", "write into a non-empty output folder", bool, default=False,
           helps={"compress": "recompress files that already use the target compression",
                  "batch run": "run every task, also those the manifest lists as done"}),
    Option("json", "print the result as JSON on stdout", bool, default=False, cli_only=True),
    # --- batch
    Option("scheduler", "Dask scheduler to use, e.g. tcp://host:8786 (default: a local "
           "cluster)", metavar="ADDRESS"),
    Option("log", "append a JSON-lines log of the run here", metavar="FILE"),
)}

# the input-selection options: the keywords of open_source / open_video (overmix.inputs)
INPUT = tuple(f.name for f in fields(InputOptions))
ALIGN = ("motion", "canvas_scale", "mask", "border", "strict")
# the options of `overmix stitch`, in --help order (`overmix align` takes INPUT and ALIGN)
STITCH_CLI = (*INPUT, "memory_budget", *ALIGN, "render", "offsets", "save_offsets", "depth",
              "dither", "chroma", "kernel", "animation", "logo", "extract_overlay", "lighting",
              "foreground", "overlays", "scale", "deconvolve", "mosaic", "jpeg", "save_project")
# the fields of StitchOptions: the stitch options and those only the Python API sets
STITCH = (*STITCH_CLI, "chroma_filter", "tile_budget", "tmp_dir")

# commands whose --help shows the options in titled sections (Option.group)
SECTIONED = ("stitch",)

COMMAND_OPTIONS: dict[str, tuple[str, ...]] = {
    "info": ("json", "verify", "scenes", "stream"),
    "dump": ("start", "end", "frames", "scene", "ivtc", "field_order", "dedup",
             "dedup_threshold", "compress", "level", "stream", "force", "workers"),
    "convert": ("frame", "all", "start", "end", "depth", "dither", "matrix", "range",
                "chroma_filter", "linear", "ivtc", "stream", "reinterpret", "force"),
    "align": (*INPUT, "memory_budget", *ALIGN, "json"),
    "stitch": (*STITCH_CLI, "json"),
    "preview": ("every", "start", "end", "columns", "thumb_width", "ivtc", "dedup", "json"),
    "compress": ("to", "level", "matrix", "range", "jobs", "force", "json"),
    "batch plan": ("json",),
    "batch run": ("scheduler", "workers", "log", "force", "json"),
}


# ----------------------------------------------------------------------------- StitchOptions


def _check(self: Any) -> Any:
    """Convert every value to its option's kind and check it (:class:`UsageError` with the
    command-line message otherwise); returns self."""
    for f in fields(self):
        setattr(self, f.name, check_value(OPTIONS[f.name], getattr(self, f.name)))
    if self.scale is not None and self.mosaic != "off":
        raise UsageError("--scale and --mosaic cannot be combined (recover the mosaic first, "
                         "then super-resolve its output)")
    if self.motion in ("zoom", "similarity") and translation_only_features(self):
        raise UsageError(f"--motion {self.motion} cannot be combined with "
                         f"{', '.join(translation_only_features(self))} (they need a "
                         "translation-only motion)")
    return self


def _field(name: str) -> tuple[str, Any, Any]:
    o = OPTIONS[name]
    kind = o.kind if o.kind is not str else (str | os.PathLike[str] if o.path else str)
    return name, kind | None if o.default is None else kind, field(default=o.default)


StitchOptions = make_dataclass(
    "StitchOptions", [_field(n) for n in STITCH], namespace={"check": _check},
)
StitchOptions.__module__ = __name__
StitchOptions.__doc__ = (
    "Every ``overmix stitch`` option plus the input selection: one field per name of "
    ":data:`STITCH`, with the default, type and help of its :class:`Option` in "
    ":data:`OPTIONS`. :meth:`check` validates (and converts to the enums) in place.")


def translation_only_features(opts: Any) -> list[str]:
    """The options given whose stages handle translated frames only (not zoom/rotation)."""
    given = {"animation": str(opts.animation) != "off", "logo": opts.logo != "off",
             "extract_overlay": bool(opts.extract_overlay),
             # auto (the default) leaves zoomed or rotated frames as they are
             "lighting": opts.lighting == "on",
             "scale": opts.scale is not None, "mosaic": opts.mosaic != "off",
             "jpeg": bool(opts.jpeg)}
    return [OPTIONS[name].cli_flag for name, on in given.items() if on]


def align_motion(opts: Any) -> str:
    """The motion model handed to the aligner: ``auto`` is translation only (``xy``) when an
    option needs translated frames (:func:`translation_only_features`)."""
    if opts.motion == "auto" and translation_only_features(opts):
        return "xy"
    return str(opts.motion)


def source_options(opts: Any) -> dict[str, Any]:
    """The input-selection options of ``opts`` as keywords of ``open_source``."""
    return {name: getattr(opts, name) for name in INPUT}


# ----------------------------------------------------------------------------- argparse


def add_options(parser: argparse.ArgumentParser, command: str) -> None:
    """Add the options of ``command`` (a key of :data:`COMMAND_OPTIONS`) to ``parser``;
    grouped options go into titled argument groups, ``exclusive`` ones into a mutually
    exclusive group."""
    groups: dict[str, Any] = {}
    for name in COMMAND_OPTIONS[command]:
        o = OPTIONS[name]
        if not o.cli_flag:
            continue
        target: Any = parser
        if o.exclusive and o.exclusive not in groups:
            groups[o.exclusive] = parser.add_mutually_exclusive_group()
        section = o.group if command in SECTIONED else None
        if section and section not in groups and not o.exclusive:
            groups[section] = parser.add_argument_group(section)
        if o.exclusive or section:
            target = groups[o.exclusive or section]  # type: ignore[index]
        flags = [o.cli_flag] + ([o.short] if o.short else [])
        help_ = argparse.SUPPRESS if o.hidden and command not in o.helps else \
            o.helps.get(command, o.help)
        kw: dict[str, Any] = {"dest": name, "help": help_}
        if o.kind is bool:
            target.add_argument(*flags, action="store_true", **kw)
            continue
        kw["default"] = None
        if o.metavar:
            kw["metavar"] = o.metavar
        if o.choices:
            kw["choices"] = o.choices
        if o.word is not None:
            kw["type"] = o.word
        elif o.kind in (int, float):
            kw["type"] = finite_float if o.kind is float else int
        target.add_argument(*flags, **kw)


def command_options(command: str, given: Mapping[str, Any], *,
                    cli: bool = False) -> dict[str, Any]:
    """The options of ``command``: ``given`` ones converted and checked
    (:func:`check_value`), the others at their defaults. Unknown names are a
    :class:`UsageError`; ``cli`` includes the options that only the CLI has (``json``)."""
    names = [n for n in COMMAND_OPTIONS[command] if cli or not OPTIONS[n].cli_only]
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise UsageError(f"unknown option(s) for {command}: {', '.join(unknown)}")
    return {n: OPTIONS[n].default if given.get(n) is None else check_value(OPTIONS[n], given[n])
            for n in names}


def check_namespace(args: argparse.Namespace, command: str) -> dict[str, Any]:
    """The parsed options of ``command`` (:func:`command_options` with the CLI's ones)."""
    given = {n: getattr(args, n, None) for n in COMMAND_OPTIONS[command]
             if OPTIONS[n].cli_flag}
    return command_options(command, given, cli=True)


def stitch_options(args: argparse.Namespace | Mapping[str, Any],
                   command: str = "stitch") -> Any:
    """:class:`StitchOptions` from parsed ``stitch``/``align`` arguments or API keywords."""
    if isinstance(args, argparse.Namespace):
        values = check_namespace(args, command)
    else:
        values = dict(args)
        unknown = sorted(set(values) - set(STITCH))
        if unknown:
            raise UsageError(f"unknown option(s) for {command}: {', '.join(unknown)}")
    return StitchOptions(**{k: v for k, v in values.items() if k in STITCH}).check()


# ----------------------------------------------------------------------------- batch


def check_command_options(command: str, options: Mapping[str, Any],
                          fixed: Sequence[str] = ()) -> None:
    """Check ``options`` of ``command`` as its command line would: the same parser (unknown
    options, choices, numbers) and the same range checks, so the same messages. ``fixed``
    are words the caller adds itself (``-o OUT``, ``--start``, ...)."""
    parser = Refuse(prog=f"overmix {command}", add_help=False)
    add_options(parser, command)
    args = parser.parse_args([*fixed, *options_argv(options)])
    if command in _VIDEO:
        stitch_options(args, command)
    else:
        check_namespace(args, command)

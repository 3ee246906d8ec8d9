"""The options of the commands (DESIGN §7).

:class:`StitchOptions` holds every ``overmix stitch`` option plus the input selection.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from overmix.errors import UsageError
from overmix.io.store import DEFAULT_BUDGET
from overmix.render.names import RENDERS

MOTIONS = ("xy", "x", "y", "zoom", "similarity", "auto")


@dataclass
class StitchOptions:
    """Every ``overmix stitch`` option (DESIGN §7), plus the input selection.

    Input: ``start``, ``end`` (frame index or time), ``frames`` (max count), ``ivtc``
    (auto|on|off), ``field_order``, ``dedup``, ``dedup_threshold``, ``stream``.
    Geometry: ``offsets`` (read from JSON instead of aligning), ``save_offsets``, ``motion``
    (xy|x|y|zoom|similarity|auto), ``canvas_scale`` (canvas pixel pitch in frame-0 pixels;
    default the sharpest frame's), ``mask`` (PNG, white = ignore), ``border`` (luma px ignored
    at frame edges).
    Render: ``render`` (one of :data:`~overmix.render.stack.RENDERS`), ``kernel``
    (cubic|lanczos3), ``chroma`` (native: chroma canvas at the source subsampling; full: 4:4:4).
    Scene: ``animation`` (auto|off|N), ``logo`` (auto|off|PNG), ``extract_overlay`` (PNG path),
    ``lighting`` (auto|off|on).
    Restoration: ``scale`` (super-resolution factor), ``deconvolve`` (``SIGMA[:ITERS]``),
    ``mosaic`` (auto|off), ``jpeg``.
    Output: ``depth`` (8|16, default 16 for sources deeper than 8 bits), ``dither``,
    ``chroma_filter`` (chroma upsampling for RGB output), ``save_project``.
    Resources: ``memory_budget`` (bytes of decoded frames kept in memory), ``tile_budget``
    (bytes of frame stacks for the statistics renders), ``tmp_dir``.
    """

    start: str | int | float | None = None
    end: str | int | float | None = None
    frames: int | None = None
    ivtc: str = "auto"
    field_order: str | None = None
    dedup: bool = False
    dedup_threshold: float | None = None
    stream: int | None = None
    offsets: str | os.PathLike[str] | None = None
    save_offsets: str | os.PathLike[str] | None = None
    motion: str = "auto"
    canvas_scale: float | None = None
    mask: str | os.PathLike[str] | None = None
    border: int = 0
    render: str = "average"
    kernel: str = "cubic"
    chroma: str = "native"
    animation: str = "off"
    logo: str = "off"
    extract_overlay: str | os.PathLike[str] | None = None
    lighting: str = "off"
    scale: float | None = None
    deconvolve: str | None = None
    mosaic: str = "off"
    jpeg: bool = False
    depth: int | None = None
    dither: bool = False
    chroma_filter: str = "bilinear"
    save_project: str | os.PathLike[str] | None = None
    memory_budget: int = DEFAULT_BUDGET
    tile_budget: int = 256 * 1024 * 1024
    tmp_dir: str | os.PathLike[str] | None = None

    def check(self) -> StitchOptions:
        """Raise :class:`UsageError` for values out of range; returns self."""
        if self.render not in RENDERS:
            raise UsageError(f"unknown render {self.render!r} (use {', '.join(RENDERS)})")
        if self.motion not in MOTIONS:
            raise UsageError(f"--motion must be one of {', '.join(MOTIONS)} "
                             f"(got {self.motion!r})")
        if self.canvas_scale is not None and not (0.05 <= self.canvas_scale <= 20):
            raise UsageError(f"--canvas-scale must be in [0.05, 20] (got {self.canvas_scale})")
        if self.motion in ("zoom", "similarity") and translation_only_features(self):
            raise UsageError(f"--motion {self.motion} cannot be combined with "
                             f"{', '.join(translation_only_features(self))} (they need a "
                             "translation-only motion)")
        if self.border < 0:
            raise UsageError(f"--border must be >= 0 (got {self.border})")
        if self.chroma not in ("native", "full"):
            raise UsageError(f"--chroma must be native or full (got {self.chroma!r})")
        if self.depth is not None and self.depth not in (8, 16):
            raise UsageError(f"--depth must be 8 or 16 (got {self.depth})")
        if self.lighting not in ("auto", "off", "on"):
            raise UsageError(f"--lighting must be auto, off or on (got {self.lighting!r})")
        if self.mosaic not in ("auto", "off"):
            raise UsageError(f"--mosaic must be auto or off (got {self.mosaic!r})")
        a = str(self.animation)
        if a not in ("auto", "off") and not (a.isdigit() and int(a) >= 1):
            raise UsageError(f"--animation must be auto, off or a count >= 1 (got {a!r})")
        if self.scale is not None and not self.scale > 0:
            raise UsageError(f"--scale must be > 0 (got {self.scale})")
        return self


def translation_only_features(opts: StitchOptions) -> list[str]:
    """The options given whose stages handle translated frames only (not zoom/rotation)."""
    out = []
    if str(opts.animation) != "off":
        out.append("--animation")
    if opts.logo != "off":
        out.append("--logo")
    if opts.extract_overlay:
        out.append("--extract-overlay")
    if opts.lighting != "off":
        out.append("--lighting")
    if opts.scale is not None:
        out.append("--scale")
    if opts.mosaic != "off":
        out.append("--mosaic")
    if opts.jpeg:
        out.append("--jpeg")
    return out


def align_motion(opts: StitchOptions) -> str:
    """The motion model handed to the aligner: ``auto`` is translation only (``xy``) when an
    option needs translated frames (:func:`translation_only_features`)."""
    if opts.motion == "auto" and translation_only_features(opts):
        return "xy"
    return opts.motion

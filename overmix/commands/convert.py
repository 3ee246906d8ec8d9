"""``overmix convert``: frames → colour-accurate 8/16-bit PNGs.

One frame (``frame``, default the first) goes to the file ``output``. ``all`` or a range
(``start``/``end``) writes a folder of PNGs named by frame index (``000042.png``); a range
into an output named ``*.png`` (and not ``all``) writes the range's first frame there.
Colour comes from the source (``scene.json`` → dump header → untagged rules for dumps; stream
tags for videos); ``matrix``/``range`` override it.

``reinterpret=(USED, CORRECT)`` repairs RGB screenshots a player rendered with the wrong
matrix: the pixels are re-encoded to Y'CbCr with USED (the matrix the player wrongly applied)
and decoded with CORRECT. ``601:709`` fixes an HD screenshot decoded as BT.601 (old VLC);
``709:601`` the reverse.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from overmix.atomic import check_input, register_input
from overmix.color.convert import frame_to_image
from overmix.color.spec import Matrix, Range, luma_coefficients
from overmix.commands.paths import check_output_file, check_output_folder, make_folder
from overmix.errors import InputError, RangeError, UsageError
from overmix.frame import Family, Frame
from overmix.io import png
from overmix.io.sources import open_source
from overmix.progress import ProgressCallback, no_progress
from overmix.ranges import parse_position

__all__ = ["ConvertResult", "convert", "parse_reinterpret"]

PathLike = str | os.PathLike[str]


@dataclass
class ConvertResult:
    """What :func:`convert` wrote: the files, whether into a folder, and the first frame with
    its picture (for a description)."""

    written: list[Path]
    folder: bool
    frame: Frame
    image: np.ndarray


@dataclass(frozen=True)
class _Colour:
    """The colour options, parsed: overrides and the reinterpretation pair."""

    matrix: Matrix | None
    range: Range | None
    reinterpret: tuple[Matrix, Matrix] | None
    depth: int | None
    dither: bool
    chroma_filter: str
    linear: bool

    def image(self, frame: Frame) -> np.ndarray:
        return frame_to_image(
            self.recolor(frame), depth=self.depth, dither=self.dither,
            chroma_filter=self.chroma_filter, linear=self.linear,
            reinterpret_from=self.reinterpret,
        )

    def recolor(self, frame: Frame) -> Frame:
        """Apply the matrix/range overrides to one frame."""
        changes: dict[str, object] = {}
        if self.matrix is not None:
            if frame.layout.family != Family.YCBCR:
                raise UsageError(f"--matrix applies to Y'CbCr sources; this one is "
                                 f"{frame.layout.family.value}")
            changes["matrix"] = self.matrix
        if self.range is not None:
            changes["range"] = self.range
        if self.reinterpret is not None and frame.layout.family != Family.RGB:
            raise UsageError("--reinterpret applies to RGB inputs such as PNG screenshots; use "
                             "--matrix for Y'CbCr sources")
        return frame.replace(color=frame.color.with_(**changes)) if changes else frame


def parse_reinterpret(text: str) -> tuple[Matrix, Matrix]:
    """``USED:CORRECT`` (e.g. ``601:709``) as two Y'CbCr matrices."""
    parts = text.split(":")
    if len(parts) != 2 or not all(parts):
        raise UsageError(f"--reinterpret wants USED:CORRECT such as 601:709, not {text!r}")
    try:
        used, correct = Matrix.parse(parts[0]), Matrix.parse(parts[1])
    except InputError as exc:
        raise UsageError(f"--reinterpret: {exc}") from None
    if used in (Matrix.RGB, Matrix.GRAY) or correct in (Matrix.RGB, Matrix.GRAY):
        raise UsageError("--reinterpret takes two Y'CbCr matrices, e.g. 601:709")
    if luma_coefficients(used) == luma_coefficients(correct):
        # 601 = BT470BG = 170M (same Kr, Kb): the repair would be the identity
        raise UsageError(f"--reinterpret {text}: both sides name the same matrix "
                         f"(Kr, Kb = {luma_coefficients(used)}), nothing to repair")
    return used, correct


def _colour(matrix: str | None, range: str | None, reinterpret: str | None, depth: int | None,
            dither: bool, chroma_filter: str, linear: bool) -> _Colour:
    try:
        m = Matrix.parse(matrix) if matrix else None
        r = Range.parse(range) if range else None
    except InputError as exc:
        raise UsageError(str(exc)) from None
    if m == Matrix.GRAY:
        raise UsageError("--matrix gray is not a conversion; use a Y'CbCr matrix")
    pair = parse_reinterpret(reinterpret) if reinterpret else None
    return _Colour(m, r, pair, depth, dither, chroma_filter, linear)


def convert(input: PathLike, output: PathLike, *, frame: str | int | float | None = None,
            all: bool = False, start: str | int | float | None = None,
            end: str | int | float | None = None, depth: int | None = None,
            dither: bool = False, matrix: str | None = None, range: str | None = None,
            chroma_filter: str = "bilinear", linear: bool = False, ivtc: str = "auto",
            stream: int | None = None, reinterpret: str | None = None, force: bool = False,
            progress: ProgressCallback = no_progress) -> ConvertResult:
    """Convert one frame, or every frame of a range (``all``), to PNG (see module docstring)."""
    colour = _colour(matrix, range, reinterpret, depth, dither, chroma_filter, linear)
    position = None
    if frame is not None:
        position = parse_position(frame)  # UsageError when invalid or negative
        if start is not None or end is not None:
            raise UsageError("--frame cannot be combined with --start/--end")
    inp, out = Path(input), Path(output)
    check_input(inp)  # missing, FIFO, device: one line, never a blocked read
    register_input(inp)  # no output may land on it (overmix.atomic)
    ranged = start is not None or end is not None
    # A range writes a folder, except into a file named *.png (then its first frame).
    if all or (ranged and out.suffix.lower() != ".png"):
        not_in = [inp, inp.parent] if inp.is_file() else [inp]
        create = check_output_folder(out, force=force, not_in=not_in)
        return _convert_many(inp, out, create, colour, start, end, ivtc, stream, progress)
    check_output_file(out, inputs=[inp], suffixes=(".png",),
                      folder_hint=" (use --all to write a folder of PNGs)")
    if ranged:
        at, n = (start, end), start or 0
    else:
        n = position or 0
        at = (n, None)
    try:
        src = open_source(inp, start=at[0], end=at[1], frames=1, ivtc=ivtc, stream=stream)
    except RangeError as exc:
        raise RangeError(f"frame {n} is out of range: {exc}") from None
    with src:
        first = next(iter(src), None)
    if first is None:
        raise RangeError(f"frame {n} is out of range: the input has no frame there")
    image = colour.image(first)
    png.write_png(out, image)
    return ConvertResult([out], False, first, image)


def _convert_many(inp: Path, out: Path, create: bool, colour: _Colour, start: object,
                  end: object, ivtc: str, stream: int | None,
                  progress: ProgressCallback) -> ConvertResult:
    """Every frame of the range into the folder ``out``; nothing is left behind on error.

    A pipeline over the cores: this thread decodes (FFmpeg's own threads) and converts
    (the colour kernel on two row bands) frame k + 1 while a writer thread filters and
    deflates frame k's PNG (ISA-L releases the GIL); at most :data:`_WRITES_AHEAD` pictures
    wait for the writer, so memory stays bounded.
    """
    jobs: list[tuple[Path, Future[Path]]] = []
    first: tuple[Frame, np.ndarray] | None = None
    ok = False
    try:
        src = open_source(inp, start=start, end=end, ivtc=ivtc, stream=stream)
        if create:
            make_folder(out)
        with src, ThreadPoolExecutor(1, thread_name_prefix="overmix-png") as writer:
            total = getattr(src, "count", None)
            done = 0
            for frame in src:
                image = colour.image(frame)
                path = out / f"{int(frame.index):06d}.png"
                jobs.append((path, writer.submit(png.write_png, path, image)))
                first = first or (frame, image)
                del image
                while len(jobs) - done > _WRITES_AHEAD:
                    jobs[done][1].result()  # a write error ends the run here
                    done += 1
                    progress("convert", done, total)
            for _, job in jobs[done:]:
                job.result()
                done += 1
                progress("convert", done, total)
        if not jobs:
            raise RangeError("the range selects no frame")
        ok = True
    finally:
        if not ok:  # the writer has finished (the pool is closed): remove what it wrote
            for path, job in jobs:
                if job.done() and not job.cancelled() and job.exception() is None:
                    path.unlink(missing_ok=True)
            if create and out.is_dir() and not any(out.iterdir()):
                shutil.rmtree(out, ignore_errors=True)
    assert first is not None
    return ConvertResult([p for p, _ in jobs], True, *first)


# Pictures converted ahead of the PNG writer (each is one frame's RGB codes).
_WRITES_AHEAD = 2

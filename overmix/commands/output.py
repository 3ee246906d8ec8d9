"""Writing what a stitch made: the canvas (PNG through the colour pipeline, or a dump of
Y'CbCr codes), the extracted overlay and the Overmix project."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from overmix.color.convert import output_depth
from overmix.color.spec import ColorInfo
from overmix.commands.options import StitchOptions
from overmix.commands.paths import check_output_file
from overmix.commands.stages import OverlayInfo, positions
from overmix.frame import Family
from overmix.geometry import Canvas, Offsets
from overmix.io.dumps import write_frame
from overmix.io.png import write_apng, write_png, write_png_strips
from overmix.io.store import FrameStore
from overmix.render.picture import canvas_frame, canvas_image, image_strips
from overmix.render.stack import RenderResult

STITCH_SUFFIXES = (".png", ".dump")


@dataclass
class StitchResult:
    """What :func:`stitch` produced.

    Attributes
    ----------
    renders : list of RenderResult
        One canvas per animation frame (one when there is no animation), working planes.
    offsets : Offsets
        The offsets used (``anim`` holds the animation frame of each).
    canvas : Canvas
    color : ColorInfo
        Colour of the source (and of the canvas planes).
    summary : dict
        ``frames`` (used), ``input_frames``, ``canvas`` (``{x, y, width, height}``), ``render``,
        ``residual_px`` (alignment residual RMS, px, when aligned), ``disagreement``
        (RMS per-pixel std of Y' across frames, working units), ``holes``, ``animation_frames``,
        ``timings`` (seconds per stage), ``outputs`` (files written), ``used_frames`` and
        ``left_out`` (``{index, reason}``) when aligned, ``masks`` (what did not follow the
        background: :meth:`~overmix.registration.masks.SceneMasks.summary`).
    masks : SceneMasks or None
        Per-frame overlay / foreground masks found while aligning, addressed by store
        position (:func:`~overmix.commands.stages.positions` maps offsets rows to them);
        None when the offsets were read from a file.
    """

    renders: list[RenderResult]
    offsets: Offsets
    canvas: Canvas
    color: ColorInfo
    summary: dict[str, object] = field(default_factory=dict)
    masks: object | None = None

    @property
    def planes(self) -> tuple[np.ndarray, ...]:
        """Working planes of the (first) canvas."""
        return self.renders[0].planes


def write_overlay(info: OverlayInfo | None, store: FrameStore, path: str | os.PathLike[str],
                  opts: StitchOptions) -> Path:
    """``--extract-overlay``: the overlay as an RGBA PNG (colour through the colour pipeline,
    alpha = estimated opacity; fully transparent where there is no overlay)."""
    assert store.shape is not None and store.layout is not None and store.color is not None
    h, w = store.shape
    depth = output_depth(store.color.bit_depth, opts.depth)
    top = (1 << depth) - 1
    if info is None or info.color is None or info.alpha is None:
        img = np.zeros((h, w, 4), np.uint8 if depth <= 8 else np.uint16)
    else:
        res = RenderResult(tuple(info.color), store.layout, store.color,
                           np.ones((h, w), np.float32), Canvas(0.0, 0.0, w, h), "overlay")
        rgb = canvas_image(res, depth=depth, chroma_filter=opts.chroma_filter)
        if rgb.ndim == 2:
            rgb = np.repeat(rgb[..., None], 3, axis=2)
        a = np.clip(np.rint(info.alpha.astype(np.float64) * top), 0, top).astype(rgb.dtype)
        img = np.concatenate([rgb[..., :3], a[..., None]], axis=2)
    return write_png(path, img)


def write_project(store: FrameStore, offsets: Offsets, path: str | os.PathLike[str],
                  ignore: np.ndarray | None = None) -> Path:
    """``--save-project``: an Overmix project (:mod:`overmix.io.project`) referencing the
    input dumps, or dumps of the frames written next to it; ``ignore`` becomes its mask."""
    pos = positions(store, offsets)
    use = None if ignore is None or not ignore.any() else ~ignore
    from overmix.io.project import save_project  # lazy: xml.etree, only for a project

    return save_project(path, offsets, (store.frame(p) for p in pos), use_mask=use,
                        animation=len(set(offsets.anim)) > 1)


def project_drops(offsets: Offsets) -> list[str]:
    """What an Overmix project cannot hold of these offsets (the summary warns about it).

    Overmix places images by their offset only; it neither aligns nor renders zoom or
    rotation (Overmix issue #146), so the project gets each frame's offset ``(x, y)`` (the
    position of its pixel (0, 0), exact) with rotation 0 and zoom 1; the canvas pitch is lost
    too.
    """
    out = []
    if offsets.has_transform:
        out.append("the Overmix project keeps each frame's offset only: its zoom/rotation "
                   f"(scale {offsets.scales.min():.5g}-{offsets.scales.max():.5g}, angle "
                   f"{offsets.angles.min():.4g}-{offsets.angles.max():.4g} deg) is dropped, "
                   "Overmix cannot render it")
    if offsets.pitch != 1.0:
        out.append(f"the Overmix project has no canvas scale (here {offsets.pitch:.5g}); "
                   "Overmix renders at frame 0's pixel size")
    return out


def write_output(result: StitchResult, path: str | os.PathLike[str], opts: StitchOptions,
                 ) -> list[Path]:
    """Write the stitched canvas(es): ``.png`` through the colour pipeline, ``.dump`` as
    Y'CbCr codes. With several animation frames: ``OUT-00.png``, ``OUT-01.png``, ... and an
    animated ``OUT.png`` (APNG). Returns the files written."""
    path = check_output_file(path, suffixes=STITCH_SUFFIXES)
    dump = path.suffix.lower() == ".dump"
    depth = output_depth(result.color.bit_depth, opts.depth)
    renders = result.renders
    if len(renders) == 1:
        if dump:
            write_frame(path, canvas_frame(renders[0]))
        else:
            write_canvas_png(path, renders[0], depth, opts)
        return [path]
    written: list[Path] = []
    images = []
    for a, res in enumerate(renders):
        target = path.with_name(f"{path.stem}-{a:02d}{path.suffix}")
        if dump:
            write_frame(target, canvas_frame(res))
        else:
            img = canvas_image(res, depth=depth, dither=opts.dither,
                               chroma_filter=opts.chroma_filter)
            write_png(target, img)
            images.append(img)
        written.append(target)
    if not dump:
        write_apng(path, images, 120)
        written.append(path)
    return written


def write_canvas_png(path: Path, res: RenderResult, depth: int, opts: StitchOptions) -> Path:
    """One canvas as a PNG, streamed: the integer picture never exists whole."""
    h, w = res.planes[0].shape
    gray = res.layout.family == Family.GRAY
    channels = (1 if gray else 3) + (1 if res.has_holes else 0)
    return write_png_strips(path, w, h, channels, depth,
                            image_strips(res, depth=depth, dither=opts.dither,
                                         chroma_filter=opts.chroma_filter))

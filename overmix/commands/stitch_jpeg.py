"""``overmix stitch --jpeg``: one picture estimated from the DCT coefficients of JPEG files
(overmix.restore.jpeg)."""

from __future__ import annotations

import os
import time

import numpy as np

from overmix.color.untagged import jfif_color
from overmix.commands.options import StitchOptions, align_motion
from overmix.commands.output import StitchResult, write_output
from overmix.errors import InputError
from overmix.frame import Family, PlaneLayout
from overmix.geometry import Offsets
from overmix.progress import ProgressCallback, no_progress
from overmix.registration import align
from overmix.render.stack import RenderResult
from overmix.restore.jpeg import JpegLumas, estimate_from_jpegs, jpeg_paths

__all__ = ["stitch_jpeg"]


def stitch_jpeg(input_path: str | os.PathLike[str], opts: StitchOptions,
                progress: ProgressCallback = no_progress, *,
                output: str | os.PathLike[str] | None = None) -> StitchResult:
    """``--jpeg``: INPUT is a JPEG file or a folder of JPEGs of one picture; estimate the
    picture from every file's DCT coefficients (overmix.restore.jpeg). ``--offsets`` places
    shifted files (``index`` = position in name order); otherwise files of one size are
    aligned (offsets rounded to whole pixels) and files of different sizes are refused."""
    t = time.perf_counter()
    paths = jpeg_paths(input_path)
    xy = None
    if opts.offsets is not None:
        off = Offsets.load(opts.offsets)
        where = {i: k for k, i in enumerate(off.indices)}
        if sorted(where) != list(range(len(paths))):
            raise InputError(f"the offsets must list the {len(paths)} JPEG files as indices "
                             f"0-{len(paths) - 1}")
        xy = np.array([off.xy[where[i]] for i in range(len(paths))])
    if xy is None and len(paths) > 1:
        # shifted copies: align their decoded luma, JPEG crops move by whole pixels
        lumas = JpegLumas([str(p) for p in paths])
        if len(set(lumas.shapes)) == 1:
            xy = np.round(align(lumas, motion=align_motion(opts), border=opts.border,
                                progress=progress).xy)
    est = estimate_from_jpegs([str(p) for p in paths], offsets=xy, progress=progress)
    color = jfif_color(len(est.planes))
    fam = Family.YCBCR if len(est.planes) == 3 else Family.GRAY
    holes = int((est.weight <= 0).sum())
    res = RenderResult(est.planes, PlaneLayout(fam, 1, 1), color, est.weight, est.canvas,
                       "jpeg", {"frames": len(paths), "holes": holes, "residual": 0.0,
                                "iterations": est.iterations})
    xy_used = np.zeros((len(paths), 2)) if xy is None else xy
    offsets = Offsets(xy_used, list(range(len(paths))), *est.frame_size)
    timings = {"jpeg": time.perf_counter() - t}
    summary: dict[str, object] = {
        "input_frames": len(paths), "frames": len(paths), "canvas": est.canvas.to_json(),
        "render": "jpeg", "holes": holes, "animation_frames": 1, "timings": timings,
    }
    result = StitchResult([res], offsets, est.canvas, color, summary)
    if output is not None:
        files = write_output(result, output, opts)
        summary["outputs"] = [str(f) for f in files]
    return result

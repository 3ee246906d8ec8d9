"""``--foreground keep[:FRAME]`` / ``--overlays keep`` (issue #12 item 3): one frame's
foreground and/or overlays pasted sharp over the clean still."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from overmix.commands.clean_plan import CleanPlan
from overmix.commands.options import StitchOptions, parse_foreground
from overmix.commands.stages import positions
from overmix.errors import UsageError
from overmix.geometry import Offsets
from overmix.io.store import FrameStore
from overmix.progress import ProgressCallback, no_progress
from overmix.render.clean_masks import LOGO_GROW, grow
from overmix.render.composite import paste_over
from overmix.render.stack import RenderResult, render

__all__ = ["keep_frame_row", "paste_kept"]


def keep_frame_row(offsets: Offsets, opts: StitchOptions) -> int:
    """Offsets row whose foreground/overlays ``keep`` pastes: ``--foreground keep:FRAME``
    (an input frame index), else the middle frame."""
    _, frame = parse_foreground(opts.foreground)
    if frame is None:
        return len(offsets) // 2
    if frame not in offsets.indices:
        raise UsageError(f"--foreground keep:{frame}: frame {frame} is not among the stitched "
                         f"frames ({offsets.indices[0]}-{offsets.indices[-1]})")
    return offsets.indices.index(frame)


def _kept_region(offsets: Offsets, plan: CleanPlan, row: int, fg_keep: bool,
                 ov_keep: bool) -> np.ndarray:
    """Row ``row``'s pixels to paste (bool (h, w)): its outliers that are not overlays
    (``fg_keep``) and/or the overlays grown by :data:`LOGO_GROW` (``ov_keep``)."""
    cons = plan.consensus
    out = None if cons is None else cons.outliers(row)
    assert offsets.frame_height and offsets.frame_width
    region = np.zeros((offsets.frame_height, offsets.frame_width), bool)
    static = np.zeros_like(region)
    if plan.overlay is not None:
        static |= grow(plan.overlay.mask, LOGO_GROW)
    if out is not None and fg_keep:
        region |= out & ~static
    if ov_keep:
        region |= static
    return region


def paste_kept(store: FrameStore, offsets: Offsets, opts: StitchOptions, plan: CleanPlan,
               res: RenderResult, progress: ProgressCallback = no_progress) -> RenderResult:
    """``--foreground keep`` / ``--overlays keep``: the frame's foreground (outliers that are
    not overlays) and/or overlays pasted onto the canvas from ONE frame, sharp (never
    averaged), over the clean background."""
    fg_keep = parse_foreground(opts.foreground)[0] == "keep"
    ov_keep = opts.overlays == "keep"
    if not (fg_keep or ov_keep):
        return res
    row = keep_frame_row(offsets, opts)
    region = _kept_region(offsets, plan, row, fg_keep, ov_keep)
    if not region.any():
        return res
    pos = positions(store, offsets)
    one = offsets.with_rows([row], anim=[0])
    keep = render(store, one, positions=[pos[row]], kernel=opts.kernel,
                  border=opts.border, full_chroma=opts.chroma == "full",
                  canvas=res.canvas, frame_weights=lambda k: region.astype(np.float32),
                  progress=progress)
    return replace(res, planes=tuple(paste_over(res.planes, keep.planes, keep.coverage)))

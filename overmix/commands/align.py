"""``overmix align``: the sub-pixel offsets of a pan's frames (DESIGN §7 offsets JSON).

The offsets are those a plain ``stitch`` renders with (its ``--save-offsets``): the same
stages (:func:`overmix.commands.placement.final_offsets`) up to the render."""

from __future__ import annotations

import os
from dataclasses import replace

from overmix.commands.options import StitchOptions
from overmix.commands.paths import check_not_input
from overmix.commands.placement import final_offsets
from overmix.commands.stages import loaded, settle_load_time
from overmix.commands.stitch import summarize
from overmix.geometry import Offsets
from overmix.progress import ProgressCallback, no_progress

__all__ = ["align_input"]


def align_input(input_path: str | os.PathLike[str], opts: StitchOptions | None = None,
                progress: ProgressCallback = no_progress, *,
                output: str | os.PathLike[str] | None = None,
                ) -> tuple[Offsets, dict[str, object]]:
    """Load and align an input; returns the offsets and a summary (frames, canvas, residual,
    lighting, timings); the offsets JSON is written to ``output`` when given."""
    opts = (opts or StitchOptions()).check()
    if output is not None:
        check_not_input([input_path, opts.mask], [output])
    timings: dict[str, float] = {}
    with loaded(input_path, opts, progress, timings) as (store, ignore):
        offsets, lighting = final_offsets(store, replace(opts, offsets=None), ignore,
                                          progress, timings)
        settle_load_time(store, timings)
        summary = summarize(store, offsets, None, timings)
        if lighting is not None:
            summary["lighting"] = lighting
    if output is not None:
        offsets.save(output)
    return offsets, summary

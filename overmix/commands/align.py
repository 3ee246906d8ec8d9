"""``overmix align``: the sub-pixel offsets of a pan's frames (DESIGN §7 offsets JSON)."""

from __future__ import annotations

import os
import time
from dataclasses import replace

from overmix.commands.options import StitchOptions
from overmix.commands.paths import check_not_input
from overmix.commands.stages import compute_offsets, loaded, settle_load_time
from overmix.commands.stitch import summarize
from overmix.geometry import Offsets
from overmix.io.loading import reading
from overmix.progress import ProgressCallback, no_progress

__all__ = ["align_input"]


def align_input(input_path: str | os.PathLike[str], opts: StitchOptions | None = None,
                progress: ProgressCallback = no_progress, *,
                output: str | os.PathLike[str] | None = None,
                ) -> tuple[Offsets, dict[str, object]]:
    """Load and align an input; returns the offsets and a summary (frames, canvas, residual,
    timings); the offsets JSON is written to ``output`` when given."""
    opts = (opts or StitchOptions()).check()
    if output is not None:
        check_not_input([input_path, opts.mask], [output])
    timings: dict[str, float] = {}
    with loaded(input_path, opts, progress, timings) as (store, ignore):
        t = time.perf_counter()
        opts_no_file = replace(opts, offsets=None)
        with reading(store):
            offsets = compute_offsets(store, opts_no_file, ignore, progress)
        timings["align"] = time.perf_counter() - t
        settle_load_time(store, timings)
        summary = summarize(store, offsets, None, timings)
    if output is not None:
        offsets.save(output)
    return offsets, summary

"""One OpenBLAS thread for overmix's process, unless the caller chose otherwise.

overmix runs its own threads, sized to the cores (decoding, the alignment's pool, the
render's crew), and keeps its matrix products small; OpenBLAS's own thread pool, started
when numpy loads, only competes with them: its idle thread spun ~0.1 s of CPU in every
720p stitch (6 % of the command's CPU time, on a 2-core machine), and products above its
threading threshold (the alignment's batched resampling of small frames) were split over
it. The variable must be set before numpy is imported (``overmix/__init__.py`` imports
this module first); a value already set, or a numpy already loaded, is left alone.
"""

from __future__ import annotations

import os
import sys

if "numpy" not in sys.modules:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

"""Names of the renders (``--render``), importable without loading numba."""

from __future__ import annotations

RENDERS = ("average", "median", "min", "max", "min-luma", "max-luma", "winsorized",
           "sigma-clip", "difference")

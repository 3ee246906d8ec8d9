"""Rendering placed frames onto one canvas (DESIGN §6 "Render").

- :mod:`overmix.render.canvas` — where each plane's samples sit (chroma siting kept);
- :mod:`overmix.render.resample` — separable sub-pixel kernels (numpy shifted-slice sums);
- :mod:`overmix.render.stack` — :func:`render`: average, median, min/max, by-luma, robust means,
  difference (shared types in :mod:`overmix.render.stack_base`, the average path in
  :mod:`overmix.render.stack_average`, the statistics renders in
  :mod:`overmix.render.stack_stats`, whose kernels in :mod:`overmix.render.stack_kernels` use
  numba);
- :mod:`overmix.render.lighting` — per-frame gain/offset (``--lighting``; cell means in
  :mod:`overmix.render.lighting_cells`, the fit in :mod:`overmix.render.lighting_fit`).

``render`` and ``RenderResult`` are loaded on first use (keeps ``import overmix.render`` light).
"""

from __future__ import annotations

from typing import Any

from overmix.render.names import RENDERS

__all__ = ["RENDERS", "RenderResult", "render"]


def __getattr__(name: str) -> Any:
    if name in ("render", "RenderResult"):
        from overmix.render import stack

        return getattr(stack, name)
    raise AttributeError(f"module 'overmix.render' has no attribute {name!r}")

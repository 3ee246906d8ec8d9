"""Rendering placed frames onto one canvas (DESIGN §6 "Render").

- :mod:`overmix.render.canvas` — where each plane's samples sit (chroma siting kept);
- :mod:`overmix.render.resample` — separable sub-pixel kernels (numba);
- :mod:`overmix.render.stack` — :func:`render`: average, median, min/max, by-luma, robust means,
  difference;
- :mod:`overmix.render.lighting` — per-frame gain/offset (``--lighting``).
"""

from __future__ import annotations

from overmix.render.stack import RENDERS, RenderResult, render

__all__ = ["RENDERS", "RenderResult", "render"]

"""One render pasted over another by its coverage (``--foreground keep`` /
``--overlays keep``): pure functions over the planes of :class:`overmix.render.stack.
RenderResult` (working units, float32, native plane sizes; coverage float32 (h, w) on the
luma grid)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["paste_over"]


def paste_over(planes: Sequence[np.ndarray], top: Sequence[np.ndarray],
               coverage: np.ndarray) -> list[np.ndarray]:
    """``planes`` with ``top`` blended over them where ``top`` covers the canvas
    (``out = (1 - a) · base + a · top``, ``a`` the coverage clipped to [0, 1], block-averaged
    onto subsampled chroma planes); new arrays, the inputs are left as they are."""
    out = [p.copy() for p in planes]
    a = np.clip(coverage, 0.0, 1.0)
    for i, p in enumerate(out):
        ai = a if p.shape == a.shape else _block_mean(a, p.shape)
        p *= 1.0 - ai
        p += ai * top[i]
    return out


def _block_mean(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Luma-grid weights onto a subsampled plane of ``shape`` (block means, edge padded)."""
    h, w = shape
    sy, sx = -(-a.shape[0] // h), -(-a.shape[1] // w)
    pad = np.pad(a, ((0, h * sy - a.shape[0]), (0, w * sx - a.shape[1])), mode="edge")
    return pad.reshape(h, sy, w, sx).mean(axis=(1, 3)).astype(np.float32)

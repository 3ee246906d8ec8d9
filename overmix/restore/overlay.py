"""Static overlays and TV logos: detect, estimate colour and alpha, remove.

A logo, a credit or a watermark stays fixed **in frame coordinates** while the camera pans the
background. Such pixels disagree with the background stitched from the other frames at the
same canvas place, whereas ordinary pixels agree with it (catalogue §6.4 "DiffRender"):

1. :func:`detect_static` — render the background on the canvas with the current mask left out,
   then for every frame pixel the mean absolute difference between the frame and that
   background seen from the frame's position. Static pixels stand out; the split is a two-class
   (Otsu) threshold on log differences, kept only when the upper class sits well above the
   noise level. Two or three rounds (mask -> background without it -> difference) clean the
   background of the overlay's own smear.
2. :func:`estimate_overlay` — a semi-transparent overlay composes as
   ``f_k = (1 - a) b_k + a c`` per pixel, with ``b_k`` the background that frame k shows there.
   The background comes from the canvas rendered without the overlay region (other frames see
   it uncovered). Per pixel, a straight-line fit of ``f`` against ``b`` across frames gives the
   slope ``1 - a`` and the intercept ``a c`` (one slope shared by the full-resolution planes).
   Only running sums are kept (frame-sized), so frames stream.
3. :func:`remove_overlay` — invert the composition, ``b = (f - a c) / (1 - a)``, where ``a`` is
   below ``alpha_max``; :func:`overlay_weights` gives the matching inverse-variance weights
   ``(1 - a)^2`` (0 where the overlay is opaque) so a render prefers frames that saw the pixel
   uncovered.

Steps 1 and 2 live in :mod:`overmix.restore.overlay_detect` and
:mod:`overmix.restore.overlay_estimate`; this module holds step 3.

Coordinates: offsets as in :mod:`overmix.geometry` (``frame_k(i, j) = frame_0(i + y_k, j +
x_k)``); canvas pixel (i, j) at frame-0 coordinates ``(canvas.x + j, canvas.y + i)``. Masks and
alpha are in frame coordinates at luma resolution. Values are working planes (float32, Y' in
[0, 1], Cb/Cr in [-0.5, 0.5], or R'G'B' in [0, 1]).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from overmix.restore.overlay_estimate import _bbox, _downsample_mean

__all__ = ["OverlayRemoved", "overlay_weights", "remove_overlay"]


def _upsample(a: np.ndarray, sx: int, sy: int, shape: tuple[int, int]) -> np.ndarray:
    """Nearest upsampling of a plane to luma resolution (for weights/alpha only)."""
    if (sx, sy) == (1, 1):
        return a
    return np.repeat(np.repeat(a, sy, axis=0), sx, axis=1)[: shape[0], : shape[1]]


def remove_overlay(frame_planes: Sequence[np.ndarray], color: Sequence[np.ndarray],
                   alpha: np.ndarray, *, alpha_max: float = 0.9) -> list[np.ndarray]:
    """Undo ``f = (1 - a) b + a c`` on one frame: ``b = (f - a c) / (1 - a)``.

    Parameters
    ----------
    frame_planes : sequence of ndarray
        Working planes of one frame (native resolution).
    color : sequence of ndarray
        Overlay colour per plane (from :func:`estimate_overlay`).
    alpha : ndarray (h, w) float32
        Overlay alpha at luma resolution.
    alpha_max : float
        Where ``a >= alpha_max`` the background cannot be recovered; those pixels are returned
        unchanged (give them weight 0, see :func:`overlay_weights`).

    Returns
    -------
    list of float32 ndarray, plane-shaped.
    """
    h, w = alpha.shape
    out = []
    scales = [(max(1, round(w / f.shape[1])), max(1, round(h / f.shape[0])))
              for f in frame_planes]
    y0, y1, x0, x1 = _bbox(alpha > 0, align=max(max(s) for s in scales))
    for (sx, sy), f, c in zip(scales, frame_planes, color, strict=True):
        f = np.array(f, dtype=np.float32)  # a copy: only the overlay's box changes
        r0, r1, c0, c1 = y0 // sy, -(-y1 // sy), x0 // sx, -(-x1 // sx)
        a = _downsample_mean(alpha[y0:y1, x0:x1], sx, sy, (r1 - r0, c1 - c0))
        fb, cb = f[r0:r1, c0:c1], np.asarray(c, np.float32)[r0:r1, c0:c1]
        ok = (a > 0) & (a < alpha_max)
        f[r0:r1, c0:c1] = np.divide(fb - a * cb, 1.0 - a, out=fb.copy(), where=ok)
        out.append(f)
    return out


def overlay_weights(alpha: np.ndarray, *, alpha_max: float = 0.9) -> np.ndarray:
    """Render weights after :func:`remove_overlay`: ``(1 - a)^2`` (the inverse noise gain of
    the inversion), 0 where ``a >= alpha_max``; frame coordinates, luma resolution."""
    a = np.asarray(alpha, np.float32)
    return np.where(a < alpha_max, (1.0 - a) ** 2, 0.0).astype(np.float32)


class OverlayRemoved:
    """A frame provider (e.g. a FrameStore) seen with a static overlay removed.

    ``planes(k)`` and ``luma(k)`` go through :func:`remove_overlay`; every other attribute
    (``layout``, ``color``, ``shape``, ``indices``, ``alpha``, ...) is the wrapped provider's.
    Render with :func:`overlay_weights` as the mask so opaque overlay pixels are left out.
    """

    def __init__(self, base: object, color: Sequence[np.ndarray], alpha: np.ndarray, *,
                 alpha_max: float = 0.9) -> None:
        self.base = base
        self.overlay_color = [np.asarray(c, np.float32) for c in color]
        self.overlay_alpha = np.asarray(alpha, np.float32)
        self.alpha_max = alpha_max

    def __getattr__(self, name: str) -> object:
        return getattr(self.base, name)

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def planes(self, k: int) -> tuple[np.ndarray, ...]:
        return tuple(remove_overlay(self.base.planes(k), self.overlay_color,  # type: ignore
                                    self.overlay_alpha, alpha_max=self.alpha_max))

    def luma(self, k: int) -> np.ndarray:
        return remove_overlay([self.base.luma(k)], self.overlay_color[:1],  # type: ignore
                              self.overlay_alpha, alpha_max=self.alpha_max)[0]

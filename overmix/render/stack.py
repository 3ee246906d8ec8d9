"""Stacking placed frames into a canvas: average and per-pixel statistics (DESIGN §6 "Render").

Every frame plane is resampled at its exact sub-pixel position onto the canvas plane with the
same siting (:mod:`overmix.render.canvas`, :mod:`overmix.render.resample`), then combined:

``average``
    Running weighted sums, one pass over the frames. Memory: per canvas plane a float32 sum
    and a float32 weight (Cb and Cr share theirs) — about 2x the float32 canvas — plus one
    frame's planes; the sums are divided in place and become the canvas. float32 sums of
    weights ≤ 1 over n ≤ 10^4 frames keep a relative error below 1e-6, well under a 16-bit
    output step.
``median``, ``min``, ``max``
    Per plane and per pixel over the covering frames (the true median: the mean of the two
    middle values for an even count).
``min-luma``, ``max-luma``
    The frame with the darkest (brightest) Y' wins; Y' is the per-pixel min (max), and each
    chroma sample is taken from the frame whose Y' *at that chroma sample's position*
    (bilinear on the luma stack at the co-sited point) is the min (max), so colours stay
    consistent (steam removal).
``winsorized``
    Mean after clamping each pixel's values to the values at ranks ``⌊0.2 n⌋`` and
    ``n − 1 − ⌊0.2 n⌋`` (20 % winsorized mean).
``sigma-clip``
    Mean of the values within ``2.5 σ`` of the median (σ = standard deviation of the values
    kept so far), iterated up to 5 times or until fewer than 3 values remain. Centring on the
    median lets one outlier among few frames be rejected (about the mean, an outlier among n
    values can never lie beyond ``(n − 1)/√n`` σ).
``difference``
    Where frames disagree: per-pixel mean absolute deviation of Y' from the per-pixel mean,
    in working units (0 = all frames agree); a gray canvas.

The statistics renders stack the covering frames in **row bands** of the canvas
(``(frames, band rows, canvas cols)`` float32 with NaN where a frame does not reach), sized so a
band's stacks fit ``tile_budget`` bytes, and read the frames once per band. Memory is bounded
by the budget plus the canvas.

Weights and coverage: a frame's weight at a canvas sample is its coverage (fraction of the
sample's footprint inside the frame minus ``border``, see :mod:`overmix.render.resample`) times
its validity: the mask (frame coordinates, 1 = use, 0 = ignore) and its alpha. Masked regions
are shrunk by the kernel support (minimum filter) before they are resampled (bilinear), so no
tap reads a masked sample. A canvas sample with zero total weight is a hole: its coverage is 0
and its value 0.

The shared types and frame plans are in :mod:`overmix.render.stack_base`, the ``average`` path in
:mod:`overmix.render.stack_average`, the statistics renders in :mod:`overmix.render.stack_stats`.

References
----------
- W. J. Dixon, "Simplified estimation from censored normal samples", Ann. Math. Statist. 31,
  1960 (winsorized mean).
- Siril documentation, "Stacking: rejection algorithms" (iterative sigma clipping).
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from overmix.color.spec import ColorInfo
from overmix.errors import AlignmentError, InputError, UsageError
from overmix.frame import Family, PlaneLayout
from overmix.geometry import Canvas, Offsets
from overmix.progress import ProgressCallback, no_progress
from overmix.providers import PlaneProvider
from overmix.render.names import RENDERS
from overmix.render.resample import KERNELS
from overmix.render.stack_average import _render_average
from overmix.render.stack_base import FrameWeights, RenderResult, _Ctx, _plan_frames
from overmix.render.stack_stats import _render_stacks

__all__ = ["RENDERS", "FrameWeights", "PlaneProvider", "RenderResult", "render"]


DEFAULT_TILE_BUDGET = 256 * 1024 * 1024
MAX_CANVAS_PIXELS = 1_000_000_000  # beyond this an offsets file is almost surely wrong


# --------------------------------------------------------------------------------- render


def render(provider: PlaneProvider, offsets: Offsets, *, positions: Sequence[int] | None = None,
           method: str = "average", kernel: str = "cubic", border: int = 0,
           mask: np.ndarray | None = None, gains: np.ndarray | None = None,
           full_chroma: bool = False, tile_budget: int = DEFAULT_TILE_BUDGET,
           canvas: Canvas | None = None, disagreement: bool = False,
           frame_weights: FrameWeights | None = None,
           progress: ProgressCallback = no_progress) -> RenderResult:
    """Render the frames of ``provider`` placed at ``offsets`` onto their canvas.

    Parameters
    ----------
    provider : PlaneProvider
        Frames (``planes(k)`` gives float32 working planes at native resolution).
    offsets : Offsets
        Row n places provider frame ``positions[n]`` (default n) at ``offsets.xy[n]``
        (frame-0 luma pixels). The canvas is ``offsets.canvas``.
    method : str
        One of :data:`RENDERS`.
    kernel : str
        ``cubic`` (Catmull-Rom, default) or ``lanczos3``.
    border : int
        Luma pixels ignored along each frame edge.
    mask : ndarray or None
        (h, w) in frame coordinates; 1 = use, 0 = ignore (fractions weight).
    gains : ndarray or None
        (n, 2) per offsets row: ``(a, b)`` with frame Y' = a · scene Y' + b
        (:func:`overmix.render.lighting.estimate_gains`); undone before stacking:
        ``Y' ← (Y' − b) / a``, ``Cb, Cr ← C / a``.
    full_chroma : bool
        Render Cb/Cr at luma resolution (4:4:4 canvas) straight from the subsampled frames.
    tile_budget : int
        Bytes for the frame stacks of one band (statistics renders).
    canvas : Canvas or None
        Render onto this canvas instead of ``offsets.canvas`` (e.g. the canvas shared by all
        animation frames). Frames reaching outside it are cut.
    disagreement : bool
        ``average`` only: also accumulate Σw·Y'² to report ``stats["residual"]`` (one more
        float32 luma canvas). The statistics renders always report it (from their stacks).
    frame_weights : callable or None
        ``frame_weights(position)`` -> float32 (h, w) in [0, 1] in that frame's coordinates
        (luma resolution; 1 = use), or None for "all usable": per-frame masks (overlays,
        moving foreground) multiplied into the frame's validity with ``mask`` and its alpha.
        Chroma planes see it at their own grid (see :func:`_mask_weights`). ``average``
        weights by it; the statistics renders stack a frame's sample where its validity is at
        least half the best validity among the frames covering that sample (so a small floor
        weight marks a fallback that is used only where no frame sees the place cleanly).
    progress : ProgressCallback
        Stage ``"render"``.

    Returns
    -------
    RenderResult
    """
    layout, color, height, width, positions, gains, full_chroma, canvas = _checked(
        provider, offsets, positions, method, kernel, border, mask, gains, full_chroma, canvas)
    t0 = time.perf_counter()
    plans = _plan_frames(offsets, positions, canvas, layout, color, height, width,
                         border=border, kernel=kernel, full_chroma=full_chroma)
    ctx = _Ctx(provider, offsets, plans, canvas, layout, color, height, width, border, kernel,
               mask, gains, full_chroma, progress, frame_weights)
    if method == "average":
        result = _render_average(ctx, disagreement)
    else:
        result = _render_stacks(ctx, method, tile_budget)
    result.stats["seconds"] = time.perf_counter() - t0
    return result


def _checked(provider: PlaneProvider, offsets: Offsets, positions: Sequence[int] | None,
             method: str, kernel: str, border: int, mask: np.ndarray | None,
             gains: np.ndarray | None, full_chroma: bool, canvas: Canvas | None,
             ) -> tuple[PlaneLayout, ColorInfo, int, int, Sequence[int], np.ndarray | None, bool,
                        Canvas]:
    """:func:`render`'s arguments checked (UsageError / AlignmentError / InputError) and
    defaulted: the frames' layout, colour, height, width, and the effective ``positions``,
    ``gains`` ((n, 2) float32), ``full_chroma`` and ``canvas``."""
    if method not in RENDERS:
        raise UsageError(f"unknown render {method!r} (use {', '.join(RENDERS)})")
    if kernel not in KERNELS or kernel == "linear":
        raise UsageError(f"unknown kernel {kernel!r} (use cubic or lanczos3)")
    layout, color, shape = provider.layout, provider.color, provider.shape
    if layout is None or color is None or shape is None or len(offsets) == 0:
        raise AlignmentError("nothing to render: no frames")
    height, width = shape
    if border < 0 or 2 * border >= min(height, width):
        raise UsageError(f"--border {border} leaves nothing of a {width}x{height} frame")
    if positions is None:
        positions = list(range(len(offsets)))
    if mask is not None and mask.shape != (height, width):
        raise UsageError(
            f"mask is {mask.shape[1]}x{mask.shape[0]}, the frames are {width}x{height}"
        )
    if gains is not None:
        gains = np.asarray(gains, dtype=np.float32).reshape(len(offsets), 2)
    if layout.family != Family.YCBCR:
        full_chroma = False
    if canvas is None:
        canvas = offsets.canvas
    if canvas.width * canvas.height > MAX_CANVAS_PIXELS:
        raise InputError(
            f"the offsets span a {canvas.width}x{canvas.height} canvas (over "
            f"{MAX_CANVAS_PIXELS // 10**6} megapixels); check the offsets"
        )
    return layout, color, height, width, positions, gains, full_chroma, canvas

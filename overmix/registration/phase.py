"""Translation between two luma planes: phase correlation, then sub-pixel refinement.

Convention (DESIGN §4): the shift ``d = (dx, dy)`` of ``mov`` relative to ``ref`` is the position
of ``mov``'s pixel (0, 0) in ``ref``'s coordinates, ``mov(i, j) = ref(i + dy, j + dx)``. Pixel
(i, j) has its centre at (x = j, y = i). A camera panning right gives dx > 0.

Method
------
Planes are prepared once (:mod:`.pyramid`); step 1 is :mod:`.coarse`, step 2 :mod:`.tiles`
(where) and :mod:`.fine` (the steps); this module joins them for one pair.

1. **Coarse** (on a box-downscaled pyramid level of at most ~360 px): phase correlation of the
   mean-filled, Tukey-windowed planes (``numpy.fft.rfft2``: the same pocketfft as
   ``scipy.fft``, without scipy's ~0.3 s import on every stitch). The correlation is
   periodic, so each of the strongest peaks is expanded into its wrapped variants (``p`` and
   ``p - N`` per axis); a hint (``guess``) adds its own candidate. Every candidate is scored by the
   zero-mean normalised cross-correlation (ZNCC) of the overlapping, unmasked pixels at that
   integer shift, and the best one wins.
2. **Refinement**: symmetric Gauss-Newton (Lucas-Kanade) from the coarsest level down to full
   resolution. Both planes are resampled half-way, ``ref(q + d/2)`` against ``mov(q - d/2)``,
   with a separable windowed-sinc kernel (Lanczos, 2x6 taps), so both sides get the same
   amount of smoothing and the interpolator's low-pass does not pull the estimate towards
   whole pixels. Masked pixels (and the pixels whose kernel touches them) have weight 0;
   after the first step, pixels whose residual is far beyond the robust residual scale
   (animation, an unmasked overlay) are down-weighted (Cauchy weights), and mov's gain and
   offset are matched to ref's (so a fade or flash is not taken for motion). A step uses a
   number of pixels that follows the frame's size (2.6 % of them, 4096 to 24k; small planes
   whole): the overlap is cut into a grid of zones and each zone contributes one tile (48 px,
   smaller for small frames) where its gradient energy is largest, so flat colour is not
   sampled and the tiles stay spread over the frame.
3. **Quality**: ZNCC of the two resampled overlaps (``confidence``), RMS residual
   (``error``), overlap fraction and a standard error of the shift from the Gauss-Newton
   normal matrix (``sigma_x``, ``sigma_y``), used as weights by :mod:`overmix.registration.solve`.

Measured (tools/bench_align.py, drawn pans area-sampled at known offsets): line art within
0.015 px lossless and 0.04 px through H.264 8/10-bit; smooth/photo-like texture within
0.015 px lossless; through H.264 the decoded frames themselves are displaced by up to ~0.09 px
(quarter-pel motion compensation), which the aligner follows to within ~0.02 px.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from overmix.errors import AlignmentError, UsageError
from overmix.geometry import TRANSLATIONS as MOTIONS
from overmix.registration.coarse import _coarse
from overmix.registration.fine import _refine
from overmix.registration.pyramid import (
    CODE_GAIN,
    PreparedPlane,
    down2,
    mask_pyramid,
    prepare,
    set_masks,
)

# the prepared planes live in overmix.registration.pyramid; they are re-exported here, the
# module that measures a pair (its public face)
__all__ = ["PairResult", "check_motion", "estimate_prepared", "estimate_shift",  # its own
           "CODE_GAIN", "PreparedPlane", "down2", "mask_pyramid", "prepare", "set_masks"]


@dataclass(frozen=True)
class PairResult:
    """Measured shift of one frame relative to another.

    Attributes
    ----------
    dx, dy : float
        Shift in luma pixels, ``mov(i, j) = ref(i + dy, j + dx)``.
    confidence : float
        ZNCC of the aligned overlaps, in [0, 1] (1 = identical up to gain and offset).
    overlap : float
        Overlapping area as a fraction of one frame, in [0, 1].
    error : float
        RMS difference of the aligned overlaps (luma units, Y' in [0, 1]).
    sigma_x, sigma_y : float
        Standard error of ``dx``/``dy`` in pixels from the refinement (inf when unknown).
    """

    dx: float
    dy: float
    confidence: float
    overlap: float
    error: float
    sigma_x: float = math.inf
    sigma_y: float = math.inf


def check_motion(motion: str) -> str:
    if motion not in MOTIONS:
        raise UsageError(f"motion must be one of xy, x, y (got {motion!r})")
    return motion


def estimate_prepared(ref: PreparedPlane, mov: PreparedPlane, *, motion: str = "xy",
                      guess: tuple[float, float] | None = None, search: bool = True,
                      min_overlap: float = 0.05) -> PairResult:
    """:func:`estimate_shift` on planes already :func:`prepare`\\ d (reuses their pyramids).

    With ``search=False`` the coarse search is skipped and the refinement starts at full
    resolution from ``guess``, which must then be within about a pixel of the truth.
    """
    check_motion(motion)
    if ref.shape != mov.shape:
        raise AlignmentError(
            f"frames differ in size: {ref.shape[1]}x{ref.shape[0]} and "
            f"{mov.shape[1]}x{mov.shape[0]}")
    if search or guess is None:
        cx, cy, lvl = _coarse(ref, mov, motion, guess, min_overlap)
        fit = _refine(ref, mov, cx, cy, lvl, motion)
    else:
        gx = guess[0] if motion != "y" else 0.0
        gy = guess[1] if motion != "x" else 0.0
        fit = _refine(ref, mov, gx, gy, 0, motion)
    h, w = ref.shape
    overlap = max(0.0, (w - abs(fit.dx)) * (h - abs(fit.dy)) / (w * h))
    dx = fit.dx if motion != "y" else 0.0
    dy = fit.dy if motion != "x" else 0.0
    return PairResult(dx, dy, fit.zncc, min(overlap, 1.0), fit.rms, fit.sx, fit.sy)


def estimate_shift(ref: np.ndarray, mov: np.ndarray, *, ref_mask: np.ndarray | None = None,
                   mov_mask: np.ndarray | None = None, motion: str = "xy",
                   guess: tuple[float, float] | None = None, border: int = 0) -> PairResult:
    """Sub-pixel shift of ``mov`` relative to ``ref``.

    Parameters
    ----------
    ref, mov : (H, W) float arrays
        Luma planes (Y' in [0, 1]) of the same size.
    ref_mask, mov_mask : (H, W) bool/float or None
        Pixels to ignore (True or > 0.5) in each plane.
    motion : "xy" | "x" | "y"
        Restrict the shift to one axis (the other is 0).
    guess : (dx, dy) or None
        Expected shift; adds a candidate to the coarse search (helps with large shifts).
    border : int
        Ignore this many pixels at every edge.

    Returns
    -------
    PairResult
        ``dx, dy`` with ``mov(i, j) = ref(i + dy, j + dx)`` (luma pixels).

    Raises
    ------
    AlignmentError
        Different sizes, or no usable overlap.
    """
    ref = np.asarray(ref)
    mov = np.asarray(mov)
    if ref.shape != mov.shape:
        raise AlignmentError(
            f"frames differ in size: {ref.shape[1]}x{ref.shape[0]} and "
            f"{mov.shape[1]}x{mov.shape[0]}")
    return estimate_prepared(prepare(ref, ref_mask, border), prepare(mov, mov_mask, border),
                             motion=check_motion(motion), guess=guess)

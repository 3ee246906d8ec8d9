"""Lighting compensation: per-frame gain and offset on Y' (flashes, fades, flicker).

Model: frame k shows the scene ``s`` as ``f_k = a_k * s + b_k`` on working Y' (a flash or a
fade to black scales R'G'B', a fade to white adds grey). Chroma scales with the same ``a_k``
(``Cb = (B' - Y') / (2 (1 - Kb))`` is linear in R'G'B', and an added grey has none).

Estimation (:func:`fit_lighting`) without the biases of a chain of pairwise fits:

1. **Same band on every side.** Each frame is integrated over one grid of canvas cells
   (``cell`` px, fixed to the canvas) with smooth windows (quadratic B-splines) evaluated at
   the frame's own sample positions: no resampling kernel, and every frame at any sub-pixel
   phase sees the same low-pass of the same scene region (a kernel that resamples only one
   side of a pair shrinks that side's variance and biases the slope low). Each window averages
   ~``2 cell**2`` pixels, which divides the grain's variance accordingly.
2. **One global fit, noise on every side.** ``m_kc = a_k S_c + b_k`` for all frames k and
   cells c at once, the cell values ``S_c`` unknowns like the gains: a total least-squares
   (errors-in-variables) fit, solved by Gauss-Newton with the cell unknowns eliminated (Schur
   complement), robust (Cauchy IRLS). Relative gains between distant frames come from every
   overlap at once, so errors do not add up along the pan.
3. **Background only.** Cells touching the ignore mask (user mask, static overlay) or a
   frame's own ignore mask are left out; content fixed in frame coordinates while the scene
   moves (hardsubs, logos, a character the camera follows) is found as frame-position bins
   where most frames disagree with the scene, and left out; moving foreground is down-weighted
   by the robust weights; cells averaging near white (possibly clipped) are left out.
4. **Gauge.** The scene's brightness is a free choice: the median frame gets gain 1, offset 0.

``--lighting auto`` (:meth:`LightingFit.changed`) compensates only when some frame's change of
Y' is larger than both ``z`` standard errors of the estimate and half an 8-bit code: a steady
scene is rendered exactly as with ``off``.

Coordinates: offsets as in :mod:`overmix.geometry`; values are working planes (Y' in [0, 1],
Cb/Cr in [-0.5, 0.5], float32).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from overmix.errors import AlignmentError
from overmix.geometry import Canvas
from overmix.io.prefetch import prefetch
from overmix.progress import ProgressCallback, no_progress
from overmix.providers import LumaProvider, luma_reader, reader
from overmix.render.lighting_cells import _cell_hits, _sat, cell_means
from overmix.render.lighting_fit import LightingFit, _fit

__all__ = ["LightingFit", "apply_gain", "cell_means", "default_cell", "estimate_gains",
           "fit_lighting"]

MaskProvider = Callable[[int], "np.ndarray | None"]

# default grid: ~5000 cells per frame (cell 5 px at 480x270, 14 px at 720p). Smaller windows
# keep more line detail, which pins each frame's gain against its grain: on the 160-frame
# pans of tools/bench_lighting.py the worst error against the decoded frames' gains went
# from 0.16-0.25 % (8 px) to 0.09-0.22 % (5 px); 4 px gains nothing more
CELLS_PER_FRAME = 5000
# larger frames get fewer cells than CELLS_PER_FRAME, as sqrt(REF_AREA / area) but at least
# MIN_CELLS_PER_FRAME: what pins a gain against the grain is the pixels used (all of them at
# any cell size) and the scene's contrast between cells, which a cell of the same share of
# the picture keeps; the fit's cost goes with the cells. On the 60-frame 720p pan of
# tools/bench_lighting.py the worst error against the decoded frames' gains is 0.029 % with
# 4700 cells a frame, 0.037 % with 2500 (0.054 % with 1250), at half the fit's time
REF_AREA = 480 * 270
MIN_CELLS_PER_FRAME = 2500
# memory: the fit holds ~200 bytes per (frame, cell) observation; long pans get fewer,
# larger cells so that it stays near 200 MB (a 160-frame 480x270 pan: 0.83 M)
MAX_OBSERVATIONS = 1_000_000
WHITE_CELL = 0.97  # cells whose mean Y' reaches this may hold clipped highlights: left out


# ----------------------------------------------------------------------------- the fit


def fit_lighting(lumas: LumaProvider, offsets_xy: np.ndarray, canvas: Canvas | None = None, *,
                 mask: np.ndarray | None = None, frame_masks: MaskProvider | None = None,
                 cell: int | None = None, border: int = 0, iterations: int = 16,
                 progress: ProgressCallback | None = None, workers: int = 1,
                 decide: bool = False, codes: tuple[float, float] | None = None
                 ) -> LightingFit:
    """Per-frame ``(gain, offset)`` on working Y' relative to the scene, with uncertainty.

    Parameters
    ----------
    lumas : LumaProvider (:mod:`overmix.providers`)
        Working Y' of each frame (read once, in order).
    offsets_xy : ndarray (n, 2)
        Aligned ``(x, y)`` of each frame (frame-0 luma pixels).
    canvas : Canvas or None
        The cell grid's origin (default: the canvas covering the frames).
    mask : ndarray (h, w) bool or None
        Frame-coordinate ignore mask (True = ignore: ``--mask``, logos, static overlays).
    frame_masks : callable ``k -> (h, w) bool or None``
        Per-frame ignore masks (overlays, moving foreground), True = ignore.
    cell : int or None
        Cell size in px (default: about ``CELLS_PER_FRAME`` cells per frame, fewer when
        ``n * CELLS_PER_FRAME`` exceeds ``MAX_OBSERVATIONS``).
    border : int
        Frame-edge pixels not used (at least 1).
    iterations : int
        Robust Gauss-Newton iterations (stops early when converged).
    workers : int
        Threads that read the frames and reduce them to cells (the same values for any
        number; more than 1 needs ``lumas`` and ``frame_masks`` that may be called from
        several threads at once).
    decide : bool
        ``--lighting auto``: a large fit (from ~40 000 observations) decides first on a
        quarter of the cells (the first stage of the fit, :func:`~overmix.render.lighting_fit._fit`)
        and returns that when it finds no change (:meth:`LightingFit.changed`); else the same
        fit as without.
    codes : (scale, offset) or None
        ``lumas`` hands out the frames' luma *codes* (any dtype), with working
        ``Y' = scale * code + offset`` (the model is affine in Y': the cell means are taken
        of the codes and mapped, which skips a float copy of every frame).

    Returns
    -------
    LightingFit
    """
    progress = progress or no_progress
    xy = np.asarray(offsets_xy, dtype=np.float64).reshape(-1, 2)
    n = len(xy)
    if n == 0:
        raise AlignmentError("no frames for lighting estimation")
    unit = LightingFit(np.tile([1.0, 0.0], (n, 1)), np.zeros(n), np.zeros(n))
    get = luma_reader(lumas) if codes is None else reader(lumas)
    if n == 1:
        return unit
    f0 = get(0)
    h, w = f0.shape
    if canvas is None:
        canvas = Canvas.covering(xy, w, h)
    if cell is None:
        cell = default_cell(h, w, n)
    obs = _observations(get, f0, xy, canvas, cell, mask, frame_masks, border, progress,
                        workers, codes or (1.0, 0.0))
    del f0
    if obs is None:
        return unit
    k, cid, m, fbin = obs
    # cells seen by at least two frames are the only ones that say anything; numbered
    # 0..ncell-1 (the ids are bounded by the canvas grid: counts, no sort)
    counts = np.bincount(cid)
    shared = counts[cid] >= 2
    if not shared.any():
        return unit
    label = np.cumsum(counts >= 2) - 1
    k, c, m, fbin = k[shared], label[cid[shared]], m[shared], fbin[shared]
    return _fit(k, c, m, fbin, n, int(label[-1]) + 1, cell, iterations, decide) or unit


def default_cell(h: int, w: int, n: int) -> int:
    """Cell size (px) for n frames of h x w: about ``CELLS_PER_FRAME`` cells a frame up to
    ``REF_AREA``, fewer on larger frames (see ``MIN_CELLS_PER_FRAME``), fewer still when the
    observations would pass ``MAX_OBSERVATIONS``."""
    per_frame = CELLS_PER_FRAME * min(1.0, math.sqrt(REF_AREA / (h * w)))
    per_frame = max(per_frame, min(CELLS_PER_FRAME, MIN_CELLS_PER_FRAME))
    return max(4, round(math.sqrt(h * w / min(per_frame, MAX_OBSERVATIONS / n))))


def _observations(get: Callable[[int], np.ndarray], f0: np.ndarray, xy: np.ndarray,
                  canvas: Canvas, cell: int, mask: np.ndarray | None,
                  frame_masks: MaskProvider | None, border: int, progress: ProgressCallback,
                  workers: int = 1, codes: tuple[float, float] = (1.0, 0.0),
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Every frame's kept cell means: ``(frame k, canvas cell id, mean Y', frame-position
    bin)`` per observation, or None when no frame has a usable cell. ``codes``: (scale,
    offset) from the frames' values to Y'."""
    n = len(xy)
    w = f0.shape[1]
    ncols = -(-canvas.width // cell) + 1
    sat = _sat(mask) if mask is not None and mask.any() else None

    def frame(j: int) -> tuple[np.ndarray, ...] | None:
        f = f0 if j == 0 else get(j)
        x, y = float(xy[j, 0]), float(xy[j, 1])
        mean, r0, c0 = cell_means(f, x, y, canvas, cell, margin=max(1.0, float(border)))
        del f
        nr, nc = mean.shape
        if nr == 0 or nc == 0:
            return None
        mean = mean * codes[0] + codes[1]
        keep = mean < WHITE_CELL
        if sat is not None:
            keep &= ~_cell_hits(sat, x, y, canvas, cell, r0, c0, nr, nc)
        fm = frame_masks(j) if frame_masks is not None else None
        if fm is not None and np.any(fm):
            keep &= ~_cell_hits(_sat(np.asarray(fm, bool)), x, y, canvas, cell, r0, c0, nr, nc)
        rr, cc = np.nonzero(keep)
        # the cell's position in frame coordinates, in whole cells (screen-fixed content)
        fy = np.floor((rr + r0) + (canvas.y - y) / cell + 0.5).astype(np.int64)
        fx = np.floor((cc + c0) + (canvas.x - x) / cell + 0.5).astype(np.int64)
        return (np.full(len(rr), j, np.int32), ((rr + r0) * ncols + (cc + c0)).astype(np.int64),
                mean[rr, cc], (fy + 2) * (w // cell + 4) + (fx + 2))

    ks, cs, ms, bins = [], [], [], []
    # frames read and reduced in threads (the reads, numpy and BLAS release the GIL), in order
    for j, got in enumerate(prefetch(frame, range(n), workers=workers)):
        progress("lighting", j + 1, n)
        if got is not None:
            for out, a in zip((ks, cs, ms, bins), got, strict=True):
                out.append(a)
    if not ks:
        return None
    return np.concatenate(ks), np.concatenate(cs), np.concatenate(ms), np.concatenate(bins)


def estimate_gains(lumas: LumaProvider, offsets_xy: np.ndarray, canvas: Canvas | None = None, *,
                   mask: np.ndarray | None = None,
                   progress: ProgressCallback | None = None, **kw: object) -> np.ndarray:
    """Per-frame ``(gain, offset)`` (n, 2) on working Y': the gains of :func:`fit_lighting`.

    Column 0 gain ``a_k``, column 1 offset ``b_k``, so that ``f_k = a_k * s + b_k``; the scene
    is ``(f_k - b_k) / a_k``.
    """
    return fit_lighting(lumas, offsets_xy, canvas, mask=mask, progress=progress,
                        **kw).gains  # type: ignore[arg-type]


def apply_gain(planes: Sequence[np.ndarray], gain: Sequence[float]) -> list[np.ndarray]:
    """Undo one frame's lighting: ``Y' = (f - b) / a``, ``C = C / a`` (working planes).

    Parameters
    ----------
    planes : sequence of ndarray (plane 0 Y', planes 1-2 Cb, Cr at any resolution)
    gain : (a, b) from :func:`estimate_gains`

    Returns
    -------
    list of float32 ndarray
    """
    a, b = float(gain[0]), float(gain[1])
    if a <= 0:
        a = 1.0
    out = [((np.asarray(planes[0], np.float32) - np.float32(b)) / np.float32(a))]
    out += [np.asarray(p, np.float32) / np.float32(a) for p in planes[1:]]
    return out

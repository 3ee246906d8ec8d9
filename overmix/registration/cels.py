"""The cels of an animated pan once separated (:mod:`.animation`): masks of the animated
parts, and per-cel renders merged.

:func:`animated_mask` marks the canvas pixels where the animation frames' renders disagree;
:func:`animated_frame_masks` warps that mask to per-frame ignore masks, for a re-alignment
that moving parts cannot bias; :func:`merge_static` and :func:`merge_planes` combine per-group
renders the way Overmix's AnimRender does (shared parts averaged over all frames, animated
parts from the group alone). Coordinates and values: :mod:`.animation`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy import ndimage

from overmix.errors import UsageError
from overmix.geometry import Canvas
from overmix.progress import ProgressCallback, no_progress
from overmix.providers import LumaProvider, luma_reader
from overmix.warp import CanvasAccumulator, sample_canvas

__all__ = ["animated_frame_masks", "animated_mask", "frame_mask", "merge_planes",
           "merge_static"]


def _smooth_diff(a: np.ndarray, b: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """3x3 mean of the signed difference over ``valid`` pixels (noise drops 3x, a real change
    does not); 0 outside ``valid``."""
    v = valid.astype(np.float32)
    num = ndimage.uniform_filter((a - b).astype(np.float32) * v, 3, mode="nearest")
    den = ndimage.uniform_filter(v, 3, mode="nearest")
    return np.divide(num, den, out=np.zeros_like(num), where=valid & (den > 0))


def animated_mask(renders: Sequence[np.ndarray], weights: Sequence[np.ndarray], *,
                  tol: float = 6 / 255, dilate: int = 3) -> np.ndarray:
    """Canvas pixels where the animation frames disagree.

    Parameters
    ----------
    renders, weights : sequences of ndarray (Hc, Wc)
        Luma render and coverage of each animation frame on the shared canvas.
    tol : float
        Difference (working Y') above which two renders disagree.
    dilate : int
        Grow the region by this many pixels (moving parts have soft edges).

    Returns
    -------
    ndarray (Hc, Wc) bool : True = animated.
    """
    if not renders:
        raise UsageError("no renders")
    out = np.zeros(renders[0].shape, dtype=bool)
    for a in range(len(renders)):
        for b in range(a + 1, len(renders)):
            both = (weights[a] > 0.5) & (weights[b] > 0.5)
            out |= np.abs(_smooth_diff(renders[a], renders[b], both)) > tol
    if dilate > 0 and out.any():
        out = ndimage.binary_dilation(out, iterations=dilate)
    return out


def frame_mask(canvas_mask: np.ndarray, xy: Sequence[float], canvas: Canvas,
               shape: tuple[int, int]) -> np.ndarray:
    """A canvas mask seen from one frame (frame coordinates, True = ignore).

    Use it to build ``frame_masks`` for a re-alignment that the animated parts cannot bias.
    """
    val, _ = sample_canvas(canvas_mask.astype(np.float32), None, xy, canvas, shape)
    return val > 0.01


def animated_frame_masks(lumas: LumaProvider, offsets_xy: np.ndarray, ids: Sequence[int],
                         canvas: Canvas | None = None, *, tol: float = 6 / 255,
                         dilate: int = 3, progress: ProgressCallback | None = None
                         ) -> tuple[np.ndarray, Callable[[int], np.ndarray]]:
    """Ignore masks of the animated parts, for a re-alignment they cannot bias.

    Renders each animation frame's luma on the canvas (one pass over the frames), marks where
    they disagree (:func:`animated_mask`) and returns that canvas mask with a callable giving
    each frame's view of it, ready for ``overmix.registration.align(..., frame_masks=...)``.

    Returns
    -------
    canvas_mask : ndarray (Hc, Wc) bool, True = animated
    frame_masks : callable ``k -> (h, w) bool`` (True = ignore)
    """
    progress = progress or no_progress
    xy = np.asarray(offsets_xy, dtype=np.float64).reshape(-1, 2)
    n = len(xy)
    read = luma_reader(lumas)
    first = read(0)
    shape = first.shape
    if canvas is None:
        canvas = Canvas.covering(xy, shape[1], shape[0])
    groups = sorted(set(int(i) for i in ids))
    accs = {g: CanvasAccumulator(canvas) for g in groups}
    for k in range(n):
        accs[int(ids[k])].add(first if k == 0 else read(k), xy[k])
        progress("animation: masks", k + 1, n)
    if len(groups) < 2:
        cmask = np.zeros((canvas.height, canvas.width), dtype=bool)
    else:
        cmask = animated_mask([accs[g].mean() for g in groups],
                              [accs[g].weight for g in groups], tol=tol, dilate=dilate)

    def masks(k: int) -> np.ndarray:
        return frame_mask(cmask, xy[k], canvas, shape)

    return cmask, masks


def merge_static(renders: Sequence[np.ndarray], weights: Sequence[np.ndarray],
                 all_render: np.ndarray, all_weight: np.ndarray, *, tol: float = 6 / 255,
                 dilate: int = 3) -> list[np.ndarray]:
    """Per animation frame: shared parts from the all-frame render, animated parts its own.

    Parameters
    ----------
    renders, weights : sequences of ndarray (Hc, Wc) (or (Hc, Wc, C) for ``renders``)
        Render and coverage of each animation frame; the difference test uses channel 0.
    all_render, all_weight : ndarray
        Render of all frames together and its coverage.

    Returns
    -------
    list of ndarray, same shape as each render.
    """
    out = []
    for g, r in enumerate(renders):
        y = r if r.ndim == 2 else r[..., 0]
        ya = all_render if all_render.ndim == 2 else all_render[..., 0]
        cov = weights[g] > 0.5
        differs = np.abs(_smooth_diff(y, ya, cov & (all_weight > 0.5))) > tol
        if dilate > 0 and differs.any():
            differs = ndimage.binary_dilation(differs, iterations=dilate)
        # own pixels where it differs, or where the all-frame render has nothing
        own = (differs | (all_weight <= 0.5)) & cov
        sel = own if r.ndim == 2 else own[..., None]
        # where the group has no coverage, the all-frame render fills in (if it has any)
        fill = np.where(sel, r, all_render)
        out.append(fill.astype(np.float32))
    return out


def merge_planes(group: Sequence[np.ndarray], group_cov: np.ndarray, shared: Sequence[np.ndarray],
                 shared_cov: np.ndarray, *, tol: float = 6 / 255,
                 dilate: int = 3) -> tuple[list[np.ndarray], np.ndarray]:
    """One animation frame's canvas planes merged with the all-frame render (AnimRender).

    Where the animation frame's own render agrees with the render of every frame (3x3-smoothed
    luma difference below ``tol``), the all-frame render is used (more frames, less noise);
    where it differs (grown by ``dilate`` px) its own pixels stay; where it has no coverage the
    all-frame render fills in.

    Parameters
    ----------
    group, shared : sequences of ndarray
        Canvas planes (plane 0 luma at canvas resolution; others at any integer subsampling).
    group_cov, shared_cov : ndarray (Hc, Wc)
        Coverage of each render (> 0 = covered).

    Returns
    -------
    planes : list of float32 ndarray
    coverage : ndarray (Hc, Wc) float32
    """
    cov_g, cov_a = group_cov > 0, shared_cov > 0
    differs = np.abs(_smooth_diff(group[0], shared[0], cov_g & cov_a)) > tol
    if dilate > 0 and differs.any():
        differs = ndimage.binary_dilation(differs, iterations=dilate)
    own = cov_g & (differs | ~cov_a)
    h, w = own.shape
    out = []
    for g, a in zip(group, shared, strict=True):
        ph, pw = g.shape
        sy, sx = max(1, round(h / ph)), max(1, round(w / pw))
        m = own
        if (sx, sy) != (1, 1):  # a chroma sample is its group's own if any of its cell is
            pad = np.zeros((ph * sy, pw * sx), dtype=bool)
            pad[: min(h, ph * sy), : min(w, pw * sx)] = own[: ph * sy, : pw * sx]
            m = pad.reshape(ph, sy, pw, sx).any(axis=(1, 3))
        out.append(np.where(m, g, a).astype(np.float32))
    coverage = np.where(own, group_cov, shared_cov).astype(np.float32)
    return out, coverage

"""Multi-frame super-resolution: robust data term + bilateral total variation (catalogue §6.5).

Model (Farsiu, Robinson, Elad, Milanfar 2004, "Fast and robust multiframe super resolution",
IEEE TIP 13(10), doi:10.1109/TIP.2004.834669): each frame plane ``y_k`` is the latent
high-resolution plane ``X`` shifted by the frame's sub-pixel offset, blurred by the sample
footprint (a box ``sub`` luma pixels wide, optionally convolved with a Gaussian PSF) and decimated:
``y_k = A_k X + noise`` (:mod:`overmix.restore.degrade`). We minimise

    F(X) = sum_k sum rho(A_k X - y_k)
           + lam * c * sum_{(l,m)} alpha^(|l|+|m|) sum rho(X - S_x^l S_y^m X)

with ``rho(r) = sqrt(r² + eps²)`` (a smooth L1, robust to misaligned or animated pixels) and ``c``
the mean number of observations per latent pixel (so ``lam`` does not depend on the frame count).

Solver: nonlinear conjugate gradients (Polak-Ribière+) with a majorise-minimise step: along the
search direction ``d`` the Charbonnier terms are bounded by quadratics with curvature
``1/sqrt(r² + eps²)``, and the step minimises that bound, so F never increases and no step size
needs tuning (Farsiu's fixed-step steepest descent needs ~100+ iterations; this needs ~15-30).
Each iteration streams over the frames twice (gradient, then curvature along ``d``) and holds
only the latent plane and work planes of its size (about a dozen float32 planes at the peak,
measured by ``tools/bench_restore.py``) plus a small banded operator per frame: memory grows
with the canvas, not with the number of frames (beyond ~20 KB of operators per frame).
Unlike Overmix, the sub-pixel phase of every frame is kept exactly (no truncated crop),
subsampled chroma is modelled at its own siting, and the output covers the whole canvas.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from overmix.errors import InputError, UsageError
from overmix.geometry import Canvas
from overmix.progress import ProgressCallback, no_progress
from overmix.providers import ArrayProvider, reader
from overmix.restore.degrade import Grid, Warp, frame_warp, hr_grid
from overmix.restore.inpaint import fill_nearest

__all__ = ["SrStats", "back_project", "check_scale", "superresolve", "superresolve_planes"]

MAX_SCALE = 8.0



def check_scale(scale: float) -> float:
    """Validate a super-resolution factor: finite, > 1 and ≤ 8 (:class:`UsageError` otherwise)."""
    try:
        s = float(scale)
    except (TypeError, ValueError):
        raise UsageError(f"--scale needs a number, got {scale!r}") from None
    if not math.isfinite(s) or s <= 1.0:
        raise UsageError(f"--scale must be greater than 1 (got {scale})")
    if s > MAX_SCALE:
        raise UsageError(f"--scale {scale} is absurd: at most {MAX_SCALE:g}x is supported")
    return s


@dataclass
class SrStats:
    """Diagnostics of one run: objective per iteration and seconds per iteration."""

    objective: list[float]
    seconds: list[float]


def _shift_pairs(p: int) -> list[tuple[int, int]]:
    """Half-plane of BTV shifts (dy, dx) with |dy|, |dx| ≤ p (each pair counted once)."""
    return [(dy, dx) for dy in range(0, p + 1) for dx in range(-p, p + 1)
            if dy > 0 or dx > 0]


def _pair_slices(dy: int, dx: int, shape: tuple[int, int]) -> tuple[tuple[slice, slice],
                                                                       tuple[slice, slice]]:
    """Slices ``a``, ``b`` so that ``X[a]`` and ``X[b]`` pair pixel (i, j) with (i+dy, j+dx)."""
    h, w = shape
    ra, rb = slice(dy, h), slice(0, h - dy)
    if dx >= 0:
        ca, cb = slice(dx, w), slice(0, w - dx)
    else:
        ca, cb = slice(0, w + dx), slice(-dx, w)
    return (ra, ca), (rb, cb)


class _Btv:
    """Bilateral total variation with Charbonnier penalty, its gradient and MM curvature."""

    def __init__(self, shape: tuple[int, int], p: int, alpha: float, eps: float) -> None:
        self.items = [(alpha ** (abs(dy) + abs(dx)), *_pair_slices(dy, dx, shape))
                      for dy, dx in _shift_pairs(p)]
        self.eps2 = eps * eps

    def value_grad(self, x: np.ndarray, grad: np.ndarray, weight: float) -> float:
        val = 0.0
        for a_w, a, b in self.items:
            d = x[a] - x[b]
            s = np.sqrt(d * d + self.eps2)
            val += a_w * float(s.sum())
            g = (weight * a_w) * (d / s)
            grad[a] += g
            grad[b] -= g
        return weight * val

    def curvature(self, x: np.ndarray, d: np.ndarray, weight: float) -> float:
        out = 0.0
        for a_w, a, b in self.items:
            dx = x[a] - x[b]
            dd = d[a] - d[b]
            out += a_w * float((dd * dd / np.sqrt(dx * dx + self.eps2)).sum())
        return weight * out


def _warps(n: int, offsets_xy: np.ndarray, get: Callable[[int], np.ndarray], grid: Grid,
           plane_sub: tuple[int, int], plane_offset: tuple[float, float],
           psf_sigma: float) -> tuple[list[Warp], list[tuple[int, int]]]:
    """Per-frame operators (small: O(rows + cols) each); frame shapes are read once."""
    warps, shapes = [], []
    for k in range(n):
        shape = tuple(np.shape(get(k)))
        if len(shape) != 2:
            raise InputError(f"frame {k} is not a 2-D plane (shape {shape})")
        shapes.append(shape)  # type: ignore[arg-type]
        warps.append(frame_warp((float(offsets_xy[k, 0]), float(offsets_xy[k, 1])), shape, grid,
                                plane_sub=plane_sub, plane_offset=plane_offset,
                                psf_sigma=psf_sigma))
    return warps, shapes  # type: ignore[return-value]


def back_project(frames: ArrayProvider, n: int, offsets_xy: np.ndarray, canvas: Canvas, *,
                 scale: float, plane_sub: tuple[int, int] = (1, 1),
                 plane_offset: tuple[float, float] = (0.0, 0.0),
                 psf_sigma: float = 0.0, grid_sub: tuple[int, int] | None = None,
                 grid_offset: tuple[float, float] | None = None,
                 valid: np.ndarray | None = None,
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Shift-and-add at ``scale``: ``sum_k A_k^T v y_k / sum_k A_k^T v``, holes filled nearest.

    ``valid`` (frame-plane shape, float 0..1, or None = all 1) weights every frame's samples
    (0 = ignore: a static logo, frame borders).

    Returns ``(plane, weight)`` on the grid of :func:`~overmix.restore.degrade.hr_grid`; the
    initial estimate of :func:`superresolve` (and a fair "upscaled average" baseline).
    """
    get = reader(frames)
    offsets_xy = np.asarray(offsets_xy, dtype=np.float64).reshape(-1, 2)
    grid = hr_grid(canvas, scale, plane_sub if grid_sub is None else grid_sub,
                   plane_offset if grid_offset is None else grid_offset)
    acc = np.zeros(grid.shape, np.float32)
    wgt = np.zeros(grid.shape, np.float32)
    for k in range(n):
        y = np.asarray(get(k), dtype=np.float32)
        warp = frame_warp((float(offsets_xy[k, 0]), float(offsets_xy[k, 1])), y.shape, grid,
                          plane_sub=plane_sub, plane_offset=plane_offset, psf_sigma=psf_sigma)
        v = np.ones_like(y) if valid is None else np.asarray(valid, np.float32)
        warp.adjoint(y * v, acc)
        warp.adjoint(v, wgt)
    valid = wgt > 1e-6
    if not valid.any():
        raise InputError("no frame overlaps the canvas")
    out = np.divide(acc, wgt, out=np.zeros_like(acc), where=valid)
    return fill_nearest(out, valid), wgt


def superresolve(frames: ArrayProvider, n: int, offsets_xy: np.ndarray, canvas: Canvas, *,
                 scale: float, plane_sub: tuple[int, int] = (1, 1),
                 plane_offset: tuple[float, float] = (0.0, 0.0), iterations: int = 20,
                 lam: float = 0.02, alpha: float = 0.7, p: int = 2, psf_sigma: float = 0.0,
                 eps: float = 0.01, eps_prior: float = 0.002,
                 init: np.ndarray | None = None, clip: tuple[float, float] | None = None,
                 grid_sub: tuple[int, int] | None = None,
                 grid_offset: tuple[float, float] | None = None,
                 valid: np.ndarray | None = None,
                 progress: ProgressCallback | None = None,
                 stats: SrStats | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Reconstruct one plane of the canvas at ``scale`` times its resolution.

    Parameters
    ----------
    frames : callable ``k -> ndarray`` or sequence of ndarray
        Frame planes (2-D, float, working units: Y' in [0, 1], Cb/Cr in [-0.5, 0.5]) at their
        native resolution. Called (or indexed) twice per iteration; only one frame is held at a
        time.
    n : int
        Number of frames.
    offsets_xy : ndarray (n, 2)
        ``(x, y)`` of each frame's luma pixel (0, 0) in frame-0 luma coordinates.
    canvas : Canvas
        The stitched area (frame-0 luma coordinates).
    scale : float
        Output pixels per canvas pixel, 1 < scale ≤ 8 (non-integer allowed).
    plane_sub : (sub_x, sub_y)
        Subsampling of this plane (2, 2 for 4:2:0 chroma; 1, 1 for luma).
    plane_offset : (ox, oy)
        Chroma siting offset in luma pixels (``ChromaLocation.offset(sub_x, sub_y)``).
    iterations : int
        Conjugate-gradient iterations (each = two passes over the frames).
    lam, alpha, p :
        Weight, decay and radius of the bilateral TV prior.
    psf_sigma : float
        Gaussian blur of the optics/encoder (luma pixels) on top of the pixel footprint.
    eps, eps_prior : float
        Charbonnier smoothing of the data and prior terms (working units).
    init : ndarray or None
        Starting estimate on the output grid (default: :func:`back_project`).
    clip : (lo, hi) or None
        Clamp the result to this range (e.g. (0, 1) for Y').
    grid_sub, grid_offset :
        Layout of the output grid (default: the plane's own, ``plane_sub``/``plane_offset``);
        ``(1, 1), (0, 0)`` gives chroma co-sited with the scaled luma (4:4:4 output).
    valid : ndarray or None
        Weight (0..1) of every sample of a frame plane, in frame-plane coordinates, the same for
        all frames: 0 ignores a static logo or the frame borders; None = all 1.
    progress : ProgressCallback
        Called as ``("superres", iteration, iterations)``.
    stats : SrStats or None
        Filled with the objective and the wall time of each iteration.

    Returns
    -------
    plane : ndarray, float32, shape of ``hr_grid(canvas, scale, plane_sub, plane_offset)``
        Luma: ``(ceil(H * scale), ceil(W * scale))``; output pixel (I, J) covers
        ``[canvas.x - 0.5 + J/scale, ... + 1/scale)``. A subsampled plane is laid out on that
        grid like the source's chroma on its luma (same siting).
    weight : ndarray, float32, same shape
        Observation weight per output pixel (0 where no frame sees it).
    """
    scale = check_scale(scale)
    if n < 1:
        raise InputError("super-resolution needs at least one frame")
    if iterations < 0:
        raise UsageError("iterations must be ≥ 0")
    progress = progress or no_progress
    get = reader(frames)
    offsets_xy = np.asarray(offsets_xy, dtype=np.float64).reshape(-1, 2)
    if len(offsets_xy) < n:
        raise InputError(f"{len(offsets_xy)} offsets for {n} frames")
    gsub = plane_sub if grid_sub is None else grid_sub
    goff = plane_offset if grid_offset is None else grid_offset
    grid = hr_grid(canvas, scale, gsub, goff)
    warps, _ = _warps(n, offsets_xy, get, grid, plane_sub, plane_offset, psf_sigma)

    x, weight = _start(get, n, offsets_xy, canvas, scale, plane_sub, plane_offset, psf_sigma,
                       gsub, goff, valid, init, grid.shape, warps)
    prior = _Btv(grid.shape, p, alpha, eps_prior)
    # the prior's weight follows the mean observations per output pixel
    _minimise(x, warps, get, valid, eps, prior, lam * (float(weight.sum()) / weight.size), lam,
              iterations, progress, stats)
    if clip is not None:
        np.clip(x, clip[0], clip[1], out=x)
    return x, weight


def _minimise(x: np.ndarray, warps: list[Warp], get: Callable[[int], np.ndarray],
              valid: np.ndarray | None, eps: float, prior: _Btv, wp: float, lam: float,
              iterations: int, progress: ProgressCallback, stats: SrStats | None) -> None:
    """Nonlinear conjugate gradients on the Charbonnier data term plus ``wp`` x the prior,
    in place on ``x`` (each iteration two passes over the frames)."""
    eps2 = eps * eps
    vw = None if valid is None else np.asarray(valid, dtype=np.float32)
    grad = np.empty_like(x)
    d = np.zeros_like(x)
    g_prev: np.ndarray | None = None
    for it in range(iterations):
        t0 = time.perf_counter()
        # pass 1: gradient of F at x
        fval = _data_gradient(x, grad, warps, get, vw, eps2)
        if lam > 0:
            fval += prior.value_grad(x, grad, wp)
        g_prev = _direction(grad, g_prev, d)
        gd = float(np.vdot(grad, d))
        # pass 2: curvature of the majoriser along d
        curv = _data_curvature(x, d, warps, get, vw, eps2)
        if lam > 0:
            curv += prior.curvature(x, d, wp)
        if curv <= 0 or gd >= 0:
            break
        x += np.float32(-gd / curv) * d
        if stats is not None:
            stats.objective.append(fval)
            stats.seconds.append(time.perf_counter() - t0)
        progress("superres", it + 1, iterations)


def _start(get: Callable[[int], np.ndarray], n: int, offsets_xy: np.ndarray, canvas: Canvas,
           scale: float, plane_sub: tuple[int, int], plane_offset: tuple[float, float],
           psf_sigma: float, gsub: tuple[int, int], goff: tuple[float, float],
           valid: np.ndarray | None, init: np.ndarray | None, shape: tuple[int, int],
           warps: list[Warp]) -> tuple[np.ndarray, np.ndarray]:
    """The starting estimate (``init``, or :func:`back_project`) and the observation weight
    of every output pixel."""
    weight = np.zeros(shape, np.float32)
    if init is None:
        x, weight = back_project(get, n, offsets_xy, canvas, scale=scale, plane_sub=plane_sub,
                                 plane_offset=plane_offset, psf_sigma=psf_sigma,
                                 grid_sub=gsub, grid_offset=goff, valid=valid)
    else:
        if init.shape != shape:
            raise UsageError(f"initial estimate has shape {init.shape}, expected {shape}")
        x = np.array(init, dtype=np.float32)
        for k in range(n):
            v = np.ones(np.shape(get(k)), np.float32) if valid is None else valid
            warps[k].adjoint(np.asarray(v, np.float32), weight)
    return x, weight


def _data_gradient(x: np.ndarray, grad: np.ndarray, warps: list[Warp],
                   get: Callable[[int], np.ndarray], vw: np.ndarray | None,
                   eps2: float) -> float:
    """The Charbonnier data term at ``x``; its gradient is written into ``grad``."""
    grad.fill(0.0)
    fval = 0.0
    for k in range(len(warps)):
        r = warps[k].forward(x) - np.asarray(get(k), dtype=np.float32)
        s = np.sqrt(r * r + eps2)
        if vw is None:
            fval += float(s.sum())
            warps[k].adjoint(r / s, grad)
        else:
            fval += float((vw * s).sum())
            warps[k].adjoint(vw * r / s, grad)
    return fval


def _direction(grad: np.ndarray, g_prev: np.ndarray | None, d: np.ndarray) -> np.ndarray:
    """Update the search direction ``d`` in place; the gradient kept for the next one."""
    # Polak-Ribière+ direction (restart when not a descent direction)
    if g_prev is None:
        d[:] = -grad
    else:
        gg = max(float(np.vdot(g_prev, g_prev)), 1e-30)
        beta = max(0.0, float(np.vdot(grad, grad - g_prev)) / gg)
        d *= beta
        d -= grad
        if float(np.vdot(grad, d)) >= 0:
            d[:] = -grad
    if g_prev is None:
        g_prev = grad.copy()
    else:
        g_prev[:] = grad
    return g_prev


def _data_curvature(x: np.ndarray, d: np.ndarray, warps: list[Warp],
                    get: Callable[[int], np.ndarray], vw: np.ndarray | None,
                    eps2: float) -> float:
    """Curvature of the data term's majoriser at ``x`` along ``d``."""
    curv = 0.0
    for k in range(len(warps)):
        r = warps[k].forward(x) - np.asarray(get(k), dtype=np.float32)
        q = warps[k].forward(d)
        c_k = q * q / np.sqrt(r * r + eps2)
        curv += float(c_k.sum() if vw is None else (vw * c_k).sum())
    return curv


def superresolve_planes(planes_of: Callable[[int], Sequence[np.ndarray]], n: int,
                        offsets_xy: np.ndarray, canvas: Canvas, *, scale: float,
                        subsampling: tuple[int, int], chroma_offset: tuple[float, float],
                        ycbcr: bool, full_chroma: bool = False, iterations: int = 20,
                        lam: float = 0.02, psf_sigma: float = 0.0,
                        valid: np.ndarray | None = None,
                        progress: ProgressCallback | None = None,
                        ) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """Super-resolve every plane of a scene (the ``--scale`` stage of ``stitch``).

    Parameters
    ----------
    planes_of : callable ``k -> planes``
        Working planes of frame k at native resolution (e.g. ``FrameStore.planes``).
    n, offsets_xy, canvas, scale :
        As :func:`superresolve`.
    subsampling : (sub_x, sub_y)
        Chroma subsampling of the frames (planes 1, 2 when ``ycbcr``).
    chroma_offset : (ox, oy)
        ``ChromaLocation.offset(sub_x, sub_y)`` of the frames.
    ycbcr : bool
        Planes are Y'CbCr (else R'G'B' or gray, all at luma resolution, values in [0, 1]).
    full_chroma : bool
        Output chroma co-sited with luma at full resolution (4:4:4) instead of the source's
        subsampling and siting.
    valid : ndarray (H, W) or None
        Weight of every luma pixel of a frame (0 = ignore, e.g. ``--mask``/``--border``); a
        subsampled plane uses the minimum over each chroma cell.

    Returns
    -------
    planes : tuple of float32 arrays on the scaled grids (:func:`hr_grid`)
    coverage : float32 array of the scaled luma size (observation weight, 0 = hole)
    """
    progress = progress or no_progress
    first = planes_of(0)
    outs = []
    coverage = None
    for p in range(len(first)):
        chroma = ycbcr and p > 0
        sub = subsampling if chroma else (1, 1)
        off = chroma_offset if chroma else (0.0, 0.0)
        gsub, goff = ((1, 1), (0.0, 0.0)) if (chroma and full_chroma) else (sub, off)
        clip = (-0.5, 0.5) if chroma else (0.0, 1.0)

        def get(k: int, p: int = p) -> np.ndarray:
            return planes_of(k)[p]

        def prog(stage: str, done: int, total: int | None, p: int = p) -> None:
            progress(f"superres {'YUV'[p] if ycbcr else p}", done, total)

        v = None
        if valid is not None:
            v = np.asarray(valid, np.float32)
            if sub != (1, 1):
                h, w = np.shape(first[p])
                vp = np.pad(v, ((0, h * sub[1] - v.shape[0]), (0, w * sub[0] - v.shape[1])),
                            mode="edge")
                v = vp.reshape(h, sub[1], w, sub[0]).min(axis=(1, 3))
        plane, weight = superresolve(get, n, offsets_xy, canvas, scale=scale, plane_sub=sub,
                                     plane_offset=off, iterations=iterations, lam=lam,
                                     psf_sigma=psf_sigma, clip=clip, grid_sub=gsub,
                                     grid_offset=goff, valid=v, progress=prog)
        if p == 0:
            coverage = weight
        outs.append(plane)
    assert coverage is not None
    return tuple(outs), coverage

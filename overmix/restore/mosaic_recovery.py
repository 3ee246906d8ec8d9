"""The steps of :func:`overmix.restore.mosaic.recover_mosaic`: what the frames observe on the
canvas grid, and the regularised least-squares solve by conjugate gradients.

Model and conventions: :mod:`overmix.restore.mosaic`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from overmix.progress import ProgressCallback
from overmix.restore.degrade import BlockMean, Grid, Warp

__all__ = ["Observed", "observe", "phases_enough", "solve_plane"]


@dataclass
class Observed:
    """Sums over the frames on the canvas grid: the normal equations' right-hand side, the
    weights and values seen uncensored (``direct``), under the mosaic (``cov``) and in all,
    and per pixel the block phases (bit sets along x and y) it was seen under the mosaic at."""

    rhs: np.ndarray
    wdirect: np.ndarray
    acc_direct: np.ndarray
    wcov: np.ndarray
    wall: np.ndarray
    acc_all: np.ndarray
    bits_x: np.ndarray
    bits_y: np.ndarray


def observe(get: Callable[[int], np.ndarray], n: int, warps: list[Warp], M: BlockMean,
             fmask: np.ndarray, offsets_xy: np.ndarray, grid: Grid,
             plane_offset: tuple[float, float], sub: tuple[int, int], phase: tuple[int, int],
             block: int) -> Observed:
    """One pass over the frames: :class:`Observed`."""
    sx, sy = sub
    shape = grid.shape
    fshape = fmask.shape
    inv = (~fmask).astype(np.float32)
    on = fmask.astype(np.float32)
    rhs = np.zeros(shape, np.float32)
    wdirect = np.zeros(shape, np.float32)
    acc_direct = np.zeros(shape, np.float32)
    wcov = np.zeros(shape, np.float32)
    wall = np.zeros(shape, np.float32)
    acc_all = np.zeros(shape, np.float32)
    bits_x = np.zeros(shape, np.int64)
    bits_y = np.zeros(shape, np.int64)
    cy = np.arange(shape[0])[:, None] * grid.py + grid.y0 + grid.py / 2  # cell centres, luma
    cx = np.arange(shape[1])[None, :] * grid.px + grid.x0 + grid.px / 2
    for k in range(n):
        y = np.asarray(get(k), dtype=np.float32)
        warps[k].adjoint(M(y), rhs)
        warps[k].adjoint(y * inv, acc_direct)
        warps[k].adjoint(inv, wdirect)
        warps[k].adjoint(on, wcov)
        warps[k].adjoint(y, acc_all)
        warps[k].adjoint(np.ones_like(y), wall)
        # block phase of every canvas pixel in this frame (for the "constrained" report)
        fy = np.floor((cy - offsets_xy[k, 1] - plane_offset[1]) / sy + 0.5).astype(np.int64)
        fx = np.floor((cx - offsets_xy[k, 0] - plane_offset[0]) / sx + 0.5).astype(np.int64)
        iny = (fy >= 0) & (fy < fshape[0])
        inx = (fx >= 0) & (fx < fshape[1])
        rr = np.clip(fy, 0, fshape[0] - 1)
        cc = np.clip(fx, 0, fshape[1] - 1)
        under = fmask[rr, cc] & iny & inx
        bits_y |= np.where(under, np.left_shift(1, (fy - phase[1]) % block), 0)
        bits_x |= np.where(under, np.left_shift(1, (fx - phase[0]) % block), 0)
    return Observed(rhs, wdirect, acc_direct, wcov, wall, acc_all, bits_x, bits_y)


def solve_plane(x0: np.ndarray, rhs: np.ndarray, warps: list[Warp], M: BlockMean, n: int,
                lam: float, iterations: int, edge_scale: float, reweight: int,
                progress: ProgressCallback) -> np.ndarray:
    """The plane that minimises the observations' misfit plus ``lam`` x the regulariser:
    conjugate gradients on the normal equations, reweighted towards a Huber prior."""
    shape = x0.shape
    # edge weights of the regulariser: all 1 (Tikhonov) in the first pass, then reweighted
    # (IRLS towards a Huber / total-variation prior): a cel drawing is flat between sharp
    # lines, and the quadratic prior would blur the lines it has to fill in under the mosaic
    wx = np.ones((shape[0], shape[1] - 1), np.float32)
    wy = np.ones((shape[0] - 1, shape[1]), np.float32)

    def normal(z: np.ndarray) -> np.ndarray:
        out = np.zeros(shape, np.float32)
        for k in range(n):
            warps[k].adjoint(M(warps[k].forward(z)), out)
        # + lam * D^T W D (weighted -Laplacian) with reflecting borders
        gx = lam * wx * np.diff(z, axis=1)
        gy = lam * wy * np.diff(z, axis=0)
        out[:, :-1] -= gx
        out[:, 1:] += gx
        out[:-1, :] -= gy
        out[1:, :] += gy
        return out

    # conjugate gradients on the normal equations (float32 planes, float64 scalars);
    # half the iterations for the first pass, the rest shared by the reweighted passes
    passes = 1 + max(int(reweight), 0) if edge_scale > 0 else 1
    budget = [iterations] if passes == 1 else (
        [iterations - iterations // 2]
        + [len(c) for c in np.array_split(np.arange(iterations // 2), passes - 1)])
    x = x0.astype(np.float32)
    done = 0
    for npass, its in enumerate(budget):
        if npass:
            # Huber weights: 1 below ``edge_scale``, edge_scale / |step| above
            wx = np.minimum(1.0, edge_scale / np.maximum(np.abs(np.diff(x, axis=1)), 1e-6))
            wy = np.minimum(1.0, edge_scale / np.maximum(np.abs(np.diff(x, axis=0)), 1e-6))
            wx = wx.astype(np.float32)
            wy = wy.astype(np.float32)
        r = rhs - normal(x)
        pdir = r.copy()
        rr = float(np.vdot(r, r))
        stop = 1e-12 * max(float(np.vdot(rhs, rhs)), 1e-30)
        for _ in range(its):
            if rr <= stop:
                break
            ap = normal(pdir)
            alpha = rr / max(float(np.vdot(pdir, ap)), 1e-30)
            x += np.float32(alpha) * pdir
            r -= np.float32(alpha) * ap
            rr_new = float(np.vdot(r, r))
            pdir = r + np.float32(rr_new / rr) * pdir
            rr = rr_new
            done += 1
            progress("mosaic", done, iterations)
    return x


def phases_enough(bits_x: np.ndarray, bits_y: np.ndarray, block: int) -> np.ndarray:
    """Pixels seen under the mosaic at no fewer than ``ceil(block / 2)`` (at least 2) block
    phases along each axis."""
    def popcount(v: np.ndarray) -> np.ndarray:
        cnt = np.zeros(v.shape, np.int64)
        for i in range(block):
            cnt += (v >> i) & 1
        return cnt

    need = max(2, -(-block // 2))
    return (popcount(bits_x) >= need) & (popcount(bits_y) >= need)

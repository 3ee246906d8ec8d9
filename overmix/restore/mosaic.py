"""Mosaic censor detection and recovery of the drawing under it (catalogue §6.9, §7.8).

A mosaic censor replaces each ``b x b`` block of a screen-fixed grid by the block's mean. When
the camera pans, the drawing moves under the fixed grid, so the same drawing pixels fall in
different blocks in different frames: frame k observes ``M (A_k D)``, where ``D`` is the drawing
on the canvas, ``A_k`` places it in frame k (sub-pixel shift, :mod:`overmix.restore.degrade`)
and ``M`` replaces the mosaic region's blocks by their means (an orthogonal projection). We solve
the regularised least-squares problem

    min_D  sum_k || M A_k D - y_k ||²  +  mu * c * sum_edges huber_s(grad D)

by conjugate gradients on the normal equations, matrix-free, streaming over the frames in every
product (only the right-hand side needs the frame pixels); the Huber prior (quadratic below the
scale ``s``, linear above: cel drawings are flat between sharp lines) is handled by iteratively
reweighted least squares, a few CG passes with edge weights from the previous estimate. Pixels
no frame constrains get the smooth continuation from the regulariser.

Codec noise (H.264 ringing inside the blocks, blocks not quite constant) is tolerated by the
detection, which pools per-cell evidence over all sampled frames in frame coordinates rather
than deciding frame by frame.

Overmix's "Demosaic" only samples every ``b``-th pixel of each frame (one per block, at a
user-given phase) and its "Mosaic detection" is an edge-direction image; here the block size,
grid phase and region are detected, every pixel of every block is used as a linear constraint,
and the fraction of the covered area that frames actually constrain is reported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from overmix.errors import InputError, UsageError
from overmix.geometry import Canvas
from overmix.progress import ProgressCallback, no_progress
from overmix.providers import ArrayProvider, reader
from overmix.restore.degrade import BlockMean, frame_warp, hr_grid
from overmix.restore.inpaint import fill_harmonic
from overmix.restore.mosaic_recovery import observe, phases_enough, solve_plane

__all__ = ["MosaicInfo", "MosaicResult", "detect_mosaic", "recover_mosaic"]



@dataclass
class MosaicInfo:
    """A detected mosaic censor, fixed to the screen.

    Attributes
    ----------
    block : int
        Block size in luma pixels.
    phase : (px, py)
        Column / row where a block starts (0 <= p < block).
    mask : ndarray (h, w), bool
        The censored region in frame coordinates (whole blocks).
    score : float
        Share of the frames' edges that sit on the grid beyond chance (0..1).
    """

    block: int
    phase: tuple[int, int]
    mask: np.ndarray
    score: float


@dataclass
class MosaicResult:
    """Result of :func:`recover_mosaic`.

    Attributes
    ----------
    plane : ndarray (H, W) float32
        The recovered plane on the canvas grid.
    covered : ndarray (H, W) bool
        Canvas pixels under the mosaic in at least one frame.
    direct : ndarray (H, W) bool
        Canvas pixels seen uncensored in at least one frame.
    constrained : ndarray (H, W) bool
        Pixels seen directly, or under the mosaic at no fewer than ``ceil(block / 2)``
        different block phases along each axis (the differences of overlapping block means
        then pin them down to a pixel or two; fewer phases leave them blurred).
    recovered_fraction : float
        Share of ``covered`` that is ``constrained``.
    """

    plane: np.ndarray
    covered: np.ndarray
    direct: np.ndarray
    constrained: np.ndarray
    recovered_fraction: float


def _grid_votes(y: np.ndarray, sizes: Sequence[int], tol: float) -> dict[int, tuple[np.ndarray,
                                                                                    np.ndarray]]:
    """Per block size, edge counts by column / row residue (border at position ``r mod b``)."""
    ex = (np.abs(np.diff(y, axis=1)) > tol).sum(axis=0).astype(np.float64)  # border j+1
    ey = (np.abs(np.diff(y, axis=0)) > tol).sum(axis=1).astype(np.float64)
    out = {}
    for b in sizes:
        hx = np.bincount((np.arange(1, len(ex) + 1)) % b, weights=ex, minlength=b)
        hy = np.bincount((np.arange(1, len(ey) + 1)) % b, weights=ey, minlength=b)
        out[b] = (hx, hy)
    return out


def _excess(h: np.ndarray) -> tuple[float, int]:
    tot = h.sum()
    if tot <= 0:
        return 0.0, 0
    r = int(h.argmax())
    return float(h[r] / tot - 1.0 / len(h)), r


def _cell_labels(shape: tuple[int, int], block: int, phase: tuple[int, int]) -> tuple[np.ndarray,
                                                                                       int, int]:
    h, w = shape
    ci = (np.arange(h) - phase[1] + block) // block
    cj = (np.arange(w) - phase[0] + block) // block
    nci, ncj = int(ci.max()) + 1, int(cj.max()) + 1
    return ci[:, None] * ncj + cj[None, :], nci, ncj


def _cell_evidence(get: Callable[[int], np.ndarray], picks: np.ndarray, shape: tuple[int, int],
                   block: int, phase: tuple[int, int]) -> tuple[np.ndarray, np.ndarray,
                                                                 np.ndarray]:
    """Mean pixel steps per grid cell, accumulated over the sampled frames (frame coordinates).

    Returns
    -------
    inside : ndarray (nci, ncj) float64
        Mean over the frames of the mean |step| between neighbouring pixels of the same cell.
    jump_r : ndarray (nci, ncj - 1) float64
        Mean over the frames of the mean |step| across the border with the right neighbour.
    jump_d : ndarray (nci - 1, ncj) float64
        The same across the border with the neighbour below.

    The mosaic is fixed to the screen while the drawing pans under it, so these averages
    separate the two without any per-frame decision: under the mosaic the steps sit on the
    block borders (codec ringing only adds a small ``inside``), while over the moving drawing
    every position inside a cell sees the same edges as its borders over the pan.
    """
    lab, nci, ncj = _cell_labels(shape, block, phase)
    nc = nci * ncj
    bx = ((np.arange(1, shape[1]) - phase[0]) % block) == 0  # pair (j, j+1) crosses a border
    by = ((np.arange(1, shape[0]) - phase[1]) % block) == 0
    lx_in = lab[:, :-1][:, ~bx].ravel()
    ly_in = lab[:-1, :][~by, :].ravel()
    lx_bd = lab[:, :-1][:, bx].ravel()  # cell left of each crossing pair
    ly_bd = lab[:-1, :][by, :].ravel()
    n_in = np.bincount(lx_in, minlength=nc) + np.bincount(ly_in, minlength=nc)
    n_r = np.bincount(lx_bd, minlength=nc)
    n_d = np.bincount(ly_bd, minlength=nc)
    s_in = np.zeros(nc)
    s_r = np.zeros(nc)
    s_d = np.zeros(nc)
    for k in picks:
        y = np.asarray(get(int(k)), dtype=np.float32)
        dx = np.abs(np.diff(y, axis=1))
        dy = np.abs(np.diff(y, axis=0))
        s_in += (np.bincount(lx_in, weights=dx[:, ~bx].ravel(), minlength=nc)
                 + np.bincount(ly_in, weights=dy[~by, :].ravel(), minlength=nc))
        s_r += np.bincount(lx_bd, weights=dx[:, bx].ravel(), minlength=nc)
        s_d += np.bincount(ly_bd, weights=dy[by, :].ravel(), minlength=nc)
    m = max(len(picks), 1)
    inside = (s_in / np.maximum(n_in, 1) / m).reshape(nci, ncj)
    jump_r = (s_r / np.maximum(n_r, 1) / m).reshape(nci, ncj)[:, :-1]
    jump_d = (s_d / np.maximum(n_d, 1) / m).reshape(nci, ncj)[:-1, :]
    return inside, jump_r, jump_d


def _region_mask(get: Callable[[int], np.ndarray], picks: np.ndarray, shape: tuple[int, int],
                 b: int, phase: tuple[int, int], flat_tol: float,
                 edge_tol: float) -> np.ndarray:
    """The censored region (bool, frame shape) for the grid ``(b, phase)``.

    Evidence is pooled over all sampled frames in frame coordinates (:func:`_cell_evidence`),
    so codec noise, which differs from frame to frame, averages out instead of vetoing cells
    frame by frame. A cell's *border ratio* on each side is the mean step across that border
    over the cell's mean step inside (floored at ``0.3 * edge_tol``: codec ringing and flat
    drawing); a moving drawing gives about 1 on every side. Seeds: cells with three of their
    four side ratios >= 3 (a drawing cell next to the censor has one strong side) whose inside
    step is near the censor's noise floor (the median over the candidates). Seeds are
    hole-filled and closed, components of fewer than six cells dropped, and each component
    completed by the cells of its bounding box that are consistent with a mosaic (two side
    ratios >= 1.5, or nearly constant inside on average: over flat parts of the drawing a
    mosaic cell shows no jumps to pool).
    """
    inside, jump_r, jump_d = _cell_evidence(get, picks, shape, b, phase)
    nci, ncj = inside.shape
    side = np.zeros((4, nci, ncj))  # missing sides (frame edge) count as no evidence
    side[0][:, 1:] = jump_r
    side[1][:, :-1] = jump_r
    side[2][1:] = jump_d
    side[3][:-1] = jump_d
    ratio = side / np.maximum(inside, 0.3 * edge_tol)
    srt = np.sort(ratio, axis=0)
    score = srt[1]  # three of the four sides strong
    weak = srt[2]  # two of the four sides
    lab_full, _, _ = _cell_labels(shape, b, phase)
    whole = (np.bincount(lab_full.ravel(), minlength=nci * ncj) == b * b).reshape(nci, ncj)
    cells = (score >= 2.0) & whole
    if cells.any():
        # drawing cells next to the censor can show strong sides too (the step from a block
        # mean to the drawing); they are far from constant inside, unlike the censor's cells,
        # whose inside steps are the codec's noise floor, the same across the censor
        floor = float(np.median(inside[cells]))
        cells &= inside <= max(2.5 * floor, 0.3 * edge_tol)
    consistent = ((weak >= 1.5) | (inside < min(flat_tol, 0.5 * edge_tol))) & whole
    cells = ndimage.binary_fill_holes(cells)
    cells = ndimage.binary_closing(cells, np.ones((3, 3), bool), border_value=0) | cells
    cells = ndimage.binary_fill_holes(cells)
    lbl, nl = ndimage.label(cells)
    if nl:
        keep = np.bincount(lbl.ravel()) >= 6
        keep[0] = False
        cells = keep[lbl]
        # censors are compact: complete each region within its bounding box
        lbl, _ = ndimage.label(cells)
        for sl in ndimage.find_objects(lbl):
            if sl is not None:
                cells[sl] |= consistent[sl]
        cells = ndimage.binary_fill_holes(cells)
    return cells.ravel()[lab_full]


def detect_mosaic(frames: ArrayProvider, n: int, *, sizes: Sequence[int] = range(4, 33),
                  sample: int = 24, min_score: float = 0.005, tries: int = 8,
                  edge_tol: float = 0.02,
                  flat_tol: float = 0.04) -> MosaicInfo | None:
    """Find a screen-fixed mosaic censor in the frames' Y' planes.

    Candidates: every horizontal/vertical pixel difference above ``edge_tol`` votes for its
    border position modulo each candidate size ``b``; a mosaic puts an excess of votes on one
    residue (its grid phase), natural edges spread evenly; the true size has a larger excess
    (``f (1 - 1/b)`` for a share ``f`` of mosaic edges) than its divisors and multiples.
    Decision: in order of excess (at most ``tries`` sizes), the first size for which the
    region test of :func:`_region_mask` finds at least four whole blocks: cells nearly
    constant inside that jump against their neighbours, on average over the sampled frames
    (robust to codec noise: H.264 up to crf ~32 on drawn test pans).

    Parameters
    ----------
    frames : callable or sequence
        Luma planes (2-D float, Y' in [0, 1]), all the same size.
    n : int
    sizes : block sizes to try (luma pixels).
    sample : int
        Frames examined (spread evenly).
    min_score : float
        Least excess share of edges on the grid to consider a size.
    tries : int
        Region tests at most (candidates in order of excess): a small censor or one under
        strong codec smoothing casts few votes, so the true size need not lead them.
    edge_tol, flat_tol : float
        Pixel step that counts as an edge (Y'); ``0.3 * edge_tol`` floors a cell's mean inside
        step and ``min(flat_tol, edge_tol / 2)`` is the mean inside step below which a cell
        counts as constant when completing a region.

    Returns
    -------
    MosaicInfo or None when no mosaic is found.
    """
    get = reader(frames)
    if n < 1:
        raise InputError("no frames to look for a mosaic in")
    sizes = [int(b) for b in sizes if 2 <= int(b)]
    picks = np.unique(np.linspace(0, n - 1, min(sample, n)).round().astype(int))
    votes: dict[int, list[np.ndarray]] = {b: [0, 0] for b in sizes}  # type: ignore[misc]
    shape: tuple[int, int] | None = None
    for k in picks:
        y = np.asarray(get(int(k)), dtype=np.float32)
        if shape is None:
            shape = y.shape  # type: ignore[assignment]
        elif y.shape != shape:
            raise InputError("frames of different sizes")
        for b, (hx, hy) in _grid_votes(y, sizes, edge_tol).items():
            votes[b][0] = votes[b][0] + hx
            votes[b][1] = votes[b][1] + hy
    assert shape is not None
    cands = []
    for b in sizes:
        sx, rx = _excess(np.asarray(votes[b][0], dtype=np.float64))
        sy, ry = _excess(np.asarray(votes[b][1], dtype=np.float64))
        cands.append((min(sx, sy), b, rx, ry))
    top = max(c[0] for c in cands)
    if top < min_score:
        return None
    # The votes propose, best first; the region test decides (it rejects gradients and line
    # art that happens to repeat). The true size out-votes its divisors and multiples.
    for score, b, px, py in sorted(cands, reverse=True)[:max(int(tries), 1)]:
        if score < min_score:
            break
        mask = _region_mask(get, picks, shape, b, (px, py), flat_tol, edge_tol)
        if mask.sum() >= 4 * b * b:
            return MosaicInfo(b, (px, py), mask, float(score))
    return None


def recover_mosaic(frames: ArrayProvider, n: int, offsets_xy: np.ndarray, canvas: Canvas,
                   info: MosaicInfo, *, iterations: int = 200, mu: float = 0.02,
                   edge_scale: float = 0.03, reweight: int = 3,
                   plane_sub: tuple[int, int] = (1, 1),
                   plane_offset: tuple[float, float] = (0.0, 0.0),
                   progress: ProgressCallback | None = None) -> MosaicResult:
    """Recover the drawing under a screen-fixed mosaic from a pan.

    Parameters
    ----------
    frames : callable or sequence
        Planes (2-D float, working units) of this plane (luma by default).
    n : int
    offsets_xy : ndarray (n, 2)
        Frame offsets (DESIGN §4).
    canvas : Canvas
    info : MosaicInfo
        From :func:`detect_mosaic` (block, phase, mask in luma pixels).
    iterations : int
        Conjugate-gradient iterations at most (each streams over the frames once).
    mu : float
        Weight of the smoothness regulariser (relative to the mean observations per pixel).
    edge_scale : float
        Huber scale of the regulariser (working units, Y' for luma): steps above it are
        penalised linearly (total-variation-like, keeps the drawing's lines sharp where
        they must be filled in), below it quadratically. 0 keeps the plain quadratic prior.
    reweight : int
        Reweighted (IRLS) passes after the first, quadratic one; ``iterations`` is shared:
        half for the first pass, the rest split evenly.
    plane_sub, plane_offset :
        For a chroma plane: subsampling and siting; the block size and phase must be multiples
        of the subsampling.
    progress : ProgressCallback
        ``("mosaic", iteration, iterations)``.

    Returns
    -------
    MosaicResult
    """
    progress = progress or no_progress
    get = reader(frames)
    sx, sy = plane_sub
    if info.block % sx or info.block % sy or info.phase[0] % sx or info.phase[1] % sy:
        raise UsageError("mosaic block grid does not fit the plane's subsampling")
    block = info.block // sx  # same along y for square blocks and sx == sy
    if sx != sy:
        raise UsageError("mosaic recovery needs equal subsampling along x and y")
    phase = (info.phase[0] // sx, info.phase[1] // sy)
    offsets_xy = np.asarray(offsets_xy, dtype=np.float64).reshape(-1, 2)
    grid = hr_grid(canvas, 1.0, plane_sub, plane_offset)  # the canvas grid itself
    fshape = tuple(np.shape(get(0)))
    fmask = info.mask
    if sx > 1:
        fmask = info.mask[::sy, ::sx][: fshape[0], : fshape[1]]
    if fmask.shape != fshape:
        raise InputError(f"mosaic mask {fmask.shape} does not match frames {fshape}")
    warps = [frame_warp((float(offsets_xy[k, 0]), float(offsets_xy[k, 1])), fshape, grid,
                        plane_sub=plane_sub, plane_offset=plane_offset) for k in range(n)]
    M = BlockMean(fshape, block, phase, fmask)  # type: ignore[arg-type]

    # right-hand side, coverage maps and the initial estimate (one pass over the frames)
    obs = observe(get, n, warps, M, fmask, offsets_xy, grid, plane_offset, (sx, sy), phase,
                   block)
    if not (obs.wall > 0).any():
        raise InputError("no frame overlaps the canvas")
    direct = obs.wdirect > 0.05
    covered = obs.wcov > 0.05
    x0 = np.where(direct, obs.acc_direct / np.maximum(obs.wdirect, 1e-6),
                  obs.acc_all / np.maximum(obs.wall, 1e-6))
    x0 = fill_harmonic(x0.astype(np.float32), obs.wall > 1e-6)

    c = float(obs.wall.sum()) / obs.wall.size
    lam = mu * c
    plane = solve_plane(x0, obs.rhs, warps, M, n, lam, iterations, edge_scale, reweight, progress)
    constrained = direct | phases_enough(obs.bits_x, obs.bits_y, block)
    ncov = int(covered.sum())
    frac = float((constrained & covered).sum()) / ncov if ncov else 1.0
    return MosaicResult(plane, covered, direct, constrained, frac)

"""Global frame offsets from pairwise shifts: robust weighted least squares.

Each measured pair (i, j, d) says ``xy[j] - xy[i] ≈ d`` (``d`` from
:func:`overmix.registration.phase.estimate_shift` with ``ref = frame i``, ``mov = frame j``). The
offsets minimise ``sum_k w_k * rho(|xy[j_k] - xy[i_k] - d_k|)`` with frame ``anchor`` fixed at
(0, 0): weights ``w = c^2 / (sigma^2 + sigma0^2)`` from the pair's standard error ``sigma``,
its confidence ``c`` and a floor ``sigma0`` for errors the refinement cannot see
(interpolation, aliasing, compression); ``rho`` is Huber for a few iterations, then Tukey's
biweight, by iteratively reweighted least squares, so a wrong pair (a noise frame, a repeated
texture) ends with weight 0 and is reported as an outlier.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np

from overmix.errors import AlignmentError, UsageError
from overmix.registration.phase import PairResult, check_motion

__all__ = ["Pair", "components", "first_break", "frame_labels", "pair_weights", "solve_offsets",
           "solve_report"]

# Floor of a pair's standard error (px): systematic errors the refinement does not report.
SIGMA0 = 0.02
# Pairs below this confidence (ZNCC) are not used at all.
MIN_CONFIDENCE = 0.35
# Tukey threshold (in robust-scale units) and the smallest scale (px) it is applied to.
_TUKEY_C = 4.685
_MIN_SCALE = 0.03
# Up to this many frames the normal equations are solved as a dense matrix.
_DENSE_MAX = 400



def frame_labels(n: int, indices: Sequence[int] | None) -> list[int]:
    """The input positions of a scene's ``n`` frames (``0..n-1`` by default), checked the
    same way by every motion model: one label per frame and at least two frames."""
    labels = list(range(n)) if indices is None else [int(i) for i in indices]
    if len(labels) != n:
        raise UsageError(f"indices has {len(labels)} entries for {n} frames")
    if n < 2:
        raise AlignmentError(f"alignment needs at least 2 frames (got {n})")
    return labels


@dataclass(frozen=True)
class Pair:
    """One measured pair: frame ``j`` sits at ``xy[i] + (dx, dy)``.

    ``weight`` is the least-squares weight of ``dx`` (1 / variance, px^-2) and ``weight_y`` that
    of ``dy`` (None = the same), so a pair that pins only one axis (the aperture problem:
    a pan over vertical stripes) does not drag the other.
    """

    i: int
    j: int
    dx: float
    dy: float
    weight: float = 1.0
    confidence: float = 1.0
    weight_y: float | None = None


def pair_weights(r: PairResult) -> tuple[float, float]:
    """Weights ``c^2 / (sigma^2 + SIGMA0^2)`` of a measurement's x and y."""
    out = []
    for sig in (r.sigma_x, r.sigma_y):
        sig = sig if math.isfinite(sig) else 0.1
        out.append(r.confidence ** 2 / (sig * sig + SIGMA0 * SIGMA0))
    return out[0], out[1]


def _as_pair(p: Any) -> Pair:
    if isinstance(p, Pair):
        return p
    i, j, r = p[0], p[1], p[2]
    if isinstance(r, PairResult):
        wx, wy = pair_weights(r)
        return Pair(int(i), int(j), float(r.dx), float(r.dy), wx, float(r.confidence), wy)
    dx, dy = float(p[2]), float(p[3])
    w = float(p[4]) if len(p) > 4 else 1.0
    return Pair(int(i), int(j), dx, dy, w, 1.0)


def components(n: int, edges: Sequence[tuple[int, int]]) -> np.ndarray:
    """Connected-component label (0..) of each of ``n`` nodes given undirected ``edges``."""
    parent = list(range(n))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    roots = [find(a) for a in range(n)]
    _, labels = np.unique(roots, return_inverse=True)
    return labels.astype(np.int64)


def _wls(n: int, pi: np.ndarray, pj: np.ndarray, d: np.ndarray, w: np.ndarray,
         anchor: int) -> np.ndarray:
    """Weighted least squares for one axis; frame ``anchor`` = 0. Returns (n,) positions.

    The normal matrix is the weighted graph Laplacian of the pairs (sparse: each frame has a
    handful of pairs), solved with the anchor's row and column removed."""
    ww = np.concatenate([w, w, -w, -w])
    rows = np.concatenate([pi, pj, pi, pj])
    cols = np.concatenate([pi, pj, pj, pi])
    rhs = np.bincount(pj, w * d, minlength=n) - np.bincount(pi, w * d, minlength=n)
    keep = np.ones(n, bool)
    keep[anchor] = False
    # a tiny ridge keeps frames without pairs finite (the caller marks them)
    ridge = 1e-9 * max(float(w.max(initial=0)), 1e-12)
    x = np.zeros(n)
    if n <= 1:
        return x
    if n <= _DENSE_MAX:
        # a scene's few hundred frames: a dense solve, without sparse-matrix set-up costs
        # that would otherwise dominate short scenes of small frames
        lap = np.bincount(rows * n + cols, ww, minlength=n * n).reshape(n, n)
        sub = lap[np.ix_(keep, keep)]
        sub[np.diag_indices(n - 1)] += ridge
        x[keep] = np.linalg.solve(sub, rhs[keep])
        return x
    from scipy import sparse  # long scenes only: scipy's import costs ~0.2 s of start-up
    from scipy.sparse.linalg import spsolve

    lap = sparse.csr_matrix((ww, (rows, cols)), shape=(n, n))
    sub = lap[keep][:, keep] + sparse.identity(n - 1, format="csr") * ridge
    x[keep] = spsolve(sub.tocsc(), rhs[keep])
    return x


def solve_offsets(n: int, pairs: Sequence[Any], *, motion: str = "xy", anchor: int = 0,
                  min_confidence: float = MIN_CONFIDENCE,
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Offsets of ``n`` frames from pairwise shifts.

    Parameters
    ----------
    n : int
        Number of frames.
    pairs : sequence
        :class:`Pair` objects, ``(i, j, PairResult)`` tuples or ``(i, j, dx, dy[, weight])``
        tuples; each says frame j sits at ``xy[i] + (dx, dy)`` (luma pixels).
    motion : "xy" | "x" | "y"
        "x" forces every y to 0, "y" every x to 0.
    anchor : int
        The frame fixed at (0, 0).
    min_confidence : float
        Pairs below this confidence are outliers from the start.

    Returns
    -------
    xy : ndarray (n, 2) float64
        ``(x, y)`` of each frame; NaN for frames no inlier pair connects to ``anchor``.
    residuals : ndarray (m,) float64
        ``|xy[j] - xy[i] - d|`` of each pair (px), in the order given.
    inliers : ndarray (m,) bool
        Pairs kept by the robust fit.
    """
    check_motion(motion)
    ps = [_as_pair(p) for p in pairs]
    m = len(ps)
    xy = np.full((n, 2), np.nan)
    if m == 0 or n < 1:
        if n >= 1:
            xy[anchor] = 0.0
        return xy, np.zeros(m), np.zeros(m, bool)
    pi = np.array([p.i for p in ps], np.int64)
    pj = np.array([p.j for p in ps], np.int64)
    d = np.array([[p.dx, p.dy] for p in ps], np.float64)
    if motion == "x":
        d[:, 1] = 0.0
    elif motion == "y":
        d[:, 0] = 0.0
    w0 = np.array([[p.weight, p.weight if p.weight_y is None else p.weight_y] for p in ps],
                  np.float64)
    conf = np.array([p.confidence for p in ps], np.float64)
    usable = ((conf >= min_confidence) & np.all(w0 > 0, axis=1) & np.all(np.isfinite(d), axis=1)
              & (pi != pj))
    w0 = np.where(usable[:, None], w0, 0.0)
    pos, rw = _irls(n, pi, pj, d, w0, usable, anchor)
    inliers = usable & (rw > 0)
    res = np.hypot(*(pos[pj] - pos[pi] - d).T)
    labels = components(n, [(int(a), int(b)) for a, b in zip(pi[inliers], pj[inliers],
                                                              strict=True)])
    connected = labels == labels[anchor]
    xy = np.where(connected[:, None], pos, np.nan)
    if motion == "x":
        xy[connected, 1] = 0.0
    elif motion == "y":
        xy[connected, 0] = 0.0
    return xy, res, inliers


def _irls(n: int, pi: np.ndarray, pj: np.ndarray, d: np.ndarray, w0: np.ndarray,
          usable: np.ndarray, anchor: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions (n, 2) by iteratively reweighted least squares (Huber, then Tukey's
    biweight) and the pairs' final robust weights (m,)."""
    rw = usable.astype(np.float64)
    pos = np.zeros((n, 2))
    if usable.any():
        for it in range(16):
            w = w0 * rw[:, None]
            if not np.any(w > 0):
                break
            pos[:, 0] = _wls(n, pi, pj, d[:, 0], w[:, 0], anchor)
            pos[:, 1] = _wls(n, pi, pj, d[:, 1], w[:, 1], anchor)
            res = np.hypot(*(pos[pj] - pos[pi] - d).T)
            ru = res[usable]
            scale = max(1.4826 * float(np.median(ru)), _MIN_SCALE)
            u = res / scale
            if it < 5:  # Huber: down-weight, never drop
                k = 1.345
                new = np.where(u <= k, 1.0, k / np.maximum(u, 1e-12))
            else:  # Tukey biweight: large residuals get weight 0
                t = u / _TUKEY_C
                new = np.where(t < 1, (1 - t * t) ** 2, 0.0)
            new = np.where(usable, new, 0.0)
            if it > 5 and np.allclose(new, rw, atol=1e-4):
                rw = new
                break
            rw = new
    return pos, rw


def solve_report(rin: np.ndarray, pairs: int, rejected: list[list[int]]) -> dict[str, object]:
    """The solve's part of the offsets JSON ``extra``: RMS and largest residual (px) of the
    inlier pairs ``rin``, the number of measured pairs and the rejected ones (input indices)."""
    return {
        "residual_rms": float(math.sqrt(float(np.mean(rin ** 2)))) if rin.size else 0.0,
        "residual_max": float(rin.max()) if rin.size else 0.0,
        "pairs": pairs,
        "rejected_pairs": len(rejected),
        "rejected": rejected,
    }


def first_break(comp: np.ndarray, labels: Sequence[int]) -> NoReturn:
    """Raise the error that names the first place where the frames (their :func:`components`
    ``comp``) break into groups."""
    for k in range(len(comp) - 1):
        if comp[k] != comp[k + 1]:
            raise AlignmentError(
                f"frames {labels[k]} and {labels[k + 1]} do not overlap or do not match "
                "(no reliable alignment between them)")
    raise AlignmentError("frames could not be aligned")

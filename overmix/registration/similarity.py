"""Zoom and rotation between two luma planes: sub-pixel Gauss-Newton on a similarity.

Convention (DESIGN §4 "Transforms"): the transform of ``mov`` relative to ``ref`` maps mov's
pixel centre p = (column, row) to ref coordinates ``T(p) = x + m·p`` in complex notation
(``p = column + i·row``, ``x = dx + i·dy``, ``m = s·e^{i·a}``): s > 1 means mov shows more of
the scene. The translation case is m = 1 (:mod:`overmix.registration.phase`).

Method
------
The refinement is the symmetric one of :mod:`overmix.registration.phase`, generalised: both
planes are resampled "half-way", ref at ``q + D(q)/2`` and mov at ``q − D(q)/2``, where the
displacement D of the midpoint q is itself a similarity (for ``T(p) = x + m·p``,
``D(q) = t + μ·(q − c)`` with ``μ = 2(m − 1)/(m + 1)``, c the frame centre), so neither side is
favoured and the estimate has no pull towards whole pixels. Parameters: t (2) and μ (2 for
``similarity``, its real part only for ``zoom``), linear in D, so each Gauss-Newton row is
``[gx, gy, gx·X + gy·Y, −gx·Y + gy·X]`` (X, Y = q − c, g the gradient of the mean image).

Resampling per pixel through a rotation would need a 2-D kernel; instead each small tile
(at most 32 x 32 or 48 x 48 px) is resampled at the displacement of its centre with the same
separable 12-tap Lanczos as the translation path (one batched matrix product per pass, per-tile
kernels), and the residual gets the first-order correction ``g·(D(q) − D(tile centre))``
(under 0.1 px across a tile for the zooms met between video frames; its second-order error is
far below the noise). The refinement runs from a coarse pyramid level down to full
resolution; the coarse start is the translation phase correlation of
:mod:`overmix.registration.phase` (at the centre, a zoom or a small rotation is a shift) plus
the caller's prediction of μ (the chained zoom/rotation rate of the neighbours).
Robust (Cauchy) weights, gain/offset matching, masks (``kvalid``), leaving out the tiles that
do not follow the transform (an unmasked overlay) and the statistics (ZNCC, RMS, standard
errors from the normal matrix) are as in the translation path. The step itself is
:mod:`overmix.registration.similarity_step`. A step samples four times the translation
path's pixels (through H.264 the sampled pixels set the error, see ``_PIXELS``), and a
refinement stops as soon as its next step is predicted below the tolerance.
"""

from __future__ import annotations

import cmath
from dataclasses import dataclass

import numpy as np

from overmix.errors import AlignmentError, UsageError
from overmix.registration.coarse import _coarse
from overmix.registration.fine import _ROBUST_C, _inlier_tiles, _region
from overmix.registration.pyramid import PreparedPlane
from overmix.registration.similarity_step import _Fit, _step
from overmix.registration.tiles import _CELL, _MIN_TILES, _energy, _fine_budget, _spread, _tiles

__all__ = ["SimilarityResult", "estimate_similarity", "MODELS", "midpoint", "step_budget",
           "transform"]

MODELS = ("zoom", "similarity")
# Tile side (px) for frames taken whole, at most; tiles shrink (to _MIN_TILE) so that the
# displacement varies by at most _TILE_SPREAD px between a tile's centre and its edge.
_STILE = 32
_MIN_TILE = 16
_TILE_SPREAD = 0.15
# A budgeted step samples _PIXELS times the translation path's pixels (_SLOW_PIXELS times for
# the slow zooms of video, in about _ZONES tiles). Through H.264 each macroblock's content is
# displaced a little on its own, and a frame's pairs sample the same places of it (tiles sit
# where the drawing has detail), so the sampled pixels, not the pairs, set the error: more
# pixels per pair, fewer pairs (registration.transform.TRANSFORM_JUMPS). 36 fixed 8/10-bit
# clips (tools/bench_align.py --seeds 6), 2x pixels in 10 tiles and jumps (1, 4, 8) -> 4x in
# 30 tiles and (1, 8): mean of the clips' worst corner errors 0.039 -> 0.031 px (3x: 0.034),
# at less time. (A fast zoom's many small tiles keep 3x: more misled a detection hop.)
_PIXELS = 3
_SLOW_PIXELS = 4
_ZONES = 30
# Tiles are judged by their residual only once a full-resolution step is below this (px):
# before, the tiles far from the centre fit worst merely because the zoom is not yet right.
_SETTLED = 0.1
# A refinement whose steps shrink at least this fast stops when the next step is predicted
# below the tolerance (the last step's length x its ratio to the one before).
_FAST_RATE = 0.3


@dataclass(frozen=True)
class SimilarityResult:
    """Measured transform of ``mov`` relative to ``ref``: ``T(p) = x + m·p`` (complex).

    ``dx, dy`` = x; ``scale`` = |m|; ``angle`` = arg m (radians). ``cx, cy``: the
    displacement of the frame centre's midpoint ``D(c)`` (px; the best-measured position);
    ``mu`` the midpoint rate μ (complex). ``sigma_t`` and ``sigma_mu`` standard errors of D(c)
    (px) and μ (1), ``confidence`` the ZNCC, ``error`` the RMS residual (luma units).
    """

    dx: float
    dy: float
    scale: float
    angle: float
    cx: float
    cy: float
    mu: complex
    confidence: float
    error: float
    overlap: float
    sigma_t: float
    sigma_mu: float

    @property
    def m(self) -> complex:
        return cmath.rect(self.scale, self.angle)


def transform(t: complex, mu: complex, c: complex) -> tuple[complex, complex]:
    """Midpoint parameters ``D(q) = t + μ (q − c)`` -> ``(x, m)`` of ``T(p) = x + m p``."""
    m = (2 + mu) / (2 - mu)
    x = t * (1 + m) / 2 - (m - 1) * c
    return x, m


def midpoint(x: complex, m: complex, c: complex) -> tuple[complex, complex]:
    """``(x, m)`` -> midpoint parameters ``(t, μ)`` (inverse of :func:`transform`)."""
    mu = 2 * (m - 1) / (m + 1)
    t = 2 * (x + (m - 1) * c) / (1 + m)
    return t, mu


def _layout(h: int, w: int, t: complex, mu: complex, c: complex, budget: int | None,
            energy: np.ndarray | None, cell: int) -> tuple[np.ndarray, int, int]:
    """Tiles (starts (n, 2) row/col, rows, cols) inside the region where every tile's
    resampling stays inside both planes."""
    corners = [complex(0, 0), complex(w - 1, 0), complex(0, h - 1), complex(w - 1, h - 1)]
    ds = [t + mu * (q - c) for q in corners]
    reg = _region(h, w, max(abs(d.real) for d in ds) + 1, max(abs(d.imag) for d in ds) + 1)
    if reg is None:
        raise AlignmentError("the frames do not overlap enough to be aligned")
    y0, x0, rows, cols = reg
    side = int(min(_STILE, max(_MIN_TILE, 2 * _TILE_SPREAD / max(abs(mu), 1e-9))))
    if budget is None or rows * cols <= budget:
        th, tw = min(rows, side), min(cols, side)
        ys = _spread(y0, rows, th, -(-rows // th))
        xs = _spread(x0, cols, tw, -(-cols // tw))
        grid = np.stack(np.meshgrid(ys, xs, indexing="ij"), axis=-1).reshape(-1, 2)
        return np.ascontiguousarray(grid, np.int64), th, tw
    # more pixels in more, smaller zones only for the slow zooms of video (a fast one cuts
    # tiles smaller)
    slow = side >= _STILE
    zones = _ZONES if slow else _MIN_TILES
    budget = min(budget * _SLOW_PIXELS // _PIXELS, rows * cols) if slow else budget
    starts, th, tw = _tiles(y0, x0, rows, cols, budget, energy, (t.real / 2, t.imag / 2), cell,
                            zones)
    k = -(-max(th, tw) // max(side, _MIN_TILE))
    if k > 1:  # a fast zoom: cut each tile into k x k smaller ones
        sh, sw = th // k, tw // k
        off = np.stack(np.meshgrid(np.arange(k) * sh, np.arange(k) * sw, indexing="ij"),
                       axis=-1).reshape(-1, 2)
        starts = (starts[:, None, :] + off[None]).reshape(-1, 2)
        th, tw = sh, sw
    return np.ascontiguousarray(starts, np.int64), th, tw


def step_budget(pixels: int) -> int | None:
    """Pixels sampled per Gauss-Newton step on a level of ``pixels`` (None: the whole
    overlap); see :data:`_PIXELS`."""
    budget = _fine_budget(pixels)
    if budget is None or 2 * _PIXELS * budget >= pixels:
        return None
    return _PIXELS * budget


def _refine(ref: PreparedPlane, mov: PreparedPlane, t: complex, mu: complex, level: int,
            rotate: bool, whole: bool = False) -> _Fit:
    """Gauss-Newton from pyramid ``level`` down to full resolution; ``t`` in full-res px
    (displacement of the centre's midpoint), μ dimensionless; ``whole``: every step samples
    the whole overlap."""
    h0, w0 = ref.shape
    c0 = complex((w0 - 1) / 2, (h0 - 1) / 2)
    fit: _Fit | None = None
    for lvl in range(level, -1, -1):
        f = 2.0 ** lvl
        o = (f - 1) / 2
        c = complex((c0.real - o) / f, (c0.imag - o) / f)
        tl, mu, fit = _refine_level(ref, mov, lvl, t / f, mu, c, rotate, fit, whole)
        t = tl * f
    assert fit is not None
    fit.t, fit.mu = t, mu
    return fit


def _refine_level(ref: PreparedPlane, mov: PreparedPlane, lvl: int, t: complex, mu: complex,
                  c: complex, rotate: bool, fit: _Fit | None, whole: bool = False,
                  ) -> tuple[complex, complex, _Fit]:
    """Gauss-Newton steps on one pyramid level (its coordinates: ``t`` and the frame centre
    ``c`` in its px) from (t, μ) and the previous level's ``fit`` (gain, robust scale).
    At full resolution, tiles that do not follow the transform are left out as in the
    translation path (:func:`overmix.registration.fine._inlier_tiles`)."""
    a, b = ref.levels[lvl], mov.levels[lvl]
    h, w = a.img.shape
    budget = None if whole else step_budget(a.img.size)
    cell = max(_CELL >> lvl, 1)
    energy = _energy(ref) if budget is not None and (_CELL >> lvl) >= 1 else None
    radius = abs(complex(w, h)) / 2
    tol = 2e-3 if lvl == 0 else 2e-2
    layout = _layout(h, w, t, mu, c, budget, energy, cell)
    keep = np.ones(len(layout[0]), bool)  # tiles still used, in layout order
    scale = fit.scale if fit is not None else 0.0
    last = 0.0
    for it in range(12 if lvl == 0 else 5):
        gain = (fit.alpha, fit.beta) if fit is not None else (1.0, 0.0)
        if it and it % 3 == 0:  # the overlap moves with the estimate
            layout = _layout(h, w, t, mu, c, budget, energy, cell)
            if len(layout[0]) != len(keep):
                keep = np.ones(len(layout[0]), bool)
        c2 = (_ROBUST_C * scale) ** 2
        used = (layout[0][keep], layout[1], layout[2])
        dtt, dmu, fit, scale = _step(a, b, t, mu, c, rotate, used, c2, gain)
        move = abs(dtt) + abs(dmu) * radius  # largest change of D over the frame (px)
        if move > 1.0:  # outside the basin: damp
            dtt, dmu = dtt / move, dmu / move
        t += dtt
        mu += dmu
        kept = _inlier_tiles(fit.tile_ms, len(keep) - len(fit.tile_ms), len(keep)) \
            if lvl == 0 and move < _SETTLED and fit.tile_ms is not None else None
        if kept is not None:
            idx = np.flatnonzero(keep)
            keep[idx] = False
            keep[idx[kept]] = True
            last = 0.0  # other pixels: the rate so far says nothing
            continue
        # converged, or converging so fast that the next step would be below the
        # tolerance (Gauss-Newton here shrinks each step ~7x; only a rate measured over
        # two steps and under _FAST_RATE is trusted: a first or slow step continues)
        rate = move / last if last > 0 else 1.0
        last = move
        if move < tol or (rate < _FAST_RATE and move * rate < tol):
            break
    assert fit is not None
    fit.scale = scale
    return t, mu, fit


# Below this ZNCC a searched pair also tries the log-polar starts (a fast zoom or rotation).
_SEARCH_ZNCC = 0.9
# The log-polar search runs on the finest pyramid level at most this many pixels on a side.
_SEARCH_SIDE = 160


def _search_scale(ref: PreparedPlane, mov: PreparedPlane, rotate: bool, c: complex,
                  best: _Fit | None) -> _Fit:
    """The best of ``best`` and refinements from the log-polar candidates
    (:func:`overmix.registration.logpolar.similarity_candidates`) at a pyramid level of at
    most about :data:`_SEARCH_SIDE` px on a side. A candidate whose zoom/rotation is within a
    pixel at the frame's corners of ``best``'s is not refined again (low-contrast or partly
    moving content matches poorly at the right transform too: only the FFTs are paid)."""
    from overmix.registration.logpolar import similarity_candidates

    lvl = 0
    while lvl + 1 < len(ref.levels) and min(ref.levels[lvl].img.shape) > _SEARCH_SIDE:
        lvl += 1
    f = 2 ** lvl
    o = complex((f - 1) / 2, (f - 1) / 2)
    a = ref.levels[lvl].img.astype(np.float32)
    b = mov.levels[lvl].img.astype(np.float32)
    have = None if best is None else transform(best.t, best.mu, c)[1]
    corner = abs(c)
    for xl, m in similarity_candidates(a, b, rotate):
        if have is not None and abs(cmath.log(m / have)) * corner < 1.0:
            continue  # the zoom/rotation already refined (a poor match for other reasons)
        # level px -> full resolution: P = f·p + o
        x = f * xl + (1 - m) * o
        t, mu = midpoint(x, m, c)
        try:
            fit = _refine(ref, mov, t, mu, lvl, rotate)
        except AlignmentError:
            continue
        if best is None or fit.zncc > best.zncc:
            best = fit
    if best is None:
        raise AlignmentError("the frames do not overlap enough to be aligned")
    return best


def estimate_similarity(ref: PreparedPlane, mov: PreparedPlane, *, model: str = "similarity",
                        guess: tuple[complex, complex] | None = None, search: bool = True,
                        min_overlap: float = 0.05, level: int = 0,
                        whole: bool = False) -> SimilarityResult:
    """Zoom (and rotation) of ``mov`` relative to ``ref`` (both :func:`~overmix.registration.
    phase.prepare`\\ d).

    Parameters
    ----------
    model : "zoom" | "similarity"
        ``zoom``: translation + scale (angle 0); ``similarity``: + rotation.
    guess : (x, m) or None
        Predicted transform ``T(p) = x + m·p`` (complex). With ``search`` the translation is
        searched by phase correlation (the guess adds a candidate and gives m); without, the
        refinement starts from the guess at pyramid ``level`` (at full resolution it must be
        within about a pixel everywhere in the frame; each level doubles that).
    level : int
        Without ``search``: the pyramid level the refinement starts from (clipped to the
        coarsest).
    whole : bool
        Without ``search``: sample the whole overlap in every step instead of the budget of
        :func:`step_budget` (several times slower; for measuring, e.g., how far a codec
        moved a decoded frame's content against its source).

    Returns
    -------
    SimilarityResult

    Raises
    ------
    AlignmentError
        No usable overlap or too little detail.
    """
    if model not in MODELS:
        raise UsageError(f"model must be zoom or similarity (got {model!r})")
    if ref.shape != mov.shape:
        raise AlignmentError("frames differ in size")
    h, w = ref.shape
    c = complex((w - 1) / 2, (h - 1) / 2)
    x0, m0 = guess if guess is not None else (0j, 1 + 0j)
    if model == "zoom":
        m0 = complex(abs(m0), 0.0)
    t0, mu0 = midpoint(x0, m0, c)
    if search or guess is None:
        fit = None
        try:
            cx, cy, lvl = _coarse(ref, mov, "xy", (t0.real, t0.imag) if guess is not None
                                  else None, min_overlap)
            # the coarse shift is that of the overlap's centre, close to D(c)
            fit = _refine(ref, mov, complex(cx, cy), mu0, lvl, model == "similarity")
        except AlignmentError:
            pass
        if fit is None or fit.zncc < _SEARCH_ZNCC:  # a zoom/rotation beyond the basin?
            fit = _search_scale(ref, mov, model == "similarity", c, fit)
    else:
        fit = _refine(ref, mov, t0, mu0, min(max(level, 0), len(ref.levels) - 1),
                      model == "similarity", whole)
    x, m = transform(fit.t, fit.mu, c)
    d = fit.t
    overlap = max(0.0, (w - abs(d.real)) * (h - abs(d.imag)) / (w * h))
    return SimilarityResult(x.real, x.imag, abs(m), cmath.phase(m), d.real, d.imag, fit.mu,
                            fit.zncc, fit.rms, min(overlap, 1.0), fit.sig_t, fit.sig_mu)

"""A soft drawn pan at fractional steps with per-frame lighting, and its exact truth (issue #19).

The world is :func:`tests.videogen.draw_scene` (flat shapes, dark outlines) softened by a
Gaussian blur (sigma 0.8 px) and squeezed into R'G'B' [0.04, 0.9] so no lighting below clips.
Frame k shows the world at ``(Y0 + y_k + i, X0 + x_k + j)`` (cubic-spline sampling of the
soft world), plus grain (independent Gaussian noise per frame, pixel and channel), and then
its lighting exactly as the model: ``R'G'B' -> a_k R'G'B' + b_k`` (so Y' -> a Y' + b,
Cb/Cr -> a C). Offsets follow the toolkit convention (frame 0 at (0, 0)).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import ndimage

from tests.videogen import draw_scene

KR, KB = 0.2126, 0.0722  # ITU-R BT.709
MARGIN = 8  # world pixels around the pan


@dataclass
class LitPan:
    """``rgb``: frames (h, w, 3) float32 R'G'B' (lit, with grain); ``xy`` (n, 2) offsets;
    ``gains`` (n, 2) true (a, b); ``world`` the soft world R'G'B' (no grain, no lighting)."""

    rgb: list[np.ndarray]
    xy: np.ndarray
    gains: np.ndarray
    world: np.ndarray

    def luma(self, k: int) -> np.ndarray:
        """Working Y' (BT.709) of frame k."""
        return luma709(self.rgb[k])

    def truth_luma(self, cx: float, cy: float, height: int, width: int) -> np.ndarray:
        """The un-lit scene's Y' on a canvas whose origin is frame-0 ``(cx, cy)`` (integers)."""
        y0, x0 = MARGIN + int(round(cy)), MARGIN + int(round(cx))
        return luma709(self.world[y0:y0 + height, x0:x0 + width])


def luma709(rgb: np.ndarray) -> np.ndarray:
    """BT.709 Y' of R'G'B' (..., 3)."""
    return (KR * rgb[..., 0] + (1 - KR - KB) * rgb[..., 1] + KB * rgb[..., 2]).astype(np.float32)


def issue_lighting(n: int) -> np.ndarray:
    """(n, 2) gains of issue #19: a 20 % fade to black across the pan, flicker of -3, -4, +4,
    +5 % on four frames, one frame mixed 3 % with white."""
    a = 1.0 - 0.2 * np.arange(n) / max(n - 1, 1)
    b = np.zeros(n)
    for frac, g in zip((0.15, 0.35, 0.55, 0.8), (0.97, 0.96, 1.04, 1.05), strict=True):
        a[int(frac * n)] *= g
    k = int(0.65 * n)
    a[k], b[k] = 0.97 * a[k], 0.97 * b[k] + 0.03
    return np.stack([a, b], axis=1)


def lit_pan(n: int = 40, h: int = 270, w: int = 480, step: tuple[float, float] | None = None,
            seed: int = 4, grain: float = 0.012, lighting: np.ndarray | None = None,
            lit: bool = True, overlays: bool = False, character: bool = True,
            convert: Callable[[np.ndarray], Any] | None = None) -> LitPan:
    """The pan of issue #19 (default 40 frames of 480x270 moving (200, 30) px in fractional
    steps); ``step`` per frame (default: (200, 30) / 40 with a little jitter), ``lighting``
    (n, 2) gains (default :func:`issue_lighting`; ``lit=False``: none).

    ``overlays``: also a character walking against the pan (part of the lit scene, moving
    ~4 px per frame in the world) and a hardsub burned in after the lighting (white blocky
    glyphs with a black outline, fixed at the bottom centre of every frame);
    ``character=False``: the hardsub alone.

    ``convert``: keep ``convert(rgb)`` of each frame instead of the float R'G'B' (e.g. video
    codes, so that long HD pans fit in memory)."""
    sx, sy = step if step is not None else (5.0, 0.75)
    k = np.arange(n, dtype=np.float64)
    xy = np.stack([sx * k + 0.31 * np.sin(1.7 * k), sy * k + 0.23 * np.cos(1.3 * k)], axis=1)
    xy -= xy[0]
    wh = int(h + xy[:, 1].max() - xy[:, 1].min()) + 2 * MARGIN + 2
    ww = int(w + xy[:, 0].max() - xy[:, 0].min()) + 2 * MARGIN + 2
    world = draw_scene(wh, ww, seed, world=(wh, ww)).astype(np.float64)
    world = ndimage.gaussian_filter(world, (0.8, 0.8, 0))
    world = 0.04 + 0.86 * world
    coeffs = [ndimage.spline_filter(world[..., c], order=3) for c in range(3)]
    gains = issue_lighting(n) if lit and lighting is None else (
        np.tile([1.0, 0.0], (n, 1)) if not lit else np.asarray(lighting, np.float64))
    rng = np.random.default_rng(seed + 1000)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    frames = []
    for j in range(n):
        coords = [yy + MARGIN + xy[j, 1], xx + MARGIN + xy[j, 0]]
        rgb = np.stack([ndimage.map_coordinates(c, coords, order=3, prefilter=False)
                        for c in coeffs], axis=-1)
        if overlays and character:
            _draw_character(rgb, yy + xy[j, 1], xx + xy[j, 0], j, h, w)
        rgb += rng.normal(0, grain, rgb.shape)
        rgb = gains[j, 0] * rgb + gains[j, 1]
        if overlays:
            sub = hardsub_mask(h, w)
            rgb[sub["fill"]] = 0.95
            rgb[sub["edge"]] = 0.05
        frames.append(rgb.astype(np.float32) if convert is None else convert(rgb))
    return LitPan(frames, xy, gains, world.astype(np.float32))


def gain_errors(est: np.ndarray, true: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame relative gain error and absolute offset error (Y') of estimated ``(a, b)``
    against the truth, after the one free choice of scene brightness: ``S = al s + be`` makes
    ``a = al a_est`` and ``b = be a_est + b_est`` (al, be by least squares)."""
    ae, be_ = est[:, 0], est[:, 1]
    a, b = true[:, 0], true[:, 1]
    al = float(np.dot(a, ae) / np.dot(ae, ae))
    beta = float(np.dot(ae, b - be_) / np.dot(ae, ae))
    return np.abs(al * ae / a - 1.0), np.abs(beta * ae + be_ - b)


def _draw_character(rgb: np.ndarray, wy: np.ndarray, wx: np.ndarray, k: int, h: int,
                    w: int) -> None:
    """A flat-coloured figure with an outline at world position moving against the pan."""
    cy, cx = 0.55 * h + 2.0 * np.sin(0.5 * k), 0.6 * w + 4.0 * k - 1.0 * k
    d = ((wy - cy) / (0.22 * h)) ** 2 + ((wx - cx) / (0.08 * w)) ** 2
    rgb[d <= 1.0] = (0.8, 0.45, 0.35)
    rgb[np.abs(np.sqrt(d) - 1.0) < 0.06] = 0.06
    head = ((wy - (cy - 0.28 * h)) / (0.07 * h)) ** 2 + ((wx - cx) / (0.05 * w)) ** 2
    rgb[head <= 1.0] = (0.9, 0.8, 0.7)


def hardsub_mask(h: int, w: int) -> dict[str, np.ndarray]:
    """Frame-fixed subtitle: ``fill`` (white glyph strokes) and ``edge`` (black outline)."""
    rng = np.random.default_rng(77)
    fill = np.zeros((h, w), bool)
    gh, gw = max(8, h // 14), max(6, h // 20)
    top, left = h - 2 * gh, w // 2 - 9 * gw
    for g in range(12):
        x0 = left + g * (gw * 3 // 2)
        cells = rng.random((3, 2)) < 0.6
        for r in range(3):
            for c in range(2):
                if cells[r, c]:
                    fill[top + r * gh // 3: top + (r + 1) * gh // 3,
                         x0 + c * gw // 2: x0 + (c + 1) * gw // 2 + 1] = True
        fill[top:top + gh, x0:x0 + 2] = True
    edge = ndimage.binary_dilation(fill, iterations=1) & ~fill
    return {"fill": fill, "edge": edge, "all": fill | edge}

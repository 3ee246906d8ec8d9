"""An analytic cel-style scene: evaluated at any (sub-pixel) point, so sub-pixel pans and the
true canvas can be drawn exactly. Edges are soft over about one pixel (anti-aliased line art),
so a good interpolator can reproduce them.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

KR, KB = 0.2126, 0.0722  # ITU-R BT.709-6 item 3.2


def _smooth(d: np.ndarray, width: float = 0.6) -> np.ndarray:
    """0 outside (d > 0) to 1 inside (d < 0), a soft step of about ``width`` pixels."""
    return 0.5 - 0.5 * np.tanh(d / width)


def scene_rgb(x: np.ndarray, y: np.ndarray, seed: int = 3) -> np.ndarray:
    """R'G'B' in [0, 1] at world points (x, y) (any shape); returns (..., 3) float64."""
    rng = np.random.default_rng(seed)
    top, bottom = rng.uniform(0.5, 0.9, 3), rng.uniform(0.1, 0.4, 3)
    t = np.clip(y / 120.0, 0, 1)[..., None]
    img = top * (1 - t) + bottom * t
    for _ in range(9):
        cx, cy = rng.uniform(0, 260), rng.uniform(0, 110)
        r = rng.uniform(8, 24)
        col = rng.uniform(0.05, 0.95, 3)
        d = np.hypot(x - cx, y - cy) - r
        fill = _smooth(d)[..., None]
        ink = _smooth(np.abs(d) - 0.9)[..., None]  # outline ~2 px wide
        img = img * (1 - fill) + col * fill
        img = img * (1 - ink) + 0.08 * ink
    # a thin diagonal line
    d = np.abs((x - 20) * 0.3 - (y - 10)) / np.hypot(0.3, 1) - 0.5
    ln = _smooth(d)[..., None]
    img = img * (1 - ln) + np.array([0.9, 0.2, 0.1]) * ln
    return np.clip(img, 0, 1)


def _ycbcr(rgb: np.ndarray) -> tuple[np.ndarray, ...]:
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    yy = KR * r + (1 - KR - KB) * g + KB * b  # ITU-R BT.709-6 item 3.2-3.3
    return yy, (b - yy) / (2 * (1 - KB)), (r - yy) / (2 * (1 - KR))


def scene_ycbcr(x: np.ndarray, y: np.ndarray, seed: int = 3) -> tuple[np.ndarray, ...]:
    """Working Y', Cb, Cr (BT.709) of the scene at (x, y).

    Cb/Cr are low-passed (triangle-weighted 5x5 grid of points 0.5 px apart), as an encoder
    filters chroma before subsampling; point-sampling them at 2 px then aliases little.
    """
    lum = _ycbcr(scene_rgb(x, y, seed))[0]
    acc_b = np.zeros_like(lum)
    acc_r = np.zeros_like(lum)
    taps = {-1.0: 1.0, -0.5: 2.0, 0.0: 3.0, 0.5: 2.0, 1.0: 1.0}
    for dy, wy in taps.items():
        for dx, wx in taps.items():
            _, cb, cr = _ycbcr(scene_rgb(x + dx, y + dy, seed))
            acc_b += wx * wy * cb
            acc_r += wx * wy * cr
    return lum, acc_b / 81, acc_r / 81


@lru_cache(maxsize=64)
def frame_planes(x0: float, y0: float, h: int, w: int, *, sub: int = 2, oy: float = 0.5,
                 ox: float = 0.0, seed: int = 3) -> tuple[np.ndarray, ...]:
    """Working planes of a frame whose pixel (0, 0) sits at world (x0, y0): Y' point-sampled
    at pixel centres, 4:2:0 chroma point-sampled at its siting (x0 + 2j + ox, y0 + 2i + oy).
    Cached: treat the returned arrays as read-only."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    lum = scene_ycbcr(xx + x0, yy + y0, seed)[0]
    ch, cw = -(-h // sub), -(-w // sub)
    cy, cx = np.mgrid[0:ch, 0:cw].astype(np.float64)
    _, cb, cr = scene_ycbcr(cx * sub + ox + x0, cy * sub + oy + y0, seed)
    return lum, cb, cr


def to_codes(planes: tuple[np.ndarray, ...], depth: int = 10,
             noise: float = 0.0, rng: np.random.Generator | None = None) -> tuple[np.ndarray, ...]:
    """Limited-range codes (ITU-R BT.709-6 item 4.6 scaled to ``depth``), optional noise."""
    s = 1 << (depth - 8)
    out = []
    for i, p in enumerate(planes):
        if noise and rng is not None:
            p = p + rng.normal(0, noise, p.shape)
        v = (128 + 224 * p) * s if i else (16 + 219 * p) * s
        out.append(np.clip(np.rint(v), 0, (1 << depth) - 1).astype(np.uint16 if depth > 8
                                                                      else np.uint8))
    return tuple(out)

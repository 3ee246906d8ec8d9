"""Drawn test scenes with ground truth for the real-scene features (issue #6).

Every scene is a camera pan over a procedurally drawn world (``tests.videogen.draw_scene``)
with integer steps, so the truth on the canvas is just a crop of the world. Frames come as
float32 working planes Y', Cb, Cr (BT.709, 4:4:4; Y' in [0, 1], Cb/Cr in [-0.5, 0.5]) plus a
little independent noise per frame, so averaging has something to do.

Offsets follow the toolkit convention: ``frame_k(i, j) = frame_0(i + y_k, j + x_k)``, i.e.
frame k shows the world at ``(Y0 + y_k, X0 + x_k)``. With integer offsets the canvas origin is
frame 0's (0, 0) shifted by the minimum offset, so ``truth`` arrays cover exactly the canvas.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tests.videogen import draw_scene

KR, KB = 0.2126, 0.0722  # ITU-R BT.709


def rgb_to_ycc(rgb: np.ndarray) -> np.ndarray:
    """R'G'B' (..., 3) in [0, 1] to working Y'CbCr (..., 3), ITU-R BT.709 matrix."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = KR * r + (1 - KR - KB) * g + KB * b
    cb = (b - y) / (2 * (1 - KB))
    cr = (r - y) / (2 * (1 - KR))
    return np.stack([y, cb, cr], axis=-1).astype(np.float32)


def ycc_to_rgb(ycc: np.ndarray) -> np.ndarray:
    """Inverse of :func:`rgb_to_ycc` (ITU-R BT.709)."""
    y, cb, cr = ycc[..., 0], ycc[..., 1], ycc[..., 2]
    r = y + 2 * (1 - KR) * cr
    b = y + 2 * (1 - KB) * cb
    g = (y - KR * r - KB * b) / (1 - KR - KB)
    return np.stack([r, g, b], axis=-1).astype(np.float32)


@dataclass
class Scene:
    """A drawn pan.

    Attributes
    ----------
    frames : list of ndarray (h, w, 3) float32 working Y'CbCr
    xy : ndarray (n, 2) float64 true offsets
    truth : ndarray (Hc, Wc, 3) float32, the clean canvas (Y'CbCr)
    extra : dict of per-scene truths (animation cels, logo alpha/colour, gains...)
    """

    frames: list[np.ndarray]
    xy: np.ndarray
    truth: np.ndarray
    extra: dict[str, object] = field(default_factory=dict)

    def luma(self, k: int) -> np.ndarray:
        return self.frames[k][..., 0]

    def planes(self, k: int) -> list[np.ndarray]:
        return [self.frames[k][..., c] for c in range(3)]


def _path(n: int, step: tuple[int, int]) -> np.ndarray:
    return np.array([[step[0] * k, step[1] * k] for k in range(n)], dtype=np.float64)


def _world(h: int, w: int, n: int, step: tuple[int, int], seed: int) -> tuple[np.ndarray, int, int]:
    wh, ww = h + abs(step[1]) * (n - 1), w + abs(step[0]) * (n - 1)
    return draw_scene(wh, ww, seed, world=(wh, ww)), wh, ww


def _crop(world: np.ndarray, xy: np.ndarray, h: int, w: int) -> np.ndarray:
    x0, y0 = int(xy[0] - 0), int(xy[1] - 0)
    return world[y0 : y0 + h, x0 : x0 + w]


def _noisy(rgb: np.ndarray, rng: np.random.Generator, sigma: float) -> np.ndarray:
    ycc = rgb_to_ycc(np.clip(rgb, 0, 1))
    if sigma > 0:
        ycc = ycc + rng.normal(0, sigma, ycc.shape).astype(np.float32)
    return ycc.astype(np.float32)


def pan(n: int = 24, h: int = 96, w: int = 160, step: tuple[int, int] = (4, 1), seed: int = 3,
        sigma: float = 0.01) -> Scene:
    """A plain pan (the reference for the other scenes)."""
    world, _, _ = _world(h, w, n, step, seed)
    xy = _path(n, step)
    rng = np.random.default_rng(seed + 100)
    frames = [_noisy(_crop(world, p, h, w), rng, sigma) for p in xy]
    return Scene(frames, xy, rgb_to_ycc(world))


def _cel(world: np.ndarray, cel: int, centre: tuple[int, int]) -> np.ndarray:
    """Draw animation cel ``cel`` (0..2) of a 'waving arm' at ``centre`` (row, col) of the world."""
    out = world.copy()
    cy, cx = centre
    yy, xx = np.mgrid[0 : world.shape[0], 0 : world.shape[1]].astype(np.float64)
    body = ((yy - cy) / 22.0) ** 2 + ((xx - cx) / 12.0) ** 2 <= 1
    out[body] = (0.85, 0.35, 0.25)
    ang = (-0.9, 0.0, 0.9)[cel]
    # an arm: a thick segment from the shoulder at this angle
    sy, sx = cy - 8, cx + 10
    dy, dx = -np.cos(ang), np.sin(ang) + 0.6
    norm = np.hypot(dy, dx)
    dy, dx = dy / norm, dx / norm
    t = (yy - sy) * dy + (xx - sx) * dx
    d = np.abs((yy - sy) * dx - (xx - sx) * dy)
    arm = (t >= 0) & (t <= 26) & (d <= 4)
    out[arm] = (0.15, 0.2, 0.75)
    eye = ((yy - (cy - 10)) ** 2 + (xx - (cx - 3)) ** 2) <= (9 if cel == 1 else 4)
    out[eye] = (0.05, 0.05, 0.05) if cel != 2 else (0.95, 0.95, 0.9)
    return out


def animated_pan(n: int = 30, h: int = 96, w: int = 160, step: tuple[int, int] = (3, 1),
                 seed: int = 5, sigma: float = 0.01, cycle: int = 3, hold: int = 1) -> Scene:
    """A pan over a character looping a ``cycle``-cel animation (each cel shown ``hold`` frames).

    ``extra["cels"]``: list of truth canvases (Y'CbCr) per cel; ``extra["ids"]``: true cel of
    each frame; ``extra["region"]``: canvas bool mask of the animated area.
    """
    world, wh, ww = _world(h, w, n, step, seed)
    centre = (wh // 2, ww // 2)
    cels = [_cel(world, c, centre) for c in range(cycle)]
    xy = _path(n, step)
    rng = np.random.default_rng(seed + 100)
    ids = [(k // hold) % cycle for k in range(n)]
    frames = [_noisy(_crop(cels[ids[k]], xy[k], h, w), rng, sigma) for k in range(n)]
    truth_cels = [rgb_to_ycc(c) for c in cels]
    region = np.zeros(world.shape[:2], dtype=bool)
    for a in range(cycle):
        for b in range(a + 1, cycle):
            region |= np.abs(truth_cels[a] - truth_cels[b]).max(axis=-1) > 0.02
    return Scene(frames, xy, rgb_to_ycc(world),
                 {"cels": truth_cels, "ids": ids, "region": region})


def steam_pan(n: int = 24, h: int = 96, w: int = 160, step: tuple[int, int] = (4, 1),
              seed: int = 7, sigma: float = 0.005, strength: float = 0.7,
              blobs_n: int = 6) -> Scene:
    """A pan with a bright semi-transparent white 'steam' layer drifting (rising, swaying).

    Steam: ``f = (1 - a) * scene + a * white`` in R'G'B', ``a`` a sum of soft blobs that move
    in world coordinates over time. ``extra["alpha"]``: per-frame steam alpha (frame coords).
    """
    world, wh, ww = _world(h, w, n, step, seed)
    xy = _path(n, step)
    rng = np.random.default_rng(seed + 100)
    blobs = [(rng.uniform(0, wh), rng.uniform(0, ww), rng.uniform(10, 22))
             for _ in range(blobs_n)]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    frames, alphas = [], []
    for k in range(n):
        wy, wx = yy + xy[k, 1], xx + xy[k, 0]
        a = np.zeros((h, w))
        for by, bx, r in blobs:
            cy = (by - 2.5 * k) % wh  # rising steam, wraps around the world
            cx = bx + 6 * np.sin(0.4 * k + bx)
            a += np.exp(-(((wy - cy) ** 2 + (wx - cx) ** 2) / (2 * r * r)))
        a = strength * np.clip(a, 0, 1)
        view = _crop(world, xy[k], h, w)
        rgb = (1 - a[..., None]) * view + a[..., None] * 1.0
        frames.append(_noisy(rgb, rng, sigma))
        alphas.append(a.astype(np.float32))
    return Scene(frames, xy, rgb_to_ycc(world), {"alpha": alphas})


def logo_mask_shape(h: int, w: int) -> np.ndarray:
    """A 'TV logo': three blocky letters and a bar in the top-right corner (frame coords)."""
    m = np.zeros((h, w), dtype=bool)
    top, left = 8, w - 58
    # letters of 10x16 with 3 px strokes
    for n in range(3):
        x0 = left + n * 14
        m[top : top + 16, x0 : x0 + 3] = True
        m[top : top + 16, x0 + 7 : x0 + 10] = True
        m[top + (n * 6) : top + (n * 6) + 3, x0 : x0 + 10] = True
    m[top + 19 : top + 23, left : left + 40] = True
    return m


def logo_pan(n: int = 30, h: int = 96, w: int = 160, step: tuple[int, int] = (4, 1),
             seed: int = 9, sigma: float = 0.01, alpha: float = 0.6,
             color: tuple[float, float, float] = (1.0, 0.92, 0.35)) -> Scene:
    """A pan with a static semi-transparent logo fixed in frame coordinates.

    ``f = (1 - a) * b + a * c`` in R'G'B' (linear in the codes, so also in Y'CbCr).
    ``extra``: ``mask`` (h, w) bool, ``alpha`` (h, w) float32 (varies 0.8..1.2 x ``alpha``
    across the logo), ``color`` RGB (3,), ``clean`` (the same pan without logo, same noise).
    """
    world, _, _ = _world(h, w, n, step, seed)
    xy = _path(n, step)
    mask = logo_mask_shape(h, w)
    ramp = np.linspace(0.8, 1.2, w, dtype=np.float32)[None, :]
    a = np.where(mask, np.clip(alpha * ramp, 0, 1), 0).astype(np.float32)
    c = np.array(color, dtype=np.float32)
    rng = np.random.default_rng(seed + 100)
    rng2 = np.random.default_rng(seed + 100)
    frames, clean = [], []
    for k in range(n):
        view = _crop(world, xy[k], h, w)
        frames.append(_noisy((1 - a[..., None]) * view + a[..., None] * c, rng, sigma))
        clean.append(_noisy(view, rng2, sigma))
    return Scene(frames, xy, rgb_to_ycc(world),
                 {"mask": mask, "alpha": a, "color": c, "clean": clean})


def flash_pan(n: int = 24, h: int = 96, w: int = 160, step: tuple[int, int] = (4, 1),
              seed: int = 11, sigma: float = 0.01, flash: tuple[int, ...] = (8, 9, 10, 11),
              gain: float = 1.2) -> Scene:
    """A pan where some frames are ``gain`` x brighter (a flash): R'G'B' scaled, clipped.

    The world is drawn in [0, 0.8] so the flash does not clip. ``extra["gains"]``: (n,) true
    gain of each frame.
    """
    world, _, _ = _world(h, w, n, step, seed)
    world = world * 0.8
    xy = _path(n, step)
    rng = np.random.default_rng(seed + 100)
    gains = np.array([gain if k in flash else 1.0 for k in range(n)])
    frames = [_noisy(_crop(world, xy[k], h, w) * gains[k], rng, sigma) for k in range(n)]
    return Scene(frames, xy, rgb_to_ycc(world), {"gains": gains})


def place_average(frames: list[np.ndarray], xy: np.ndarray, shape: tuple[int, int],
                  weights: list[np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Plain average of frames at integer offsets onto a canvas of ``shape`` (for truths).

    Returns ``(canvas (Hc, Wc, C), weight (Hc, Wc))``.
    """
    c = frames[0].shape[-1] if frames[0].ndim == 3 else 1
    acc = np.zeros((*shape, c), dtype=np.float64)
    wsum = np.zeros(shape, dtype=np.float64)
    x0, y0 = xy[:, 0].min(), xy[:, 1].min()
    for k, f in enumerate(frames):
        h, w = f.shape[:2]
        r, q = int(xy[k, 1] - y0), int(xy[k, 0] - x0)
        wk = np.ones((h, w)) if weights is None else weights[k]
        acc[r : r + h, q : q + w] += f.reshape(h, w, c) * wk[..., None]
        wsum[r : r + h, q : q + w] += wk
    out = acc / np.maximum(wsum, 1e-9)[..., None]
    return out.astype(np.float32), wsum


def psnr(a: np.ndarray, b: np.ndarray, valid: np.ndarray | None = None) -> float:
    """PSNR (dB, peak 1) of ``a`` vs ``b`` over ``valid`` pixels."""
    d = (np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2
    if valid is not None:
        d = d[valid]
    return float(10 * np.log10(1.0 / max(float(d.mean()), 1e-12)))

"""Ground truth for restoration tests: a continuous cel-style scene, rendered by area sampling.

The scene is a function of continuous world coordinates (frame-0 luma pixels), so any view —
a low-resolution frame at a sub-pixel offset, or the truth at 2x — is rendered exactly the way
a camera would: each pixel is the mean of the scene over its footprint (``ss x ss`` supersamples).
Also: PSNR and SSIM (Wang, Bovik, Sheikh, Simoncelli 2004, gaussian window sigma 1.5, K1 0.01,
K2 0.03) implemented here so the figures do not depend on the code under test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

KR, KB = 0.2126, 0.0722  # ITU-R BT.709-6 luma coefficients


class CelScene:
    """Flat-coloured shapes with dark ink outlines, fine hatching and a gradient sky."""

    def __init__(self, seed: int = 0, size: tuple[float, float] = (200.0, 300.0),
                 line: float = 1.3, hatch: bool = True) -> None:
        rng = np.random.default_rng(seed)
        self.h, self.w = size
        self.line = line
        self.top = rng.uniform(0.55, 0.9, 3)
        self.bottom = rng.uniform(0.15, 0.45, 3)
        self.shapes = []
        for _ in range(int(rng.integers(10, 16))):
            kind = "ellipse" if rng.random() < 0.5 else "rect"
            cy, cx = rng.uniform(0, self.h), rng.uniform(0, self.w)
            ry, rx = rng.uniform(6, 30), rng.uniform(6, 30)
            self.shapes.append((kind, cy, cx, ry, rx, rng.uniform(0.05, 0.95, 3)))
        # a few hatched patches (fine detail a single frame cannot resolve)
        self.hatch = [(rng.uniform(0, self.h), rng.uniform(0, self.w), rng.uniform(8, 16),
                       rng.uniform(2.2, 3.5), rng.uniform(0, np.pi)) for _ in range(4)]
        if not hatch:
            self.hatch = []

    def __call__(self, yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
        """R'G'B' in [0, 1] at world points ``(yy, xx)`` (any shape) -> shape + (3,)."""
        yy, xx = np.broadcast_arrays(np.asarray(yy, np.float64), np.asarray(xx, np.float64))
        t = np.clip(yy / self.h, 0, 1)[..., None]
        img = self.top * (1 - t) + self.bottom * t
        ink = np.array([0.06, 0.05, 0.08])
        for kind, cy, cx, ry, rx, color in self.shapes:
            if kind == "ellipse":
                d = np.sqrt(((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2)
                inside = d <= 1.0
                edge = np.abs(d - 1.0) * min(ry, rx) < self.line / 2
            else:
                dy, dx = np.abs(yy - cy) - ry, np.abs(xx - cx) - rx
                inside = (dy <= 0) & (dx <= 0)
                edge = inside & ((dy > -self.line) | (dx > -self.line))
            img[inside] = color
            img[edge] = ink
        for cy, cx, r, period, ang in self.hatch:
            inside = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
            u = (xx - cx) * np.cos(ang) + (yy - cy) * np.sin(ang)
            stripe = inside & ((u % period) < period * 0.45)
            img[stripe] = ink
        return img

    def render(self, h: int, w: int, x0: float, y0: float, pitch: float = 1.0,
               ss: int = 4) -> np.ndarray:
        """Area-sampled view: pixel (i, j) covers ``[x0 + j*pitch, x0 + (j+1)*pitch)`` in x
        (likewise y). Returns float32 (h, w, 3)."""
        sub = (np.arange(ss) + 0.5) / ss * pitch
        ys = (y0 + np.arange(h)[:, None] * pitch + sub[None, :]).ravel()
        xs = (x0 + np.arange(w)[:, None] * pitch + sub[None, :]).ravel()
        img = self(ys[:, None], xs[None, :])
        return img.reshape(h, ss, w, ss, 3).mean(axis=(1, 3)).astype(np.float32)

    def luma(self, h: int, w: int, x0: float, y0: float, pitch: float = 1.0,
             ss: int = 4) -> np.ndarray:
        """Y' (BT.709) of :meth:`render`, float32 (h, w)."""
        rgb = self.render(h, w, x0, y0, pitch, ss)
        return (KR * rgb[..., 0] + (1 - KR - KB) * rgb[..., 1] + KB * rgb[..., 2]).astype(
            np.float32)

    def frame(self, h: int, w: int, x: float, y: float, ss: int = 4) -> np.ndarray:
        """Luma of a frame whose pixel (0, 0) is centred at world ``(x, y)``."""
        return self.luma(h, w, x - 0.5, y - 0.5, 1.0, ss)


def psnr(a: np.ndarray, b: np.ndarray, mask: np.ndarray | None = None, peak: float = 1.0) -> float:
    """PSNR in dB of ``a`` against ``b`` (optionally over ``mask``)."""
    d = (np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2
    mse = float(d[mask].mean() if mask is not None else d.mean())
    return float("inf") if mse == 0 else 10 * np.log10(peak * peak / mse)


def ssim(a: np.ndarray, b: np.ndarray, peak: float = 1.0) -> float:
    """Mean SSIM (Wang et al. 2004): gaussian window sigma 1.5, K1 = 0.01, K2 = 0.03."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    c1, c2 = (0.01 * peak) ** 2, (0.03 * peak) ** 2

    def f(z: np.ndarray) -> np.ndarray:
        return ndimage.gaussian_filter(z, 1.5, truncate=3.5)

    mu_a, mu_b = f(a), f(b)
    saa = f(a * a) - mu_a ** 2
    sbb = f(b * b) - mu_b ** 2
    sab = f(a * b) - mu_a * mu_b
    num = (2 * mu_a * mu_b + c1) * (2 * sab + c2)
    m = num / ((mu_a ** 2 + mu_b ** 2 + c1) * (saa + sbb + c2))
    r = 5  # ignore the border where the window is truncated
    return float(m[r:-r, r:-r].mean())


def average_upscaled(frames: list[np.ndarray], xy: np.ndarray, canvas_x: float, canvas_y: float,
                     width: int, height: int, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """The baseline "shift-and-add + interpolation": average on the canvas, then upscale.

    Each frame is resampled onto the canvas grid at its sub-pixel offset (cubic B-spline),
    averaged where it covers the canvas, and the average is upscaled to ``scale`` with the
    same cubic spline (output pixel (I, J) centred at canvas coordinate
    ``(J + 0.5) / scale - 0.5``). Returns ``(average at 1x, upscaled)``.
    """
    acc = np.zeros((height, width))
    cnt = np.zeros((height, width))
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    for f, (x, y) in zip(frames, xy, strict=True):
        fy = yy + canvas_y - y
        fx = xx + canvas_x - x
        h, w = f.shape
        inside = (fy >= -0.5) & (fy <= h - 0.5) & (fx >= -0.5) & (fx <= w - 0.5)
        v = ndimage.map_coordinates(f.astype(np.float64), [fy, fx], order=3, mode="nearest")
        acc[inside] += v[inside]
        cnt[inside] += 1
    avg = acc / np.maximum(cnt, 1)
    hh, ww = int(np.ceil(height * scale - 1e-9)), int(np.ceil(width * scale - 1e-9))
    gy = (np.arange(hh) + 0.5) / scale - 0.5
    gx = (np.arange(ww) + 0.5) / scale - 0.5
    up = ndimage.map_coordinates(avg, np.meshgrid(gy, gx, indexing="ij"), order=3,
                                 mode="nearest")
    return avg.astype(np.float32), up.astype(np.float32)


def common_area(xy: np.ndarray, w: int, h: int, canvas_x: float, canvas_y: float,
                scale: float) -> tuple[slice, slice]:
    """Slices of the scaled canvas grid seen by every frame (where all methods have data)."""
    x0 = float(np.max(xy[:, 0])) - 0.5 - (canvas_x - 0.5)
    x1 = float(np.min(xy[:, 0])) + w - 0.5 - (canvas_x - 0.5)
    y0 = float(np.max(xy[:, 1])) - 0.5 - (canvas_y - 0.5)
    y1 = float(np.min(xy[:, 1])) + h - 0.5 - (canvas_y - 0.5)
    return (slice(int(np.ceil(y0 * scale)), int(np.floor(y1 * scale))),
            slice(int(np.ceil(x0 * scale)), int(np.floor(x1 * scale))))


def h264_roundtrip(frames: list[np.ndarray], path: Path, crf: int) -> list[np.ndarray]:
    """Gray frames (Y' in [0, 1]) written to ``path`` as 8-bit 4:2:0 H.264 (libx264 at
    ``crf``, BT.709 tagged) and read back through overmix's own reader (working Y')."""
    from overmix.io.sources import open_source
    from overmix.io.store import FrameStore
    from tests.videogen import color_tags, encode_video, rgb_to_yuv_codes

    codes = [rgb_to_yuv_codes(np.repeat(f[..., None], 3, axis=2), "709", False, 8, (2, 2))
             for f in frames]
    encode_video(path, codes, options={"crf": str(crf)}, tags=color_tags("709"))
    src = open_source(path)
    try:
        store = FrameStore.from_source(src)
    finally:
        src.close()
    with store:
        return [store.luma(k).copy() for k in range(len(store))]

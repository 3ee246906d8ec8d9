"""Ground truth for zoom/rotation: a continuous line-art scene sampled through exact transforms.

The scene is a function of world (frame-0) coordinates: a gradient sky, flat-filled disks and
boxes with dark ink outlines and thin ink lines, every edge soft over about half a pixel
(anti-aliased line art, like a clean anime master). Frame k with transform (x, y, s, a) has
its pixel centre (column j, row i) at ``X = x + s·(j·cos a − i·sin a)``,
``Y = y + s·(j·sin a + i·cos a)`` (DESIGN §4); its pixel value is the mean of the scene over
the pixel's footprint (a square of side s, rotated by a), integrated with a 4 x 4 grid of
points. Nothing of overmix is used, so the transforms are the truth for the aligner and the
scene for the renderer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Scene", "line_art", "zoom_track", "sample", "truth_on_grid"]


def _soft(d: np.ndarray, width: float = 0.45) -> np.ndarray:
    """1 inside (d < 0) to 0 outside, a soft step about ``width`` world px wide."""
    return 0.5 - 0.5 * np.tanh(d / width)


@dataclass
class Scene:
    """Shapes in world coordinates, painted in order over a gradient."""

    shapes: list[tuple]  # (kind, params..., value)
    top: float
    bottom: float
    height: float

    def bbox(self, sh: tuple) -> tuple[float, float, float, float]:
        kind = sh[0]
        if kind == "disk":
            _, cx, cy, r, _v = sh
            m = r + 3
            return cx - m, cy - m, cx + m, cy + m
        if kind == "box":
            _, cx, cy, hx, hy, _v = sh
            return cx - hx - 3, cy - hy - 3, cx + hx + 3, cy + hy + 3
        _, x0, y0, x1, y1, wd, _v = sh
        return min(x0, x1) - wd - 2, min(y0, y1) - wd - 2, max(x0, x1) + wd + 2, \
            max(y0, y1) + wd + 2

    def paint(self, img: np.ndarray, X: np.ndarray, Y: np.ndarray, sh: tuple) -> None:
        """Paint shape ``sh`` onto ``img`` at world points (X, Y) (same shape)."""
        kind = sh[0]
        ink = 0.06
        if kind == "disk":
            _, cx, cy, r, v = sh
            d = np.hypot(X - cx, Y - cy) - r
            fill, line = _soft(d), _soft(np.abs(d) - 0.8)
            img *= 1 - fill
            img += v * fill
            img *= 1 - line
            img += ink * line
        elif kind == "box":
            _, cx, cy, hx, hy, v = sh
            d = np.maximum(np.abs(X - cx) - hx, np.abs(Y - cy) - hy)
            fill, line = _soft(d), _soft(np.abs(d) - 0.75)
            img *= 1 - fill
            img += v * fill
            img *= 1 - line
            img += ink * line
        else:
            _, x0, y0, x1, y1, wd, v = sh
            vx, vy = x1 - x0, y1 - y0
            t = np.clip(((X - x0) * vx + (Y - y0) * vy) / (vx * vx + vy * vy), 0, 1)
            d = np.hypot(X - x0 - t * vx, Y - y0 - t * vy) - wd / 2
            line = _soft(d, 0.35)
            img *= 1 - line
            img += v * line

    def background(self, X: np.ndarray, Y: np.ndarray) -> np.ndarray:
        t = np.clip(Y / self.height, 0, 1)
        return self.top * (1 - t) + self.bottom * t + 0.03 * np.sin(X / 23.0) * np.cos(Y / 17.0)


def line_art(x0: float, y0: float, x1: float, y1: float, seed: int = 0,
             density: float = 1.0) -> Scene:
    """A random line-art scene covering world [x0, x1] x [y0, y1]."""
    rng = np.random.default_rng(seed)
    area = (x1 - x0) * (y1 - y0)
    shapes: list[tuple] = []
    for _ in range(max(10, int(density * area / 1400))):
        cx, cy = rng.uniform(x0, x1), rng.uniform(y0, y1)
        v = float(rng.uniform(0.2, 0.95))
        kind = rng.random()
        if kind < 0.45:
            shapes.append(("disk", cx, cy, float(rng.uniform(3, 22)), v))
        elif kind < 0.75:
            shapes.append(("box", cx, cy, float(rng.uniform(3, 18)), float(rng.uniform(3, 18)),
                           v))
        else:
            ang, ln = rng.uniform(0, math.pi), rng.uniform(8, 50)
            shapes.append(("line", cx, cy, cx + ln * math.cos(ang), cy + ln * math.sin(ang),
                           float(rng.uniform(0.6, 1.4)), float(rng.uniform(0.0, 0.3))))
    return Scene(shapes, 0.8, 0.45, y1 - y0)


def _points(tr: tuple[float, float, float, float], jj: np.ndarray,
            ii: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y, s, a = tr
    ca, sa = math.cos(math.radians(a)), math.sin(math.radians(a))
    return x + s * (jj * ca - ii * sa), y + s * (jj * sa + ii * ca)


def sample(scene: Scene, tr: tuple[float, float, float, float], h: int, w: int,
           ss: int = 4) -> np.ndarray:
    """Frame (float32 (h, w), luma in [0, 1]) with transform ``tr`` = (x, y, s, angle deg):
    each pixel the mean of the scene over its footprint (``ss`` x ``ss`` points)."""
    x, y, s, a = tr
    ca, sa = math.cos(math.radians(a)), math.sin(math.radians(a))
    acc = np.zeros((h, w))
    jj0, ii0 = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h, dtype=np.float64))
    for u in (np.arange(ss) + 0.5) / ss - 0.5:
        for v in (np.arange(ss) + 0.5) / ss - 0.5:
            X, Y = _points(tr, jj0 + u, ii0 + v)
            img = scene.background(X, Y)
            for sh in scene.shapes:
                bx0, by0, bx1, by1 = scene.bbox(sh)
                # frame pixels whose points can fall in the shape's box: inverse transform
                cs = np.array([[bx0, by0], [bx1, by0], [bx0, by1], [bx1, by1]]) - [x, y]
                fj = (cs[:, 0] * ca + cs[:, 1] * sa) / s
                fi = (-cs[:, 0] * sa + cs[:, 1] * ca) / s
                j0, j1 = max(0, int(fj.min()) - 1), min(w, int(fj.max()) + 2)
                i0, i1 = max(0, int(fi.min()) - 1), min(h, int(fi.max()) + 2)
                if j0 >= j1 or i0 >= i1:
                    continue
                sub = img[i0:i1, j0:j1]
                scene.paint(sub, X[i0:i1, j0:j1], Y[i0:i1, j0:j1], sh)
            acc += img
    return (acc / (ss * ss)).astype(np.float32)


def truth_on_grid(scene: Scene, x0: float, y0: float, pitch: float, h: int, w: int,
                  ss: int = 4) -> np.ndarray:
    """The scene on a canvas of pitch ``pitch`` whose pixel (0, 0) is at world (x0, y0)."""
    return sample(scene, (x0, y0, pitch, 0.0), h, w, ss)


def zoom_track(n: int, *, zoom: float = 0.0, angle: float = 0.0,
               pan: tuple[float, float] = (0.0, 0.0), w: int = 320,
               h: int = 180) -> np.ndarray:
    """(n, 4) transforms (x, y, s, angle deg) of a camera that zooms by ``zoom`` (fraction;
    > 0 zooms in, frames show less) and rotates by ``angle`` degrees over the clip, about the
    frame centre, while panning by ``pan`` (frame-0 px) in total; frame 0 is the identity."""
    t = np.linspace(0.0, 1.0, n)
    s = (1.0 + zoom) ** (-t)  # exponential zoom: constant rate per frame
    a = angle * t
    c = complex((w - 1) / 2, (h - 1) / 2)
    out = np.zeros((n, 4))
    for k in range(n):
        m = s[k] * complex(math.cos(math.radians(a[k])), math.sin(math.radians(a[k])))
        # the frame centre moves with the pan: c + pan·t = x + m c
        xk = c + complex(pan[0], pan[1]) * t[k] - m * c
        out[k] = (xk.real, xk.imag, s[k], a[k])
    return out


def corner_error(est: np.ndarray, truth: np.ndarray, w: int, h: int) -> np.ndarray:
    """Per frame: the largest distance (px) between the estimated and true positions of the
    frame's four corner pixel centres (both (n, 4) (x, y, s, angle deg))."""
    out = np.zeros(len(est))
    for k in range(len(est)):
        d = 0.0
        for j, i in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)):
            p = np.array(_points(tuple(est[k]), np.array(float(j)), np.array(float(i))))
            q = np.array(_points(tuple(truth[k]), np.array(float(j)), np.array(float(i))))
            d = max(d, float(np.hypot(*(p - q))))
        out[k] = d
    return out

"""Benchmark: real-scene stages (animation, logo, lighting) next to a plain average.

A drawn pan of N frames (default 60 x 1280x720, 4:2:0 working planes, integer pan steps of
(8, 2) px per frame) is served by an in-memory provider that crops a pre-drawn world and adds
one of four fixed noise fields (so reading a frame costs about what a FrameStore read costs).
Each stage runs in the same process, one after the other:

- ``read``: reading every frame's planes (or lumas) once (the provider's own cost);
- ``average``: :func:`overmix.render.stack.render` ``average`` (the plain stitch);
- ``animation``: :func:`overmix.registration.animation.separate` on a pan with a 3-cel animated
  character (luma only);
- ``logo detect``: :func:`overmix.restore.overlay_detect.detect_static` on a pan with a static
  semi-transparent logo; ``logo estimate``:
  :func:`~overmix.restore.overlay_estimate.estimate_overlay` (all planes);
  ``logo removed average``: every frame through
  :func:`~overmix.restore.overlay.remove_overlay`, rendered with the ``(1 - a)^2`` weights
  (``average, weights only`` is the same render without the removal: the renderer's cost of
  a per-pixel mask);
- ``lighting``: :func:`overmix.render.lighting.estimate_gains` on a pan with a 20 % flash,
  then ``lighting average``: the average of the compensated frames.

Figures: wall time (s) and the peak of memory allocated during the stage (Python + numpy,
``tracemalloc``), plus the process's maximum RSS at the end. Quality checks are printed too
(groups found, logo IoU, alpha error, gain error).

Usage: ``python tools/bench_scenes.py [--frames 60] [--width 1280] [--height 720]``
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from overmix.color.spec import ColorInfo  # noqa: E402
from overmix.frame import Family, PlaneLayout  # noqa: E402
from overmix.geometry import Offsets  # noqa: E402
from overmix.registration.animation import separate  # noqa: E402
from overmix.render.lighting import apply_gain, estimate_gains  # noqa: E402
from overmix.render.stack import render  # noqa: E402
from overmix.restore.overlay import overlay_weights, remove_overlay  # noqa: E402
from overmix.restore.overlay_detect import detect_static, static_mask  # noqa: E402
from overmix.restore.overlay_estimate import estimate_overlay  # noqa: E402
from tests.videogen import draw_scene  # noqa: E402

KR, KB = 0.2126, 0.0722  # ITU-R BT.709


def to_ycc(rgb: np.ndarray) -> np.ndarray:
    """R'G'B' to working Y'CbCr (ITU-R BT.709)."""
    y = KR * rgb[..., 0] + (1 - KR - KB) * rgb[..., 1] + KB * rgb[..., 2]
    return np.stack([y, (rgb[..., 2] - y) / (2 * (1 - KB)), (rgb[..., 0] - y) / (2 * (1 - KR))],
                    -1).astype(np.float32)


class Scene:
    """Frames cropped from a drawn world: optional cels, logo and per-frame gains."""

    def __init__(self, n: int, h: int, w: int, *, step=(8, 2), seed=1, cels: int = 0,
                 logo: bool = False, flash: tuple[int, ...] = ()) -> None:
        self.n, self.h, self.w = n, h, w
        self.xy = np.array([[step[0] * k, step[1] * k] for k in range(n)], dtype=np.float64)
        wh, ww = h + step[1] * (n - 1), w + step[0] * (n - 1)
        world = draw_scene(wh, ww, seed, world=(wh, ww))
        self.worlds = [to_ycc(world)]
        if cels:
            self.worlds = []
            cy, cx = wh // 2, ww // 2
            yy, xx = np.mgrid[0:wh, 0:ww]
            for c in range(cels):
                wc = world.copy()
                ang = (-0.9, 0.0, 0.9)[c % 3]
                d = np.abs((yy - cy) * np.cos(ang) - (xx - cx) * np.sin(ang))
                arm = (d < 12) & (np.hypot(yy - cy, xx - cx) < 120)
                wc[arm] = (0.15, 0.2, 0.75)
                self.worlds.append(to_ycc(wc))
        rng = np.random.default_rng(seed)
        self.noise = [rng.normal(0, 0.01, (h, w)).astype(np.float32) for _ in range(4)]
        self.logo_alpha = None
        if logo:
            a = np.zeros((h, w), np.float32)
            a[24:64, w - 220 : w - 40] = 0.6
            a[34:54, w - 200 : w - 60] = 0.0  # a frame-shaped logo
            self.logo_alpha = a
            self.logo_ycc = to_ycc(np.array([1.0, 0.92, 0.35]))
        self.gains = np.array([1.2 if k in flash else 1.0 for k in range(n)])
        self.layout = PlaneLayout(Family.YCBCR, 2, 2)
        self.color = ColorInfo()
        self.shape = (h, w)

    def __len__(self) -> int:
        return self.n

    def _planes_world(self, k: int) -> list[np.ndarray]:
        """Y' at full resolution, Cb/Cr at half (4:2:0), cut from the pre-split world."""
        if not hasattr(self, "_split"):
            self._split = []
            for wd in self.worlds:
                hh, ww = (wd.shape[0] // 2) * 2, (wd.shape[1] // 2) * 2
                c = [wd[:hh, :ww, i].reshape(hh // 2, 2, ww // 2, 2).mean(axis=(1, 3))
                     for i in (1, 2)]
                self._split.append([np.ascontiguousarray(wd[..., 0]), *c])
            if self.logo_alpha is not None:
                a = self.logo_alpha
                self._alpha_c = a.reshape(self.h // 2, 2, self.w // 2, 2).mean(axis=(1, 3))
        x, y = (int(v) for v in self.xy[k])
        yw, cbw, crw = self._split[k % len(self._split)]
        return [yw[y : y + self.h, x : x + self.w],
                cbw[y // 2 : y // 2 + self.h // 2, x // 2 : x // 2 + self.w // 2],
                crw[y // 2 : y // 2 + self.h // 2, x // 2 : x // 2 + self.w // 2]]

    def luma(self, k: int) -> np.ndarray:
        return self.planes(k, luma_only=True)[0]

    def planes(self, k: int, luma_only: bool = False) -> tuple[np.ndarray, ...]:
        ps = self._planes_world(k)[: 1 if luma_only else 3]
        g = np.float32(self.gains[k])
        out = []
        for i, p in enumerate(ps):
            if self.logo_alpha is not None:
                a = self.logo_alpha if i == 0 else self._alpha_c
                p = (1 - a) * p + a * self.logo_ycc[i]
            p = p * g
            out.append(p + self.noise[k % 4] if i == 0 else p)
        return tuple(out)

    def offsets(self) -> Offsets:
        return Offsets(self.xy, list(range(self.n)), self.w, self.h)


class Wrapped:
    """A provider whose planes pass through ``fn(k, planes)`` (removal, lighting)."""

    def __init__(self, base: Scene, fn) -> None:
        self.base, self.fn = base, fn
        self.layout, self.color, self.shape = base.layout, base.color, base.shape

    def __len__(self) -> int:
        return len(self.base)

    def planes(self, k: int) -> tuple[np.ndarray, ...]:
        return tuple(self.fn(k, self.base.planes(k)))


def measure(rows: list, name: str, fn):
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rows.append((name, dt, peak / 2**20))
    print(f"  {name:<24s} {dt:8.2f} s   peak alloc {peak / 2**20:8.1f} MB", flush=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=720)
    args = ap.parse_args()
    n, h, w = args.frames, args.height, args.width

    # warm up numba kernels on a tiny scene so compile time is not counted
    tiny = Scene(4, 64, 96)
    render(tiny, tiny.offsets(), method="average")

    print(f"{n} frames {w}x{h}, 4:2:0 working planes, pan (8, 2) px/frame")
    rows: list = []
    plain = Scene(n, h, w)
    measure(rows, "read (all planes once)", lambda: [len(plain.planes(k)) for k in range(n)])
    measure(rows, "read (all lumas once)", lambda: [len(plain.luma(k)) for k in range(n)])
    measure(rows, "average", lambda: render(plain, plain.offsets(), method="average"))

    anim = Scene(n, h, w, cels=3)
    res = measure(rows, "animation separate", lambda: separate(anim.luma, anim.xy))
    ok = len({(a, k % 3) for k, a in enumerate(res.ids)}) == 3
    print(f"    groups {res.groups}, ids match the truth: {ok}")

    logo = Scene(n, h, w, logo=True)
    score = measure(rows, "logo detect", lambda: detect_static(logo.luma, logo.xy))
    m = static_mask(score)
    truth = logo.logo_alpha > 0
    iou = (m & truth).sum() / max((m | truth).sum(), 1)
    color, alpha = measure(rows, "logo estimate", lambda: estimate_overlay(
        logo.planes, logo.xy, None, m))
    mae = np.abs(alpha - logo.logo_alpha)[truth].mean()
    print(f"    mask IoU {iou:.3f}, alpha MAE in logo {mae:.4f}")
    wts = overlay_weights(alpha)
    clean = Wrapped(logo, lambda k, p: remove_overlay(p, color, alpha))
    measure(rows, "average, weights only", lambda: render(logo, logo.offsets(),
                                                          method="average", mask=wts))
    measure(rows, "logo removed average", lambda: render(clean, logo.offsets(),
                                                         method="average", mask=wts))

    flash = Scene(n, h, w, flash=tuple(range(n // 3, n // 3 + 4)))
    gains = measure(rows, "lighting estimate", lambda: estimate_gains(flash.luma, flash.xy))
    print(f"    max gain error {np.abs(gains[:, 0] - flash.gains).max():.4f}")
    comp = Wrapped(flash, lambda k, p: apply_gain(p, gains[k]))
    measure(rows, "lighting average", lambda: render(comp, flash.offsets(), method="average"))

    base = rows[2][1]
    print("relative to the plain average:")
    for name, dt, _ in rows[3:]:
        print(f"  {name:<24s} {dt / base:6.2f} x")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"max RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()

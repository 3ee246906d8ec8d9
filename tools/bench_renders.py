#!/usr/bin/env python3
"""Benchmark: time and memory of every ``--render`` on 60 frames of 1280x720 (issue #6).

The frames (4:2:0 10-bit codes, smooth random content with a moving bright blob as an
"outlier") are held in an in-memory FrameStore and placed at sub-pixel offsets of a pan of
about 7.3 px per frame with a small vertical wobble. Each render runs once after a JIT
warm-up, in the same process, next to the plain ``average``:

- time: wall-clock seconds of :func:`overmix.render.stack.render`;
- memory: peak RSS growth during the render (Linux ``VmHWM`` reset via
  ``/proc/self/clear_refs`` before it, minus ``VmRSS`` at its start) and the peak of traced
  allocations (``tracemalloc``; numpy reports its buffers to it).

The statistics renders stack the covering frames in row bands within ``--tile-budget``
bytes (default 256 MB), so their memory is bounded by that budget plus the canvas.

Usage: ``python tools/bench_renders.py [--frames 60] [--tile-budget-mb 256]``
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _memory import reset_peak, status  # noqa: E402

W, H = 1280, 720


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--tile-budget-mb", type=float, default=256)
    args = ap.parse_args()
    from scipy import ndimage

    from overmix.color.spec import ColorInfo
    from overmix.frame import Frame, PlaneLayout
    from overmix.geometry import Offsets
    from overmix.io.store import FrameStore
    from overmix.render.stack import RENDERS, render

    n = args.frames
    rng = np.random.default_rng(0)
    ww = W + 8 * n
    world = ndimage.gaussian_filter(rng.random((H, ww)).astype(np.float32), 3)
    world = (world - world.min()) / np.ptp(world)
    y = (64 + 876 * world).astype(np.uint16)
    c = (512 + 300 * (world[::2, ::2] - 0.5)).astype(np.uint16)
    xy = np.stack([np.arange(n) * 7.31, 0.41 * np.sin(np.arange(n) * 0.7)], axis=1)
    color = ColorInfo(bit_depth=10)
    store = FrameStore(budget_bytes=1 << 40)
    for k, (x, _) in enumerate(xy):
        ix = int(x) // 2 * 2
        fy = y[:, ix:ix + W].copy()
        fy[300:380, 200 + 5 * k:280 + 5 * k] = 940  # a drifting bright blob (steam-like)
        fc = c[:, ix // 2:ix // 2 + W // 2].copy()
        store.add(Frame((fy, fc, fc.copy()), PlaneLayout(), color, index=k))
    del world, y, c
    off = Offsets(xy, list(range(n)), W, H)
    budget = int(args.tile_budget_mb * 2**20)
    for m in RENDERS:  # JIT warm-up on two frames
        render(store, Offsets(xy[:2], [0, 1], W, H), method=m)
    cv = off.canvas
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores (shared)")
    print(f"{n} frames {W}x{H} 4:2:0 10-bit in memory ({store.memory_bytes / 2**20:.0f} MB of "
          f"codes), canvas {cv.width}x{cv.height}, tile budget {args.tile_budget_mb:g} MB")
    print(f"{'render':<12} {'seconds':>8} {'x average':>10} {'RSS growth':>11} "
          f"{'traced peak':>12}")
    base_t = None
    for m in RENDERS:
        gc.collect()
        reset_peak()
        rss0 = status("VmRSS")
        tracemalloc.start()
        t = time.perf_counter()
        res = render(store, off, method=m, tile_budget=budget)
        dt = time.perf_counter() - t
        _, traced = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        grow = status("VmHWM") - rss0
        del res
        if base_t is None:
            base_t = dt
        print(f"{m:<12} {dt:8.2f} {dt / base_t:10.1f} {grow / 2**20:9.1f} MB "
              f"{traced / 2**20:9.1f} MB")
    store.close()


if __name__ == "__main__":
    main()

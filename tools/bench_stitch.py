#!/usr/bin/env python3
"""Benchmark: stitch a 60-frame 1280x720 10-bit H.264 pan; time, memory, accuracy.

Part A (speed, issue #5): a pan with known sub-pixel offsets is drawn (the world of
``tools/make_samples.py``, lightly blurred, every frame an exact Fourier sub-pixel shift of it),
encoded as High 10 H.264 (libx264, yuv420p10le, crf 16) and cached in ``--workdir``. Then:

1. the whole ``overmix stitch IN -o OUT.png`` command runs in a fresh subprocess: wall time
   and peak RSS of that process (``getrusage(RUSAGE_CHILDREN).ru_maxrss``), the figure to
   compare with Overmix (~6.0 s and 399 MB on this kind of input, 2 cores);
2. the same stages run in this process after a JIT warm-up, each timed: load (decode into the
   FrameStore), align, render (average), output (RGB conversion + 16-bit PNG);
3. the offsets found are compared with the truth: max and RMS error in pixels.

Part B (memory, issue #5 "Must show"): 200 frames of 1280x720 (4:2:0 10-bit codes, a pan of
about 7.3 px per frame at sub-pixel offsets) are put in a FrameStore spilled to disk
(``budget_bytes=0``, the streaming configuration), then ``average`` is rendered. Measured
for the render stage alone: the peak RSS growth (Linux ``VmHWM`` reset through
``/proc/self/clear_refs`` before the stage, minus ``VmRSS`` at its start) and the peak of
traced allocations (``tracemalloc``, which numpy reports to). The bound is
``3 x (float canvas + one frame)``, where the float canvas is the rendered float32 planes
(Y' plus the two 4:2:0 chroma planes) and one frame is the frame's float32 working planes.

Usage: ``python tools/bench_stitch.py [--frames 60] [--memory-frames 200] [--skip-memory]``
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import subprocess
import sys
import time
import tracemalloc
from fractions import Fraction
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _memory import reset_peak, status  # noqa: E402
from make_samples import draw_world, encode, to_ycbcr10  # noqa: E402

W, H = 1280, 720


def pan_positions(n: int) -> np.ndarray:
    """Camera positions (x, y) of frame k's pixel (0, 0), frame 0 at (0, 0): eased pan."""
    k = np.arange(n, dtype=np.float64)
    t = k / max(n - 1, 1)
    x = 236.37 * (0.5 - 0.5 * np.cos(np.pi * t)) + 0.731 * k
    y = 17.29 * t + 2.3 * np.sin(3.1 * t)
    return np.stack([x, y], axis=1)


def make_video(path: Path, n: int) -> np.ndarray:
    """Encode the benchmark pan (cached); returns the true offsets (n, 2)."""
    from scipy import ndimage

    xy = pan_positions(n)
    truth = path.with_suffix(".truth.json")
    if path.exists() and truth.exists():
        return np.array(json.loads(truth.read_text()))
    pad = 16
    wh = int(math.ceil(xy[:, 1].max())) + H + 2 * pad
    ww = int(math.ceil(xy[:, 0].max())) + W + 2 * pad
    yy, xx = np.mgrid[0:wh, 0:ww].astype(np.float64)
    world = draw_world(xx * 0.5 + 20, yy * 0.5 + 10)  # drawn at 2x: thicker lines
    world = ndimage.gaussian_filter(world, (0.7, 0.7, 0))
    # mirror to a periodic picture so the Fourier shift has no wrap-around edge to ring from
    world = np.concatenate([world, world[::-1]], axis=0)
    world = np.concatenate([world, world[:, ::-1]], axis=1)
    spec = np.fft.rfft2(world, axes=(0, 1))
    fy = np.fft.fftfreq(2 * wh)[:, None, None]
    fx = np.fft.rfftfreq(2 * ww)[None, :, None]
    frames = []
    for x, y in xy:
        ix, iy = int(math.floor(x)), int(math.floor(y))
        phase = np.exp(2j * np.pi * (fx * (x - ix) + fy * (y - iy)))
        shifted = np.fft.irfft2(spec * phase, s=(2 * wh, 2 * ww), axes=(0, 1))
        view = shifted[pad + iy:pad + iy + H, pad + ix:pad + ix + W]
        frames.append(to_ycbcr10(np.clip(view, 0, 1)))
    encode(path, frames, Fraction(24000, 1001))
    truth.write_text(json.dumps(xy.tolist()))
    return xy


def _mb(b: float) -> str:
    return f"{b / 2**20:.1f} MB"


def _warm_up() -> None:
    """Load the numba kernels (compiled and cached by the first run) on a tiny input."""
    from scipy import ndimage

    from overmix.color.spec import ColorInfo
    from overmix.commands.options import StitchOptions
    from overmix.commands.output import StitchResult
    from overmix.commands.stages import compute_offsets, render_canvas
    from overmix.frame import Frame, PlaneLayout
    from overmix.io.store import FrameStore
    from overmix.render.picture import canvas_image

    rng = np.random.default_rng(1)
    world = ndimage.gaussian_filter(rng.random((80, 120)), 2)
    world = (64 + 876 * (world - world.min()) / np.ptp(world)).astype(np.uint16)
    c = np.full((32, 48), 512, np.uint16)
    frames = [Frame((world[k:k + 64, 2 * k:2 * k + 96].copy(), c, c), PlaneLayout(),
                    ColorInfo(bit_depth=10), index=k) for k in range(3)]
    with FrameStore.from_frames(frames) as store:
        opts = StitchOptions()
        off = compute_offsets(store, opts)
        r = render_canvas(store, off, opts)
        canvas_image(StitchResult(r, off, off.canvas, r[0].color).renders[0], depth=16)


def part_a(video: Path, truth: np.ndarray, out_dir: Path) -> None:
    from overmix.commands.options import StitchOptions
    from overmix.commands.output import StitchResult, write_output
    from overmix.commands.stages import compute_offsets, load_store, render_canvas

    out = out_dir / "bench_stitch.png"
    # 1. the whole command in a fresh process, started from a small launcher process so that
    #    ru_maxrss is the command's own peak (a fork of this big process would count ours)
    launcher = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
                "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
                "print(time.perf_counter() - t, "
                "resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    cmd = [sys.executable, "-m", "overmix", "--quiet", "stitch", str(video), "-o", str(out),
           "--save-offsets", str(out_dir / "bench_offsets.json")]
    for extra, what in (([], "default: frames past 4 MB wait in a temporary folder"),
                        (["--memory-budget", "512"], "--memory-budget 512: all frames in "
                                                     "memory")):
        res = subprocess.run([sys.executable, "-c", launcher, *cmd, *extra], check=True,
                             capture_output=True, text=True)
        wall, peak = (float(v) for v in res.stdout.split())
        print(f"A1 overmix stitch, fresh process ({what}): {wall:.2f} s wall, "
              f"peak RSS {peak / 1024:.0f} MB")
    # 2. stage by stage, warm
    _warm_up()
    opts = StitchOptions()
    gc.collect()
    times = {}
    t = time.perf_counter()
    store = load_store(video, opts)
    times["load"] = time.perf_counter() - t
    t = time.perf_counter()
    offsets = compute_offsets(store, opts)
    times["align"] = time.perf_counter() - t
    t = time.perf_counter()
    renders = render_canvas(store, offsets, opts)
    times["render"] = time.perf_counter() - t
    t = time.perf_counter()
    res = StitchResult(renders, offsets, offsets.canvas, renders[0].color, {})
    write_output(res, out, opts)
    times["output"] = time.perf_counter() - t
    store.close()
    total = sum(times.values())
    print("A2 stages (warm, in process): " + ", ".join(f"{k} {v:.2f} s" for k, v in
                                                       times.items()) + f"; total {total:.2f} s")
    cv = offsets.canvas
    print(f"   canvas {cv.width}x{cv.height}, {len(offsets)} frames")
    err = offsets.xy - truth
    d = np.hypot(err[:, 0], err[:, 1])
    print(f"A3 offset error vs truth: max {np.abs(err).max():.4f} px (per axis), "
          f"RMS {np.sqrt(np.mean(err ** 2)):.4f} px (per axis), max distance {d.max():.4f} px")
    sample = Path(__file__).resolve().parent.parent / "samples" / "pan.mkv"
    if sample.exists():
        from overmix.commands.align import align_input

        off, _ = align_input(sample, opts)
        tj = json.loads(sample.with_suffix(".truth.json").read_text())
        t2 = np.array([[f["x"], f["y"]] for f in tj["frames"]])
        e2 = off.xy - t2
        print(f"A4 samples/pan.mkv ({len(t2)} frames 480x270, 10-bit H.264): offset error max "
              f"{np.abs(e2).max():.4f} px, RMS {np.sqrt(np.mean(e2 ** 2)):.4f} px (per axis)")


def part_b(n: int) -> None:
    from overmix.color.spec import ColorInfo
    from overmix.frame import Frame, PlaneLayout
    from overmix.geometry import Offsets
    from overmix.io.store import FrameStore
    from overmix.render.stack import render

    rng = np.random.default_rng(0)
    base = (rng.integers(64, 940, (H, W + 8 * n)).astype(np.uint16))
    cb = rng.integers(64, 960, (H // 2, (W + 8 * n) // 2)).astype(np.uint16)
    xy = np.stack([np.arange(n) * 7.31, 0.37 * np.sin(np.arange(n) * 0.3)], axis=1)
    frames = []
    color = ColorInfo(bit_depth=10)
    with FrameStore(budget_bytes=0) as store:
        for k, (x, _) in enumerate(xy):
            ix = int(x) // 2 * 2
            f = Frame((base[:, ix:ix + W].copy(), cb[:, ix // 2:ix // 2 + W // 2].copy(),
                       cb[:, ix // 2:ix // 2 + W // 2].copy()), PlaneLayout(), color, index=k)
            store.add(f)
        del frames, base, cb
        off = Offsets(xy, list(range(n)), W, H)
        render(store, Offsets(xy[:2], [0, 1], W, H))  # JIT warm-up
        gc.collect()
        cv = off.canvas
        canvas_bytes = 4 * (cv.width * cv.height + 2 * (-(-cv.width // 2)) * (-(-cv.height // 2)))
        frame_bytes = 4 * (W * H + 2 * (W // 2) * (H // 2))
        bound = 3 * (canvas_bytes + frame_bytes)
        ok = reset_peak()
        rss0 = status("VmRSS")
        tracemalloc.start()
        t = time.perf_counter()
        res = render(store, off, method="average")
        dt = time.perf_counter() - t
        _, traced = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        grow = status("VmHWM") - rss0
        del res
    print(f"B  {n} frames {W}x{H} 4:2:0 10-bit, store spilled to disk, render average: "
          f"{dt:.2f} s; canvas {cv.width}x{cv.height}")
    print(f"   float canvas {_mb(canvas_bytes)}, one float frame {_mb(frame_bytes)}, "
          f"bound 3x(canvas + frame) = {_mb(bound)}")
    print(f"   peak RSS growth during render: {_mb(grow)}"
          + ("" if ok else " (VmHWM reset unavailable: growth since process start)")
          + f"; tracemalloc peak (numpy allocations): {_mb(traced)}")
    print(f"   within bound: RSS {'yes' if grow < bound else 'NO'}, "
          f"traced {'yes' if traced < bound else 'NO'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--memory-frames", type=int, default=200)
    ap.add_argument("--workdir", default="/tmp/overmix-bench")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--skip-speed", action="store_true")
    args = ap.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    if not args.skip_speed:
        print(f"cores: {os.cpu_count()}, python {sys.version.split()[0]}, load average "
              f"{os.getloadavg()[0]:.1f} (other jobs share the cores)")
    if not args.skip_speed:
        video = work / f"pan{args.frames}_720p10.mkv"
        t = time.perf_counter()
        truth = make_video(video, args.frames)
        print(f"input {video} ({video.stat().st_size / 1e6:.1f} MB; prepared in "
              f"{time.perf_counter() - t:.1f} s)")
        part_a(video, truth, work)
    if not args.skip_memory:
        if args.skip_speed:
            part_b(args.memory_frames)
        else:  # a fresh process: heap pages freed by part A would hide RSS growth
            subprocess.run([sys.executable, __file__, "--skip-speed", "--memory-frames",
                            str(args.memory_frames)], check=True)


if __name__ == "__main__":
    main()

"""Benchmark `overmix compress` on a folder of 1080p 10-bit 4:2:0 dumps.

For each method (zlib levels 1/6/9, xz presets 1/6, none) it recompresses a folder of raw
dumps in place with :func:`overmix.io.recompress.recompress` using both cores (thread pool and
process pool), and, in the same run, compresses the same planes single-threaded with plain
Python ``zlib.compress`` / ``lzma.compress``. It prints throughput in MB/s of raw samples
(``MB = 10^6 bytes``; 2 bytes per 10-bit sample), the compression ratio (raw / stored) and
``cores`` = CPU seconds / wall seconds (how many cores the run really got; on a shared machine
this shows when other jobs took the CPU).

The recompress figure covers the whole job per file: read, decode, encode, decode-and-compare
of the new bytes, fsync'ed atomic write. The plain-Python figure is the encode step alone.

Usage: python tools/bench_compress.py [--frames N] [--methods zlib1,xz6,...]
"""

from __future__ import annotations

import argparse
import lzma
import os
import resource
import shutil
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

import dumpfmt
from overmix.commands.compress import recompress

METHODS = {
    "none": ("none", None),
    "zlib1": ("zlib", 1),
    "zlib6": ("zlib", 6),
    "zlib9": ("zlib", 9),
    "xz1": ("xz", 1),
    "xz6": ("xz", 6),
}


def drawn_frame(k: int, rng: np.random.Generator) -> list[np.ndarray]:
    """A 1920x1080 10-bit 4:2:0 cel-like frame: gradient sky, flat shapes, dark outlines,
    panning by 7 px per frame, with mild noise (sigma ~1.5 codes) like a decoded video."""
    h, w = 1080, 1920
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    xx += 7 * k
    y = 300 + 0.25 * yy  # sky gradient
    cb = np.full((h, w), 600.0, np.float32)
    cr = np.full((h, w), 450.0, np.float32)
    for cx, cy, r, ly, lb, lr in ((500, 600, 260, 700, 380, 620), (1300, 450, 180, 520, 560, 400),
                                  (900, 900, 320, 380, 500, 520)):
        d = np.hypot(xx - cx, yy - cy)
        inside = d < r
        y[inside], cb[inside], cr[inside] = ly, lb, lr
        y[np.abs(d - r) < 3] = 90  # outline
    y[(yy > 820) & ((xx // 64) % 2 == 0)] = 640  # a striped floor
    y += rng.normal(0, 1.5, (h, w))
    cb = cb[::2, ::2] + rng.normal(0, 1.0, (h // 2, w // 2))
    cr = cr[::2, ::2] + rng.normal(0, 1.0, (h // 2, w // 2))
    return [np.clip(np.rint(p), 0, 1023).astype(np.uint16) for p in (y, cb, cr)]


def _cpu() -> float:
    """CPU seconds of this process and its finished children (process-pool workers)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--executors", default="thread,process")
    args = ap.parse_args()
    methods = args.methods.split(",")
    executors = args.executors.split(",")
    rng = np.random.default_rng(1)
    frames = [drawn_frame(k, rng) for k in range(args.frames)]
    raw_bytes = sum(p.nbytes for f in frames for p in f)
    print(f"{args.frames} frames 1920x1080 10-bit 4:2:0, raw {raw_bytes / 1e6:.1f} MB; "
          f"{os.cpu_count()} CPU cores")
    print(f"{'method':<7} {'how':<28} {'MB/s':>8} {'ratio':>7} {'seconds':>8} {'cores':>6}")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "raw"
        src.mkdir()
        for k, f in enumerate(frames):
            dumpfmt.write(src / f"{k:06d}.dump", f, depth=10, compression="none", transform=3)
        for name in methods:
            comp, level = METHODS[name]
            # single-threaded plain Python, encode only
            t0, c0 = time.perf_counter(), _cpu()
            stored = 0
            for f in frames:
                for p in f:
                    b = p.astype("<u2").tobytes()
                    if comp == "zlib":
                        stored += len(zlib.compress(b, level))
                    elif comp == "xz":
                        stored += len(lzma.compress(b, format=lzma.FORMAT_XZ,
                                                    check=lzma.CHECK_CRC64, preset=level))
                    else:
                        stored += len(b)
            dt, cpu = time.perf_counter() - t0, _cpu() - c0
            print(f"{name:<7} {'python, 1 thread, encode':<28} {raw_bytes / 1e6 / dt:8.1f} "
                  f"{raw_bytes / stored:7.2f} {dt:8.2f} {cpu / dt:6.2f}", flush=True)
            for ex in executors:
                work = Path(tmp) / f"{name}-{ex}"
                shutil.copytree(src, work)
                t0, c0 = time.perf_counter(), _cpu()
                res = recompress([work], to=comp, level=level, jobs=2, executor=ex, force=True)
                dt, cpu = time.perf_counter() - t0, _cpu() - c0
                after = sum(r.after for r in res)
                assert all(r.status == "recompressed" for r in res)
                how = "overmix compress, 2 " + ("threads" if ex == "thread" else "processes")
                print(f"{name:<7} {how:<28} {raw_bytes / 1e6 / dt:8.1f} "
                      f"{raw_bytes / after:7.2f} {dt:8.2f} {cpu / dt:6.2f}", flush=True)
                shutil.rmtree(work)


if __name__ == "__main__":
    main()

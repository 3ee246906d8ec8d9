"""Benchmark: decoding and dumping a 1080p Hi10p clip.

Makes (once, cached in the temp folder) a 1920x1080 yuv420p10le H.264 clip of a panning cel
scene, then measures in one run:

- decode-only: ``overmix.video.open_video`` raw planes (``np.from_dlpack`` copies), frames/s;
- PyAV baseline: ``frame.to_ndarray()`` on every frame, frames/s;
- ``overmix dump`` with ``--compress none``, ``zlib`` (default level 1) and ``xz`` (default
  preset 6, on fewer frames because it is slow): frames/s, bytes per frame and the CPU cores
  used (process CPU time / wall time).

By default the clip carries film grain (``--grain 0.01``), which gives the ~29 Mbit/s of a
Blu-ray source; ``--grain 0`` makes a clean ~0.7 Mbit/s clip that decodes far faster than real
material (there dumping is bound by deflate and file writes, not by decoding).

Usage: ``python tools/bench_dump.py [--frames 60] [--xz-frames 12] [--workers N] [--grain S]``
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from overmix.cli import main as cli_main  # noqa: E402
from overmix.video import open_video  # noqa: E402


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def make_clip(path: Path, n: int, grain: float = 0.0) -> Path:
    """A 1080p 10-bit 4:2:0 H.264 (High 10) clip: a pan over one drawn world.

    ``grain`` adds fresh Gaussian noise of that standard deviation (R'G'B' in [0, 1]) to every
    frame, as film grain and dithering do on Blu-ray sources; it raises the bitrate to the
    tens of Mbit/s those have, which is what makes their decoding cost what it is.
    """
    from tests.videogen import draw_scene, encode_video, rgb_to_yuv_codes

    if path.exists():
        return path
    h, w = 1080, 1920
    world = draw_scene(h + 2 * n, w + 6 * n, 9, world=(h + 2 * n, w + 6 * n))
    rng = np.random.default_rng(7)
    frames = []
    for k in range(n):
        view = world[2 * k: 2 * k + h, 6 * k: 6 * k + w]
        if grain > 0:
            view = view + rng.normal(0.0, grain, view.shape).astype(view.dtype)
        frames.append(rgb_to_yuv_codes(view, "709", False, 10, (2, 2)))
    tmp = path.with_suffix(".tmp.mkv")
    encode_video(tmp, frames, "libx264", "yuv420p10le", Fraction(24000, 1001),
                 options={"preset": "veryfast", "crf": "16"}, gop=24)
    os.replace(tmp, path)
    return path


def timed(label: str, fn) -> tuple[float, float, object]:
    c0, t0 = _cpu(), time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t0
    return dt, (_cpu() - c0) / max(dt, 1e-9), out


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--xz-frames", type=int, default=12)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--grain", type=float, default=0.01,
                    help="film-grain noise (std of R'G'B' in [0, 1]); the default gives a "
                         "Blu-ray-like ~29 Mbit/s, 0 a clean ~0.7 Mbit/s clip")
    ap.add_argument("--cache", default=os.path.join(tempfile.gettempdir(), "overmix-bench"))
    return ap.parse_args()


def _decode_raw(clip: Path) -> int:
    """Frames decoded as overmix's raw planes."""
    n = 0
    for f in open_video(clip, ivtc="off"):
        n += 1
        assert f.planes[0].dtype == np.uint16
    return n


def _decode_pyav(clip: Path) -> int:
    """Frames decoded by PyAV to arrays (the baseline)."""
    n = 0
    with av.open(str(clip)) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        for fr in c.decode(s):
            fr.to_ndarray()
            n += 1
    return n


def _compress_only(clip: Path) -> None:
    """CPU cost of the compression alone (one thread), to explain the dump figures."""
    from overmix.io.dumps import encode_frame

    sample = list(open_video(clip, ivtc="off", frames=6))
    for comp, level in (("zlib", 1), ("zlib", 6)):
        c0 = time.perf_counter()
        for f in sample:
            encode_frame(f, compression=comp, level=level)
        per = (time.perf_counter() - c0) / len(sample)
        print(f"compress only, {comp} level {level}: {per * 1000:.0f} ms/frame on one thread "
              f"({1 / per:.1f} frames/s)")


def _dumps(clip: Path, args: argparse.Namespace) -> list[tuple[str, float, float, float]]:
    """``overmix dump`` with each compression: (label, frames/s, cores, bytes/frame)."""
    rows = []
    work = Path(tempfile.mkdtemp(prefix="bench-dump-"))
    try:
        for comp, frames in (("none", args.frames), ("zlib", args.frames),
                             ("xz", min(args.xz_frames, args.frames))):
            out = work / comp
            argv = ["--quiet", "dump", str(clip), "-o", str(out), "--compress", comp,
                    "--ivtc", "off", "--frames", str(frames)]
            if args.workers:
                argv += ["--workers", str(args.workers)]
            dt, cores, rc = timed(comp, lambda a=argv: cli_main(a))
            assert rc == 0
            files = list(out.glob("*.dump"))
            size = sum(f.stat().st_size for f in files)
            label = f"dump --compress {comp}" + (f" ({frames} frames)" if frames != args.frames
                                                 else "")
            rows.append((label, len(files) / dt, cores, size / len(files)))
            shutil.rmtree(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


def main() -> int:
    args = _args()
    cache = Path(args.cache)
    cache.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    suffix = f"_grain{args.grain:g}" if args.grain > 0 else ""
    clip = make_clip(cache / f"hi10p_1080_{args.frames}{suffix}.mkv", args.frames, args.grain)
    mbps = clip.stat().st_size * 8 / (args.frames * 1001 / 24000) / 1e6
    print(f"clip: {clip} ({clip.stat().st_size / 1e6:.1f} MB, {args.frames} frames 1920x1080 "
          f"yuv420p10le High 10, {mbps:.1f} Mbit/s; made/cached in "
          f"{time.perf_counter() - t0:.1f} s)")
    print(f"cores available: {os.cpu_count()}")

    _decode_raw(clip)  # warm the page cache and the packet index
    t1 = time.perf_counter()
    open_video(clip, ivtc="off")
    print(f"open_video fixed cost (probe: container open + first frame; packet index cached): "
          f"{(time.perf_counter() - t1) * 1000:.0f} ms")
    rows: list[tuple[str, float, float, float | None]] = []
    dt, cores, n = timed("decode", lambda: _decode_raw(clip))
    rows.append(("decode-only (overmix raw planes)", n / dt, cores, None))
    dec_fps = n / dt
    dt, cores, n = timed("pyav", lambda: _decode_pyav(clip))
    rows.append(("PyAV to_ndarray (baseline)", n / dt, cores, None))
    _compress_only(clip)
    rows += _dumps(clip, args)

    raw = 1920 * 1080 * 3 // 2 * 2
    print(f"{'measure':38s} {'frames/s':>9s} {'cores':>6s} {'bytes/frame':>12s} "
          f"{'vs decode':>9s}")
    for label, fps, cores, bpf in rows:
        b = "" if bpf is None else f"{bpf:12,.0f}"
        print(f"{label:38s} {fps:9.2f} {cores:6.2f} {b:>12s} {fps / dec_fps:9.0%}")
    print(f"(raw 10-bit 4:2:0 frame = {raw:,} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

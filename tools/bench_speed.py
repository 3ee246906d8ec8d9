#!/usr/bin/env python3
"""Benchmark of issue #15: overmix against a reference in the same run, several repeats.

Three parts, each printing overmix and its reference side by side (ratios per repeat, then
the median), the per-stage split and the machine's load average (the machine may be shared:
only ratios measured in the same run mean something):

``stitch``  60 PNG frames 1280x720 (8-bit RGB) of a pan of +1.37 / +0.6 px per frame (the
            world of ``tools/make_samples.py`` drawn at 2x, lightly blurred, every frame an
            exact Fourier sub-pixel shift of it; cached in ``--workdir``).
            overmix: ``overmix stitch DIR -o OUT.png`` in a fresh process (wall time, peak
            RSS, its own per-stage split from ``--json``: the load and the alignment overlap,
            the alignment reading the first frames while the later ones decode, offsets
            against the truth).
            Reference: the work of ``stitch_floor.py`` (the least any stitcher must do) with
            tools anyone has with overmix installed — PyAV's png decoder on 2 threads, a
            half-resolution Hann-windowed phase correlation of each consecutive pair
            (``scipy.fft``, integer shifts, each frame's spectrum computed once) and an
            integer-placed running sum — also in a fresh process. It is not a stitcher (no
            sub-pixel, no chroma-aware render, no robust masks): it is the floor.
``align``   48 frames of 480x270 against 48 frames of 1280x720 of the same pan (PNG frames
            as above, luma in memory), ``overmix.align`` in this process after a warm-up;
            wall time, and CPU time of all the process's threads (what the work costs,
            whatever else the machine runs); then each stage's CPU in one instrumented
            run of each size, beside the 480x270 pixels' share of the 1280x720 figure
            (the stages over it are the small frames' fixed cost).
``convert`` 48 frames of a High 10 H.264 1280x720 clip (``tools/bench_stitch.py``'s pan,
            cached) to 16-bit PNGs. overmix: ``overmix convert CLIP --all -o DIR --depth 16``
            in a fresh process. Reference: PyAV decoding the same clip, ``VideoFrame.reformat``
            (swscale) to rgb48be and FFmpeg's png encoder, in a fresh process. The PNGs
            overmix writes are compared sample for sample with
            ``overmix.color.convert.frame_to_image`` of the decoded frames (the colour path,
            independent of the writer).

            With ``--floor STITCH_FLOOR_PY``, each repeat also runs that script (the
            owner's floor: OpenCV decode on 2 threads, half-res phase correlation, integer
            running sum, three runs in one process; needs opencv-python-headless, not a
            project dependency) and prints overmix's stages beside the floor's median
            stages: load against decode, load + alignment (they overlap) against decode +
            phase, the stages after the alignment against the sum, and the whole, with
            the ratios (the owner's aim: x1.5).

            With ``--overmix RUN_SH``, each repeat also runs the original Overmix CLI through
            that runner (``RUN_SH FRAMES OUT.png``, printing ``wall_time`` and
            ``peak_rss_kb`` of the Overmix process) and prints overmix's time and memory
            ratios to it (issue #15's goal: ≤ 0.4 both).

Before timing, overmix's modules are compiled to bytecode once (as an installed package
has them): otherwise, under ``PYTHONDONTWRITEBYTECODE=1``, every timed process would compile
them from source.

On a machine shared with other work, run it under ``chrt -r 1`` (the timed processes inherit
the real-time priority) for figures close to a quiet machine's.

Usage: ``python tools/bench_speed.py [stitch|align|convert|all] [--repeat 3] [--workdir D]
[--overmix RUN_SH] [--floor STITCH_FLOOR_PY]``
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))

STEP = (1.37, 0.6)  # px per frame (x, y) of the PNG pans
# Launcher: runs a command, prints its wall time, CPU time (user + system, all threads) and
# peak RSS (KiB) as JSON.
_LAUNCH = ("import json, resource, subprocess, sys, time; t = time.perf_counter(); "
           "r = subprocess.run(sys.argv[1:], check=True, capture_output=True, text=True); "
           "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
           "print(json.dumps({'wall': time.perf_counter() - t, 'out': r.stdout, "
           "'cpu': u.ru_utime + u.ru_stime, 'rss': u.ru_maxrss}))")


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} cores"


def _compile_bytecode() -> str:
    """Compile overmix's (and dumpfmt's) modules to bytecode once, as installing a package
    does: a checkout run with ``PYTHONDONTWRITEBYTECODE=1`` (as here) would otherwise
    compile every module from source in every timed process (~0.09 s of CPU)."""
    import compileall

    root = TOOLS.parent
    ok = all(compileall.compile_dir(str(root / pkg), quiet=2) for pkg in ("overmix", "dumpfmt"))
    flag = "set" if sys.flags.dont_write_bytecode else "not set"
    return (f"bytecode of overmix and dumpfmt compiled beforehand{'' if ok else ' (FAILED)'} "
            f"(as an installed package has it; PYTHONDONTWRITEBYTECODE is {flag} here)")


def _launch(cmd: list[str]) -> dict[str, object]:
    # run from this checkout: ``python -m`` puts the working folder first on the path
    env = {**os.environ, "PYTHONPATH": str(TOOLS.parent)}
    res = subprocess.run([sys.executable, "-c", _LAUNCH, *cmd], check=True,
                         capture_output=True, text=True, env=env, cwd=TOOLS.parent)
    return json.loads(res.stdout)


# ------------------------------------------------------------------------------ inputs


def make_png_pan(folder: Path, n: int, w: int, h: int) -> np.ndarray:
    """Write (once) n RGB PNG frames of the pan; returns the true offsets (n, 2)."""
    from make_samples import draw_world
    from scipy import ndimage

    xy = np.array([[k * STEP[0], k * STEP[1]] for k in range(n)])
    done = folder / "done"
    if done.exists():
        return xy
    from overmix.io.png import write_png

    folder.mkdir(parents=True, exist_ok=True)
    pad = 16
    wh = int(math.ceil(xy[:, 1].max())) + h + 2 * pad
    ww = int(math.ceil(xy[:, 0].max())) + w + 2 * pad
    yy, xx = np.mgrid[0:wh, 0:ww].astype(np.float64)
    world = ndimage.gaussian_filter(draw_world(xx * 0.5 + 20, yy * 0.5 + 10), (0.7, 0.7, 0))
    # mirrored to a periodic picture: the Fourier shift has no wrap-around edge to ring from
    world = np.concatenate([world, world[::-1]], axis=0)
    world = np.concatenate([world, world[:, ::-1]], axis=1)
    spec = np.fft.rfft2(world, axes=(0, 1))
    fy = np.fft.fftfreq(2 * wh)[:, None, None]
    fx = np.fft.rfftfreq(2 * ww)[None, :, None]
    for k, (x, y) in enumerate(xy):
        ix, iy = int(math.floor(x)), int(math.floor(y))
        phase = np.exp(2j * np.pi * (fx * (x - ix) + fy * (y - iy)))
        view = np.fft.irfft2(spec * phase, s=(2 * wh, 2 * ww), axes=(0, 1))
        view = view[pad + iy:pad + iy + h, pad + ix:pad + ix + w]
        write_png(folder / f"{k:04d}.png", np.rint(np.clip(view, 0, 1) * 255).astype(np.uint8))
    done.write_text("")
    return xy


# ------------------------------------------------------------------------------ references


def _decode_rgb(path: str) -> np.ndarray:
    import av

    ctx = av.CodecContext.create("png", "r")
    frame = ctx.decode(av.Packet(Path(path).read_bytes()))[0]
    return frame.to_ndarray()  # rgb24, (h, w, 3) uint8


def ref_stitch(folder: str) -> None:
    """The floor: decode (2 threads), half-res phase correlation, integer running sum."""
    from scipy import fft

    files = sorted(str(p) for p in Path(folder).glob("*.png"))
    t0 = time.perf_counter()
    with ThreadPoolExecutor(2) as ex:
        imgs = list(ex.map(_decode_rgb, files))
    t1 = time.perf_counter()
    h, w = imgs[0].shape[:2]
    hh, hw = h // 2, w // 2
    win = np.outer(np.hanning(hh), np.hanning(hw)).astype(np.float32)
    wts = np.array([0.299, 0.587, 0.114], np.float32)  # the gray of OpenCV's cvtColor

    def spectrum(img: np.ndarray) -> np.ndarray:
        g = img.astype(np.float32) @ wts
        g = 0.25 * (g[0:2 * hh:2, 0:2 * hw:2] + g[1:2 * hh:2, 0:2 * hw:2]
                    + g[0:2 * hh:2, 1:2 * hw:2] + g[1:2 * hh:2, 1:2 * hw:2])
        return fft.rfft2((g - g.mean()) * win)

    specs = [spectrum(i) for i in imgs]
    shifts = []
    for a, b in zip(specs, specs[1:], strict=False):
        c = a * np.conj(b)
        c /= np.abs(c) + 1e-12
        corr = fft.irfft2(c, s=(hh, hw))
        py, px = np.unravel_index(int(np.argmax(corr)), corr.shape)
        shifts.append((px - hw if px > hw // 2 else px, py - hh if py > hh // 2 else py))
    t2 = time.perf_counter()
    pos = np.cumsum([(0, 0)] + [(2 * dx, 2 * dy) for dx, dy in shifts], axis=0)
    pos -= pos.min(axis=0)
    acc = np.zeros((pos[:, 1].max() + h, pos[:, 0].max() + w, 3), np.float32)
    for (x, y), img in zip(pos, imgs, strict=True):
        acc[y:y + h, x:x + w] += img
    t3 = time.perf_counter()
    print(json.dumps({"decode": t1 - t0, "phase": t2 - t1, "sum": t3 - t2,
                      "last": [int(v) for v in pos[-1] - pos[0]]}))


def ref_convert(clip: str, out: str) -> None:
    """PyAV: decode, swscale to rgb48be, FFmpeg's png encoder, one file per frame."""
    import av

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    with av.open(clip) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for k, frame in enumerate(container.decode(stream)):
            rgb = frame.reformat(format="rgb48be")
            ctx = av.CodecContext.create("png", "w")
            ctx.width, ctx.height, ctx.pix_fmt = rgb.width, rgb.height, "rgb48be"
            data = b"".join(bytes(p) for p in ctx.encode(rgb) + ctx.encode(None))
            (folder / f"{k:06d}.png").write_bytes(data)


# ------------------------------------------------------------------------------ parts


def _med(xs: list[float]) -> float:
    return statistics.median(xs)


def _overmix_ref(run_sh: str, folder: Path, out: Path) -> tuple[float, float]:
    """The original Overmix CLI through its runner script (``run.sh FRAMES OUT.png``, which
    prints the binary's own ``wall_time: m:ss.ss`` and ``peak_rss_kb: N`` from GNU time):
    (wall s, peak RSS MiB) of the Overmix process alone."""
    res = subprocess.run([run_sh, str(folder), str(out)], check=True, capture_output=True,
                         text=True)
    wall = rss = float("nan")
    for line in res.stdout.splitlines():
        if line.startswith("wall_time:"):
            parts = line.split()[1].split(":")
            wall = sum(float(v) * 60 ** i for i, v in enumerate(reversed(parts)))
        elif line.startswith("peak_rss_kb:"):
            rss = int(line.split()[1]) / 1024
    return wall, rss


def _floor(script: str, folder: Path) -> dict[str, float]:
    """``stitch_floor.py FRAMES`` (decode with OpenCV on 2 threads, half-res phase
    correlation, integer running sum; three runs in one process) in a fresh process: the
    median of its runs per stage, in seconds (``decode``, ``phase``, ``sum``, ``total``)."""
    res = subprocess.run([sys.executable, script, str(folder)], check=True,
                         capture_output=True, text=True)
    pat = re.compile(r"decode ([\d.]+) s, half-res phase correlation ([\d.]+) s, "
                     r"running sum ([\d.]+) s, total ([\d.]+) s")
    runs = [[float(v) for v in m.groups()] for m in pat.finditer(res.stdout)]
    if not runs:
        raise SystemExit(f"{script}: no timings in its output:\n{res.stdout}")
    return {k: _med([r[i] for r in runs]) for i, k in enumerate(("decode", "phase", "sum",
                                                                  "total"))}


def _stage_table(tm: dict[str, float], wall: float, cpu: float,
                 fl: dict[str, float]) -> list[str]:
    """overmix's stages beside the floor's (``fl``, :func:`_floor`), with ratios. The
    load overlaps the alignment (the alignment reads the first frames while the later ones
    decode): ``align`` is the two together; what runs after it is set against the sum."""
    after = sum(tm.get(k, 0.0) for k in ("lighting", "consensus", "render", "output"))
    inproc = tm["align"] + after  # from the first frame stored to the file written
    rows = [("load (decode into the store)", tm["load"], "decode", fl["decode"]),
            ("load + align (overlapping)", tm["align"], "decode + phase",
             fl["decode"] + fl["phase"]),
            ("lighting + consensus + render + output", after, "sum", fl["sum"]),
            ("stages (first frame to file written)", inproc, "total", fl["total"]),
            ("process wall (with start-up, imports)", wall, "total", fl["total"])]
    out = [f"    {a:40s} {x:5.2f} s | floor {b:15s} {y:5.2f} s | x{x / y:.2f}"
           for a, x, b, y in rows]
    split = ", ".join(f"{k} {tm[k]:.2f}" for k in ("lighting", "consensus", "render", "output")
                      if k in tm)
    out.append(f"    (after the alignment: {split} s; overmix CPU {cpu:.2f} s, all threads)")
    return out


def part_stitch(work: Path, repeat: int, overmix: str | None = None,
                floor: str | None = None) -> None:
    folder = work / "png720x60"
    truth = make_png_pan(folder, 60, 1280, 720)
    out = work / "bench_speed_stitch.png"
    print(f"\n[stitch] 60 PNG frames 1280x720, pan +{STEP[0]}/+{STEP[1]} px per frame; "
          f"{_load()}")
    ratios, walls, rwalls = [], [], []
    ovr: list[tuple[float, float]] = []  # against Overmix: (time ratio, memory ratio)
    fratios: list[float] = []  # process wall against the floor's total
    for r in range(repeat):
        if overmix:  # the original Overmix, right before overmix (same minutes, same load)
            o_wall, o_rss = _overmix_ref(overmix, folder, work / "bench_speed_overmix.png")
        om = _launch([sys.executable, "-m", "overmix", "--quiet", "stitch", str(folder), "-o",
                      str(out), "--json"])
        ref = _launch([sys.executable, __file__, "_ref_stitch", str(folder)])
        summary = json.loads(str(om["out"]))
        tm = summary["timings"]
        split = json.loads(str(ref["out"]))
        xy = np.array([[f["x"], f["y"]] for f in summary["offsets"]["frames"]])
        err = float(np.abs(xy - truth).max())
        ratio = float(om["wall"]) / float(ref["wall"])
        ratios.append(ratio)
        walls.append(float(om["wall"]))
        rwalls.append(float(ref["wall"]))
        print(f"  run {r + 1}: overmix {om['wall']:.2f} s wall, {om['cpu']:.2f} s CPU, peak RSS "
              f"{int(om['rss']) / 1024:.0f} MiB (load {tm['load']:.2f}, align {tm['align']:.2f}"
              f" (overlapping), lighting {tm.get('lighting', 0):.2f}, consensus "
              f"{tm.get('consensus', 0):.2f}, render {tm['render']:.2f}"
              f", output {tm.get('output', 0):.2f} s); offsets max "
              f"error {err:.4f} px | reference {ref['wall']:.2f} s wall, peak RSS "
              f"{int(ref['rss']) / 1024:.0f} MiB (decode {split['decode']:.2f}, phase "
              f"{split['phase']:.2f}, sum {split['sum']:.2f} s) | ratio {ratio:.2f}")
        if floor:  # right after overmix, like the reference
            fl = _floor(floor, folder)
            fratios.append(float(om["wall"]) / fl["total"])
            print(f"         against {Path(floor).name} (median of its 3 runs, fresh "
                  f"process), per stage:")
            for line in _stage_table(tm, float(om["wall"]), float(om["cpu"]), fl):
                print(line)
        if overmix:
            ovr.append((float(om["wall"]) / o_wall, int(om["rss"]) / 1024 / o_rss))
            print(f"         Overmix {o_wall:.2f} s wall, peak RSS {o_rss:.0f} MiB | overmix "
                  f"x{ovr[-1][0]:.2f} time, x{ovr[-1][1]:.2f} memory; {_load()}")
    print(f"  median: overmix {_med(walls):.2f} s, reference {_med(rwalls):.2f} s, "
          f"ratio {_med(ratios):.2f} (x the floor); {_load()}")
    if fratios:
        print(f"  median against the floor: x{_med(fratios):.2f} (process wall / floor "
              f"total; the owner's aim x1.5)")
    if ovr:
        print(f"  median against Overmix: x{_med([t for t, _ in ovr]):.2f} time, "
              f"x{_med([m for _, m in ovr]):.2f} memory (goal <= 0.4 both)")


def part_align(work: Path, repeat: int) -> None:
    from overmix.commands.options import StitchOptions
    from overmix.commands.stages import load_store
    from overmix.registration import align

    print(f"\n[align] 48 frames 480x270 against 48 frames 1280x720 (same pan); {_load()}")
    sets = {}
    for w, h in ((480, 270), (1280, 720)):
        folder = work / f"png{h}x48"
        truth = make_png_pan(folder, 48, w, h)
        with load_store(folder, StitchOptions(memory_budget=1 << 30)) as store:
            sets[h] = ([store.luma(k) for k in range(len(store))], truth)
    for lumas, _ in sets.values():
        align(lumas[:4])  # warm-up
    ratios, cpu = [], []
    for r in range(repeat):
        t = {}
        for h, (lumas, truth) in sets.items():
            c0, t0 = time.process_time(), time.perf_counter()
            res = align(lumas)
            t[h], t[f"c{h}"] = time.perf_counter() - t0, time.process_time() - c0
            err = float(np.abs(res.xy - truth).max())
            t[f"e{h}"] = err
        ratios.append(t[270] / t[720])
        cpu.append(t["c270"] / t["c720"])
        print(f"  run {r + 1}: 480x270 {t[270]:.3f} s (max error {t['e270']:.4f} px), "
              f"1280x720 {t[720]:.3f} s (max error {t['e720']:.4f} px), ratio "
              f"{ratios[-1]:.3f} (pixels 0.141); CPU {t['c270']:.3f} / {t['c720']:.3f} s, "
              f"ratio {cpu[-1]:.3f}")
    # CPU time (all threads) says what the work costs whatever else runs on the machine;
    # wall time also says how it spreads over the cores
    print(f"  median ratio {_med(ratios):.3f} (goal < 0.25), CPU-time ratio {_med(cpu):.3f}; "
          f"{_load()}")
    from align_stages import align_split

    align_split(sets)


def part_convert(work: Path, repeat: int) -> None:
    from bench_stitch import make_video

    clip = work / "pan48_720p10.mkv"
    make_video(clip, 48)
    print(f"\n[convert] 48 frames High 10 H.264 1280x720 -> 16-bit PNG; {_load()}")
    ratios = []
    for r in range(repeat):
        out, rout = work / f"conv_om_{r}", work / f"conv_ref_{r}"
        for d in (out, rout):
            if d.exists():
                for f in d.iterdir():
                    f.unlink()
                d.rmdir()
        om = _launch([sys.executable, "-m", "overmix", "--quiet", "convert", str(clip),
                      "--all", "-o", str(out), "--depth", "16"])
        ref = _launch([sys.executable, __file__, "_ref_convert", str(clip), str(rout)])
        ratio = float(om["wall"]) / float(ref["wall"])
        ratios.append(ratio)
        size = sum(f.stat().st_size for f in out.iterdir()) / 2**20
        rsize = sum(f.stat().st_size for f in rout.iterdir()) / 2**20
        print(f"  run {r + 1}: overmix {om['wall']:.2f} s ({size:.0f} MiB, peak RSS "
              f"{int(om['rss']) / 1024:.0f} MiB) | PyAV swscale + png {ref['wall']:.2f} s "
              f"({rsize:.0f} MiB, peak RSS {int(ref['rss']) / 1024:.0f} MiB) | ratio "
              f"{ratio:.2f}")
    print(f"  median ratio {_med(ratios):.2f} (goal <= 0.5); {_load()}")
    _check_convert(clip, work / "conv_om_0")


def _check_convert(clip: Path, out: Path) -> None:
    """The written PNGs against the colour path computed here (independent of the writer)."""
    from overmix.color.convert import frame_to_image
    from overmix.io.png import read_png_array
    from overmix.io.sources import open_source

    worst, n = 0, 0
    with open_source(clip) as src:
        for frame in src:
            want = frame_to_image(frame, depth=16)
            got, depth = read_png_array(out / f"{int(frame.index):06d}.png")
            assert depth == 16
            worst = max(worst, int(np.abs(got.astype(np.int64) - want).max()))
            n += 1
    print(f"  colour: {n} PNGs against frame_to_image of the decoded frames: max difference "
          f"{worst} (16-bit codes){' - bit-exact' if worst == 0 else ''}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_ref_stitch":
        ref_stitch(sys.argv[2])
        return
    if len(sys.argv) > 1 and sys.argv[1] == "_ref_convert":
        ref_convert(sys.argv[2], sys.argv[3])
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("part", nargs="?", default="all",
                    choices=("stitch", "align", "convert", "all"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workdir", default="/tmp/overmix-bench")
    ap.add_argument("--floor", metavar="STITCH_FLOOR_PY", default=None,
                    help="stitch: also run this floor script (stitch_floor.py FRAMES: "
                         "OpenCV decode, half-res phase correlation, running sum; prints "
                         "three runs) after overmix in each repeat, and print overmix's "
                         "stages beside its stages with ratios")
    ap.add_argument("--overmix", metavar="RUN_SH", default=None,
                    help="stitch: also run the original Overmix through this runner script "
                         "(run.sh FRAMES OUT.png printing wall_time and peak_rss_kb) in the "
                         "same loop, and print overmix's time and memory ratios to it")
    args = ap.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    print(f"python {sys.version.split()[0]}; {_load()}")
    print(_compile_bytecode())
    if args.part in ("stitch", "all"):
        part_stitch(work, args.repeat, args.overmix, args.floor)
    if args.part in ("align", "all"):
        part_align(work, args.repeat)
    if args.part in ("convert", "all"):
        part_convert(work, args.repeat)


if __name__ == "__main__":
    main()

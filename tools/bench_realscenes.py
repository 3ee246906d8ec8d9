#!/usr/bin/env python3
"""Benchmark (issue #12): plain ``overmix stitch`` on real-looking scenes with ground truth.

Every scene of ``tests/scenes/real.py`` (a drawn colour world panned at known sub-pixel
offsets, sampled by exact area averaging, plus one contamination: hardsub, TV logo, scrolling
credits, letterbox bars, a walking character, a talking mouth, a cut; ``all`` combines
hardsub, logo, character and mouth) is encoded with libx264 at crf 20, 8-bit and 10-bit, and
stitched with the default options through the API (what ``overmix stitch IN -o OUT.png``
runs). Per scene it prints:

- ``err``: the largest offset error against the truth (px) over the frames used;
- ``used``: frames used / frames (a cut leaves the smaller shot out);
- ``most``, ``few``: PSNR (dB, Y', peak 1) of the default stitch against the clean
  background (the world sampled on the stitch's canvas) over the canvas pixels whose
  background more than half of the covering frames see clean, and over those only some (at
  most half) see clean (3 px canvas margin left out). The truth of which frame sees which
  pixel clean comes from the generator (its clean vs contaminated frames at the true
  offsets), not from the code under test. ``seen``: both regions together. (In ``edges``
  the 'few' pixels are real, not canvas-border pixels that no frame sees clean: rows 5-10 of
  the canvas below the grey line, seen clean only by the first frames; the canvas columns
  right of the first frames' black strip and left of the last frame's noise, seen clean by
  one or two frames 1-4 px from their own dirty lines. They score how exactly the dirty lines
  are left out.);
- ``ref``: the same PSNR for a stitch of the *clean* frames (same encoder) at the *true*
  offsets, the best a stitch can do on this material; ``diff`` = psnr - ref (the issue's
  targets: -1.5 dB on ``most``, -6 dB on ``few``);
- ``time``: wall time of the default stitch (one OpenBLAS thread, as the command), and
  ``x old``: its ratio to the same stitch with today's plain alignment (no tile vote, no
  masks, no second pass) and no lighting stage, measured in the same run.

``--vs-clean``: also the default stitch of the scene's clean twin (the same pan without the
contamination, its own encode) in the same run, right after the scene's, and per row the
CPU time (s, all the process's threads: what the work costs, whatever else the machine runs)
of both and their ratio ``x clean``: what the masks cost on top of a clean pan (720p 40f,
before the speed work of issue #12: hardsub 120 s, all 295 s wall against ~10 s).

Then the cost on ``tools/bench_stitch.py``'s clean 1280x720 pan (60 frames, 10-bit): the
alignment and the whole stitch with and without the new robust path (and the default
lighting stage), same process,
interleaved, best of ``--repeat``.

Usage: ``python tools/bench_realscenes.py [--size 1280x720] [--frames 60] [--scenes a,b]
[--depths 8,10] [--workdir DIR] [--repeat 3] [--skip-cost] [--skip-old]
[--true-offsets] [--step X,Y] [--seed N] [--logo-auto] [--floor] [--offsets-only]
[--vs-clean]``

``--offsets-only``: the offsets alone (``overmix align``, what a plain stitch renders with),
no render: per scene ``err`` (as above), ``floor``, ``vs content`` (below) and the same three
for the scene's clean twin (the same pan without the contamination, its own encode), much
faster than the stitches (the issue's offset rules: within 0.1 px, and 0.05 where the clean
twin reaches it). ``--floor`` adds ``floor`` and ``vs content`` to the stitch table's rows:
``floor`` is the largest displacement x264 gave a used frame's whole content against its
source, relative to the first frame (``tests.scenes.codec_floor``: each decoded frame
refined against its own uncompressed frame, contaminations masked; offsets measured from the
decoded frames can be no nearer the truth than that), ``vs content`` the offsets' largest
error against the decoded content (the alignment's own share). Measured at
``--step=4.74,-0.86``: the 1280x720 8-bit hardsub's 0.066 px (frame 34, whose every 64 px
block x264 moved ~0.05 px) is floor 0.044 + vs content 0.022; its clean twin 0.041 is
0.037 + 0.025 on different frames; lossless (crf 0), the 640x360 hardsub pan's offsets are
within 0.013 px of the truth.

``--logo-auto``: for the ``logo`` scene, also ``overmix stitch --logo auto``, and the PSNR
over the area the logo swept (canvas pixels the logo covers in some frame that some frame
sees clean, the generator's truth) of the default stitch, of ``--logo auto`` and of the
logo-free stitch (the clean frames at the true offsets), with the gaps (the issue: within
1 dB).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

# one OpenBLAS thread, as ``overmix stitch`` has (overmix._blas, which must run before numpy
# loads): with OpenBLAS's own pool the alignment's small products spun its threads, ~30 % of
# a 720p real scene's CPU, none of which the command spends
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from overmix.commands.options import StitchOptions  # noqa: E402
from overmix.commands.stitch import stitch  # noqa: E402
from tests.scenes.codec_floor import content_errors, content_shifts  # noqa: E402
from tests.scenes.real import SCENES, luma709, make_scene  # noqa: E402

# today's plain stitch: no lighting stage (``--lighting auto`` is the default now)
TODAY = StitchOptions(lighting="off")


@contextlib.contextmanager
def old_alignment() -> Iterator[None]:
    """Today's plain alignment: coarse shift by the best whole-overlap correlation (no tile
    vote), no scene masks, no second pass."""
    import overmix.commands.stages as st
    import overmix.registration as reg
    from overmix.registration import coarse, scene

    skip = coarse._VOTE_SKIP
    orig = scene.align_scene

    def plain(*a, **k):  # noqa: ANN002, ANN003, ANN202
        k["detect"] = False
        return orig(*a, **k)

    patched = [(m, "align_scene") for m in (reg, scene, st)]
    saved = [getattr(m, n) for m, n in patched]
    coarse._VOTE_SKIP = -math.inf
    for m, n in patched:
        setattr(m, n, plain)
    try:
        yield
    finally:
        coarse._VOTE_SKIP = skip
        for (m, n), v in zip(patched, saved, strict=True):
            setattr(m, n, v)


def psnr(a: np.ndarray, b: np.ndarray, valid: np.ndarray) -> float:
    d = (a.astype(np.float64) - b.astype(np.float64))[valid] ** 2
    return float(10 * np.log10(1.0 / max(float(d.mean()), 1e-12))) if d.size else float("nan")


def background_y(sc, offsets, used0: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Clean Y' of the main shot's world on the stitch's canvas, and the scored regions
    (minus a 3 px canvas margin): ``seen`` (some frame shows the pixel uncontaminated),
    ``most`` (more than half of the covering frames do) and ``few`` (some, at most half),
    from the generator's clean and contaminated frames (:meth:`RealScene.clean_regions`)."""
    cv = offsets.canvas
    x0 = cv.x + sc.xy[used0, 0]
    y0 = cv.y + sc.xy[used0, 1]
    bg = luma709(sc.background(x0, y0, cv.width, cv.height))
    most, few = sc.clean_regions(x0, y0, cv.width, cv.height)
    regions = {"seen": most | few, "most": most, "few": few}
    for m in regions.values():
        m[:3] = m[-3:] = False
        m[:, :3] = m[:, -3:] = False
    return bg, regions


def swept_region(sc, offsets, used0: int) -> np.ndarray:
    """Canvas pixels (bool) a screen-fixed overlay (the logo) covers in some frame and some
    frame sees clean (the generator's truth, :meth:`RealScene.clean_counts`; 3 px canvas
    margin left out): the issue's 'area the logo swept'."""
    from tests.scenes.real import _paste_add

    cv = offsets.canvas
    x0, y0 = cv.x + sc.xy[used0, 0], cv.y + sc.xy[used0, 1]
    hit = np.zeros((cv.height, cv.width), np.int32)
    for k in sc.main:
        _paste_add(hit, sc.overlay[k], sc.xy[k, 0] - x0, sc.xy[k, 1] - y0)
    seen, _ = sc.clean_counts(x0, y0, cv.width, cv.height)
    out = (hit > 0) & (seen > 0)
    out[:3] = out[-3:] = False
    out[:, :3] = out[:, -3:] = False
    return out


def _scores(res, bg: np.ndarray, regions: dict[str, np.ndarray]) -> dict[str, float]:
    cov = res.renders[0].coverage > 0
    return {k: psnr(res.planes[0], bg, m & cov) if (m & cov).sum() >= 20 else float("nan")
            for k, m in regions.items()}


def _scene(name: str, depth: int, n: int, h: int, w: int, work: Path,
           step: tuple[float, float] | None, seed: int):  # noqa: ANN202
    """The scene, its clip and its clean twin's clip (encoded into ``work`` once)."""
    kw = {} if step is None else {"step": step}
    sc = make_scene(SCENES[name], n=n, h=h, w=w, seed=seed, **kw)
    tag = ("" if step is None else f"-step{step[0]:g}x{step[1]:g}") + \
        ("" if seed == 0 else f"-seed{seed}")
    return (sc, *sc.clips(work, f"{name}-{w}x{h}-{n}{tag}", depth))


def offset_errors(sc, clip: Path, off, *, clean: bool = False) -> dict[str, float]:
    """``err`` (against the truth), ``floor`` and ``vs content`` (px) of ``off``, the
    offsets of ``clip`` (the scene's frames, or its clean twin's)."""
    used = [int(i) for i in off.indices]
    truth = sc.xy[used] - sc.xy[used[0]]
    floor, vs = content_errors(sc, off.xy, used, content_shifts(sc, clip, clean=clean))
    return {"err": float(np.abs(off.xy - truth).max()), "floor": floor, "vs": vs}


def run_offsets(name: str, depth: int, n: int, h: int, w: int, work: Path, *,
                step: tuple[float, float] | None = None, seed: int = 0) -> dict[str, object]:
    """The offsets alone of the scene and of its clean twin: :func:`offset_errors` of each,
    frames used, CPU seconds of the scene's alignment."""
    from overmix.commands.align import align_input

    sc, clip, clean = _scene(name, depth, n, h, w, work, step, seed)
    out: dict[str, object] = {"scene": name, "depth": depth}
    for label, path in (("got", clip), ("clean", clean)):
        t = time.process_time()
        off, _ = align_input(path, StitchOptions())
        if label == "got":
            out["cpu"] = time.process_time() - t
            out["used"] = f"{len(off.indices)}/{n}"
        out[label] = offset_errors(sc, path, off, clean=label == "clean")
    return out


def run_scene(name: str, depth: int, n: int, h: int, w: int, work: Path, *,
              true_offsets: bool = False, old: bool = True,
              step: tuple[float, float] | None = None,
              logo_auto: bool = False, seed: int = 0, floor: bool = False,
              vs_clean: bool = False) -> dict[str, object]:
    sc, clip, clean = _scene(name, depth, n, h, w, work, step, seed)
    main = [int(k) for k in sc.main]
    true_off = work / f"{name}-{depth}-truth.json"
    true_off.write_text(json.dumps({"frames": [
        {"index": k, "x": float(sc.xy[k, 0] - sc.xy[main[0], 0]),
         "y": float(sc.xy[k, 1] - sc.xy[main[0], 1])} for k in main]}))
    opts = StitchOptions(offsets=str(true_off)) if true_offsets else StitchOptions()
    t, c = time.perf_counter(), time.process_time()
    res = stitch(clip, opts)
    t_new, cpu = time.perf_counter() - t, time.process_time() - c
    cpu_clean = math.nan
    if vs_clean:  # the clean twin's default stitch, in the same run
        c = time.process_time()
        stitch(clean, StitchOptions(offsets=str(true_off)) if true_offsets else StitchOptions())
        cpu_clean = time.process_time() - c
    t_old = math.nan
    if old and not true_offsets:
        with old_alignment():
            t = time.perf_counter()
            stitch(clip, TODAY)
            t_old = time.perf_counter() - t
    off = res.offsets
    used = [int(i) for i in off.indices]
    truth = sc.xy[used] - sc.xy[used[0]]
    err = float(np.abs(off.xy - truth).max())
    fl = offset_errors(sc, clip, off) if floor else None
    bg, regions = background_y(sc, off, used[0])
    got = _scores(res, bg, regions)
    # reference: the clean frames of the main shot at the true offsets
    ref = stitch(clean, StitchOptions(offsets=str(true_off)))
    bg_r, regions_r = background_y(sc, ref.offsets, main[0])
    want = _scores(ref, bg_r, regions_r)
    swept = None
    if logo_auto and "logo" in sc.contaminations and len(sc.contaminations) == 1:
        # --logo auto against the default and the logo-free stitch over the swept area
        auto = stitch(clip, StitchOptions(logo="auto"))
        swept = {}
        for label, r, o in (("default", res, off), ("auto", auto, auto.offsets),
                            ("free", ref, ref.offsets)):
            b, _ = background_y(sc, o, int(o.indices[0]))
            m = swept_region(sc, o, int(o.indices[0])) & (r.renders[0].coverage > 0)
            swept[label] = psnr(r.planes[0], b, m)
    return {"scene": name, "depth": depth, "err": err, "used": f"{len(used)}/{n}",
            "swept": swept, "floor": fl,
            "got": got, "ref": want, "time": t_new, "ratio": t_new / t_old,
            "cpu": cpu, "cpu_clean": cpu_clean,
            "npx": {k: int(m.sum()) for k, m in regions.items()},
            "masks": off.extra.get("masks", {}), "left_out": len(off.extra.get("left_out", [])),
            "edges": res.summary.get("masked", {}).get("frame_edges"),
            "follow": off.extra.get("follow", {})}


def cost(work: Path, repeat: int) -> None:
    """Alignment and stitch of the clean 720p pan, robust path vs today's, alternating (in
    ABBA order):
    best of ``repeat`` and the median of the runs' ratios (the machine may be shared)."""
    import bench_stitch

    from overmix.commands.stages import align_store, load_store

    clip = work / "pan60_720p10.mp4"
    truth = bench_stitch.make_video(clip, 60)
    runs: dict[str, list[float]] = {}
    err: dict[str, float] = {}
    for r in range(repeat):
        for label in ("new", "old") if r % 2 == 0 else ("old", "new"):  # ABBA order
            ctx = old_alignment() if label == "old" else contextlib.nullcontext()
            opts = TODAY if label == "old" else StitchOptions()
            with ctx:
                t = time.perf_counter()
                res = stitch(clip, opts)
                t_all = time.perf_counter() - t
                with load_store(clip, opts) as store:
                    t = time.perf_counter()
                    found = align_store(store, opts)
                    t_al = time.perf_counter() - t
            runs.setdefault(f"{label} stitch", []).append(t_all)
            runs.setdefault(f"{label} align", []).append(t_al)
            err[label] = float(np.abs(found.offsets.xy - truth).max())
            del res
    best = {k: min(v) for k, v in runs.items()}
    ratio = float(np.median(np.array(runs["new stitch"]) / np.array(runs["old stitch"])))
    print(f"clean 1280x720 pan, 60 frames (best of {repeat}): "
          f"stitch {best['new stitch']:.2f} s vs {best['old stitch']:.2f} s today "
          f"({100 * (best['new stitch'] / best['old stitch'] - 1):+.1f} %; median of the "
          f"alternating runs' ratios {100 * (ratio - 1):+.1f} %); "
          f"align {best['new align']:.2f} s vs {best['old align']:.2f} s "
          f"({best['new align'] - best['old align']:+.2f} s = "
          f"{100 * (best['new align'] - best['old align']) / best['old stitch']:+.1f} % of "
          f"today's stitch); offsets max error {err['new']:.4f} px "
          f"(today {err['old']:.4f} px); load {os.getloadavg()[0]:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--frames", type=int, default=60)
    ap.add_argument("--scenes", default=",".join(SCENES))
    ap.add_argument("--depths", default="8,10")
    ap.add_argument("--workdir", default="/tmp/overmix-bench-real")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-cost", action="store_true")
    ap.add_argument("--skip-scenes", action="store_true")
    ap.add_argument("--skip-old", action="store_true",
                    help="do not time today's plain alignment (no 'x old' column)")
    ap.add_argument("--step", default=None,
                    help="pan per frame 'X,Y' px (default 2.37,0.43; a slow pan: 1.185,0.215)")
    ap.add_argument("--seed", type=int, default=0,
                    help="the scenes' world and noise seed (make_scene's seed; default 0)")
    ap.add_argument("--logo-auto", action="store_true",
                    help="logo scene: also stitch with --logo auto, PSNR over the area the "
                    "logo swept against the logo-free stitch")
    ap.add_argument("--true-offsets", action="store_true",
                    help="stitch with the true offsets (--offsets): the render alone")
    ap.add_argument("--floor", action="store_true",
                    help="also the codec's displacement of the frames' content ('floor') and "
                    "the offsets' error against the decoded content ('vs content')")
    ap.add_argument("--vs-clean", action="store_true",
                    help="also stitch each scene's clean twin (default options, same run) and "
                    "print both CPU times and their ratio")
    ap.add_argument("--offsets-only", action="store_true",
                    help="align only (no render, no PSNR): err, floor and vs content of each "
                    "scene and of its clean twin")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.lower().split("x"))
    step = None if args.step is None else tuple(float(v) for v in args.step.split(","))
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} (1, 5 min)")
    if args.offsets_only and not args.skip_scenes:
        print("offsets (px): err against the truth, floor: the codec's displacement of the "
              "frames' content, vs: against the decoded content; clean: the clean twin")
        print(f"{'scene':10s} {'bits':>4s} {'err':>6s} {'floor':>6s} {'vs':>6s} "
              f"{'clean':>6s} {'floor':>6s} {'vs':>6s} {'used':>6s} {'cpu s':>6s}")
        for name in args.scenes.split(","):
            for depth in (int(d) for d in args.depths.split(",")):
                r = run_offsets(name, depth, args.frames, h, w, work,
                                step=step, seed=args.seed)  # type: ignore[arg-type]
                g, c = r["got"], r["clean"]
                print(f"{name:10s} {depth:>4d} {g['err']:6.3f} {g['floor']:6.3f} "
                      f"{g['vs']:6.3f} {c['err']:6.3f} {c['floor']:6.3f} {c['vs']:6.3f} "
                      f"{r['used']:>6s} {r['cpu']:6.1f}", flush=True)
    elif not args.skip_scenes:
        print("psnr: default stitch, ref: clean frames at the true offsets (dB, Y'); regions: "
              "background seen clean in most (> 50 %) / few (<= 50 %) of the covering frames "
              "(target diff: -1.5 / -6 dB); seen: both")
        print(f"{'scene':10s} {'bits':>4s} {'err px':>7s} {'used':>6s} "
              f"{'most':>6s} {'ref':>6s} {'diff':>6s} {'few':>6s} {'ref':>6s} {'diff':>6s} "
              f"{'seen':>6s} {'diff':>6s} {'time s':>7s} {'x old':>6s}  few px, masks "
              "(overlay, foreground[, dirty frame edges: lines per side][, share of the "
              "frames aligned again without])")
        for name in args.scenes.split(","):
            for depth in (int(d) for d in args.depths.split(",")):
                r = run_scene(name, depth, args.frames, h, w, work,
                              true_offsets=args.true_offsets, old=not args.skip_old,
                              step=step,  # type: ignore[arg-type]
                              logo_auto=args.logo_auto, seed=args.seed,
                              floor=args.floor, vs_clean=args.vs_clean)
                m, g, f = r["masks"], r["got"], r["ref"]
                cols = " ".join(f"{g[k]:6.2f} {f[k]:6.2f} {g[k] - f[k]:+6.2f}"
                                for k in ("most", "few"))
                print(f"{r['scene']:10s} {r['depth']:>4d} {r['err']:7.3f} {r['used']:>6s} "
                      f"{cols} {g['seen']:6.2f} {g['seen'] - f['seen']:+6.2f} "
                      f"{r['time']:7.2f} {r['ratio']:6.2f}  {r['npx']['few']}, "
                      f"{m.get('overlay', 0):.3f}, {m.get('foreground', 0):.3f}"
                      + (f", frame edges {r['edges']}" if r["edges"] else "")
                      + (f", aligned again without {m['moving_share']:.3f} moving"
                         if "moving_share" in m else "")
                      + (", follow: warning" if "warning" in r["follow"] else
                         ", follow: followed" if r["follow"].get("followed") else "")
                      + (f", floor {r['floor']['floor']:.3f} vs content "
                         f"{r['floor']['vs']:.3f} px" if r["floor"] else "")
                      + (f", cpu {r['cpu']:.1f} s, clean twin {r['cpu_clean']:.1f} s, "
                         f"x clean {r['cpu'] / r['cpu_clean']:.2f}" if args.vs_clean else ""),
                      flush=True)
                sw = r["swept"]
                if sw:
                    print(f"{'':10s} {r['depth']:>4d} logo swept area: default "
                          f"{sw['default']:6.2f} "
                          f"({sw['default'] - sw['free']:+6.2f}), --logo auto {sw['auto']:6.2f} "
                          f"({sw['auto'] - sw['free']:+6.2f}) vs logo-free {sw['free']:6.2f} "
                          "(target: --logo auto within 1 dB)", flush=True)
    if not args.skip_cost:
        cost(work, args.repeat)


if __name__ == "__main__":
    main()

"""Benchmark of the multi-frame restoration methods against drawn ground truth.

Prints, in one run, PSNR / SSIM (own SSIM: Wang et al. 2004, gaussian window 1.5) of each
method next to the plain average, on drawn cel scenes (tests/restore/scenes.py) degraded

- by the forward model the method assumes (area sampling at random sub-pixel offsets, a little
  noise, 8-bit rounding; Gaussian blur; mosaic block means; JPEG quality 25), and
- by a real codec (H.264 / libx264 at a low bitrate, decoded through overmix's own reader),

plus seconds per iteration and the working memory of super-resolution for 30 and 60 frames
(tracemalloc peak above the frames already held), which must not grow with the frame count.

Run from the repository root:  python tools/bench_restore.py  [--quick] [--only 4]
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from overmix.geometry import Canvas  # noqa: E402
from overmix.restore.deconvolve import estimate_psf_sigma, richardson_lucy  # noqa: E402
from overmix.restore.degrade import block_mean  # noqa: E402
from overmix.restore.mosaic import detect_mosaic, recover_mosaic  # noqa: E402
from overmix.restore.superres import SrStats, back_project, superresolve  # noqa: E402
from tests.restore.scenes import (  # noqa: E402
    CelScene,
    average_upscaled,
    common_area,
    h264_roundtrip,
    psnr,
    ssim,
)

WORLD = (40.0, 40.0)  # where frame 0 sits in the scene


def row(name: str, values: dict[str, float]) -> None:
    print(f"  {name:<34}" + "  ".join(f"{k} {v:7.3f}" for k, v in values.items()))


def h264_luma(frames: list[np.ndarray], folder: Path, name: str, crf: int) -> tuple[
        list[np.ndarray], float]:
    """Encode luma frames (gray) as 4:2:0 H.264 at ``crf`` and read them back through overmix.

    Returns the decoded working Y' planes and the bitrate in kbit/s (at 24 fps).
    """
    path = folder / f"{name}.mkv"
    out = h264_roundtrip(frames, path, crf)
    return out, path.stat().st_size * 8 / (len(frames) / 24.0) / 1000


# ----------------------------------------------------------------------------- SR


def pan_frames(sc: CelScene, n: int, h: int, w: int, seed: int, noise: float = 0.01
               ) -> tuple[np.ndarray, list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    xy = np.c_[rng.uniform(0, 10, n), rng.uniform(0, 8, n)]
    xy[0] = 0
    frames = []
    for x, y in xy:
        f = sc.frame(h, w, WORLD[0] + x, WORLD[1] + y) + rng.normal(0, noise, (h, w))
        frames.append(np.clip(np.round(f * 255) / 255, 0, 1).astype(np.float32))
    return xy, frames


def bench_superres(tmp: Path, quick: bool) -> None:
    print("\n[1] Super-resolution (L1 + bilateral TV, MM nonlinear CG) vs upscaled average")
    sc = CelScene(3)
    n, h, w = (30, 64, 96) if quick else (36, 96, 128)
    xy, frames = pan_frames(sc, n, h, w, seed=1)
    canvas = Canvas.covering(xy, w, h)
    print(f"  {n} frames {w}x{h}, random sub-pixel offsets in [0,10)x[0,8), noise 0.01, 8-bit")
    variants = [("forward model", frames)]
    decoded, kbps = h264_luma(frames, tmp, "sr", 30)
    variants.append((f"H.264 crf 30 ({kbps:.0f} kbit/s)", decoded))
    for scale in (2.0, 1.5, 3.0):
        hh, ww = math.ceil(canvas.height * scale), math.ceil(canvas.width * scale)
        truth = sc.luma(hh, ww, WORLD[0] + canvas.x - 0.5, WORLD[1] + canvas.y - 0.5, 1 / scale)
        a = common_area(xy, w, h, canvas.x, canvas.y, scale)
        for label, fr in variants:
            if scale != 2.0 and label != "forward model":
                continue
            _, base = average_upscaled(fr, xy, canvas.x, canvas.y, canvas.width, canvas.height,
                                       scale)
            bp, _ = back_project(fr, n, xy, canvas, scale=scale)
            stats = SrStats([], [])
            t0 = time.perf_counter()
            sr, _ = superresolve(fr, n, xy, canvas, scale=scale, iterations=20, clip=(0, 1),
                                 stats=stats)
            dt = time.perf_counter() - t0
            print(f"  x{scale:g}, {label}: canvas {canvas.width}x{canvas.height} -> {ww}x{hh}")
            p_base, p_sr = psnr(base[a], truth[a]), psnr(sr[a], truth[a])
            row("upscaled average (cubic)", {"PSNR": p_base, "SSIM": ssim(base[a], truth[a])})
            row("shift-and-add (back-projection)", {"PSNR": psnr(bp[a], truth[a]),
                                                    "SSIM": ssim(bp[a], truth[a])})
            row("super-resolution", {"PSNR": p_sr, "SSIM": ssim(sr[a], truth[a])})
            print(f"  gain over upscaled average: {p_sr - p_base:+.2f} dB; "
                  f"{1000 * np.mean(stats.seconds):.1f} ms/iteration "
                  f"(2 passes over {n} frames), {dt:.2f} s total")
    # memory: working set above the frames must not grow with the frame count
    for nn in (30, 60):
        xy2, fr2 = pan_frames(sc, nn, 192, 256, seed=2)
        cv = Canvas.covering(xy2, 256, 192)
        tracemalloc.start()
        base_mem = tracemalloc.get_traced_memory()[0]
        superresolve(fr2, nn, xy2, cv, scale=2.0, iterations=3)
        peak = tracemalloc.get_traced_memory()[1] - base_mem
        tracemalloc.stop()
        hr = math.ceil(cv.width * 2) * math.ceil(cv.height * 2) * 4
        print(f"  memory, {nn} frames 256x192: peak working set {peak / 1e6:.2f} MB "
              f"= {peak / hr:.1f} x one float32 HR plane ({hr / 1e6:.2f} MB)")


# ----------------------------------------------------------------------------- JPEG


def bench_jpeg(tmp: Path, quick: bool) -> None:
    print("\n[2] JPEG estimation (POCS on quantisation intervals + TV prior) vs average")
    try:
        import jpeglib
    except ImportError:
        print("  skipped: jpeglib not installed (pip install overmix[jpeg])")
        return
    from overmix.restore.jpeg import estimate_from_jpegs

    n, h, w, margin = (10, 96, 128, 32) if quick else (12, 128, 192, 40)
    rgb = CelScene(11, hatch=False).render(h + margin, w + margin, 10, 10)
    rng = np.random.default_rng(2)
    offs = np.c_[rng.integers(0, margin + 1, n), rng.integers(0, margin + 1, n)]
    offs[0] = 0
    folder = tmp / "jpeg"
    folder.mkdir()
    paths = []
    for k, (x, y) in enumerate(offs):
        crop = np.clip(np.round(rgb[y:y + h, x:x + w] * 255), 0, 255).astype(np.uint8)
        p = folder / f"{k:02d}.jpg"
        jpeglib.from_spatial(crop).write_spatial(str(p), qt=25)
        paths.append(str(p))
    print(f"  {n} JPEG files {w}x{h}, quality 25, 4:2:0, shifted by whole pixels "
          f"(random block phases), libjpeg via jpeglib")
    t0 = time.perf_counter()
    est = estimate_from_jpegs(paths, offsets=offs, iterations=40)
    dt = time.perf_counter() - t0
    x0, y0 = offs.min(axis=0)
    truth_rgb = rgb[y0:y0 + est.canvas.height, x0:x0 + est.canvas.width]
    seen = est.weight > 0

    def to_rgb(planes: tuple[np.ndarray, ...]) -> np.ndarray:
        # JFIF (ITU-T T.871) full-range BT.601 Y'CbCr -> R'G'B'
        y, cb, cr = (p.astype(np.float64) for p in planes)
        r = y + 1.402 * cr
        g = y - 0.344136 * cb - 0.714136 * cr
        b = y + 1.772 * cb
        return np.clip(np.stack([r, g, b], -1), 0, 1)

    ty = 0.299 * truth_rgb[..., 0] + 0.587 * truth_rgb[..., 1] + 0.114 * truth_rgb[..., 2]
    inner = ndimage.binary_erosion(seen, iterations=6)
    bb = np.nonzero(inner)
    crop = (slice(bb[0].min(), bb[0].max() + 1), slice(bb[1].min(), bb[1].max() + 1))
    for label, planes in (("average of decoded files", est.average), ("estimate", est.planes)):
        out = to_rgb(planes)
        row(label, {"PSNR Y": psnr(planes[0], ty, seen), "PSNR RGB": psnr(out[seen],
                                                                          truth_rgb[seen]),
                    "SSIM Y": ssim(planes[0][crop], ty[crop])})
    gain = psnr(est.planes[0], ty, seen) - psnr(est.average[0], ty, seen)
    print(f"  gain over the average: {gain:+.2f} dB (Y); {est.iterations} iterations, "
          f"{1000 * dt / max(est.iterations, 1):.0f} ms/iteration")


# ----------------------------------------------------------------------------- deconvolution


def bench_deconvolve(tmp: Path, quick: bool) -> None:
    print("\n[3] Richardson-Lucy (TV-regularised, overshoot-bounded) on a sigma 1.2 blur")
    h, w = (96, 128) if quick else (160, 240)
    truth = CelScene(5, hatch=False).luma(h, w, 20, 20)
    rng = np.random.default_rng(0)
    b = ndimage.gaussian_filter(truth.astype(np.float64), 1.2, mode="reflect")
    blur = np.clip(np.round((b + rng.normal(0, 0.002, b.shape)) * 255) / 255, 0,
                   1).astype(np.float32)
    decoded, kbps = h264_luma([blur] * 2, tmp, "dc", 20)
    edges = ndimage.binary_dilation(np.hypot(*np.gradient(truth)) > 0.1, iterations=3)
    lmax = ndimage.maximum_filter(truth, 5)
    lmin = ndimage.minimum_filter(truth, 5)

    def over(x: np.ndarray) -> dict[str, float]:
        up = np.maximum(x - lmax, 0)[edges]
        down = np.maximum(lmin - x, 0)[edges]
        return {"overshoot max": float(up.max()), "undershoot max": float(down.max())}

    print(f"  line-art scene {w}x{h}; overshoot = above the brightest truth value within 2 px "
          f"at line-art edges (Y' units)")
    for label, obs in (("forward model", blur), (f"H.264 crf 20 ({kbps:.0f} kbit/s)",
                                                 decoded[0])):
        sig = estimate_psf_sigma(obs)
        print(f"  {label}: estimated sigma {sig:.2f} (true 1.2)")
        row("blurred", {"PSNR": psnr(obs, truth), "SSIM": ssim(obs, truth), **over(obs)})
        t0 = time.perf_counter()
        out = richardson_lucy(obs, sigma=1.2, iterations=30)
        dt = time.perf_counter() - t0
        row("RL, 30 it, bounded + TV", {"PSNR": psnr(out, truth), "SSIM": ssim(out, truth),
                                        **over(out)})
        plain = richardson_lucy(obs, sigma=1.2, iterations=30, bound=None, tv=0.0)
        row("RL, 30 it, plain", {"PSNR": psnr(plain, truth), "SSIM": ssim(plain, truth),
                                 **over(plain)})
        est = richardson_lucy(obs, sigma=None, iterations=30)
        row("RL, 30 it, estimated sigma", {"PSNR": psnr(est, truth), "SSIM": ssim(est, truth)})
        print(f"  gain: {psnr(out, truth) - psnr(obs, truth):+.2f} dB; "
              f"{1000 * dt / 30:.1f} ms/iteration")


# ----------------------------------------------------------------------------- mosaic


def bench_mosaic(tmp: Path, quick: bool) -> None:
    print("\n[4] Mosaic recovery (8 px blocks, screen-fixed) over a pan")
    n, h, w = (40, 72, 96) if quick else (48, 96, 128)
    sc = CelScene(4, hatch=False)
    rng = np.random.default_rng(4)
    steps = np.c_[np.full(n, 1.0), np.full(n, 0.55)]
    xy = np.cumsum(steps, 0) - steps[0] + rng.uniform(-0.3, 0.3, (n, 2))
    xy[0] = 0
    block, phase = 8, (5, 3)
    mask = np.zeros((h, w), bool)
    mask[3 + 2 * block:3 + (h // block - 3) * block, 5 + 2 * block:5 + (w // block - 3) * block] \
        = True
    clean, frames = [], []
    for x, y in xy:
        f = sc.frame(h, w, 60 + x, 40 + y)
        clean.append(f)
        g = block_mean(f + rng.normal(0, 0.003, (h, w)).astype(np.float32), block, phase, mask)
        frames.append(np.clip(np.round(g * 255) / 255, 0, 1).astype(np.float32))
    canvas = Canvas.covering(xy, w, h)
    truth = sc.luma(canvas.height, canvas.width, 60 + canvas.x - 0.5, 40 + canvas.y - 0.5)
    mh, mw = np.nonzero(mask)
    print(f"  {n} frames {w}x{h}, pan ({xy[-1, 0]:.0f}, {xy[-1, 1]:.0f}) px, mosaic "
          f"{np.ptp(mw) + 1}x{np.ptp(mh) + 1} px at phase {phase}")
    # the true covered area: canvas pixels under the censor in some frame; "hidden": in
    # every frame that sees them
    under = np.zeros(truth.shape, np.int32)
    seen = np.zeros(truth.shape, np.int32)
    ii, jj = np.mgrid[0:canvas.height, 0:canvas.width]
    for x, y in xy:
        fi = np.rint(ii + canvas.y - y).astype(int)
        fj = np.rint(jj + canvas.x - x).astype(int)
        inside = (fi >= 0) & (fi < h) & (fj >= 0) & (fj < w)
        seen += inside
        under += inside & mask[np.clip(fi, 0, h - 1), np.clip(fj, 0, w - 1)]
    cov = under > 0
    hidden = cov & (under == seen)
    print(f"  true covered area {int(cov.sum())} px, of which never seen uncovered "
          f"{int(hidden.sum())} px")
    variants = [("forward model", frames)]
    for crf in (22, 26, 30):
        decoded, kbps = h264_luma(frames, tmp, f"mosaic{crf}", crf)
        variants.append((f"H.264 crf {crf} ({kbps:.0f} kbit/s)", decoded))
    for label, fr in variants:
        t0 = time.perf_counter()
        info = detect_mosaic(fr, n)
        t_det = time.perf_counter() - t0
        if info is None:
            print(f"  {label}: no mosaic detected")
            continue
        both = (info.mask & mask).sum()
        print(f"  {label}: detected block {info.block}, phase {info.phase}, region precision "
              f"{both / info.mask.sum():.3f} recall {both / mask.sum():.3f} ({t_det:.2f} s)")
        t0 = time.perf_counter()
        res = recover_mosaic(fr, n, xy, canvas, info, iterations=200)
        dt = time.perf_counter() - t0
        avg, _ = back_project(fr, n, xy, canvas, scale=1.0)
        row("average (censored frames)", {"PSNR covered": psnr(avg, truth, cov),
                                          "PSNR never uncovered": psnr(avg, truth, hidden)})
        row("recovered", {"PSNR covered": psnr(res.plane, truth, cov),
                          "PSNR never uncovered": psnr(res.plane, truth, hidden)})
        print(f"  reported: covered {int(res.covered.sum())} px, recovered fraction "
              f"{res.recovered_fraction:.3f}; {dt:.2f} s "
              f"({1000 * dt / 200:.1f} ms per CG iteration at most)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller scenes")
    ap.add_argument("--only", type=int, nargs="+", choices=range(1, 5), metavar="N",
                    help="run only these sections (1 SR, 2 JPEG, 3 deconvolution, 4 mosaic)")
    args = ap.parse_args()
    benches = (bench_superres, bench_jpeg, bench_deconvolve, bench_mosaic)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for i, bench in enumerate(benches, 1):
            if not args.only or i in args.only:
                bench(tmp, args.quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

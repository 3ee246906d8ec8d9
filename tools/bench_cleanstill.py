#!/usr/bin/env python3
"""Benchmark: the clean still by default (issue #12 item 3) on x264 pans with ground truth.

For each scene of ``tests/scenes/fgscenes.py`` (hardsub changing every second, semi-transparent
corner logo, scrolling credits, letterbox, sprite walking against the pan, talking mouth;
36 frames of 256x144 by default) encoded with x264 at 8 and 10 bits, it stitches

- ``clean``: the frames without the extra, true offsets (the reference of the issue);
- ``plain``: the frames with the extra, true offsets, a plain average (the render before the
  clean still: ``render`` without frame weights);
- ``default``: ``overmix stitch`` with no flags but ``--offsets`` (true offsets: the render
  alone);
- for the logo also ``--logo auto`` and the fully default run (aligned, no flags at all).

and prints PSNR (dB, R'G'B', peak 1) against the clean background over the canvas pixels the
background is seen clean in most (> 50 %) of the covering frames, in a few (0-50 %), and, for
the logo, over the area the logo swept. Wall times are per stitch, in this process.

Usage: ``python tools/bench_cleanstill.py [--kinds hardsub,logo,...] [--depths 8,10]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from overmix.commands.options import StitchOptions  # noqa: E402
from overmix.commands.stages import load_store  # noqa: E402
from overmix.commands.stitch import stitch  # noqa: E402
from overmix.geometry import Offsets  # noqa: E402
from overmix.render.picture import canvas_image  # noqa: E402
from overmix.render.stack import render  # noqa: E402
from tests.scenes.draw import psnr  # noqa: E402
from tests.scenes.fgscenes import KINDS, encode, make  # noqa: E402


def _rgb(res) -> np.ndarray:
    img = canvas_image(res, depth=16)
    return img[..., :3].astype(np.float64) / 65535


def _score(img: np.ndarray, cov: np.ndarray, world: np.ndarray,
           regions: dict[str, np.ndarray]) -> dict[str, float]:
    h, w = world.shape[:2]
    out = np.zeros_like(world, dtype=np.float64)
    hh, ww = min(h, img.shape[0]), min(w, img.shape[1])
    out[:hh, :ww] = img[:hh, :ww]
    ok = np.zeros((h, w), bool)
    ok[:hh, :ww] = cov[:hh, :ww] > 0
    return {k: (psnr(out, world, ok & m) if (ok & m).sum() > 20 else float("nan"))
            for k, m in regions.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--depths", default="8,10")
    args = ap.parse_args()
    print(f"cores: {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        for depth in (int(v) for v in args.depths.split(",")):
            for kind in args.kinds.split(","):
                sc = make(kind)
                h, w = sc.frames[0].shape[:2]
                video = encode(d / f"{kind}.mkv", sc.frames, depth)
                clean = encode(d / f"{kind}-clean.mkv", sc.clean, depth)
                true = d / f"true-{kind}-{depth}.json"  # one per run: inputs are never outputs
                Offsets(sc.xy, list(range(len(sc.xy))), w, h).save(true)
                seen = sc.seen_clean()
                regions = {"most": seen > 0.5, "few": (seen > 0) & (seen <= 0.5)}
                if kind == "logo":
                    swept = np.zeros(seen.shape, bool)
                    for (x, y), c in zip(sc.xy.astype(int), sc.covered, strict=True):
                        swept[y:y + h, x:x + w] |= c
                    regions["swept"] = swept
                runs: list[tuple[str, Path, StitchOptions | None]] = [
                    ("clean", clean, StitchOptions(offsets=str(true))),
                    ("plain", video, None),
                    ("default", video, StitchOptions(offsets=str(true))),
                ]
                if kind == "logo":
                    runs += [("--logo auto", video, StitchOptions(offsets=str(true),
                                                                  logo="auto")),
                             ("no flags (aligned)", video, StitchOptions())]
                for name, path, opts in runs:
                    t = time.perf_counter()
                    r = _plain(path, sc.xy, w, h) if opts is None else stitch(path, opts)
                    dt = time.perf_counter() - t
                    res = r.renders[0] if hasattr(r, "renders") else r
                    sc_ = _score(_rgb(res), res.coverage, sc.world, regions)
                    figs = "  ".join(f"{k} {v:6.2f}" for k, v in sc_.items())
                    print(f"{depth:2d}-bit {kind:9s} {name:20s} {figs}  ({dt:.2f} s)")


def _plain(video: Path, xy: np.ndarray, w: int, h: int):
    """The plain average render (no clean-still weights), true offsets."""
    with load_store(video, StitchOptions()) as store:
        return render(store, Offsets(xy, list(range(len(xy))), w, h))


if __name__ == "__main__":
    main()

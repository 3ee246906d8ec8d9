#!/usr/bin/env python3
"""Where the default stitch's moving-foreground masks go wrong, against the generator's truth
(issue #12: the 720p "few" figures of the sprite scenes).

One scene of ``tests/scenes/real.py`` (as ``tools/bench_realscenes.py`` builds and encodes it;
``--workdir`` reuses its clips) is stitched with the default options; the renderer's per-frame
weights are recorded (:meth:`overmix.commands.clean_plan.CleanPlan.frame_weights`) and compared
with the generator's foreground and overlay masks. Per frame it prints:

- ``fg``: the frame's true contaminated pixels; ``leak``: those the render uses (weight >= 0.5);
- ``lost``: pixels the frame truly sees clean (contamination shrunk by a pixel, as the bench's
  regions) that the render does not use, counted where they land on a badly rendered "few"
  canvas pixel (error above ``--bad``), and those pixels' median / largest distance from the
  contamination (px): a few px is a mask a little too wide, tens of px a mask in the wrong place.

Then, over the bad "few" canvas pixels: how many had a frame that sees them clean used, none
used (a mask too wide in every frame that sees the place), and a contaminated frame used.

Usage: ``python tools/bench_masks.py SCENE [--size 1280x720] [--frames 40] [--depth 8]
[--step X,Y] [--workdir DIR] [--bad 0.04]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import overmix.commands.clean_plan as clean_plan  # noqa: E402
from overmix.commands.options import StitchOptions  # noqa: E402
from overmix.commands.stitch import stitch  # noqa: E402
from tests.scenes.real import SCENES, make_scene  # noqa: E402


def recorded(store: dict[int, np.ndarray | None]):  # noqa: ANN201 - a patched method
    """``CleanPlan.frame_weights`` that also keeps each frame's weights in ``store``."""
    orig = clean_plan.CleanPlan.frame_weights

    def frame_weights(self, rows, overlays, taps=None, xy=None, luma=None):  # noqa: ANN001, ANN202
        f = orig(self, rows, overlays, taps, xy, luma)
        if f is None:
            return f

        def weights(k: int) -> np.ndarray | None:
            w = f(k)
            store[k] = None if w is None else w.copy()
            return w

        return weights

    return orig, frame_weights


def main() -> None:
    import bench_realscenes as br
    from scipy import ndimage

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scene", choices=sorted(SCENES))
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--depth", type=int, default=8)
    ap.add_argument("--step", default=None, help="pan per frame 'X,Y' px")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--bad", type=float, default=0.04, help="Y' error of a bad canvas pixel")
    a = ap.parse_args()
    w, h = (int(v) for v in a.size.split("x"))
    kw = {} if a.step is None else {"step": tuple(float(v) for v in a.step.split(","))}
    sc = make_scene(SCENES[a.scene], n=a.frames, h=h, w=w, **kw)
    tag = "" if a.step is None else "-step{:g}x{:g}".format(*kw["step"])
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(a.workdir or tmp)
        work.mkdir(parents=True, exist_ok=True)
        clip, _ = sc.clips(work, f"{a.scene}-{w}x{h}-{a.frames}{tag}", a.depth)
        got: dict[int, np.ndarray | None] = {}
        orig, patched = recorded(got)
        clean_plan.CleanPlan.frame_weights = patched
        try:
            res = stitch(clip, StitchOptions())
        finally:
            clean_plan.CleanPlan.frame_weights = orig
    off = res.offsets
    used = [int(i) for i in off.indices]
    bg, regions = br.background_y(sc, off, used[0])
    cov = res.renders[0].coverage > 0
    few = regions["few"] & cov
    bad = few & (np.abs(res.planes[0].astype(np.float64) - bg) > a.bad)
    print(f"{a.scene} {w}x{h} {a.frames} frames {a.depth}-bit: few psnr "
          f"{br.psnr(res.planes[0], bg, few):.2f} dB over {int(few.sum())} px, "
          f"{int(bad.sum())} bad (error > {a.bad})")
    cv = off.canvas
    x0, y0 = cv.x + sc.xy[used[0], 0], cv.y + sc.xy[used[0], 1]
    clean_used = np.zeros(bad.shape, np.int32)
    dirty_used = np.zeros(bad.shape, np.int32)
    print("frame      fg    leak   lost  dist med/max")
    for k in used:
        dirty = sc.foreground[k] | sc.overlay[k]
        wk = got.get(k)
        use = np.ones(dirty.shape, bool) if wk is None else wk >= 0.5
        ok = ndimage.binary_erosion(~dirty, border_value=1)
        dx, dy = int(round(sc.xy[k, 0] - x0)), int(round(sc.xy[k, 1] - y0))
        ys = slice(max(0, dy), min(cv.height, dy + h))
        xs = slice(max(0, dx), min(cv.width, dx + w))
        fy, fx = slice(ys.start - dy, ys.stop - dy), slice(xs.start - dx, xs.stop - dx)
        clean_used[ys, xs] += (ok & use)[fy, fx]
        dirty_used[ys, xs] += (dirty & use)[fy, fx]
        lost = bad[ys, xs] & (ok & ~use)[fy, fx]
        dist = ndimage.distance_transform_edt(~dirty)[fy, fx][lost]
        med = f"{np.median(dist):5.1f}/{dist.max():5.1f}" if dist.size else "    -/-"
        print(f"{k:5d} {int(dirty.sum()):7d} {int((dirty & use).sum()):7d} "
              f"{int(lost.sum()):6d}  {med}")
    print(f"bad few px: {int(bad.sum())}; a clean view used: "
          f"{int((bad & (clean_used > 0)).sum())}; none used: "
          f"{int((bad & (clean_used == 0)).sum())}; a contaminated view used: "
          f"{int((bad & (dirty_used > 0)).sum())}")


if __name__ == "__main__":
    main()

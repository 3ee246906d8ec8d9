#!/usr/bin/env python3
"""Benchmark (issue #12): the camera follows a character — never silently wrong.

Random clips of :mod:`tests.scenes.headturn` (a head fixed on screen, redrawn every ``hold``
frames as it turns, optionally swaying sideways, while the background pans behind it; fresh
grain per frame) are encoded as MPEG-2 (a DVD-like bit rate for the frame size) or x264 crf
20 at 8 or 10 bit (one thread: reproducible), and aligned with plain ``overmix align --json``
(the CLI, in process). The parameters are drawn from ``--seed``: frame size, frame count,
pan speed and direction, hold, head area, sway. The truth is the generator's.

Per case it prints the parameters, ``err`` (the largest offset error over the frames used,
px, offsets relative to the first used frame), the frames used, whether one warning line
names the ambiguity (``warn``), and a verdict:

- ``ok``: within ``--tol`` px (default 0.1, the issue's bound) and no ambiguity warning;
- ``ok+warn``: right, but warned (a needless warning);
- ``warned``: off by more than ``--tol``, with the warning (the contract holds);
- ``WRONG``: off by more than ``--tol`` with no warning (silently wrong).

Usage: ``python tools/bench_follow.py [--cases 25] [--seed 1] [--tol 0.1] [--only 3,7]
[--workdir DIR]``
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from overmix.cli import main as cli  # noqa: E402
from tests.scenes.headturn import make_headturn  # noqa: E402

SIZES = ((360, 240), (480, 270), (400, 300), (640, 360))
CODECS = ("mpeg2", "x264-8", "x264-10")


@dataclass
class Case:
    codec: str
    w: int
    h: int
    n: int
    step: tuple[float, float]
    hold: int
    area: float
    sway: float
    seed: int

    def label(self) -> str:
        return (f"{self.codec:7s} {self.w}x{self.h} n={self.n:2d} step=({self.step[0]:+.2f},"
                f"{self.step[1]:+.2f}) hold={self.hold} area={self.area:.2f} "
                f"sway={self.sway:.1f} seed={self.seed}")


def draw_cases(count: int, seed: int) -> list[Case]:
    """``count`` random cases (parameters only), reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        w, h = SIZES[rng.integers(len(SIZES))]
        speed = float(rng.uniform(0.3, 2.8))
        ang = float(rng.uniform(0, 2 * math.pi))
        out.append(Case(
            codec=CODECS[rng.integers(len(CODECS))], w=w, h=h, n=int(rng.integers(8, 17)),
            step=(round(speed * math.cos(ang), 3), round(speed * math.sin(ang), 3)),
            hold=int(rng.integers(1, 4)), area=round(float(rng.uniform(0.15, 0.45)), 3),
            sway=0.0 if rng.random() < 0.4 else round(float(rng.uniform(2, 8)), 1),
            seed=int(rng.integers(1, 1000))))
    return out


def make_clip(c: Case, path: Path):  # noqa: ANN201
    """The case's scene (ground truth) and its clip, written to ``path`` (.mpg/.mkv added)."""
    sc = make_headturn(c.n, c.h, c.w, step=c.step, hold=c.hold, area=c.area, sway=c.sway,
                       seed=c.seed)
    if c.codec == "mpeg2":  # a DVD-like bit rate for the frame size (6 Mb/s at 720x480)
        rate = int(6_000_000 * c.w * c.h / (720 * 480))
        clip = path.with_suffix(".mpg")
        if not clip.exists():
            sc.encode(clip, "mpeg2video", bitrate=max(rate, 1_500_000))
    else:
        clip = path.with_suffix(".mkv")
        if not clip.exists():
            sc.encode(clip, "libx264", crf=20, depth=10 if c.codec.endswith("10") else 8)
    return sc, clip


def run_case(c: Case, path: Path) -> dict:
    sc, clip = make_clip(c, path)
    out, err = io.StringIO(), io.StringIO()
    t = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = cli(["align", str(clip), "--json"])
    dt = time.perf_counter() - t
    res = {"rc": rc, "time": dt, "warn": False, "err": math.inf, "used": 0}
    lines = err.getvalue().splitlines()
    res["warn"] = sum("ambiguous" in x and x.startswith("overmix: warning:") for x in lines)
    res["other"] = sum(x.startswith("overmix: warning:") and "ambiguous" not in x
                       for x in lines)
    if rc != 0:
        return res
    js = json.loads(out.getvalue())
    frames = js["frames"] if isinstance(js.get("frames"), list) else js["offsets"]["frames"]
    idx = [f["index"] for f in frames]
    xy = np.array([[f["x"], f["y"]] for f in frames])
    truth = sc.xy[idx] - sc.xy[idx[0]]
    res["err"] = float(np.abs((xy - xy[0]) - truth).max())
    res["used"] = len(idx)
    extra = js.get("offsets", js)
    res["follow"] = extra.get("follow")
    res["rms"] = extra.get("residual_rms", math.nan)
    return res


def verdict(res: dict, tol: float) -> str:
    right = res["err"] <= tol
    if right:
        return "ok+warn" if res["warn"] else "ok"
    return "warned" if res["warn"] else "WRONG"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=25)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--tol", type=float, default=0.1)
    ap.add_argument("--only", default="", help="comma-separated case numbers")
    ap.add_argument("--workdir", type=Path, default=None,
                    help="keep the clips here (reused when present)")
    ap.add_argument("--verbose", action="store_true", help="print the follow summary")
    a = ap.parse_args()
    cases = draw_cases(a.cases, a.seed)
    only = {int(x) for x in a.only.split(",") if x}
    tally: dict[str, int] = {}
    total = 0.0
    with contextlib.ExitStack() as stack:
        # clips are kept in --workdir (reused by a later run with the same seed)
        work = a.workdir or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        work.mkdir(parents=True, exist_ok=True)
        for k, c in enumerate(cases):
            if only and k not in only:
                continue
            res = run_case(c, work / f"s{a.seed}-{k}")
            v = verdict(res, a.tol)
            tally[v] = tally.get(v, 0) + 1
            total += res["time"]
            print(f"{k:2d} {c.label():78s} err {res['err']:7.3f} px used {res['used']:2d}/{c.n:2d}"
                  f" warn {res['warn']} other {res['other']} rms {res.get('rms', math.nan):.3f}"
                  f" {res['time']:5.2f} s  {v}",
                  flush=True)
            if a.verbose:
                print("   ", json.dumps(res.get("follow")), flush=True)
    print("summary: " + ", ".join(f"{k} {v}" for k, v in sorted(tally.items()))
          + f"; align time {total:.1f} s")


if __name__ == "__main__":
    main()

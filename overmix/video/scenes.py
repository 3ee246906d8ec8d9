"""Scene cuts from a frame-difference measure on downscaled luma.

Each frame's Y' plane is reduced to a small thumbnail (block means, ~64 px wide, codes scaled
to [0, 1] by the bit depth). Between consecutive thumbnails two differences are measured:

- ``mad``: mean absolute difference (0 = identical, 1 = black vs white), which reacts to
  any change, including motion;
- ``hist``: half the L1 distance of 32-bin luma histograms (0..1), which ignores motion of
  the same content but changes with new content.

A cut is declared at frame ``k`` (the first frame of a new scene) when ``mad[k]`` stands out
from its neighbourhood — above ``ratio`` times the median of the differences around it and
above an absolute floor — and the histogram changed too, or ``mad`` alone is very large. The
neighbourhood median makes the threshold adapt to pans and busy animation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from overmix.frame import Frame

__all__ = ["Cut", "Scene", "detect_cuts", "scenes_from_cuts", "thumbnail"]


@dataclass(frozen=True)
class Cut:
    """The first frame of a new scene: display ``index``, ``time`` (s), difference ``score``."""

    index: int
    time: float | None
    score: float

    def to_json(self) -> dict[str, object]:
        return {"index": self.index, "time": self.time, "score": round(self.score, 4)}


@dataclass(frozen=True)
class Scene:
    """Frames ``[start, end)`` (display indices) and their times."""

    number: int
    start: int
    end: int
    start_time: float | None
    end_time: float | None

    @property
    def frames(self) -> int:
        return self.end - self.start

    def to_json(self) -> dict[str, object]:
        return {"scene": self.number, "start": self.start, "end": self.end,
                "frames": self.frames, "start_time": self.start_time,
                "end_time": self.end_time}


def thumbnail(y: np.ndarray, depth: int, target: int = 64) -> np.ndarray:
    """Block-mean thumbnail of a luma plane, float32 in [0, 1], about ``target`` px wide."""
    h, w = y.shape
    f = max(1, w // target)
    hh, ww = (h // f) * f, (w // f) * f
    t = y[:hh, :ww].astype(np.float32).reshape(hh // f, f, ww // f, f).mean(axis=(1, 3))
    return t / float((1 << depth) - 1)


def _hist(t: np.ndarray, bins: int = 32) -> np.ndarray:
    h = np.bincount(np.clip((t * bins).astype(np.int64), 0, bins - 1).ravel(), minlength=bins)
    return h / max(1, t.size)


def detect_cuts(frames: Iterable[Frame], *, ratio: float = 3.0, floor: float = 0.04,
                window: int = 8) -> tuple[list[Cut], int]:
    """Scene cuts in a frame stream; returns ``(cuts, frame_count)``.

    Parameters
    ----------
    frames : frames in display order (only plane 0 is read).
    ratio : how far above the local median difference a cut must be.
    floor : minimum mean absolute difference (luma, 0..1) of a cut.
    window : half-width (frames) of the neighbourhood for the median.
    """
    mads: list[float] = []
    hists: list[float] = []
    idx: list[int] = []
    times: list[float | None] = []
    prev_t = prev_h = None
    n = 0
    for f in frames:
        t = thumbnail(f.planes[0], f.color.bit_depth)
        h = _hist(t)
        if prev_t is not None and prev_t.shape == t.shape:
            mads.append(float(np.mean(np.abs(t - prev_t))))
            hists.append(float(0.5 * np.abs(h - prev_h).sum()))  # type: ignore[operator]
        elif prev_t is not None:
            mads.append(1.0)
            hists.append(1.0)
        idx.append(f.index)
        times.append(f.time)
        prev_t, prev_h = t, h
        n += 1
    d = np.asarray(mads, dtype=np.float64)
    hd = np.asarray(hists, dtype=np.float64)
    cuts: list[Cut] = []
    for k in range(d.size):
        lo, hi = max(0, k - window), min(d.size, k + window + 1)
        neigh = np.concatenate([d[lo:k], d[k + 1:hi]])
        med = float(np.median(neigh)) if neigh.size else 0.0
        thresh = max(floor, ratio * med)
        if d[k] > thresh and (hd[k] > 0.08 or d[k] > 4 * floor):
            cuts.append(Cut(idx[k + 1], times[k + 1], float(d[k])))
    return cuts, n


def scenes_from_cuts(cuts: list[Cut], count: int, first: int = 0,
                     first_time: float | None = 0.0, end_time: float | None = None
                     ) -> list[Scene]:
    """Scenes between cuts: scene 0 starts at ``first``, the last ends at ``first + count``."""
    bounds = [(first, first_time)] + [(c.index, c.time) for c in cuts]
    out = []
    for i, (s, st) in enumerate(bounds):
        e, et = bounds[i + 1] if i + 1 < len(bounds) else (first + count, end_time)
        out.append(Scene(i, s, e, st, et))
    return out

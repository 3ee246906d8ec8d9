"""Dropping frames that repeat their predecessor (animation on twos/threes, static holds).

Metric (on the Y' plane, codes scaled to the 8-bit range so thresholds mean the same at any
depth): the frame is cut into 16x16 blocks and the mean absolute difference to the last *kept*
frame is taken per block. A real change — even a small one like a mouth moving — makes at
least one block differ by many codes, while codec noise spreads a small difference over all
blocks. So

- ``metric`` = the largest block difference (8-bit codes),
- ``noise``  = the median block difference (what the codec's noise looks like in this pair),
- a frame is a duplicate when ``metric <= threshold``, where the automatic threshold is
  ``max(2, min(4 * noise + 1, 6))`` and ``dedup_threshold`` replaces it when given.

Comparing with the last kept frame (rather than the previous input frame) keeps a slow fade
from being dropped frame by frame.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

import numpy as np

__all__ = ["block_difference", "dedup_frames"]

T = TypeVar("T")

BLOCK = 16
AUTO_FLOOR = 2.0
AUTO_CAP = 6.0


def block_difference(a: np.ndarray, b: np.ndarray, depth: int) -> tuple[float, float]:
    """``(max, median)`` over 16x16 blocks of the mean |a - b|, in 8-bit code units.

    ``a``, ``b``: 2-D luma planes of the same shape (uint8/uint16 codes at ``depth`` bits).
    """
    d = np.abs(a.astype(np.int32) - b.astype(np.int32)).astype(np.float32)
    d *= 1.0 / (1 << (depth - 8)) if depth >= 8 else float(1 << (8 - depth))
    h, w = d.shape
    bh, bw = max(1, h // BLOCK), max(1, w // BLOCK)
    sy, sx = h // bh, w // bw
    blocks = d[: bh * sy, : bw * sx].reshape(bh, sy, bw, sx).mean(axis=(1, 3))
    return float(blocks.max()), float(np.median(blocks))


def auto_threshold(noise: float) -> float:
    """``max(2, min(4 * noise + 1, 6))`` codes: above the noise, capped so that a global
    change (a pan, a fade) never counts as noise."""
    return max(AUTO_FLOOR, min(4.0 * noise + 1.0, AUTO_CAP))


def dedup_frames(frames: Iterable[T], threshold: float | None, depth: int,
                 log: dict[str, Any]) -> Iterator[T]:
    """Yield the frames that are not duplicates of the last kept frame.

    ``frames`` are objects with ``planes`` (plane 0 = Y') and ``ordinal`` (input position);
    ``log`` receives ``{"enabled", "threshold", "kept", "dropped", "frames": [...]}`` where
    each entry is ``{"ordinal", "kept", "metric", "noise", "duplicate_of"}``.
    """
    log.update(enabled=True, threshold="auto" if threshold is None else threshold,
               kept=0, dropped=0, frames=[])
    entries: list[dict[str, Any]] = log["frames"]
    last = None
    last_ord = None
    for f in frames:
        y = f.planes[0]  # type: ignore[attr-defined]
        ordinal = getattr(f, "ordinal", len(entries))
        if last is None or last.shape != y.shape:
            keep, metric, noise, thr = True, None, None, None
        else:
            metric, noise = block_difference(y, last, depth)
            thr = threshold if threshold is not None else auto_threshold(noise)
            keep = metric > thr
        entries.append({
            "ordinal": ordinal, "kept": keep,
            "metric": None if metric is None else round(metric, 3),
            "noise": None if noise is None else round(noise, 3),
            "threshold": None if thr is None else round(float(thr), 3),
            "duplicate_of": None if keep else last_ord,
        })
        if keep:
            last, last_ord = y, ordinal
            log["kept"] += 1
            yield f
        else:
            log["dropped"] += 1

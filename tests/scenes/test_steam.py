"""Steam: a drifting bright semi-transparent layer; min-by-luma vs average vs per-plane min.

Uses the renderer of :mod:`overmix.render.stack` (``min-luma``, ``average``, ``min``) on a
drawn pan whose steam-free truth is known.
"""

from __future__ import annotations

import numpy as np
import pytest

from overmix.color.spec import ColorInfo
from overmix.frame import Family, PlaneLayout
from overmix.geometry import Offsets
from tests.scenes.draw import psnr, steam_pan

stack = pytest.importorskip("overmix.render.stack")


class _Provider:
    """Working planes of a drawn scene (4:4:4) for the renderer."""

    def __init__(self, scene) -> None:
        self.scene = scene
        self.layout = PlaneLayout(Family.YCBCR, 1, 1)
        self.color = ColorInfo()
        self.shape = scene.frames[0].shape[:2]

    def __len__(self) -> int:
        return len(self.scene.frames)

    def planes(self, k: int) -> tuple[np.ndarray, ...]:
        return tuple(np.ascontiguousarray(p) for p in self.scene.planes(k))


def test_min_luma_removes_steam_best() -> None:
    sc = steam_pan(n=24)
    prov = _Provider(sc)
    h, w = prov.shape
    offs = Offsets(sc.xy, list(range(len(sc.frames))), w, h)
    results = {m: stack.render(prov, offs, method=m) for m in ("min-luma", "average", "min")}
    covered = results["average"].coverage > 0
    # pixels seen by at least 4 frames (min over one or two frames cannot avoid the steam)
    count = stack.render(prov, offs, method="median").coverage
    enough = covered & (count >= 4)
    err = {}
    for m, r in results.items():
        img = np.stack(r.planes, -1)
        err[m] = (psnr(img, sc.truth, enough), float(np.abs(img - sc.truth)[enough].mean()))
    # min-by-luma is closer to the steam-free truth than the average and the per-plane min
    assert err["min-luma"][0] > err["average"][0] + 6, err
    assert err["min-luma"][0] > err["min"][0] + 2, err
    # colour: per-plane min mixes Cb/Cr from different frames, min-luma keeps them together
    img_ml = np.stack(results["min-luma"].planes, -1)
    img_min = np.stack(results["min"].planes, -1)
    c_ml = np.abs(img_ml[..., 1:] - sc.truth[..., 1:])[enough].mean()
    c_min = np.abs(img_min[..., 1:] - sc.truth[..., 1:])[enough].mean()
    assert c_ml < c_min, (c_ml, c_min)

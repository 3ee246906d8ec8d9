"""A logo's bar lying along the pan (overmix.restore.overlay_core): the middle of the bar slides
along itself and no frame sees it over a known background, yet its alpha and colour are the
bar's. Frames drawn here: a smooth random texture panned 1 px a frame along x, a bar blended
over it at alpha 0.5 in Y' 0.9 (truth from the drawing, not from the code under test)."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from overmix.restore.overlay import remove_overlay
from overmix.restore.overlay_estimate import fit_overlay

N, H, W = 30, 48, 96
A, C = 0.5, 0.9


def _scene() -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    world = ndimage.gaussian_filter(rng.random((H, W + N)), 1.5)
    world = (0.1 + 0.8 * (world - world.min()) / np.ptp(world)).astype(np.float32)
    bar = np.zeros((H, W), np.float32)
    bar[10:16, 20:80] = A
    bar[10:16, 20] = bar[10:16, 79] = A / 2  # antialiased ends
    clean = [world[:, k:k + W].copy() for k in range(N)]
    frames = [((1 - bar) * f + bar * C).astype(np.float32) for f in clean]
    xy = np.array([[k, 0.0] for k in range(N)])
    return frames, clean, xy, bar, ndimage.binary_dilation(bar > 0)


def test_the_unseen_middle_of_a_bar_sliding_along_itself_is_the_bar() -> None:
    frames, clean, xy, bar, mask = _scene()
    fit = fit_overlay(lambda k: [frames[k]], xy, None, mask)
    middle = np.zeros_like(mask)
    middle[11:15, 40:60] = True  # no frame sees these over a background known elsewhere
    assert np.abs(fit.alpha[middle] - A).max() < 0.02
    assert np.abs(fit.color[0][middle] - C).max() < 0.02
    # the rim the mask was grown by is no bar: nothing to un-blend there
    assert fit.alpha[9, 30:70].max() < 0.02 and fit.alpha[16, 30:70].max() < 0.02
    # un-blended, every frame shows the background under the bar
    for k in (0, 15, 29):
        out = remove_overlay([frames[k]], fit.color, fit.alpha)[0]
        assert np.abs(out - clean[k])[bar > 0].max() < 0.02

"""The cheap check before a second plane's alignment (issue #12, commands.realign): moving
parts that pan at their own speed are evidence of a plane; parts fixed on screen (a
subtitle) or moving with the background are not, and cost no alignment of the whole clip.
Frames are cut from random textures at known whole-sample offsets (the truth)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from overmix.commands.realign import plane_evidence
from overmix.render.consensus import Consensus

N, H, W, R = 12, 90, 150, 2  # frames, reduced frame size, consensus reduction


def _texture(h: int, w: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return ndimage.gaussian_filter(rng.random((h, w)), 2.0).astype(np.float32) * 4 - 1.5


def _scene(kind: str) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Frames (reduced grid), the moving parts' masks and the background offsets
    (full-resolution px): the background pans 2 samples a frame; the moving part is a
    band of trunks panning 4 samples a frame ("plane"), a block fixed on screen ("fixed"), or
    a patch of the background itself ("background")."""
    back, near = _texture(H + 60, W + 4 * N + 10, 1), _texture(H, W + 8 * N + 10, 2)
    cols = np.arange(W + 8 * N + 10)
    band = (np.sin(2 * np.pi * cols / 60) > 0.3)[None, :].repeat(H, 0)
    frames, masks = [], []
    for k in range(N):
        bx, lx = 2 * k, 4 * k
        f = back[20:20 + H, bx:bx + W].copy()
        if kind == "plane":
            m = band[:, lx:lx + W]
            f[m] = near[:, lx:lx + W][m]
        elif kind == "fixed":
            m = np.zeros((H, W), bool)
            m[60:80, 30:120] = True
            f[m] = near[:20, :90].ravel()
        else:  # a patch of the background, moving with it
            m = np.zeros((H, W), bool)
            m[20:70, 40 - bx:100 - bx] = True
        frames.append(f)
        masks.append(m)
    xy = np.array([[2.0 * R * k, 0.0] for k in range(N)])
    return frames, masks, xy


def _consensus(masks: list[np.ndarray]) -> Consensus:
    return Consensus(reduce=R, shape=(H * R, W * R), masks=list(masks), noise=0.01,
                     threshold=0.03, persistent=np.zeros((H * R, W * R), bool),
                     moving=list(masks), residual=[None] * len(masks))


@pytest.mark.parametrize(("kind", "plane"), [("plane", True), ("fixed", False),
                                              ("background", False)])
def test_only_parts_moving_on_their_own_are_a_plane(kind: str, plane: bool) -> None:
    frames, masks, xy = _scene(kind)
    assert plane_evidence(lambda k: frames[k], _consensus(masks), xy) is plane


def test_no_moving_parts_are_no_plane() -> None:
    frames, masks, xy = _scene("plane")
    empty = [np.zeros_like(m) for m in masks]
    assert not plane_evidence(lambda k: frames[k], _consensus(empty), xy)

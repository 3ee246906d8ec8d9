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


def _offsets(xy: np.ndarray, rows: list[int]):
    from overmix.geometry import Offsets

    return Offsets(np.asarray(xy, np.float64)[rows], rows, W * R, H * R)


@pytest.mark.parametrize("missing", [[N - 1], [0, N - 1], [5], [0, 1]])
def test_a_plane_left_out_of_its_alignment_in_a_frame_or_two_is_carried_on(
        missing: list[int]) -> None:
    # the truth: a camera easing into a pan with a wobble; the plane pans 1.6x the
    # background plus a slow sway of its own; its alignment placed every other frame, with
    # its own origin (the first placed frame at (0, 0)) and 0.05 px of noise
    from overmix.commands.realign import layer_offsets

    k = np.arange(N, dtype=np.float64)
    back = np.stack([2.4 * k + 0.03 * k * k, 0.4 * k + 0.7 * np.sin(0.21 * k)], 1)
    plane = 1.6 * back + np.stack([0.01 * k * k, -0.5 * k], 1)
    rows = [r for r in range(N) if r not in missing]
    noise = np.random.default_rng(3).normal(0, 0.05, (N, 2))
    found = _offsets(plane - plane[rows[0]] + noise, rows)
    got = layer_offsets(_offsets(back, list(range(N))), found)
    assert got is not None and got.shape == (N, 2)
    got = got - got[rows[0]] + plane[rows[0]]  # the plane's origin is its own
    # placed rows keep their own offsets; missing ones follow the camera's wobble and the
    # plane's drift within a line's error one or two frames past the placed rows (measured
    # 0.04-0.38 px; carrying on the plane's own motion instead, 0.64)
    assert np.abs(got[rows] - plane[rows] - noise[rows] + noise[rows[0]]).max() < 1e-9
    assert np.abs(got[missing] - plane[missing]).max() < 0.5


def test_a_plane_missing_in_many_frames_is_no_plane() -> None:
    from overmix.commands.realign import layer_offsets

    back = np.array([[2.0 * k, 0.0] for k in range(N)])
    found = _offsets(1.6 * back, [0, 1, 2, 4, 5, 7, 8, 10, 11])  # three of 12 left out
    assert layer_offsets(_offsets(back, list(range(N))), found) is None


def test_a_frame_the_plane_alignment_could_not_place_is_left_out() -> None:
    # the plane's alignment returns a row it could not place as NaN (its masks left nothing
    # to match: bench_follow seed 2 case 1 stopped with an internal error in Canvas.covering)
    from overmix.commands.realign import layer_offsets

    k = np.arange(N, dtype=np.float64)
    back = np.stack([2.0 * k, 0.5 * k], 1)
    plane = 1.6 * back
    lay = plane.copy()
    lay[5] = np.nan
    got = layer_offsets(_offsets(back, list(range(N))), _offsets(lay, list(range(N))))
    assert got is not None and np.isfinite(got).all()
    assert np.abs(got - plane).max() < 1e-6  # row 5 from its neighbours' drift

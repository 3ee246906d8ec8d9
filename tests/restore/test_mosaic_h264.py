"""Mosaic detection and recovery on a censored pan that went through a real codec (H.264)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from overmix.geometry import Canvas
from overmix.restore.degrade import block_mean
from overmix.restore.mosaic import detect_mosaic, recover_mosaic
from overmix.restore.superres import back_project
from tests.restore.scenes import CelScene, h264_roundtrip, psnr

N, H, W = 40, 96, 128
BLOCK, PHASE = 8, (5, 3)


def pan(censor: bool) -> tuple[CelScene, np.ndarray, list[np.ndarray], np.ndarray]:
    """A diagonal pan of a drawn cel scene, optionally under a screen-fixed 8 px mosaic."""
    rng = np.random.default_rng(4)
    sc = CelScene(4, hatch=False)
    steps = np.c_[np.full(N, 1.0), np.full(N, 0.55)]
    xy = np.cumsum(steps, 0) - steps[0] + rng.uniform(-0.3, 0.3, (N, 2))
    xy[0] = 0
    mask = np.zeros((H, W), bool)
    mask[PHASE[1] + 2 * BLOCK:PHASE[1] + 9 * BLOCK, PHASE[0] + 2 * BLOCK:PHASE[0] + 13 * BLOCK] \
        = True
    frames = []
    for x, y in xy:
        f = sc.frame(H, W, 60 + x, 40 + y) + rng.normal(0, 0.003, (H, W)).astype(np.float32)
        if censor:
            f = block_mean(f.astype(np.float32), BLOCK, PHASE, mask)
        frames.append(np.clip(np.round(f * 255) / 255, 0, 1).astype(np.float32))
    return sc, xy, frames, mask


def test_h264_censored_pan_detected_and_recovered(tmp_path: Path) -> None:
    sc, xy, frames, mask = pan(censor=True)
    decoded = h264_roundtrip(frames, tmp_path / "censored.mkv", crf=22)
    info = detect_mosaic(decoded, N)
    assert info is not None
    assert info.block == BLOCK and info.phase == PHASE
    both = (info.mask & mask).sum()
    assert both / mask.sum() >= 0.95  # recall: codec ringing must not hide censored cells
    assert both / info.mask.sum() >= 0.95  # precision
    canvas = Canvas.covering(xy, W, H)
    truth = sc.luma(canvas.height, canvas.width, 60 + canvas.x - 0.5, 40 + canvas.y - 0.5)
    res = recover_mosaic(decoded, N, xy, canvas, info, iterations=150)
    avg, _ = back_project(decoded, N, xy, canvas, scale=1.0)
    got = psnr(res.plane, truth, res.covered)
    assert got >= 30
    assert got > psnr(avg, truth, res.covered) + 4  # the plain average stays blocky


def test_h264_crf30_region_still_whole(tmp_path: Path) -> None:
    # stronger smoothing blurs the block borders and rings inside the blocks; pooling the
    # evidence over the frames still finds every censored cell
    _, _, frames, mask = pan(censor=True)
    decoded = h264_roundtrip(frames[::2], tmp_path / "crf30.mkv", crf=30)
    info = detect_mosaic(decoded, len(decoded))
    assert info is not None and info.block == BLOCK and info.phase == PHASE
    both = (info.mask & mask).sum()
    assert both / mask.sum() >= 0.95 and both / info.mask.sum() >= 0.95


def test_h264_clean_pan_has_no_mosaic(tmp_path: Path) -> None:
    _, _, frames, _ = pan(censor=False)
    decoded = h264_roundtrip(frames[:16], tmp_path / "clean.mkv", crf=30)
    assert detect_mosaic(decoded, len(decoded)) is None

"""A clean still by default behind independently moving foreground (issue #12 item 3): a
character walking against the pan covers the places of its track in most frames, so a
per-pixel majority keeps it; plain ``overmix stitch`` must still give the background where
some frames see it (within 1.5 dB of a stitch of the clean frames where most frames see it
clean, 6 dB where only a few do), and ``--foreground keep:FRAME`` must paste the character of
that one frame, sharp. Truth: tests/scenes/real.py (the world sampled exactly, the
character's coverage per frame), independent of the code under test; the offsets are the true
ones, so this measures the render."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

from overmix.cli import main
from overmix.geometry import Offsets
from overmix.io.png import read_png_array
from tests.scenes.real import SCENES, RealScene, make_scene

N, H, W = 40, 180, 320


@pytest.fixture(scope="module")
def sprite() -> RealScene:
    return make_scene(SCENES["sprite"], n=N, h=H, w=W)


def _truth(sc: RealScene, tmp: Path) -> Path:
    path = tmp / "truth.json"
    path.write_text(json.dumps({"frames": [{"index": k, "x": float(x), "y": float(y)}
                                           for k, (x, y) in enumerate(sc.xy)]}))
    return path


def _stitch(clip: Path, offsets: Path, out: Path, *extra: str) -> np.ndarray:
    assert main(["-q", "stitch", str(clip), "-o", str(out), "--offsets", str(offsets),
                 *extra]) == 0
    img, depth = read_png_array(out)
    return img.astype(np.float64) / ((1 << depth) - 1)


def _psnr(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    d = ((a - b) ** 2)[where]
    return float(10 * np.log10(1 / max(float(d.mean()), 1e-12)))


def _regions(sc: RealScene) -> tuple[Offsets, np.ndarray, np.ndarray, np.ndarray]:
    """Canvas, clean background on it, and the canvas pixels seen clean in most (> 50 %) of
    the frames covering them and in a few (3 px canvas margin left out)."""
    cv = Offsets(sc.xy, list(range(sc.n)), W, H).canvas
    bg = sc.background(cv.x, cv.y, cv.width, cv.height)
    seen = sc.seen_clean(cv.x, cv.y, cv.width, cv.height)
    cover = np.zeros_like(seen)
    for x, y in sc.xy:
        ix, iy = int(round(x - cv.x)), int(round(y - cv.y))
        cover[max(iy, 0):iy + H, max(ix, 0):ix + W] += 1
    frac = seen / np.maximum(cover, 1)
    inner = np.zeros(seen.shape, bool)
    inner[3:-3, 3:-3] = True
    return cv, bg, inner & (frac > 0.5), inner & (seen > 0) & (frac <= 0.5)


@pytest.mark.parametrize("depth", [8, 10])
def test_walking_character_is_left_out(sprite: RealScene, tmp_path: Path, depth: int) -> None:
    clip = sprite.encode(tmp_path / "walk.mkv", depth)
    clean = sprite.encode(tmp_path / "clean.mkv", depth, clean=True)
    truth = _truth(sprite, tmp_path)
    cv, bg, most, few = _regions(sprite)
    assert few.sum() > 500  # the track: the character covers these places in most frames
    ref = _stitch(clean, truth, tmp_path / "ref.png")[..., :3]
    got = _stitch(clip, truth, tmp_path / "got.png")[..., :3]
    assert _psnr(got, bg, most) > _psnr(ref, bg, most) - 1.5
    assert _psnr(got, bg, few) > _psnr(ref, bg, few) - 6.0


def test_foreground_keep_pastes_the_character_of_one_frame(sprite: RealScene,
                                                           tmp_path: Path) -> None:
    clip = sprite.encode(tmp_path / "walk.mkv", 8)
    truth = _truth(sprite, tmp_path)
    cv, bg, most, _ = _regions(sprite)
    frame = 20
    kept = _stitch(clip, truth, tmp_path / "keep.png", "--foreground", f"keep:{frame}")
    plain = _stitch(clip, truth, tmp_path / "plain.png")
    # the character's inside (2 px in from its outline, where 4:2:0 chroma is its own) as
    # frame 20 shows it, at that frame's place on the canvas
    body = ndimage.binary_erosion(sprite.foreground[frame], iterations=2)
    ix = int(round(sprite.xy[frame, 0] - cv.x))
    iy = int(round(sprite.xy[frame, 1] - cv.y))
    view_k = kept[iy:iy + H, ix:ix + W, :3]
    view_p = plain[iy:iy + H, ix:ix + W, :3]
    shown = sprite.rgb[frame]
    assert _psnr(view_k, shown, body) > 25  # that frame's character, sharp: one x264 frame
    assert _psnr(view_p, shown, body) < 15  # the default leaves it out
    # away from the character's track both are the same clean background
    track = np.zeros(most.shape, bool)
    for k in range(sprite.n):
        jx, jy = int(round(sprite.xy[k, 0] - cv.x)), int(round(sprite.xy[k, 1] - cv.y))
        track[jy:jy + H, jx:jx + W] |= ndimage.binary_dilation(sprite.foreground[k],
                                                               iterations=4)
    far = most & ~track
    assert _psnr(kept[..., :3], plain[..., :3], far) > 40

"""A clean still by default (issue #12 item 3): ``overmix stitch`` with no render flags leaves
hardsubs, a semi-transparent logo and a talking mouth out of the still, on x264 8-bit and
10-bit pans with ground truth, within 1.5 dB (background seen clean in most frames) and 6 dB
(seen clean in few) of a stitch of the clean frames; ``--foreground keep`` and ``--overlays
keep`` paste them from one frame. The offsets are the true ones (``--offsets``), so this
measures the render, not the alignment."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from overmix.cli import main
from overmix.geometry import Offsets
from overmix.io.png import read_png_array
from tests.scenes.draw import psnr
from tests.scenes.fgscenes import FgScene, encode, make


def _stitch(video: Path, offsets: Path, out: Path, *extra: str) -> np.ndarray:
    assert main(["-q", "stitch", str(video), "-o", str(out), "--offsets", str(offsets),
                 *extra]) == 0
    img, depth = read_png_array(out)
    return img.astype(np.float64) / ((1 << depth) - 1)


def _regions(sc: FgScene, img: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Canvas pixels seen clean in most of the frames covering them, and in a few."""
    seen = sc.seen_clean()
    h, w = seen.shape
    opaque = img[:h, :w, 3] > 0.99 if img.shape[2] == 4 else np.ones((h, w), bool)
    return opaque & (seen > 0.5), opaque & (seen > 0) & (seen <= 0.5)


@pytest.fixture(scope="module", params=[8, 10])
def depth(request) -> int:
    return request.param


def _setup(kind: str, depth: int, tmp: Path) -> tuple[FgScene, Path, Path, Path]:
    sc = make(kind)
    video = encode(tmp / f"{kind}.mkv", sc.frames, depth)
    clean = encode(tmp / f"{kind}-clean.mkv", sc.clean, depth)
    off = tmp / "true.json"
    h, w = sc.frames[0].shape[:2]
    Offsets(sc.xy, list(range(len(sc.xy))), w, h).save(off)
    return sc, video, clean, off


@pytest.mark.parametrize("kind", ["hardsub", "logo", "mouth"])
def test_default_stitch_is_clean(kind: str, depth: int, tmp_path: Path) -> None:
    sc, video, clean, off = _setup(kind, depth, tmp_path)
    ref = _stitch(clean, off, tmp_path / "ref.png")
    got = _stitch(video, off, tmp_path / "got.png")
    h, w = sc.world.shape[:2]
    most, few = _regions(sc, got)
    p_ref = psnr(ref[:h, :w, :3], sc.world, most)
    p_got = psnr(got[:h, :w, :3], sc.world, most)
    assert p_got > p_ref - 1.5, (kind, depth, p_got, p_ref)
    if few.sum() > 50:
        f_ref = psnr(ref[:h, :w, :3], sc.world, few)
        f_got = psnr(got[:h, :w, :3], sc.world, few)
        assert f_got > f_ref - 6.0, (kind, depth, f_got, f_ref)


def test_foreground_keep_pastes_one_frame(tmp_path: Path, capsys) -> None:
    sc, video, _, off = _setup("sprite", 8, tmp_path)
    frame = 20
    removed = _stitch(video, off, tmp_path / "removed.png")
    kept = _stitch(video, off, tmp_path / "kept.png", "--foreground", f"keep:{frame}")
    x, y = (int(v) for v in sc.xy[frame])
    fh, fw = sc.frames[0].shape[:2]
    sprite = sc.covered[frame]
    inner = sprite.copy()
    inner[1:-1, 1:-1] &= sprite[:-2, 1:-1] & sprite[2:, 1:-1] & sprite[1:-1, :-2] & sprite[1:-1, 2:]
    view_k = kept[y:y + fh, x:x + fw, :3]
    view_r = removed[y:y + fh, x:x + fw, :3]
    # kept: the sprite of that frame, sharp; removed: the background behind it
    assert psnr(view_k, sc.frames[frame], inner) > 25  # one x264 4:2:0 frame
    assert psnr(view_r, sc.frames[frame], inner) < 15
    # outside the sprite, both are the same clean background
    far = ~sprite
    assert psnr(view_k, view_r, far) > 35
    assert main(["-q", "stitch", str(video), "-o", str(tmp_path / "x.png"), "--offsets",
                 str(off), "--foreground", "keep:99"]) == 2
    assert "keep:99" in capsys.readouterr().err
    assert main(["-q", "stitch", str(video), "-o", str(tmp_path / "x.png"),
                 "--foreground", "maybe"]) == 2


def test_overlays_keep_shows_the_logo_once(tmp_path: Path) -> None:
    sc, video, clean, off = _setup("logo", 8, tmp_path)
    kept = _stitch(video, off, tmp_path / "kept.png", "--overlays", "keep")
    frame = len(sc.xy) // 2  # the middle frame by default
    x, y = (int(v) for v in sc.xy[frame])
    fh, fw = sc.frames[0].shape[:2]
    logo = sc.covered[frame]
    view = kept[y:y + fh, x:x + fw, :3]
    assert psnr(view, sc.frames[frame], logo) > 28  # the logo as that frame shows it
    assert psnr(view, sc.clean[frame], logo) < 20

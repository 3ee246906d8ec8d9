"""`overmix stitch` restoration options end to end (in-process CLI, real H.264 files)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from overmix.cli import main
from overmix.io.png import read_png_array
from overmix.restore.degrade import block_mean
from tests.restore.scenes import CelScene
from tests.videogen import color_tags, encode_video, rgb_to_yuv_codes

N, H, W = 16, 48, 64


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("restore_cli")
    rng = np.random.default_rng(0)
    sc = CelScene(4, hatch=False)
    xy = np.c_[np.arange(N) * 1.3 + rng.uniform(-0.3, 0.3, N),
               np.arange(N) * 0.6 + rng.uniform(-0.3, 0.3, N)]
    xy[0] = 0
    mask = np.zeros((H, W), bool)
    mask[8:40, 16:56] = True
    clean, censored = [], []
    for x, y in xy:
        rgb = sc.render(H, W, 60 + x - 0.5, 40 + y - 0.5)
        clean.append(rgb_to_yuv_codes(rgb, "709", False, 8, (2, 2)))
        m = np.stack([block_mean(rgb[..., c], 8, (0, 0), mask) for c in range(3)], -1)
        censored.append(rgb_to_yuv_codes(m, "709", False, 8, (2, 2)))
    tags = color_tags("709")
    out = {
        "pan": encode_video(d / "pan.mkv", clean, options={"qp": "4"}, tags=tags),
        "mosaic": encode_video(d / "mosaic.mkv", censored, options={"qp": "4"}, tags=tags),
        "offsets": d / "offsets.json",
        "dir": d,
    }
    frames = [{"index": i, "x": float(a), "y": float(b)} for i, (a, b) in enumerate(xy)]
    out["offsets"].write_text(json.dumps({"frames": frames}))
    return out


def test_scale_writes_a_larger_still(clips: dict[str, Path], tmp_path: Path) -> None:
    base, big = tmp_path / "base.png", tmp_path / "big.png"
    assert main(["stitch", str(clips["pan"]), "-o", str(base), "--offsets",
                 str(clips["offsets"])]) == 0
    assert main(["stitch", str(clips["pan"]), "-o", str(big), "--scale", "2", "--offsets",
                 str(clips["offsets"])]) == 0
    a, _ = read_png_array(base)
    b, _ = read_png_array(big)
    assert b.shape[0] == 2 * a.shape[0] and b.shape[1] == 2 * a.shape[1]
    # same picture: the 2x still box-averaged back is close to the 1x stitch where opaque
    opaque = (a[..., 3] > 0) if a.shape[2] == 4 else np.ones(a.shape[:2], bool)
    down = b[..., :3].astype(float).reshape(a.shape[0], 2, a.shape[1], 2, 3).mean(axis=(1, 3))
    diff = np.abs(down - a[..., :3])[opaque]
    assert np.median(diff) < 6


def test_deconvolve_and_mosaic(clips: dict[str, Path], tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "d.png"
    assert main(["stitch", str(clips["pan"]), "-o", str(out), "--deconvolve", "0.8:10",
                 "--offsets", str(clips["offsets"])]) == 0
    assert out.exists()
    out2 = tmp_path / "m.png"
    assert main(["stitch", str(clips["mosaic"]), "-o", str(out2), "--mosaic", "auto",
                 "--offsets", str(clips["offsets"]), "--json"]) == 0
    assert out2.exists()
    capsys.readouterr()
    # no mosaic in a clean pan: the job cannot be done
    assert main(["stitch", str(clips["pan"]), "-o", str(tmp_path / "x.png"), "--mosaic",
                 "auto", "--offsets", str(clips["offsets"])]) == 1
    err = capsys.readouterr().err
    assert err.startswith("overmix: error:") and "no mosaic" in err
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize(("args", "status", "text"), [
    (["--scale", "1"], 2, "greater than 1"),
    (["--scale", "0.5"], 2, "greater than 1"),
    (["--scale", "12"], 2, "absurd"),
    (["--deconvolve", "abc"], 2, "SIGMA"),
    (["--scale", "2", "--mosaic", "auto"], 2, "cannot be combined"),
    (["--jpeg"], 1, "not a JPEG"),
])
def test_bad_restoration_options(clips: dict[str, Path], tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str], args: list[str],
                                 status: int, text: str) -> None:
    out = tmp_path / "o.png"
    assert main(["stitch", str(clips["pan"]), "-o", str(out), *args]) == status
    err = capsys.readouterr().err
    assert err.startswith("overmix: error:") and text in err and err.count("\n") == 1
    assert not out.exists()


def test_jpeg_folder(tmp_path: Path) -> None:
    """Shifted JPEG copies of one picture: aligned, estimated, written as one still."""
    jpeglib = pytest.importorskip("jpeglib")
    rgb = CelScene(11, hatch=False).render(80, 112, 10, 10)
    folder = tmp_path / "jpegs"
    folder.mkdir()
    offs = [(0, 0), (5, 3), (11, 7), (14, 2)]
    for k, (x, y) in enumerate(offs):
        img = np.clip(np.round(rgb[y:y + 64, x:x + 96] * 255), 0, 255).astype(np.uint8)
        jpeglib.from_spatial(img).write_spatial(str(folder / f"{k}.jpg"), qt=25 + 10 * k)
    out = tmp_path / "j.png"
    assert main(["stitch", str(folder), "-o", str(out), "--jpeg"]) == 0
    img, depth = read_png_array(out)
    assert depth == 8 and img.shape[:2] == (64 + 7, 96 + 14)
    opaque = img[..., 3] > 0 if img.shape[2] == 4 else np.ones(img.shape[:2], bool)
    err = np.abs(img[..., :3].astype(float) - rgb[:71, :110] * 255)[opaque]
    assert err.mean() < 6

"""`overmix stitch` on a camera zoom: auto picks the zoom model, the canvas beats every frame
against the drawn truth, the offsets JSON carries scale/angle and is read back (edited too),
and --save-project says what the Overmix project drops."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from overmix.cli import main
from overmix.io.png import read_png_array
from tests.registration.zoomscenes import line_art, sample, truth_on_grid, zoom_track
from tests.videogen import color_tags, encode_video

H, W, N = 90, 160, 8


@pytest.fixture(scope="module")
def zoom_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, object]:
    d = tmp_path_factory.mktemp("zoom")
    tr = zoom_track(N, zoom=0.03, pan=(12.0, 4.0), w=W, h=H)
    scene = line_art(-60, -40, W + 60, H + 40, seed=11)
    planes = []
    rng = np.random.default_rng(5)
    for t in tr:
        y = sample(scene, tuple(t), H, W) + rng.normal(0, 0.012, (H, W))  # grain
        codes = np.clip(np.rint((16 + 219 * y.astype(np.float64)) * 4), 0, 1023)
        grey = np.full(((H + 1) // 2, (W + 1) // 2), 512, np.uint16)
        planes.append((codes.astype(np.uint16), grey, grey))
    path = encode_video(d / "zoom.mkv", planes, "libx264", "yuv420p10le",
                        tags=color_tags("709"), options={"crf": "16"})
    return path, tr, scene


def test_stitch_zoom_end_to_end(zoom_clip, tmp_path: Path, capsys) -> None:
    path, tr, scene = zoom_clip
    out = tmp_path / "z.png"
    off_path = tmp_path / "off.json"
    assert main(["stitch", str(path), "-o", str(out), "--save-offsets", str(off_path),
                 "--json", "--depth", "16"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["motion"] == "zoom"
    off = json.loads(off_path.read_text())
    scales = np.array([f["scale"] for f in off["frames"]])
    np.testing.assert_allclose(scales, tr[:, 2], atol=1e-3)  # small, grainy frames
    assert all(f["angle"] == 0.0 for f in off["frames"])
    cv = off["canvas"]
    assert cv["scale"] == pytest.approx(scales.min())
    img, depth = read_png_array(out)
    assert img.shape[:2] == (cv["height"], cv["width"])
    # grey chroma: every channel is Y'; PSNR of the canvas against the scene on its grid,
    # over the pixels inside every frame, against each frame's own PSNR
    y = img[..., 1].astype(np.float64) / 65535
    truth = truth_on_grid(scene, cv["x"], cv["y"], cv["scale"], cv["height"], cv["width"])
    ii, jj = np.mgrid[0:cv["height"], 0:cv["width"]].astype(np.float64)
    X, Y = cv["x"] + cv["scale"] * jj, cv["y"] + cv["scale"] * ii
    inside = np.ones(X.shape, bool)
    for x0, y0, s, _ in tr:  # zoom only: axis-aligned frames, 2 px margin
        inside &= (X >= x0 + 2 * s) & (X <= x0 + s * (W - 3)) & (Y >= y0 + 2 * s) & \
            (Y <= y0 + s * (H - 3))
    assert inside.sum() > 3000
    stitched = 10 * np.log10(1 / np.mean((y[inside] - truth[inside]) ** 2))
    from overmix.io.sources import open_source

    src = open_source(path)
    try:
        for k, fr in enumerate(src):
            f = (fr.planes[0].astype(np.float64) / 4 - 16) / 219
            single = 10 * np.log10(1 / np.mean((f - sample(scene, tuple(tr[k]), H, W)) ** 2))
            assert stitched > single + 1.0, (k, stitched, single)
    finally:
        src.close()
    # edited offsets: one frame rotated a little, a finer canvas; --save-project warns
    off["frames"][3]["angle"] = 0.05
    off_path.write_text(json.dumps(off))
    out2 = tmp_path / "z2.png"
    proj = tmp_path / "p.xml.overmix"
    assert main(["stitch", str(path), "-o", str(out2), "--offsets", str(off_path),
                 "--canvas-scale", "0.5", "--save-project", str(proj)]) == 0
    cap = capsys.readouterr()
    assert "zoom/rotation" in cap.err and "canvas scale" in cap.err
    img2, _ = read_png_array(out2)
    assert img2.shape[1] > 2 * W and proj.is_file()


def test_motion_options_are_checked(zoom_clip, tmp_path: Path, capsys) -> None:
    path = zoom_clip[0]
    assert main(["stitch", str(path), "-o", str(tmp_path / "a.png"), "--motion", "zoom",
                 "--lighting", "on"]) == 2
    assert "--lighting" in capsys.readouterr().err
    assert main(["stitch", str(path), "-o", str(tmp_path / "a.png"), "--canvas-scale",
                 "0"]) == 2
    capsys.readouterr()
    assert main(["align", str(path), "--motion", "similarity", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert "angle" in data["frames"][1] and "scale" in data["frames"][1]

"""`overmix stitch` / `overmix align` end to end on small generated inputs, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from overmix.cli import main
from overmix.io.png import read_png_array, write_png
from tests.videogen import make_clip


@pytest.fixture(scope="module")
def clip10(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("stitch")
    return make_clip(d / "pan10.mkv", n=8, h=72, w=96, pix_fmt="yuv420p10le",
                     options={"qp": "0"})


def test_stitch_writes_16bit_png_and_summary(clip10: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "pan.png"
    assert main(["stitch", str(clip10), "-o", str(out), "--save-offsets",
                 str(tmp_path / "off.json")]) == 0
    text = capsys.readouterr().out
    assert "frames used" in text and "8 of 8" in text and "residual alignment error" in text
    img, depth = read_png_array(out)
    assert depth == 16
    off = json.loads((tmp_path / "off.json").read_text())
    cv = off["canvas"]
    assert img.shape[:2] == (cv["height"], cv["width"])
    # videogen pans 2 px right, 1 px down per frame
    xy = np.array([[f["x"], f["y"]] for f in off["frames"]])
    assert np.abs(xy - np.stack([np.arange(8) * 2.0, np.arange(8) * 1.0], 1)).max() < 0.05
    # re-render from the saved offsets, 8-bit, dump of the canvas at 4:4:4
    out8 = tmp_path / "pan8.png"
    assert main(["stitch", str(clip10), "-o", str(out8), "--offsets",
                 str(tmp_path / "off.json"), "--depth", "8", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["frames"] == 8 and "offsets" in summary
    img8, d8 = read_png_array(out8)
    assert d8 == 8
    # same canvas: 8-bit is the 16-bit rounded
    assert np.abs(img8.astype(int) - np.rint(img.astype(float) / 257).astype(int)).max() <= 1
    dump = tmp_path / "pan.dump"
    assert main(["stitch", str(clip10), "-o", str(dump), "--offsets",
                 str(tmp_path / "off.json"), "--chroma", "full", "--render", "median"]) == 0
    from overmix.io.dumps import read_dump

    d = read_dump(dump)
    assert d.planes[0].shape == d.planes[1].shape == (cv["height"], cv["width"])


def test_align_prints_offsets_json(clip10: Path, tmp_path: Path, capsys) -> None:
    assert main(["align", str(clip10), "--end", "4", "--motion", "x", "--json",
                 "-o", str(tmp_path / "a.json")]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [f["index"] for f in data["frames"]] == [0, 1, 2, 3]
    assert all(f["y"] == 0 for f in data["frames"])
    assert json.loads((tmp_path / "a.json").read_text())["frames"] == data["frames"]
    assert main(["align", str(clip10), "--frames", "3"]) == 0
    assert "residual" in capsys.readouterr().out


def _err(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("overmix: error: ")
    return err[0]


def test_bad_inputs_fail_with_one_line(clip10: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "x.png"
    # a single frame
    assert main(["stitch", str(clip10), "-o", str(out), "--frames", "1"]) == 1
    assert "at least 2 frames" in _err(capsys)
    # offsets for frames the input does not have
    bad = {"frames": [{"index": 0, "x": 0, "y": 0}, {"index": 42, "x": 3, "y": 1}]}
    (tmp_path / "bad.json").write_text(json.dumps(bad))
    assert main(["stitch", str(clip10), "-o", str(out), "--offsets",
                 str(tmp_path / "bad.json")]) == 1
    assert "not in the input: 42" in _err(capsys)
    # offsets that put a frame apart from all others
    apart_json = {"frames": [{"index": 0, "x": 0, "y": 0}, {"index": 1, "x": 2, "y": 1},
                             {"index": 2, "x": 500, "y": 0}]}
    (tmp_path / "apart.json").write_text(json.dumps(apart_json))
    assert main(["stitch", str(clip10), "-o", str(out), "--offsets",
                 str(tmp_path / "apart.json")]) == 1
    assert "frames 2 apart" in _err(capsys)
    # frames of different sizes / formats
    rng = np.random.default_rng(1)
    sizes = tmp_path / "sizes"
    sizes.mkdir()
    write_png(sizes / "a.png", (rng.random((40, 50, 3)) * 255).astype(np.uint8))
    write_png(sizes / "b.png", (rng.random((42, 50, 3)) * 255).astype(np.uint8))
    assert main(["stitch", str(sizes), "-o", str(out)]) == 1
    assert "50x42" in _err(capsys)
    fmts = tmp_path / "fmts"
    fmts.mkdir()
    write_png(fmts / "a.png", (rng.random((40, 50, 3)) * 255).astype(np.uint8))
    write_png(fmts / "b.png", (rng.random((40, 50, 3)) * 65535).astype(np.uint16))
    assert main(["stitch", str(fmts), "-o", str(out)]) == 1
    msg = _err(capsys)
    assert "16-bit" in msg and "8-bit" in msg
    # frames that do not overlap (unrelated pictures): named
    apart = tmp_path / "apart"
    apart.mkdir()
    for i in range(3):
        write_png(apart / f"{i}.png", (rng.random((48, 64, 3)) * 255).astype(np.uint8))
    assert main(["stitch", str(apart), "-o", str(out), "--strict"]) == 1
    assert "frames 0 and 1" in _err(capsys)
    # --jpeg on a video, unknown output type, bad --animation
    assert main(["stitch", str(clip10), "-o", str(out), "--jpeg"]) == 1
    assert "JPEG" in _err(capsys)
    assert main(["stitch", str(clip10), "-o", str(tmp_path / "x.jpg")]) == 1
    assert ".png or .dump" in _err(capsys)
    assert main(["stitch", str(clip10), "-o", str(out), "--animation", "x"]) == 2
    assert "--animation" in _err(capsys)
    assert not out.exists()

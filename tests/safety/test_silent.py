"""What used to be silently wrong is right or refused (issue 13), on real files.

Each test has an independent ground truth: the picture the frames were cut from, PyAV's own
decode of the stream, the timestamps written into the file, the count of files written.
"""

from __future__ import annotations

import json
import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from overmix.cli import main
from overmix.io.png import read_png_array, write_png
from tests.videogen import draw_scene, make_clip, pan_frames, planes_to_frame, rgb_to_yuv_codes


def test_whole_pixel_pan_is_exact(tmp_path, capsys) -> None:
    """Crops of one picture at whole-pixel steps: integer offsets exactly, the canvas the union
    of the crops (no extra row), and the stitched picture equal to the picture."""
    world = np.round(draw_scene(120, 260, 3) * 255).astype(np.uint8)
    folder = tmp_path / "pan"
    folder.mkdir()
    steps = [(0, 0), (2, 7), (4, 14), (5, 21), (8, 28), (9, 35), (12, 42)]
    for k, (y, x) in enumerate(steps):
        write_png(folder / f"{k:03d}.png", world[y:y + 64, x:x + 96])
    assert main(["stitch", str(folder), "-o", str(tmp_path / "s.png"), "--json", "-q"]) == 0
    out = json.loads(capsys.readouterr().out)
    got = [(f["x"], f["y"]) for f in out["offsets"]["frames"]]
    assert got == [(float(x), float(y)) for y, x in steps]  # exactly, not within 5e-6
    h, w = 64 + 12, 96 + 42
    assert (out["canvas"]["width"], out["canvas"]["height"]) == (w, h)
    img, depth = read_png_array(tmp_path / "s.png")
    assert depth == 8 and img.shape[:2] == (h, w)
    covered = img[..., 3] > 0 if img.shape[2] == 4 else np.ones((h, w), bool)
    np.testing.assert_array_equal(img[..., :3][covered], world[:h, :w][covered])


def test_repeated_index_in_scene_json_is_refused(tmp_path, capsys) -> None:
    """A scene.json that gives two files one index would make convert --all write fewer
    files than it reports: it is refused, nothing is written."""
    video = make_clip(tmp_path / "v.mkv", n=4, h=32, w=48)
    assert main(["dump", str(video), "-o", str(tmp_path / "d"), "-q"]) == 0
    capsys.readouterr()
    scene = tmp_path / "d" / "scene.json"
    data = json.loads(scene.read_text())
    for f in data["frames"]:
        f["index"] = 0
    scene.write_text(json.dumps(data))
    assert main(["convert", str(tmp_path / "d"), "--all", "-o", str(tmp_path / "png")]) == 1
    err = capsys.readouterr().err
    assert "repeats index 0" in err and err.count("\n") == 1
    assert not (tmp_path / "png").exists()
    # an unlisted file whose position collides with a listed file's index: also refused
    data["frames"] = [{"file": "000001.dump", "index": 0}]
    scene.write_text(json.dumps(data))
    assert main(["convert", str(tmp_path / "d"), "--all", "-o", str(tmp_path / "png")]) == 1
    assert "both frame 0" in capsys.readouterr().err
    # consistent again: one PNG per dump, as reported
    data["frames"] = []
    scene.write_text(json.dumps(data))
    assert main(["convert", str(tmp_path / "d"), "--all", "-o", str(tmp_path / "png")]) == 0
    assert "wrote 4 PNG" in capsys.readouterr().err
    assert len(list((tmp_path / "png").glob("*.png"))) == 4


def _vfr_clip(path: Path, n: int = 24) -> list[int]:
    """24 fps for the first half, then 8 fps (pts in ms); returns the pts."""
    pts, t = [], 0
    with av.open(str(path), "w") as out:
        st = out.add_stream("libx264", rate=24, options={"qp": "0"})
        st.width, st.height, st.pix_fmt = 96, 64, "yuv420p"
        st.codec_context.time_base = Fraction(1, 1000)
        for k, rgb in enumerate(pan_frames(n, 64, 96)):
            f = planes_to_frame(list(rgb_to_yuv_codes(rgb, "709")), "yuv420p")
            f.pts, f.time_base = t, Fraction(1, 1000)
            pts.append(t)
            t += 42 if k < n // 2 else 125
            for p in st.encode(f):
                out.mux(p)
        for p in st.encode(None):
            out.mux(p)
    return pts


def test_variable_frame_rate_dump_and_time_selection(tmp_path, capsys) -> None:
    video = tmp_path / "vfr.mkv"
    pts = _vfr_clip(video)
    assert main(["dump", str(video), "-o", str(tmp_path / "d")]) == 0
    err = capsys.readouterr().err
    assert "could not be decoded" not in err and "wrote 24 dumps" in err
    scene = json.loads((tmp_path / "d" / "scene.json").read_text())
    assert scene["lost_frames"] == 0 and len(scene["frames"]) == 24
    # --frame T picks the first frame at or after T (ms timestamps written above), the same
    # on the video and on its dumps
    for t in ("0.3s", "1s", "1.5s"):
        want = next(k for k, p in enumerate(pts) if p >= float(t[:-1]) * 1000 - 1e-3)
        a, b = tmp_path / f"v{t}.png", tmp_path / f"d{t}.png"
        assert main(["convert", str(video), "--frame", t, "-o", str(a)]) == 0
        assert main(["convert", str(tmp_path / "d"), "--frame", t, "-o", str(b)]) == 0
        assert main(["convert", str(tmp_path / "d"), "--frame", str(want), "-o",
                     str(tmp_path / "k.png")]) == 0
        assert a.read_bytes() == b.read_bytes() == (tmp_path / "k.png").read_bytes()
    capsys.readouterr()


def test_raw_h264_elementary_stream(tmp_path, capsys) -> None:
    raw = make_clip(tmp_path / "clip.h264", n=48, h=32, w=48, container_format="h264")
    with av.open(str(raw)) as c:  # the reference: PyAV decodes every frame
        ref = [np.asarray(f.planes[0]).reshape(-1, f.planes[0].line_size)[:32, :48].copy()
               for f in c.decode(video=0)]
    assert len(ref) == 48
    assert main(["info", "--json", str(raw)]) == 0
    assert json.loads(capsys.readouterr().out)["frames"] == 48
    assert main(["dump", str(raw), "-o", str(tmp_path / "d"), "-q"]) == 0
    assert "could not be decoded" not in capsys.readouterr().err
    from overmix.io.sources import open_source

    with open_source(tmp_path / "d") as src:
        frames = list(src)
    assert len(frames) == 48
    for f, r in zip(frames, ref, strict=True):
        np.testing.assert_array_equal(f.planes[0], r)


@pytest.mark.parametrize("name", ["x.jpg", "x.tiff", "x", "x.dump"])
def test_convert_refuses_other_extensions(tmp_path, capsys, name: str) -> None:
    src = tmp_path / "f.png"
    write_png(src, np.zeros((8, 8, 3), np.uint8))
    assert main(["convert", str(src), "-o", str(tmp_path / name)]) == 1
    err = capsys.readouterr().err
    assert "must end in .png" in err and err.count("\n") == 1
    assert sorted(os.listdir(tmp_path)) == ["f.png"]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "NaN"])
def test_non_finite_numbers_are_usage_errors(tmp_path, capsys, value: str) -> None:
    for opt in ("--memory-budget", "--scale", "--dedup-threshold"):
        with pytest.raises(SystemExit) as exc:
            main(["stitch", str(tmp_path), "-o", str(tmp_path / "s.png"), f"{opt}={value}"])
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("overmix: error: argument") and err.count("\n") == 1


def test_degenerate_frames_end_in_one_line(tmp_path, capfd) -> None:
    """All-black frames (one warning line; --strict: one error line), an all-white (ignore
    everything) mask (one error line): no numpy RuntimeWarning before it (checked on the
    real stderr, in a subprocess)."""
    import subprocess
    import sys

    black = tmp_path / "black"
    black.mkdir()
    for k in range(3):
        write_png(black / f"{k}.png", np.zeros((48, 64, 3), np.uint8))
    pan = tmp_path / "pan"
    pan.mkdir()
    for k, rgb in enumerate(pan_frames(3, 48, 64)):
        write_png(pan / f"{k}.png", np.round(rgb * 255).astype(np.uint8))
    write_png(tmp_path / "mask.png", np.full((48, 64), 255, np.uint8))
    # all black: no dead end (one warning line, the middle frame alone); --strict: an error
    runs = [(["stitch", str(black), "-o", str(tmp_path / "a.png")], 0, "warning"),
            (["stitch", str(black), "-o", str(tmp_path / "a.png"), "--render", "median"], 0,
             "warning"),
            (["align", str(black), "--json"], 0, "warning"),
            (["align", str(black), "--strict"], 1, "error"),
            (["stitch", str(pan), "-o", str(tmp_path / "b.png"), "--mask",
              str(tmp_path / "mask.png")], 1, "error")]
    for argv, rc, kind in runs:
        p = subprocess.run([sys.executable, "-W", "default", "-m", "overmix", *argv],
                           capture_output=True, text=True, timeout=300)
        assert p.returncode == rc, (argv, p.stderr)
        assert p.stderr.startswith(f"overmix: {kind}: ") and p.stderr.count("\n") == 1, \
            p.stderr

"""``overmix convert``: dumps, PNGs and videos to PNG, in-process through ``overmix.cli.main``."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import dumpfmt
from overmix.cli import main
from overmix.color.spec import ChromaLocation, ColorInfo, Matrix, Primaries, Range, Transfer
from overmix.io.manifest import Manifest, dump_name, format_rate, write_manifest
from overmix.io.png import read_png_array, write_png

# Kr, Kb typed in from ITU-R BT.709-6 and BT.601-7, for the references below.
KRKB = {"709": (0.2126, 0.0722), "601": (0.299, 0.114)}


def encode(rgb: np.ndarray, m: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    kr, kb = KRKB[m]
    y = kr * rgb[..., 0] + (1 - kr - kb) * rgb[..., 1] + kb * rgb[..., 2]
    return y, (rgb[..., 2] - y) / (2 * (1 - kb)), (rgb[..., 0] - y) / (2 * (1 - kr))


def decode(y, cb, cr, m: str) -> np.ndarray:
    kr, kb = KRKB[m]
    kg = 1 - kr - kb
    r = y + 2 * (1 - kr) * cr
    b = y + 2 * (1 - kb) * cb
    return np.stack([r, (y - kr * r - kb * b) / kg, b], axis=-1)


def patches(k: int, h: int = 16, w: int = 24) -> np.ndarray:
    """Flat 8x8 colour blocks (chroma siting cannot matter inside them); varies with k."""
    rs = np.random.default_rng(k)
    cols = rs.uniform(0.05, 0.95, (h // 8, w // 8, 3))
    return np.repeat(np.repeat(cols, 8, axis=0), 8, axis=1)


def write_dumps(folder: Path, n: int = 4, depth: int = 10, manifest_range: Range | None = None
                ) -> list[np.ndarray]:
    """4:2:0 BT.709 limited-range dumps of flat patches; returns the true R'G'B' per frame."""
    folder.mkdir()
    truths = []
    s = 2 ** (depth - 8)
    for k in range(n):
        rgb = patches(k)
        y, cb, cr = encode(rgb, "709")
        c = lambda a: a.reshape(8, 2, 12, 2).mean(axis=(1, 3))  # noqa: E731
        planes = [np.rint((16 + 219 * y) * s), np.rint((128 + 224 * c(cb)) * s),
                  np.rint((128 + 224 * c(cr)) * s)]
        dt = np.uint16 if depth > 8 else np.uint8
        dumpfmt.write(folder / dump_name(k), [p.astype(dt) for p in planes], depth=depth,
                      transform=3)
        truths.append(rgb)
    if manifest_range is not None:
        color = ColorInfo(Matrix.BT709, manifest_range, Transfer.BT709, Primaries.BT709,
                          ChromaLocation.LEFT, depth)
        write_manifest(folder, Manifest(color=color, frame_rate=format_rate(24),
                                        frames=[{"file": dump_name(k), "index": k}
                                                for k in range(n)]))
    return truths


def inner(a: np.ndarray) -> np.ndarray:
    """Centres of the 8x8 blocks (away from block edges, where chroma mixes)."""
    return a[2:6, 2:6]


def test_one_frame_of_a_dump_folder_16bit(tmp_path, capsys):
    truths = write_dumps(tmp_path / "d")
    out = tmp_path / "f2.png"
    assert main(["convert", str(tmp_path / "d"), "-o", str(out), "--frame", "2"]) == 0
    img, depth = read_png_array(out)
    assert depth == 16 and img.shape == (16, 24, 3)  # 10-bit source → 16-bit PNG
    err = np.abs(img / 65535.0 - truths[2])
    # 10-bit quantisation of Y'CbCr: a few 1/876 steps at most, in the block centres.
    assert inner(err).max() < 4 / 876
    assert np.abs(img / 65535.0 - truths[1]).mean() > 0.05  # really frame 2
    assert capsys.readouterr().err.count("\n") <= 1


def test_all_frames_folder_8bit_and_ranges(tmp_path):
    truths = write_dumps(tmp_path / "d", n=4, depth=8)
    out = tmp_path / "pngs"
    assert main(["convert", str(tmp_path / "d"), "-o", str(out), "--all"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"{k:06d}.png" for k in range(4)]
    for k in range(4):
        img, depth = read_png_array(out / names[k])
        assert depth == 8
        assert inner(np.abs(img / 255.0 - truths[k])).max() < 4 / 219
    # Not into a non-empty folder without --force; nothing changes there.
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    assert main(["convert", str(tmp_path / "d"), "-o", str(out), "--all"]) == 1
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    assert main(["convert", str(tmp_path / "d"), "-o", str(out), "--all", "--force",
                 "--depth", "16"]) == 0
    assert read_png_array(out / "000000.png")[1] == 16
    # A range writes a folder of the selected frames, named by index.
    rng_out = tmp_path / "r"
    assert main(["convert", str(tmp_path / "d"), "-o", str(rng_out), "--start", "1",
                 "--end", "3", "--dither"]) == 0
    assert sorted(p.name for p in rng_out.iterdir()) == ["000001.png", "000002.png"]


def test_manifest_colour_beats_header_and_overrides_beat_both(tmp_path):
    write_dumps(tmp_path / "d", n=1, depth=10, manifest_range=Range.FULL)
    y = dumpfmt.read(tmp_path / "d" / dump_name(0)).planes[0].astype(np.float64)
    full = tmp_path / "full.png"
    assert main(["convert", str(tmp_path / "d"), "-o", str(full)]) == 0
    g = read_png_array(full)[0].astype(np.float64)
    # Neutral check on luma: with full range Y' = Y / 1023 (the manifest's word).
    kr, kb = KRKB["709"]
    luma = (kr * g[..., 0] + (1 - kr - kb) * g[..., 1] + kb * g[..., 2]) / 65535
    assert np.abs(inner(luma - y / 1023)).max() < 2e-3
    lim = tmp_path / "lim.png"
    assert main(["convert", str(tmp_path / "d"), "-o", str(lim), "--range", "limited",
                 "--matrix", "601"]) == 0
    g2 = read_png_array(lim)[0].astype(np.float64) / 65535
    d = dumpfmt.read(tmp_path / "d" / dump_name(0)).planes
    cb = (d[1].astype(np.float64) - 512) / 896
    cr = (d[2].astype(np.float64) - 512) / 896
    up = lambda a: np.repeat(np.repeat(a, 2, 0), 2, 1)  # noqa: E731
    want = np.clip(decode((y - 64) / 876, up(cb), up(cr), "601"), 0, 1)
    assert np.abs(inner(g2 - want)).max() < 1e-4


def test_lossless_8bit_png_in_out_unchanged(tmp_path):
    levels = np.arange(256, dtype=np.uint8)
    img = np.stack([levels, np.roll(levels, 50), levels[::-1]], -1).reshape(16, 16, 3)
    src = tmp_path / "in.png"
    write_png(src, img)
    out = tmp_path / "out.png"
    assert main(["convert", str(src), "-o", str(out)]) == 0
    back, depth = read_png_array(out)
    assert depth == 8
    np.testing.assert_array_equal(back, img)
    # gray + alpha stays gray + alpha
    ga = np.stack([levels.reshape(16, 16), levels[::-1].reshape(16, 16)], -1)
    write_png(tmp_path / "ga.png", ga)
    assert main(["convert", str(tmp_path / "ga.png"), "-o", str(tmp_path / "ga2.png")]) == 0
    np.testing.assert_array_equal(read_png_array(tmp_path / "ga2.png")[0], ga)


def test_reinterpret_repairs_a_601_screenshot_of_hd(tmp_path):
    truth = patches(7, 16, 24) * 0.8 + 0.1
    shown = decode(*encode(truth, "709"), "601")  # what a player using BT.601 displayed
    shot = np.rint(np.clip(shown, 0, 1) * 65535).astype(np.uint16)
    assert np.abs(shot / 65535 - truth).max() > 0.03
    write_png(tmp_path / "shot.png", shot)
    out = tmp_path / "fixed.png"
    assert main(["convert", str(tmp_path / "shot.png"), "-o", str(out), "--reinterpret",
                 "601:709"]) == 0
    fixed = read_png_array(out)[0] / 65535
    assert np.abs(fixed - truth).max() < 3e-4
    # the reverse argument order goes the other way
    assert main(["convert", str(out), "-o", str(tmp_path / "back.png"), "--reinterpret",
                 "709:601"]) == 0
    assert np.abs(read_png_array(tmp_path / "back.png")[0] / 65535 - shown).max() < 3e-4


def test_video_frame(tmp_path):
    from tests.videogen import make_clip, pan_frames

    clip = make_clip(tmp_path / "c.mkv", n=6, h=48, w=64, pix_fmt="yuv420p10le",
                     options={"qp": "0"})
    out = tmp_path / "v3.png"
    assert main(["convert", str(clip), "-o", str(out), "--frame", "3",
                 "--chroma-filter", "bicubic"]) == 0
    img, depth = read_png_array(out)
    assert depth == 16
    truth = pan_frames(6, 48, 64)
    e3 = np.abs(img / 65535 - truth[3]).mean()
    assert e3 < 0.02 and e3 < np.abs(img / 65535 - truth[2]).mean() / 2


def _err_line(capsys) -> str:
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("overmix: error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_bad_input_and_usage(tmp_path, capsys):
    write_dumps(tmp_path / "d", n=3, depth=8)
    before = sorted(os.listdir(tmp_path))
    out = str(tmp_path / "x.png")
    assert main(["convert", str(tmp_path / "missing.dump"), "-o", out]) == 1
    assert "missing.dump" in _err_line(capsys)
    assert main(["convert", str(tmp_path / "d"), "-o", out, "--matrix", "bogus"]) == 2
    assert "matrix" in _err_line(capsys)
    assert main(["convert", str(tmp_path / "d"), "-o", out, "--frame", "7"]) == 1
    assert "frame 7 is out of range" in _err_line(capsys)
    assert main(["convert", str(tmp_path / "d"), "-o", out, "--reinterpret", "601"]) == 2
    _err_line(capsys)
    assert main(["convert", str(tmp_path / "d"), "-o", out, "--reinterpret", "601:709"]) == 2
    assert "RGB" in _err_line(capsys)
    # the same matrix on both sides (601 = BT470BG = 170M): a usage error, nothing written
    for same in ("601:601", "170m:601", "bt470bg:601", "709:bt709"):
        assert main(["convert", str(tmp_path / "d"), "-o", out, "--reinterpret", same]) == 2
        assert "same matrix" in _err_line(capsys)
    with pytest.raises(SystemExit) as ex:
        main(["convert", str(tmp_path / "d"), "-o", out, "--frame", "1", "--all"])
    assert ex.value.code == 2
    _err_line(capsys)
    # Output folder missing / a file in the way.
    assert main(["convert", str(tmp_path / "d"), "-o", str(tmp_path / "no" / "x.png")]) == 1
    _err_line(capsys)
    (tmp_path / "afile").write_bytes(b"x")
    assert main(["convert", str(tmp_path / "d"), "-o", str(tmp_path / "afile" / "o"),
                 "--all"]) == 1
    _err_line(capsys)
    (tmp_path / "afile").unlink()
    assert sorted(os.listdir(tmp_path)) == before  # no partial output anywhere
    assert sorted(os.listdir(tmp_path / "d")) == [dump_name(k) for k in range(3)]


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into read-only folders")
def test_output_folder_not_writable(tmp_path, capsys):
    write_dumps(tmp_path / "d", n=2, depth=8)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert main(["convert", str(tmp_path / "d"), "-o", str(ro / "x.png")]) == 1
        assert "not writable" in _err_line(capsys)
        assert main(["convert", str(tmp_path / "d"), "-o", str(ro / "sub"), "--all"]) == 1
        _err_line(capsys)
        assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o755)


def test_unwritable_output_fails_cleanly_as_root_too(tmp_path, capsys, monkeypatch):
    # Simulate a folder the process cannot write into (works even as root): the write fails
    # inside atomic_path; the CLI reports one line and leaves no file behind.
    write_dumps(tmp_path / "d", n=3, depth=8)
    out = tmp_path / "o"
    import overmix.io.png as png

    calls = {"n": 0}
    real = png.write_png

    def flaky(path, image, **kw):
        calls["n"] += 1
        if calls["n"] == 2:
            from overmix.errors import OutputError

            raise OutputError(f"cannot write to {Path(path).parent}: Permission denied")
        return real(path, image, **kw)

    monkeypatch.setattr(png, "write_png", flaky)
    assert main(["convert", str(tmp_path / "d"), "-o", str(out), "--all"]) == 1
    assert "Permission denied" in _err_line(capsys)
    assert not out.exists()  # the frame written before the failure is removed, and the folder


def test_frame_by_time_and_range_into_a_png_file(tmp_path):
    truths = write_dumps(tmp_path / "d", n=4, depth=8, manifest_range=Range.LIMITED)  # 24 fps
    out = tmp_path / "t.png"
    # 0.1 s at 24 fps → the first frame at or after it is frame 3.
    assert main(["convert", str(tmp_path / "d"), "-o", str(out), "--frame", "0.1s"]) == 0
    assert inner(np.abs(read_png_array(out)[0] / 255 - truths[3])).max() < 4 / 219
    # A range into a *.png file: its first frame.
    out2 = tmp_path / "r.png"
    assert main(["convert", str(tmp_path / "d"), "-o", str(out2), "--start", "2"]) == 0
    assert out2.is_file()
    assert inner(np.abs(read_png_array(out2)[0] / 255 - truths[2])).max() < 4 / 219

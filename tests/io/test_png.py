"""PNG writing and reading through PyAV: exact codes, 8/16 bit, alpha, palettes, APNG."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib

import av
import numpy as np
import pytest

from overmix.color.dither import quantize
from overmix.color.spec import Matrix, Range, Transfer
from overmix.errors import FormatError, InputError, OutputError, UnsupportedError
from overmix.frame import Family
from overmix.io.png import read_png, read_png_array, write_apng, write_png


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """PNG chunks (type, body), parsed from the byte layout of the PNG spec (ISO 15948)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    out, i = [], 8
    while i < len(data):
        (n,) = struct.unpack(">I", data[i:i + 4])
        kind, body = data[i + 4:i + 8], data[i + 8:i + 8 + n]
        (crc,) = struct.unpack(">I", data[i + 8 + n:i + 12 + n])
        assert zlib.crc32(kind + body) == crc
        out.append((kind, body))
        i += 12 + n
    return out


def ihdr(path) -> tuple[int, int, int, int]:
    kind, body = chunks(path.read_bytes())[0]
    assert kind == b"IHDR"
    w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
    return w, h, depth, ctype


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_round_trip_exact(tmp_path, dtype, channels):
    rs = np.random.default_rng(channels)
    top = np.iinfo(dtype).max
    shape = (13, 17) if channels == 1 else (13, 17, channels)
    img = rs.integers(0, top + 1, shape).astype(dtype)
    img.flat[0], img.flat[1] = 0, top
    path = tmp_path / "x.png"
    write_png(path, img)
    w, h, depth, ctype = ihdr(path)
    assert (w, h, depth) == (17, 13, 16 if dtype == np.uint16 else 8)
    assert ctype == {1: 0, 2: 4, 3: 2, 4: 6}[channels]  # gray, gray+alpha, RGB, RGBA
    back, bd = read_png_array(path)
    assert bd == depth and back.dtype == dtype
    np.testing.assert_array_equal(back.reshape(shape), img)
    frame = read_png(path)
    assert frame.color.range == Range.FULL and frame.color.transfer == Transfer.IEC61966_2_1
    assert frame.color.bit_depth == depth
    assert frame.layout.family == (Family.GRAY if channels <= 2 else Family.RGB)
    assert frame.color.matrix == (Matrix.GRAY if channels <= 2 else Matrix.RGB)
    assert (frame.alpha is not None) == (channels in (2, 4))
    if channels in (2, 4):
        np.testing.assert_array_equal(frame.alpha, img[..., -1])
    np.testing.assert_array_equal(frame.planes[0], img if channels == 1 else img[..., 0])
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg CLI not available")
def test_16bit_file_read_by_ffmpeg_cli(tmp_path):
    img = (np.arange(6 * 8 * 3).reshape(6, 8, 3) * 461 % 65536).astype(np.uint16)
    path = tmp_path / "x.png"
    write_png(path, img)
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt", "rgb48be", "-"],
        capture_output=True, check=True, timeout=60,
    ).stdout
    np.testing.assert_array_equal(np.frombuffer(raw, ">u2").reshape(6, 8, 3), img)


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg CLI not available")
@pytest.mark.parametrize("fmt", ["pal8", "monob", "ya8", "gray16be"])
def test_reads_files_written_by_ffmpeg(tmp_path, fmt):
    path = tmp_path / f"{fmt}.png"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=40x24:rate=1",
         "-frames:v", "1", "-pix_fmt", fmt, str(path)], check=True, timeout=60,
    )
    ref = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-f", "rawvideo", "-pix_fmt",
         "rgba64be" if fmt == "gray16be" else "rgba", "-"],
        capture_output=True, check=True, timeout=60,
    ).stdout
    ref = np.frombuffer(ref, ">u2" if fmt == "gray16be" else np.uint8).reshape(24, 40, 4)
    frame = read_png(path)
    if fmt == "monob":
        assert frame.color.bit_depth == 1 and set(np.unique(frame.planes[0])) <= {0, 1}
        np.testing.assert_array_equal(frame.planes[0] * 255, ref[..., 0])
    elif fmt == "pal8":
        assert frame.layout.family == Family.RGB
        for k in range(3):
            np.testing.assert_array_equal(frame.planes[k], ref[..., k])
    else:
        np.testing.assert_array_equal(frame.planes[0], ref[..., 0])


def test_lossless_8bit_png_through_float_is_unchanged(tmp_path):
    # Overmix truncates here and loses a level on half the values; we round.
    levels = np.arange(256, dtype=np.uint8)
    img = np.stack([levels, levels[::-1], np.roll(levels, 77)], -1).reshape(16, 16, 3)
    src = tmp_path / "in.png"
    write_png(src, img)
    rgb = read_png(src).to_rgb()
    out = tmp_path / "out.png"
    write_png(out, quantize(rgb, 8))
    np.testing.assert_array_equal(read_png_array(out)[0], img)


def test_apng_frames_and_delays(tmp_path):
    frames = [np.full((8, 10, 4), v, np.uint8) for v in (10, 128, 250)]
    path = tmp_path / "anim.png"
    write_apng(path, frames, [40, 80, 120])
    parts = chunks(path.read_bytes())
    kinds = [k for k, _ in parts]
    assert kinds.count(b"fcTL") == 3 and b"acTL" in kinds
    actl = next(b for k, b in parts if k == b"acTL")
    assert struct.unpack(">II", actl) == (3, 0)  # 3 frames, loop forever
    delays = [struct.unpack(">HH", b[20:24]) for k, b in parts if k == b"fcTL"]
    assert [1000 * n / d for n, d in delays] == [40, 80, 120]
    assert list(tmp_path.iterdir()) == [path]


def test_apng_decodes_exactly_in_ffmpeg(tmp_path):
    # FFmpeg's apng demuxer and decoder (independent of the writer) give back every frame's
    # codes; 300 rows span two deflate strips, so later frames have several fdAT chunks
    rng = np.random.default_rng(5)
    for dtype, channels, top in ((np.uint8, 3, 255), (np.uint16, 4, 65535)):
        frames = [rng.integers(0, top, (300, 37, channels)).astype(dtype) for _ in range(3)]
        path = tmp_path / f"anim{channels}.png"
        write_apng(path, frames, 100)
        with av.open(str(path), format="apng") as container:
            got = [f for f in container.decode(video=0)]
        assert len(got) == 3
        for frame, want in zip(got, frames, strict=True):
            raw = np.frombuffer(frame.planes[0], np.uint8).reshape(300, -1)
            row = 37 * channels * np.dtype(dtype).itemsize
            order = "<u2" if frame.format.name.endswith("le") else ">u2"
            arr = raw[:, :row].copy().view(order if dtype == np.uint16 else np.uint8)
            np.testing.assert_array_equal(arr.reshape(want.shape), want)


def test_bad_inputs_and_outputs(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_png(tmp_path / "missing.png")
    junk = tmp_path / "junk.png"
    junk.write_bytes(b"not a png at all" * 10)
    with pytest.raises(FormatError):
        read_png(junk)
    with pytest.raises(OutputError):
        write_png(tmp_path / "nope" / "x.png", np.zeros((2, 2), np.uint8))
    with pytest.raises(UnsupportedError):
        write_png(tmp_path / "x.png", np.zeros((2, 2), np.float32))
    with pytest.raises(UnsupportedError):
        write_png(tmp_path / "x.png", np.zeros((2, 2, 5), np.uint8))
    with pytest.raises(UnsupportedError):
        write_apng(tmp_path / "a.png", [np.zeros((2, 2), np.uint8), np.zeros((3, 2), np.uint8)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junk.png"]

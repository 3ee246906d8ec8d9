"""Frames <-> dump files: colour from manifest/header/guess, layouts, errors."""

from __future__ import annotations

import struct

import numpy as np
import pytest

import dumpfmt
from overmix.color.spec import ChromaLocation, ColorInfo, Matrix, Primaries, Range, Transfer
from overmix.errors import FormatError, InputError, OutputError, UnsupportedError
from overmix.frame import Family, Frame, PlaneLayout
from overmix.io.dumps import color_from_header, header_for_color, read_frame, write_frame


def _planes(h: int, w: int, sx: int, sy: int, depth: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    dt = np.uint8 if depth <= 8 else np.uint16
    ch, cw = -(-h // sy), -(-w // sx)
    return [rng.integers(0, 1 << depth, s).astype(dt) for s in ((h, w), (ch, cw), (ch, cw))]


@pytest.mark.parametrize(
    "color",
    [
        ColorInfo(Matrix.BT709, Range.LIMITED, Transfer.BT709, Primaries.BT709,
                  ChromaLocation.LEFT, 10),
        ColorInfo(Matrix.BT470BG, Range.LIMITED, Transfer.SMPTE170M, Primaries.SMPTE170M,
                  ChromaLocation.LEFT, 8),
        ColorInfo(Matrix.BT470BG, Range.FULL, Transfer.SMPTE170M, Primaries.SMPTE170M,
                  ChromaLocation.CENTER, 12),
    ],
)
def test_write_read_frame_header_colour(tmp_path, color: ColorInfo) -> None:
    planes = _planes(9, 13, 2, 2, color.bit_depth)
    frame = Frame(tuple(planes), PlaneLayout(Family.YCBCR, 2, 2), color)
    path = tmp_path / "000000.dump"
    write_frame(path, frame, compression="xz")
    raw = path.read_bytes()
    assert raw[:4] == b"DMP0"
    assert (raw[4], raw[5]) == header_for_color(color)
    got = read_frame(path, index=5)
    assert got.index == 5 and got.layout == PlaneLayout(Family.YCBCR, 2, 2)
    # without a manifest the header alone gives back these three colours exactly
    assert got.color == color
    assert got.extra["color_from"] == "header"
    for a, b in zip(got.planes, planes, strict=True):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


def test_header_bytes_table() -> None:
    c = ColorInfo()
    assert header_for_color(c.with_(matrix=Matrix.SMPTE170M, transfer=Transfer.SMPTE170M)) == (2, 2)
    assert header_for_color(c.with_(matrix=Matrix.BT709)) == (3, 2)
    assert header_for_color(c.with_(matrix=Matrix.BT470BG, range=Range.FULL)) == (4, 2)
    assert header_for_color(c.with_(matrix=Matrix.GRAY, transfer=Transfer.LINEAR)) == (0, 0)
    assert header_for_color(c.with_(matrix=Matrix.RGB, transfer=Transfer.IEC61966_2_1)) == (1, 1)
    assert header_for_color(c.with_(matrix=Matrix.BT2020_NCL,
                                    transfer=Transfer.BT2020_10)) == (6, 2)
    assert header_for_color(c.with_(matrix=Matrix.BT709, range=Range.FULL,
                                    transfer=Transfer.SMPTE2084)) == (6, 3)


def test_untagged_guess_by_size() -> None:
    h = dumpfmt.Header(False)
    sd, how = color_from_header(h, 720, 480, 8, 3)
    assert (sd.matrix, sd.range, how) == (Matrix.BT470BG, Range.LIMITED, "guess")
    hd, _ = color_from_header(h, 1920, 1080, 10, 3)
    assert (hd.matrix, hd.bit_depth, hd.chroma_location) == (Matrix.BT709, 10,
                                                             ChromaLocation.LEFT)
    unknown, how = color_from_header(dumpfmt.Header(True, 6, 2), 640, 360, 8, 3)
    assert (unknown.matrix, how) == (Matrix.BT470BG, "guess")
    rgb, _ = color_from_header(dumpfmt.Header(True, 1, 1), 640, 360, 10, 3)
    assert (rgb.matrix, rgb.range, rgb.transfer) == (Matrix.RGB, Range.FULL,
                                                     Transfer.IEC61966_2_1)
    with pytest.raises(UnsupportedError, match="Bayer"):
        color_from_header(dumpfmt.Header(True, 5, 3), 64, 64, 12, 3)


def test_legacy_video_dumper_file_reads_as_untagged(tmp_path) -> None:
    y, cb, cr = _planes(36, 64, 2, 2, 10, seed=3)
    path = tmp_path / "output00000k.dump"
    path.write_bytes(b"".join(struct.pack("<III", p.shape[1], p.shape[0], 10) + p.tobytes()
                              for p in (y, cb, cr)))
    f = read_frame(path)
    assert f.color.matrix == Matrix.BT470BG  # SD size: 601, not Overmix's "709 always"
    assert f.layout.name == "yuv420" and f.color.bit_depth == 10
    np.testing.assert_array_equal(f.planes[2], cr)
    # with a manifest colour, that wins (depth comes from the file)
    m = ColorInfo(Matrix.BT709, Range.FULL, Transfer.BT709, Primaries.BT709,
                  ChromaLocation.TOPLEFT, 8)
    f2 = read_frame(path, color=m)
    assert f2.color == m.with_(bit_depth=10) and f2.extra["color_from"] == "manifest"


def test_gray_rgb_alpha_and_422(tmp_path) -> None:
    g = np.arange(30, dtype=np.uint8).reshape(5, 6)
    a = np.full((5, 6), 255, np.uint8)
    dumpfmt.write(tmp_path / "g.dump", [g, a], depth=8)
    f = read_frame(tmp_path / "g.dump")
    assert f.layout.family == Family.GRAY and f.alpha is not None
    np.testing.assert_array_equal(f.alpha, a)
    # RGB with an 8-bit alpha next to 10-bit colour: alpha rescaled to 10 bit
    rgb = [np.full((4, 4), v, np.uint16) for v in (0, 512, 1023)]
    dumpfmt.write(tmp_path / "rgb.dump", rgb + [np.full((4, 4), 255, np.uint8)],
                  depth=[10, 10, 10, 8], transform=1, transfer=1)
    f = read_frame(tmp_path / "rgb.dump")
    assert f.layout.family == Family.RGB and int(f.alpha.max()) == 1023
    f.validate()
    p = _planes(8, 10, 2, 1, 9)
    dumpfmt.write(tmp_path / "422.dump", p, depth=9, transform=3)
    assert read_frame(tmp_path / "422.dump").layout.name == "yuv422"


def test_errors_name_the_file(tmp_path) -> None:
    with pytest.raises(InputError, match="no such file"):
        read_frame(tmp_path / "missing.dump")
    bad = tmp_path / "bad.dump"
    bad.write_bytes(b"DMP0\x03\x02" + struct.pack("<IIHH", 4, 4, 17, 0))
    with pytest.raises(FormatError, match=r"bad\.dump: plane 0: unsupported bit depth 17"):
        read_frame(bad)
    with pytest.raises(InputError, match="is a folder"):
        read_frame(tmp_path)
    frame = read_frame_or_make(tmp_path)
    with pytest.raises(OutputError):
        write_frame(tmp_path / "no" / "x.dump", frame)


def read_frame_or_make(tmp_path) -> Frame:
    return Frame(tuple(_planes(4, 4, 1, 1, 8)), PlaneLayout(Family.YCBCR, 1, 1), ColorInfo())


def test_video_dumper_odd_size_floored_chroma_is_padded(tmp_path) -> None:
    # video_dumper writes floor(W/2) x floor(H/2) chroma for odd sizes (catalogue §1.6)
    rng = np.random.default_rng(4)
    y = rng.integers(0, 256, (7, 9)).astype(np.uint8)
    cb = rng.integers(0, 256, (3, 4)).astype(np.uint8)
    cr = rng.integers(0, 256, (3, 4)).astype(np.uint8)
    path = tmp_path / "output00000.dump"
    dumpfmt.write(path, [y, cb, cr], depth=8, legacy=True)
    f = read_frame(path)
    f.validate()
    assert f.layout.name == "yuv420" and f.planes[1].shape == (4, 5)
    np.testing.assert_array_equal(f.planes[1][:3, :4], cb)
    np.testing.assert_array_equal(f.planes[1][3, :4], cb[2])  # last row repeated
    np.testing.assert_array_equal(f.planes[2][:3, 4], cr[:, 3])  # last column repeated
    assert f.extra["chroma_padded"] is True

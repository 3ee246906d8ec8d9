"""The untagged-colour rules (DESIGN §4, H.273, JFIF T.871, ISO/IEC 11172-2), all in one module."""

from __future__ import annotations

from overmix.color.spec import ChromaLocation, Matrix, Primaries, Range, Transfer
from overmix.color.untagged import (
    dump_color,
    image_color,
    jfif_color,
    matrix_color,
    resolve_matrix,
    video_color,
)

NONE = {"colorspace": 2, "color_range": 0, "color_trc": 2, "color_primaries": 2,
        "chroma_location": None}


def test_untagged_sd_is_601_and_hd_is_709_limited_left() -> None:
    sd, guessed = video_color(NONE, "ycbcr", 8, 720, 480, "h264")
    assert (sd.matrix, sd.range, sd.chroma_location) == (Matrix.BT470BG, Range.LIMITED,
                                                         ChromaLocation.LEFT)
    assert (sd.transfer, sd.primaries) == (Transfer.SMPTE170M, Primaries.SMPTE170M)
    assert all(guessed.values())
    hd, _ = video_color(NONE, "ycbcr", 10, 1920, 1080, "hevc")
    assert (hd.matrix, hd.transfer, hd.primaries, hd.bit_depth) == (
        Matrix.BT709, Transfer.BT709, Primaries.BT709, 10)
    assert resolve_matrix(Matrix.UNSPECIFIED, 1024, 576) == Matrix.BT470BG
    assert resolve_matrix(Matrix.UNSPECIFIED, 1025, 576) == Matrix.BT709
    assert resolve_matrix(Matrix.BT2020_NCL, 720, 480) == Matrix.BT2020_NCL


def test_jpeg_and_mpeg1_site_chroma_in_the_centre() -> None:
    mj, guessed = video_color(NONE, "ycbcr", 8, 640, 480, "mjpeg")
    assert (mj.range, mj.chroma_location) == (Range.FULL, ChromaLocation.CENTER)
    assert guessed["range"] and guessed["chroma_location"]
    m1, _ = video_color(NONE, "ycbcr", 8, 352, 240, "mpeg1video")
    assert (m1.range, m1.chroma_location) == (Range.LIMITED, ChromaLocation.CENTER)
    m2, _ = video_color(NONE, "ycbcr", 8, 720, 576, "mpeg2video")
    assert m2.chroma_location == ChromaLocation.LEFT


def test_tags_win_and_bring_their_transfer_and_primaries() -> None:
    # FFmpeg color_range 2 = JPEG (full); colorspace 1 = BT.709 on an SD frame
    tags = {**NONE, "colorspace": 1, "color_range": 2}
    c, guessed = video_color(tags, "ycbcr", 8, 720, 480, "h264")
    assert (c.matrix, c.range, c.transfer, c.primaries) == (
        Matrix.BT709, Range.FULL, Transfer.BT709, Primaries.BT709)
    assert not guessed["matrix"] and not guessed["range"] and guessed["transfer"]
    # a yuvj pixel format is full range by definition, not by guess
    j, guessed = video_color(NONE, "ycbcr", 8, 640, 480, "h264", full_range_format=True)
    assert j.range == Range.FULL and not guessed["range"]
    rgb, guessed = video_color(NONE, "rgb", 8, 640, 480, "ffv1")
    assert (rgb.matrix, rgb.range) == (Matrix.RGB, Range.FULL) and not guessed["matrix"]


def test_dump_headers_and_images() -> None:
    jpeg, how = dump_color(4, 3, 1920, 1080, 8, 3)  # transform 4 = JPEG: full-range 601
    assert (jpeg.matrix, jpeg.range, jpeg.chroma_location, how) == (
        Matrix.BT470BG, Range.FULL, ChromaLocation.CENTER, "header")
    bare, how = dump_color(None, None, 720, 576, 10, 3)  # no DMP0: untagged rules by size
    assert (bare.matrix, bare.range, bare.bit_depth, how) == (Matrix.BT470BG, Range.LIMITED,
                                                              10, "guess")
    gray, how = dump_color(3, 0, 64, 64, 12, 1)  # one plane is gray whatever the header says
    assert (gray.matrix, gray.range, gray.transfer, how) == (
        Matrix.GRAY, Range.FULL, Transfer.LINEAR, "guess")
    png = image_color(False, 16)
    assert (png.matrix, png.range, png.transfer, png.bit_depth) == (
        Matrix.RGB, Range.FULL, Transfer.IEC61966_2_1, 16)
    jf = jfif_color(3)
    assert (jf.matrix, jf.range, jf.chroma_location, jf.transfer) == (
        Matrix.BT470BG, Range.FULL, ChromaLocation.CENTER, Transfer.IEC61966_2_1)
    assert jfif_color(1).matrix == Matrix.GRAY
    m = matrix_color(Matrix.SMPTE170M)
    assert (m.range, m.transfer) == (Range.LIMITED, Transfer.SMPTE170M)
    assert matrix_color(Matrix.BT709, Range.FULL).range == Range.FULL

import pytest

from overmix.color.spec import (
    ChromaLocation,
    ColorInfo,
    Matrix,
    Range,
    luma_coefficients,
)
from overmix.color.untagged import guess_matrix
from overmix.errors import UnsupportedError
from overmix.frame import Family, PlaneLayout


def test_h273_code_points():
    # ITU-T H.273 table 4 numbers, as FFmpeg reports them.
    assert (Matrix.BT709, Matrix.BT470BG, Matrix.SMPTE170M, Matrix.BT2020_NCL) == (1, 5, 6, 9)
    assert (ChromaLocation.LEFT, ChromaLocation.CENTER, ChromaLocation.TOPLEFT) == (0, 1, 2)
    assert ChromaLocation.from_ffmpeg(1) == ChromaLocation.LEFT
    assert ChromaLocation.from_ffmpeg(0) is None
    assert Range.from_ffmpeg(2) == Range.FULL and Range.from_ffmpeg(0) is None


@pytest.mark.parametrize(
    ("w", "h", "matrix"),
    [(720, 480, Matrix.BT470BG), (1024, 576, Matrix.BT470BG), (1280, 720, Matrix.BT709),
     (1025, 576, Matrix.BT709), (1024, 577, Matrix.BT709)],
)
def test_untagged_guess(w, h, matrix):
    assert guess_matrix(w, h) == matrix
    assert ColorInfo.untagged(w, h).matrix == matrix
    assert ColorInfo.untagged(w, h).range == Range.LIMITED


def test_kr_kb_and_unknown():
    assert luma_coefficients(Matrix.BT2020_NCL) == (0.2627, 0.0593)
    assert luma_coefficients(Matrix.BT470BG) == luma_coefficients(Matrix.SMPTE170M)
    with pytest.raises(UnsupportedError):
        luma_coefficients(Matrix.YCGCO)


def test_chroma_offsets_match_design():
    # DESIGN §4: 4:2:0 left (2j, 2i+0.5), center (2j+0.5, 2i+0.5), topleft (2j, 2i)
    assert ChromaLocation.LEFT.offset(2, 2) == (0.0, 0.5)
    assert ChromaLocation.CENTER.offset(2, 2) == (0.5, 0.5)
    assert ChromaLocation.TOPLEFT.offset(2, 2) == (0.0, 0.0)
    assert ChromaLocation.LEFT.offset(2, 1) == (0.0, 0.0)


def test_colorinfo_json_round_trip():
    c = ColorInfo(Matrix.BT2020_NCL, Range.FULL, bit_depth=10)
    assert ColorInfo.from_json(c.to_json()) == c


def test_layout_from_shapes():
    lay = PlaneLayout.from_shapes([(481, 853), (241, 427), (241, 427)], Family.YCBCR)
    assert (lay.sub_x, lay.sub_y, lay.name) == (2, 2, "yuv420")
    assert PlaneLayout.from_shapes([(4, 8), (4, 4), (4, 4)], Family.YCBCR).name == "yuv422"
    with pytest.raises(UnsupportedError):
        PlaneLayout.from_shapes([(4, 8), (3, 3), (4, 4)], Family.YCBCR)

"""Colour metadata: ITU-T H.273 code points, luma coefficients and :class:`ColorInfo`.

What to assume when a source does not say (the untagged rules) is :mod:`overmix.color.untagged`.

The enums carry the numbers of ITU-T H.273 (*Coding-independent code points for video signal
type identification*), which are also the numbers FFmpeg and PyAV report for
``colorspace``, ``color_trc`` and ``color_primaries``. Two FFmpeg fields differ from H.273 and
are converted with :meth:`Range.from_ffmpeg` and :meth:`ChromaLocation.from_ffmpeg`.

References
----------
- ITU-T H.273 (07/2021), tables 2-4 and the ``chroma_sample_loc_type`` semantics of H.264/H.265.
- ITU-R BT.601-7, BT.709-6, BT.2020-2; SMPTE ST 240:1999; FCC 47 CFR 73.682 (1953 NTSC).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import IntEnum

from overmix.errors import UnsupportedError

__all__ = [
    "ChromaLocation",
    "ColorInfo",
    "Matrix",
    "Primaries",
    "Range",
    "Transfer",
    "luma_coefficients",
]


class Matrix(IntEnum):
    """``matrix_coefficients`` of H.273 table 4."""

    RGB = 0  # GBR / identity
    BT709 = 1
    UNSPECIFIED = 2
    FCC = 4
    BT470BG = 5  # BT.601 625-line; same matrix as SMPTE170M
    SMPTE170M = 6  # BT.601 525-line
    SMPTE240M = 7
    YCGCO = 8
    BT2020_NCL = 9
    BT2020_CL = 10
    SMPTE2085 = 11
    CHROMA_NCL = 12
    CHROMA_CL = 13
    ICTCP = 14
    # Not an H.273 code: a single luma plane (gray). Kept out of the H.273 number space.
    GRAY = 256

    @classmethod
    def parse(cls, text: str) -> Matrix:
        """Matrix from a user string: ``601``, ``709``, ``2020``, ``240m``, ``fcc``, ``rgb``, ..."""
        key = text.strip().lower().replace("-", "").replace("_", "").replace(".", "")
        aliases = {
            "601": cls.BT470BG, "bt601": cls.BT470BG, "470bg": cls.BT470BG, "bt470bg": cls.BT470BG,
            "170m": cls.SMPTE170M, "smpte170m": cls.SMPTE170M,
            "709": cls.BT709, "bt709": cls.BT709,
            "2020": cls.BT2020_NCL, "bt2020": cls.BT2020_NCL, "bt2020ncl": cls.BT2020_NCL,
            "2020ncl": cls.BT2020_NCL,
            "240m": cls.SMPTE240M, "smpte240m": cls.SMPTE240M,
            "fcc": cls.FCC, "rgb": cls.RGB, "gbr": cls.RGB, "gray": cls.GRAY, "grey": cls.GRAY,
        }
        if key in aliases:
            return aliases[key]
        raise UnsupportedError(
            f"unknown matrix {text!r} (use 601, 709, 2020, 240m, fcc, rgb or gray)"
        )


class Transfer(IntEnum):
    """``transfer_characteristics`` of H.273 table 3."""

    BT709 = 1
    UNSPECIFIED = 2
    GAMMA22 = 4  # BT.470 System M
    GAMMA28 = 5  # BT.470 System B/G
    SMPTE170M = 6
    SMPTE240M = 7
    LINEAR = 8
    LOG = 9
    LOG_SQRT = 10
    IEC61966_2_4 = 11
    BT1361_ECG = 12
    IEC61966_2_1 = 13  # sRGB
    BT2020_10 = 14
    BT2020_12 = 15
    SMPTE2084 = 16  # PQ
    SMPTE428 = 17
    ARIB_STD_B67 = 18  # HLG


class Primaries(IntEnum):
    """``colour_primaries`` of H.273 table 2."""

    BT709 = 1
    UNSPECIFIED = 2
    BT470M = 4
    BT470BG = 5
    SMPTE170M = 6
    SMPTE240M = 7
    FILM = 8
    BT2020 = 9
    SMPTE428 = 10
    SMPTE431 = 11
    SMPTE432 = 12
    EBU3213 = 22


class Range(IntEnum):
    """Quantisation range, numbered as H.273's ``video_full_range_flag``.

    FFmpeg numbers them differently (``AVCOL_RANGE_MPEG = 1``, ``AVCOL_RANGE_JPEG = 2``,
    0 = unspecified); use :meth:`from_ffmpeg`.
    """

    LIMITED = 0  # "studio swing": Y' 16-235, C 16-240 at 8 bit
    FULL = 1

    @classmethod
    def from_ffmpeg(cls, value: int) -> Range | None:
        """H.273 range from FFmpeg's ``AVColorRange``; ``None`` when unspecified."""
        return {1: cls.LIMITED, 2: cls.FULL}.get(int(value))

    @classmethod
    def parse(cls, text: str) -> Range:
        key = text.strip().lower()
        if key in ("limited", "tv", "mpeg", "studio"):
            return cls.LIMITED
        if key in ("full", "pc", "jpeg"):
            return cls.FULL
        raise UnsupportedError(f"unknown range {text!r} (use limited or full)")


class ChromaLocation(IntEnum):
    """``chroma_sample_loc_type`` of H.264/H.265 (H.273 figure 1); FFmpeg adds 1 to these."""

    LEFT = 0  # MPEG-2, H.264 default for 4:2:0
    CENTER = 1  # JPEG, MPEG-1
    TOPLEFT = 2  # BT.2020 / UHD
    TOP = 3
    BOTTOMLEFT = 4
    BOTTOM = 5

    @classmethod
    def from_ffmpeg(cls, value: int) -> ChromaLocation | None:
        """H.273 location from FFmpeg's ``AVChromaLocation``; ``None`` when unspecified."""
        value = int(value)
        return cls(value - 1) if 1 <= value <= 6 else None

    @classmethod
    def parse(cls, text: str) -> ChromaLocation:
        try:
            return cls[text.strip().upper().replace("-", "")]
        except KeyError:
            raise UnsupportedError(
                f"unknown chroma location {text!r} (use left, center, topleft, top, "
                "bottomleft or bottom)"
            ) from None

    def offset(self, sub_x: int, sub_y: int) -> tuple[float, float]:
        """Position of chroma sample (0, 0) in luma pixels, ``(x, y)``.

        Luma sample (i, j) has its centre at (x = j, y = i). For 4:2:0 *left* the chroma
        sample (i, j) sits at (2j, 2i + 0.5); *center* at (2j + 0.5, 2i + 0.5); *topleft* at
        (2j, 2i). Without subsampling along an axis the offset along it is 0.
        """
        hx = {ChromaLocation.LEFT: 0.0, ChromaLocation.TOPLEFT: 0.0, ChromaLocation.BOTTOMLEFT: 0.0}
        vy = {ChromaLocation.TOPLEFT: 0.0, ChromaLocation.TOP: 0.0,
              ChromaLocation.BOTTOMLEFT: 1.0, ChromaLocation.BOTTOM: 1.0}
        fx = hx.get(self, 0.5)  # fraction of the subsampling cell: 0 = co-sited, 0.5 = centre
        fy = vy.get(self, 0.5)
        return (fx * (sub_x - 1), fy * (sub_y - 1))


# Kr, Kb per matrix. ITU-R BT.601-7 §2.5.1, BT.709-6 item 3.2, BT.2020-2 table 4,
# SMPTE ST 240 §5, FCC 47 CFR 73.682(a)(20)(iv).
_KR_KB: dict[Matrix, tuple[float, float]] = {
    Matrix.BT470BG: (0.299, 0.114),
    Matrix.SMPTE170M: (0.299, 0.114),
    Matrix.BT709: (0.2126, 0.0722),
    Matrix.BT2020_NCL: (0.2627, 0.0593),
    Matrix.SMPTE240M: (0.212, 0.087),
    Matrix.FCC: (0.30, 0.11),
}


def luma_coefficients(matrix: Matrix) -> tuple[float, float]:
    """``(Kr, Kb)`` of a Y'CbCr matrix; ``Kg = 1 - Kr - Kb``.

    Raises :class:`~overmix.errors.UnsupportedError` for matrices without a Kr/Kb form
    (RGB, gray, YCgCo, constant-luminance BT.2020, ICtCp).

    >>> luma_coefficients(Matrix.BT709)
    (0.2126, 0.0722)
    """
    try:
        return _KR_KB[matrix]
    except KeyError:
        raise UnsupportedError(f"matrix {matrix.name} has no Kr/Kb Y'CbCr form") from None


@dataclass(frozen=True)
class ColorInfo:
    """What the codes of a frame mean.

    Attributes
    ----------
    matrix : Matrix
        Y'CbCr matrix, or ``Matrix.RGB`` / ``Matrix.GRAY``. Never ``UNSPECIFIED`` once resolved.
    range : Range
        Limited (studio) or full quantisation.
    transfer : Transfer
        Transfer characteristics the R'G'B' values are encoded with.
    primaries : Primaries
        Colour primaries (recorded and passed on; not converted).
    chroma_location : ChromaLocation
        Siting of subsampled chroma.
    bit_depth : int
        Bits per sample of the codes, 1-16.
    """

    matrix: Matrix = Matrix.BT709
    range: Range = Range.LIMITED
    transfer: Transfer = Transfer.BT709
    primaries: Primaries = Primaries.BT709
    chroma_location: ChromaLocation = ChromaLocation.LEFT
    bit_depth: int = 8

    def __post_init__(self) -> None:
        if not 1 <= int(self.bit_depth) <= 16:
            raise UnsupportedError(f"bit depth {self.bit_depth} is outside 1-16")

    def with_(self, **changes: object) -> ColorInfo:
        """A copy with some fields changed."""
        return replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def untagged(cls, width: int, height: int, bit_depth: int = 8) -> ColorInfo:
        """The assumptions for an untagged Y'CbCr source (DESIGN §4); the rules live in
        :func:`overmix.color.untagged.untagged_color`."""
        from overmix.color.untagged import untagged_color  # the module builds on this one

        return untagged_color(width, height, bit_depth)

    def to_json(self) -> dict[str, object]:
        """Plain JSON form (enum names, lower case) for manifests and ``--json``."""
        return {
            "matrix": self.matrix.name.lower(),
            "range": self.range.name.lower(),
            "transfer": self.transfer.name.lower(),
            "primaries": self.primaries.name.lower(),
            "chroma_location": self.chroma_location.name.lower(),
            "bit_depth": int(self.bit_depth),
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> ColorInfo:
        """Inverse of :meth:`to_json`; missing keys take the defaults."""
        d = cls()
        try:
            return cls(
                Matrix[str(data.get("matrix", d.matrix.name)).upper()],
                Range[str(data.get("range", d.range.name)).upper()],
                Transfer[str(data.get("transfer", d.transfer.name)).upper()],
                Primaries[str(data.get("primaries", d.primaries.name)).upper()],
                ChromaLocation[str(data.get("chroma_location", d.chroma_location.name)).upper()],
                int(data.get("bit_depth", d.bit_depth)),  # type: ignore[arg-type]
            )
        except KeyError as exc:
            raise UnsupportedError(f"unknown colour value {exc.args[0]!r} in manifest") from None

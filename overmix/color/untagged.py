"""Every colour guess in one place: what to assume when a source does not say.

The decoder, the dump reader, the PNG reader and the JPEG path ask this module; nothing else
guesses a matrix, range, transfer, primaries or chroma siting. The rules (DESIGN §4):

- **Matrix** of untagged Y'CbCr by luma size, as players do: BT.601 (``Matrix.BT470BG``) when
  width ≤ 1024 and height ≤ 576, else BT.709. BT470BG and SMPTE170M are the same BT.601
  matrix (ITU-R BT.601-7 Kr = 0.299, Kb = 0.114).
- **Range**: limited (studio swing) for video; full for the ``yuvj*`` pixel formats, R'G'B'
  and MJPEG (JFIF, ITU-T T.871), for gray and R'G'B' dumps (Overmix's convention) and for
  images.
- **Transfer and primaries**: those that go with the matrix (BT.709 / BT.2020 tags bring the
  BT.709 curve; BT.601 at SD brings SMPTE 170M), else the size guess's.
- **Chroma location**: left (the MPEG-2 / H.264 / H.265 default); centre for JPEG, MJPEG and
  MPEG-1 (ISO/IEC 11172-2 and JFIF site chroma between the luma samples).
- **Images**: PNG without colour chunks is sRGB (IEC 61966-2-1), full range; JPEG is JFIF
  (T.871: BT.601 matrix, full range, centred chroma, sRGB-like transfer).
"""

from __future__ import annotations

from typing import Any

from overmix.color.spec import (
    ChromaLocation,
    ColorInfo,
    Matrix,
    Primaries,
    Range,
    Transfer,
)
from overmix.errors import UnsupportedError

__all__ = [
    "BT601_MATRICES",
    "REC709_CURVES",
    "chroma_location_for",
    "dump_color",
    "guess_matrix",
    "image_color",
    "jfif_color",
    "matrix_color",
    "resolve_matrix",
    "untagged_color",
    "video_color",
]

BT601_MATRICES = (Matrix.BT470BG, Matrix.SMPTE170M)
# Transfer curves that are the BT.709 OETF (BT.601/2020 use the same formula).
REC709_CURVES = (Transfer.BT709, Transfer.SMPTE170M, Transfer.BT2020_10, Transfer.BT2020_12)
# Codecs whose chroma is centre-sited (JFIF; ISO/IEC 11172-2 MPEG-1).
_CENTRE_SITED = ("mjpeg", "mpeg1video")
# H.273 code points that say nothing: 0 (reserved / RGB for colorspace is handled by the
# pixel format), 2 unspecified, 3 reserved.
_UNSPECIFIED = {0, 2, 3}


def guess_matrix(width: int, height: int) -> Matrix:
    """The matrix to assume for an untagged Y'CbCr source of this luma size.

    SD (width ≤ 1024 and height ≤ 576) is BT.601, anything larger BT.709, as players do.
    """
    return Matrix.BT470BG if width <= 1024 and height <= 576 else Matrix.BT709


def resolve_matrix(matrix: Matrix, width: int, height: int) -> Matrix:
    """``UNSPECIFIED`` → the untagged guess for this size (DESIGN §4); others unchanged."""
    matrix = Matrix(matrix)
    return guess_matrix(width, height) if matrix == Matrix.UNSPECIFIED else matrix


def untagged_color(width: int, height: int, bit_depth: int = 8) -> ColorInfo:
    """The assumptions for an untagged Y'CbCr source (DESIGN §4).

    Matrix BT.601 for SD and BT.709 above; limited range; left chroma; the transfer and
    primaries that go with the matrix.
    """
    if guess_matrix(width, height) == Matrix.BT709:
        return ColorInfo(Matrix.BT709, Range.LIMITED, Transfer.BT709, Primaries.BT709,
                         ChromaLocation.LEFT, bit_depth)
    return ColorInfo(Matrix.BT470BG, Range.LIMITED, Transfer.SMPTE170M, Primaries.SMPTE170M,
                     ChromaLocation.LEFT, bit_depth)


def matrix_color(matrix: Matrix, range: Range | None = None) -> ColorInfo:  # noqa: A002
    """A colour given only by its matrix (``compress --matrix``): limited range unless given,
    the matrix's own transfer (BT.601 → SMPTE 170M, else BT.709), BT.709 primaries, left chroma."""
    transfer = Transfer.SMPTE170M if matrix in BT601_MATRICES else Transfer.BT709
    return ColorInfo(matrix=matrix, range=Range.LIMITED if range is None else range,
                     transfer=transfer)


def chroma_location_for(codec: str) -> ChromaLocation:
    """Siting of untagged chroma: centre for MJPEG / MPEG-1, else left (MPEG-2/H.264/H.265)."""
    return ChromaLocation.CENTER if codec in _CENTRE_SITED else ChromaLocation.LEFT


def _enum_or_none(enum: type, value: Any) -> Any:
    try:
        v = int(value)
    except (TypeError, ValueError):
        return None
    if v in _UNSPECIFIED:
        return None
    try:
        return enum(v)
    except ValueError:
        return None


def video_color(tags: dict[str, int | None], family: str, bit_depth: int, width: int,
                height: int, codec: str = "", full_range_format: bool = False
                ) -> tuple[ColorInfo, dict[str, bool]]:
    """The colour of a video stream from its FFmpeg tags, guessing what they leave out.

    Parameters
    ----------
    tags : FFmpeg codes ``colorspace``, ``color_range``, ``color_trc``, ``color_primaries``,
        ``chroma_location`` (``None`` or 0/2 = unspecified).
    family : ``"ycbcr"``, ``"rgb"`` or ``"gray"`` (the pixel format's planes).
    full_range_format : the pixel format itself means full range (``yuvj*``).

    Returns the ColorInfo and, per field, whether it was guessed (True) or tagged.
    """
    guess = untagged_color(width, height, bit_depth)
    guessed: dict[str, bool] = {}
    if family == "rgb":
        matrix, guessed["matrix"] = Matrix.RGB, False
    elif family == "gray":
        matrix, guessed["matrix"] = Matrix.GRAY, False
    else:
        m = _enum_or_none(Matrix, tags.get("colorspace"))
        guessed["matrix"] = m is None
        matrix = m if m is not None else guess.matrix
    r = Range.from_ffmpeg(tags.get("color_range") or 0)
    guessed["range"] = r is None and not full_range_format
    if r is None:
        full = full_range_format or family == "rgb" or codec == "mjpeg"
        r = Range.FULL if full else Range.LIMITED
    t = _enum_or_none(Transfer, tags.get("color_trc"))
    guessed["transfer"] = t is None
    if t is None:
        t = Transfer.BT709 if matrix in (Matrix.BT709, Matrix.BT2020_NCL) else guess.transfer
    p = _enum_or_none(Primaries, tags.get("color_primaries"))
    guessed["primaries"] = p is None
    if p is None:
        p = guess.primaries if guessed["matrix"] else {
            Matrix.BT709: Primaries.BT709, Matrix.BT2020_NCL: Primaries.BT2020,
            Matrix.BT470BG: Primaries.BT470BG}.get(matrix, guess.primaries)
    loc = ChromaLocation.from_ffmpeg(tags.get("chroma_location") or 0)
    guessed["chroma_location"] = loc is None
    if loc is None:
        loc = chroma_location_for(codec)
    return ColorInfo(matrix, r, t, p, loc, bit_depth), guessed


def _dump_transfer(byte: int | None, default: Transfer, matrix: Matrix) -> Transfer:
    """The dump header's transfer byte: 0 linear, 1 sRGB, 2 the Rec.709 curve, else ``default``."""
    if byte == 0:
        return Transfer.LINEAR
    if byte == 1:
        return Transfer.IEC61966_2_1
    if byte == 2:
        return Transfer.SMPTE170M if matrix in BT601_MATRICES else Transfer.BT709
    return default


def dump_color(transform: int | None, transfer: int | None, width: int, height: int,
               depth: int, ncolour: int) -> tuple[ColorInfo, str]:
    """The colour a dump header implies (see :mod:`overmix.io.dumps`), and where it came from.

    Parameters
    ----------
    transform : the header's transform byte, or ``None`` for a file without ``DMP0``.
    transfer : the header's transfer byte (or ``None``).
    width, height : luma (plane 0) size, for the SD/HD guess.
    depth : bits per sample of the colour planes.
    ncolour : colour planes (1 or 3; alpha not counted).

    Returns the colour and ``"header"`` or ``"guess"``.
    """
    if ncolour == 1:
        # One plane is gray whatever the header says (Overmix does the same).
        how = "header" if transform == 0 else "guess"
        return ColorInfo(Matrix.GRAY, Range.FULL, _dump_transfer(transfer, Transfer.BT709,
                                                                 Matrix.GRAY),
                         Primaries.BT709, ChromaLocation.LEFT, depth), how
    if transform == 1:
        tr = _dump_transfer(transfer, Transfer.IEC61966_2_1, Matrix.RGB)
        return ColorInfo(Matrix.RGB, Range.FULL, tr, Primaries.BT709, ChromaLocation.LEFT,
                         depth), "header"
    if transform == 5:
        raise UnsupportedError("Bayer (camera raw) dumps are not supported")
    if transform in (2, 4):
        # 4 is JPEG: full range and JFIF's centred chroma; 2 is studio-swing BT.601.
        rng, loc = (Range.LIMITED, ChromaLocation.LEFT) if transform == 2 else (
            Range.FULL, ChromaLocation.CENTER)
        tr = _dump_transfer(transfer, Transfer.SMPTE170M, Matrix.BT470BG)
        return ColorInfo(Matrix.BT470BG, rng, tr, Primaries.SMPTE170M, loc, depth), "header"
    if transform == 3:
        tr = _dump_transfer(transfer, Transfer.BT709, Matrix.BT709)
        return ColorInfo(Matrix.BT709, Range.LIMITED, tr, Primaries.BT709,
                         ChromaLocation.LEFT, depth), "header"
    # No header, transform 0 with three planes, 6 (unknown) or an invalid byte: DESIGN §4.
    guess = untagged_color(width, height, depth)
    return guess.with_(transfer=_dump_transfer(transfer, guess.transfer, guess.matrix)), "guess"


def image_color(gray: bool, bit_depth: int) -> ColorInfo:
    """An R'G'B' or gray image (PNG) without colour chunks: sRGB, full range, BT.709 primaries."""
    return ColorInfo(Matrix.GRAY if gray else Matrix.RGB, Range.FULL, Transfer.IEC61966_2_1,
                     Primaries.BT709, ChromaLocation.LEFT, bit_depth)


def jfif_color(ncolour: int) -> ColorInfo:
    """A baseline JPEG (JFIF, ITU-T T.871): BT.601 matrix, full range, centred chroma, sRGB."""
    return ColorInfo(Matrix.BT470BG if ncolour == 3 else Matrix.GRAY, Range.FULL,
                     Transfer.IEC61966_2_1, Primaries.BT709, ChromaLocation.CENTER, 8)

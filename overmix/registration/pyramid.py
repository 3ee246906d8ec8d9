"""Prepared luma planes: the box pyramid, its uint16 storage and the validity masks.

A :class:`PreparedPlane` is built once per frame (:func:`prepare`) and reused by every pair
it takes part in (:mod:`overmix.registration.coarse`, :mod:`overmix.registration.fine`).
Level l is a 2^l box downscale; the coarsest level has at most ``_COARSE_MAX`` px on its
longest side. Levels are stored as uint16 codes ``(y + _ENC_OFF) * _ENC_GAIN`` (half the
memory of float32).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from overmix.errors import AlignmentError, UsageError
from overmix.morph import bounding_box, dilate

__all__ = [
    "CODE_GAIN", "MaskPyramid", "PreparedPlane", "down2", "level_codes", "level_luma",
    "mask_pyramid", "prepare", "set_masks",
]

# Lanczos kernel half-width (taps per axis = 2 * _R).
_R = 6
# Coarsest level for phase correlation: longest side at most this many pixels.
_COARSE_MAX = 360

# Storage of pyramid levels: uint16 codes of (y + _ENC_OFF) * _ENC_GAIN.
_ENC_OFF = 0.5
_ENC_GAIN = 32767.5
# Pyramid codes per luma unit (for code-level analyses such as overmix.registration.masks).
CODE_GAIN = _ENC_GAIN
# ... and the code of luma 0
CODE_ZERO = _ENC_OFF * _ENC_GAIN


@dataclass
class _Level:
    img: np.ndarray  # uint16 (h, w), see _encode
    valid: np.ndarray | None  # bool (h, w): True where the pixel may be used, None = all
    kvalid: np.ndarray | None  # valid and the resampling kernel stays inside valid pixels


@dataclass
class PreparedPlane:
    """A luma plane with its pyramid and masks, reusable across many pairs.

    ``levels[0]`` is full resolution; level l is a 2^l box downscale (pixel (i, j) of level l
    averages full-resolution pixels [2^l i, 2^l (i+1)) x [2^l j, 2^l (j+1)), so a shift
    scales by exactly 2^-l).
    """

    levels: list[_Level]
    shape: tuple[int, int]
    # rfft2 of the windowed levels the coarse search correlated (cached, by level)
    specs: dict[int, np.ndarray] = field(default_factory=dict)
    energy: np.ndarray | None = None  # integral image of gradient energy (cached)
    # masks.range3 of the coarsest level's codes, when made ahead (registration.ahead)
    range3: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def nbytes(self) -> int:
        """Bytes held by this plane alone (shared masks not counted)."""
        n = sum(lv.img.nbytes for lv in self.levels)
        return n + sum(s.nbytes for s in self.specs.values())


def down2(a: np.ndarray) -> np.ndarray:
    """2x box reduction of a float plane (odd last row/column dropped); of each plane of a
    stack (..., h, w) alike."""
    h, w = a.shape[-2] // 2 * 2, a.shape[-1] // 2 * 2
    rows = a[..., 0:h:2, :w] + a[..., 1:h:2, :w]  # pairs of whole rows first: half the reads
    out = rows[..., 0::2] + rows[..., 1::2]
    out *= np.float32(0.25)
    return out


def _down2_valid(v: np.ndarray) -> np.ndarray:
    h, w = v.shape[0] // 2 * 2, v.shape[1] // 2 * 2
    v = v[:h, :w]
    return v[0::2, 0::2] & v[1::2, 0::2] & v[0::2, 1::2] & v[1::2, 1::2]


def _erode(valid: np.ndarray, r: int) -> np.ndarray:
    """Binary erosion by a (2r+1)^2 square, outside counting as valid. Invalid pixels within
    a quarter of the frame (a subtitle, a character): those grown by r px in chessboard
    distance (:func:`overmix.morph.dilate` on their box), inverted; spread over the frame
    (codec specks), two 1-D minimum passes (the square is separable). The same masks."""
    inv = ~valid
    box = bounding_box(inv, r)
    if box is None or inv[box].size * 4 <= inv.size:
        return ~dilate(inv, r, square=True)
    from scipy import ndimage  # masks only: scipy's import costs ~0.3 s of start-up

    v = ndimage.minimum_filter1d(valid.view(np.uint8), 2 * r + 1, axis=0, mode="constant",
                                 cval=1)
    return ndimage.minimum_filter1d(v, 2 * r + 1, axis=1, mode="constant", cval=1).view(bool)


def _encode(a: np.ndarray, overwrite: bool = False) -> np.ndarray:
    """float32 luma -> uint16 codes ``(y + _ENC_OFF) * _ENC_GAIN`` (half the memory of float32,
    steps of 3e-5, far below any video's quantisation). ``overwrite``: ``a`` is the caller's
    to spend (no temporary)."""
    # in place from here: one temporary at most, not three
    v = np.add(a, np.float32(_ENC_OFF), out=a if overwrite else None)
    v *= np.float32(_ENC_GAIN)
    # clipped before the + 0.5 (the same codes as clipping v + 0.5 to [0, 65535.49]), which
    # then writes the codes itself: v + 0.5 >= 0, so truncating it rounds to nearest
    np.clip(v, -0.5, 65534.99, out=v)
    out = np.empty(v.shape, np.uint16)
    np.add(v, np.float32(0.5), out=out, casting="unsafe")
    return out


MaskPyramid = list[tuple[np.ndarray, np.ndarray]]


def mask_pyramid(shape: tuple[int, int], ignore: np.ndarray | None = None,
                 border: int = 0) -> MaskPyramid | None:
    """Validity masks per pyramid level (``valid``, ``kvalid``) for frames of ``shape``;
    None when nothing is ignored. Compute it once and pass it to :func:`prepare` when every
    frame has the same mask."""
    h, w = shape
    valid: np.ndarray | None = None
    if ignore is not None:
        ign = np.asarray(ignore)
        if ign.shape != (h, w):
            raise AlignmentError(f"mask is {ign.shape[1]}x{ign.shape[0]} but frames are {w}x{h}")
        valid = ~(ign > 0.5) if ign.dtype != bool else ~ign
    if border > 0:
        if 2 * border >= min(h, w):
            raise UsageError(f"border {border} leaves nothing of a {w}x{h} frame")
        valid = np.ones((h, w), bool) if valid is None else valid.copy()
        valid[:border] = False
        valid[-border:] = False
        valid[:, :border] = False
        valid[:, -border:] = False
    if valid is None or valid.all():
        return None
    out = [(valid, _erode(valid, _R))]
    for _ in range(1, _n_levels(shape)):
        v = _down2_valid(out[-1][0])
        out.append((v, _erode(v, _R)))
    return out


def level_luma(p: PreparedPlane, lvl: int) -> np.ndarray:
    """Level ``lvl`` of a prepared plane back as float32 luma (Y', steps of 3e-5)."""
    return p.levels[lvl].img.astype(np.float32) * np.float32(1.0 / _ENC_GAIN) - np.float32(
        _ENC_OFF)


def set_masks(p: PreparedPlane, masks: MaskPyramid | None) -> None:
    """Replace the validity masks of a prepared plane (a :func:`mask_pyramid` of its shape);
    the cached spectrum and gradient energy, which depend on them, are dropped."""
    for lvl, lv in enumerate(p.levels):
        lv.valid, lv.kvalid = masks[lvl] if masks is not None else (None, None)
    p.specs = {}
    p.energy = None


def _n_levels(shape: tuple[int, int], min_size: int = 24) -> int:
    h, w = shape
    n = 1
    while max(h, w) > _COARSE_MAX and min(h, w) // 2 >= min_size:
        h, w = h // 2, w // 2
        n += 1
    return n


def level_codes(img: np.ndarray, overwrite: bool = False) -> list[np.ndarray]:
    """The pyramid levels' uint16 codes of a float32 plane (h, w), or of each plane of a
    stack (m, h, w) at once (one numpy call per step for all of them: the same values).
    ``overwrite``: ``img`` is the caller's to spend (the reduced levels always are)."""
    n = _n_levels((int(img.shape[-2]), int(img.shape[-1])))
    out = []
    cur = img
    for lvl in range(n):
        nxt = down2(cur) if lvl + 1 < n else None  # before cur is spent
        out.append(_encode(cur, overwrite or lvl > 0))
        cur = nxt
    return out


def prepare(luma: np.ndarray, ignore: np.ndarray | None = None, border: int = 0,
            masks: MaskPyramid | None = None, codes: list[np.ndarray] | None = None
            ) -> PreparedPlane:
    """Build the pyramid of a luma plane.

    Parameters
    ----------
    luma : (H, W) array
        Y' in [0, 1] (values in [-0.5, 1.5] are kept exactly enough).
    ignore : (H, W) bool/float or None
        Pixels to ignore (True or > 0.5), e.g. a static logo or letterbox.
    border : int
        Ignore this many pixels at every edge.
    masks : MaskPyramid or None
        A precomputed :func:`mask_pyramid` (then ``ignore`` and ``border`` are not used).
    codes : list of uint16 arrays or None
        The plane's :func:`level_codes`, when made already (:mod:`.ahead`).
    """
    raw = np.asarray(luma)
    if raw.dtype.kind not in "f":
        raise UsageError(
            f"alignment takes float working luma (Y' in [0, 1]), not {raw.dtype} codes")
    img = raw.astype(np.float32, copy=False)
    if img.ndim != 2:
        raise AlignmentError(f"a luma plane must be 2-D (got shape {img.shape})")
    shape = (int(img.shape[0]), int(img.shape[1]))
    if masks is None:
        masks = mask_pyramid(shape, ignore, border)
    levels = []
    for lvl, code in enumerate(level_codes(img) if codes is None else codes):
        v, kv = masks[lvl] if masks is not None else (None, None)
        levels.append(_Level(code, v, kv))
    return PreparedPlane(levels, shape)

"""What a prepared frame says on its own: whether it is flat (nothing to align) and its luma
histogram (a cut shows as a jump between neighbours).

Both read a pyramid level's uint16 codes (:mod:`.pyramid`), of one frame or of a stack of
frames (m, h, w) at once (:mod:`.ahead`: one numpy call per step for all of them).
"""

from __future__ import annotations

import numpy as np

from overmix.registration.pyramid import CODE_GAIN, PreparedPlane

__all__ = ["FLAT_STD", "HIST_BLOCK", "HIST_MIN", "flat_codes", "histograms", "is_flat"]

# A frame whose 4x4-block means vary by less than this (luma standard deviation, working
# units; ~1 8-bit code) has nothing to align: black, white or one flat colour.
FLAT_STD = 0.004
# The cut histogram takes one sample per HIST_BLOCK x HIST_BLOCK full-resolution pixels (the
# coarsest level of a 1280x720 frame), so its cost follows the frame's pixels (issue #15),
# and at least HIST_MIN samples (small frames).
HIST_BLOCK = 4
HIST_MIN = 4096


def flat_level(n_levels: int) -> int:
    """The level :func:`flat_codes` reads: the 4x4 box level (grain and codec noise averaged
    down), or the coarsest of a small frame's pyramid of ``n_levels``."""
    return min(2, n_levels - 1)


def is_flat(plane: PreparedPlane, band: np.ndarray | None = None) -> bool:
    """Whether a prepared luma plane has nothing to align: the standard deviation of its
    :func:`flat_level` is below :data:`FLAT_STD`; with ``band`` ((H,) bool: full-resolution
    rows an overlay holds), of its rows outside the band (a fade from black under a
    subtitle: the frame is black but for the line, whose letters the overlay's masks do
    not all hold). A plane with no row outside the band is not flat by it."""
    lvl = flat_level(len(plane.levels))
    img = plane.levels[lvl].img
    if band is not None:
        s = 2 ** lvl
        rows = np.asarray(band, bool)[:img.shape[0] * s].reshape(-1, s).any(axis=1)
        img = img[:len(rows)][~rows]
        if img.shape[0] < 2:
            return False
    return bool(flat_codes(img[None])[0])


def flat_codes(img: np.ndarray) -> np.ndarray:
    """(m,) bool: whether each plane of ``img`` ((m, h, w) codes) has a standard deviation
    below :data:`FLAT_STD`."""
    m = img.shape[0]
    # every 4th row first (a quarter of the work): n var >= r var_rows for any r of the n
    # samples (their own mean minimises their squared deviations), so a textured frame is
    # told from them alone (float32 sums: a 2 % margin covers their rounding); the others
    # from all their pixels
    rows = img[:, ::4]
    sd = rows.std(axis=(1, 2), dtype=np.float32).astype(np.float64)
    n, nr = img[0].size, rows[0].size
    out = np.zeros(m, bool)
    for b in np.flatnonzero(nr * sd * sd < 1.02 * n * (FLAT_STD * CODE_GAIN) ** 2).tolist():
        out[b] = float(img[b].std()) / CODE_GAIN < FLAT_STD
    return out


def histograms(img: np.ndarray, n_levels: int, valid: np.ndarray | None = None
               ) -> np.ndarray:
    """Normalised 32-bin luma histograms (m, 32) float64 of the usable pixels (``valid``:
    the level's mask, shared, or None) of the coarsest pyramid level of each of m frames
    (``img``: (m, h, w) codes; ``n_levels``: their pyramid's levels), every ``step``-th row
    and column (one sample per :data:`HIST_BLOCK` squared full-resolution pixels, at least
    :data:`HIST_MIN` samples)."""
    m = img.shape[0]
    step = max(1, HIST_BLOCK >> (n_levels - 1))
    while step > 1 and img[0, ::step, ::step].size < HIST_MIN:
        step //= 2
    sub = img[:, ::step, ::step]
    codes = sub.reshape(m, -1) if valid is None else sub[:, valid[::step, ::step]]
    # each code's luma bin from a table (no per-pixel float arithmetic), each frame's bins
    # apart
    bins = np.take(_BIN_OF_CODE, codes).astype(np.intp)
    bins += (32 * np.arange(m))[:, None]
    h = np.bincount(bins.ravel(), minlength=32 * m).reshape(m, 32).astype(np.float64)
    return h / np.maximum(h.sum(axis=1, keepdims=True), 1.0)


def _bin_table() -> np.ndarray:
    """uint8 (65536,): the luma bin of each uint16 pyramid code. Codes are (y + 0.5) *
    CODE_GAIN: bins of 1/32 luma over Y' in [0, 1], the ends clamped."""
    codes = np.arange(65536, dtype=np.float32)
    b = (codes / np.float32(CODE_GAIN) - np.float32(0.5)) * 32
    return np.clip(b, 0, 31).astype(np.uint8)


_BIN_OF_CODE = _bin_table()

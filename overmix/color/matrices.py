"""Y'CbCr ↔ R'G'B' matrices from Kr, Kb, and the fix for pictures decoded with the wrong one.

From Kr, Kb (``Kg = 1 − Kr − Kb``), ITU-R BT.601-7 §2.5.2, BT.709-6 item 3.2-3.3, BT.2020-2
table 4 (non-constant luminance), SMPTE ST 240, FCC 47 CFR 73.682:
``Y' = Kr R' + Kg G' + Kb B'``, ``Cb = (B' − Y') / (2(1 − Kb))``, ``Cr = (R' − Y') / (2(1 − Kr))``.
Constants are float64; pixels float32. Results are **not clipped**. Inputs and outputs are
working values (Y', R', G', B' in [0, 1], Cb/Cr in [-0.5, 0.5]); codes are
:mod:`overmix.color.convert`'s business.
"""

from __future__ import annotations

import numpy as np

from overmix.color.spec import Matrix, luma_coefficients

__all__ = [
    "reinterpret",
    "reinterpret_matrix",
    "rgb_to_ycbcr",
    "rgb_to_ycbcr_matrix",
    "ycbcr_to_rgb",
    "ycbcr_to_rgb_matrix",
]


def rgb_to_ycbcr_matrix(matrix: Matrix) -> np.ndarray:
    """3×3 float64 matrix, rows Y', Cb, Cr; columns R', G', B'.

    ``Y' = Kr R' + Kg G' + Kb B'``, ``Cb = (B' − Y')/(2(1 − Kb))``, ``Cr = (R' − Y')/(2(1 − Kr))``
    (ITU-R BT.601-7 §2.5.2, BT.709-6 items 3.2-3.3, BT.2020-2 table 4). YCgCo is
    ITU-T H.273 eq. 44-46.
    """
    matrix = Matrix(matrix)
    if matrix == Matrix.YCGCO:
        return np.array([[0.25, 0.5, 0.25], [-0.25, 0.5, -0.25], [0.5, 0.0, -0.5]])
    if matrix == Matrix.RGB:
        return np.eye(3)
    kr, kb = luma_coefficients(matrix)
    kg = 1.0 - kr - kb
    return np.array([
        [kr, kg, kb],
        [-kr / (2 * (1 - kb)), -kg / (2 * (1 - kb)), 0.5],
        [0.5, -kg / (2 * (1 - kr)), -kb / (2 * (1 - kr))],
    ])


def ycbcr_to_rgb_matrix(matrix: Matrix) -> np.ndarray:
    """3×3 float64 matrix, rows R', G', B'; columns Y', Cb, Cr (inverse of the encoder).

    ``R' = Y' + 2(1 − Kr) Cr``, ``B' = Y' + 2(1 − Kb) Cb``,
    ``G' = Y' − 2Kb(1 − Kb)/Kg · Cb − 2Kr(1 − Kr)/Kg · Cr``.

    >>> np.round(ycbcr_to_rgb_matrix(Matrix.BT709), 4)
    array([[ 1.    ,  0.    ,  1.5748],
           [ 1.    , -0.1873, -0.4681],
           [ 1.    ,  1.8556,  0.    ]])
    """
    matrix = Matrix(matrix)
    if matrix == Matrix.YCGCO:
        return np.array([[1.0, -1.0, 1.0], [1.0, 1.0, 0.0], [1.0, -1.0, -1.0]])
    if matrix == Matrix.RGB:
        return np.eye(3)
    kr, kb = luma_coefficients(matrix)
    kg = 1.0 - kr - kb
    return np.array([
        [1.0, 0.0, 2 * (1 - kr)],
        [1.0, -2 * kb * (1 - kb) / kg, -2 * kr * (1 - kr) / kg],
        [1.0, 2 * (1 - kb), 0.0],
    ])


def ycbcr_to_rgb(
    y: np.ndarray, cb: np.ndarray, cr: np.ndarray, matrix: Matrix
) -> np.ndarray:
    """Working Y', Cb, Cr (same shape) → R'G'B' float32, shape ``y.shape + (3,)``, not clipped."""
    m = ycbcr_to_rgb_matrix(matrix)
    y = np.asarray(y, dtype=np.float32)
    cb = np.asarray(cb, dtype=np.float32)
    cr = np.asarray(cr, dtype=np.float32)
    out = np.empty(y.shape + (3,), dtype=np.float32)
    for c in range(3):
        out[..., c] = m[c, 0] * y + np.float32(m[c, 1]) * cb + np.float32(m[c, 2]) * cr
    return out


def rgb_to_ycbcr(rgb: np.ndarray, matrix: Matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R'G'B' float (..., 3) → working ``(Y', Cb, Cr)``, float32 arrays of ``rgb.shape[:-1]``."""
    m = rgb_to_ycbcr_matrix(matrix)
    rgb = np.asarray(rgb, dtype=np.float32)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return tuple(  # type: ignore[return-value]
        (np.float32(m[c, 0]) * r + np.float32(m[c, 1]) * g + np.float32(m[c, 2]) * b)
        .astype(np.float32)
        for c in range(3)
    )


def reinterpret_matrix(used: Matrix, correct: Matrix) -> np.ndarray:
    """3×3 float64 R'G'B' → R'G'B' fix for a picture decoded with the wrong matrix.

    A player that decoded Y'CbCr with ``used`` instead of ``correct`` showed
    ``RGB_bad = M_used⁻¹ · YCbCr``. Re-encoding with ``used`` recovers the Y'CbCr; decoding
    with ``correct`` gives the right picture: ``RGB = M_correct⁻¹ · M_used · RGB_bad``.
    """
    return ycbcr_to_rgb_matrix(correct) @ rgb_to_ycbcr_matrix(used)


def reinterpret(rgb: np.ndarray, used: Matrix, correct: Matrix) -> np.ndarray:
    """Apply :func:`reinterpret_matrix` to float R'G'B' ``(..., 3)``; returns float32, not clipped.

    ``reinterpret(png, Matrix.BT470BG, Matrix.BT709)`` repairs an HD screenshot that a player
    decoded with BT.601 (the CLI's ``--reinterpret 601:709``).
    """
    m = reinterpret_matrix(used, correct).astype(np.float32)
    rgb = np.asarray(rgb, dtype=np.float32)
    return np.einsum("...c,dc->...d", rgb, m).astype(np.float32)

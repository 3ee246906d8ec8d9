"""Transfer functions (opto-electronic and electro-optical), on float arrays.

Values are normalised: signal V in [0, 1] (R'G'B' or Y'), light L in [0, 1] relative to
reference white. Inputs outside [0, 1] are handled without NaNs: negative values are mirrored
(``f(-v) = -f(v)``), which keeps out-of-gamut excursions ordered.

References
----------
- ITU-R BT.1886 (03/2011), Annex 1: reference EOTF ``L = V^2.4`` (with black level 0).
- ITU-R BT.709-6, item 1.2: OETF ``V = 4.5 L`` for ``L < 0.018``, else ``1.099 L^0.45 - 0.099``.
- IEC 61966-2-1:1999 (sRGB), §5.2/§5.3: ``12.92 L`` below 0.0031308, else
  ``1.055 L^(1/2.4) - 0.055``; inverse threshold 0.04045.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "bt709_inverse_oetf",
    "bt709_oetf",
    "bt1886_eotf",
    "bt1886_inverse_eotf",
    "srgb_eotf",
    "srgb_oetf",
]

_BT1886_GAMMA = 2.4


def _odd(f, v: np.ndarray) -> np.ndarray:
    """Apply ``f`` to |v| and restore the sign (odd extension)."""
    v = np.asarray(v)
    out = f(np.abs(v))
    return np.where(v < 0, -out, out).astype(np.result_type(v, np.float32), copy=False)


def bt1886_eotf(v: np.ndarray) -> np.ndarray:
    """ITU-R BT.1886 reference EOTF with zero black level: ``L = V^2.4``."""
    return _odd(lambda a: a**_BT1886_GAMMA, v)


def bt1886_inverse_eotf(light: np.ndarray) -> np.ndarray:
    """Inverse of :func:`bt1886_eotf`: ``V = L^(1/2.4)``."""
    return _odd(lambda a: a ** (1.0 / _BT1886_GAMMA), light)


def bt709_oetf(light: np.ndarray) -> np.ndarray:
    """ITU-R BT.709-6 OETF (camera curve): scene light → signal."""
    return _odd(lambda a: np.where(a < 0.018, 4.5 * a, 1.099 * a**0.45 - 0.099), light)


def bt709_inverse_oetf(v: np.ndarray) -> np.ndarray:
    """Inverse of :func:`bt709_oetf` (threshold 4.5 · 0.018 = 0.081)."""
    return _odd(lambda a: np.where(a < 0.081, a / 4.5, ((a + 0.099) / 1.099) ** (1 / 0.45)), v)


def srgb_eotf(v: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 (sRGB) decoding: signal → linear light."""
    return _odd(lambda a: np.where(a <= 0.04045, a / 12.92, ((a + 0.055) / 1.055) ** 2.4), v)


def srgb_oetf(light: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 (sRGB) encoding: linear light → signal."""
    return _odd(
        lambda a: np.where(a <= 0.0031308, 12.92 * a, 1.055 * a ** (1 / 2.4) - 0.055), light
    )

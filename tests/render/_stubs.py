"""Local stand-ins for colour functions owned by other modules, used only until they land.

``install()`` puts a minimal ``overmix.color.convert.codes_to_working`` (DESIGN §4 range
formulas) in place when the real module is missing, so store/render tests can run.
"""

from __future__ import annotations

import sys
import types

import numpy as np


def _codes_to_working(plane, bit_depth=8, range=None, chroma=False):  # noqa: A002
    from overmix.color.spec import Range

    p = np.asarray(plane, dtype=np.float32)
    s = float(1 << (bit_depth - 8))
    if range == Range.FULL:
        m = float((1 << bit_depth) - 1)
        return (p - (1 << (bit_depth - 1))) / m if chroma else p / m
    return (p - 128 * s) / (224 * s) if chroma else (p - 16 * s) / (219 * s)


def install() -> None:
    try:
        from overmix.color import convert  # noqa: F401

        if hasattr(convert, "codes_to_working"):
            return
        convert.codes_to_working = _codes_to_working  # type: ignore[attr-defined]
    except ImportError:
        mod = types.ModuleType("overmix.color.convert")
        mod.codes_to_working = _codes_to_working  # type: ignore[attr-defined]
        sys.modules["overmix.color.convert"] = mod

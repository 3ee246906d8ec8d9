"""overmix: turn anime video into clean, full-size, colour-accurate stills.

The public API mirrors the command line (DESIGN §2): verbs that return numpy arrays or
plain dataclasses. Heavy submodules are imported on first use.
"""

from __future__ import annotations

from overmix.color.spec import ChromaLocation, ColorInfo, Matrix, Primaries, Range, Transfer
from overmix.errors import OvermixError
from overmix.frame import Family, Frame, PlaneLayout

__version__ = "0.1.0"

__all__ = [
    "ChromaLocation",
    "ColorInfo",
    "Family",
    "Frame",
    "Matrix",
    "OvermixError",
    "PlaneLayout",
    "Primaries",
    "Range",
    "Transfer",
    "__version__",
]

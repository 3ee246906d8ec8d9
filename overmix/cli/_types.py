"""argparse value types shared by the commands."""

from __future__ import annotations

import argparse
import math


def finite_float(text: str) -> float:
    """A float option: ``nan`` and ``inf`` are usage errors (exit 2), not values."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value

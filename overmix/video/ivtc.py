"""Inverse telecine (placeholder until field matching lands: auto decides 'off')."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def detect_telecine(frames: Iterable[Any], field_order: str | None) -> dict[str, Any]:
    """Decide whether hard telecine is present (placeholder: never)."""
    return {"requested": "auto", "mode": "off", "reason": "no hard-telecine detection yet"}

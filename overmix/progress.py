"""Progress reporting for long jobs.

Library code never prints; it calls a :data:`ProgressCallback` with the stage name, the
amount done and the total (``None`` when unknown). The CLI turns these calls into rich
progress bars.
"""

from __future__ import annotations

from collections.abc import Callable

ProgressCallback = Callable[[str, int, "int | None"], None]


def no_progress(stage: str, done: int, total: int | None) -> None:
    """The default callback: ignore progress."""

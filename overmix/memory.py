"""Heap hygiene between the stages of a long command (glibc ``malloc_trim``)."""

from __future__ import annotations

import ctypes

__all__ = ["release_memory"]


def _load_trim() -> object:
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to trim
        return None
    trim.argtypes = [ctypes.c_size_t]
    return trim


_TRIM = _load_trim()


def release_memory() -> None:
    """Give the heap pages freed by the last stage back to the OS (glibc ``malloc_trim``).

    The decoder's frame buffers and a stage's temporaries are freed into malloc's arenas
    (one per thread: decoder threads, the alignment's pool), which keep them; the next stage
    would then run on top of them. Measured on the issue #5 clip: 10-20 MB less peak RSS for
    a few ms. A no-op where the C library has no ``malloc_trim``.
    """
    if _TRIM is not None:
        _TRIM(0)  # type: ignore[operator]

"""Heap hygiene for long commands (glibc ``malloc_trim`` between stages, one malloc arena)."""

from __future__ import annotations

import ctypes

__all__ = ["one_arena", "release_memory"]

_M_ARENA_MAX = -8  # glibc malloc.h: mallopt parameter of the arena count limit


def _libc(name: str, *argtypes: type) -> object:
    try:
        fn = getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError):  # not glibc: nothing to tune
        return None
    fn.argtypes = list(argtypes)
    return fn


_TRIM = _libc("malloc_trim", ctypes.c_size_t)
_MALLOPT = _libc("mallopt", ctypes.c_int, ctypes.c_int)


def release_memory() -> None:
    """Give the heap pages freed by the last stage back to the OS (glibc ``malloc_trim``).

    The decoder's frame buffers and a stage's temporaries are freed into malloc's arenas
    (one per thread: decoder threads, the alignment's pool), which keep them; the next stage
    would then run on top of them. Measured on the issue #5 clip: 10-20 MB less peak RSS for
    a few ms. A no-op where the C library has no ``malloc_trim``.
    """
    if _TRIM is not None:
        _TRIM(0)  # type: ignore[operator]


def one_arena() -> None:
    """Let every thread of this process allocate from one malloc arena (glibc ``mallopt
    M_ARENA_MAX``; call before starting threads). By default each thread that allocates
    gets its own arena, which keeps what that thread freed: the decoder threads', the
    alignment's read-ahead and the render workers' freed frames and temporaries then sit in
    separate arenas, unusable by the others. With one arena the 60-frame 720p stitch peaks
    ~10 MB lower at the same CPU time (the threads allocate large arrays, rarely). For the
    program itself only (the CLI), not for a library caller's process."""
    if _MALLOPT is not None:
        _MALLOPT(_M_ARENA_MAX, 1)  # type: ignore[operator]

"""Ordered parallel map with a bounded look-ahead, for decoding input files in threads.

PNG decoding (FFmpeg) and dump inflation (zlib / ISA-L) release the GIL, so a folder of
frames decodes on every core when a few files are read ahead of the consumer. Results come
back in input order; at most ``ahead`` decoded frames wait at once, so memory stays bounded
(the consumer — the FrameStore — spills them as they arrive).
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

__all__ = ["decode_workers", "prefetch"]

T = TypeVar("T")
R = TypeVar("R")


def decode_workers() -> int:
    """Threads used to decode input files: the cores (at most 4; ``OVERMIX_THREADS``
    overrides)."""
    env = os.environ.get("OVERMIX_THREADS", "")
    if env.isdigit() and int(env) >= 1:
        return int(env)
    return max(1, min(4, os.cpu_count() or 1))


def prefetch(fn: Callable[[T], R], items: Iterable[T], *, workers: int | None = None,
             ahead: int | None = None) -> Iterator[R]:
    """``fn(item)`` for every item, in order, computed by ``workers`` threads at most
    ``ahead`` items in advance (default ``2 * workers``). An exception is raised when its
    item's turn comes; closing the iterator early cancels what has not started."""
    workers = decode_workers() if workers is None else max(1, workers)
    if workers == 1:
        yield from map(fn, items)
        return
    ahead = max(1, ahead if ahead is not None else 2 * workers)
    pending: deque[Future[R]] = deque()
    it = iter(items)
    with ThreadPoolExecutor(workers, thread_name_prefix="overmix-decode") as pool:
        try:
            for item in it:
                pending.append(pool.submit(fn, item))
                if len(pending) >= ahead:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for f in pending:
                f.cancel()

"""Frames read one ahead on a second thread still come in order, one read at a time, and a
failed read is raised in its turn."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from overmix.registration.sweep import _read_ahead


def test_in_order_one_at_a_time_and_errors_in_turn() -> None:
    busy = threading.Lock()
    calls: list[int] = []

    def read(k: int) -> np.ndarray:
        assert busy.acquire(blocking=False), "two reads at once"
        try:
            calls.append(k)
            if k == 5:
                raise ValueError("frame 5 is broken")
            return np.full((500, 500), k, np.float32)  # large: read ahead on a thread
        finally:
            busy.release()

    frames = _read_ahead(read, 8)
    for k in range(5):
        assert float(next(frames)[0, 0]) == k
    with pytest.raises(ValueError, match="frame 5"):
        next(frames)
    frames.close()
    assert calls == sorted(calls) and calls[:6] == list(range(6))
    small = list(_read_ahead(lambda k: np.full((4, 4), k, np.float32), 3))
    assert [int(a[0, 0]) for a in small] == [0, 1, 2]

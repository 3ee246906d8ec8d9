"""ArraySpill / made_once: per-frame arrays made once, read back equal, the folder removed."""

from __future__ import annotations

import numpy as np

from overmix.io.spill import ArraySpill, made_once


def test_made_once_reads_back_what_it_made(tmp_path):
    rng = np.random.default_rng(3)
    arrays = {0: rng.random((45, 80), dtype=np.float32), 1: None,
              2: (rng.random((45, 80)) > 0.5)}
    calls: list[int] = []

    def make(k):
        calls.append(k)
        return None if arrays[k] is None else arrays[k].copy()

    with ArraySpill(tmp_path) as spill:
        once = made_once(make, spill)
        first = [once(k) for k in (0, 1, 2)]
        first[0][0, 0] = -1.0  # the caller's copy: the kept one stays as made
        again = [once(k) for k in (2, 1, 0)][::-1]
        folders = list(tmp_path.iterdir())
        assert len(folders) == 1 and len(list(folders[0].iterdir())) == 2
    assert calls == [0, 1, 2]
    assert again[1] is None
    assert again[0].dtype == np.float32 and np.array_equal(again[0], arrays[0])
    assert again[0][0, 0] != -1.0
    assert again[2].dtype == bool and np.array_equal(again[2], arrays[2])
    assert list(tmp_path.iterdir()) == []

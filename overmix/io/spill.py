"""ArraySpill: per-frame arrays made once and read back later, kept on disk, not in memory.

The clean still's per-frame render weights (:meth:`overmix.commands.clean_plan.CleanPlan.
frame_weights`, a float32 (h, w) array per frame) are asked for up to three times a stitch:
by the first render, by the doubtful places' decision and by the second render
(:mod:`overmix.commands.clean_doubt`). Making one costs ~0.16 s at 720p (the moving masks'
rings, lines and soft rims); reading 3.7 MB back from the page cache ~1 ms. They are written
once, like the frames the store spills (:mod:`overmix.io.store`: raw files, plain reads), to a
temporary folder named like the store's, so that a killed run's folder is removed by the next
store made in that place; memory keeps growing with the canvas, not with the frame count.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Hashable
from pathlib import Path

import numpy as np

from overmix.io.store import SpillFolder, _read_file

__all__ = ["ArraySpill", "made_once"]


class ArraySpill(SpillFolder):
    """Arrays written to a temporary folder by key and read back as new arrays.

    Parameters
    ----------
    tmp_dir : path or None
        Where the folder is made (default: the system temporary folder), on the first
        :meth:`put`.
    """

    def __init__(self, tmp_dir: str | Path | None = None) -> None:
        super().__init__(tmp_dir)
        self._kept: dict[Hashable, tuple[Path, tuple[int, ...], np.dtype] | None] = {}
        self._names = itertools.count()  # file names, unique whichever thread asks

    def __contains__(self, key: Hashable) -> bool:
        return key in self._kept

    def put(self, key: Hashable, a: np.ndarray | None) -> None:
        """Keep ``a`` (any shape and dtype; None is kept as None) under ``key``."""
        if a is None:
            self._kept[key] = None
            return
        path = self._spill_dir() / f"{next(self._names):06d}.raw"
        a = np.ascontiguousarray(a)
        a.tofile(path)
        self._kept[key] = (path, a.shape, a.dtype)

    def get(self, key: Hashable) -> np.ndarray | None:
        """The array kept under ``key``, read back (a new array), or None if None was."""
        got = self._kept[key]
        return None if got is None else _read_file(*got)

    def close(self) -> None:
        """Forget the arrays and remove the folder."""
        self._kept.clear()
        self._remove_folder()

    def __enter__(self) -> ArraySpill:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def made_once(make: Callable[[int], np.ndarray | None], spill: ArraySpill
              ) -> Callable[[int], np.ndarray | None]:
    """``make`` (``k -> array or None``, the same for the same ``k``) computed once per ``k``:
    the first call keeps its result in ``spill``, the next read it back (each call returns a
    new array the caller may change)."""

    def once(k: int) -> np.ndarray | None:
        if k in spill:
            return spill.get(k)
        a = make(k)
        spill.put(k, a)  # written: the caller may change its array
        return a

    return once

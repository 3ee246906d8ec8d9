"""The ground-truth generator itself: exact area sampling at any offset."""

from __future__ import annotations

import numpy as np

from tests.registration.scenes import cel_world, sample_frames


def test_integer_offsets_are_crops() -> None:
    world = cel_world(60, 90, 4, 1)
    f = sample_frames(world, 4, np.array([[0.0, 0.0], [3.0, 2.0]]), 40, 60, (5.0, 5.0))
    assert np.array_equal(f[1][:-2, :-3], f[0][2:, 3:])


def test_fractional_offsets_match_a_moved_world() -> None:
    """An offset of 0.25 frame px at 4x is one world sample: the same as moving the world."""
    world = cel_world(60, 90, 4, 2)
    moved = world[1:, 1:]  # world shifted by one sample (0.25 frame px) in x and y
    a = sample_frames(world, 4, np.array([[0.25, 0.25]]), 40, 60, (5.0, 5.0))[0]
    b = sample_frames(moved, 4, np.array([[0.0, 0.0]]), 40, 60, (5.0, 5.0))[0]
    assert np.abs(a - b).max() < 1e-5
    # an arbitrary offset is the exact area average: at 0.37 px the footprint covers 0.52 of
    # the 0.25 px frame's first world column and 0.48 of the 0.5 px frame's last one
    c = sample_frames(world, 4, np.array([[0.37, 0.0]]), 40, 60, (5.0, 5.0))[0]
    lo = sample_frames(world, 4, np.array([[0.25, 0.0]]), 40, 60, (5.0, 5.0))[0]
    hi = sample_frames(world, 4, np.array([[0.5, 0.0]]), 40, 60, (5.0, 5.0))[0]
    assert np.abs(c - (0.52 * lo + 0.48 * hi)).max() < 1e-5

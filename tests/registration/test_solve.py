"""Robust global solve of frame offsets from pairwise shifts."""

from __future__ import annotations

import numpy as np

from overmix.registration import Pair, solve_offsets
from overmix.registration.phase import PairResult


def _pairs(truth: np.ndarray, jumps=(1, 2, 4), noise: float = 0.005, seed: int = 0):
    rng = np.random.default_rng(seed)
    n = len(truth)
    out = []
    for i in range(n):
        for j in jumps:
            if i + j < n:
                d = truth[i + j] - truth[i] + rng.normal(0, noise, 2)
                out.append(Pair(i, i + j, float(d[0]), float(d[1])))
    return out


def test_least_squares_averages_noise() -> None:
    truth = np.cumsum(np.full((30, 2), [3.37, -0.71]), axis=0)
    truth -= truth[0]
    xy, res, inl = solve_offsets(30, _pairs(truth), motion="xy")
    assert np.abs(xy - truth).max() < 0.02
    assert inl.all() and res.max() < 0.03


def test_one_corrupted_pair_is_rejected() -> None:
    truth = np.cumsum(np.full((20, 2), [2.11, 0.53]), axis=0)
    truth -= truth[0]
    pairs = _pairs(truth, noise=0.002)
    bad = 17
    p = pairs[bad]
    pairs[bad] = Pair(p.i, p.j, p.dx + 3.0, p.dy - 1.5)  # a wrong match
    xy, res, inl = solve_offsets(20, pairs)
    assert not inl[bad] and inl.sum() == len(pairs) - 1
    assert res[bad] > 1.0
    assert np.abs(xy - truth).max() < 0.01


def test_low_confidence_pairs_unused_and_frames_disconnected() -> None:
    truth = np.array([[0.0, 0.0], [1.3, 0.2], [2.6, 0.4]])
    low = PairResult(5.0, 5.0, confidence=0.05, overlap=0.9, error=0.2, sigma_x=0.01,
                     sigma_y=0.01)
    good = PairResult(1.3, 0.2, confidence=0.99, overlap=0.9, error=0.01, sigma_x=0.001,
                      sigma_y=0.001)
    xy, res, inl = solve_offsets(3, [(0, 1, good), (1, 2, low)])
    assert inl.tolist() == [True, False]
    assert np.allclose(xy[:2], truth[:2]) and np.isnan(xy[2]).all()


def test_motion_x_forces_y_zero() -> None:
    xy, _, _ = solve_offsets(3, [(0, 1, 2.5, 0.3), (1, 2, 2.5, -0.2), (0, 2, 5.0, 0.1)],
                             motion="x")
    assert np.allclose(xy, [[0, 0], [2.5, 0], [5.0, 0]])


def test_per_axis_weights() -> None:
    """A pair that pins only x (aperture problem) must not drag y."""
    pairs = [Pair(0, 1, 1.0, 0.5, 1e4), Pair(1, 2, 1.0, 0.5, 1e4),
             Pair(0, 2, 2.0, 3.0, 1e4, weight_y=1e-2)]  # y of this pair is unreliable
    xy, _, inl = solve_offsets(3, pairs)
    assert np.allclose(xy, [[0, 0], [1.0, 0.5], [2.0, 1.0]], atol=1e-3)

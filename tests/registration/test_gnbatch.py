"""Several pairs refined in one batch land on the true sub-pixel shifts of a drawn pan."""

from __future__ import annotations

import numpy as np
import pytest

from overmix.registration.gnbatch import refine_pairs
from overmix.registration.phase import mask_pyramid, prepare
from tests.registration.scenes import cel_world, photo_world, sample_frames

H, W = 120, 200


def test_batch_finds_true_shifts_from_rough_guesses() -> None:
    # frame k against frames at 1, 2, 4 and 8 steps back, each guess 0.4 px off
    truth = np.array([[0.0, 0.0], [1.37, 0.61], [2.71, 1.18], [5.52, 2.44], [11.03, 4.77]])
    frames = sample_frames(cel_world(H + 40, W + 60, 4, 3), 4, truth, H, W)
    planes = [prepare(f) for f in frames]
    k = len(truth) - 1
    jobs = [(planes[i], planes[k], *(truth[k] - truth[i] + [0.4, -0.3])) for i in range(k)]
    got = refine_pairs(jobs)
    for i, r in enumerate(got):
        assert r is not None
        want = truth[k] - truth[i]
        assert abs(r.dx - want[0]) < 0.03 and abs(r.dy - want[1]) < 0.03, (i, r, want)
        assert r.confidence > 0.99
    # x-only motion keeps y at 0; a masked-out ref still measures around its mask
    ign = np.zeros((H, W), bool)
    ign[:, : W // 3] = True
    masked = prepare(frames[0], masks=mask_pyramid((H, W), ign))
    r_x, r_m = (refine_pairs([(planes[0], planes[k], 11.3, 4.5)], motion="x")[0],
                refine_pairs([(masked, planes[k], 11.3, 4.5)])[0])
    assert r_x is not None and r_x.dy == 0.0
    assert r_m is not None and abs(r_m.dx - 11.03) < 0.03 and abs(r_m.dy - 4.77) < 0.03


def test_no_overlap_is_none_not_an_error() -> None:
    frames = sample_frames(cel_world(H + 40, W + 60, 4, 3), 4, np.array([[0.0, 0], [3, 1]]),
                           H, W)
    a, b = prepare(frames[0]), prepare(frames[1])
    out = refine_pairs([(a, b, float(W), 0.0), (a, b, 3.1, 1.1)])
    assert out[0] is None
    assert out[1] is not None and abs(out[1].dx - 3) < 0.03


def _steps(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the Gauss-Newton batch calls of refine_pairs."""
    import overmix.registration.gnbatch as gb

    calls: list[int] = []
    orig = gb.gn_batch

    def counted(*a: object) -> object:
        calls.append(1)
        return orig(*a)

    monkeypatch.setattr(gb, "gn_batch", counted)
    return calls


def test_clean_pair_near_its_guess_takes_one_step(monkeypatch: pytest.MonkeyPatch) -> None:
    # lossless frames, guesses 0.03 px off: the first step lands, nothing left to weight
    truth = np.array([[0.0, 0.0], [1.37, 0.61], [2.71, 1.18]])
    frames = sample_frames(photo_world(H + 40, W + 60, 4, 3), 4, truth, H, W)
    planes = [prepare(f) for f in frames]
    calls = _steps(monkeypatch)
    got = refine_pairs([(planes[i], planes[2], *(truth[2] - truth[i] + [0.03, -0.02]))
                        for i in (0, 1)])
    assert len(calls) == 1
    for i, r in zip((0, 1), got, strict=True):
        want = truth[2] - truth[i]
        assert r is not None and np.hypot(r.dx - want[0], r.dy - want[1]) < 0.01


def test_a_fade_takes_the_gain_matched_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    # the same pair with mov 10 % darker: the first step's gain is off, so it goes on
    truth = np.array([[0.0, 0.0], [1.37, 0.61]])
    frames = sample_frames(photo_world(H + 40, W + 60, 4, 3), 4, truth, H, W)
    calls = _steps(monkeypatch)
    r = refine_pairs([(prepare(frames[0]), prepare(0.9 * frames[1] + 0.02),
                       1.37 + 0.03, 0.61 - 0.02)])[0]
    assert len(calls) >= 2
    assert r is not None and np.hypot(r.dx - 1.37, r.dy - 0.61) < 0.01

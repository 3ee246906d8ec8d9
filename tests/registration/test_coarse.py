"""The coarse search's vote skip: judged at the sub-pixel start, not only the integer shift."""

from __future__ import annotations

import numpy as np
import pytest

import overmix.registration.coarse as coarse
from overmix.registration.phase import estimate_prepared
from overmix.registration.pyramid import prepare
from tests.registration.scenes import cel_world, sample_frames


@pytest.mark.parametrize("step", [(1.37, 0.6), (-2.9, 1.1)])
def test_clean_subpixel_pan_skips_the_vote(step: tuple[float, float],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A clean line-art pan a fraction of a coarse pixel off the integer grid: the whole
    overlap matches (no second motion to outvote), so no tile vote runs, and the shift is
    the true one."""
    h, w = 270, 480
    world = cel_world(h + 20, w + 20, 4, seed=2)
    xy = np.array([[0.0, 0.0], step])
    a, b = sample_frames(world, 4, xy, h, w, origin=(5.0, 5.0))
    ra, rb = prepare(a), prepare(b)
    lvl = len(ra.levels) - 1
    # on the coarsest level the integer shift alone matches below the skip threshold
    sx, sy = step[0] / 2 ** lvl, step[1] / 2 ** lvl
    z_int, _ = coarse._zncc_int(ra.levels[lvl], rb.levels[lvl], round(sx), round(sy), 64)
    z_sub = coarse._zncc_sub(ra.levels[lvl], rb.levels[lvl], sx, sy)
    assert z_int < coarse._VOTE_SKIP
    assert z_sub is not None and z_sub >= coarse._VOTE_SKIP
    votes: list[int] = []
    real_vote = coarse._vote
    monkeypatch.setattr(coarse, "_vote", lambda *a, **k: votes.append(1) or real_vote(*a, **k))
    r = estimate_prepared(ra, rb)
    assert not votes
    assert abs(r.dx - step[0]) < 0.02 and abs(r.dy - step[1]) < 0.02


def test_masked_planes_keep_the_integer_judgement() -> None:
    """With masks the sub-pixel judgement stands aside (None): the vote decides as before."""
    rng = np.random.default_rng(0)
    y = rng.random((64, 96)).astype(np.float32)
    ign = np.zeros(y.shape, bool)
    ign[:8] = True
    ra, rb = prepare(y, ign), prepare(y, ign)
    assert coarse._zncc_sub(ra.levels[-1], rb.levels[-1], 0.3, 0.2) is None

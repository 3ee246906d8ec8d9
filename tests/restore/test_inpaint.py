"""Inpainting of unconstrained pixels."""

from __future__ import annotations

import numpy as np
import pytest

from overmix.errors import InputError
from overmix.restore.inpaint import fill_harmonic, fill_nearest, inpaint


def test_harmonic_fill_reproduces_a_ramp() -> None:
    yy, xx = np.mgrid[0:40, 0:50].astype(np.float32)
    ramp = 0.01 * xx + 0.02 * yy
    valid = np.ones(ramp.shape, bool)
    valid[10:30, 15:35] = False
    out = fill_harmonic(np.where(valid, ramp, 0).astype(np.float32), valid)
    np.testing.assert_allclose(out, ramp, atol=2e-3)  # linear functions are harmonic


def test_nearest_fill_copies_nearest() -> None:
    p = np.zeros((5, 9), np.float32)
    p[:, :3] = 1.0
    p[:, 6:] = 2.0
    valid = np.ones(p.shape, bool)
    valid[:, 3:6] = False
    out = fill_nearest(p, valid)
    assert (out[:, 3] == 1.0).all() and (out[:, 5] == 2.0).all()
    with pytest.raises(InputError):
        fill_nearest(p, np.zeros(p.shape, bool))
    with pytest.raises(InputError):
        inpaint(p, valid, "telea")

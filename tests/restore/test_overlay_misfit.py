"""A static overlay's frames follow one line per pixel (value against the background seen
through it); something changing at the same screen place in every frame does not (issue
#12, 720p credits: scrolling credits were estimated as a semi-transparent 'logo' and
un-blended)."""

from __future__ import annotations

import numpy as np

from overmix.restore.overlay_estimate import MISFIT, fit_overlay, static_parts
from tests.scenes.draw import logo_pan


def test_a_logo_fits_one_blend_scrolling_text_does_not() -> None:
    scene = logo_pan(n=30)
    logo = scene.extra["mask"]
    fit = fit_overlay(scene.planes, scene.xy, None, logo)
    assert np.median(fit.misfit[logo]) < 0.2 * MISFIT
    assert static_parts(logo, fit.misfit)[logo].all()
    # the same frames with bright bars scrolling up through the logo's place, a new
    # position every frame (credit lines): they follow no blend of the background
    rows = np.flatnonzero(logo.any(axis=1))
    frames = []
    for k in range(len(scene.frames)):
        f = np.array(scene.planes(k), np.float32)  # (3, h, w) working Y'CbCr
        for top in range(int(rows[0]) - 12 + (2 * k) % 12, int(rows[-1]) + 1, 12):
            band = np.zeros(logo.shape, bool)
            band[max(top, 0):max(top + 6, 0)] = True
            f[0][band & logo] = 0.05  # dark glyph lines, half the rows
        frames.append(f)
    fit = fit_overlay(lambda k: list(frames[k]), scene.xy, None, logo)
    assert np.median(fit.misfit[logo]) > MISFIT
    kept = static_parts(logo, fit.misfit)
    assert kept.sum() < 0.05 * logo.sum(), (kept.sum(), logo.sum())

"""Frame pairs chosen by camera travel (overmix.travel, issue #12)."""

from __future__ import annotations

import numpy as np

from overmix.travel import travel_partner, travel_partners


def test_partner_is_the_nearest_frame_that_moved_that_far() -> None:
    # 0.5 px a frame along x, 0.1 along y
    xy = np.stack([0.5 * np.arange(30), 0.1 * np.arange(30)], axis=1)
    assert travel_partner(xy, 10, 1, 2.0) == 14  # 2.0 px along x after 4 frames
    assert travel_partner(xy, 10, -1, 2.0) == 6
    assert travel_partner(xy, 10, 1, 1.0, axis=1) == 20  # y needs 10 frames
    assert travel_partner(xy, 10, -1, 1.0, axis=1) == 0
    assert travel_partner(xy, 10, 1, 2.0, axis=1) is None  # 1.9 px of y left after it
    assert travel_partner(xy, 10, 1, 2.0, reach=3) is None
    assert travel_partner(xy, 0, -1, 0.1) is None
    assert travel_partner(xy, 29, 1, 0.1) is None


def test_partners_cover_both_axes_nearest_first() -> None:
    xy = np.stack([0.5 * np.arange(30), 0.1 * np.arange(30)], axis=1)
    assert travel_partners(xy, 10, 1.0) == [8, 12, 0, 20]
    # a still camera has no partner at all
    assert travel_partners(np.zeros((5, 2)), 2, 0.5) == []

"""The moving masks of the frames a few frames from the clip's ends (issue #12, 720p sprite
"few"): their odd-one-out pairs are all short (frame 2 has only frames 0 and 4), and a
character moving slowly against the background hardly moves between them, so the flat
inside of its coat and head matches itself there and is missed, while what the pair frames'
swinging legs covered stays flagged. ``render.foreground_edges`` judges these frames' masks
again against the frames farther towards the middle that see the background
(``render.foreground_ends.judge_end``, as the clip's first and last frames).

The clip is the walk-cycle scene drawn with numpy in ``test_foreground_ghosts`` (a cel world
panned by whole pixels, a character drifting 0.4 px per frame against it); the truth is the
generator's outline of the character in each frame.
"""

from __future__ import annotations

from scipy import ndimage

from overmix.render.foreground import moving_foreground
from overmix.render.foreground_edges import redraw_moving
from tests.render.test_foreground_ghosts import N, _scene


def test_a_frame_with_short_pairs_only_keeps_the_character_and_no_far_ghost() -> None:
    frames, xy, truth = _scene()
    masks = moving_foreground(lambda k: frames[k], N, xy)
    got = redraw_moving(masks, 1, lambda k: frames[k], xy, frames[0].shape)
    kept, ghost, total = {}, 0, 0
    for k in (2, 3):
        crop = got[k]
        assert crop is not None
        m = crop.full(frames[0].shape)
        kept[k] = (m & truth[k]).sum() / truth[k].sum()
        ghost += int((m & (ndimage.distance_transform_edt(~truth[k]) > 3)).sum())
        total += int(truth[k].sum())
    # frame 2 (pair 0, 4 only): the old code kept half of the character (0.50), now 0.95
    assert kept[2] > 0.9, kept
    assert kept[3] > 0.94, kept
    # background more than 3 px from the character: old 1409 px (0.073), now 1304
    assert ghost < 0.072 * total, ghost / total

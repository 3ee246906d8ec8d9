"""Moving-foreground masks next to redrawn screen-fixed content (issue #12, the combined
scene): a part of the moving mask that lies mostly on a subtitle is that subtitle changing
and is left to the full-resolution screen-fixed decision, but a character whose legs cross
the subtitle joins its change into the same part: the character must stay left out (it used
to be dropped whole and rendered as a ghost)."""

from __future__ import annotations

import numpy as np

from overmix.render.clean_masks import defer_to_fixed, grow

H, W = 120, 200


def _subtitle() -> tuple[np.ndarray, np.ndarray]:
    """Redrawn subtitle glyph rows (bool) and the zone near them (grown by 2 px)."""
    fixed = np.zeros((H, W), bool)
    fixed[96:108, 30:170:3] = True
    return fixed, grow(fixed, 2)


def test_subtitle_change_alone_is_left_to_the_redrawing() -> None:
    fixed, near = _subtitle()
    moving = np.zeros((H, W), bool)
    moving[93:111, 26:174] = True  # a new line: its rows, a little wider than the glyphs
    assert not defer_to_fixed(moving, near, 4).any()


def test_character_joined_to_a_subtitle_change_stays_left_out() -> None:
    fixed, near = _subtitle()
    moving = np.zeros((H, W), bool)
    moving[93:111, 26:174] = True  # the subtitle changing (most of the part)
    moving[40:93, 90:110] = True  # body and legs, down to the subtitle
    assert (moving[40:93, 90:110].sum() < 0.5 * moving.sum())  # the part is mostly subtitle
    out = defer_to_fixed(moving, near, 4)
    assert out[40:88, 90:110].all()  # the character's body off the subtitle zone
    assert not (out & near).any()  # the zone itself is decided at full resolution


def test_character_touching_a_subtitle_stays_left_out_whole() -> None:
    fixed, near = _subtitle()
    moving = np.zeros((H, W), bool)
    moving[20:100, 90:110] = True  # mostly off the subtitle: kept, feet included
    assert np.array_equal(defer_to_fixed(moving, near, 4), moving)


def test_still_looking_patch_of_a_joined_character_stays_with_it() -> None:
    """A flat patch of the character's coat at its rim keeps its screen value for a while
    and was redrawn screen-fixed: with the character's part joined to the subtitle's change
    (mostly subtitle), the character's piece kept used to lose the patch's zone, an opening
    in its mask at the rim (720p subsprite: its outline ghosted there). The piece takes the
    patch back; the subtitle's zone stays to the redrawing."""
    fixed, near = _subtitle()
    patch = np.zeros((H, W), bool)
    patch[50:56, 104:110] = True  # on the body's right rim
    near = near | grow(patch, 2)
    moving = np.zeros((H, W), bool)
    moving[93:111, 26:174] = True  # the subtitle changing (most of the part)
    moving[40:93, 90:110] = True  # body and legs, down to the subtitle
    out = defer_to_fixed(moving, near, 4)
    assert out[40:88, 90:110].all()  # the body whole, its rim patch included (old: not)
    assert not (out & grow(fixed, 2)).any()  # the subtitle's zone is not given back


def test_subtitle_change_joined_to_a_large_character_is_left_to_the_redrawing() -> None:
    """The converse: a large character whose feet reach a changing line makes the joined
    part mostly character, kept whole, the whole line's change with it (640x360 slow
    subsprite: the clean views between the glyphs at the floor in the last 16 frames, 53 %
    of the 10-bit "few" error). The line's change away from the feet goes back to the
    redrawing; the body and the feet reaching into the text stay left out."""
    fixed, near = _subtitle()
    moving = np.zeros((H, W), bool)
    moving[93:111, 26:174] = True  # the subtitle changing
    moving[0:100, 70:130] = True  # body and feet, into the text
    assert (moving & near).sum() < 0.5 * moving.sum()  # the part is mostly character
    out = defer_to_fixed(moving, near, 4)
    assert out[0:100, 70:130].all()  # the body, its feet 6 px into the zone included
    # the line's change more than 3 reach (12 px) beside the body goes (old: kept with it)
    assert not out[:, :58].any() and not out[:, 142:].any()
    assert not (out & ~moving).any()

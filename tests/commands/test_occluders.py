"""What hides a scene point from a travel partner in the full-resolution screen-fixed redraw
(issue #12, slow pans): only screen-fixed content at least a few reduced samples thick that
never changes on screen (letterbox bars, a wide opaque block). Flat background that every
frame shows alike (a sky on a slow pan) is a view of the scene, and thin glyph strokes two
subtitle lines share are the text itself: treating either as an occluder took away the views
that prove a glyph screen-fixed, and the glyph leaked into the still (640x360 hardsub at
1.185 px/frame: few-seen region 26.3 -> 29.1 dB against 36.3 for clean frames)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from overmix.render.clean_masks import occluders

HS, WS = 40, 80  # reduced samples


def _consensus() -> tuple[SimpleNamespace, np.ndarray]:
    """A consensus with a flat sky, a bottom bar and thin glyph strokes that never change on
    screen; the bar and the strokes are screen-fixed. Returns it and the bar (bool)."""
    sky = np.zeros((HS, WS), bool)
    sky[:15] = True
    bar = np.zeros((HS, WS), bool)
    bar[35:] = True
    strokes = np.zeros((HS, WS), bool)
    strokes[26:32, 10:70:4] = True  # one sample wide, shared by both subtitle lines
    fixed = [bar | strokes if k % 3 else bar for k in range(9)] + [None]
    return SimpleNamespace(still=sky | bar | strokes, fixed=fixed), bar


def test_only_thick_screen_fixed_content_occludes() -> None:
    cons, bar = _consensus()
    assert np.array_equal(occluders(cons), bar)


def test_nothing_screen_fixed_nothing_occludes() -> None:
    cons, _ = _consensus()
    cons.fixed = [None] * 10
    assert not occluders(cons).any()

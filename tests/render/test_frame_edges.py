"""Dirty frame edges (issue #12): ``render.frame_edges.dirty_edges`` finds the black, grey
and noise lines at a frame's border of the generator's ``edges`` scene, and nothing on scenes
whose borders are picture (a clean pan; a character, a hardsub and a logo near the borders;
letterbox bars, which are left to the bars logic).

Truth is the generator's: which lines it painted (``tests.scenes.real``: 3 px black on the
left, 2 px of fresh noise on the right, a 4 px grey line at the top). Frames are used as
generated (no codec), read through rectangle readers like the stitch's."""

from __future__ import annotations

import numpy as np
import pytest

from overmix.render.frame_edges import dirty_edges, edge_depth, edge_mask
from tests.scenes.real import SCENES, luma709, make_scene

N, H, W = 16, 120, 200


def _edges(contaminations: tuple[str, ...], **kw: object) -> dict[str, int]:
    scene = make_scene(contaminations, n=N, h=H, w=W, **kw)  # type: ignore[arg-type]
    ys = [luma709(f) for f in scene.rgb]
    return dirty_edges(lambda k: lambda rows, cols: ys[k][rows, cols], N,
                       scene.xy - scene.xy[0], (H, W))


def test_dirty_lines_found_at_each_border() -> None:
    got = _edges(SCENES["edges"])
    # the painted lines, plus at most one line of their antialiased/ringing neighbour
    assert 3 <= got["left"] <= 4, got
    assert 2 <= got["right"] <= 3, got
    assert 4 <= got["top"] <= 5, got
    assert got["bottom"] == 0, got


@pytest.mark.parametrize("name", ["clean", "all", "credits", "letterbox"])
def test_picture_at_the_borders_is_not_dirt(name: str) -> None:
    assert _edges(SCENES[name]) == {"left": 0, "right": 0, "top": 0, "bottom": 0}


def test_dirt_on_a_vertical_pan() -> None:
    # the camera moves down: the top and bottom lines are compared with other frames'
    # interiors; the left/right lines only with other frames' left/right lines
    got = _edges(SCENES["edges"], step=(0.2, 2.1))
    assert 4 <= got["top"] <= 5, got
    assert got["bottom"] == 0, got
    assert got["right"] >= 2, got  # fresh noise disagrees with every other frame


def test_mask_and_depth() -> None:
    assert edge_depth(360, 640) == 9 and edge_depth(720, 1280) == 18
    assert edge_mask({"left": 0, "right": 0, "top": 0, "bottom": 0}, (8, 10)) is None
    m = edge_mask({"left": 1, "right": 2, "top": 0, "bottom": 3}, (8, 10))
    assert m is not None
    want = np.zeros((8, 10), bool)
    want[:, :1] = want[:, 8:] = want[5:] = True
    assert np.array_equal(m, want)

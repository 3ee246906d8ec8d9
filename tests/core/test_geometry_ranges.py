import json

import numpy as np
import pytest

from overmix.errors import InputError, RangeError, UsageError
from overmix.geometry import Canvas, Offsets
from overmix.ranges import FrameRange, parse_position


def test_canvas_covers_fractional_offsets():
    c = Canvas.covering(np.array([[0.0, 0.0], [10.4, -2.25]]), 100, 50)
    assert (c.x, c.y) == (0.0, -3.0)
    assert (c.width, c.height) == (111, 53)  # ceil(110.4) - 0, ceil(50) - (-3)


def test_offsets_json_round_trip(tmp_path):
    o = Offsets(np.array([[0, 0], [1.25, -0.5]]), [3, 4], 64, 48, [0, 1])
    p = tmp_path / "o.json"
    o.save(p)
    data = json.loads(p.read_text())
    assert data["frames"][1] == {"index": 4, "x": 1.25, "y": -0.5, "frame": 1}
    assert data["canvas"] == {"x": 0.0, "y": -1.0, "width": 66, "height": 49}
    back = Offsets.load(p)
    assert back.indices == [3, 4] and back.anim == [0, 1]
    np.testing.assert_array_equal(back.xy, o.xy)


def test_offsets_minimal_and_bad(tmp_path):
    o = Offsets.from_json({"frames": [{"index": 0, "x": 0, "y": 0}]}, 10, 10)
    assert o.anim == [0]
    with pytest.raises(InputError):
        Offsets.from_json({"frames": []})
    with pytest.raises(InputError):
        Offsets.load(tmp_path / "missing.json")


def test_offsets_json_lighting_gains(tmp_path):
    """Per-frame ``gain``/``offset`` (issue #19): written when present, read back, optional,
    all-or-none, positive gains."""
    off = Offsets(np.array([[0.0, 0.0], [2.5, 1.0]]), [0, 1], 64, 48,
                  gains=np.array([[1.0, 0.0], [0.8, 0.03]]))
    p = tmp_path / "g.json"
    off.save(p)
    frames = json.loads(p.read_text())["frames"]
    assert [(f["gain"], f["offset"]) for f in frames] == [(1.0, 0.0), (0.8, 0.03)]
    back = Offsets.load(p)
    np.testing.assert_array_equal(back.gains, off.gains)
    plain = Offsets(off.xy, [0, 1], 64, 48)
    assert "gain" not in plain.to_json()["frames"][0]
    assert Offsets.from_json(plain.to_json()).gains is None
    for bad in ([{"index": 0, "x": 0, "y": 0, "gain": 1.0, "offset": 0.0},
                 {"index": 1, "x": 1, "y": 0}],
                [{"index": 0, "x": 0, "y": 0, "gain": 0.0, "offset": 0.0}],
                [{"index": 0, "x": 0, "y": 0, "gain": "x", "offset": 0.0}]):
        with pytest.raises(InputError, match="gain"):
            Offsets.from_json({"frames": bad})


def test_positions_and_ranges():
    assert parse_position("42").index == 42
    assert parse_position("12.5").seconds == 12.5
    assert parse_position("12s").seconds == 12.0
    assert parse_position("00:01:02.500").seconds == pytest.approx(62.5)
    with pytest.raises(UsageError):
        parse_position("abc")
    assert FrameRange.parse("2", "5").resolve(10) == range(2, 5)
    assert FrameRange.parse("1.0", None, 3).resolve(100, rate=24) == range(24, 27)
    with pytest.raises(RangeError):
        FrameRange.parse("5", "2")
    with pytest.raises(RangeError):
        FrameRange.parse("50").resolve(10)
    # an open start reads as frame 0, not "None"
    with pytest.raises(RangeError, match=r"^empty range: 0\.\.0 selects no frame$"):
        FrameRange.parse(None, "0").resolve(10)


def test_offsets_json_transforms_round_trip_and_defaults(tmp_path):
    """Per-frame scale/angle and the canvas scale are written and read back exactly; a file
    without them reads as translation (DESIGN §4 "Transforms")."""
    o = Offsets(np.array([[0, 0], [3.5, -1.25]]), [0, 1], 64, 48, scale=[1.0, 0.98],
                angle=[0.0, 0.4])
    p = tmp_path / "t.json"
    o.save(p)
    data = json.loads(p.read_text())
    assert data["frames"][1]["scale"] == 0.98 and data["frames"][1]["angle"] == 0.4
    assert data["canvas"]["scale"] == 0.98  # the sharpest frame's pitch
    back = Offsets.load(p)
    np.testing.assert_array_equal(back.scales, [1.0, 0.98])
    np.testing.assert_array_equal(back.angles, [0.0, 0.4])
    assert back.canvas == o.canvas
    # the canvas holds every frame's corners (frame 1: rotated, 0.98 px pixels)
    cv = o.canvas
    corners = o.corners().reshape(-1, 2)
    assert corners[:, 0].min() >= cv.x - cv.scale / 2 - 1e-9
    assert corners[:, 0].max() <= cv.x + cv.scale * (cv.width - 0.5) + 1e-3
    assert corners[:, 1].max() <= cv.y + cv.scale * (cv.height - 0.5) + 1e-3
    # an edited file: canvas scale kept, frame transforms optional
    edited = {"frames": [{"index": 0, "x": 0, "y": 0}, {"index": 1, "x": 2, "y": 0,
                                                      "scale": 1.02}],
              "canvas": {"x": 0, "y": 0, "width": 1, "height": 1, "scale": 0.5}}
    e = Offsets.from_json(edited, 64, 48)
    assert e.has_transform and e.pitch == 0.5 and e.angles.tolist() == [0.0, 0.0]
    # frame 1 spans x in [2 - 0.51, 2 + 1.02 * 63.5]: about 133 px at pitch 0.5
    assert e.canvas.scale == 0.5 and 2 * 66 <= e.canvas.width <= 2 * 68
    plain = Offsets.from_json({"frames": [{"index": 0, "x": 0, "y": 0},
                                          {"index": 1, "x": 1.5, "y": 0}]}, 64, 48)
    assert not plain.has_transform and plain.scale is None and plain.pitch == 1.0
    assert "scale" not in plain.to_json()["canvas"]
    assert "scale" not in plain.to_json()["frames"][1]
    for bad in ({"scale": 0}, {"scale": -1}, {"angle": "x"}, {"scale": float("nan")}):
        with pytest.raises(InputError):
            Offsets.from_json({"frames": [{"index": 0, "x": 0, "y": 0, **bad}]}, 8, 8)
    with pytest.raises(InputError):
        Offsets.from_json({"frames": [{"index": 0, "x": 0, "y": 0}],
                           "canvas": {"scale": 0}}, 8, 8)

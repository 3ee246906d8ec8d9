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

"""scene.json: round trip, atomic write, bad manifests."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest

from overmix.color.spec import ChromaLocation, ColorInfo, Matrix, Primaries, Range, Transfer
from overmix.errors import FormatError, OutputError
from overmix.io.manifest import (
    Manifest,
    dump_name,
    format_rate,
    read_manifest,
    write_manifest,
)


def test_round_trip(tmp_path) -> None:
    color = ColorInfo(Matrix.BT470BG, Range.FULL, Transfer.SMPTE170M, Primaries.BT470BG,
                      ChromaLocation.CENTER, 10)
    m = Manifest(
        color=color, source="/v/ep01.mkv", stream=1, frame_rate=format_rate(Fraction(24000, 1001)),
        frames=[{"file": dump_name(i), "index": i, "pts": 1001 * i, "time": i * 1001 / 24000,
                 "key_frame": i == 0, "fields": f"{i}t+{i}b"} for i in range(3)],
        ivtc={"mode": "on", "pattern": "3:2"}, dedup={"enabled": False},
        extra={"tool": "overmix 0.1"},
    )
    write_manifest(tmp_path, m)
    assert [p.name for p in tmp_path.iterdir()] == ["scene.json"]
    got = read_manifest(tmp_path)
    assert got is not None
    assert got.color == color and got.rate == Fraction(24000, 1001)
    assert got.frame_rate == "24000/1001" and got.stream == 1
    assert got.frames == m.frames and got.ivtc == m.ivtc and got.extra == {"tool": "overmix 0.1"}
    assert got.frame_for("000002.dump")["pts"] == 2002
    assert dump_name(42) == "000042.dump" and dump_name(1234567) == "1234567.dump"


def test_missing_and_bad(tmp_path) -> None:
    assert read_manifest(tmp_path) is None
    p = tmp_path / "scene.json"
    p.write_text("{not json")
    with pytest.raises(FormatError, match="invalid JSON"):
        read_manifest(tmp_path)
    p.write_text(json.dumps({"frames": []}))
    with pytest.raises(FormatError, match="color"):
        read_manifest(tmp_path)
    p.write_text(json.dumps({"color": {"matrix": "nonsense"}}))
    with pytest.raises(FormatError, match="(?i)nonsense"):
        read_manifest(tmp_path)
    p.write_text(json.dumps({"color": {}, "frame_rate": "abc"}))
    with pytest.raises(FormatError, match="frame_rate"):
        read_manifest(tmp_path)
    with pytest.raises(OutputError):
        write_manifest(tmp_path / "missing", Manifest(color=ColorInfo()))

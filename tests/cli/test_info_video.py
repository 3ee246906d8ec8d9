"""``overmix info VIDEO``: table, --json, --scenes, --stream, telecine decision, errors."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import pytest

from overmix.cli import main
from tests.videogen import encode_video, make_clip, pan_frames, rgb_to_yuv_codes, telecine


@pytest.fixture(scope="module")
def vids(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("infoclips")
    film = [rgb_to_yuv_codes(x, "601", False, 8, (2, 2)) for x in pan_frames(16, 64, 96, 2)]
    return {
        "hi10": make_clip(d / "hi10.mkv", n=18, codec="libx264", pix_fmt="yuv420p10le",
                          full=True),
        "untagged": make_clip(d / "sd.mp4", n=10, codec="libx264", tagged=False),
        "cuts": make_clip(d / "cuts.mkv", n=24, cut_every=8, codec="libx264"),
        "tc": encode_video(d / "tc.mkv", telecine(film), "ffv1", "yuv420p",
                           Fraction(30000, 1001), interlaced=True, tff=True),
    }


def test_info_json(vids, capsys) -> None:
    assert main(["info", str(vids["hi10"]), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["codec"] == "h264" and data["profile"] == "High 10"
    assert data["pix_fmt"] == "yuv420p10le" and data["frame_count"] == 18
    assert data["frame_count_estimated"] is False
    assert data["frame_rate"] == "24000/1001" and data["width"] == 96
    assert data["color"]["range"] == "full" and data["color"]["bit_depth"] == 10
    assert data["color_guessed"]["range"] is False
    assert data["ivtc"]["mode"] == "off"


def test_info_table_untagged(vids, capsys) -> None:
    assert main(["info", str(vids["untagged"])]) == 0
    out = capsys.readouterr().out
    for word in ("h264", "yuv420p", "96x64", "23.976", "10", "BT470BG (assumed)",
                 "limited (assumed)", "progressive"):
        assert word in out, word


def test_info_scenes(vids, capsys) -> None:
    assert main(["info", str(vids["cuts"]), "--scenes", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(s["start"], s["end"]) for s in data["scenes"]] == [(0, 8), (8, 16), (16, 24)]
    assert [c["index"] for c in data["cuts"]] == [8, 16]
    assert main(["info", str(vids["cuts"]), "--scenes"]) == 0
    assert "3 scene(s)" in capsys.readouterr().out


def test_info_hard_telecine(vids, capsys) -> None:
    assert main(["info", str(vids["tc"]), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["ivtc"]["mode"] == "hard" and data["telecine"]["guess"] == "hard"
    assert data["delivered_rate"] == "24000/1001"
    assert data["field_order"] == "tff"
    assert main(["info", str(vids["tc"])]) == 0
    assert "hard telecine" in capsys.readouterr().out


def test_info_errors(vids, tmp_path: Path, capsys) -> None:
    assert main(["info", str(vids["hi10"]), "--stream", "2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("overmix: error:") and "video stream" in err
    junk = tmp_path / "x.ts"
    junk.write_bytes(b"nothing to see" * 50)
    assert main(["info", str(junk)]) == 1
    assert "overmix: error:" in capsys.readouterr().err

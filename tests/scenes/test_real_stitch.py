"""Plain ``overmix stitch`` / ``overmix align`` on real-looking scenes (issue #12): the offsets
follow the background through hardsubs, logos, walking characters and talking mouths, and a
cut ends in the larger shot with one warning (``--strict``: an error). Truth comes from
tests/scenes/real.py (exact area sampling), never from the code under test."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from overmix.cli import main
from overmix.registration import estimate_shift
from tests.scenes.real import SCENES, luma709, make_scene

N, H, W = 24, 180, 320


def _offsets_error(data: dict, scene) -> float:
    idx = [f["index"] for f in data["frames"]]
    xy = np.array([[f["x"], f["y"]] for f in data["frames"]])
    truth = scene.xy[idx] - scene.xy[idx[0]]
    return float(np.abs(xy - (xy[0] - xy[0]) - truth).max())


@pytest.mark.parametrize(("name", "depth"), [("hardsub", 8), ("all", 10)])
def test_plain_stitch_follows_the_background(tmp_path: Path, capsys, name: str,
                                             depth: int) -> None:
    scene = make_scene(SCENES[name], n=N, h=H, w=W, line_every=10)
    clip = scene.encode(tmp_path / f"{name}.mkv", depth)
    off = tmp_path / "off.json"
    assert main(["stitch", str(clip), "-o", str(tmp_path / "still.png"), "--save-offsets",
                 str(off), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    data = json.loads(off.read_text())
    assert _offsets_error(data, scene) < 0.1
    assert all(0.5 < f["confidence"] <= 1 for f in data["frames"])
    assert summary["used_frames"] == list(range(N)) and summary["left_out"] == []
    # the subtitle (and logo) were found as screen-fixed content and kept out of the estimate
    assert summary["masks"]["overlay"] > 0.01 and summary["masks"]["realigned"]


def test_slow_pan_under_a_hardsub_follows_the_background(tmp_path: Path, capsys) -> None:
    # ~1 px/frame: the subtitle's zero shift and the background's are within one coarse
    # pixel between neighbours; only the longer jumps tell them apart
    scene = make_scene(SCENES["hardsub"], n=32, h=H, w=W, step=(1.07, 0.31), line_every=12)
    clip = scene.encode(tmp_path / "slow.mkv", 8)
    assert main(["align", str(clip), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [f["index"] for f in data["frames"]] == list(range(32)) and data["left_out"] == []
    assert _offsets_error(data, scene) < 0.1


def test_reversed_slowing_pan_reports_the_subtitle_it_left_out(tmp_path: Path,
                                                              capsys) -> None:
    # a pan to the left that slows (2.37 -> 1.5 px/frame): between neighbours the subtitle's
    # zero shift and the background's are about a map pixel apart, so the neighbour maps see
    # no screen-fixed content; the long jumps find it and the offsets are measured without
    # it. The summary's overlay share is what was left out (old code: 0.000)
    scene = make_scene(SCENES["hardsub"], n=N, h=H, w=W, step=(-2.37, -0.43), line_every=12)
    clip = scene.encode(tmp_path / "rev.mkv", 8)
    assert main(["align", str(clip), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert _offsets_error(data, scene) < 0.1
    truth = float(np.mean([m.mean() for m in scene.overlay]))  # the glyphs and outlines
    share = data["masks"]["overlay"]
    assert truth < share < 3 * truth, (share, truth)  # the masks are grown past the glyphs
    assert data["masks"]["overlay_frames"] == N


def test_cut_keeps_the_larger_shot_with_one_warning(tmp_path: Path, capsys) -> None:
    scene = make_scene(SCENES["cut"], n=20, h=H, w=W)  # frames 13-19 are another shot
    clip = scene.encode(tmp_path / "cut.mkv", 8)
    out = tmp_path / "still.png"
    assert main(["stitch", str(clip), "-o", str(out), "--json"]) == 0
    cap = capsys.readouterr()
    summary = json.loads(cap.out)
    assert summary["used_frames"] == list(range(13))
    assert [e["index"] for e in summary["left_out"]] == list(range(13, 20))
    warnings = [ln for ln in cap.err.splitlines() if ln.startswith("overmix: warning:")]
    assert len(warnings) == 1 and "frames 13-19" in warnings[0] and "cut" in warnings[0]
    assert out.exists()
    assert main(["align", str(clip), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert _offsets_error(data, scene) < 0.1
    # --strict: the same input is an error naming where it breaks, nothing written
    out2 = tmp_path / "strict.png"
    assert main(["stitch", str(clip), "-o", str(out2), "--strict"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("overmix: error:") and "12 and 13" in err[0]
    assert not out2.exists()


@pytest.mark.parametrize("motion", ["zoom"])
def test_cut_under_a_zoom_model_keeps_the_larger_shot(tmp_path: Path, capsys,
                                                      motion: str) -> None:
    # a chance match across the cut (ZNCC ~0.6 against ~0.99 within each shot) used to join
    # the two shots silently under the zoom/rotation models
    scene = make_scene(SCENES["cut"], n=20, h=H, w=W)  # frames 13-19 are another shot
    clip = scene.encode(tmp_path / "cut.mkv", 8)
    assert main(["align", str(clip), "--motion", motion, "--json"]) == 0
    cap = capsys.readouterr()
    data = json.loads(cap.out)
    assert [f["index"] for f in data["frames"]] == list(range(13))
    assert [e["index"] for e in data["left_out"]] == list(range(13, 20))
    warnings = [ln for ln in cap.err.splitlines() if ln.startswith("overmix: warning:")]
    assert len(warnings) == 1 and "frames 13-19" in warnings[0] and "cut" in warnings[0]
    assert _offsets_error(data, scene) < 0.1


def test_scrolling_credits_pair_follows_the_background() -> None:
    # 640x360: the credits' own motion (0, 2) and the pan's (2.4, 0.6) are one peak on the
    # 320x180 coarse level; the credits' strong edges used to win the refinement
    scene = make_scene(SCENES["credits"], n=2, h=360, w=640)
    r = estimate_shift(luma709(scene.rgb[0]), luma709(scene.rgb[1]))
    truth = scene.xy[1] - scene.xy[0]
    assert abs(r.dx - truth[0]) < 0.1 and abs(r.dy - truth[1]) < 0.1


@pytest.mark.parametrize("depth", [8, 10])
def test_plain_align_follows_the_background_under_big_credits(tmp_path: Path, capsys,
                                                               depth: int) -> None:
    # tall credit lines scrolling up at their own speed: a second large textured layer
    scene = make_scene(SCENES["credits"], n=N, h=H, w=W, credit_size=0.14, credit_speed=2.0)
    clip = scene.encode(tmp_path / "credits.mkv", depth)
    assert main(["align", str(clip), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [f["index"] for f in data["frames"]] == list(range(N)) and data["left_out"] == []
    assert _offsets_error(data, scene) < 0.1


def test_plain_align_through_dirty_edges_and_a_fade(tmp_path: Path, capsys) -> None:
    # a black strip, a strip of fresh noise and a grey line stay on screen at the frame
    # edges while the shot fades in from black (gain 0.25 -> 1)
    scene = make_scene(("edges", "fade"), n=N, h=H, w=W)
    clip = scene.encode(tmp_path / "dirty.mkv", 10)
    assert main(["align", str(clip), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [f["index"] for f in data["frames"]] == list(range(N)) and data["left_out"] == []
    assert _offsets_error(data, scene) < 0.1

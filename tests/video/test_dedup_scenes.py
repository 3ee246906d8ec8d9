"""Dedup (animation on twos, small local changes kept) and scene cuts."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from overmix.video import open_video
from overmix.video.scenes import detect_cuts, scenes_from_cuts
from tests.videogen import draw_scene, encode_video, rgb_to_yuv_codes


def _held_clip(tmp_path: Path) -> tuple[Path, list[tuple[np.ndarray, ...]], list[int]]:
    """Drawings held on twos/threes, one drawing differing only by a small 'mouth' patch."""
    base = draw_scene(64, 96, 11)
    drawings = []
    for k in range(6):
        img = draw_scene(64, 96, 11, shift=(0.0, 4.0 * k))
        drawings.append(img)
    mouth = drawings[2].copy()
    mouth[40:46, 50:58] = [0.9, 0.2, 0.2]  # only 48 px of 6144 change
    drawings.insert(3, mouth)
    holds = [2, 3, 2, 2, 3, 2, 2]
    frames, truth = [], []
    for i, (img, n) in enumerate(zip(drawings, holds, strict=True)):
        for _ in range(n):
            frames.append(rgb_to_yuv_codes(img, "709", False, 8, (2, 2)))
            truth.append(i)
    del base
    path = encode_video(tmp_path / "held.mkv", frames, "libx264", "yuv420p",
                        options={"crf": "20"}, codec_options={"max_b_frames": 2})
    return path, [rgb_to_yuv_codes(d, "709", False, 8, (2, 2)) for d in drawings], truth


def test_dedup_keeps_each_drawing_once(tmp_path: Path) -> None:
    path, drawings, truth = _held_clip(tmp_path)
    src = open_video(path, dedup=True, ivtc="off")
    out = list(src)
    assert len(out) == len(drawings)
    assert [f.index for f in out] == list(range(len(drawings)))
    for k, f in enumerate(out):
        errs = [np.mean(np.abs(f.planes[0].astype(float) - d[0])) for d in drawings]
        assert int(np.argmin(errs)) == k
    log = src.info["dedup"]
    assert log["kept"] == len(drawings) and log["dropped"] == len(truth) - len(drawings)
    assert len(log["frames"]) == len(truth)
    kept = [e["ordinal"] for e in log["frames"] if e["kept"]]
    assert kept == [truth.index(i) for i in range(len(drawings))]
    dropped = [e for e in log["frames"] if not e["kept"]]
    assert all(e["duplicate_of"] is not None and e["metric"] <= e["threshold"] for e in dropped)
    # a range counts kept frames
    part = list(open_video(path, dedup=True, ivtc="off", start=2, end=5))
    assert [f.index for f in part] == [2, 3, 4]
    assert all(np.array_equal(a.planes[0], out[a.index].planes[0]) for a in part)


def test_dedup_threshold_override(tmp_path: Path) -> None:
    path, drawings, truth = _held_clip(tmp_path)
    # a huge threshold treats everything after the first frame as a duplicate
    assert len(list(open_video(path, dedup=True, dedup_threshold=1e6, ivtc="off"))) == 1
    # zero keeps every frame that differs at all
    n0 = len(list(open_video(path, dedup=True, dedup_threshold=0.0, ivtc="off")))
    assert len(drawings) <= n0 <= len(truth)


def test_scene_cuts(clip) -> None:
    path = clip("cuts.mkv", n=36, cut_every=12, codec="libx264", pix_fmt="yuv420p10le")
    cuts, n = detect_cuts(open_video(path, ivtc="off"))
    assert n == 36
    assert [c.index for c in cuts] == [12, 24]
    assert abs(cuts[0].time - 12 * 1001 / 24000) < 1e-3
    scenes = scenes_from_cuts(cuts, n)
    assert [(s.start, s.end) for s in scenes] == [(0, 12), (12, 24), (24, 36)]


def test_no_cuts_in_a_pan(clip) -> None:
    path = clip("pan_nocut.mkv", n=30, codec="libx264", pix_fmt="yuv420p")
    cuts, n = detect_cuts(open_video(path, ivtc="off"))
    assert n == 30 and cuts == []

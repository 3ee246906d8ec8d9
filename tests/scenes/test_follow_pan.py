"""Issue #12: plain ``overmix stitch`` follows the background's motion when the camera follows
a character (the head fixed on screen, redrawn on twos, while the background pans behind it).

Between two frames that show the same head drawing, the head (fixed on screen) is the most
textured region and says "no motion"; the background, the larger region over time, pans. The
truth is the generator's (:mod:`tests.scenes.headturn`), independent of the code under test.
Where the two regions are about as large, the command must say so (one warning line) rather
than be silently wrong.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from overmix.cli import main


def _offsets(js: dict) -> tuple[list[int], np.ndarray]:
    frames = js["frames"] if "frames" in js and isinstance(js["frames"], list) else (
        js["offsets"]["frames"])
    return [f["index"] for f in frames], np.array([[f["x"], f["y"]] for f in frames])


def test_camera_following_a_head_gives_the_background_pan(tmp_path: Path, capsys) -> None:
    from tests.scenes.headturn import make_headturn

    sc = make_headturn(10, 212, 320, step=(1.9, 0.4), follow=True)
    clip = sc.encode(tmp_path / "follow.mpg", "mpeg2video", bitrate=2_500_000)
    assert main(["stitch", str(clip), "-o", str(tmp_path / "still.png"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["used_frames"] == list(range(10))
    xy = np.array([[f["x"], f["y"]] for f in summary["offsets"]["frames"]])
    # the pan reaches 17.4 px: a still camera (every offset 0) is far off
    assert np.abs(xy - sc.xy).max() < 0.3
    assert summary["follow"]["followed"] is True


# 360x240, 10 frames: (codec, step, hold, head area, sideways sway px, seed). The first has
# pairs across drawing changes that see the pan; in the others the head also sways sideways
# as it turns (the pairs across drawing changes match it too): tiles of the longest pairs
# tell the larger region, and in the MPEG-2 one nothing disagrees with the head's motion
# (the camera seems to stand still: a few long pairs are probed for a second motion).
CASES = {
    "x264-held-head": ("libx264", (1.086, 0.006), 2, 0.295, 0.0, 4),
    "x264-swaying-head": ("libx264", (1.637, 1.112), 3, 0.445, 6.0, 10),
    "mpeg2-swaying-head": ("mpeg2video", (-0.872, 2.361), 2, 0.415, 6.0, 12),
}


@pytest.mark.parametrize("case", list(CASES))
def test_follow_pan_8bit(tmp_path: Path, capsys, case: str) -> None:
    from tests.scenes.headturn import make_headturn

    codec, step, hold, area, sway, seed = CASES[case]
    sc = make_headturn(10, 240, 360, step=step, hold=hold, area=area, sway=sway, seed=seed)
    if codec == "libx264":
        clip = sc.encode(tmp_path / "follow.mkv", codec, crf=20)
    else:  # a DVD-like bit rate for the frame size
        clip = sc.encode(tmp_path / "follow.mpg", codec, bitrate=2_500_000)
    assert main(["align", str(clip), "--json"]) == 0
    js = json.loads(capsys.readouterr().out)
    idx, xy = _offsets(js)
    assert idx == list(range(10))
    assert np.abs(xy - sc.xy).max() < 0.3


# (codec, size (w, h), frames, step, hold, head area, sway, seed, right): plain ``overmix align``
# (motion auto) must either be right within 0.1 px or print one warning line saying the motion
# is ambiguous. ``right``: the case must be right, not only warned.
NEVER_WRONG = {
    # a character as large as the background that sways as it turns; its drawings hold
    # over pairs that disagree with the pan even once its tiles are left out
    "large-head": ("libx264", (360, 240), 10, (0.52, 1.262), 2, 0.365, 6.0, 3, False),
    # the follower's tiles, left in, read as a zoom (scale 0.97) to auto's motion check
    "not-a-zoom": ("libx264-10", (400, 300), 16, (-0.85, 0.65), 3, 0.45, 4.2, 202, True),
    # redrawn every frame on a DVD: the pan and the head cannot be told apart at the start,
    # and auto picked a zoom that dropped the follow check's warning
    "mpeg2-auto": ("mpeg2video", (480, 270), 8, (-0.96, 1.05), 1, 0.23, 0.0, 204, False),
    # a small swaying head pulls a few confident pairs 1.5 px off the pan (they warned, or
    # pulled the offsets): its tiles, left out, leave pairs that agree (no warning)
    "small-head-pulls": ("mpeg2video", (360, 240), 12, (0.15, -0.29), 1, 0.17, 4.7, 254, True),
    # a slow pan (0.67 px per frame) behind a swaying head held on twos: every pair's peak
    # merges the two motions, no pair disagrees, the offsets were 0.39 px off (0.59 after
    # the clean-still's realignment), silently; the tiles' check leaves the head out
    "slow-pull": ("libx264-10", (480, 270), 10, (-0.212, -0.631), 2, 0.233, 4.4, 871, False),
    # the camera stands still for every pair (a head as large as the background, held on
    # threes): its outlines make every peak of the whole frames' correlation, none is the
    # background's (the offsets stayed at 0, 16.8 px off, silently); the blocks' own peaks
    # give the pan
    "no-background-peak": ("libx264", (360, 240), 8, (2.37, -0.19), 3, 0.40, 0.0, 7, True),
    # a head redrawn every frame over a 2.5 px pan: parts of it held between neighbours, left
    # out, left fewer background tiles around the rest; the realignment had the lower pair
    # rms and was kept, 0.112 px off (the first offsets: 0.066), silently. The background's
    # tiles over the long pairs judge the two
    "held-realignment-worse": ("libx264", (360, 240), 12, (-0.441, 2.421), 1, 0.151, 0.0, 58,
                               True),
    # followed (its tiles' votes left out), held on threes: the parts of the head the votes
    # missed pulled the pairs within each hold, 0.107 px off, silently; the held check ran
    # only on what the offsets were measured without, and took the follower's masks as that
    "followed-held-rest": ("libx264", (400, 300), 10, (1.956, 0.661), 3, 0.26, 6.0, 801, True),
    # followed (aligned again without the head's tiles), held on threes: the long-jump
    # search's screen-fixed masks hold parts of the head, and the pull check without them
    # read 0.155 px where the offsets were 0.090 off (a false warning; bench_follow seed 3
    # case 1); after a follower's realignment the pull check leaves nothing out
    "followed-pull-unmasked": ("libx264", (360, 240), 11, (1.614, 1.399), 3, 0.279, 6.4, 517,
                               True),
    # a vertical pan behind a still head held on threes: the alignment is right (0.08 px),
    # but the clean still's moving parts (the changing hair) stay on screen; aligned again
    # without them, the still shoulders' sides, sliding along themselves, held the pan's
    # small sideways ease at zero: 0.167 px off, silently (bench_follow seed 6 case 20)
    "still-head-vertical-pan": ("mpeg2video", (480, 270), 11, (0.003, 2.19), 3, 0.154, 0.0,
                                268, True),
}


@pytest.mark.parametrize("case", list(NEVER_WRONG))
def test_a_follow_scene_is_never_silently_wrong(tmp_path: Path, capsys, case: str) -> None:
    """Either the offsets follow the background or one warning line says the motion is
    ambiguous."""
    from tests.scenes.headturn import make_headturn

    codec, (w, h), n, step, hold, area, sway, seed, right = NEVER_WRONG[case]
    sc = make_headturn(n, h, w, step=step, hold=hold, area=area, sway=sway, seed=seed)
    if codec == "mpeg2video":
        clip = sc.encode(tmp_path / "follow.mpg", codec, bitrate=2_500_000)
    else:
        clip = sc.encode(tmp_path / "follow.mkv", "libx264", crf=20,
                         depth=10 if codec.endswith("10") else 8)
    assert main(["align", str(clip), "--json"]) == 0
    out = capsys.readouterr()
    idx, xy = _offsets(json.loads(out.out))
    warned = [line for line in out.err.splitlines() if "ambiguous" in line]
    assert len(warned) <= 1
    err = np.abs((xy - xy[0]) - (sc.xy[idx] - sc.xy[idx[0]])).max()
    if right:
        assert err < 0.1 and not warned
    else:
        assert err < 0.1 or warned[0].startswith("overmix: warning:")

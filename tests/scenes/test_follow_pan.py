"""Issue #12: plain ``overmix stitch`` follows the background's motion when the camera follows
a character (the head fixed on screen, redrawn on twos, while the background pans behind it).

Between two frames that show the same head drawing, the head (fixed on screen) is the most
textured region and says "no motion"; the background, the larger region over time, pans. The
truth is the generator's (:mod:`tests.scenes.headturn`), independent of the code under test.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from overmix.cli import main


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

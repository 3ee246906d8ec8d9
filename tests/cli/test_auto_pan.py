"""`--motion auto` on pure camera pans (issue #16): codec noise must not read as a zoom.

A soft line-art pan with grain, H.264 10-bit crf 16, 480x270, 24 frames moving (14, 3) px per
frame (with sub-pixel jitter): before the honest significance test, ``overmix align`` picked a
zoom of scale 0.99984-1.00063 here. The truth is the generator's: no zoom, no rotation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from overmix.cli import main
from overmix.registration.transform import decide_motion
from tests.render.lit_pan import lit_pan
from tests.videogen import color_tags, encode_video, rgb_to_yuv_codes


@pytest.fixture(scope="module")
def pan_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    d = tmp_path_factory.mktemp("autopan")
    sc = lit_pan(n=24, h=270, w=480, step=(14.0, 3.0), lit=False)
    codes = [rgb_to_yuv_codes(np.clip(f, 0, 1), "709", False, 10, (2, 2)) for f in sc.rgb]
    path = encode_video(d / "pan.mkv", codes, codec="libx264", pix_fmt="yuv420p10le",
                        options={"crf": "16"}, tags=color_tags("709"))
    return path, sc.xy


def test_align_of_a_pure_pan_is_translation(pan_clip, tmp_path: Path) -> None:
    path, xy = pan_clip
    out = tmp_path / "off.json"
    assert main(["align", str(path), "-o", str(out), "--quiet"]) == 0
    off = json.loads(out.read_text())
    assert off["motion"] == "xy"
    assert all(f.get("scale", 1.0) == 1.0 and f.get("angle", 0.0) == 0.0
               for f in off["frames"])
    got = np.array([[f["x"], f["y"]] for f in off["frames"]])
    assert np.abs(got - xy).max() < 0.1  # the pan itself is still found


def _hops(rate: complex, noise: float, formal: float, seed: int, m: int = 3,
          span: int = 16) -> list[tuple[int, complex, float]]:
    rng = np.random.default_rng(seed)
    return [(span, rate * span + complex(*rng.normal(0, noise, 2)), formal) for _ in range(m)]


def test_decide_motion_needs_consistent_hops() -> None:
    corner = float(np.hypot(479, 269) / 2)
    # codec noise: hops of log-scale scattering 3e-4 about 0 with a formal error 10x too
    # small (as measured on 8-bit H.264), over the chain of >= 4 hops detect_motion measures
    # (5-6 hops at 480x270), or 3 hops whose formal error is 6x too small: never a zoom or a
    # rotation; nor over 10 hops whose formal error is far too small (their scatter counts)
    for seed in range(200):
        assert decide_motion(_hops(0j, 3e-4, 3e-5, seed, m=5), 40, corner)[0] == "xy"
        assert decide_motion(_hops(0j, 3e-4, 5e-5, seed), 40, corner)[0] == "xy"
        assert decide_motion(_hops(0j, 6e-4, 1e-6, seed, m=10), 160, corner)[0] == "xy"
    # a 3% zoom over 48 frames, same noise: a zoom, its size measured
    model, ds, da = decide_motion(_hops(np.log(1.03) / 48, 3e-4, 3e-5, 1), 48, corner)
    assert model == "zoom" and ds == pytest.approx(0.03, abs=2e-3) and abs(da) < 0.1  # noise only
    # 0.5 degrees over 48 frames: a similarity
    model, ds, da = decide_motion(_hops(1j * np.radians(0.5) / 48, 3e-4, 3e-5, 2), 48, corner)
    assert model == "similarity" and abs(da) == pytest.approx(0.5, abs=0.05)


@pytest.mark.parametrize("kind", ["pan", "zoom", "rotation"])
def test_auto_under_a_hardsub(kind: str) -> None:
    """A burned-in subtitle (screen-fixed) over a pan, a 3% zoom + pan or a 0.5 degree
    rotation + pan: auto picks xy / zoom / similarity and finds the generator's transforms."""
    from overmix.registration import align
    from tests.registration.zoomscenes import line_art, sample, zoom_track
    from tests.render.lit_pan import hardsub_mask

    h, w, n = 135, 240, 12
    kw = {"pan": dict(pan=(14.0, 3.0)), "zoom": dict(zoom=0.03, pan=(12.0, 4.0)),
          "rotation": dict(angle=0.5, pan=(12.0, 4.0))}[kind]
    tr = zoom_track(n, w=w, h=h, **kw)  # type: ignore[arg-type]
    scene = line_art(-80, -50, w + 80, h + 50, seed=11)
    sub = hardsub_mask(h, w)
    rng = np.random.default_rng(5)
    frames = []
    for t in tr:
        y = sample(scene, tuple(t), h, w, ss=2) + rng.normal(0, 0.012, (h, w))
        y[sub["fill"]], y[sub["edge"]] = 0.95, 0.05
        frames.append(y.astype(np.float32))
    off = align(frames, motion="auto")
    assert off.extra["motion"] == {"pan": "xy", "zoom": "zoom", "rotation": "similarity"}[kind]
    assert np.abs(off.scales - tr[:, 2]).max() < 1e-3
    assert np.abs(off.angles - tr[:, 3]).max() < 0.03
    assert np.abs(off.xy - tr[:, :2]).max() < 0.15

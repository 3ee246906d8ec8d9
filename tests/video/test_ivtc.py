"""IVTC: hard telecine made with FFmpeg's telecine filter comes back frame for frame."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from overmix.video import open_video
from overmix.video.ivtc import combing, weave
from tests.videogen import encode_video, pan_frames, rgb_to_yuv_codes, telecine


def _film(n: int, h: int, w: int, seed: int, depth: int = 8, matrix: str = "709"):
    rgbs = pan_frames(n, h, w, seed, step=(1.0, 3.0))
    return [rgb_to_yuv_codes(x, matrix, False, depth, (2, 2)) for x in rgbs]


def _psnr(a: np.ndarray, b: np.ndarray, peak: float = 255.0) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(peak**2 / mse)


@pytest.mark.parametrize("first_field", ["top", "bottom"])
@pytest.mark.parametrize("mode", ["auto", "on"])
def test_lossless_telecine_round_trip(tmp_path: Path, first_field: str, mode: str) -> None:
    film = _film(24, 64, 96, 1)
    tc = telecine(film, "yuv420p", first_field)
    assert len(tc) == 30
    path = encode_video(tmp_path / "tc.mkv", tc, "ffv1", "yuv420p", Fraction(30000, 1001),
                        interlaced=True, tff=first_field == "top")
    src = open_video(path, ivtc=mode)
    assert src.ivtc_decision["mode"] == "hard"
    assert src.ivtc_decision["field_order"] == ("tff" if first_field == "top" else "bff")
    out = list(src)
    # every film frame back, bit-identical (all planes), in order, none twice
    assert len(out) == len(film)
    for k, (f, ref) in enumerate(zip(out, film, strict=True)):
        assert f.index == k
        for a, b in zip(f.planes, ref, strict=True):
            assert np.array_equal(a, b), (k, first_field)
    assert src.rate == Fraction(24000, 1001)
    kept = "t" if first_field == "top" else "b"
    assert all(kept in f.fields.split("+")[0] for f in out)
    assert "drop phase" in src.info["ivtc"]["result"]["pattern"]
    assert len(src.info["ivtc"]["result"]["dropped"]) == 6


def test_field_order_override_and_off(tmp_path: Path) -> None:
    film = _film(16, 64, 96, 4)
    tc = telecine(film, "yuv420p", "top")
    path = encode_video(tmp_path / "tc.mkv", tc, "ffv1", "yuv420p", Fraction(30000, 1001),
                        interlaced=True, tff=True)
    off = list(open_video(path, ivtc="off"))
    assert len(off) == 20  # the telecined frames as coded
    forced = list(open_video(path, ivtc="on", field_order="tff"))
    assert len(forced) == 16
    assert all(np.array_equal(a.planes[0], b[0]) for a, b in zip(forced, film, strict=True))


def test_ten_bit_telecine(tmp_path: Path) -> None:
    film = _film(12, 64, 96, 5, depth=10)
    tc = telecine(film, "yuv420p10le", "top")
    path = encode_video(tmp_path / "tc10.mkv", tc, "ffv1", "yuv420p10le",
                        Fraction(30000, 1001), interlaced=True, tff=True)
    out = list(open_video(path, ivtc="on"))
    assert len(out) == 12
    assert all(all(np.array_equal(a, b) for a, b in zip(f.planes, r, strict=True))
               for f, r in zip(out, film, strict=True))


@pytest.mark.parametrize("first_field", ["top", "bottom"])
def test_mpeg2_telecine_matches_source(tmp_path: Path, first_field: str) -> None:
    film = _film(24, 96, 160, 2, matrix="601")
    tc = telecine(film, "yuv420p", first_field)
    path = encode_video(tmp_path / "tc.ts", tc, "mpeg2video", "yuv420p", Fraction(30000, 1001),
                        interlaced=True, tff=first_field == "top", container_format="mpegts",
                        codec_options={"bit_rate": 8_000_000, "max_b_frames": 2}, gop=12)
    src = open_video(path)  # auto must find it
    assert src.ivtc_decision["mode"] == "hard"
    out = list(src)
    assert len(out) == 24
    for k, f in enumerate(out):
        scores = [_psnr(f.planes[0], r[0]) for r in film]
        assert int(np.argmax(scores)) == k
        assert scores[k] >= 40.0


def test_progressive_clip_auto_is_off(clip) -> None:
    path = clip("prog_ivtc.mkv", n=24, codec="libx264", pix_fmt="yuv420p")
    src = open_video(path)
    assert src.ivtc_decision["mode"] == "off"
    assert "progressive" in src.ivtc_decision["reason"]
    assert len(list(src)) == 24
    # FFV1 does not say: the combing analysis runs and finds nothing to fix
    path = clip("prog_ivtc_ffv1.mkv", n=24, codec="ffv1", pix_fmt="yuv420p")
    src = open_video(path)
    assert src.ivtc_decision["mode"] == "off"
    assert src.ivtc_decision["analysed_frames"] == 24
    assert len(list(src)) == 24


def test_combing_metric_and_chroma_parity() -> None:
    film = _film(2, 64, 96, 7)
    a, b = film
    woven = np.array(a[0])
    woven[1::2] = b[0][1::2]
    # mixing two moments combs; a clean frame does not
    assert combing(woven.astype(np.float32) / 255) > 3 * combing(a[0].astype(np.float32) / 255)

    class F:
        def __init__(self, planes):
            self.planes = planes

    planes = weave(F(a), F(b), 0)
    # chroma rows follow field parity too: odd chroma rows from b, even from a
    assert np.array_equal(planes[1][0::2], a[1][0::2])
    assert np.array_equal(planes[1][1::2], b[1][1::2])


@pytest.mark.parametrize("skip", [1, 4])
def test_telecine_starting_mid_cycle(tmp_path: Path, skip: int) -> None:
    """A clip cut out of a telecined stream: each film frame present comes back once."""
    film = _film(24, 64, 96, 1)
    tc = telecine(film, "yuv420p", "top")[skip:]
    path = encode_video(tmp_path / "mid.mkv", tc, "ffv1", "yuv420p", Fraction(30000, 1001),
                        interlaced=True, tff=True)
    out = list(open_video(path))
    ids = [int(np.argmin([np.abs(f.planes[0].astype(int) - r[0]).sum() for r in film]))
           for f in out]
    assert ids == list(range(ids[0], 24)) and ids[0] <= 3
    for f, i in zip(out, ids, strict=True):
        assert all(np.array_equal(a, b) for a, b in zip(f.planes, film[i], strict=True))


def test_true_interlaced_video_is_not_telecine(tmp_path: Path) -> None:
    """60i camera-style video (every field a new moment): auto leaves it alone."""
    moments = _film(40, 64, 96, 2)
    woven = []
    for k in range(20):
        a, b = moments[2 * k], moments[2 * k + 1]
        woven.append(tuple(np.where((np.arange(p.shape[0]) % 2 == 0)[:, None], p, q)
                           for p, q in zip(a, b, strict=True)))
    path = encode_video(tmp_path / "i60.mkv", woven, "ffv1", "yuv420p", Fraction(30000, 1001),
                        interlaced=True, tff=True)
    src = open_video(path)
    assert src.ivtc_decision["mode"] == "off"
    assert len(list(src)) == 20


def test_h264_mbaff_telecine(tmp_path: Path) -> None:
    film = _film(16, 96, 160, 2)
    path = encode_video(tmp_path / "tc264.ts", telecine(film), "libx264", "yuv420p",
                        Fraction(30000, 1001), interlaced=True, tff=True,
                        container_format="mpegts", options={"x264-params": "tff=1",
                                                            "crf": "14"})
    src = open_video(path)
    assert src.ivtc_decision["mode"] == "hard"
    out = list(src)
    assert len(out) == 16
    for k, f in enumerate(out):
        scores = [_psnr(f.planes[0], r[0]) for r in film]
        assert int(np.argmax(scores)) == k and scores[k] >= 40.0

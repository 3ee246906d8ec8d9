"""Decoding: raw planes bit-exact vs PyAV, colour tags, counts, seeking, bad input."""

from __future__ import annotations

import hashlib
import random
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from overmix.cli.info import video_rows
from overmix.color.spec import ChromaLocation, ColorInfo, Matrix, Primaries, Range, Transfer
from overmix.errors import InputError, RangeError, UnsupportedError
from overmix.frame import Family
from overmix.video import open_video, probe
from overmix.video.pixfmt import frame_planes, pix_spec
from tests.video.conftest import pyav_planes
from tests.videogen import draw_scene, planes_to_frame, rgb_to_yuv_codes

CASES = {
    # name: (make_clip kwargs, expected ColorInfo fields)
    "h264_8_709_lim.mkv": (dict(codec="libx264", pix_fmt="yuv420p", matrix="709",
                                options={"crf": "18"}, codec_options={"max_b_frames": 2}),
                           dict(matrix=Matrix.BT709, range=Range.LIMITED, bit_depth=8)),
    "h264_10_709_full.mkv": (dict(codec="libx264", pix_fmt="yuv420p10le", matrix="709",
                                  full=True, options={"crf": "18"}),
                             dict(matrix=Matrix.BT709, range=Range.FULL, bit_depth=10)),
    "h264_8_601_full_untagged.mp4": (dict(codec="libx264", pix_fmt="yuv420p", matrix="601",
                                          full=True, tagged=False),
                                     None),
    "ffv1_10_untagged.mkv": (dict(codec="ffv1", pix_fmt="yuv420p10le", tagged=False), None),
    "ffv1_12_422_601.mkv": (dict(codec="ffv1", pix_fmt="yuv422p12le", matrix="601"),
                            dict(matrix=Matrix.SMPTE170M, range=Range.LIMITED, bit_depth=12)),
    "mpeg2_601.ts": (dict(codec="mpeg2video", pix_fmt="yuv420p", matrix="601",
                          container_format="mpegts", codec_options={"max_b_frames": 2}),
                     dict(matrix=Matrix.SMPTE170M, range=Range.LIMITED, bit_depth=8)),
    "mpeg2_untagged.ts": (dict(codec="mpeg2video", pix_fmt="yuv420p", tagged=False,
                               container_format="mpegts"), None),
    "h264_444_709.mkv": (dict(codec="libx264", pix_fmt="yuv444p", matrix="709", full=True),
                         dict(matrix=Matrix.BT709, range=Range.FULL, bit_depth=8)),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_planes_bit_exact_and_colour(clip, name: str) -> None:
    kw, want = CASES[name]
    path = clip(name, n=14, **kw)
    ref = pyav_planes(path)
    info = probe(path)
    assert info.frame_count == len(ref) == 14
    assert not info.count_estimated
    src = open_video(path, ivtc="off")
    frames = list(src)
    assert len(frames) == len(ref)
    assert [f.index for f in frames] == list(range(len(ref)))
    for f, r in zip(frames, ref, strict=True):
        f.validate()
        assert len(f.planes) == len(r)
        for a, b in zip(f.planes, r, strict=True):
            assert a.dtype == b.dtype and a.shape == b.shape
            assert np.array_equal(a, b)
    assert src.info["lost_frames"] == 0
    if want is None:  # untagged: the DESIGN §4 guesses (64 px high -> BT.601, limited)
        assert src.color == ColorInfo.untagged(info.width, info.height, src.color.bit_depth)
        # (the MPEG-2 decoder reports limited range itself: range may count as tagged)
        assert all(info.guessed[k] for k in ("matrix", "transfer", "primaries"))
    else:
        for k, v in want.items():
            assert getattr(src.color, k) == v, k
        assert not info.guessed["matrix"] and not info.guessed["range"]
    assert src.color.chroma_location == ChromaLocation.LEFT
    # times are seconds from the first frame, monotone
    times = [f.time for f in frames]
    assert times[0] == 0.0 and all(b > a for a, b in zip(times, times[1:], strict=False))


def test_probe_fields(clip) -> None:
    path = clip("h264_10_709_full.mkv", n=14, **CASES["h264_10_709_full.mkv"][0])
    info = probe(path)
    assert info.codec == "h264" and info.profile == "High 10"
    assert info.pix_fmt == "yuv420p10le" and (info.width, info.height) == (96, 64)
    assert info.rate == Fraction(24000, 1001)
    assert info.duration == pytest.approx(14 * 1001 / 24000, abs=2e-3)
    j = info.to_json()
    assert j["color"]["range"] == "full" and j["frame_count"] == 14
    labels = [r[0] for r in video_rows(j)]
    assert {"codec", "pixel format", "frames", "matrix", "range", "telecine"} <= set(labels)


def _frame_for(pix_fmt: str, src_fmt: str, depth: int) -> tuple[av.VideoFrame, list[np.ndarray]]:
    rgb = draw_scene(34, 50, 3)
    sub = (1, 1) if "444" in src_fmt else (2, 2)
    planes = list(rgb_to_yuv_codes(rgb, "709", False, depth, sub))
    fr = planes_to_frame(planes, src_fmt)
    return fr.reformat(format=pix_fmt), planes


@pytest.mark.parametrize("pix_fmt,src_fmt,depth", [
    ("nv12", "yuv420p", 8), ("nv21", "yuv420p", 8), ("p010le", "yuv420p10le", 10),
    ("p010be", "yuv420p10le", 10), ("yuv420p10be", "yuv420p10le", 10),
    ("yuv444p16be", "yuv444p16le", 16),
])
def test_semi_planar_and_big_endian(pix_fmt: str, src_fmt: str, depth: int) -> None:
    """nv12/p010 are de-interleaved (p010 shifted down to 10 bits), big-endian swapped."""
    fr, planes = _frame_for(pix_fmt, src_fmt, depth)
    spec = pix_spec(pix_fmt)
    assert spec.depth == depth
    got, alpha = frame_planes(fr, spec)
    assert alpha is None
    for a, b in zip(got, planes, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)


def test_gbrp_reordered_to_rgb() -> None:
    r, g, b = (np.full((8, 10), v, np.uint16) for v in (100, 200, 300))
    fr = planes_to_frame([g, b, r], "gbrp10le")  # FFmpeg plane order G, B, R
    spec = pix_spec("gbrp10le")
    assert spec.layout.family == Family.RGB
    got, _ = frame_planes(fr, spec)
    assert [int(p[0, 0]) for p in got] == [100, 200, 300]


def test_yuvj_is_full_and_gray() -> None:
    assert pix_spec("yuvj420p").full_range
    assert pix_spec("gray10le").layout.family == Family.GRAY
    with pytest.raises(UnsupportedError, match="rgb24"):
        pix_spec("rgb24")
    with pytest.raises(UnsupportedError, match="yuyv422"):
        pix_spec("yuyv422")


def _hashes(frames) -> list[str]:
    return [hashlib.sha1(b"".join(p.tobytes() for p in f.planes)).hexdigest() for f in frames]


@pytest.mark.parametrize("name,kw", [
    ("seek.mkv", dict(codec="libx264", pix_fmt="yuv420p10le", gop=8,
                      codec_options={"max_b_frames": 2})),
    ("seek.ts", dict(codec="mpeg2video", pix_fmt="yuv420p", container_format="mpegts", gop=8,
                     codec_options={"max_b_frames": 2})),
    ("seek264.ts", dict(codec="libx264", pix_fmt="yuv420p", container_format="mpegts", gop=8,
                        options={"x264-params": "open-gop=1:bframes=3"})),
])
def test_seek_ranges_match_linear_decode(clip, name: str, kw: dict) -> None:
    path = clip(name, n=40, **kw)
    full = _hashes(open_video(path, ivtc="off"))
    assert len(full) == 40
    rnd = random.Random(7)
    for _ in range(20):
        a = rnd.randrange(0, 39)
        b = rnd.randrange(a + 1, 41)
        got = list(open_video(path, start=a, end=b, ivtc="off"))
        assert [f.index for f in got] == list(range(a, b))
        assert _hashes(got) == full[a:b], (a, b)
    # by time: 1.0 s = first frame at or after 1.0 s = ceil(23.976) = 24
    got = list(open_video(path, start="1.0", frames=3, ivtc="off"))
    assert [f.index for f in got] == [24, 25, 26]
    assert _hashes(got) == full[24:27]


def test_not_a_video(tmp_path: Path) -> None:
    p = tmp_path / "notes.mkv"
    p.write_text("this is not a video\n" * 20)
    with pytest.raises(InputError, match="not a video"):
        probe(p)
    with pytest.raises(InputError, match="no such file"):
        open_video(tmp_path / "missing.mkv")


def test_no_video_stream(tmp_path: Path) -> None:
    p = tmp_path / "audio.wav"
    with av.open(str(p), "w") as out:
        s = out.add_stream("pcm_s16le", rate=8000)
        s.layout = "mono"
        fr = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16",
                                        layout="mono")
        fr.sample_rate = 8000
        for pkt in s.encode(fr):
            out.mux(pkt)
        for pkt in s.encode(None):
            out.mux(pkt)
    with pytest.raises(InputError, match="no video stream"):
        open_video(p)


def test_truncated_file_counts_lost_frames(clip, tmp_path: Path) -> None:
    path = clip("trunc_src.mkv", n=40, codec="ffv1", pix_fmt="yuv420p")
    data = path.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    src = open_video(cut, ivtc="off")
    frames = list(src)
    ref = pyav_planes(path)
    assert 10 < len(frames) < 40
    # what is there is right
    for f in frames:
        assert all(np.array_equal(a, b) for a, b in zip(f.planes, ref[f.index], strict=True))
    assert src.info["lost_frames"] == 40 - len(frames)


def test_range_errors(clip) -> None:
    path = clip("h264_8_709_lim.mkv", n=14, **CASES["h264_8_709_lim.mkv"][0])
    with pytest.raises(RangeError, match="beyond"):
        open_video(path, start=20)
    with pytest.raises(RangeError, match="empty range"):
        open_video(path, start=8, end=3)
    with pytest.raises(RangeError):
        open_video(path, start="30s")
    # end past the end is clipped
    assert len(list(open_video(path, start=10, end=100, ivtc="off"))) == 4


def test_transfer_tagged(clip) -> None:
    path = clip("ffv1_12_422_601.mkv", n=14, **CASES["ffv1_12_422_601.mkv"][0])
    c = open_video(path).color
    assert c.transfer == Transfer.SMPTE170M and c.primaries == Primaries.SMPTE170M
    assert open_video(path).layout.name == "yuv422"


def test_bad_seek_falls_back_to_linear_decode(clip, monkeypatch) -> None:
    """A seek that lands after the target is detected and the frames still come right."""
    from overmix.frame import FrameSource
    from overmix.video import source as decode

    path = clip("seek.mkv", n=40, codec="libx264", pix_fmt="yuv420p10le", gop=8,
                codec_options={"max_b_frames": 2})
    full = _hashes(open_video(path, ivtc="off"))
    real = decode._Decoder.frames
    late = decode.packet_index(path, 0).pts[-1]
    seeks: list[int | None] = []

    def wrong_seek(self, seek_pts=None):
        seeks.append(seek_pts)
        return real(self, None if seek_pts is None else late)  # always lands at the end

    monkeypatch.setattr(decode._Decoder, "frames", wrong_seek)
    src = open_video(path, start=13, end=17, ivtc="off")
    assert isinstance(src, FrameSource)
    got = list(src)
    assert [f.index for f in got] == [13, 14, 15, 16]
    assert _hashes(got) == full[13:17]
    assert seeks[-1] is None and any(s is not None for s in seeks)


def test_gray_and_planar_rgb_videos(tmp_path: Path) -> None:
    from tests.videogen import encode_video

    g = [(np.full((64, 96), 10 * v, np.uint16),) for v in range(5)]
    src = open_video(encode_video(tmp_path / "g.mkv", g, "ffv1", "gray10le"))
    frames = list(src)
    assert src.layout.family == Family.GRAY and src.color.matrix == Matrix.GRAY
    assert [int(f.planes[0][5, 5]) for f in frames] == [0, 10, 20, 30, 40]
    gbr = [tuple(np.full((64, 96), v, np.uint16) for v in (100, 200, 300))] * 4  # G, B, R
    src = open_video(encode_video(tmp_path / "rgb.mkv", gbr, "ffv1", "gbrp10le"))
    f = next(iter(src))
    assert src.layout.family == Family.RGB and src.color.matrix == Matrix.RGB
    assert src.color.range == Range.FULL
    assert [int(p[0, 0]) for p in f.planes] == [300, 100, 200]  # R, G, B


def test_mjpeg_yuvj_is_full_range_centre_sited(clip) -> None:
    path = clip("mjpeg.avi", n=6, codec="mjpeg", pix_fmt="yuvj420p", tagged=False, full=True)
    ref = pyav_planes(path)
    src = open_video(path)
    frames = list(src)
    assert len(frames) == len(ref) == 6
    assert all(all(np.array_equal(a, b) for a, b in zip(f.planes, r, strict=True))
               for f, r in zip(frames, ref, strict=True))
    assert src.color.range == Range.FULL
    assert src.color.chroma_location == ChromaLocation.CENTER


@pytest.mark.parametrize("name,kw", [
    ("corrupt.mkv", dict(codec="ffv1", pix_fmt="yuv420p")),
    ("corrupt.ts", dict(codec="mpeg2video", pix_fmt="yuv420p", container_format="mpegts")),
])
def test_corrupt_middle_is_counted(clip, tmp_path: Path, name: str, kw: dict) -> None:
    path = clip(name, n=40, **kw)
    data = bytearray(path.read_bytes())
    start = len(data) // 3
    data[start:start + 3000] = b"\x55" * 3000
    bad = tmp_path / name
    bad.write_bytes(bytes(data))
    src = open_video(bad, ivtc="off")
    frames = list(src)
    assert 20 < len(frames) < 40
    assert src.info["lost_frames"] == 40 - len(frames)

"""``overmix dump``: files, manifest, ranges, scenes, IVTC/dedup records, errors, cleanup."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

import dumpfmt
from overmix.cli import main
from tests.videogen import encode_video, make_clip, pan_frames, rgb_to_yuv_codes, telecine


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("dumpclips")
    return {
        "hi10": make_clip(d / "hi10.mkv", n=20, codec="libx264", pix_fmt="yuv420p10le",
                          gop=6, codec_options={"max_b_frames": 2}),
        "ts": make_clip(d / "m2.ts", n=20, codec="mpeg2video", pix_fmt="yuv420p",
                        matrix="601", container_format="mpegts", gop=6),
        "cuts": make_clip(d / "cuts.mkv", n=30, codec="libx264", pix_fmt="yuv420p",
                          cut_every=10),
    }


def _ref(path: Path) -> list[list[np.ndarray]]:
    with av.open(str(path)) as c:
        return [[np.array(np.from_dlpack(p)) for p in f.planes] for f in c.decode(video=0)]


def test_dump_whole_video(clips, tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["dump", str(clips["hi10"]), "-o", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [f"{i:06d}.dump" for i in range(20)] + ["scene.json"]
    ref = _ref(clips["hi10"])
    for i in (0, 7, 19):  # native 10-bit codes, zlib
        d = dumpfmt.read(out / f"{i:06d}.dump")
        assert all(np.array_equal(a, b) for a, b in zip(d.planes, ref[i], strict=True))
        assert d.planes[0].dtype == np.uint16 and d.depths[0] == 10
        assert d.compressions[0] == "zlib"
    man = json.loads((out / "scene.json").read_text())
    assert man["color"]["bit_depth"] == 10 and man["color"]["matrix"] == "bt709"
    assert man["frame_rate"] == "24000/1001"
    assert [f["index"] for f in man["frames"]] == list(range(20))
    assert man["frames"][0]["key_frame"] is True and man["frames"][0]["time"] == 0.0
    assert {"file", "pts", "time", "key_frame", "fields"} <= set(man["frames"][5])
    assert man["ivtc"]["mode"] == "off" and man["dedup"]["enabled"] is False
    assert not any(p.name.startswith(".") for p in out.iterdir())


@pytest.mark.parametrize("comp", ["xz", "none"])
def test_dump_range_and_compression(clips, tmp_path: Path, comp: str) -> None:
    out = tmp_path / comp
    assert main(["dump", str(clips["ts"]), "-o", str(out), "--start", "5", "--frames", "4",
                 "--compress", comp, "--level", "1"]) == 0
    ref = _ref(clips["ts"])
    files = sorted(out.glob("*.dump"))
    assert [f.name for f in files] == [f"{i:06d}.dump" for i in range(5, 9)]
    for f in files:
        d = dumpfmt.read(f)
        assert d.compressions[0] == comp
        i = int(f.stem)
        assert all(np.array_equal(a, b) for a, b in zip(d.planes, ref[i], strict=True))
    man = json.loads((out / "scene.json").read_text())
    assert man["color"]["matrix"] == "smpte170m"


def test_dump_by_time(clips, tmp_path: Path) -> None:
    out = tmp_path / "t"
    assert main(["dump", str(clips["hi10"]), "-o", str(out), "--start", "0.5",
                 "--end", "0.6s"]) == 0
    # frames at or after 0.5 s and before 0.6 s at 23.976 fps: 12, 13, 14
    assert sorted(p.name for p in out.glob("*.dump")) == ["000012.dump", "000013.dump",
                                                          "000014.dump"]


def test_dump_scene(clips, tmp_path: Path) -> None:
    out = tmp_path / "s"
    assert main(["dump", str(clips["cuts"]), "-o", str(out), "--scene", "1"]) == 0
    assert sorted(p.name for p in out.glob("*.dump")) == [f"{i:06d}.dump"
                                                          for i in range(10, 20)]
    man = json.loads((out / "scene.json").read_text())
    assert man["scene"]["scene"] == 1 and man["scene"]["of"] == 3


def test_dump_ivtc_records_fields(tmp_path: Path) -> None:
    film = [rgb_to_yuv_codes(x, "709", False, 8, (2, 2)) for x in pan_frames(12, 64, 96, 3)]
    src = encode_video(tmp_path / "tc.mkv", telecine(film), "ffv1", "yuv420p",
                       Fraction(30000, 1001), interlaced=True, tff=True)
    out = tmp_path / "o"
    assert main(["dump", str(src), "-o", str(out), "--ivtc", "on"]) == 0
    man = json.loads((out / "scene.json").read_text())
    assert len(man["frames"]) == 12 and man["frame_rate"] == "24000/1001"
    assert man["ivtc"]["mode"] == "hard" and man["ivtc"]["result"]["dropped"]
    assert all("t+" in f["fields"] for f in man["frames"])
    d = dumpfmt.read(out / "000005.dump")
    assert all(np.array_equal(a, b) for a, b in zip(d.planes, film[5], strict=True))


def test_dump_dedup_recorded(clips, tmp_path: Path) -> None:
    out = tmp_path / "dd"
    assert main(["dump", str(clips["hi10"]), "-o", str(out), "--dedup",
                 "--dedup-threshold", "1e9"]) == 0
    man = json.loads((out / "scene.json").read_text())
    assert len(man["frames"]) == 1 and man["dedup"]["dropped"] == 19
    assert len(man["dedup"]["frames"]) == 20


def test_refuses_non_empty_folder(clips, tmp_path: Path, capsys) -> None:
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    assert main(["dump", str(clips["hi10"]), "-o", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("overmix: error:") and "not empty" in err and err.count("\n") == 1
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]
    assert main(["dump", str(clips["hi10"]), "-o", str(out), "--force", "--frames", "2"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["000000.dump", "000001.dump",
                                                     "keep.txt", "scene.json"]


@pytest.mark.parametrize("argv,msg", [
    (["--start", "50"], "beyond"),
    (["--start", "10", "--end", "5"], "empty range"),
    (["--stream", "3"], "video stream"),
])
def test_bad_ranges(clips, tmp_path: Path, capsys, argv: list[str], msg: str) -> None:
    out = tmp_path / "r"
    rc = main(["dump", str(clips["hi10"]), "-o", str(out), *argv])
    assert rc in (1, 2)
    err = capsys.readouterr().err
    assert err.startswith("overmix: error:") and msg in err and err.count("\n") == 1
    assert not out.exists()


def test_bad_inputs(tmp_path: Path, capsys) -> None:
    junk = tmp_path / "junk.mkv"
    junk.write_bytes(b"\x00garbage" * 100)
    out = tmp_path / "o"
    assert main(["dump", str(junk), "-o", str(out)]) == 1
    assert "not a video" in capsys.readouterr().err
    assert not out.exists()
    assert main(["dump", str(tmp_path / "none.mkv"), "-o", str(out)]) == 1
    assert "no such file" in capsys.readouterr().err
    assert not out.exists()


def test_truncated_video_warns(tmp_path: Path, capsys) -> None:
    src = make_clip(tmp_path / "full.mkv", n=30, codec="ffv1", pix_fmt="yuv420p")
    cut = tmp_path / "cut.mkv"
    data = src.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    out = tmp_path / "o"
    assert main(["dump", str(cut), "-o", str(out)]) == 0
    err = capsys.readouterr().err
    n = len(list(out.glob("*.dump")))
    assert 5 < n < 30
    assert f"{30 - n} frames could not be decoded" in err
    man = json.loads((out / "scene.json").read_text())
    assert man["lost_frames"] == 30 - n


def test_error_mid_run_leaves_nothing(clips, tmp_path: Path, monkeypatch, capsys) -> None:
    import overmix.commands.dump as dumpdir
    from overmix.errors import OutputError

    calls = {"n": 0}
    real = dumpdir.encode_frame

    def flaky(frame, **kw):
        calls["n"] += 1
        if calls["n"] == 6:
            raise OutputError("disk full (simulated)")
        return real(frame, **kw)

    monkeypatch.setattr(dumpdir, "encode_frame", flaky)
    out = tmp_path / "o"
    assert main(["dump", str(clips["hi10"]), "-o", str(out)]) == 1
    assert "disk full" in capsys.readouterr().err
    assert not out.exists()


def test_second_video_stream(tmp_path: Path, capsys) -> None:
    from tests.videogen import planes_to_frame

    path = tmp_path / "two.mkv"
    a = [rgb_to_yuv_codes(x, "709", False, 8, (2, 2)) for x in pan_frames(6, 64, 96, 1)]
    b = [rgb_to_yuv_codes(x, "709", False, 8, (2, 2)) for x in pan_frames(6, 32, 48, 2)]
    with av.open(str(path), "w") as out:
        streams = []
        for planes in (a, b):
            s = out.add_stream("ffv1", rate=24)
            s.height, s.width = planes[0][0].shape
            s.pix_fmt = "yuv420p"
            streams.append(s)
        for i in range(6):
            for s, planes in zip(streams, (a, b), strict=True):
                fr = planes_to_frame(planes[i], "yuv420p")
                fr.pts = i
                fr.time_base = Fraction(1, 24)
                for pkt in s.encode(fr):
                    out.mux(pkt)
        for s in streams:
            for pkt in s.encode(None):
                out.mux(pkt)
    out_dir = tmp_path / "o"
    assert main(["dump", str(path), "-o", str(out_dir), "--stream", "1"]) == 0
    d = dumpfmt.read(out_dir / "000003.dump")
    assert d.planes[0].shape == (32, 48)
    assert all(np.array_equal(x, y) for x, y in zip(d.planes, b[3], strict=True))
    assert json.loads((out_dir / "scene.json").read_text())["stream"] == 1
    assert main(["info", str(path), "--stream", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["width"] == 48

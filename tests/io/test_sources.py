"""open_source on dump files/folders (with and without scene.json), PNG/video delegation."""

from __future__ import annotations

import sys
import types
from fractions import Fraction

import numpy as np
import pytest

import dumpfmt
from overmix.color.spec import ChromaLocation, ColorInfo, Matrix, Primaries, Range, Transfer
from overmix.errors import InputError, RangeError, UsageError
from overmix.frame import Family, Frame, FrameSource, PlaneLayout
from overmix.io import sources
from overmix.io.manifest import Manifest, dump_name, format_rate, write_manifest
from overmix.io.sources import is_video_path, open_source

RATE = Fraction(24000, 1001)


def _write_folder(folder, n: int = 6, h: int = 10, w: int = 16, depth: int = 10,
                  manifest: bool = True, t0: float = 10.0) -> list[np.ndarray]:
    """n 4:2:0 dumps, frame k has Y filled with k (so order is checkable)."""
    folder.mkdir(exist_ok=True)
    ys = []
    for k in range(n):
        y = np.full((h, w), 100 + k, np.uint16)
        c = np.full((h // 2, w // 2), 512, np.uint16)
        dumpfmt.write(folder / dump_name(k), [y, c, c], depth=depth, transform=6)
        ys.append(y)
    if manifest:
        color = ColorInfo(Matrix.BT709, Range.FULL, Transfer.BT709, Primaries.BT709,
                          ChromaLocation.TOPLEFT, depth)
        write_manifest(folder, Manifest(
            color=color, source="clip.mkv", stream=0, frame_rate=format_rate(RATE),
            frames=[{"file": dump_name(k), "index": k, "pts": 1001 * k,
                     "time": t0 + k * float(1 / RATE), "key_frame": k % 3 == 0}
                    for k in range(n)]))
    return ys


def test_dump_folder_with_manifest(tmp_path) -> None:
    _write_folder(tmp_path / "d")
    (tmp_path / "d" / ".000003.dump.tmp-x.dump").write_bytes(b"half-written")  # skipped
    with open_source(tmp_path / "d") as src:
        assert isinstance(src, FrameSource)
        assert src.kind == "dumps" and src.count == 6 and src.rate == RATE
        assert src.color.range == Range.FULL and src.color.chroma_location == ChromaLocation.TOPLEFT
        assert src.info["color_from"] == "manifest" and src.layout.name == "yuv420"
        frames = list(src)
    assert [f.index for f in frames] == list(range(6))
    assert [int(f.planes[0][0, 0]) for f in frames] == [100 + k for k in range(6)]
    assert [f.key_frame for f in frames] == [True, False, False, True, False, False]
    assert frames[2].pts == 2002 and frames[2].time == pytest.approx(10 + 2 * 1001 / 24000)


def test_ranges_by_index_and_manifest_time(tmp_path) -> None:
    _write_folder(tmp_path / "d")
    src = open_source(tmp_path / "d", start=2, end=5)
    assert [f.index for f in src] == [2, 3, 4]
    src = open_source(tmp_path / "d", start=1, frames=2)
    assert [f.index for f in src] == [1, 2]
    # times are the manifest's (seconds since the video's first frame, as the video reader
    # counts them; this dump starts at 10 s, 24000/1001 fps): the first frame at or after
    src = open_source(tmp_path / "d", start="10.1s", end="10.2s")
    assert [f.index for f in src] == [3, 4]
    src = open_source(tmp_path / "d", start="10.125s", frames=1)  # frame 3 is at 10.1251 s
    assert [f.index for f in src] == [3]
    with pytest.raises(RangeError):
        open_source(tmp_path / "d", start=6)


def test_folder_without_manifest_uses_headers_and_rate_is_unknown(tmp_path) -> None:
    _write_folder(tmp_path / "d", manifest=False)
    src = open_source(tmp_path / "d")
    assert src.color.matrix == Matrix.BT470BG and src.info["color_from"] == "guess"
    assert src.rate is None
    with pytest.raises(UsageError, match="frame rate"):
        open_source(tmp_path / "d", start="0.5s")


def test_single_dump_uses_parent_manifest(tmp_path) -> None:
    _write_folder(tmp_path / "d", n=3)
    src = open_source(tmp_path / "d" / "000001.dump")
    (f,) = list(src)
    assert src.count == 1 and f.index == 1 and f.color.range == Range.FULL


def test_mixed_sizes_name_the_file(tmp_path) -> None:
    _write_folder(tmp_path / "d", n=3, manifest=False)
    y = np.zeros((12, 16), np.uint16)
    c = np.zeros((6, 8), np.uint16)
    dumpfmt.write(tmp_path / "d" / dump_name(3), [y, c, c], depth=10, transform=6)
    src = open_source(tmp_path / "d")
    with pytest.raises(InputError, match=r"000003\.dump: 16x12 yuv420 differs"):
        list(src)


def test_missing_empty_and_video_options(tmp_path) -> None:
    with pytest.raises(InputError, match="no such file or folder"):
        open_source(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no .dump or .png files"):
        open_source(tmp_path / "empty")
    _write_folder(tmp_path / "d", n=2)
    with pytest.raises(UsageError, match="--dedup"):
        open_source(tmp_path / "d", dedup=True)


def test_png_and_video_are_delegated(tmp_path, monkeypatch) -> None:
    calls = []

    def fake_read_png(path):
        calls.append(path.name)
        return Frame((np.zeros((4, 4), np.uint8),) * 3, PlaneLayout(Family.RGB, 1, 1),
                     ColorInfo(Matrix.RGB, Range.FULL, Transfer.IEC61966_2_1))

    mod = types.ModuleType("overmix.io.png")
    mod.read_png = fake_read_png  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "overmix.io.png", mod)
    monkeypatch.setattr(sys.modules["overmix.io"], "png", mod, raising=False)
    folder = tmp_path / "p"
    folder.mkdir()
    for name in ("10.png", "2.png", "1.png"):
        (folder / name).write_bytes(b"")
    src = open_source(folder, start=1)
    assert src.kind == "png" and [f.index for f in src] == [1, 2]
    assert calls[-2:] == ["2.png", "10.png"]  # natural order

    seen = {}

    def fake_open_video(path, **kw):
        seen.update(kw, path=path)
        return "video-source"

    monkeypatch.setattr(sources, "_video_opener", lambda: fake_open_video)
    vid = tmp_path / "clip.mkv"
    vid.write_bytes(b"x")
    assert open_source(vid, start="1s", ivtc="on", dedup=True) == "video-source"
    assert seen["start"] == "1s" and seen["ivtc"] == "on" and seen["dedup"] is True
    assert is_video_path(vid) and not is_video_path(folder) and not is_video_path("a.dump")


def test_real_png_folder(tmp_path) -> None:
    from overmix.io.png import write_png

    rng = np.random.default_rng(2)
    images = [rng.integers(0, 65536, (6, 9, 3)).astype(np.uint16) for _ in range(3)]
    for k, im in enumerate(images):
        write_png(tmp_path / f"shot{k + 1}.png", im)
    write_png(tmp_path / "shot10.png", np.zeros((5, 9, 3), np.uint16))  # other size, last
    src = open_source(tmp_path, end=3)
    assert src.kind == "png" and src.count == 3 and src.color.bit_depth == 16
    for f, im in zip(src, images, strict=True):
        for c in range(3):
            np.testing.assert_array_equal(f.planes[c], im[..., c])
    with pytest.raises(InputError, match=r"shot10\.png: 9x5 rgb 16-bit differs"):
        list(open_source(tmp_path))

"""overmix preview: contact sheets checked by pixel content (tiles, borders, captions)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import av
import numpy as np
import pytest

from overmix.cli import main
from overmix.commands import preview as pv
from overmix.io.png import read_png_array
from tests.videogen import encode_video, rgb_to_yuv_codes

N = 48
H, W = 72, 128


def palette(k: int) -> np.ndarray:
    """A distinct flat colour per frame (neighbours differ by >= 40 codes in some channel)."""
    r = (k * 37) % 200 + 30
    g = (k * 89) % 200 + 30
    b = (k % 6) * 40 + 20
    return np.array([r, g, b], dtype=np.float64) / 255


def flat_clip(path: Path, hold: int = 1, quadrant: bool = False) -> list[int]:
    """A lossless 48-frame clip of flat colours (colour changes every ``hold`` frames).

    With ``quadrant`` only the top-left quarter has the frame's colour (the rest is grey), so
    a change is local, as dedup expects of real motion.

    Returns the key frames as the container's packets flag them (ground truth from PyAV).
    """
    frames = []
    for k in range(N):
        rgb = np.broadcast_to(palette(k // hold), (H, W, 3))
        if quadrant:
            rgb = np.full((H, W, 3), 0.5)
            rgb[: H // 2, : W // 2] = palette(k // hold)
        frames.append(rgb_to_yuv_codes(rgb, "709"))
    encode_video(path, frames, "libx264", "yuv420p", options={"qp": "0",
                 "x264-params": "keyint=12:min-keyint=12:scenecut=0"},
                 tags={"colorspace": 1, "color_trc": 1, "color_primaries": 1, "color_range": 1})
    with av.open(str(path)) as c:
        st = c.streams.video[0]
        keys = sorted(round(float(p.pts * st.time_base * st.average_rate))
                      for p in c.demux(st) if p.pts is not None and p.is_keyframe)
    return keys


# "#1" drawn by hand (5x7 glyphs, 1 px apart) to check captions independently of the font table
HASH_ONE = np.array([[c == "#" for c in row] for row in (
    ".#.#....#..", ".#.#...##..", "#####...#..", ".#.#....#..", "#####...#..", ".#.#....#..",
    ".#.#...###.")], dtype=bool)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> tuple[Path, list[int]]:
    p = tmp_path_factory.mktemp("pv") / "flat.mp4"
    return p, flat_clip(p)


def _tile_geometry(k: int, columns: int, tw: int, th: int, lines: int) -> tuple[int, int]:
    tile_w, tile_h = tw + 2 * pv.BORDER, th + 2 * pv.BORDER + pv.PAD + lines * pv.LINE
    r, c = divmod(k, columns)
    return pv.MARGIN + c * (tile_w + pv.GAP), pv.MARGIN + r * (tile_h + pv.GAP)


def test_contact_sheet_pixels(clip, tmp_path, capsys):
    path, keys = clip
    assert keys[:2] == [0, 12]
    out = tmp_path / "sheet.png"
    assert main(["preview", str(path), "-o", str(out), "--columns", "6",
                 "--thumb-width", "32", "--json"]) == 0
    layout = json.loads(capsys.readouterr().out)
    img, depth = read_png_array(out)
    assert depth == 8 and img.shape[2] == 3
    tw, th, cols = 32, 18, 6  # 128x72 -> 32x18
    rows = math.ceil(N / cols)
    tile_w, tile_h = tw + 6, th + 6 + 2 + 9
    assert img.shape[:2] == (8 + rows * tile_h + (rows - 1) * 4, 8 + cols * tile_w + (cols - 1) * 4)
    assert [t["index"] for t in layout["tiles"]] == list(range(N))
    for k in range(N):
        x, y = _tile_geometry(k, cols, tw, th, 1)
        assert (layout["tiles"][k]["x"], layout["tiles"][k]["y"]) == (x, y)
        inner = img[y + 3 + 2:y + 3 + th - 2, x + 3 + 2:x + 3 + tw - 2].reshape(-1, 3)
        want = np.rint(palette(k) * 255)
        assert np.abs(inner.astype(float) - want).max() <= 3, (k, inner.mean(0), want)
        border = img[y + 1, x + 1]
        assert tuple(border) == (pv.KEY if k in keys else pv.PLAIN), (k, border)
        # caption: ink only in the caption strip, and "#1" exactly where tile 1's caption starts
        cap = img[y + th + 8:y + th + 15, x + 3:x + 3 + tw]
        assert (cap == pv.TEXT).all(axis=2).any()
    x, y = _tile_geometry(1, cols, tw, th, 1)
    ink = (img[y + th + 8:y + th + 15, x + 3:x + 3 + 11] == pv.TEXT).all(axis=2)
    assert np.array_equal(ink, HASH_ONE)


def test_every_and_range(clip, tmp_path):
    path, keys = clip
    out = tmp_path / "every.png"
    sheet = pv.contact_sheet(path, every=5, start=10, end=40, columns=4, thumb_width=16)
    pv.write_contact_sheet(sheet, out)
    img, _ = read_png_array(out)
    want = list(range(10, 40, 5))
    assert [t.index for t in sheet.tiles] == want
    for j, k in enumerate(want):
        x, y = _tile_geometry(j, 4, 16, 9, 1)
        centre = img[y + 3 + 4, x + 3 + 8].astype(float)
        assert np.abs(centre - np.rint(palette(k) * 255)).max() <= 3
        assert tuple(img[y, x]) == (pv.KEY if k in keys else pv.PLAIN)
        assert abs(sheet.tiles[j].time - k * 1001 / 24000) < 1e-3


def test_dedup_marks_dropped_frames(tmp_path):
    path = tmp_path / "twos.mp4"
    flat_clip(path, hold=2, quadrant=True)  # on twos: odd frames repeat their predecessor
    sheet = pv.contact_sheet(path, dedup=True, columns=8, thumb_width=16, end=16)
    img = sheet.image
    assert [t.dropped for t in sheet.tiles] == [k % 2 == 1 for k in range(16)]
    assert [t.duplicate_of for t in sheet.tiles if t.dropped] == list(range(0, 16, 2))
    for j, t in enumerate(sheet.tiles):
        x, y = _tile_geometry(j, 8, 16, 9, 2)
        assert (t.x, t.y) == (x, y)
        centre = img[y + 3 + 2, x + 3 + 4].astype(int)  # inside the coloured quarter
        if t.dropped:
            assert tuple(img[y + 1, x + 1]) == pv.DROPPED
            assert centre[0] == centre[1] == centre[2]  # greyed
        else:
            assert np.abs(centre - np.rint(palette(j // 2) * 255)).max() <= 3
        # two caption lines: the second has ink on dropped tiles ("dup N") only
        second = (img[y + 9 + 6 + 2 + 9:y + 9 + 6 + 2 + 16, x + 3:x + 19] == pv.TEXT).all(axis=2)
        assert second.any() == t.dropped


def test_dump_folder_decisions_from_scene_json(clip, tmp_path):
    path, keys = clip
    dumps = tmp_path / "dumps"
    assert main(["dump", str(path), "-o", str(dumps), "--end", "8"]) == 0
    manifest = json.loads((dumps / "scene.json").read_text())
    manifest["frames"][3]["fields"] = "3t+4b"  # IVTC rebuilt it from two coded frames
    manifest["frames"][5]["dedup"] = {"kept": False, "duplicate_of": 4}
    (dumps / "scene.json").write_text(json.dumps(manifest))
    out = tmp_path / "d.png"
    assert main(["preview", str(dumps), "-o", str(out), "--columns", "4",
                 "--thumb-width", "16"]) == 0
    img, _ = read_png_array(out)
    for k in range(8):
        x, y = _tile_geometry(k, 4, 16, 9, 2)
        want = pv.DROPPED if k == 5 else pv.KEY if k in keys else pv.PLAIN
        assert tuple(img[y + 1, x + 1]) == want, k
        # IVTC mark: blue square in the thumbnail's top-right corner of frame 3 only
        corner = tuple(img[y + 3, x + 3 + 16 - 1])
        assert (corner == pv.MATCHED) == (k == 3), k
        if k != 5:
            assert np.abs(img[y + 10, x + 7].astype(float) - np.rint(palette(k) * 255)).max() <= 3


def test_bad_options(clip, tmp_path, capsys):
    path, _ = clip
    assert main(["preview", str(path), "-o", str(tmp_path / "x.png"), "--every", "0"]) == 2
    assert "--every" in capsys.readouterr().err
    assert main(["preview", str(tmp_path / "none.mp4"), "-o", str(tmp_path / "x.png")]) == 1
    assert capsys.readouterr().err.startswith("overmix: error:")
    assert not (tmp_path / "x.png").exists()


def test_ivtc_fields_and_decimation_marks(tmp_path):
    from fractions import Fraction

    from tests.videogen import pan_frames, telecine

    film = [rgb_to_yuv_codes(f, "709") for f in pan_frames(16, 48, 64, seed=5, step=(1, 3))]
    coded = telecine(film, "yuv420p", "top")  # 16 film frames -> 20 coded frames
    path = encode_video(tmp_path / "tc.mkv", coded, "ffv1", "yuv420p", Fraction(30000, 1001),
                        interlaced=True, tff=True)
    sheet = pv.contact_sheet(path, ivtc="on", columns=8, thumb_width=16)
    dropped = sheet.info["ivtc"]["result"]["dropped"]
    assert len(sheet.tiles) == 16 and len(dropped) == 4
    marked = [t.decimated_after for t in sheet.tiles if t.decimated_after is not None]
    assert marked == sorted(dropped)
    img = sheet.image
    for k, t in enumerate(sheet.tiles):
        x, y = _tile_geometry(k, 8, 16, 12, 2)
        top, other = t.fields.split("+")
        woven = top[:-1] != other[:-1]  # fields of two coded frames
        assert t.matched == woven
        assert (tuple(img[y + 3, x + 3 + 15]) == pv.MATCHED) == woven
        right = tuple(img[y + 6, x + 16 + 6 - 1])
        assert (right == pv.DROPPED) == (t.decimated_after is not None)
    assert any(t.matched for t in sheet.tiles)


def test_sparse_reading_gives_the_same_sheet(clip, tmp_path):
    path, keys = clip
    # video: seeking to every 10th frame (from 3) = decoding them all and keeping every 10th
    seek = pv.contact_sheet(path, every=10, start=3, columns=3, thumb_width=16, seek=True)
    linear = pv.contact_sheet(path, every=10, start=3, columns=3, thumb_width=16, seek=False)
    assert [t.index for t in seek.tiles] == [3, 13, 23, 33, 43]
    assert [t.key_frame for t in seek.tiles] == [k in keys for k in (3, 13, 23, 33, 43)]
    assert np.array_equal(seek.image, linear.image)
    # dump folder: every 3rd file opened on its own
    dumps = tmp_path / "dumps"
    assert main(["dump", str(path), "-o", str(dumps), "--start", "4", "--end", "20"]) == 0
    sparse = pv.contact_sheet(dumps, every=3, columns=4, thumb_width=16)
    full = pv.contact_sheet(dumps, every=3, columns=4, thumb_width=16, seek=False)
    assert [t.index for t in sparse.tiles] == [4, 7, 10, 13, 16, 19]
    assert np.array_equal(sparse.image, full.image)
    for j, k in enumerate([4, 7, 10, 13, 16, 19]):
        x, y = _tile_geometry(j, 4, 16, 9, 1)
        px = sparse.image[y + 7, x + 11].astype(float)
        assert np.abs(px - np.rint(palette(k) * 255)).max() <= 3, (k, px)

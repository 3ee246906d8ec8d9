"""The streamed PNG writer of `overmix stitch` reads back exactly (FFmpeg's PNG decoder)."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest

from overmix.errors import OutputError
from overmix.io.png import read_png_array, write_png_strips


def _strips(img: np.ndarray, step: int):
    for r in range(0, img.shape[0], step):
        yield r, min(img.shape[0], r + step), img[r:r + step]


@pytest.mark.parametrize(("channels", "depth"), [(1, 8), (2, 8), (3, 8), (4, 8), (1, 16),
                                                 (2, 16), (3, 16), (4, 16)])
def test_every_format_reads_back_exactly(tmp_path: Path, channels: int, depth: int) -> None:
    rng = np.random.default_rng(channels * depth)
    h, w = 37, 53
    top = (1 << depth) - 1
    # a smooth picture with noise, the full code range and the extremes
    ramp = np.linspace(0, top, w)[None, :, None] * np.ones((h, 1, channels))
    img = np.clip(ramp + rng.normal(0, top / 50, (h, w, channels)), 0, top)
    img = np.rint(img).astype(np.uint8 if depth == 8 else np.uint16)
    img[0, 0], img[-1, -1] = 0, top
    out = write_png_strips(tmp_path / "a.png", w, h, channels, depth, _strips(img, 16))
    back, bits = read_png_array(out)
    assert bits == depth
    back = back.reshape(h, w, -1)
    assert back.shape == img.shape and back.dtype == img.dtype
    assert np.array_equal(back, img)
    data = out.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data.endswith(
        b"IEND" + zlib.crc32(b"IEND").to_bytes(4, "big"))
    assert not list(tmp_path.glob(".*tmp*"))


def test_strips_out_of_order_leave_no_file(tmp_path: Path) -> None:
    img = np.zeros((10, 4, 3), np.uint8)
    bad = [(0, 5, img[:5]), (6, 10, img[6:])]
    with pytest.raises(ValueError):
        write_png_strips(tmp_path / "b.png", 4, 10, 3, 8, iter(bad))
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(OutputError):
        write_png_strips(tmp_path / "no" / "c.png", 4, 10, 3, 8, _strips(img, 4))

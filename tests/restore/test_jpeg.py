"""JPEG estimation from several shifted quality-25 JPEG files of one drawn picture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from overmix.errors import InputError, UnsupportedError
from overmix.restore import jpeg as jpegmod
from overmix.restore.jpeg import (
    _decode_component,
    _project_component,
    estimate_from_jpegs,
    read_jpeg,
)
from tests.restore.scenes import CelScene, psnr

jpeglib = pytest.importorskip("jpeglib")


def jfif_luma(rgb: np.ndarray) -> np.ndarray:
    """Y of JFIF (ITU-T T.871, BT.601 weights), 8-bit units."""
    return 255 * (0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2])


def write_set(folder: Path, n: int = 10, quality: int = 25, gray: bool = False,
              h: int = 80, w: int = 112, margin: int = 28
              ) -> tuple[list[str], np.ndarray, np.ndarray]:
    rgb = CelScene(11, hatch=False).render(h + margin, w + margin, 10, 10)
    rng = np.random.default_rng(2)
    offs = np.c_[rng.integers(0, margin + 1, n), rng.integers(0, margin + 1, n)]
    offs[0] = 0
    paths = []
    for k, (x, y) in enumerate(offs):
        crop = np.clip(np.round(rgb[y:y + h, x:x + w] * 255), 0, 255).astype(np.uint8)
        if gray:
            crop = np.clip(np.round(jfif_luma(rgb[y:y + h, x:x + w])), 0, 255).astype(
                np.uint8)[..., None]
        p = folder / f"{k:02d}.jpg"
        jpeglib.from_spatial(crop).write_spatial(str(p), qt=quality)
        paths.append(str(p))
    return paths, offs, rgb


def test_dct_convention_matches_libjpeg(tmp_path: Path) -> None:
    paths, _, _ = write_set(tmp_path, n=1, gray=True)
    f = read_jpeg(paths[0])
    ours = _decode_component(f.components[0])
    ref = jpeglib.read_spatial(paths[0]).spatial[..., 0].astype(np.float64)
    assert np.abs(np.clip(ours, 0, 255) - ref).max() <= 1.0


def test_estimate_beats_average_by_1db(tmp_path: Path) -> None:
    paths, offs, rgb = write_set(tmp_path, n=10)
    calls = []
    est = estimate_from_jpegs(paths, offsets=offs, iterations=25,
                              progress=lambda s, d, t: calls.append(d))
    x0, y0 = offs.min(axis=0)
    truth = jfif_luma(rgb)[y0:y0 + est.canvas.height, x0:x0 + est.canvas.width]
    seen = est.weight > 0
    a = psnr(est.average[0] * 255, truth, seen, peak=255)
    e = psnr(est.planes[0] * 255, truth, seen, peak=255)
    assert e >= a + 1.0, (a, e)
    assert len(est.planes) == 3 and est.planes[1].shape == est.planes[0].shape
    assert calls and calls[-1] == est.iterations
    # the estimate still explains every file: projecting it onto a file's quantisation
    # intervals moves it by well under one 8-bit level
    f = read_jpeg(paths[3])
    x, y = offs[3] - offs.min(axis=0)
    crop = est.planes[0][y:y + f.height, x:x + f.width].astype(np.float64) * 255
    corr = _project_component(crop, f.components[0])
    assert np.sqrt(np.mean(corr ** 2)) < 0.5


def test_grayscale_and_unshifted(tmp_path: Path) -> None:
    paths, _, _ = write_set(tmp_path, n=3, gray=True)
    est = estimate_from_jpegs(paths[:1] * 3, iterations=3)
    assert len(est.planes) == 1 and est.planes[0].shape == (80, 112)
    with pytest.raises(InputError, match="different sizes"):
        other = tmp_path / "small.jpg"
        jpeglib.from_spatial(np.zeros((16, 16, 1), np.uint8)).write_spatial(str(other), qt=50)
        estimate_from_jpegs([paths[0], str(other)])


def test_not_a_jpeg_and_missing_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    png = tmp_path / "x.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 20)
    with pytest.raises(InputError, match="not a JPEG"):
        estimate_from_jpegs([str(png)])
    with pytest.raises(InputError, match="cannot read"):
        read_jpeg(tmp_path / "missing.jpg")
    with pytest.raises(InputError):
        estimate_from_jpegs([])
    paths, offs, _ = write_set(tmp_path, n=2)
    with pytest.raises(InputError, match="whole-pixel"):
        estimate_from_jpegs(paths, offsets=offs + 0.5)

    def no_module(name: str) -> None:
        raise ImportError(name)

    monkeypatch.setattr(jpegmod.importlib, "import_module", no_module)
    with pytest.raises(UnsupportedError, match=r"overmix\[jpeg\]"):
        read_jpeg(paths[0])


def test_deblock_average_denoises_flat_colours_keeps_edges() -> None:
    from overmix.restore.jpeg import deblock_average

    truth = CelScene(5, hatch=False).luma(64, 96, 20, 20)
    rng = np.random.default_rng(1)
    noisy = (truth + rng.normal(0, 0.01, truth.shape)).astype(np.float32)
    out = deblock_average(noisy, 1.0)
    assert psnr(out, truth) > psnr(noisy, truth) + 1.0
    # with 16 frames averaged the step shrinks: the average is left almost alone
    out16 = deblock_average(noisy, 16.0)
    assert np.abs(out16 - noisy).mean() < np.abs(out - noisy).mean()

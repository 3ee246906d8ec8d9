"""Optional cross-check against FFmpeg's zscale filter (zimg), when the machine has it."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from overmix.color.convert import to_rgb_codes
from overmix.color.spec import ChromaLocation, ColorInfo, Matrix, Range


def _has_zscale() -> bool:
    exe = shutil.which("ffmpeg")
    if exe is None:
        return False
    try:
        out = subprocess.run([exe, "-hide_banner", "-filters"], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return any(line.split()[1:2] == ["zscale"] for line in out.splitlines() if line.strip())


pytestmark = pytest.mark.skipif(not _has_zscale(), reason="ffmpeg with zscale not available")

ZMATRIX = {Matrix.BT709: "709", Matrix.BT470BG: "470bg", Matrix.BT2020_NCL: "2020_ncl",
           Matrix.SMPTE170M: "170m"}


@pytest.mark.parametrize(
    ("matrix", "rng", "depth", "fmt", "sub"),
    [
        (Matrix.BT709, Range.LIMITED, 10, "yuv420p10le", (2, 2)),
        (Matrix.BT470BG, Range.LIMITED, 8, "yuv420p", (2, 2)),
        (Matrix.BT2020_NCL, Range.FULL, 12, "yuv422p12le", (2, 1)),
        (Matrix.SMPTE170M, Range.FULL, 10, "yuv444p10le", (1, 1)),
    ],
)
def test_agrees_with_zscale(tmp_path, matrix, rng, depth, fmt, sub):
    h, w = 36, 52
    sx, sy = sub
    rs = np.random.default_rng(depth)
    dt = np.dtype("<u2") if depth > 8 else np.dtype(np.uint8)
    top = 2**depth
    # Smooth gradients plus noise over the whole code span (including out-of-range codes).
    yy, xx = np.mgrid[0:h, 0:w]
    y = np.clip((xx * top / w) + rs.normal(0, top / 50, (h, w)), 0, top - 1).astype(dt)
    ch, cw = h // sy, w // sx
    cb = rs.integers(0, top, (ch, cw)).astype(dt)
    cr = np.clip(np.mgrid[0:ch, 0:cw][0] * top / ch, 0, top - 1).astype(dt)
    src = tmp_path / "in.yuv"
    src.write_bytes(y.tobytes() + cb.tobytes() + cr.tobytes())
    dst = tmp_path / "out.raw"
    zr = "limited" if rng == Range.LIMITED else "full"
    theirs = _zscale(src, dst, fmt, w, h, ZMATRIX[matrix], zr, "left", "bilinear")
    color = ColorInfo(matrix=matrix, range=rng, chroma_location=ChromaLocation.LEFT,
                      bit_depth=depth)
    planes = [p.astype(np.uint16 if depth > 8 else np.uint8) for p in (y, cb, cr)]
    ours = to_rgb_codes(planes, color, depth=16, sub_x=sx, sub_y=sy).astype(np.int64)
    assert np.abs(ours - theirs).max() <= 2


def _zscale(src, dst, fmt, w, h, matrix, rng, loc, flt) -> np.ndarray:
    # chromalin = input chroma location (chromal would be the output's).
    vf = (f"zscale=matrixin={matrix}:rangein={rng}:chromalin={loc}:filter={flt}:"
          "dither=none:matrix=input:range=full,format=gbrp16le")
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", fmt, "-s", f"{w}x{h}",
         "-i", str(src), "-vf", vf, "-f", "rawvideo", "-pix_fmt", "gbrp16le", str(dst)],
        check=True, capture_output=True, timeout=60,
    )
    g, b, r = np.fromfile(dst, "<u2").reshape(3, h, w)
    return np.stack([r, g, b], axis=-1).astype(np.int64)


@pytest.mark.parametrize("flt", ["bilinear", "bicubic", "lanczos"])
def test_every_siting_and_filter_agrees_with_zscale(tmp_path, flt):
    h, w = 36, 52
    rs = np.random.default_rng(5)
    xx = np.mgrid[0:h, 0:w][1]
    y = np.clip(xx * 1024 / w + rs.normal(0, 20, (h, w)), 0, 1023).astype("<u2")
    cb = rs.integers(64, 960, (h // 2, w // 2)).astype("<u2")
    cr = rs.integers(64, 960, (h // 2, w // 2)).astype("<u2")
    src = tmp_path / "in.yuv"
    src.write_bytes(y.tobytes() + cb.tobytes() + cr.tobytes())
    planes = [p.astype(np.uint16) for p in (y, cb, cr)]
    for loc in ChromaLocation:
        theirs = _zscale(src, tmp_path / "o.raw", "yuv420p10le", w, h, "709", "limited",
                         loc.name.lower(), flt)
        color = ColorInfo(matrix=Matrix.BT709, range=Range.LIMITED, chroma_location=loc,
                          bit_depth=10)
        ours = to_rgb_codes(planes, color, depth=16, chroma_filter=flt).astype(np.int64)
        # zimg mirrors at the edges, we replicate: with bilinear that makes no difference;
        # the wider kernels are compared away from the border.
        m = 0 if flt == "bilinear" else 4
        d = np.abs(ours - theirs)[m:h - m, m:w - m]
        assert d.max() <= 2, (loc, flt, d.max())

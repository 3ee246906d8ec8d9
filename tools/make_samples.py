#!/usr/bin/env python3
"""Build ``samples/pan.mkv``: a small cel-style camera pan with known sub-pixel offsets.

The scene (sky gradient, hills and houses in flat colours with dark outlines, thin power
lines, a sun) is drawn analytically, so every frame is an exact view of the same world at a
sub-pixel camera position, anti-aliased by 4x4 supersampling. Frames are converted to
Y'CbCr with BT.709 (ITU-R BT.709-6 item 3.2-3.3), limited range 10-bit, 4:2:0 with *left*
chroma siting (chroma filtered [1 2 1]/4 horizontally around even columns and averaged over
row pairs, as MPEG-2/H.264 expect), and encoded as High 10 H.264 (libx264, yuv420p10le) in
Matroska, tagged BT.709.

Writes ``samples/pan.mkv`` and ``samples/pan.truth.json`` (offsets JSON, DESIGN §7: frame k's
pixel (0, 0) in frame-0 coordinates).

Usage: ``python tools/make_samples.py [--out samples] [--frames 48] [--size 480x270]``
"""

from __future__ import annotations

import argparse
import json
import math
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

KR, KB = 0.2126, 0.0722  # ITU-R BT.709-6 item 3.2


def _soft(d: np.ndarray) -> np.ndarray:
    """Inside (d < 0) → 1, outside → 0; the 4x4 supersampling does the anti-aliasing."""
    return (d < 0).astype(np.float32)


def draw_world(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """R'G'B' in [0, 1] of the world at points (x, y) (arrays of one shape) → (..., 3)."""
    t = np.clip(y / 300.0, 0, 1)[..., None]
    img = np.array([0.35, 0.6, 0.95]) * (1 - t) + np.array([0.85, 0.9, 1.0]) * t  # sky
    ink = np.array([0.10, 0.08, 0.12])

    def paint(mask: np.ndarray, colour: object) -> None:
        nonlocal img
        m = mask[..., None]
        img = img * (1 - m) + np.asarray(colour) * m

    # sun with an outline
    d = np.hypot(x - 520, y - 60) - 30
    paint(_soft(np.abs(d) - 1.5), ink)
    paint(_soft(d + 1.5), [1.0, 0.85, 0.35])
    # far hills (gradient fill), near hills (flat), each outlined
    for base, amp, freq, phase, col in ((190, 40, 0.011, 0.3, (0.45, 0.65, 0.45)),
                                        (230, 30, 0.017, 1.9, (0.30, 0.55, 0.25))):
        ridge = base - amp * np.sin(x * freq + phase) - 0.4 * amp * np.sin(x * freq * 2.7)
        d = ridge - y
        shade = np.clip((y - ridge) / 120.0, 0, 1)[..., None]
        fill = np.asarray(col) * (1 - 0.35 * shade)
        m = _soft(d + 1.2)[..., None]
        img = img * (1 - m) + fill * m
        paint(_soft(np.abs(d) - 1.2), ink)
    # houses: walls, roofs, windows
    for i, hx in enumerate((70, 190, 330, 455, 560)):
        w, h = 56 + 9 * (i % 3), 44 + 7 * (i % 2)
        top = 235 - h
        wall = np.maximum(np.abs(x - hx) - w / 2, np.maximum(top - y, y - 238))
        paint(_soft(wall), [(0.9, 0.8, 0.6), (0.8, 0.5, 0.4), (0.7, 0.75, 0.85)][i % 3])
        paint(_soft(np.abs(wall) - 1.0), ink)
        half = w / 2 + 6  # roof: a triangle 26 px high over the wall
        roof = np.maximum(y - top, top - 26 * (1 - np.abs(x - hx) / half) - y)
        paint(_soft(roof), [(0.7, 0.2, 0.2), (0.25, 0.3, 0.6), (0.35, 0.25, 0.2)][i % 3])
        paint(_soft(np.abs(roof) - 1.0), ink)
        for wx in (-w / 4, w / 4):
            win = np.maximum(np.abs(x - hx - wx) - 6, np.abs(y - top - h / 2 + 4) - 6)
            paint(_soft(win), [0.95, 0.95, 0.6])
            paint(_soft(np.abs(win) - 0.7), ink)
    # power lines: thin (about 1 px) dark catenaries and poles
    for k, yb in enumerate((70, 86)):
        v = (np.mod(x + 80, 160) - 80) / 80.0  # -1 at a pole, 0 midway
        sag = yb + 18 * (1 - v * v)  # lowest midway, flat there (a hanging cable)
        paint(_soft(np.abs(y - sag) - 0.45 - 0.1 * k), ink)
    pole = np.maximum(np.abs(np.mod(x, 160) - 80) - 1.6, np.maximum(60 - y, y - 240))
    paint(_soft(pole), [0.3, 0.2, 0.15])
    return np.clip(img, 0, 1)


def render_view(x0: float, y0: float, h: int, w: int, ss: int = 4) -> np.ndarray:
    """The view whose pixel (0, 0) centre is at world (x0, y0), box-filtered over ss x ss."""
    acc = np.zeros((h, w, 3))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    for sy in range(ss):
        for sx in range(ss):
            dy = (sy + 0.5) / ss - 0.5
            dx = (sx + 0.5) / ss - 0.5
            acc += draw_world(xx + x0 + dx, yy + y0 + dy)
    return acc / (ss * ss)


def to_ycbcr10(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BT.709 limited-range 10-bit Y'CbCr 4:2:0, left (co-sited horizontally) chroma."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    y = KR * r + (1 - KR - KB) * g + KB * b  # ITU-R BT.709-6 item 3.2
    cb = (b - y) / (2 * (1 - KB))  # item 3.3
    cr = (r - y) / (2 * (1 - KR))

    def sub(c: np.ndarray) -> np.ndarray:
        c = 0.5 * (c[0::2] + c[1::2])  # vertical: chroma between rows 2i and 2i+1
        p = np.pad(c, ((0, 0), (1, 1)), mode="edge")
        return 0.25 * p[:, 0:-2:2] + 0.5 * p[:, 1:-1:2] + 0.25 * p[:, 2::2]  # [1 2 1]/4

    def code(v: np.ndarray, off: float, scale: float) -> np.ndarray:
        return np.clip(np.rint((off + scale * v) * 4), 0, 1023).astype(np.uint16)

    return code(y, 16, 219), code(sub(cb), 128, 224), code(sub(cr), 128, 224)


def camera(k: int, n: int) -> tuple[float, float]:
    """World position of frame k's pixel (0, 0): an eased pan right with a slow drift down."""
    t = k / max(n - 1, 1)
    ease = 0.5 - 0.5 * math.cos(math.pi * t)  # slow in, slow out
    return 40.0 + 118.37 * ease + 0.913 * k, 25.0 + 7.29 * t + 1.7 * math.sin(2.1 * t)


def encode(path: Path, frames: list[tuple[np.ndarray, ...]], rate: Fraction) -> None:
    h, w = frames[0][0].shape
    with av.open(str(path), "w") as out:
        st = out.add_stream("libx264", rate=rate,
                            options={"crf": "14", "preset": "slow", "tune": "animation"})
        st.width, st.height, st.pix_fmt = w, h, "yuv420p10le"
        cc = st.codec_context
        cc.colorspace, cc.color_range, cc.color_trc, cc.color_primaries = 1, 1, 1, 1
        for i, planes in enumerate(frames):
            fr = av.VideoFrame(w, h, "yuv420p10le")
            for plane, arr in zip(fr.planes, planes, strict=True):
                buf = np.frombuffer(plane, np.uint8)
                rows, cols = arr.shape
                view = buf[: plane.line_size * rows].reshape(rows, plane.line_size)
                view[:, : cols * 2] = arr.astype("<u2").view(np.uint8)
            fr.pts = i
            fr.time_base = 1 / rate
            fr.colorspace, fr.color_range = 1, 1
            for pkt in st.encode(fr):
                out.mux(pkt)
        for pkt in st.encode(None):
            out.mux(pkt)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "samples"))
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--size", default="480x270")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    n = args.frames
    pos = [camera(k, n) for k in range(n)]
    frames = [to_ycbcr10(render_view(x, y, h, w)) for x, y in pos]
    encode(out / "pan.mkv", frames, Fraction(24000, 1001))
    x0, y0 = pos[0]
    truth = {
        "frames": [{"index": k, "x": x - x0, "y": y - y0, "frame": 0}
                   for k, (x, y) in enumerate(pos)],
        "frame_size": {"width": w, "height": h},
        "source": "tools/make_samples.py: analytic world, 4x4 supersampled, BT.709 limited "
                  "10-bit 4:2:0 left siting, libx264 High 10 crf 14",
    }
    xy = np.array([[f["x"], f["y"]] for f in truth["frames"]])
    x_min, y_min = math.floor(xy[:, 0].min()), math.floor(xy[:, 1].min())
    truth["canvas"] = {"x": float(x_min), "y": float(y_min),
                       "width": int(math.ceil(xy[:, 0].max() + w) - x_min),
                       "height": int(math.ceil(xy[:, 1].max() + h) - y_min)}
    (out / "pan.truth.json").write_text(json.dumps(truth, indent=2) + "\n")
    size = (out / "pan.mkv").stat().st_size
    print(f"wrote {out / 'pan.mkv'} ({size / 1e6:.2f} MB, {n} frames {w}x{h}) and "
          f"{out / 'pan.truth.json'}")


if __name__ == "__main__":
    main()

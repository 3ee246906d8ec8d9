"""A DVD-like shot where a character turns his head: a large region (20-40 % of the frame)
changes drawing between frames, with ground truth (issue #12 item 2, "never a dead end").

The background is the drawn colour world of :mod:`tests.scenes.real` (exact area sampling at
known offsets); over it sits a big head and shoulders, redrawn on twos (a new drawing every
``hold`` frames) as the head turns from one side to the other: the face, eyes, mouth and the
hair mass all move by tens of pixels from drawing to drawing. The head either stands in the
world (``follow=False``: it moves with the pan) or is followed by the camera (``follow=True``:
fixed on screen while the background pans behind it); with ``step=(0, 0)`` the camera is still
and only the head animates. DVD-like noise: fresh film grain on every frame, then MPEG-2
(PyAV's ``mpeg2video``, 4:2:0, BT.601 untagged, a DVD bit rate) or x264.

Offsets follow the toolkit convention (DESIGN §4): frame_k(i, j) = frame_0(i + y_k, j + x_k).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from tests.registration.scenes import cel_world, sample_frames
from tests.scenes.real import _palette
from tests.videogen import encode_video, rgb_to_yuv_codes

__all__ = ["HeadTurn", "make_headturn"]

_S = 2  # world oversampling
_MARGIN = 4


@dataclass
class HeadTurn:
    """Frames (float32 R'G'B' (h, w, 3) in [0, 1], as shown), the clean background frames,
    the true offsets (n, 2), the head's mask per frame (bool (h, w)) and the world."""

    rgb: list[np.ndarray]
    clean: list[np.ndarray]
    xy: np.ndarray
    head: list[np.ndarray]
    world: np.ndarray
    origin: tuple[float, float]

    @property
    def n(self) -> int:
        return len(self.rgb)

    def background(self, x: float, y: float, width: int, height: int) -> np.ndarray:
        """Clean R'G'B' (height, width, 3) on a canvas whose pixel (0, 0) sits at frame-0
        coordinates (x, y) (exact area sampling of the world)."""
        return sample_frames(self.world, _S, np.array([[x, y]]), height, width,
                             origin=self.origin)[0]

    def seen_clean(self, x: float, y: float, width: int, height: int) -> np.ndarray:
        """(height, width) int: frames that see each canvas pixel free of the head (placed at
        the nearest whole pixel, the head mask grown by 2 px)."""
        from scipy import ndimage

        out = np.zeros((height, width), np.int32)
        for k in range(self.n):
            ok = ~ndimage.binary_dilation(self.head[k], iterations=2)
            ix, iy = int(round(self.xy[k, 0] - x)), int(round(self.xy[k, 1] - y))
            h, w = ok.shape
            r0, c0 = max(iy, 0), max(ix, 0)
            r1, c1 = min(iy + h, height), min(ix + w, width)
            if r1 > r0 and c1 > c0:
                out[r0:r1, c0:c1] += ok[r0 - iy:r1 - iy, c0 - ix:c1 - ix]
        return out

    def encode(self, path: str | Path, codec: str = "mpeg2video", *, bitrate: int = 6_000_000,
               crf: int = 20, depth: int = 8, rate: Fraction = Fraction(30000, 1001),
               container_format: str | None = None) -> Path:
        """Write the frames as MPEG-2 (``bitrate`` b/s, GOP 15 with B-frames, like a DVD) or
        x264 (``crf``, one thread so the encode is reproducible), 4:2:0, BT.601 limited range,
        untagged (as DVDs usually are)."""
        pix = "yuv420p" if depth == 8 else "yuv420p10le"
        codes = [rgb_to_yuv_codes(f, "601", False, depth, (2, 2)) for f in self.rgb]
        if codec == "mpeg2video":
            return encode_video(path, codes, "mpeg2video", pix, rate, gop=15,
                                codec_options={"bit_rate": bitrate, "max_b_frames": 2},
                                container_format=container_format)
        return encode_video(path, codes, codec, pix, rate,
                            # one thread: x264's threaded output differs from run to run
                            options={"crf": str(crf), "preset": "veryfast", "threads": "1"},
                            container_format=container_format)


def _head_layers(h: int, w: int, cx: float, cy: float, r: float, yaw: float, bx: float,
                 s: int = 3) -> tuple[np.ndarray, ...]:
    """Coverage (h, w) float32 of the head's parts for a yaw in [-1, 1] (-1 = looking left):
    ink outline, skin, hair, eyes, mouth, shirt; drawn ``s`` x supersampled."""
    from PIL import Image, ImageDraw

    def layer(draw_fn) -> np.ndarray:  # noqa: ANN001
        im = Image.new("L", (w * s, h * s), 0)
        draw_fn(ImageDraw.Draw(im))
        return np.asarray(im, np.float32).reshape(h, s, w, s).mean(axis=(1, 3)) / 255

    def e(cx_: float, cy_: float, rx: float, ry: float) -> list[float]:
        return [(cx_ - rx) * s, (cy_ - ry) * s, (cx_ + rx) * s, (cy_ + ry) * s]

    rx, ry = 0.86 * r, r
    fx = cx + 0.45 * rx * yaw  # the face's centre slides with the turn
    ink = layer(lambda d: (d.ellipse(e(cx, cy, rx + 4, ry + 4), fill=255),
                           d.rectangle([(bx - 1.5 * rx) * s, (cy + 0.8 * ry) * s,
                                        (bx + 1.5 * rx) * s, h * s], fill=255)))
    shirt = layer(lambda d: d.rectangle([(bx - 1.5 * rx + 4) * s, (cy + 0.8 * ry + 4) * s,
                                         (bx + 1.5 * rx - 4) * s, h * s], fill=255))
    skin = layer(lambda d: d.ellipse(e(cx, cy, rx, ry), fill=255))
    # hair: a cap over the top and the back of the head, on the side away from the face
    back = cx - 0.7 * rx * yaw
    hair = layer(lambda d: (d.ellipse(e(cx, cy - 0.35 * ry, rx + 2, 0.75 * ry), fill=255),
                            d.ellipse(e(back, cy, 0.75 * rx * (0.3 + 0.7 * abs(yaw)) + 2,
                                        0.95 * ry), fill=255)))
    # dark strands in the hair, swept with the turn (texture that moves with the head)
    strands = layer(lambda d: [d.line([(cx + (t - 0.1 * yaw) * rx) * s, (cy - 0.95 * ry) * s,
                                       (cx + (1.15 * t + 0.25 * yaw) * rx) * s,
                                       (cy - (0.2 - 0.25 * abs(t)) * ry) * s],
                                      fill=255, width=max(1, int(0.012 * r)) * s)
                               for t in np.linspace(-0.8, 0.8, 13)])
    spread = 0.32 * rx * (1 - 0.45 * abs(yaw))
    eyes = layer(lambda d: [d.ellipse(e(fx + sx * spread, cy + 0.05 * ry,
                                        0.09 * rx * (1 - 0.3 * abs(yaw)), 0.14 * ry), fill=255)
                            for sx in (-1, 1)])
    mouth = layer(lambda d: d.ellipse(e(fx + 0.05 * rx * yaw, cy + 0.5 * ry, 0.18 * rx,
                                        0.05 * ry), fill=255))
    return ink, shirt, skin, hair, strands * hair, eyes, mouth


def make_headturn(n: int = 24, h: int = 480, w: int = 720, *, step: tuple[float, float] = (
        1.73, 0.31), hold: int = 2, area: float = 0.3, follow: bool = True, seed: int = 5,
        grain: float = 0.012, sway: float = 0.0, soft: bool = False) -> HeadTurn:
    """A head turning from left to right over ``n`` frames (a new drawing every ``hold``).

    ``area`` is the head's (ellipse) share of the frame; the shoulders below add to it.
    ``step`` is the pan per frame (px); ``follow`` keeps the head fixed on screen (the camera
    follows the character) instead of standing in the world. ``grain`` is the standard
    deviation of the per-frame noise (R'G'B' units) added before encoding. ``sway`` moves
    the head sideways on screen with the turn (px, peak to peak): the whole head region then
    moves against the background as well as changing. ``soft`` blurs the background (a
    DVD's soft painted backdrop: less texture for the background to win with).
    """
    k = np.arange(n, dtype=np.float64)
    ease = 0.004 if step[0] else 0.0
    xy = np.stack([step[0] * k + ease * k * k, step[1] * k], axis=1)
    wh = int(np.ceil(xy[:, 1].max() - min(xy[:, 1].min(), 0))) + h + 2 * _MARGIN + 2
    ww = int(np.ceil(xy[:, 0].max() - min(xy[:, 0].min(), 0))) + w + 2 * _MARGIN + 2
    v = cel_world(wh, ww, _S, seed)
    if soft:
        from scipy import ndimage

        v = ndimage.gaussian_filter(v, 3.0 * _S)
    world = _palette(v)
    origin = (_MARGIN - float(min(xy[:, 0].min(), 0)), _MARGIN - float(min(xy[:, 1].min(), 0)))
    r = float(np.sqrt(area * h * w / (np.pi * 0.86)))
    rng = np.random.default_rng(seed)
    drawings = max(1, (n + hold - 1) // hold)
    yaws = np.linspace(-1.0, 1.0, drawings)
    rgb, clean, heads = [], [], []
    for j in range(n):
        base = sample_frames(world, _S, xy[j:j + 1], h, w, origin=origin)[0]
        clean.append(base)
        yaw = yaws[j // hold]
        bx, cy = 0.45 * w, 0.5 * h
        if not follow:
            bx, cy = bx - (xy[j, 0] - xy[n // 2, 0]), cy - (xy[j, 1] - xy[n // 2, 1])
        ink, shirt, skin, hair, strands, eyes, mouth = _head_layers(
            h, w, bx + 0.5 * sway * yaw, cy, r, yaw, bx)
        f = base.copy()
        for a, col in ((ink, (0.06, 0.04, 0.05)), (shirt, (0.25, 0.35, 0.6)),
                       (skin, (0.97, 0.84, 0.72)), (hair, (0.35, 0.2, 0.12)),
                       (strands, (0.12, 0.06, 0.04)),
                       (eyes, (0.1, 0.2, 0.45)), (mouth, (0.6, 0.15, 0.15))):
            f = f * (1 - a[..., None]) + a[..., None] * np.asarray(col, np.float32)
        f = f + rng.normal(0, grain, f.shape).astype(np.float32)
        rgb.append(np.clip(f, 0, 1).astype(np.float32))
        heads.append(ink > 0.01)
    return HeadTurn(rgb, clean, xy, heads, world, origin)

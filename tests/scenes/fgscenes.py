"""Real-scene pans with ground truth for the clean-still render (issue #12, item 3).

A camera pans over a drawn world (``tests.videogen.draw_scene``) at whole-pixel steps, so the
truth is a crop of the world; on top of each frame sits what a real scene has and a clean still
must not show: a hardsub changing every second, a semi-transparent corner logo, credits
scrolling up, letterbox bars, a sprite walking against the pan, a talking mouth. Each frame
also comes without the extra (``clean``), so "a stitch of the clean frames with the true
offsets" is the reference, and ``covered[k]`` says which frame pixels the extra hides (to count
how many frames see each canvas pixel clean). Frames are R'G'B' float in [0, 1], encoded by
:func:`encode` with x264 (8- or 10-bit 4:2:0, BT.709 limited, crf 18).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tests.videogen import color_tags, draw_scene, encode_video, rgb_to_yuv_codes

KINDS = ("hardsub", "logo", "credits", "letterbox", "sprite", "mouth")
FPS = 24


@dataclass
class FgScene:
    """Frames (R'G'B' (h, w, 3)), their clean versions, true offsets and truth."""

    frames: list[np.ndarray]
    clean: list[np.ndarray]
    covered: list[np.ndarray]  # bool (h, w): frame pixels the extra hides
    xy: np.ndarray  # (n, 2) true offsets (whole pixels)
    world: np.ndarray  # (H, W, 3): the clean background = the truth on the canvas
    extra: dict[str, object] = field(default_factory=dict)

    def seen_clean(self) -> np.ndarray:
        """Per canvas pixel: the fraction of the frames covering it that see it clean."""
        hh, ww = self.world.shape[:2]
        n_cov = np.zeros((hh, ww))
        n_clean = np.zeros((hh, ww))
        h, w = self.covered[0].shape
        for (x, y), c in zip(self.xy.astype(int), self.covered, strict=True):
            n_cov[y:y + h, x:x + w] += 1
            n_clean[y:y + h, x:x + w] += ~c
        return n_clean / np.maximum(n_cov, 1)


def _glyphs(rng: np.random.Generator, h: int, w: int, rows: int = 1) -> np.ndarray:
    """A line of blocky random 'letters' (3x5 cells, 2-px strokes) filling an h x w box."""
    m = np.zeros((h, w), bool)
    cw, ch = 8, 12  # letter cell
    for r in range(rows):
        for c in range(w // (cw + 2)):
            if rng.random() < 0.15:
                continue  # a space
            cell = rng.random((5, 3)) < 0.55
            big = np.kron(cell, np.ones((ch // 5 + 1, cw // 3 + 1), bool))[:ch, :cw]
            y0, x0 = r * (ch + 4), c * (cw + 2)
            if y0 + ch <= h:
                m[y0:y0 + ch, x0:x0 + cw] |= big
    return m


def _dilate(m: np.ndarray, k: int) -> np.ndarray:
    out = m.copy()
    for dy in range(-k, k + 1):
        for dx in range(-k, k + 1):
            out |= np.roll(np.roll(m, dy, 0), dx, 1)
    return out


def make(kind: str, n: int = 36, h: int = 144, w: int = 256, step: tuple[int, int] = (5, 1),
         seed: int = 5) -> FgScene:
    """One scene of ``kind`` (see :data:`KINDS`)."""
    rng = np.random.default_rng(seed)
    xy = np.array([[step[0] * k, step[1] * k] for k in range(n)], dtype=np.float64)
    hh, ww = h + step[1] * (n - 1), w + step[0] * (n - 1)
    world = draw_scene(hh, ww, seed, world=(hh, ww))
    frames, clean, covered = [], [], []
    extra: dict[str, object] = {}
    subs = [_glyphs(rng, 12, w * 3 // 4) for _ in range(n // FPS + 2)]
    credits = _glyphs(rng, 12 * 16, w // 2, rows=12)
    sprite_w, sprite_h = w // 6, h // 3
    mouth_at = (hh // 3, ww // 2)  # world position of a face that talks
    for k in range(n):
        x, y = (int(v) for v in xy[k])
        view = world[y:y + h, x:x + w].copy()
        clean.append(view.copy())
        cov = np.zeros((h, w), bool)
        if kind == "hardsub":
            g = subs[k // FPS]
            top, left = h - 22, w // 8
            box = np.zeros((h, w), bool)
            box[top:top + 12, left:left + g.shape[1]] = g
            edge = _dilate(box, 2) & ~box
            view[edge] = 0.0
            view[box] = 1.0
            cov = box | edge
        elif kind == "logo":
            cov[6:30, w - 56:w - 8] = True
            cov[12:24, w - 48:w - 16] = False  # a frame-shaped logo
            a = 0.6
            view[cov] = (1 - a) * view[cov] + a * np.array([1.0, 0.92, 0.35])
            extra["alpha"] = a
        elif kind == "credits":
            off = 2 * k  # scrolls up 2 px per frame
            top = h - off % (credits.shape[0] + h)
            c = np.zeros((h, w), bool)
            for i in range(credits.shape[0]):
                r = top + i
                if 0 <= r < h:
                    c[r, w // 4:w // 4 + credits.shape[1]] = credits[i]
            view[c] = 0.95
            cov = c
        elif kind == "letterbox":
            bar = h // 8
            cov[:bar] = True
            cov[-bar:] = True
            view[cov] = 0.0
        elif kind == "sprite":
            # walks left while the camera pans right: it crosses the frame; bobbing, legs
            cx = int(w * 0.9 - 8 * k) % w
            cy = h // 2 + int(3 * np.sin(k * 0.8))
            yy, xx = np.mgrid[0:h, 0:w]
            body = ((yy - cy) / (sprite_h / 2)) ** 2 + ((xx - cx) / (sprite_w / 2)) ** 2 <= 1
            leg = (yy > cy + sprite_h // 3) & (yy < cy + sprite_h // 2 + 10) & \
                (np.abs(xx - cx - (6 if k % 4 < 2 else -6)) < 3)
            s = body | leg
            view[s] = np.array([0.85, 0.3, 0.25])
            view[_dilate(s, 1) & ~s] = 0.05
            cov = _dilate(s, 1)
        elif kind == "mouth":
            my, mx = mouth_at[0] - y, mouth_at[1] - x
            if k % 6 >= 4 and 0 <= my < h - 8 and 0 <= mx < w - 20:  # open 1/3 of the time
                cov[my:my + 8, mx:mx + 20] = True
                view[cov] = np.array([0.35, 0.05, 0.08])
        else:
            raise ValueError(kind)
        frames.append(view)
        covered.append(cov)
    return FgScene(frames, clean, covered, xy, world, extra)


def encode(path: Path, frames: list[np.ndarray], depth: int = 8, crf: int = 18) -> Path:
    """x264 4:2:0 at ``depth`` bits, BT.709 limited range, tagged."""
    codes = [rgb_to_yuv_codes(np.clip(f, 0, 1), "709", False, depth, (2, 2)) for f in frames]
    fmt = "yuv420p" if depth == 8 else "yuv420p10le"
    return encode_video(path, codes, codec="libx264", pix_fmt=fmt,
                        options={"crf": str(crf), "preset": "fast"}, tags=color_tags("709"))

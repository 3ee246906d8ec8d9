"""The contaminations of :mod:`tests.scenes.real` drawn into frames (float32 R'G'B' (h, w, 3)
in [0, 1], drawn in place), with their truth masks: hardsub lines, a TV logo, scrolling
credits, a walking character, a nearer plane (parallax), a talking face."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from tests.registration.scenes import cel_world, sample_frames

# world oversampling: the world is drawn at S x the frame resolution (area sampling is exact
# for any S; 2 keeps generation fast and still puts edges between frame pixels)
S = 2
# margin (frame px) of the world around the frames' union
_MARGIN = 4

LINES = (
    "I told you we'd be late for the festival!",
    "Wait for me, the train won't leave yet.",
    "Look at the sky... it's so beautiful tonight.",
    "Did you bring the tickets? - Of course I did!",
    "We'll meet again at the shrine tomorrow.",
    "Why is everyone staring at us?",
)
CREDITS = ("Director", "Ayumi Tanaka", "Art Direction", "Kenji Mori", "Music", "Studio Kaze",
           "Key Animation", "Hiro Sato", "Yui Kimura", "Background Art", "Nao Fujita")


def _font(size: int):  # noqa: ANN202 - PIL type
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def _text_layer(h: int, w: int, lines: Iterable[tuple[str, float, float]], size: int,
                stroke: int, align_centre: bool) -> tuple[np.ndarray, np.ndarray]:
    """Coverage (h, w) float32 of white fill and of fill + outline of text lines drawn with
    Pillow's built-in font; each line is (text, x, y) (x is the centre if ``align_centre``)."""
    from PIL import Image, ImageDraw

    font = _font(size)
    fill = Image.new("L", (w, h), 0)
    both = Image.new("L", (w, h), 0)
    df, db = ImageDraw.Draw(fill), ImageDraw.Draw(both)
    for text, x, y in lines:
        if align_centre:
            x0, _, x1, _ = font.getbbox(text)
            x = x - (x1 - x0) / 2
        db.text((x, y), text, font=font, fill=255, stroke_width=stroke, stroke_fill=255)
        df.text((x, y), text, font=font, fill=255)
    return (np.asarray(fill, np.float32) / 255, np.asarray(both, np.float32) / 255)


def _over(rgb: np.ndarray, alpha: np.ndarray, color: tuple[float, float, float]) -> None:
    """Composite a solid colour with coverage ``alpha`` over ``rgb`` in place."""
    a = alpha[..., None]
    rgb *= 1 - a
    rgb += a * np.asarray(color, np.float32)


def _hardsub(frames: list[np.ndarray], overlay: list[np.ndarray], every: int) -> None:
    h, w = frames[0].shape[:2]
    size = max(10, h // 12)
    cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    for k, f in enumerate(frames):
        line = k // every
        if line not in cache:
            cache[line] = _text_layer(h, w, [(LINES[line % len(LINES)], w / 2,
                                              h - 2.2 * size)], size, max(1, size // 8), True)
        fill, both = cache[line]
        _over(f, both, (0.02, 0.02, 0.02))  # black outline
        _over(f, fill, (1.0, 1.0, 1.0))
        overlay[k] |= both > 0.02


def _logo_alpha(h: int, w: int) -> np.ndarray:
    """A 'TV' station logo: bold letters and a bar, top-right, 4x supersampled coverage."""
    from PIL import Image, ImageDraw

    size = max(12, h // 9)
    s = 4
    im = Image.new("L", (w * s, h * s), 0)
    d = ImageDraw.Draw(im)
    x0, y0 = w - 3.6 * size, 0.5 * size
    d.rounded_rectangle([x0 * s, y0 * s, (w - 0.4 * size) * s, (y0 + 1.5 * size) * s],
                        radius=size * s // 3, outline=255, width=max(1, size // 7) * s)
    d.text(((x0 + 0.35 * size) * s, (y0 + 0.2 * size) * s), "OMX", font=_font(size * s),
           fill=255)
    a = np.asarray(im, np.float32).reshape(h, s, w, s).mean(axis=(1, 3)) / 255
    return a


def _credits(frames: list[np.ndarray], fg: list[np.ndarray], speed: float,
             size_frac: float = 1 / 14) -> None:
    h, w = frames[0].shape[:2]
    size = max(9, int(h * size_frac))
    gap = 1.9 * size
    tall = int(len(CREDITS) * gap + h)
    _, both = _text_layer(tall, w, [(t, 0.66 * w, h * 0.6 + i * gap)
                                    for i, t in enumerate(CREDITS)], size, 1, False)
    fill, _ = _text_layer(tall, w, [(t, 0.66 * w, h * 0.6 + i * gap)
                                    for i, t in enumerate(CREDITS)], size, 0, False)
    for k, f in enumerate(frames):
        off = int(round(speed * k))  # whole-pixel scroll (credits are rendered, not panned)
        b = both[off:off + h]
        fl = fill[off:off + h]
        if b.shape[0] < h:
            pad = ((0, h - b.shape[0]), (0, 0))
            b, fl = np.pad(b, pad), np.pad(fl, pad)
        _over(f, b, (0.05, 0.05, 0.1))
        _over(f, fl, (0.97, 0.97, 0.97))
        fg[k] |= b > 0.02


def _sprite(frames: list[np.ndarray], fg: list[np.ndarray], speed: float) -> None:
    """A walking character (4x supersampled shapes): body, head, two legs swinging, bobbing."""
    from PIL import Image, ImageDraw

    h, w = frames[0].shape[:2]
    s = 4
    tall = 0.55 * h
    for k, f in enumerate(frames):
        phase = 2 * np.pi * k / 8.0  # an 8-frame walk cycle
        cx = 0.7 * w + speed * k
        bob = 0.025 * h * abs(np.sin(phase))
        top = 0.3 * h - bob
        layers = []
        for part in ("ink", "coat", "skin", "legs"):
            im = Image.new("L", (w * s, h * s), 0)
            d = ImageDraw.Draw(im)

            def box(x0: float, y0: float, x1: float, y1: float) -> list[float]:
                return [x0 * s, y0 * s, x1 * s, y1 * s]

            hw, hr = 0.12 * tall, 0.1 * tall
            grow = 1.2 if part == "ink" else 0.0
            if part in ("ink", "skin"):
                d.ellipse(box(cx - hr - grow, top - grow, cx + hr + grow, top + 2 * hr + grow),
                          fill=255)
            if part in ("ink", "coat"):
                d.rounded_rectangle(box(cx - hw - grow, top + 2 * hr - grow, cx + hw + grow,
                                        top + 0.62 * tall + grow), radius=3 * s, fill=255)
            if part in ("ink", "legs"):
                hip = (cx, top + 0.6 * tall)
                for sign in (1, -1):
                    a = sign * 0.45 * np.sin(phase)
                    foot = (hip[0] + 0.38 * tall * np.sin(a), hip[1] + 0.38 * tall * np.cos(a))
                    d.line([hip[0] * s, hip[1] * s, foot[0] * s, foot[1] * s],
                           fill=255, width=int((0.07 * tall + 2 * grow) * s))
            layers.append(np.asarray(im, np.float32).reshape(h, s, w, s).mean(axis=(1, 3))
                          / 255)
        ink, coat, skin, legs = layers
        _over(f, ink, (0.05, 0.04, 0.06))
        _over(f, legs, (0.2, 0.25, 0.55))
        _over(f, coat, (0.85, 0.3, 0.2))
        _over(f, skin, (0.98, 0.85, 0.72))
        fg[k] |= ink > 0.02


def _near_plane(frames: list[np.ndarray], fg: list[np.ndarray], xy: np.ndarray, seed: int,
                factor: float) -> None:
    """Tree trunks on a plane nearer the camera: their own textured world, panned at
    ``factor`` x the background's offsets, opaque where a vertical band pattern of that
    world says so (exact area sampling of both)."""
    h, w = frames[0].shape[:2]
    pxy = np.asarray(xy, np.float64) * factor
    world = 0.55 * _world(h, w, pxy, seed * 10 + 5)
    origin = (_MARGIN - float(min(pxy[:, 0].min(), 0)), _MARGIN - float(min(pxy[:, 1].min(), 0)))
    xs = (np.arange(world.shape[1]) + 0.5) / S
    bands = (np.sin(2 * np.pi * xs / (0.29 * w)) > 0.2).astype(np.float32)
    alpha = np.ascontiguousarray(np.broadcast_to(bands[None, :], world.shape[:2]))
    for k, f in enumerate(frames):
        a = sample_frames(alpha, S, pxy[k:k + 1], h, w, origin=origin)[0]
        c = sample_frames(world, S, pxy[k:k + 1], h, w, origin=origin)[0]
        f *= 1 - a[..., None]
        f += a[..., None] * c
        fg[k] |= a > 0.02


def _face(world: np.ndarray, cy: float, cx: float, r: float, mouth: int) -> None:
    """A face in the world (drawn at S x): skin disk with outline, eyes, a mouth whose
    opening is ``mouth`` (0 closed .. 2 wide open)."""
    H, W = world.shape[:2]
    yy, xx = np.ogrid[0:H, 0:W]
    d = np.hypot(yy + 0.5 - cy, xx + 0.5 - cx)
    world[d <= r + 1.5 * S] = (0.08, 0.06, 0.06)
    world[d <= r] = (0.98, 0.86, 0.74)
    for ex in (-0.35, 0.35):
        world[np.hypot(yy + 0.5 - (cy - 0.2 * r), xx + 0.5 - (cx + ex * r)) <= 0.12 * r] = (
            0.1, 0.15, 0.3)
    open_ = (0.04, 0.12, 0.22)[mouth] * r
    m = (((yy + 0.5 - (cy + 0.45 * r)) / max(open_, 0.5 * S)) ** 2
         + ((xx + 0.5 - cx) / (0.3 * r)) ** 2) <= 1
    world[m] = (0.55, 0.1, 0.12)


def _palette(v: np.ndarray) -> np.ndarray:
    """A fixed colour map of the world's values (keeps the world piecewise constant)."""
    r = 0.08 + 0.86 * v
    g = 0.5 + 0.42 * np.sin(5.3 * v + 0.7)
    b = 0.5 + 0.42 * np.cos(3.9 * v + 0.2)
    return np.clip(np.stack([r, g, b], axis=-1), 0, 1).astype(np.float32)


def _world(h: int, w: int, xy: np.ndarray, seed: int, shot: int = 0) -> np.ndarray:
    """Colour world (drawn at S x) holding every frame placed at ``xy`` plus the margin; a
    second shot is another place (its sky darkens the other way, other colours)."""
    wh = int(np.ceil(max(xy[:, 1].max(), 0) - min(xy[:, 1].min(), 0))) + h + 2 * _MARGIN + 2
    ww = int(np.ceil(max(xy[:, 0].max(), 0) - min(xy[:, 0].min(), 0))) + w + 2 * _MARGIN + 2
    v = cel_world(wh, ww, S, seed)
    return _palette(v if shot == 0 else 1.0 - v[::-1])

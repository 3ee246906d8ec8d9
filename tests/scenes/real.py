"""Real-looking test scenes with exact ground truth (issue #12).

A scene is a camera pan over a drawn colour world (``tests.registration.scenes.cel_world``,
mapped through a fixed palette, so it stays piecewise constant), sampled by **exact area
averaging** at known sub-pixel offsets (``sample_frames``): the clean frames are the truth,
independent of the code under test. On top of the clean frames come the contaminations of real
anime footage, each optional:

- ``hardsub``: a fansub line at the bottom, opaque white text with a black outline (Pillow's
  built-in font, no system font needed), a new line every ``line_every`` frames (1 s at 24 fps);
- ``logo``: a semi-transparent TV logo in the top-right corner (alpha 0.55);
- ``credits``: white credit lines with a dark outline scrolling up on the right side;
- ``letterbox``: black bars at the top and bottom (screen-fixed, like the overlays);
- ``sprite``: a character walking against the pan (legs in a walk cycle, body bobbing);
- ``mouth``: a talking mouth on a face that belongs to the background (it moves with the
  pan; only the mouth animates, in place);
- ``cut``: a second shot (another world, another pan) from frame ``cut_at`` on;
- ``edges``: dirty frame edges that stay on screen: a 3 px black strip on the left, a 2 px
  strip of fresh noise every frame on the right and a 4 px grey line at the top;
- ``parallax``: a second plane nearer the camera (tree trunks, textured, ~40 % of the picture)
  moving ``parallax`` x the background's motion;
- ``fade``: the shot fades in from black (gain 0.25 -> 1 over the first third of the frames;
  ``clean`` holds the unfaded truth).

Offsets follow the toolkit convention (DESIGN §4): ``frame_k(i, j) = frame_0(i + y_k, j +
x_k)``, frame 0 at (0, 0). Frames are float32 R'G'B' in [0, 1]; :meth:`RealScene.encode`
writes them as H.264 (libx264, 8-bit ``yuv420p`` or 10-bit ``yuv420p10le``, BT.709 limited,
tagged) at a realistic quality (crf 20 by default). :meth:`RealScene.background` samples the
clean world on any canvas (the truth a stitch is compared with).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from tests.registration.scenes import cel_world, sample_frames
from tests.videogen import color_tags, encode_video, rgb_to_yuv_codes

__all__ = ["CONTAMINATIONS", "RealScene", "make_scene", "luma709"]

CONTAMINATIONS = ("hardsub", "logo", "credits", "letterbox", "sprite", "mouth", "cut", "edges",
                  "fade", "parallax")

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


def luma709(rgb: np.ndarray) -> np.ndarray:
    """Y' of R'G'B' (..., 3) with the ITU-R BT.709 weights (Kr 0.2126, Kb 0.0722)."""
    return (0.2126 * rgb[..., 0] + 0.7152 * rgb[..., 1] + 0.0722 * rgb[..., 2]).astype(
        np.float32)


def _palette(v: np.ndarray) -> np.ndarray:
    """A fixed colour map of the world's values (keeps the world piecewise constant)."""
    r = 0.08 + 0.86 * v
    g = 0.5 + 0.42 * np.sin(5.3 * v + 0.7)
    b = 0.5 + 0.42 * np.cos(3.9 * v + 0.2)
    return np.clip(np.stack([r, g, b], axis=-1), 0, 1).astype(np.float32)


def default_path(n: int, step: tuple[float, float] = (2.37, 0.43)) -> np.ndarray:
    """(n, 2) offsets: a sub-pixel pan with a slight ease-in (frame 0 at (0, 0))."""
    k = np.arange(n, dtype=np.float64)
    x = step[0] * k + 0.011 * k * k
    y = step[1] * k + 0.7 * np.sin(0.21 * k)
    xy = np.stack([x, y], axis=1)
    return xy - xy[0]


def _paste_add(out: np.ndarray, part: np.ndarray, dx: float, dy: float) -> None:
    """Add ``part`` into ``out`` with its (0, 0) at (dx, dy) rounded to whole pixels,
    clipped to ``out``."""
    ix, iy = int(round(dx)), int(round(dy))
    sh, sw = part.shape
    r0, c0 = max(iy, 0), max(ix, 0)
    r1, c1 = min(iy + sh, out.shape[0]), min(ix + sw, out.shape[1])
    if r1 > r0 and c1 > c0:
        out[r0:r1, c0:c1] += part[r0 - iy:r1 - iy, c0 - ix:c1 - ix]


@dataclass
class RealScene:
    """A drawn pan with contaminations and its truth.

    Attributes
    ----------
    rgb : list of (h, w, 3) float32
        The frames as shown (contaminated), R'G'B' in [0, 1].
    clean : list of (h, w, 3) float32
        The same frames without any contamination (the truth per frame). For frames of a
        second shot (``cut``) these are that shot's clean frames.
    xy : (n, 2) float64
        True offsets; frames of the second shot hold their own shot's offsets.
    shot : (n,) int
        Shot of each frame (0, or 1 after a cut).
    overlay : list of (h, w) bool
        Screen-fixed contamination per frame (subtitle, logo, bars), frame coordinates.
    foreground : list of (h, w) bool
        Independently moving contamination per frame (sprite, credits, the mouth).
    contaminations : tuple of str
    """

    rgb: list[np.ndarray]
    clean: list[np.ndarray]
    xy: np.ndarray
    shot: np.ndarray
    overlay: list[np.ndarray]
    foreground: list[np.ndarray]
    contaminations: tuple[str, ...]
    worlds: list[np.ndarray] = field(repr=False, default_factory=list)
    origins: list[tuple[float, float]] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.rgb)

    @property
    def size(self) -> tuple[int, int]:
        """(h, w) of a frame."""
        return self.rgb[0].shape[0], self.rgb[0].shape[1]

    @property
    def main(self) -> np.ndarray:
        """Frame positions of the largest shot (what a stitch should use)."""
        counts = np.bincount(self.shot)
        return np.flatnonzero(self.shot == int(np.argmax(counts)))

    def background(self, x: float, y: float, width: int, height: int,
                   shot: int | None = None) -> np.ndarray:
        """Clean R'G'B' (height, width, 3) of the (main) shot's world on a canvas whose pixel
        (0, 0) sits at frame-0 coordinates (x, y) (exact area sampling, without the mouth's
        animation: the closed mouth)."""
        s = int(np.argmax(np.bincount(self.shot))) if shot is None else shot
        return sample_frames(self.worlds[s], S, np.array([[x, y]]), height, width,
                             origin=self.origins[s])[0]

    def seen_clean(self, x: float, y: float, width: int, height: int) -> np.ndarray:
        """(height, width) int: how many main-shot frames see each canvas pixel free of
        contamination (the clean part of each frame shrunk by a pixel, placed at the nearest
        whole pixel)."""
        from scipy import ndimage

        out = np.zeros((height, width), np.int32)
        for k in self.main:
            ok = ndimage.binary_erosion(~(self.overlay[k] | self.foreground[k]),
                                        border_value=1)
            _paste_add(out, ok, self.xy[k, 0] - x, self.xy[k, 1] - y)
        return out

    def clean_counts(self, x: float, y: float, width: int, height: int,
                     tol: float = 0.5 / 255) -> tuple[np.ndarray, np.ndarray]:
        """How many main-shot frames see each canvas pixel clean, and how many cover it:
        two (height, width) int32 arrays on a canvas whose pixel (0, 0) sits at frame-0
        coordinates (x, y).

        The truth comes from the generator alone: a frame pixel is contaminated where the
        shown frame differs from its clean version by more than ``tol`` in any channel (the
        faint antialiased rims of text and logos included) or the generator marked it; the
        clean part is shrunk by a pixel and placed at the nearest whole pixel, like the
        footprint (which is not shrunk at the frame's own edges)."""
        from scipy import ndimage

        seen = np.zeros((height, width), np.int32)
        cover = np.zeros((height, width), np.int32)
        for k in self.main:
            bad = self.overlay[k] | self.foreground[k]
            bad |= np.abs(self.rgb[k] - self.clean[k]).max(axis=-1) > tol
            ok = ndimage.binary_erosion(~bad, border_value=1)
            _paste_add(seen, ok, self.xy[k, 0] - x, self.xy[k, 1] - y)
            _paste_add(cover, np.ones_like(ok), self.xy[k, 0] - x, self.xy[k, 1] - y)
        return seen, cover

    def clean_regions(self, x: float, y: float, width: int,
                      height: int) -> tuple[np.ndarray, np.ndarray]:
        """The issue's two regions (bool (height, width)): canvas pixels whose background
        more than half of the covering frames see clean ("most"), and those only some do, at
        most half ("few") (:meth:`clean_counts`)."""
        seen, cover = self.clean_counts(x, y, width, height)
        frac = seen / np.maximum(cover, 1)
        return frac > 0.5, (seen > 0) & (frac <= 0.5)

    def clips(self, work: Path, stem: str, depth: int) -> tuple[Path, Path]:
        """The scene's clip and its clean twin encoded at ``depth`` into ``work``
        (``STEM-DEPTH.mkv``, ``STEM-DEPTH-clean.mkv``), reused when already there."""
        clip, clean = work / f"{stem}-{depth}.mkv", work / f"{stem}-{depth}-clean.mkv"
        if not clip.exists():
            self.encode(clip, depth)
        if not clean.exists():
            self.encode(clean, depth, clean=True)
        return clip, clean

    def encode(self, path: str | Path, depth: int = 8, *, crf: int = 20,
               clean: bool = False, preset: str = "veryfast") -> Path:
        """Write the frames (or the clean ones) as H.264: 8-bit ``yuv420p`` or 10-bit
        ``yuv420p10le``, BT.709 limited range, tagged, 24000/1001 fps."""
        frames = self.clean if clean else self.rgb
        pix = "yuv420p" if depth == 8 else "yuv420p10le"
        codes = [rgb_to_yuv_codes(f, "709", False, depth, (2, 2)) for f in frames]
        return encode_video(path, codes, "libx264", pix, Fraction(24000, 1001),
                            options={"crf": str(crf), "preset": preset},
                            tags=color_tags("709"))


# ------------------------------------------------------------------------------ drawing


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


# ------------------------------------------------------------------------------ scenes


def _world(h: int, w: int, xy: np.ndarray, seed: int, shot: int = 0) -> np.ndarray:
    """Colour world (drawn at S x) holding every frame placed at ``xy`` plus the margin; a
    second shot is another place (its sky darkens the other way, other colours)."""
    wh = int(np.ceil(max(xy[:, 1].max(), 0) - min(xy[:, 1].min(), 0))) + h + 2 * _MARGIN + 2
    ww = int(np.ceil(max(xy[:, 0].max(), 0) - min(xy[:, 0].min(), 0))) + w + 2 * _MARGIN + 2
    v = cel_world(wh, ww, S, seed)
    return _palette(v if shot == 0 else 1.0 - v[::-1])


def make_scene(contaminations: Iterable[str] = (), *, n: int = 40, h: int = 180, w: int = 320,
               seed: int = 0, step: tuple[float, float] = (2.37, 0.43), line_every: int = 24,
               cut_at: int | None = None, sprite_speed: float = -1.6,
               credit_speed: float = 1.5, credit_size: float = 1 / 14,
               parallax: float = 1.6) -> RealScene:
    """A pan with the given contaminations (names from :data:`CONTAMINATIONS`).

    ``step`` is the pan per frame (px, plus a slight ease); ``line_every`` the frames per
    subtitle line; ``cut_at`` the first frame of the second shot (default ``0.65 n``);
    ``sprite_speed`` the character's screen speed (px/frame, negative = walking left while the
    camera pans right); ``credit_speed`` the credits' upward scroll (px/frame) and
    ``credit_size`` their letter height (fraction of the frame height); ``parallax`` the
    near plane's motion as a multiple of the background's.
    """
    kinds = tuple(contaminations)
    bad = [c for c in kinds if c not in CONTAMINATIONS]
    if bad:
        raise ValueError(f"unknown contaminations {bad}")
    xy = default_path(n, step)
    shot = np.zeros(n, np.int64)
    if "cut" in kinds:
        c = int(0.65 * n) if cut_at is None else cut_at
        shot[c:] = 1
        xy[c:] = default_path(n - c, (-1.4, 0.9))
    shots = range(int(shot.max()) + 1)
    worlds = [_world(h, w, xy[shot == s], seed * 10 + s, s) for s in shots]
    # world pixel (0, 0) lies _MARGIN px above-left of the union of the shot's frames
    origins = [(_MARGIN - float(min(xy[shot == s, 0].min(), 0)),
                _MARGIN - float(min(xy[shot == s, 1].min(), 0))) for s in shots]
    mouth_world: list[np.ndarray] = []
    if "mouth" in kinds:
        # the face sits where the middle frame's centre is; three mouth cels
        mid = xy[n // 2]
        cy = (origins[0][1] + mid[1] + 0.45 * h) * S
        cx = (origins[0][0] + mid[0] + 0.4 * w) * S
        for m in range(3):
            wd = worlds[0].copy()
            _face(wd, cy, cx, 0.16 * h * S, m)
            mouth_world.append(wd)
        _face(worlds[0], cy, cx, 0.16 * h * S, 0)
    clean: list[np.ndarray] = []
    rgb: list[np.ndarray] = []
    overlay = [np.zeros((h, w), bool) for _ in range(n)]
    fg = [np.zeros((h, w), bool) for _ in range(n)]
    talk = (0, 1, 2, 1, 0, 0, 2, 1)
    for k in range(n):
        s = int(shot[k])
        base = sample_frames(worlds[s], S, xy[k:k + 1], h, w, origin=origins[s])[0]
        clean.append(base)
        if mouth_world and s == 0:
            m = talk[(k // 2) % len(talk)]
            f = sample_frames(mouth_world[m], S, xy[k:k + 1], h, w, origin=origins[0])[0]
            fg[k] |= np.abs(f - base).max(axis=-1) > 0.004
        else:
            f = base.copy()
        rgb.append(np.ascontiguousarray(f, np.float32))
    clean = [np.ascontiguousarray(c, np.float32) for c in clean]
    if "parallax" in kinds:
        _near_plane(rgb, fg, xy, seed, parallax)
    if "sprite" in kinds:
        _sprite(rgb, fg, sprite_speed)
    if "credits" in kinds:
        _credits(rgb, fg, credit_speed, credit_size)
    if "logo" in kinds:
        a = 0.55 * _logo_alpha(h, w)
        for k, f in enumerate(rgb):
            _over(f, a, (0.95, 0.95, 0.9))
            overlay[k] |= a > 0.02
    if "hardsub" in kinds:
        _hardsub(rgb, overlay, line_every)
    if "letterbox" in kinds:
        bar = int(round(0.1 * h))
        for k, f in enumerate(rgb):
            f[:bar] = 0.0
            f[h - bar:] = 0.0
            overlay[k][:bar] = True
            overlay[k][h - bar:] = True
    if "fade" in kinds:
        ramp = max(1, n // 3)
        for k, f in enumerate(rgb[:ramp]):
            f *= np.float32(0.25 + 0.75 * k / ramp)
    if "edges" in kinds:
        rng = np.random.default_rng(seed + 7)
        for k, f in enumerate(rgb):
            f[:, :3] = 0.0
            f[:, w - 2:] = rng.uniform(0.0, 1.0, (h, 2, 1)).astype(np.float32)
            f[:4] = 0.45
            overlay[k][:, :3] = overlay[k][:, w - 2:] = overlay[k][:4] = True
    rgb = [np.clip(f, 0, 1).astype(np.float32) for f in rgb]
    return RealScene(rgb, clean, xy, shot, overlay, fg, kinds, worlds, origins)


# one scene per contamination (the benchmark's and the tests' list), plus the clean pan
SCENES: dict[str, tuple[str, ...]] = {
    "clean": (),
    "hardsub": ("hardsub",),
    "logo": ("logo",),
    "credits": ("credits",),
    "letterbox": ("letterbox",),
    "sprite": ("sprite",),
    "mouth": ("mouth",),
    "cut": ("cut",),
    "all": ("hardsub", "logo", "sprite", "mouth"),
    # the first failure: a fansub line changing every second and a character
    # walking against the pan
    "subsprite": ("hardsub", "sprite"),
    "edges": ("edges",),
    "fade": ("fade",),
    "parallax": ("parallax",),
}

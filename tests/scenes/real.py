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

from tests.registration.scenes import sample_frames
from tests.scenes.drawing import (
    _MARGIN,
    S,
    _credits,
    _face,
    _hardsub,
    _logo_alpha,
    _near_plane,
    _over,
    _palette,  # noqa: F401 - the scenes' colours, for others
    _sprite,
    _world,
)
from tests.videogen import color_tags, encode_video, rgb_to_yuv_codes

__all__ = ["CONTAMINATIONS", "RealScene", "few_psnr", "make_scene", "luma709"]

CONTAMINATIONS = ("hardsub", "logo", "credits", "letterbox", "sprite", "mouth", "cut", "edges",
                  "fade", "parallax")

def luma709(rgb: np.ndarray) -> np.ndarray:
    """Y' of R'G'B' (..., 3) with the ITU-R BT.709 weights (Kr 0.2126, Kb 0.0722)."""
    return (0.2126 * rgb[..., 0] + 0.7152 * rgb[..., 1] + 0.0722 * rgb[..., 2]).astype(
        np.float32)


def few_psnr(sc: RealScene, res: object, border: int = 3) -> tuple[float, int]:
    """PSNR (dB, Y' on [0, 1]) of a stitch result's ``res.planes[0]`` against ``sc``'s clean
    background over the "few" region (:meth:`RealScene.clean_regions`) the render covers,
    ``border`` px in from the canvas edges, and the number of pixels it holds."""
    cv = res.offsets.canvas  # type: ignore[attr-defined]
    x0, y0 = cv.x + sc.xy[0, 0], cv.y + sc.xy[0, 1]
    bg = luma709(sc.background(x0, y0, cv.width, cv.height))
    _, few = sc.clean_regions(x0, y0, cv.width, cv.height)
    few[:border] = few[-border:] = False
    few[:, :border] = few[:, -border:] = False
    few &= res.renders[0].coverage > 0  # type: ignore[attr-defined]
    err = (res.planes[0].astype(np.float64) - bg)[few]  # type: ignore[attr-defined]
    return 10 * float(np.log10(1.0 / float(np.mean(err * err)))), int(few.sum())


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


# ------------------------------------------------------------------------------ scenes


def _shots(kinds: tuple[str, ...], n: int, step: tuple[float, float], cut_at: int | None
           ) -> tuple[np.ndarray, np.ndarray]:
    """True offsets (n, 2) and shot of each frame (n,): one pan, or a second shot from
    ``cut_at`` (default ``0.65 n``) on with a pan of its own."""
    xy = default_path(n, step)
    shot = np.zeros(n, np.int64)
    if "cut" in kinds:
        c = int(0.65 * n) if cut_at is None else cut_at
        shot[c:] = 1
        xy[c:] = default_path(n - c, (-1.4, 0.9))
    return xy, shot


def _mouth_worlds(world: np.ndarray, origin: tuple[float, float], mid: np.ndarray, h: int,
                  w: int) -> list[np.ndarray]:
    """Three copies of the first shot's ``world`` with a face's mouth cels, the face where
    the middle frame's (offset ``mid``) centre is; ``world`` itself gets the closed mouth."""
    cy = (origin[1] + mid[1] + 0.45 * h) * S
    cx = (origin[0] + mid[0] + 0.4 * w) * S
    out = []
    for m in range(3):
        wd = world.copy()
        _face(wd, cy, cx, 0.16 * h * S, m)
        out.append(wd)
    _face(world, cy, cx, 0.16 * h * S, 0)
    return out


def _sample(worlds: list[np.ndarray], origins: list[tuple[float, float]],
            mouth_world: list[np.ndarray], xy: np.ndarray, shot: np.ndarray, h: int, w: int
            ) -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray]]:
    """The clean frames, the frames as shown (the mouth talking in the first shot) and the
    moving-foreground truth so far (the mouth's changed pixels)."""
    clean: list[np.ndarray] = []
    rgb: list[np.ndarray] = []
    fg = [np.zeros((h, w), bool) for _ in range(len(xy))]
    talk = (0, 1, 2, 1, 0, 0, 2, 1)
    for k in range(len(xy)):
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
    return [np.ascontiguousarray(c, np.float32) for c in clean], rgb, fg


def _screen_fixed(kinds: tuple[str, ...], rgb: list[np.ndarray], overlay: list[np.ndarray],
                  line_every: int, seed: int) -> None:
    """The screen-fixed contaminations drawn into ``rgb`` (in place; their truth into
    ``overlay``): logo, hardsub, letterbox bars, a fade-in, dirty frame edges."""
    h, w = overlay[0].shape
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
        ramp = max(1, len(rgb) // 3)
        for k, f in enumerate(rgb[:ramp]):
            f *= np.float32(0.25 + 0.75 * k / ramp)
    if "edges" in kinds:
        rng = np.random.default_rng(seed + 7)
        for k, f in enumerate(rgb):
            f[:, :3] = 0.0
            f[:, w - 2:] = rng.uniform(0.0, 1.0, (h, 2, 1)).astype(np.float32)
            f[:4] = 0.45
            overlay[k][:, :3] = overlay[k][:, w - 2:] = overlay[k][:4] = True


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
    xy, shot = _shots(kinds, n, step, cut_at)
    shots = range(int(shot.max()) + 1)
    worlds = [_world(h, w, xy[shot == s], seed * 10 + s, s) for s in shots]
    # world pixel (0, 0) lies _MARGIN px above-left of the union of the shot's frames
    origins = [(_MARGIN - float(min(xy[shot == s, 0].min(), 0)),
                _MARGIN - float(min(xy[shot == s, 1].min(), 0))) for s in shots]
    mouth_world = _mouth_worlds(worlds[0], origins[0], xy[n // 2], h, w) \
        if "mouth" in kinds else []
    clean, rgb, fg = _sample(worlds, origins, mouth_world, xy, shot, h, w)
    overlay = [np.zeros((h, w), bool) for _ in range(n)]
    if "parallax" in kinds:
        _near_plane(rgb, fg, xy, seed, parallax)
    if "sprite" in kinds:
        _sprite(rgb, fg, sprite_speed)
    if "credits" in kinds:
        _credits(rgb, fg, credit_speed, credit_size)
    _screen_fixed(kinds, rgb, overlay, line_every, seed)
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

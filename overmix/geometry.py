"""Frame offsets and the canvas they span (DESIGN §4 "Offsets", §7 offsets JSON).

Conventions
-----------
- Offsets are in luma pixels. The offset ``(x_k, y_k)`` of frame k is the position of its pixel
  (0, 0) in the coordinates of frame 0, so ``frame_k(i, j) = frame_0(i + y_k, j + x_k)``; a
  camera panning right gives increasing x.
- The canvas origin ``(x, y)`` is the top-left of the union of all frames, rounded down to whole
  pixels of frame 0 (so frame 0 lands on the canvas grid unresampled). Canvas pixel (i, j) has
  its centre at frame-0 coordinates ``(x + j, y + i)``.
- Transforms (zoom/rotation, DESIGN §4): frame k may carry a scale ``s`` (default 1) and an
  angle ``a`` (degrees, default 0): its pixel centre (column j, row i) lies at frame-0
  coordinates ``X = x + s·(j·cos a − i·sin a)``, ``Y = y + s·(j·sin a + i·cos a)``; s > 1 means
  the frame shows more of the scene (zoomed out relative to frame 0). The canvas may carry a
  scale ``c`` (default 1): canvas pixel (J, I) lies at ``(x + c·J, y + c·I)``, so c < 1 is a
  canvas finer than frame 0. Without an explicit ``c`` the canvas takes the scale of the
  sharpest frame, ``c = min(1, min_k s_k)``, and (that frame unrotated) its pixel grid.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from overmix.atomic import check_input, write_text_atomic
from overmix.errors import InputError, UsageError

__all__ = ["MOTIONS", "TRANSLATIONS", "Canvas", "Offsets"]

# camera motion models (``--motion``): translations (both axes, or one axis only), pan + zoom,
# pan + zoom + rotation, or the simplest of those that fits
MOTIONS = ("xy", "x", "y", "zoom", "similarity", "auto")
TRANSLATIONS = MOTIONS[:3]  # what the phase correlation itself estimates


@dataclass(frozen=True)
class Canvas:
    """The stitched image's extent in frame-0 luma coordinates.

    Canvas pixel (column J, row I) has its centre at ``(x + scale·J, y + scale·I)``.
    """

    x: float
    y: float
    width: int
    height: int
    scale: float = 1.0

    @classmethod
    def covering(cls, xy: np.ndarray, frame_width: int, frame_height: int) -> Canvas:
        """Smallest pixel-aligned canvas holding every frame placed at ``xy`` ((n, 2): x, y)."""
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        x0 = math.floor(float(xy[:, 0].min()) + 1e-9)
        y0 = math.floor(float(xy[:, 1].min()) + 1e-9)
        x1 = math.ceil(float(xy[:, 0].max()) + frame_width - 1e-9)
        y1 = math.ceil(float(xy[:, 1].max()) + frame_height - 1e-9)
        return cls(float(x0), float(y0), int(x1 - x0), int(y1 - y0))

    @classmethod
    def covering_corners(cls, corners: np.ndarray, scale: float = 1.0,
                         anchor: tuple[float, float] = (0.0, 0.0)) -> Canvas:
        """Smallest canvas of pixel pitch ``scale`` whose pixel footprints hold every point
        of ``corners`` ((m, 2) frame-0 x, y: the outer corners of the frames' pixel
        footprints). The origin is ``anchor`` plus whole multiples of ``scale`` (with the
        default anchor, frame 0's pixel (0, 0) is on the grid when 1/scale is a whole
        number)."""
        c = np.asarray(corners, dtype=np.float64).reshape(-1, 2)
        s = float(scale)
        ax, ay = (float(v) for v in anchor)
        lo = c.min(axis=0) + 0.5 * s  # centre of the first canvas pixel (at most)
        hi = c.max(axis=0) - 0.5 * s
        x0 = ax + s * math.floor((float(lo[0]) - ax) / s + 1e-3)
        y0 = ay + s * math.floor((float(lo[1]) - ay) / s + 1e-3)
        w = max(1, math.ceil((float(hi[0]) - x0) / s - 1e-3) + 1)
        h = max(1, math.ceil((float(hi[1]) - y0) / s - 1e-3) + 1)
        return cls(float(x0), float(y0), int(w), int(h), s)

    def to_json(self) -> dict[str, float | int]:
        out: dict[str, float | int] = {"x": self.x, "y": self.y, "width": self.width,
                                       "height": self.height}
        if self.scale != 1.0:
            out["scale"] = self.scale
        return out


@dataclass
class Offsets:
    """Aligned positions of a scene's frames.

    Attributes
    ----------
    xy : ndarray, shape (n, 2), float64
        ``(x, y)`` of each frame's pixel (0, 0) in frame-0 luma coordinates.
    indices : list of int
        Each frame's position in the input.
    anim : list of int
        Animation frame of each frame (0 when the scene has one).
    frame_width, frame_height : int
        Luma size of the frames (needed for the canvas).
    extra : dict
        Per-scene diagnostics kept in the JSON (``residual_rms``, ``left_out``, ``masks``...).
    scale : ndarray (n,) float64 or None
        Per-frame scale s (None = all 1), see the module docstring.
    angle : ndarray (n,) float64 or None
        Per-frame angle a in degrees (None = all 0).
    canvas_scale : float or None
        Canvas pixel pitch c in frame-0 pixels (None = the sharpest frame's,
        ``min(1, min s)``).
    gains : ndarray (n, 2) float64 or None
        Per-frame lighting ``(gain, offset)`` when compensation ran (frame Y' = gain · scene
        Y' + offset, :mod:`overmix.render.lighting`); JSON fields ``gain`` and ``offset``.
    confidence : list of float or None
        Per-frame alignment confidence in [0, 1] (written as each frame's ``"confidence"``;
        optional on read).
    """

    xy: np.ndarray
    indices: list[int]
    frame_width: int
    frame_height: int
    anim: list[int] = field(default_factory=list)
    extra: dict[str, object] = field(default_factory=dict)
    scale: np.ndarray | None = None
    angle: np.ndarray | None = None
    canvas_scale: float | None = None
    gains: np.ndarray | None = None
    confidence: list[float] | None = None

    def __post_init__(self) -> None:
        self.xy = np.asarray(self.xy, dtype=np.float64).reshape(-1, 2)
        if not self.anim:
            self.anim = [0] * len(self.xy)
        if not (len(self.xy) == len(self.indices) == len(self.anim)):
            raise UsageError("offsets, indices and animation ids differ in length")
        for name in ("scale", "angle"):
            v = getattr(self, name)
            if v is not None:
                v = np.asarray(v, dtype=np.float64).reshape(-1)
                if len(v) != len(self.xy):
                    raise UsageError(f"offsets and {name}s differ in length")
                setattr(self, name, v)
        if self.scale is not None and not np.all(self.scale > 0):
            raise UsageError("a frame scale must be > 0")
        if self.canvas_scale is not None and not self.canvas_scale > 0:
            raise UsageError(f"the canvas scale must be > 0 (got {self.canvas_scale})")
        if self.gains is not None:
            self.gains = np.asarray(self.gains, dtype=np.float64).reshape(-1, 2)
            if len(self.gains) != len(self.xy):
                raise UsageError("offsets and lighting gains differ in length")
        if self.confidence is not None and len(self.confidence) != len(self.xy):
            raise UsageError("offsets and confidences differ in length")

    def __len__(self) -> int:
        return len(self.xy)

    @property
    def scales(self) -> np.ndarray:
        """(n,) float64 per-frame scale s (1 when not set)."""
        return np.ones(len(self.xy)) if self.scale is None else self.scale

    @property
    def angles(self) -> np.ndarray:
        """(n,) float64 per-frame angle in degrees (0 when not set)."""
        return np.zeros(len(self.xy)) if self.angle is None else self.angle

    @property
    def has_transform(self) -> bool:
        """True when some frame is scaled or rotated (not a pure translation)."""
        return bool(np.any(self.scales != 1.0) or np.any(self.angles != 0.0))

    def transformed(self, n: int) -> bool:
        """True when frame row ``n`` is scaled or rotated."""
        return bool(self.scales[n] != 1.0 or self.angles[n] != 0.0)

    @property
    def pitch(self) -> float:
        """The canvas pixel pitch c (see ``canvas_scale``)."""
        if self.canvas_scale is not None:
            return float(self.canvas_scale)
        return min(1.0, float(self.scales.min())) if self.scale is not None else 1.0

    def with_rows(self, rows: Iterable[int], **changes: object) -> Offsets:
        """The offsets of ``rows`` only (transforms and canvas scale kept); ``changes``
        replace fields (e.g. ``anim``, ``extra``)."""
        rows = [int(r) for r in rows]
        kw: dict[str, object] = {
            "xy": self.xy[rows], "indices": [self.indices[r] for r in rows],
            "frame_width": self.frame_width, "frame_height": self.frame_height,
            "anim": [self.anim[r] for r in rows], "extra": dict(self.extra),
            "scale": None if self.scale is None else self.scale[rows],
            "angle": None if self.angle is None else self.angle[rows],
            "canvas_scale": self.canvas_scale,
            "gains": None if self.gains is None else self.gains[rows],
            "confidence": None if self.confidence is None else [self.confidence[r]
                                                                for r in rows],
        }
        kw.update(changes)
        return Offsets(**kw)  # type: ignore[arg-type]

    def corners(self) -> np.ndarray:
        """(n, 4, 2) frame-0 (x, y) of the outer corners of each frame's pixel footprints
        (luma sample centres ± 0.5, through the frame's transform)."""
        w, h = self.frame_width, self.frame_height
        p = np.array([[-0.5, -0.5], [w - 0.5, -0.5], [-0.5, h - 0.5], [w - 0.5, h - 0.5]])
        a = np.deg2rad(self.angles)[:, None]
        s = self.scales[:, None]
        cx = s * (p[None, :, 0] * np.cos(a) - p[None, :, 1] * np.sin(a))
        cy = s * (p[None, :, 0] * np.sin(a) + p[None, :, 1] * np.cos(a))
        return np.stack([self.xy[:, None, 0] + cx, self.xy[:, None, 1] + cy], axis=-1)

    @property
    def canvas(self) -> Canvas:
        if not self.has_transform and self.pitch == 1.0:
            return Canvas.covering(self.xy, self.frame_width, self.frame_height)
        # the canvas grid on the sharpest frame's pixels when it is at the canvas pitch and
        # unrotated: that frame lands unresampled, and where the frames' samples all fall
        # alike (the centre of a zoom) they fall on canvas samples
        k = int(np.argmin(self.scales))
        anchor = (0.0, 0.0)
        if self.angles[k] == 0.0 and abs(float(self.scales[k]) - self.pitch) < 1e-12:
            anchor = (float(self.xy[k, 0]), float(self.xy[k, 1]))
        return Canvas.covering_corners(self.corners(), self.pitch, anchor)

    def to_json(self) -> dict[str, object]:
        frames: list[dict[str, object]] = [
            {"index": int(i), "x": float(x), "y": float(y), "frame": int(a)}
            for i, (x, y), a in zip(self.indices, self.xy, self.anim, strict=True)
        ]
        if self.has_transform:
            for f, s, a in zip(frames, self.scales, self.angles, strict=True):
                f["scale"] = float(s)
                f["angle"] = float(a)
        if self.gains is not None:
            for f, (g, o) in zip(frames, self.gains, strict=True):
                f["gain"], f["offset"] = float(g), float(o)
        if self.confidence is not None:
            for f, c in zip(frames, self.confidence, strict=True):
                f["confidence"] = float(c)
        out: dict[str, object] = {"frames": frames, "canvas": self.canvas.to_json()}
        out["frame_size"] = {"width": self.frame_width, "height": self.frame_height}
        out.update(self.extra)
        return out

    @classmethod
    def from_json(
        cls, data: dict[str, object], frame_width: int | None = None,
        frame_height: int | None = None,
    ) -> Offsets:
        """Read offsets; only ``index``, ``x``, ``y`` per frame are required (DESIGN §7)."""
        try:
            frames = data["frames"]
            assert isinstance(frames, list) and frames
            idx = [int(f["index"]) for f in frames]
            xy = np.array([[float(f["x"]), float(f["y"])] for f in frames], dtype=np.float64)
            anim = [int(f.get("frame", 0)) for f in frames]
            scale = np.array([float(f.get("scale", 1.0)) for f in frames], dtype=np.float64)
            angle = np.array([float(f.get("angle", 0.0)) for f in frames], dtype=np.float64)
            cv = data.get("canvas")
            cscale = None
            if isinstance(cv, dict) and "scale" in cv:
                cscale = float(cv["scale"])
            conf = ([float(f["confidence"]) for f in frames]
                    if all("confidence" in f for f in frames) else None)
        except (KeyError, TypeError, ValueError, AssertionError):
            raise InputError(
                "offsets JSON needs a non-empty 'frames' list of {index, x, y}"
            ) from None
        if not np.all(np.isfinite(xy)):
            raise InputError("offsets JSON has non-finite x or y")
        if not (np.all(np.isfinite(scale)) and np.all(scale > 0)):
            raise InputError("offsets JSON has a frame scale that is not a number > 0")
        if not np.all(np.isfinite(angle)):
            raise InputError("offsets JSON has a non-finite frame angle")
        if cscale is not None and not (math.isfinite(cscale) and cscale > 0):
            raise InputError("offsets JSON has a canvas scale that is not a number > 0")
        gains = _read_gains(frames)
        if len(set(idx)) != len(idx):
            raise InputError("offsets JSON lists a frame index twice")
        size = data.get("frame_size") if isinstance(data.get("frame_size"), dict) else {}
        w = frame_width if frame_width is not None else int(size.get("width", 0))  # type: ignore[union-attr]
        h = frame_height if frame_height is not None else int(size.get("height", 0))  # type: ignore[union-attr]
        transform = bool(np.any(scale != 1.0) or np.any(angle != 0.0))
        return cls(xy, idx, w, h, anim, scale=scale if transform else None,
                   angle=angle if transform else None, canvas_scale=cscale, gains=gains,
                   confidence=conf)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the JSON atomically."""
        write_text_atomic(Path(path), json.dumps(self.to_json(), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Offsets:
        p = Path(path)
        if not p.exists():
            raise InputError(f"offsets file not found: {p}")
        check_input(p)  # a FIFO would block the read
        try:
            data = json.loads(p.read_text())
        except FileNotFoundError:
            raise InputError(f"offsets file not found: {p}") from None
        except RecursionError:
            raise InputError(f"cannot read offsets file {p}: JSON nested too deeply") from None
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read offsets file {p}: {exc}") from None
        if not isinstance(data, dict):
            raise InputError(f"offsets file {p} is not a JSON object")
        return cls.from_json(data)


def _read_gains(frames: list[dict[str, object]]) -> np.ndarray | None:
    """Optional per-frame lighting ``gain``/``offset`` (n, 2); None when no frame has them."""
    have = [("gain" in f, "offset" in f) for f in frames]
    if not any(g or o for g, o in have):
        return None
    if not all(g and o for g, o in have):
        raise InputError("offsets JSON: 'gain' and 'offset' must be given for every frame "
                         "or for none")
    try:
        out = np.array([[float(f["gain"]), float(f["offset"])] for f in frames])  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError("offsets JSON: 'gain' and 'offset' must be numbers") from None
    if not np.all(np.isfinite(out)) or np.any(out[:, 0] <= 0):
        raise InputError("offsets JSON: every 'gain' must be a finite number > 0 and every "
                         "'offset' finite")
    return out

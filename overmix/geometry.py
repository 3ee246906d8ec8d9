"""Frame offsets and the canvas they span (DESIGN §4 "Offsets", §7 offsets JSON).

Conventions
-----------
- Offsets are in luma pixels. The offset ``(x_k, y_k)`` of frame k is the position of its pixel
  (0, 0) in the coordinates of frame 0, so ``frame_k(i, j) = frame_0(i + y_k, j + x_k)``; a
  camera panning right gives increasing x.
- The canvas origin ``(x, y)`` is the top-left of the union of all frames, rounded down to whole
  pixels of frame 0 (so frame 0 lands on the canvas grid unresampled). Canvas pixel (i, j) has
  its centre at frame-0 coordinates ``(x + j, y + i)``.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from overmix.atomic import check_input, write_text_atomic
from overmix.errors import InputError, UsageError

__all__ = ["Canvas", "Offsets"]


@dataclass(frozen=True)
class Canvas:
    """The stitched image's extent in frame-0 luma coordinates (whole pixels)."""

    x: float
    y: float
    width: int
    height: int

    @classmethod
    def covering(cls, xy: np.ndarray, frame_width: int, frame_height: int) -> Canvas:
        """Smallest pixel-aligned canvas holding every frame placed at ``xy`` ((n, 2): x, y)."""
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        x0 = math.floor(float(xy[:, 0].min()) + 1e-9)
        y0 = math.floor(float(xy[:, 1].min()) + 1e-9)
        x1 = math.ceil(float(xy[:, 0].max()) + frame_width - 1e-9)
        y1 = math.ceil(float(xy[:, 1].max()) + frame_height - 1e-9)
        return cls(float(x0), float(y0), int(x1 - x0), int(y1 - y0))

    def to_json(self) -> dict[str, float | int]:
        return {"x": self.x, "y": self.y, "width": self.width, "height": self.height}


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
        Per-scene diagnostics kept in the JSON (``residual``, ``confidence``...).
    """

    xy: np.ndarray
    indices: list[int]
    frame_width: int
    frame_height: int
    anim: list[int] = field(default_factory=list)
    extra: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.xy = np.asarray(self.xy, dtype=np.float64).reshape(-1, 2)
        if not self.anim:
            self.anim = [0] * len(self.xy)
        if not (len(self.xy) == len(self.indices) == len(self.anim)):
            raise UsageError("offsets, indices and animation ids differ in length")

    def __len__(self) -> int:
        return len(self.xy)

    @property
    def canvas(self) -> Canvas:
        return Canvas.covering(self.xy, self.frame_width, self.frame_height)

    def to_json(self) -> dict[str, object]:
        frames = [
            {"index": int(i), "x": float(x), "y": float(y), "frame": int(a)}
            for i, (x, y), a in zip(self.indices, self.xy, self.anim, strict=True)
        ]
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
        except (KeyError, TypeError, ValueError, AssertionError):
            raise InputError(
                "offsets JSON needs a non-empty 'frames' list of {index, x, y}"
            ) from None
        if not np.all(np.isfinite(xy)):
            raise InputError("offsets JSON has non-finite x or y")
        if len(set(idx)) != len(idx):
            raise InputError("offsets JSON lists a frame index twice")
        size = data.get("frame_size") if isinstance(data.get("frame_size"), dict) else {}
        w = frame_width if frame_width is not None else int(size.get("width", 0))  # type: ignore[union-attr]
        h = frame_height if frame_height is not None else int(size.get("height", 0))  # type: ignore[union-attr]
        return cls(xy, idx, w, h, anim)

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

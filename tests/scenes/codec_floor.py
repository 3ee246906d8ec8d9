"""Where the encoder put each frame's content: the floor of an offset error against the truth
(issue #12, fast pans).

x264 does not only add noise: at a fast pan it moves a frame's whole picture a little against
its source (motion vectors in quarter pixels, a B-frame predicted from references at those
vectors with little residual coded; measured: the 1280x720 8-bit hardsub pan at
``--step=4.74,-0.86`` has frame 34's every 64 px block moved ~0.05 px left, its clean twin,
another GOP, not). An alignment measures the frames as decoded, so its offsets can be no
nearer the generator's truth than that. :func:`content_shifts` measures it independently of
the code under test's scene logic: each decoded frame against its own uncompressed source
frame (the pair refinement alone, contaminations masked), so a bench can tell the codec's
share of an offset error (``floor``) from the alignment's (``vs content``).
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from overmix.morph import dilate
from overmix.registration.phase import estimate_shift
from tests.scenes.real import RealScene, luma709

__all__ = ["content_errors", "content_shifts", "decoded_luma"]

# Pixels the contaminations' masks grow by before the comparison: their soft, compressed
# outline differs from the source's too.
GROW = 6


def decoded_luma(clip: str | Path) -> list[np.ndarray]:
    """The clip's decoded Y' planes, (h, w) float64 in [0, 1] (BT.709 limited range, 8 or
    10 bit read from the raw plane: no scaler between)."""
    out = []
    with av.open(str(clip)) as box:
        for frame in box.decode(video=0):
            y = np.from_dlpack(frame.planes[0]).astype(np.float64)
            scale = 4 if "10" in frame.format.name else 1
            out.append((y - 16 * scale) / (219 * scale))  # ITU-R BT.709 limited range
    return out


def content_shifts(scene: RealScene, clip: str | Path, *, clean: bool = False) -> np.ndarray:
    """(n, 2) float64 (x, y) px: decoded frame k shows its source frame moved by this
    (``decoded(i, j) = source(i + y, j + x)``), so its content sits at ``scene.xy[k]`` plus
    this in the scene. ``clean``: the clip holds the clean frames (nothing masked); else the
    scene's overlays and foreground (grown by :data:`GROW`) are left out."""
    frames = scene.clean if clean else scene.rgb
    out = np.zeros((scene.n, 2))
    for k, dec in enumerate(decoded_luma(clip)):
        bad = None if clean else dilate(scene.overlay[k] | scene.foreground[k], GROW)
        r = estimate_shift(luma709(frames[k]).astype(np.float64), dec, ref_mask=bad,
                           mov_mask=bad, guess=(0.0, 0.0))
        out[k] = r.dx, r.dy
    return out


def content_errors(scene: RealScene, xy: np.ndarray, used: list[int], shifts: np.ndarray,
                   ) -> tuple[float, float]:
    """(floor, vs content) px: the largest codec displacement of the ``used`` frames
    relative to the first (what offsets measured from the decoded frames cannot undo), and
    the largest error of the offsets ``xy`` (rows of ``used``, first frame at 0) against
    the decoded content's positions (the alignment's own share)."""
    rel = shifts[used] - shifts[used[0]]
    truth = scene.xy[used] - scene.xy[used[0]]
    return float(np.abs(rel).max()), float(np.abs(xy - truth - rel).max())

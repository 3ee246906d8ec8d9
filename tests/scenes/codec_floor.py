"""Where the encoder put each frame's content: the floor of an offset error against the truth
(issue #12, fast pans).

x264 does not only add noise: at a fast pan it moves a frame's whole picture a little against
its source (motion vectors in quarter pixels, a B-frame predicted from references at those
vectors with little residual coded; measured: the 1280x720 8-bit hardsub pan at
``--step=4.74,-0.86`` has frame 34's every 64 px block moved ~0.05 px left; its clean twin,
another encode, has such frames elsewhere). An alignment measures the frames as decoded, so
its offsets can be no nearer the generator's truth than that. :func:`content_shifts`
measures it independently of the code under test: each decoded frame against its own
uncompressed source frame (:func:`block_shift`, contaminations masked), so a bench can tell
the codec's share of an offset error (``floor``) from the alignment's (``vs content``).
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from scipy import ndimage

from overmix.morph import dilate
from tests.scenes.real import RealScene, luma709

__all__ = ["content_errors", "content_shifts", "decoded_luma"]

# Pixels the contaminations' masks grow by before the comparison: their soft, compressed
# outline differs from the source's too.
GROW = 6
# Side (px) of the blocks whose own shifts are combined (a macroblock pair: the codec's
# motion vectors, and so its displacement, vary from block to block)
BLOCK = 32


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


def block_shift(src: np.ndarray, dec: np.ndarray, bad: np.ndarray | None = None,
                steps: int = 8) -> np.ndarray:
    """(x, y) px such that ``dec(i, j) = src(i + y, j + x)``: Lucas-Kanade on every
    :data:`BLOCK` px block (shift and offset; both frames moved half-way by cubic splines
    between the steps, at most ``steps`` of them), the median of the textured blocks'
    shifts (the upper half by the smaller eigenvalue of their gradient matrix), so flat
    colour and a few odd blocks do not count.
    ``src``, ``dec``: (h, w) float64 Y'; ``bad``: (h, w) bool, pixels left out. Independent
    of the code under test (scipy and numpy only)."""
    h, w = (v // BLOCK * BLOCK for v in src.shape)
    blocks = (h // BLOCK, BLOCK, w // BLOCK, BLOCK)
    ok = np.ones((h, w)) if bad is None else (~bad[:h, :w]).astype(np.float64)
    ok[:4], ok[-4:], ok[:, :4], ok[:, -4:] = 0.0, 0.0, 0.0, 0.0  # the splines' edges
    d = np.zeros(2)
    for _ in range(steps):
        # both frames moved half-way, so both get the same interpolation (no bias)
        moved = ndimage.shift(dec, (d[1] / 2, d[0] / 2), order=3, mode="nearest")[:h, :w]
        fixed = ndimage.shift(src, (-d[1] / 2, -d[0] / 2), order=3, mode="nearest")[:h, :w]
        gy, gx = np.gradient(0.5 * (moved + fixed))
        r = fixed - moved
        cols = (gx, gy, np.ones_like(gx))
        sums = lambda a: (a * ok).reshape(blocks).sum(axis=(1, 3))  # noqa: E731
        m = np.empty(blocks[::2] + (3, 3))
        for a in range(3):
            for b in range(a, 3):
                m[..., a, b] = m[..., b, a] = sums(cols[a] * cols[b])
        v = np.stack([sums(c * r) for c in cols], -1)
        valid = m[..., 2, 2] > 0.5 * BLOCK * BLOCK
        lam = np.linalg.eigvalsh(m[..., :2, :2])[..., 0]
        use = valid & (lam >= np.median(lam[valid]))
        # src - moved ~ -grad(moved) . delta + c per block
        sol = np.linalg.solve(m[use], v[use][..., None])[..., 0]
        step = np.median(sol[:, :2], axis=0)
        d -= step
        if np.abs(step).max() < 1e-4:
            break
    return d


def content_shifts(scene: RealScene, clip: str | Path, *, clean: bool = False) -> np.ndarray:
    """(n, 2) float64 (x, y) px: decoded frame k shows its source frame moved by this
    (``decoded(i, j) = source(i + y, j + x)``, :func:`block_shift`), so its content sits at
    ``scene.xy[k]`` plus this in the scene. ``clean``: the clip holds the clean frames
    (nothing masked); else the scene's overlays and foreground (grown by :data:`GROW`) are
    left out."""
    frames = scene.clean if clean else scene.rgb
    out = np.zeros((scene.n, 2))
    for k, dec in enumerate(decoded_luma(clip)):
        bad = None if clean else dilate(scene.overlay[k] | scene.foreground[k], GROW)
        out[k] = block_shift(luma709(frames[k]).astype(np.float64), dec, bad)
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

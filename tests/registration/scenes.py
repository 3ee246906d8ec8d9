"""Ground-truth pans for alignment tests and benchmarks.

A scene is drawn once at ``s``x the frame resolution (a piecewise-constant "world" image).
Each frame pixel is the **exact area average** of the world over the pixel's footprint, placed
at an arbitrary real offset, computed with linearly interpolated cumulative sums (exact for a
piecewise-constant world). So ``frame_k(i, j) = frame_0(i + y_k, j + x_k)`` holds for the
continuous box-filtered scene with any sub-pixel offset, and no interpolator of the aligner is
involved in making the frames.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

__all__ = [
    "cel_world",
    "smooth_world",
    "photo_world",
    "sample_frames",
    "eased_offsets",
    "linear_offsets",
    "to_codes",
    "encode_decode",
]


def _disk(world: np.ndarray, cy: float, cx: float, r: float, value: float,
          outline: float = 0.0, ink: float = 0.06) -> None:
    h, w = world.shape
    r_out = r + outline
    y0, y1 = max(int(cy - r_out) - 1, 0), min(int(cy + r_out) + 2, h)
    x0, x1 = max(int(cx - r_out) - 1, 0), min(int(cx + r_out) + 2, w)
    if y0 >= y1 or x0 >= x1:
        return
    yy, xx = np.ogrid[y0:y1, x0:x1]
    d = np.hypot(yy + 0.5 - cy, xx + 0.5 - cx)
    sub = world[y0:y1, x0:x1]
    if outline > 0:
        sub[d <= r_out] = ink
    sub[d <= r] = value


def _segment(world: np.ndarray, p: tuple[float, float], q: tuple[float, float], width: float,
             value: float) -> None:
    h, w = world.shape
    y0 = max(int(min(p[0], q[0]) - width) - 1, 0)
    y1 = min(int(max(p[0], q[0]) + width) + 2, h)
    x0 = max(int(min(p[1], q[1]) - width) - 1, 0)
    x1 = min(int(max(p[1], q[1]) + width) + 2, w)
    if y0 >= y1 or x0 >= x1:
        return
    yy, xx = np.ogrid[y0:y1, x0:x1]
    py, px = yy + 0.5 - p[0], xx + 0.5 - p[1]
    vy, vx = q[0] - p[0], q[1] - p[1]
    t = np.clip((py * vy + px * vx) / max(vy * vy + vx * vx, 1e-9), 0, 1)
    d = np.hypot(py - t * vy, px - t * vx)
    world[y0:y1, x0:x1][d <= width / 2] = value


def cel_world(height: int, width: int, s: int = 4, seed: int = 0) -> np.ndarray:
    """A cel-style world (luma only) of ``height x width`` frame pixels drawn at ``s``x.

    Vertical gradient sky, flat-filled disks and rectangles with dark outlines (about 1.5 frame
    px), gradient-filled shapes and thin lines (0.5-1 frame px).

    Returns
    -------
    ndarray, float32, shape (height * s, width * s), values in [0, 1].
    """
    rng = np.random.default_rng(seed)
    H, W = height * s, width * s
    yy = (np.arange(H, dtype=np.float32)[:, None] + 0.5) / H
    world = np.broadcast_to(0.75 - 0.35 * yy, (H, W)).astype(np.float32).copy()
    area = height * width
    n_shapes = max(8, int(area / 2500))
    for _ in range(n_shapes):
        cy, cx = rng.uniform(0, H), rng.uniform(0, W)
        kind = rng.random()
        value = float(rng.uniform(0.2, 0.95))
        if kind < 0.45:
            r = rng.uniform(4, 30) * s
            _disk(world, cy, cx, r, value, outline=1.5 * s)
        elif kind < 0.8:
            hy, hx = rng.uniform(4, 25) * s, rng.uniform(4, 25) * s
            y0, y1 = int(max(cy - hy, 0)), int(min(cy + hy, H))
            x0, x1 = int(max(cx - hx, 0)), int(min(cx + hx, W))
            if y1 - y0 < 4 * s or x1 - x0 < 4 * s:
                continue
            o = int(1.5 * s)
            world[y0:y1, x0:x1] = 0.06
            if rng.random() < 0.5:  # gradient fill
                g = np.linspace(value, value * 0.5, x1 - x0 - 2 * o, dtype=np.float32)
                world[y0 + o:y1 - o, x0 + o:x1 - o] = g[None, :]
            else:
                world[y0 + o:y1 - o, x0 + o:x1 - o] = value
        else:
            length = rng.uniform(10, 60) * s
            ang = rng.uniform(0, np.pi)
            q = (cy + length * np.sin(ang), cx + length * np.cos(ang))
            _segment(world, (cy, cx), q, rng.uniform(0.5, 1.0) * s, float(rng.uniform(0, 0.3)))
    return world


def smooth_world(height: int, width: int, s: int = 4, seed: int = 0,
                 sigma: float = 3.0) -> np.ndarray:
    """A smooth random field (like a magnified photograph), ``s``x the frame resolution.

    ``sigma`` is the correlation length in frame pixels.
    """
    rng = np.random.default_rng(seed)
    # build at frame resolution (cheap), smooth, then magnify with a smooth kernel
    base = rng.standard_normal((height + 8, width + 8)).astype(np.float32)
    base = ndimage.gaussian_filter(base, sigma)
    base = ndimage.zoom(base, s, order=3)[: height * s, : width * s]
    base -= base.min()
    base /= max(float(base.max()), 1e-6)
    return (0.1 + 0.8 * base).astype(np.float32)


def photo_world(height: int, width: int, s: int = 4, seed: int = 0) -> np.ndarray:
    """Photograph-like texture: smooth random fields at three scales (1, 3 and 10 frame px)
    summed, so there is fine detail on top of soft shapes; ``s``x the frame resolution."""
    acc = np.zeros((height * s, width * s), np.float32)
    for k, (sigma, amp) in enumerate(((1.0, 0.5), (3.0, 1.0), (10.0, 1.5))):
        acc += amp * smooth_world(height, width, s, seed * 7 + k, sigma=sigma)
    acc -= acc.min()
    acc /= max(float(acc.max()), 1e-6)
    return (0.05 + 0.9 * acc).astype(np.float32)


def _area_axis(a: np.ndarray, start: float, n: int, s: int, axis: int) -> np.ndarray:
    """Exact box averages of a piecewise-constant array along ``axis``.

    Output sample t averages the world interval [(start + t) * s, (start + t + 1) * s) (world
    sample m covers [m, m + 1)).
    """
    a = np.moveaxis(a, axis, 0).astype(np.float64)
    c = np.concatenate([np.zeros((1,) + a.shape[1:]), np.cumsum(a, axis=0)], axis=0)
    edges = (start + np.arange(n + 1)) * s
    m = np.floor(edges).astype(np.int64)
    f = (edges - m).reshape((-1,) + (1,) * (a.ndim - 1))
    if m.min() < 0 or m.max() >= a.shape[0]:
        raise ValueError("frame footprint leaves the world")
    cum = c[m] + f * a[m]
    out = (cum[1:] - cum[:-1]) / s
    return np.moveaxis(out, 0, axis)


def sample_frames(world: np.ndarray, s: int, offsets: np.ndarray, height: int, width: int,
                  origin: tuple[float, float] = (0.0, 0.0)) -> list[np.ndarray]:
    """Frames of a pan over ``world``.

    Parameters
    ----------
    world : (H, W) float32, drawn at ``s``x.
    offsets : (n, 2) float, (x, y) of each frame in frame-0 pixels (DESIGN §4 convention).
    origin : (x0, y0) position of frame 0's pixel (0, 0) corner in world frame pixels.

    Returns
    -------
    list of float32 (height, width) arrays.
    """
    frames = []
    for x, y in np.asarray(offsets, dtype=np.float64):
        ys, xs = origin[1] + y, origin[0] + x
        r0 = int(np.floor(ys * s))
        r1 = int(np.ceil((ys + height) * s)) + 1
        c0 = int(np.floor(xs * s))
        c1 = int(np.ceil((xs + width) * s)) + 1
        block = world[r0:r1, c0:c1]
        rows = _area_axis(block, ys - r0 / s, height, s, axis=0)
        frame = _area_axis(rows, xs - c0 / s, width, s, axis=1)
        frames.append(frame.astype(np.float32))
    return frames


def linear_offsets(n: int, step: tuple[float, float]) -> np.ndarray:
    """(n, 2) offsets of a constant-speed pan, ``step`` = (dx, dy) per frame."""
    k = np.arange(n, dtype=np.float64)[:, None]
    return k * np.asarray(step, dtype=np.float64)[None, :]


def eased_offsets(n: int, total: tuple[float, float]) -> np.ndarray:
    """(n, 2) offsets of an eased (smoothstep) pan covering ``total`` = (dx, dy)."""
    t = np.linspace(0.0, 1.0, n)
    e = t * t * (3 - 2 * t)
    return e[:, None] * np.asarray(total, dtype=np.float64)[None, :]


def to_codes(frames: Sequence[np.ndarray], depth: int) -> list[np.ndarray]:
    """Luma in [0, 1] to limited-range codes (ITU-R BT.709 scaling: 16..235 x 2^(n-8))."""
    scale = 1 << (depth - 8)
    dt = np.uint8 if depth <= 8 else np.uint16
    return [np.clip(np.rint((16 + 219 * f.astype(np.float64)) * scale), 0,
                    (1 << depth) - 1).astype(dt) for f in frames]


def encode_decode(frames: Sequence[np.ndarray], depth: int, path: str,
                  crf: int = 18, preset: str = "medium",
                  x264_params: str | None = None) -> list[np.ndarray]:
    """Encode luma frames as H.264 (8-bit ``yuv420p`` or 10-bit ``yuv420p10le``, grey chroma)
    with libx264 at ``crf`` (and ``x264_params``, x264's own ``key=value:...`` settings, e.g.
    ``"mbtree=0"``), decode them back with PyAV and return working luma in [0, 1].

    The decoded Y plane is read raw (``np.from_dlpack``) and mapped from limited-range codes
    (ITU-R BT.709: Y' = (Y - 16 * 2^(n-8)) / (219 * 2^(n-8))).
    """
    import av

    from tests.videogen import encode_video

    pix_fmt = "yuv420p" if depth == 8 else "yuv420p10le"
    ys = to_codes(frames, depth)
    dt = ys[0].dtype
    h, w = ys[0].shape
    grey = np.full(((h + 1) // 2, (w + 1) // 2), 128 << (depth - 8), dt)
    options = {"crf": str(crf), "preset": preset}
    if x264_params:
        options["x264-params"] = x264_params
    encode_video(path, [(y, grey, grey) for y in ys], "libx264", pix_fmt, options=options)
    out = []
    scale = float(1 << (depth - 8))
    with av.open(path) as box:
        stream = box.streams.video[0]
        stream.thread_type = "AUTO"
        for fr in box.decode(stream):
            y = np.from_dlpack(fr.planes[0])
            out.append(((y.astype(np.float32) - 16 * scale) / (219 * scale)).astype(np.float32))
    if len(out) != len(frames):
        raise RuntimeError(f"decoded {len(out)} of {len(frames)} frames")
    return out

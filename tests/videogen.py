"""Shared test helpers: procedurally drawn cel-style scenes and PyAV encoding.

Every helper here is deterministic (seeded) and small so tests can build their own videos in
temporary folders:

- :func:`draw_scene` — a float RGB picture in [0, 1] with flat-coloured shapes, dark outlines
  and a soft gradient background (the look of animation cels); ``shift`` pans the camera.
- :func:`rgb_to_yuv_codes` — R'G'B' floats to Y'CbCr integer codes (BT.601/709/2020 matrices,
  limited or full range, 8-16 bit, 4:2:0/4:2:2/4:4:4 with box-filtered chroma).
- :func:`planes_to_frame` / :func:`frame_planes` — numpy planes <-> ``av.VideoFrame``.
- :func:`encode_video` — encode a list of plane tuples into a file with colour tags.
- :func:`make_clip` — the common case in one call.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

__all__ = [
    "KR_KB",
    "draw_scene",
    "encode_video",
    "frame_planes",
    "make_clip",
    "pan_frames",
    "planes_to_frame",
    "rgb_to_yuv_codes",
    "telecine",
    "color_tags",
    "soft_telecine_mpeg2",
]

# Kr, Kb: ITU-R BT.601-7, BT.709-6, BT.2020-2.
KR_KB = {"601": (0.299, 0.114), "709": (0.2126, 0.0722), "2020": (0.2627, 0.0593)}

# FFmpeg codes for tags (AVColorSpace / AVColorRange / AVColorTransferCharacteristic /
# AVColorPrimaries) per matrix name.
_TAGS = {
    "601": {"colorspace": 6, "color_trc": 6, "color_primaries": 6},
    "709": {"colorspace": 1, "color_trc": 1, "color_primaries": 1},
    "2020": {"colorspace": 9, "color_trc": 14, "color_primaries": 9},
}


def draw_scene(h: int, w: int, seed: int = 0, shift: tuple[float, float] = (0.0, 0.0),
               world: tuple[int, int] | None = None) -> np.ndarray:
    """A cel-style picture: gradient sky, flat shapes with dark outlines, float RGB.

    Parameters
    ----------
    h, w : int
        Output size in pixels.
    seed : int
        Selects the shapes and colours.
    shift : (dy, dx)
        Camera position in world pixels (the view shows world[y + dy, x + dx]); pans the scene.
    world : (H, W) or None
        Size of the world the shapes are placed in (default 2x the view).

    Returns
    -------
    ndarray, float32, shape (h, w, 3), values in [0, 1].
    """
    rng = np.random.default_rng(seed)
    wh, ww = world or (2 * h, 2 * w)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    yy += shift[0]
    xx += shift[1]
    top = rng.uniform(0.5, 0.9, 3)
    bottom = rng.uniform(0.1, 0.5, 3)
    t = np.clip(yy / max(wh, 1), 0, 1)[..., None]
    img = top * (1 - t) + bottom * t
    for _ in range(int(rng.integers(6, 11))):
        cy, cx = rng.uniform(0, wh), rng.uniform(0, ww)
        ry, rx = rng.uniform(0.06, 0.25) * wh, rng.uniform(0.06, 0.25) * ww
        color = rng.uniform(0.05, 0.95, 3)
        if rng.random() < 0.5:  # ellipse
            d = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2
            inside, edge = d <= 1.0, np.abs(np.sqrt(d) - 1.0) * min(ry, rx) < 1.2
        else:  # rectangle
            dy, dx = np.abs(yy - cy) - ry, np.abs(xx - cx) - rx
            inside = (dy <= 0) & (dx <= 0)
            edge = inside & ((dy > -1.5) | (dx > -1.5))
        img[inside] = color
        img[edge] = 0.08  # ink line
    # a little texture so codecs have something to do and frames are not flat
    img += rng.normal(0, 0.01, img.shape)
    return np.clip(img, 0, 1).astype(np.float32)


def pan_frames(n: int, h: int, w: int, seed: int = 0, step: tuple[float, float] = (1.0, 2.0),
               cut_every: int | None = None) -> list[np.ndarray]:
    """``n`` RGB frames of a camera pan; with ``cut_every`` a new scene (seed) every k frames."""
    out = []
    for k in range(n):
        scene = seed + (k // cut_every if cut_every else 0)
        j = k % cut_every if cut_every else k
        out.append(draw_scene(h, w, scene, (step[0] * j, step[1] * j)))
    return out


def rgb_to_yuv_codes(rgb: np.ndarray, matrix: str = "709", full: bool = False, depth: int = 8,
                     sub: tuple[int, int] = (2, 2)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """R'G'B' in [0, 1] to Y'CbCr integer codes.

    Parameters
    ----------
    rgb : ndarray (h, w, 3) float
    matrix : "601" | "709" | "2020"
    full : bool
        Full range (Y' 0..2^n-1) instead of limited (16..235 scaled to the depth).
    depth : int
        Bits per sample, 8-16.
    sub : (sub_x, sub_y)
        Chroma subsampling; chroma is a box average over each cell (edge-replicated for odd
        sizes), so its siting is *center* — fine for round-trip tests that compare codes.

    Returns
    -------
    (Y, Cb, Cr) : uint8 arrays for depth 8, uint16 otherwise.
    """
    kr, kb = KR_KB[matrix]
    kg = 1 - kr - kb
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    y = kr * r + kg * g + kb * b  # ITU-R BT.601/709/2020 luma
    cb = (b - y) / (2 * (1 - kb))
    cr = (r - y) / (2 * (1 - kr))
    sx, sy = sub
    h, w = y.shape
    ch, cw = -(-h // sy), -(-w // sx)

    def down(p: np.ndarray) -> np.ndarray:
        p = np.pad(p, ((0, ch * sy - h), (0, cw * sx - w)), mode="edge")
        return p.reshape(ch, sy, cw, sx).mean(axis=(1, 3))

    cb, cr = down(cb), down(cr)
    scale = 1 << (depth - 8)
    maxc = (1 << depth) - 1
    if full:
        yc, cbc, crc = y * maxc, cb * maxc + (1 << (depth - 1)), cr * maxc + (1 << (depth - 1))
    else:
        yc = (16 + 219 * y) * scale
        cbc, crc = (128 + 224 * cb) * scale, (128 + 224 * cr) * scale
    dt = np.uint8 if depth <= 8 else np.uint16
    return tuple(np.clip(np.rint(p), 0, maxc).astype(dt) for p in (yc, cbc, crc))  # type: ignore


def planes_to_frame(planes: Sequence[np.ndarray], pix_fmt: str) -> av.VideoFrame:
    """Build an ``av.VideoFrame`` of ``pix_fmt`` (planar formats) from numpy planes.

    Planes are given in FFmpeg's plane order (Y, U, V / G, B, R); uint16 planes are written
    little-endian (use ``*le`` formats).
    """
    h, w = planes[0].shape
    frame = av.VideoFrame(w, h, pix_fmt)
    for plane, arr in zip(frame.planes, planes, strict=True):
        buf = np.frombuffer(plane, np.uint8)
        bps = arr.dtype.itemsize
        rows, cols = arr.shape
        view = buf[: plane.line_size * rows].reshape(rows, plane.line_size)[:, : cols * bps]
        view[:] = np.ascontiguousarray(arr.astype(arr.dtype.newbyteorder("<"))).view(np.uint8)
    return frame


def frame_planes(frame: av.VideoFrame) -> list[np.ndarray]:
    """PyAV's raw planes of a decoded frame (copies, cropped to the visible width)."""
    out = []
    for p in frame.planes:
        a = np.from_dlpack(p)
        out.append(np.array(a))
    return out


def encode_video(path: str | Path, frames: Sequence[Sequence[np.ndarray]], codec: str = "libx264",
                 pix_fmt: str = "yuv420p", rate: Fraction | int = Fraction(24000, 1001),
                 options: dict[str, str] | None = None, tags: dict[str, int] | None = None,
                 container_format: str | None = None, frame_pix_fmt: str | None = None,
                 interlaced: bool = False, tff: bool = True, gop: int | None = None,
                 codec_options: dict[str, object] | None = None) -> Path:
    """Encode frames (each a tuple of planes in FFmpeg plane order) to ``path``.

    Parameters
    ----------
    frames : sequence of plane tuples (uint8 or uint16 arrays)
    codec : "libx264", "mpeg2video", "ffv1", ...
    pix_fmt : encoder pixel format (e.g. "yuv420p10le").
    rate : frame rate.
    options : encoder options (e.g. {"crf": "0"} or {"qp": "0"}); libx264 runs with
        ``asm=0`` unless ``x264-params`` sets asm or mbtree (reproducible encodes).
    tags : FFmpeg colour codes, keys ``colorspace``, ``color_range``, ``color_trc``,
        ``color_primaries``; set on the stream and on every frame. ``None`` = untagged.
    container_format : e.g. "mpegts" (default: from the extension).
    frame_pix_fmt : format of the frames handed to the encoder (default ``pix_fmt``).
    interlaced, tff : mark frames interlaced with this field order (ffv1/mpeg2 keep it).
    gop : keyframe interval.
    codec_options : extra attributes set on the codec context (e.g. ``{"max_b_frames": 2}``).
    """
    path = Path(path)
    with av.open(str(path), "w", format=container_format) as out:
        stream = out.add_stream(codec, rate=rate, options=_reproducible(codec, options))
        h, w = frames[0][0].shape
        stream.width, stream.height = w, h
        stream.pix_fmt = pix_fmt
        cc = stream.codec_context
        if gop is not None:
            cc.gop_size = gop
        for k, v in (codec_options or {}).items():
            setattr(cc, k, v)
        for k, v in (tags or {}).items():
            setattr(cc, k, v)
        if interlaced:
            cc.flags |= av.codec.context.Flags.interlaced_dct
            cc.flags |= av.codec.context.Flags.interlaced_me
            cc.field_order = 2 if tff else 5  # AV_FIELD_TT / AV_FIELD_BB
        marker = _field_marker(w, h, frame_pix_fmt or pix_fmt, rate, tff) if interlaced else None
        for i, planes in enumerate(frames):
            fr = planes_to_frame(planes, frame_pix_fmt or pix_fmt)
            fr.pts = i
            fr.time_base = Fraction(1, 1) / Fraction(rate)
            if marker is not None:  # PyAV cannot set interlaced_frame: use `setfield`
                marker.push(fr)
                fr = marker.pull()
            for k, v in (tags or {}).items():
                setattr(fr, k, v)
            for pkt in stream.encode(fr):
                out.mux(pkt)
        for pkt in stream.encode(None):
            out.mux(pkt)
    return path


def _reproducible(codec: str, options: dict[str, str] | None) -> dict[str, str]:
    """The encoder ``options``, with libx264 on its plain C code (``asm=0``) unless the
    caller's ``x264-params`` set ``asm`` or ``mbtree``: x264's AVX-512 macroblock-tree code
    gives other bits from run to run (same frames and options, one thread or several), so a
    test's figures would change between runs. The C code gives the same bits every time, at
    the same bitrate (``mbtree=0`` does too, but spends ~30 % more bits: other material);
    its encodes of the tests' small frames cost a tenth of a second more."""
    opts = dict(options or {})
    params = opts.get("x264-params", "")
    if codec == "libx264" and "asm" not in params and "mbtree" not in params:
        opts["x264-params"] = f"{params}:asm=0" if params else "asm=0"
    return opts


def _field_marker(w: int, h: int, pix_fmt: str, rate: Fraction | int, tff: bool
                  ) -> av.filter.Graph:
    """A filter graph that flags frames interlaced with the given field order."""
    r = Fraction(rate)
    g = av.filter.Graph()
    src = g.add("buffer", f"video_size={w}x{h}:pix_fmt={pix_fmt}:time_base={r.denominator}/"
                          f"{r.numerator}:pixel_aspect=1/1:frame_rate={r.numerator}/{r.denominator}")
    sf = g.add("setfield", "tff" if tff else "bff")
    sink = g.add("buffersink")
    src.link_to(sf)
    sf.link_to(sink)
    g.configure()
    return g


def color_tags(matrix: str = "709", full: bool = False) -> dict[str, int]:
    """FFmpeg tag codes for a matrix name and range (for :func:`encode_video`)."""
    return {**_TAGS[matrix], "color_range": 2 if full else 1}


def make_clip(path: str | Path, n: int = 12, h: int = 64, w: int = 96, *, codec: str = "libx264",
              pix_fmt: str = "yuv420p", matrix: str = "709", full: bool = False,
              tagged: bool = True, seed: int = 0, options: dict[str, str] | None = None,
              container_format: str | None = None, rate: Fraction | int = Fraction(24000, 1001),
              gop: int | None = None, cut_every: int | None = None,
              codec_options: dict[str, object] | None = None) -> Path:
    """A panning cel clip encoded in one call; depth and subsampling follow ``pix_fmt``."""
    depth = 8
    for d in (10, 12, 16):
        if f"p{d}" in pix_fmt:
            depth = d
    sub = (1, 1) if "444" in pix_fmt else (2, 1) if "422" in pix_fmt else (2, 2)
    rgbs = pan_frames(n, h, w, seed, cut_every=cut_every)
    frames = [rgb_to_yuv_codes(x, matrix, full, depth, sub) for x in rgbs]
    tags = color_tags(matrix, full) if tagged else None
    return encode_video(path, frames, codec, pix_fmt, rate, options, tags, container_format,
                        gop=gop, codec_options=codec_options)


def telecine(frames: Sequence[Sequence[np.ndarray]], pix_fmt: str = "yuv420p",
             first_field: str = "top", pattern: str = "23",
             rate: Fraction = Fraction(24000, 1001)) -> list[list[np.ndarray]]:
    """Hard-telecine progressive frames with FFmpeg's ``telecine`` filter.

    Returns the planes of the (interlaced) output frames; 4 inputs give 5 outputs with
    pattern ``"23"``. ``first_field`` is ``"top"`` or ``"bottom"``.
    """
    h, w = frames[0][0].shape
    tb = 1 / Fraction(rate)
    g = av.filter.Graph()
    src = g.add("buffer", f"video_size={w}x{h}:pix_fmt={pix_fmt}:time_base={tb.numerator}/"
                          f"{tb.denominator}:pixel_aspect=1/1:frame_rate={Fraction(rate).numerator}"
                          f"/{Fraction(rate).denominator}")
    tc = g.add("telecine", f"first_field={first_field}:pattern={pattern}")
    sink = g.add("buffersink")
    src.link_to(tc)
    tc.link_to(sink)
    g.configure()
    out: list[list[np.ndarray]] = []

    def drain() -> None:
        while True:
            try:
                fr = g.pull()
            except (av.error.BlockingIOError, av.error.EOFError):
                return
            out.append([np.array(np.from_dlpack(p)) for p in fr.planes])

    for i, planes in enumerate(frames):
        fr = planes_to_frame(planes, pix_fmt)
        fr.pts = i
        fr.time_base = tb
        g.push(fr)
        drain()
    g.push(None)
    drain()
    return out


def soft_telecine_mpeg2(path: str | Path, n: int = 12, h: int = 64, w: int = 96, seed: int = 0,
                        container_format: str = "mpegts") -> tuple[Path, list[tuple]]:
    """A progressive MPEG-2 clip with DVD-style soft pulldown (repeat-field flags).

    FFmpeg's mpeg2video encoder has no soft-pulldown option, so the clip is encoded as an
    elementary stream at 30000/1001 without B-frames, then the flags are set in the
    bitstream: ``progressive_sequence = 0`` in the sequence extension and, per picture,
    ``top_field_first``/``repeat_first_field`` in the picture coding extension following the
    2:3 cadence (TFF+RFF, -, RFF, TFF) with ``progressive_frame = 1`` kept. The ES is then
    remuxed (stream copy) into ``container_format``, whose timestamps step 3 and 2 fields
    (4504/3003 ticks at 90 kHz): film at 24000/1001.

    Returns the path and the encoded frames' planes (the source pictures).
    """
    import re
    import tempfile

    path = Path(path)
    rgbs = pan_frames(n, h, w, seed)
    frames = [rgb_to_yuv_codes(x, "601", False, 8, (2, 2)) for x in rgbs]
    with tempfile.TemporaryDirectory() as td:
        es = Path(td) / "v.m2v"
        encode_video(es, frames, "mpeg2video", "yuv420p", Fraction(30000, 1001),
                     tags=color_tags("601"), container_format="mpeg2video",
                     codec_options={"max_b_frames": 0, "bit_rate": 4_000_000}, gop=6)
        data = bytearray(es.read_bytes())
        k = 0
        for m in list(re.finditer(b"\x00\x00\x01\xb5", bytes(data))):
            i = m.end()
            ext = data[i] >> 4
            if ext == 1:  # sequence extension: clear progressive_sequence
                data[i + 1] &= ~0x08 & 0xFF
            elif ext == 8:  # picture coding extension: TFF (0x80) and RFF (0x02) of byte 3
                tff, rff = [(1, 1), (0, 0), (0, 1), (1, 0)][k % 4]
                k += 1
                data[i + 3] = (data[i + 3] & ~0x82 & 0xFF) | (0x80 * tff) | (0x02 * rff)
        es.write_bytes(bytes(data))
        with av.open(str(es)) as inp, av.open(str(path), "w", format=container_format) as out:
            s = inp.streams.video[0]
            o = out.add_stream_from_template(s)
            for pkt in inp.demux(s):
                if pkt.size == 0:
                    continue
                pkt.stream = o
                out.mux(pkt)
    return path, frames

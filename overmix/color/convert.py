"""Codes ↔ working values and the one-call frame → RGB conversion (matrices: :mod:`.matrices`).

This is the only place where integer codes become float working values and back (DESIGN §3-4).

Working values
--------------
Y' (and R', G', B', gray) in [0, 1], Cb/Cr in [-0.5, 0.5], float32. Codes of bit depth n:

- limited ("studio") range, ITU-R BT.601-7 §2.5.3 / BT.709-6 item 4.6 / BT.2020-2 table 5,
  with the 8-bit constants scaled by 2^(n−8):
  ``Y' = (Y − 16·2^(n−8)) / (219·2^(n−8))``, ``C = (C − 128·2^(n−8)) / (224·2^(n−8))``;
- full range (ITU-T H.273 ``video_full_range_flag = 1``, as in JFIF/T.871 at 8 bit):
  ``Y' = Y / (2^n − 1)``, ``C = (C − 2^(n−1)) / (2^n − 1)``.

The formulas are applied at any depth 1-16. Below 8 bits limited range has fractional
constants (it is rarely meaningful there, but it stays monotone and invertible).

Matrices
--------
From Kr, Kb (:mod:`overmix.color.matrices`: ITU-R BT.601-7 §2.5.2, BT.709-6 items 3.2-3.3,
BT.2020-2 table 4, SMPTE ST 240, FCC 47 CFR 73.682). Constants are float64; pixels float32.
Results are **not clipped**: out-of-range codes give out-of-range R'G'B', clipped only at
quantisation.

Transfer: output R'G'B' keeps the source transfer (what a player shows). ``linear=True``
applies the BT.1886 EOTF (``V^2.4``, :mod:`overmix.color.transfer`).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from overmix.color import transfer
from overmix.color.chroma import upsample_tables
from overmix.color.matrices import reinterpret, rgb_to_ycbcr, ycbcr_to_rgb_matrix
from overmix.color.spec import ColorInfo, Matrix, Range
from overmix.color.untagged import resolve_matrix
from overmix.errors import UnsupportedError

__all__ = [
    "codes_to_working",
    "frame_to_image",
    "from_rgb",
    "output_depth",
    "quantize_codes",
    "range_constants",
    "to_rgb",
    "to_rgb_codes",
    "working_to_codes",
]


# ---------------------------------------------------------------------------------------------
# Range


def range_constants(bit_depth: int, range: Range) -> tuple[float, float, float, float]:
    """``(y_offset, y_scale, c_offset, c_scale)`` such that ``Y' = (code − y_offset) / y_scale``.

    >>> range_constants(10, Range.LIMITED)   # 10-bit studio swing: black 64, white 940
    (64.0, 876.0, 512.0, 896.0)
    >>> range_constants(8, Range.FULL)
    (0.0, 255.0, 128.0, 255.0)
    """
    n = int(bit_depth)
    if not 1 <= n <= 16:
        raise UnsupportedError(f"bit depth {bit_depth} is outside 1-16")
    if Range(range) == Range.LIMITED:
        k = 2.0 ** (n - 8)  # BT.601/709/2020: 8-bit constants scaled to n bits
        return (16.0 * k, 219.0 * k, 128.0 * k, 224.0 * k)
    top = float(2**n - 1)
    return (0.0, top, float(2 ** (n - 1)), top)


def codes_to_working(
    plane: np.ndarray, *, bit_depth: int, range: Range, chroma: bool = False
) -> np.ndarray:
    """Integer codes → float32 working values (range removed, not clipped).

    Parameters
    ----------
    plane : ndarray of int (any shape)
        Codes as decoded (uint8 / uint16, never shifted).
    bit_depth : int
        1-16.
    range : Range
    chroma : bool
        True for Cb/Cr (centred on 0), False for Y', R', G', B', gray.

    Returns
    -------
    ndarray of float32, same shape
        Y' in [0, 1] or C in [-0.5, 0.5] for nominal codes.

    Examples
    --------
    >>> codes_to_working(np.array([64, 940], np.uint16), bit_depth=10, range=Range.LIMITED)
    array([0., 1.], dtype=float32)
    """
    yo, ys, co, cs = range_constants(bit_depth, range)
    off, scale = (co, cs) if chroma else (yo, ys)
    return ((np.asarray(plane, dtype=np.float64) - off) / scale).astype(np.float32)


def working_to_codes(
    plane: np.ndarray, *, bit_depth: int, range: Range, chroma: bool = False
) -> np.ndarray:
    """Inverse of :func:`codes_to_working`: round to nearest, clamp to ``[0, 2^n − 1]``.

    Returns uint8 for ``bit_depth ≤ 8``, else uint16.
    """
    yo, ys, co, cs = range_constants(bit_depth, range)
    off, scale = (co, cs) if chroma else (yo, ys)
    v = np.floor(np.asarray(plane, dtype=np.float64) * scale + off + 0.5)
    np.clip(v, 0, 2**bit_depth - 1, out=v)
    return v.astype(np.uint8 if bit_depth <= 8 else np.uint16)


def output_depth(bit_depth: int, depth: int | None = None) -> int:
    """Bits per channel of an output picture: ``depth`` when given, else 16 for sources
    deeper than 8 bits and 8 otherwise (``--depth``'s default for every command)."""
    if depth is not None:
        return int(depth)
    return 16 if bit_depth > 8 else 8


def quantize_codes(v: np.ndarray, depth: int) -> np.ndarray:
    """Working [0, 1] values → ``round(clip(v, 0, 1) · (2^depth − 1))`` as uint8/uint16."""
    top = 2**depth - 1
    q = np.floor(np.clip(np.asarray(v, dtype=np.float32), 0.0, 1.0) * np.float32(top) + 0.5)
    return q.astype(np.uint8 if depth <= 8 else np.uint16)


# ---------------------------------------------------------------------------------------------
# Fused Y'CbCr → R'G'B' kernel


def _ycbcr_numpy(yp: np.ndarray, cbp: np.ndarray, crp: np.ndarray, iy: np.ndarray,
                 wy: np.ndarray, ix: np.ndarray, wx: np.ndarray, consts: np.ndarray,
                 m: np.ndarray, qmax: int, out: np.ndarray) -> None:
    """Numpy twin of the fused kernel (same float64 arithmetic, same rounding).

    Range removal, separable chroma interpolation (vertical, then horizontal: gathered tap
    sums) and the matrix; ``out`` (H, W, 3) is float32 (``qmax == 0``: unclipped working
    R'G'B') or an integer array (``qmax > 0``: ``floor(clip(v, 0, 1) · qmax + 0.5)``).
    """
    y_off, inv_ys, c_off, inv_cs = consts[0], 1.0 / consts[1], consts[2], 1.0 / consts[3]
    chroma = []
    for plane in (cbp, crp):
        rows = np.zeros((iy.shape[0], plane.shape[1]), np.float64)
        for t in range(iy.shape[1]):
            rows += wy[:, t, None].astype(np.float64) * plane[iy[:, t]]
        rows -= c_off
        rows *= inv_cs
        c = np.zeros((iy.shape[0], ix.shape[0]), np.float64)
        for t in range(ix.shape[1]):
            c += wx[None, :, t].astype(np.float64) * rows[:, ix[:, t]]
        chroma.append(c)
        del rows
    yv = (yp.astype(np.float64) - y_off) * inv_ys
    cb, cr = chroma
    for k in range(3):
        v = m[k, 0] * yv + m[k, 1] * cb + m[k, 2] * cr
        if qmax > 0:
            np.clip(v, 0.0, 1.0, out=v)
            v *= qmax
            v += 0.5
            np.floor(v, out=v)
        out[..., k] = v


def _family_name(family: object) -> str:
    value = getattr(family, "value", family)
    name = str(value).lower()
    if name not in ("gray", "ycbcr", "rgb"):
        raise UnsupportedError(f"unknown plane family {family!r}")
    return name


def _convert(
    planes: Sequence[np.ndarray],
    color: ColorInfo,
    family: object,
    sub_x: int,
    sub_y: int,
    chroma_filter: str,
    out: np.ndarray,
    qmax: int,
    engine: str = "numba",
) -> None:
    """Fill ``out`` (H, W, ≥3) with R'G'B' (float working values, or codes when ``qmax``)."""
    if engine not in ("numba", "numpy"):
        raise UnsupportedError(f"unknown conversion engine {engine!r} (use numba or numpy)")
    fam = _family_name(family)
    y = np.asarray(planes[0])
    h, w = y.shape
    matrix = resolve_matrix(color.matrix, w, h)
    if fam == "ycbcr" and matrix == Matrix.GRAY:
        fam = "gray"
    if fam == "ycbcr" and matrix == Matrix.RGB:
        fam = "rgb"  # planes already reordered to R, G, B by the decoder
    yo, ys, _, _ = range_constants(color.bit_depth, color.range)
    if fam in ("gray", "rgb"):
        srcs = [y] * 3 if fam == "gray" else [np.asarray(p) for p in planes[:3]]
        for c, p in enumerate(srcs):
            if p.shape != (h, w):
                raise UnsupportedError(f"plane {c} has shape {p.shape} in a {w}x{h} frame")
            v = (p.astype(np.float32) - np.float32(yo)) * np.float32(1.0 / ys)
            if qmax:
                v = np.floor(np.clip(v, 0.0, 1.0) * np.float32(qmax) + np.float32(0.5))
            out[..., c] = v
        return
    if len(planes) < 3:
        raise UnsupportedError(f"a Y'CbCr frame needs 3 planes, got {len(planes)}")
    cb, cr = np.asarray(planes[1]), np.asarray(planes[2])
    if cb.shape != cr.shape:
        raise UnsupportedError(f"chroma planes differ in shape: {cb.shape} vs {cr.shape}")
    rows, cols = upsample_tables(
        cb.shape, (h, w), sub_x=sub_x, sub_y=sub_y, location=color.chroma_location,
        filter=chroma_filter,
    )
    consts = np.array(range_constants(color.bit_depth, color.range), dtype=np.float64)
    m = ycbcr_to_rgb_matrix(matrix)
    dst = out if out.shape[2] == 3 and out.flags.c_contiguous else np.empty(
        (h, w, 3), dtype=out.dtype
    )
    y, cb, cr = np.ascontiguousarray(y), np.ascontiguousarray(cb), np.ascontiguousarray(cr)
    if engine == "numba":
        from overmix.color.convert_kernel import ycbcr_kernel  # fused, fastest on big frames

        # Rows are independent (the row tables hold absolute chroma rows), so two bands run
        # on two threads (the kernel releases the GIL) with results identical to one pass.
        bands = 2 if h >= 256 and (os.cpu_count() or 1) > 1 else 1
        cuts = [h * b // bands for b in range(bands + 1)]

        def band(b: int) -> None:
            a, e = cuts[b], cuts[b + 1]
            ycbcr_kernel(y[a:e], cb, cr, rows.index[a:e], rows.weight[a:e], cols.index,
                         cols.weight, consts, m, qmax, dst[a:e])

        if bands == 1:
            band(0)
        else:
            with ThreadPoolExecutor(bands) as pool:
                list(pool.map(band, range(bands)))
    else:
        _ycbcr_numpy(y, cb, cr, rows.index, rows.weight, cols.index, cols.weight, consts, m,
                     qmax, dst)
    if dst is not out:
        out[..., :3] = dst


def _alpha_working(alpha: np.ndarray, bit_depth: int) -> np.ndarray:
    # Alpha is always full range: max code = opaque.
    return np.asarray(alpha, dtype=np.float32) * np.float32(1.0 / (2**bit_depth - 1))


def to_rgb(
    planes: Sequence[np.ndarray],
    color: ColorInfo,
    *,
    family: object = "ycbcr",
    sub_x: int = 2,
    sub_y: int = 2,
    chroma_filter: str = "bilinear",
    linear: bool = False,
    alpha: np.ndarray | None = None,
    engine: str = "numba",
    depth: int | None = None,
) -> np.ndarray:
    """Planes of codes → R'G'B' (or linear RGB) float32 in [0, 1], not clipped (or, with
    ``depth``, integer codes: :func:`to_rgb_codes`).

    Parameters
    ----------
    planes : sequence of 2-D integer arrays
        Y', Cb, Cr (Cb/Cr at ``ceil(H / sub_y) × ceil(W / sub_x)``), or R, G, B, or one gray
        plane; native codes of ``color.bit_depth`` bits.
    color : ColorInfo
        Matrix (``UNSPECIFIED`` → guessed from the size), range, chroma location, bit depth.
    family : Family or str
        ``"ycbcr"``, ``"rgb"`` or ``"gray"``.
    sub_x, sub_y : int
        Chroma subsampling factors of Y'CbCr planes.
    chroma_filter : str
        ``bilinear`` (default), ``bicubic`` (Catmull-Rom), ``lanczos`` (Lanczos-3), ``mitchell``,
        ``nearest``; see :mod:`overmix.color.chroma`.
    linear : bool
        Apply the BT.1886 EOTF (``V^2.4``, sign-mirrored below 0) to get linear light.
    alpha : ndarray or None
        Full-size alpha codes (same depth); appended as a 4th channel in [0, 1].
    engine : str
        Y'CbCr path: ``"numba"`` (one fused kernel, fastest for whole frames) or ``"numpy"``
        (same arithmetic and results, without importing numba; e.g. ``overmix stitch``).
    depth : int or None
        None: float output. 1-16: quantised in the same pass, ``round(clip(v, 0, 1) ·
        (2^depth − 1))`` (uint8 for ``depth ≤ 8``, else uint16; no dither).

    Returns
    -------
    ndarray of float32, shape (H, W, 3) or (H, W, 4)
    """
    if depth is not None:
        return _codes(planes, color, depth, family, sub_x, sub_y, chroma_filter, linear, alpha,
                      engine)
    y = np.asarray(planes[0])
    h, w = y.shape
    nch = 3 if alpha is None else 4
    out = np.empty((h, w, nch), dtype=np.float32)
    _convert(planes, color, family, sub_x, sub_y, chroma_filter, out, 0, engine)
    if linear:
        out[..., :3] = transfer.bt1886_eotf(out[..., :3])
    if alpha is not None:
        out[..., 3] = _alpha_working(alpha, color.bit_depth)
    return out


def to_rgb_codes(planes: Sequence[np.ndarray], color: ColorInfo, *, depth: int = 16,
                 **options: Any) -> np.ndarray:
    """Like :func:`to_rgb` (same keywords), quantised in the same pass:
    ``round(clip(v, 0, 1) · (2^depth − 1))``.

    Returns
    -------
    ndarray of uint8 (``depth ≤ 8``) or uint16, shape (H, W, 3) or (H, W, 4)
        Round to nearest, no dither (use :func:`overmix.color.dither.quantize` on
        :func:`to_rgb` output for error diffusion).
    """
    return to_rgb(planes, color, depth=depth, **options)


to_rgb_codes.__signature__ = inspect.signature(to_rgb).replace(  # type: ignore[attr-defined]
    parameters=[p.replace(default=16, annotation="int") if p.name == "depth" else p
                for p in inspect.signature(to_rgb).parameters.values()])


def _codes(planes: Sequence[np.ndarray], color: ColorInfo, depth: int, family: object,
           sub_x: int, sub_y: int, chroma_filter: str, linear: bool, alpha: np.ndarray | None,
           engine: str) -> np.ndarray:
    """:func:`to_rgb` with ``depth``: integer codes."""
    if not 1 <= depth <= 16:
        raise UnsupportedError(f"output depth {depth} is outside 1-16")
    if linear:
        rgb = to_rgb(planes, color, family=family, sub_x=sub_x, sub_y=sub_y,
                     chroma_filter=chroma_filter, linear=True, alpha=alpha, engine=engine)
        return quantize_codes(rgb, depth)
    y = np.asarray(planes[0])
    h, w = y.shape
    nch = 3 if alpha is None else 4
    out = np.empty((h, w, nch), dtype=np.uint8 if depth <= 8 else np.uint16)
    _convert(planes, color, family, sub_x, sub_y, chroma_filter, out, 2**depth - 1, engine)
    if alpha is not None:
        out[..., 3] = quantize_codes(_alpha_working(alpha, color.bit_depth), depth)
    return out


# ---------------------------------------------------------------------------------------------
# Whole frames → output pictures


def frame_to_image(
    frame: object,
    *,
    depth: int | None = None,
    dither: bool = False,
    chroma_filter: str = "bilinear",
    linear: bool = False,
    reinterpret_from: tuple[Matrix, Matrix] | None = None,
    keep_gray: bool = True,
) -> np.ndarray:
    """A frame (anything with ``planes``, ``layout``, ``color``, ``alpha``) → integer picture.

    Parameters
    ----------
    frame : overmix.frame.Frame
        Its ``color`` decides range, matrix and siting (override by ``frame.replace(color=...)``).
    depth : int or None
        8 or 16 (any 1-16); ``None`` = 16 for sources deeper than 8 bit, else 8.
    dither : bool
        Floyd–Steinberg error diffusion instead of round-to-nearest.
    chroma_filter : str
        Chroma upsampling filter (:mod:`overmix.color.chroma`).
    linear : bool
        BT.1886 EOTF → linear light.
    reinterpret_from : (used, correct) or None
        Repair R'G'B' decoded with the wrong matrix (see :func:`reinterpret`).
    keep_gray : bool
        Gray frames give a 1-channel (or gray + alpha) picture instead of RGB.

    Returns
    -------
    ndarray of uint8 (depth ≤ 8) or uint16, shape (H, W, C), C in {1, 2, 3, 4}
    """
    from overmix.color.dither import quantize

    color: ColorInfo = frame.color  # type: ignore[attr-defined]
    layout = frame.layout  # type: ignore[attr-defined]
    planes = frame.planes  # type: ignore[attr-defined]
    alpha = frame.alpha  # type: ignore[attr-defined]
    depth = output_depth(color.bit_depth, depth)
    fam = _family_name(layout.family)
    kw = dict(family=fam, sub_x=layout.sub_x, sub_y=layout.sub_y, chroma_filter=chroma_filter,
              linear=linear, alpha=alpha)
    if dither or reinterpret_from is not None:
        rgb = to_rgb(planes, color, **kw)  # type: ignore[arg-type]
        if reinterpret_from is not None:
            rgb[..., :3] = reinterpret(rgb[..., :3], *reinterpret_from)
        img = quantize(rgb, depth, dither=dither)
    else:
        img = to_rgb_codes(planes, color, depth=depth, **kw)  # type: ignore[arg-type]
    gray = fam == "gray" or (fam == "ycbcr" and Matrix(color.matrix) == Matrix.GRAY)
    if keep_gray and gray and reinterpret_from is None:
        img = img[..., [0, 3]] if img.shape[2] == 4 else img[..., :1]
    return np.ascontiguousarray(img)


def from_rgb(
    rgb: np.ndarray,
    color: ColorInfo,
    *,
    family: object = "ycbcr",
    sub_x: int = 2,
    sub_y: int = 2,
    filter: str = "area",
) -> tuple[np.ndarray, ...]:
    """R'G'B' working values → planes of codes (the inverse of :func:`to_rgb`).

    Parameters
    ----------
    rgb : ndarray of float, shape (H, W, 3)
        R'G'B' in [0, 1] (values outside are clamped at the codes).
    color : ColorInfo
        Target matrix (``UNSPECIFIED`` → guessed from the size), range, chroma location and
        bit depth.
    family : Family or str
        ``"ycbcr"`` → (Y', Cb, Cr) with Cb/Cr subsampled by ``(sub_x, sub_y)``; ``"rgb"`` →
        (R', G', B'); ``"gray"`` → (Y',) with the matrix's luma weights (BT.709 for RGB/gray).
    sub_x, sub_y : int
        Chroma subsampling of the Y'CbCr result.
    filter : str
        Chroma downsampling filter at the target siting (``area`` by default; see
        :func:`overmix.color.chroma.downsample`).

    Returns
    -------
    tuple of ndarray (uint8 for depth ≤ 8, else uint16)
    """
    from overmix.color.chroma import downsample

    rgb = np.asarray(rgb, dtype=np.float32)
    if rgb.ndim != 3 or rgb.shape[2] < 3:
        raise UnsupportedError(f"expected an (H, W, 3) picture, got shape {rgb.shape}")
    h, w = rgb.shape[:2]
    n, rng = color.bit_depth, color.range
    fam = _family_name(family)
    matrix = resolve_matrix(color.matrix, w, h)
    if fam == "rgb" or (fam == "ycbcr" and matrix == Matrix.RGB):
        return tuple(working_to_codes(rgb[..., c], bit_depth=n, range=rng) for c in range(3))
    if matrix in (Matrix.RGB, Matrix.GRAY):
        matrix = Matrix.BT709
    y, cb, cr = rgb_to_ycbcr(rgb[..., :3], matrix)
    yc = working_to_codes(y, bit_depth=n, range=rng)
    if fam == "gray":
        return (yc,)
    if sub_x != 1 or sub_y != 1:
        kw = dict(sub_x=sub_x, sub_y=sub_y, location=color.chroma_location, filter=filter)
        cb = downsample(cb, **kw)  # type: ignore[arg-type]
        cr = downsample(cr, **kw)  # type: ignore[arg-type]
    return (yc, working_to_codes(cb, bit_depth=n, range=rng, chroma=True),
            working_to_codes(cr, bit_depth=n, range=rng, chroma=True))

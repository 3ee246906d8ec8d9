"""A rendered canvas (working Y'CbCr planes) as output codes: an R'G'B' picture or a Frame.

This is the one place where a canvas leaves the working units (DESIGN §3): once, at the end,
through :mod:`overmix.color.convert`, keeping the canvas's full float precision up to the
final rounding (8-bit rounds or dithers; 16-bit is ``round(clip(v, 0, 1) · 65535)``).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from overmix.color.convert import range_constants, to_rgb, to_rgb_codes, working_to_codes
from overmix.color.spec import ColorInfo
from overmix.frame import Family, Frame
from overmix.render.stack import RenderResult

__all__ = ["canvas_frame", "canvas_image", "image_strips"]


def _float_codes(plane: np.ndarray, color: ColorInfo, chroma: bool) -> np.ndarray:
    """Working values → float codes of the source's depth and range (not rounded), so the
    colour conversion keeps the canvas's full precision."""
    yo, ys, co, cs = range_constants(color.bit_depth, color.range)
    off, scale = (co, cs) if chroma else (yo, ys)
    return plane * np.float32(scale) + np.float32(off)


def canvas_image(res: RenderResult, *, depth: int, dither: bool = False,
                 chroma_filter: str = "bilinear", strip: int = 256) -> np.ndarray:
    """The canvas as an integer picture: RGB, or RGBA when it has holes (gray for gray).

    Converted in row strips (with a chroma margin) so the float RGB never exists for the
    whole canvas unless dithering needs it.
    """
    h, w = res.planes[0].shape
    out: np.ndarray | None = None
    for r0, r1, img in image_strips(res, depth=depth, dither=dither,
                                    chroma_filter=chroma_filter, strip=strip):
        if out is None:
            out = np.empty((h, w, img.shape[2]), np.uint8 if depth <= 8 else np.uint16)
        out[r0:r1] = img
    assert out is not None
    return out[..., 0] if out.shape[2] == 1 else out


def image_strips(res: RenderResult, *, depth: int, dither: bool = False,
                 chroma_filter: str = "bilinear", strip: int = 256,
                 ) -> Iterator[tuple[int, int, np.ndarray]]:
    """``(r0, r1, rows)`` of the canvas picture, top to bottom: rows ``[r0, r1)`` as
    (r1 - r0, W, C) uint8/uint16 codes, C = 3 (RGB), 4 (RGBA), 1 (gray) or 2 (gray + alpha);
    one strip of the whole canvas when dithering."""
    color = res.color
    lay = res.layout
    fam = lay.family
    alpha_full = res.has_holes
    top = float((1 << color.bit_depth) - 1)
    h, w = res.planes[0].shape
    gray = fam == Family.GRAY
    sy = lay.sub_y if fam == Family.YCBCR else 1
    strip = max(sy, strip - strip % sy)
    margin = 4  # chroma rows beyond the strip: more than any upsampling filter reaches
    rows = [(0, h)] if dither else [(r, min(h, r + strip)) for r in range(0, h, strip)]
    for r0, r1 in rows:
        c0, c1 = r0 // sy, -(-r1 // sy)
        m0 = max(0, c0 - margin)
        m1 = c1 + margin
        l0, l1 = m0 * sy, min(h, m1 * sy)
        planes = [_float_codes(res.planes[0][l0:l1], color, False)]
        for p in range(1, len(res.planes)):
            planes.append(_float_codes(res.planes[p][m0:m1], color, fam == Family.YCBCR))
        alpha = (res.coverage[l0:l1] > 0).astype(np.float32) * np.float32(top) \
            if alpha_full else None
        # the numpy conversion: the stitch output path does not load numba (~100 MB RSS)
        kw = dict(family=fam.value, sub_x=lay.sub_x, sub_y=lay.sub_y,
                  chroma_filter=chroma_filter, alpha=alpha, engine="numpy")
        if dither:
            # lazy: error diffusion is numba, kept out of a default stitch (~100 MB RSS)
            from overmix.color.dither import quantize

            rgb = to_rgb(planes, color, **kw)  # type: ignore[arg-type]
            img = quantize(rgb, depth, dither=True)
        else:
            img = to_rgb_codes(planes, color, depth=depth, **kw)  # type: ignore[arg-type]
        del planes, alpha
        img = img[r0 - l0:r1 - l0]
        if gray:
            img = img[..., [0, 3]] if alpha_full else img[..., :1]
        yield r0, r1, np.ascontiguousarray(img)


def canvas_frame(res: RenderResult) -> Frame:
    """The canvas as a :class:`Frame` of codes at the source's depth (for a dump)."""
    color = res.color
    ycc = res.layout.family == Family.YCBCR
    planes = tuple(
        working_to_codes(p, bit_depth=color.bit_depth, range=color.range, chroma=ycc and i > 0)
        for i, p in enumerate(res.planes)
    )
    alpha = None
    if res.has_holes:
        alpha = np.where(res.coverage > 0, (1 << color.bit_depth) - 1, 0).astype(planes[0].dtype)
    return Frame(planes, res.layout, color, alpha=alpha, index=0).validate()

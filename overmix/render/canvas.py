"""Where every plane's samples sit, on the canvas and in each placed frame (DESIGN §4).

All positions are in **frame-0 luma coordinates**: luma sample (i, j) of frame 0 has its centre
at (x = j, y = i). A plane subsampled by ``(sx, sy)`` with chroma location offset
``(ox, oy) = ChromaLocation.offset(sx, sy)`` has its sample (i, j) at ``(sx·j + ox, sy·i + oy)``
in its own frame's luma coordinates, so:

- frame k placed at offset ``(x_k, y_k)``: plane sample (i, j) sits at
  ``(x_k + sx·j + ox, y_k + sy·i + oy)``;
- the canvas (origin ``(canvas.x, canvas.y)``, whole pixels) uses the same siting: canvas plane
  sample (i, j) sits at ``(canvas.x + sx·j + ox, canvas.y + sy·i + oy)``.

A frame's chroma therefore moves by ``offset / sx`` chroma samples, never by a rounded amount
(Overmix truncates, which puts 4:2:0 chroma half a chroma sample off for odd offsets).

With ``full_chroma`` the canvas chroma planes are rendered at luma resolution, co-sited with
luma (``sx = sy = 1``, offset 0), directly from each frame's subsampled chroma.
"""

from __future__ import annotations

from dataclasses import dataclass

from overmix.color.spec import ChromaLocation
from overmix.frame import Family, PlaneLayout
from overmix.geometry import Canvas

__all__ = ["PlaneGrid", "canvas_grid", "canvas_layout", "frame_grid"]


@dataclass(frozen=True)
class PlaneGrid:
    """A plane's sample lattice in frame-0 luma coordinates.

    Sample (i, j) has its centre at ``(x0 + step_x·j, y0 + step_y·i)``; the plane has
    ``rows x cols`` samples. Each sample stands for a ``step_x x step_y`` luma-pixel footprint.
    """

    x0: float
    y0: float
    step_x: float
    step_y: float
    rows: int
    cols: int

    def x(self, j: float) -> float:
        return self.x0 + self.step_x * j

    def y(self, i: float) -> float:
        return self.y0 + self.step_y * i


def _plane_siting(layout: PlaneLayout, location: ChromaLocation,
                  plane: int) -> tuple[int, int, float, float]:
    sx, sy = layout.plane_scale(plane)
    if layout.family != Family.YCBCR or plane == 0:
        return 1, 1, 0.0, 0.0
    ox, oy = location.offset(sx, sy)
    return sx, sy, float(ox), float(oy)


def canvas_layout(layout: PlaneLayout, *, full_chroma: bool = False) -> PlaneLayout:
    """Layout of the rendered canvas: the source's, or 4:4:4 with ``full_chroma``."""
    if full_chroma and layout.family == Family.YCBCR:
        return PlaneLayout(Family.YCBCR, 1, 1)
    return layout


def canvas_grid(canvas: Canvas, layout: PlaneLayout, location: ChromaLocation, plane: int,
                *, full_chroma: bool = False) -> PlaneGrid:
    """Sample grid of canvas plane ``plane`` (layout = the *source* layout). On a canvas of
    pitch ``c = canvas.scale`` the plane's siting is in canvas pixels: sample (i, j) sits at
    ``(canvas.x + c·(sx·j + ox), canvas.y + c·(sy·i + oy))``."""
    out = canvas_layout(layout, full_chroma=full_chroma)
    sx, sy, ox, oy = _plane_siting(out, location, plane)
    rows, cols = out.plane_shape(plane, canvas.height, canvas.width)
    c = canvas.scale
    if c == 1.0:
        return PlaneGrid(canvas.x + ox, canvas.y + oy, sx, sy, rows, cols)
    return PlaneGrid(canvas.x + c * ox, canvas.y + c * oy, c * sx, c * sy, rows, cols)


def frame_grid(x: float, y: float, height: int, width: int, layout: PlaneLayout,
               location: ChromaLocation, plane: int) -> PlaneGrid:
    """Sample grid of plane ``plane`` of a frame of luma size ``height x width`` at ``(x, y)``."""
    sx, sy, ox, oy = _plane_siting(layout, location, plane)
    rows, cols = layout.plane_shape(plane, height, width)
    return PlaneGrid(x + ox, y + oy, sx, sy, rows, cols)

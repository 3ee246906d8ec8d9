"""Places no frame sees at full weight beside a moving thing: the views chosen on their values
(issue #12).

Beside a character moving against the pan, some canvas places are seen by no frame at full
weight: every frame covering them leaves them out or keeps them low (the ``NEAR`` ring, an
outline's ``NEAR_LINE``, a mask's soft rim, the floor inside a mask a pixel or two too wide).
There the render blends whatever low-weight views there are by their weights, and a count
decides: one clean view of the background at 2-4e-3 is outvoted by three views of the
character's outline at 2e-3 (the poses of a bobbing walk repeat), or the only clean view lies
at the floor inside a mask that runs a few pixels past the outline while another frame's
view of the outline is shown alone.

Such a place lies next to places seen at full weight (:data:`SURE`), the background beside
it. A view there that continues that background (within ``LEVEL`` of the value of the
nearest sure place, at most :data:`REACH` px away: flat cels, the same tolerance as
:func:`overmix.render.foreground_slope.like_background`) is the background's; a view that
does not is the thing's outline or fill, or a blend of them. Where some view continues the
background, the views that do not are left out (the floor; a view at ``NEAR`` or above, a
flat sample beside a mask, stays), and those that do are used: the ones left out come back
(at ``ALONE``) where none in use continues it; where none does, the weights stand. A
textured background's edge beside the place is the background too, and a view of it
continues the nearest sure pixel as well as anything else does.

The nearest sure place may lie across a line, beyond which the background has another
colour (a circle's outline; a character's coat of nearly that colour then continues it, the
circle's inside does not). So a view on a flat region of its own frame (3x3 range below
:data:`FLAT`) that holds sure places (at least :data:`MIN_SURE`) is judged on them instead:
it continues the background where most of them (:data:`FITS`) lie within
:data:`FIT_LEVEL` of the canvas, and not otherwise. Such a region also decides the places
deeper than :data:`REACH` from every sure one (the gap beside a walking character's leg,
seen clean by the frames of one pose only); there nothing else is changed.

Pure functions over numpy arrays: the canvas side (:func:`doubtful_places`) reads a first
render's Y' and summed weights, the frame side (:func:`background_views`) one frame's Y' and
weights with its place on that canvas (translations only).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from overmix.morph import bounding_box
from overmix.render.foreground import FLAT, _range3  # a frame's flat samples, as there

__all__ = ["REACH", "SURE", "Doubtful", "background_views", "doubtful_places"]

SURE = 0.5  # summed render weight: some frame sees the place at full weight
# px: how far from a sure place a doubtful one still reads the background there: as deep as
# a mask may run past the thing (rim_alone.RIM, 4) plus the cubic kernel's half support (2):
# the sure places next to a doubtful one read its views through the kernel (720p sprite
# 10-bit "few" at 3 / 4 / 6 px: -6.31 / -6.18 / -6.01 dB)
REACH = 6
CONTEXT = 16  # px past the places: the sure places a frame's flat region around them holds
MIN_SURE = 8  # sure places a frame's flat region must hold to be judged on them
# working Y': how far a flat region's sample may lie from the canvas at a sure place (codec
# noise, a few codes; a coat of 0.41 over a background of 0.37 fitted LEVEL's 0.06: 640x360
# vertical pan subsprite 10-bit "few" -6.63 dB with it, -6.34 with this)
FIT_LEVEL = 0.02
FITS = 0.8  # share of a region's sure places within FIT_LEVEL for its views to continue them


@dataclass
class Doubtful:
    """The doubtful places of a canvas on their bounding box.

    ``y0, x0``: the box's top-left canvas pixel; ``place`` bool (hb, wb): a place no frame
    sees at full weight within :data:`REACH` px of one that some frame does; ``ref`` float32
    (hb, wb): working Y' of the nearest sure place (meaningful where ``place``); ``sure``
    bool (hb, wb): the sure places of the box; ``y`` float32 (hb, wb): the canvas's working
    Y'; ``deep`` bool (hb, wb): the places no frame sees at full weight farther than
    ``REACH`` from every sure one (judged only on a frame's flat regions). ``sure``, ``y``
    None: the frames' flat regions are not judged (:func:`background_views`)."""

    y0: int
    x0: int
    place: np.ndarray
    ref: np.ndarray
    sure: np.ndarray | None = None
    y: np.ndarray | None = None
    deep: np.ndarray | None = None

    def on_frame(self, org: tuple[int, int], shape: tuple[int, int]
                 ) -> tuple[tuple[slice, slice], tuple[slice, slice]] | None:
        """The overlap of a frame of ``shape`` (h, w) whose pixel (0, 0) sits on canvas pixel
        ``org`` (row, column) with the box: (frame slices, box slices), or None."""
        hb, wb = self.place.shape
        fy0, fx0 = self.y0 - org[0], self.x0 - org[1]  # the box's corner in frame pixels
        y0, x0 = max(fy0, 0), max(fx0, 0)
        y1, x1 = min(fy0 + hb, shape[0]), min(fx0 + wb, shape[1])
        if y1 <= y0 or x1 <= x0:
            return None
        return ((slice(y0, y1), slice(x0, x1)),
                (slice(y0 - fy0, y1 - fy0), slice(x0 - fx0, x1 - fx0)))


def doubtful_places(y: np.ndarray, coverage: np.ndarray, *, sure: float = SURE,
                    reach: int = REACH) -> Doubtful | None:
    """The doubtful places of a rendered canvas and the background value beside each.

    Parameters
    ----------
    y : ndarray float32 (H, W)
        The canvas's working Y'.
    coverage : ndarray float32 (H, W)
        Summed frame weight per canvas pixel (the ``average`` render's).
    sure, reach : float, int
        See :data:`SURE`, :data:`REACH`.

    Returns
    -------
    Doubtful or None
        None where every covered place is sure or none lies near a sure one.
    """
    from scipy import ndimage  # lazy: only for clean stills with masks

    low = (coverage > 0) & (coverage < sure)
    # the box reaches CONTEXT px past the places: the sure places a frame's flat region
    # around them holds (background_views)
    box = bounding_box(low, max(reach + 1, CONTEXT))
    if box is None:
        return None
    ok = coverage[box] >= sure
    if not ok.any():
        return None
    dist, (iy, ix) = ndimage.distance_transform_edt(~ok, return_indices=True)
    place = low[box] & (dist <= reach)
    if not place.any():
        return None
    yb = np.asarray(y[box], np.float32)
    return Doubtful(box[0].start, box[1].start, place, yb[iy, ix], ok, yb, low[box] & ~place)


def background_views(doubt: Doubtful, y: np.ndarray, org: tuple[int, int],
                     near: np.ndarray | None, level: float
                     ) -> tuple[np.ndarray, np.ndarray] | None:
    """One frame's views of the doubtful places beside its moving thing.

    Parameters
    ----------
    doubt : Doubtful
    y : ndarray float32 (h, w)
        The frame's working Y'.
    org : (row, column)
        The canvas pixel its pixel (0, 0) lands on (rounded).
    near : ndarray bool (h, w) or None
        The frame's samples near its own moving-foreground mask (the views the rule
        judges); None: none.
    level : float
        Working Y': how far a view may lie from the background beside it.

    Returns
    -------
    (views, like) or None
        bool (h, w) each: the frame's samples at doubtful places near its moving mask, and
        those of them within ``level`` of the nearest sure place's value.
    """
    if near is None:
        return None
    cut = doubt.on_frame(org, y.shape)
    if cut is None:
        return None
    fs, bs = cut
    deep = None if doubt.deep is None else doubt.deep[bs]
    here = (doubt.place[bs] if deep is None else doubt.place[bs] | deep) & near[fs]
    if not here.any():
        return None
    yf = np.asarray(y[fs], np.float32)
    ok = np.abs(yf - doubt.ref[bs]) <= level
    if doubt.sure is not None and doubt.y is not None:
        # a view on a flat region of its frame that holds sure places is judged on them: the
        # nearest sure place may lie across a line (a circle's outline), beyond which the
        # background has another colour; the region holds the colour of its own background
        judged, fits = _flat_regions(yf, doubt.sure[bs], doubt.y[bs])
        ok = np.where(judged, fits, ok)
        if deep is not None:  # deeper than REACH only a flat region's judgement counts
            ok &= ~deep | judged
    views = np.zeros(y.shape, bool)
    views[fs] = here
    like = np.zeros(y.shape, bool)
    like[fs] = here & ok
    return views, like


def _flat_regions(y: np.ndarray, sure: np.ndarray, canvas: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """A frame's flat regions (3x3 range below :data:`FLAT`, 4-connected) judged on the sure
    places they hold.

    ``y``, ``canvas`` float32 (h, w): the frame's and the first render's working Y' on the
    same canvas places; ``sure`` bool (h, w): the sure places among them. Returns (judged,
    fits), bool (h, w) each: the samples of the regions holding at least :data:`MIN_SURE`
    sure places, and of those the regions where :data:`FITS` of them lie within
    :data:`FIT_LEVEL` of the canvas (the frame shows the background the sure places do)."""
    from scipy import ndimage  # lazy: only for clean stills with masks

    flat = _range3(y) < FLAT
    lab, count = ndimage.label(flat)
    if count == 0:
        return np.zeros(y.shape, bool), np.zeros(y.shape, bool)
    s = sure & flat
    n = np.bincount(lab[s], minlength=count + 1)
    near = np.bincount(lab[s], weights=np.abs(y[s] - canvas[s]) <= FIT_LEVEL,
                       minlength=count + 1)
    judged = n >= MIN_SURE
    fits = judged & (near >= FITS * n)
    judged[0] = fits[0] = False
    return judged[lab], fits[lab]


"""A second plane panning at its own speed (parallax), frame by frame (issue #12).

Multi-plane anime pans move a nearer layer (trees, a fence, rocks) faster than the
background, or a farther one slower. The stitch follows the largest consistent plane, the
background; the other layer moves across it. Where that layer is textured its outlines
differ from frame to frame and :mod:`overmix.render.foreground` finds them, but its flat
inside matches itself after moving (the aperture problem) and stays in some frames. Where
the background is seen clean in only a few frames, those leftovers outvote them.

What tells the two apart is that each plane is consistent in *its own* alignment. Given the
layer's offsets (the frames aligned on the moving parts), this module labels the points of the
layer's own canvas that belong to it (the layer's alpha is fixed in its own coordinates: a
tree trunk stays a tree trunk). Per frame pixel ``v`` it compares two leave-one-out means (the
other frames, bilinear, streamed onto canvases):

- ``N``: the frames placed at the layer's offsets (all of them: where the layer is, every
  frame shows it);
- ``B``: the frames placed at the background offsets without what is believed to be layer
  (first the moving-foreground masks, then the label of the previous round).

A pixel that matches ``N`` better than ``B`` by :data:`MARGIN` votes for the layer at its
point of the layer's canvas, the reverse against it; where no other frame shows the
background there, matching ``N`` alone decides. A point is the layer where its mean vote is
positive beyond :data:`TIE`; in a tie (both planes flat and alike) the moving-foreground masks
decide (flagged in at least :data:`TIE_SHARE` of the frames that see it). The label is closed
over :data:`CLOSE` samples (outlines inside the layer, where the bilinear means blur).

The second round's ``B`` leaves the first round's label out; where that hides the background
from the frames (fewer than :data:`BLIND` of a point's samples see it elsewhere) at a point
that fewer than :data:`FEW` of the frames show (the layer's own canvas ends at the clip's
ends), the round has no new evidence: only ``N`` of a few frames, whose outlines the bilinear
mean blurs, so textured layer fails it. There the first round's decision stands (the
parallax scene's clip-end trunks: 640x360 "few" -6.5 -> -4.4 dB).

In the second round, the parts the label encloses are judged with ``N`` allowed its blur
where ``B`` is hidden (:func:`_blur_gap`): there ``N`` is all there is, and its bilinear mean
of frames at fractional offsets blurs thin detail of the plane's own drawing, which then
looks moved against it (holes in the middle of the parallax scene's trunks).

Last, the label's outline is checked once more against a ``B`` made without the final label
(:func:`_trim`): where both planes are flat and alike beside the plane, the votes tie and the
moving masks (wide around a moving outline) take the flat background a sample or two deep
for the plane, though the frames that see it there are its only clean views where few do.

Memory: five canvas-sized float32 accumulators; the frames are streamed (two reads per
round, two rounds and the outline check).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from overmix.geometry import Canvas
from overmix.morph import dilate
from overmix.warp import CanvasAccumulator, sample_bilinear, smooth121

__all__ = ["LayerLabel", "label_layer"]

MARGIN = 0.03  # working Y': a pixel must match one plane this much better to vote
TIE = 0.05  # mean vote within this of zero: the evidence is even
TIE_SHARE = 0.3  # ... then the layer is where the moving masks flag this share of the frames
CLOSE = 2  # samples: the label is closed over this many (outlines inside the layer)
ENCLOSED = 0.1  # a part the label encloses is filled unless this share of it votes against
ROUNDS = 2  # voting rounds (the second uses a background without the first's label)
# The label's outline (EDGE samples deep) keeps a sample only where the frames that see the
# background behind it (at least SEEN of those that show it) mostly match the plane better
# (at least EDGE_SHARE of them): see _trim
EDGE = 3
SEEN = 0.25
EDGE_SHARE = 0.3
TIE_REGIONS = 0.5
# A point of the layer's canvas keeps the previous round's decision where the last round sees
# the background outside that round's label for fewer than BLIND of its samples and fewer
# than FEW of the frames show the point (the clip's ends: see label_layer)
BLIND = 0.25
FEW = 0.5


@dataclass
class LayerLabel:
    """The layer's points on its own canvas (``label``, bool (H, W) on ``canvas``, in
    analysis samples of ``reduce`` full-resolution pixels) and its offsets (``xy`` (n, 2),
    full-resolution px)."""

    label: np.ndarray
    canvas: Canvas
    xy: np.ndarray
    reduce: int = 1
    shape: tuple[int, int] = (0, 0)  # full-resolution frame (h, w)

    def share(self) -> float:
        """Fraction of the layer's canvas that is layer."""
        return float(self.label.mean())

    def mask(self, k: int, shape: tuple[int, int] | None = None) -> np.ndarray:
        """Frame ``k``'s layer pixels, bool ``shape`` (default: the frame's, full
        resolution): the label seen from the frame (bilinear, at least half)."""
        r = self.reduce
        h, w = shape or self.shape
        x, y = (float(v) / r for v in self.xy[k])
        hs, ws = -(-h // r), -(-w // r)
        lab = self.label.astype(np.float32)
        val, _ = sample_bilinear(lab, None, y - self.canvas.y, x - self.canvas.x, hs, ws)
        m = val >= 0.5
        if r > 1:
            m = np.repeat(np.repeat(m, r, axis=0), r, axis=1)
        return m[:h, :w]

    def reach(self, k: int, xy: np.ndarray, frames: int, shape: tuple[int, int]) -> np.ndarray:
        """Frame ``k``'s samples (bool, ``shape`` at the label's resolution) whose background
        the layer covers in some frame within ``frames`` of it (``xy``: background offsets,
        full-resolution px): the frames compared with frame ``k`` show the layer there, so a
        background sample is the odd one out without moving itself."""
        r = self.reduce
        lab = self.label.astype(np.float32)
        out = np.zeros(shape, bool)
        for j in range(max(0, k - frames), min(len(self.xy), k + frames + 1)):
            # frame k's sample i shows background point i + xy_k; in frame j that point lies
            # under layer point i + xy_k - xy_j + layer_xy_j
            d = (np.asarray(xy[k], np.float64) - xy[j] + self.xy[j]) / r
            val, _ = sample_bilinear(lab, None, float(d[1]) - self.canvas.y,
                                     float(d[0]) - self.canvas.x, *shape)
            out |= val > 0.0
        return out


def _seen(acc: CanvasAccumulator, xy: np.ndarray, shape: tuple[int, int]
          ) -> tuple[np.ndarray, np.ndarray]:
    """Sum and weight of ``acc`` seen from a frame at ``xy`` (bilinear, each (h, w))."""
    ty, tx = float(xy[1]) - acc.canvas.y, float(xy[0]) - acc.canvas.x
    s, _ = sample_bilinear(acc.sum, None, ty, tx, *shape)
    wt, _ = sample_bilinear(acc.weight, None, ty, tx, *shape)
    return s, wt


def _loo(acc: CanvasAccumulator, xy: np.ndarray, own: np.ndarray, own_w: np.ndarray
         ) -> tuple[np.ndarray, np.ndarray]:
    """Mean of the *other* frames seen from a frame at ``xy`` (its own sample ``own`` of
    weight ``own_w`` taken out) and where it exists (bool, other frames' weight >= 1/2)."""
    s, wt = _seen(acc, xy, own.shape)
    s = s - own * own_w
    wt = wt - own_w
    ok = wt >= 0.5
    return np.divide(s, wt, out=np.zeros_like(s), where=ok), ok


def label_layer(luma: Callable[[int], np.ndarray], count: int, xy: np.ndarray,
                layer_xy: np.ndarray, moving: Callable[[int], np.ndarray | None], *,
                reduce: int = 1, frame: tuple[int, int] | None = None) -> LayerLabel:
    """Label the second plane's points on its own canvas.

    Parameters
    ----------
    luma : callable ``k -> (h, w) float32``
        Working Y' of frame ``k`` at the analysis resolution (``reduce`` full-resolution
        pixels per sample), in scene values (lighting undone).
    count : int
    xy, layer_xy : (n, 2) float
        Background and layer offsets (full-resolution px, DESIGN §4).
    moving : callable ``k -> (h, w) bool or None``
        What the moving-foreground stage found in frame ``k`` (analysis resolution): the
        first guess of the layer.
    frame : (h, w) or None
        Full-resolution frame shape (default: the analysis shape times ``reduce``).
    """
    r = float(reduce)
    bxy = np.asarray(xy, np.float64) / r
    lxy = np.asarray(layer_xy, np.float64) / r
    first = luma(0)
    shape = first.shape
    h, w = shape
    lcv, bcv = Canvas.covering(lxy, w, h), Canvas.covering(bxy, w, h)
    near, flagged = CanvasAccumulator(lcv), CanvasAccumulator(lcv)
    ones = np.ones(shape, np.float32)

    def first_guess(k: int) -> np.ndarray:
        m = moving(k)
        return np.zeros(shape, np.float32) if m is None else np.asarray(m, np.float32)

    keep: Callable[[int], np.ndarray] = lambda k: 1.0 - first_guess(k)  # noqa: E731
    back = CanvasAccumulator(bcv)
    for k in range(count):
        y = first if k == 0 else luma(k)
        mv = first_guess(k)
        near.add(y, lxy[k])
        flagged.add(mv, lxy[k])
        back.add(y, bxy[k], 1.0 - mv)
    frac = flagged.mean()
    del flagged
    label = np.zeros(frac.shape, bool)
    for rnd in range(ROUNDS + 1):
        votes, seen_back = CanvasAccumulator(lcv), CanvasAccumulator(lcv)
        better = CanvasAccumulator(lcv)  # frames that see the background and match N better
        lenient = CanvasAccumulator(lcv)  # the votes, N allowed its blur where B is hidden
        for k in range(count):
            y = first if k == 0 else luma(k)
            n, n_ok = _loo(near, lxy[k], y, ones)
            b, b_ok = _loo(back, bxy[k], y, keep(k))
            dn, db = np.abs(y - n), np.abs(y - b)
            v = np.where(db > dn + MARGIN, 1.0, np.where(dn > db + MARGIN, -1.0, 0.0))
            lenient.add(np.where(n_ok & b_ok, v, np.where(
                n_ok & (dn >= MARGIN + _blur_gap(y)), -1.0, 0.0)).astype(np.float32), lxy[k])
            v = np.where(b_ok, v, np.where(dn < MARGIN, 0.0, -1.0))
            v = np.where(n_ok, v, 0.0).astype(np.float32)
            votes.add(v, lxy[k])
            seen_back.add(b_ok.astype(np.float32), lxy[k])
            better.add((b_ok & (v > 0)).astype(np.float32), lxy[k])
        if rnd == ROUNDS:  # the outline, against a background without the last label
            label = _trim(label, seen_back.sum, better.sum, votes.weight)
            break
        s = votes.mean()
        prev, label = label, _close(_decide(s, frac, votes.weight > 0))
        if rnd:
            # no new evidence: the background is hidden behind the previous label and few
            # frames' N (outlines blurred by the bilinear mean) is all that is left to judge
            blind = (seen_back.mean() < BLIND) & (near.weight < FEW * count)
            label = np.where(blind, prev, label)
        label = _enclosed(label, lenient.mean() if rnd else s)
        del seen_back, better, lenient
        if not label.any():
            break
        lab = LayerLabel(label, lcv, lxy, 1)
        keep = lambda k, lab=lab: (~_grow(lab.mask(k, shape), 1)).astype(  # noqa: E731
            np.float32)
        back = CanvasAccumulator(bcv)
        for k in range(count):
            back.add(first if k == 0 else luma(k), bxy[k], keep(k))
    return LayerLabel(label, lcv, np.asarray(layer_xy, np.float64), int(reduce),
                      (h * int(reduce), w * int(reduce)) if frame is None else frame)


def _decide(s: np.ndarray, frac: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """The label from the mean votes ``s``: the plane where they are above :data:`TIE`; a
    connected tie region (both planes flat and alike) goes with the votes around it where
    those are mostly for the plane (a flat patch inside it), else with the moving masks
    (``frac`` at least :data:`TIE_SHARE`)."""
    from scipy import ndimage  # lazy: only for a layered scene

    pos, neg = s > TIE, s < -TIE
    tie = seen & ~pos & ~neg
    out = pos | (tie & (frac >= TIE_SHARE))
    if not TIE_REGIONS or not tie.any():
        return out
    lab, n = ndimage.label(tie, structure=np.ones((3, 3), bool))
    near = ndimage.maximum_filter(lab, size=3)  # the tie region beside each decided sample
    p = np.bincount(near[pos], minlength=n + 1)
    q = np.bincount(near[neg], minlength=n + 1)
    with_plane = p > TIE_REGIONS * np.maximum(p + q, 1)
    with_plane[0] = False
    return out | with_plane[lab]


def _close(m: np.ndarray) -> np.ndarray:
    from scipy import ndimage  # lazy: only for a layered scene

    if CLOSE <= 0 or not m.any():
        return m
    pad = np.pad(m, CLOSE, mode="edge")
    return ndimage.binary_closing(pad, iterations=CLOSE)[CLOSE:-CLOSE, CLOSE:-CLOSE]


def _grow(m: np.ndarray, px: int) -> np.ndarray:
    return dilate(m, px) if px > 0 and m.any() else m


def _trim(label: np.ndarray, seen_back: np.ndarray, better: np.ndarray,
          shown: np.ndarray) -> np.ndarray:
    """``label`` without the samples of its outline (:data:`EDGE` samples deep) that the
    frames seeing the background behind them (``seen_back``, at least :data:`SEEN` of the
    ``shown`` frames) do not mostly take for the plane (``better``: matched ``N`` better
    than ``B`` in fewer than :data:`EDGE_SHARE` of them). Where both planes are flat and
    alike the votes tie and the moving masks (wide around a moving outline) or the plane's
    votes around decide: the label grows a sample or two into the flat background beside
    the plane. The frames that see the background there are few, but they are the only
    clean views of it (720p parallax "few" -8.8 -> -5.9 dB); the plane's real outline
    samples match ``N`` better in most of them. ``B`` is made without the final label, so a
    plane sample the first round missed does not stand in for its background. A sample
    both planes show alike (within :data:`MARGIN`) loses nothing when it is used as
    background."""
    from scipy import ndimage  # lazy: only for a layered scene

    if not label.any():
        return label
    band = label & ~ndimage.binary_erosion(label, iterations=EDGE, border_value=1)
    drop = band & (seen_back >= SEEN * shown) & (better < EDGE_SHARE * seen_back)
    return label & ~drop


def _enclosed(label: np.ndarray, s: np.ndarray) -> np.ndarray:
    """``label`` with the parts it encloses that hardly vote against the plane (fewer than
    :data:`ENCLOSED` of their samples below -:data:`TIE`) filled: the plane's flat inside,
    where nothing tells the planes apart and the moving masks are thin (the clip's ends).
    Background seen through a hole in the plane shows its texture moving against it and
    votes against it."""
    from scipy import ndimage  # lazy: only for a layered scene

    if not ENCLOSED or not label.any():
        return label
    holes, n = ndimage.label(~label)
    if n == 0:
        return label
    size = np.bincount(holes.ravel(), minlength=n + 1)
    against = np.bincount(holes.ravel(), weights=(s < -TIE).ravel(), minlength=n + 1)
    fill = against < ENCLOSED * size
    edge = np.concatenate([holes[0], holes[-1], holes[:, 0], holes[:, -1]])
    fill[edge] = False  # open to the canvas's edge: not enclosed
    fill[0] = False
    return label | fill[holes]


def _blur_gap(y: np.ndarray) -> np.ndarray:
    """|y - y blurred by [1/4, 1/2, 1/4] along both axes| (float32, edge samples repeated):
    how far a bilinear mean of frames at half-sample offsets can stray from a sample."""
    return np.abs(y - smooth121(y))

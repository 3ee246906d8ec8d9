"""What the clean-still render needs besides the frames (issue #12 item 3): the masks found
by :func:`overmix.commands.clean.find_clean` and the renderer's per-frame weights made of
them (:meth:`CleanPlan.frame_weights`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from overmix.commands.stages import OverlayInfo
from overmix.render.clean_masks import (
    LOGO_GROW,
    LOGO_RIM,
    defer_to_fixed,
    grow,
    ring_lines,
    soft_rim,
)
from overmix.render.consensus import ALONE, FLOOR, Consensus, upsample_mask
from overmix.render.fill import EXCLUDED
from overmix.render.fixed_edges import Crop
from overmix.render.layers import LayerLabel
from overmix.render.rim_alone import RimOwners, rim_owners
from overmix.render.stack import FrameWeights
from overmix.render.stack_base import NEAR

__all__ = ["CleanPlan"]

# Render weight of an un-blended logo pixel: a semi-transparent overlay undone with its
# estimated colour and alpha is used only where no frame sees the place clean (exclusion
# wins wherever it can: the un-blending amplifies the noise and the estimate's error by
# 1 / (1 - a)), but it beats a blend of the logo where nothing else sees the place.
UNBLEND_WEIGHT = 0.01
# a moving part next to redrawn screen-fixed content: "next to" is within this many reduced
# samples of it (overmix.render.clean_masks.defer_to_fixed), and the pieces of such a part
# that reach this many reduced samples beyond it stay left out
MOVING_NEAR = 1
MOVING_REACH = 2
CANDIDATE_GROW = 3  # reduced samples by which the candidate regions of that redrawing grow
# Render weight of a pixel beside redrawn screen-fixed content that stands out from the
# background beyond it (the codec's smear of a subtitle's outline, :attr:`CleanPlan.
# fixed_rims`): below NEAR, so a clean view beside the text wins, and at least EXCLUDED, so
# where only such views are there they are kept, not filled from their neighbours (filled:
# 640x360 hardsub, reversed slowing pan, 8-bit "few" -8.84 dB against -6.19 kept)
RIM_WEIGHT = 2e-3
# Render weight of a usable sample on a line (3x3 range >= FLAT) within the NEAR ring of a
# moving-foreground mask: mostly the thing's own outline the mask ends short of (720p sprite,
# "few" pixels whose clean views held under half the weight: 98 % of the ring's contaminated
# views there are lines, 73 % of its clean ones flat). Below NEAR, so a flat view beside the
# mask wins; above ALONE: the one masked frame shown where none is clean is the thing itself
# (at 1e-4 the 720p sprite's "few" lost 1.5 dB)
NEAR_LINE = 2 * ALONE
# Render weight of a moving mask's outer pixel that shows the flat background beyond it
# (:func:`overmix.render.clean_masks.soft_rim`): above NEAR_LINE, so where the frames of
# one pose see a scene point just past the thing's outline and those of another show the
# outline there (a bobbing character's shoulder beside its neck, missed by the masks of
# the pose whose pairs all bob alike), the view of the background wins; below NEAR, so a
# view off every mask still does. 720p sprite 40 frames 8-bit "few" -6.74 -> -5.95 dB
MOVING_SOFT = 2 * NEAR_LINE
_Rows = Callable[[int], np.ndarray | None]


@dataclass
class CleanPlan:
    """What the clean-still render needs besides the frames (``find_clean``).

    ``consensus`` (per-frame outlier masks, :mod:`overmix.render.consensus`) or None when not
    run; ``overlay`` the static overlay used (detected, given or persistent outliers);
    ``prior`` per-frame weights from the alignment (row -> (h, w) float32 or None).
    """

    consensus: Consensus | None = None
    overlay: OverlayInfo | None = None
    prior: _Rows | None = None
    fixed_prior: _Rows | None = None
    fixed: list[Crop | None] | None = None
    # per row, the pixels beside its redrawn screen-fixed content that stand out from the
    # background beyond them (overmix.commands.clean._fixed_rims), weighed RIM_WEIGHT
    fixed_rims: list[Crop | None] | None = None
    edges: dict[str, int] | None = None  # dirty border lines (overmix.render.frame_edges)
    edge_mask: np.ndarray | None = None
    layer: LayerLabel | None = None  # a second plane (parallax) left out of every frame
    # the moving-foreground masks redrawn at full resolution (overmix.render.
    # foreground_edges), per row; None: the consensus's reduced ones stand
    moving: list[Crop | None] | None = None
    # places no frame sees clean beside a moving thing, given to the frame whose mask is
    # thinnest there (overmix.render.rim_alone; made by frame_weights)
    rims: RimOwners | None = None
    # the last row's moving mask (:meth:`_moving`: asked twice per row in a row, by the rim
    # owners' outliers and rim, and by the render's outliers and ring), with the inputs it
    # was made of (kept, so that their ids stay theirs)
    _last_moving: tuple | None = field(default=None, repr=False, compare=False)

    def layer_mask(self, n: int) -> np.ndarray | None:
        """Row ``n``'s pixels of the second plane (bool (h, w), full resolution) or None."""
        return None if self.layer is None else self.layer.mask(n)

    def candidates(self, n: int) -> np.ndarray | None:
        """Where row ``n`` may show screen-fixed content (bool (h, w)): the consensus's
        screen-fixed masks and the alignment's overlays (both found on reduced frames), or
        None."""
        cons, c = self.consensus, None
        if cons is not None and cons.fixed and cons.fixed[n] is not None:
            c = upsample_mask(cons.fixed[n], cons.reduce, cons.shape)
        p = self.fixed_prior(n) if self.fixed_prior is not None else None
        if p is not None and p.any():
            c = p if c is None else (c | p)
        # found on reduced frames: the thin ends of glyphs may lie a sample or two outside
        r = cons.reduce if cons is not None else 1
        return None if c is None else grow(c, CANDIDATE_GROW * r)

    def _redrawn(self, n: int) -> Crop | None:
        """Row ``n``'s screen-fixed content redrawn at full resolution, or None."""
        return None if self.fixed is None else self.fixed[n]

    def _outliers(self, n: int) -> np.ndarray | None:
        """Row ``n``'s left-out pixels (bool (h, w)) or None: the consensus's outliers, with
        the screen-fixed part redrawn at full resolution where it was (:attr:`fixed`)."""
        cons, crop = self.consensus, self._redrawn(n)
        if crop is None and self._fine(n) is None:
            return None if cons is None or cons.clean else cons.outliers(n)
        assert cons is not None
        if crop is None:  # the reduced outliers, with the moving part redrawn
            m = self._off_moving(cons.masks[n], n)
            m = np.zeros(cons.shape, bool) if m is None else \
                upsample_mask(m, cons.reduce, cons.shape)
            if cons.fixed and cons.fixed[n] is not None:
                m |= upsample_mask(cons.fixed[n], cons.reduce, cons.shape)
            mv = self._moving(n)
            return m if mv is None else (m | mv)
        m = crop.full(cons.shape).copy()
        res = self._off_moving(cons.residual[n] if cons.residual else None, n)
        if res is not None:
            # residual outliers inside the screen-fixed zone are the overlay seen against a
            # reference it dominates: the full-resolution decision replaces them there
            zone = self.candidates(n)
            res = upsample_mask(res, cons.reduce, cons.shape)
            if zone is not None:
                res &= ~grow(zone, cons.reduce)
            m |= res
        mv = self._moving(n)
        if mv is not None:
            m |= mv
        return m

    def _fine(self, n: int) -> Crop | None:
        """Row ``n``'s moving-foreground mask redrawn at full resolution, or None."""
        return None if self.moving is None else self.moving[n]

    def found_moving(self, n: int) -> np.ndarray | None:
        """Row ``n``'s moving-foreground pixels as found (bool (h, w), full resolution where
        redrawn), before any is left to the redrawn screen-fixed content; or None."""
        cons = self.consensus
        if cons is None or not cons.moving or cons.moving[n] is None:
            return None
        fine = self._fine(n)
        return upsample_mask(cons.moving[n], cons.reduce, cons.shape) if fine is None else \
            fine.full(cons.shape)

    def _off_moving(self, m: np.ndarray | None, n: int) -> np.ndarray | None:
        """A reduced mask of row ``n`` without the samples within one of its reduced
        moving-foreground mask, where that was redrawn at full resolution (residual outliers
        there are the same moving thing, a sample or two too wide)."""
        cons = self.consensus
        if m is None or cons is None or self._fine(n) is None or cons.moving[n] is None:
            return m
        return m & ~grow(cons.moving[n], 1)

    def moving_mask(self, n: int) -> np.ndarray | None:
        """Row ``n``'s moving-foreground pixels (bool (h, w), read-only) or None."""
        return self._moving(n)

    def _moving(self, n: int) -> np.ndarray | None:
        """Row ``n``'s moving-foreground pixels (bool (h, w), read-only) or None."""
        inputs = (self.consensus, self.moving, self.fixed, self.overlay)
        last = self._last_moving
        if last is not None and last[0] == n and all(
                a is b for a, b in zip(last[1], inputs, strict=True)):
            return last[2]
        mv = self._find_moving(n)
        if mv is not None:
            mv.flags.writeable = False  # shared with the next call
        self._last_moving = (n, inputs, mv)
        return mv

    def _find_moving(self, n: int) -> np.ndarray | None:
        """:meth:`_moving`, made."""
        cons = self.consensus
        mv = self.found_moving(n)
        if mv is None:
            return None
        assert cons is not None
        crop = self._redrawn(n)
        if crop is not None:
            # a subtitle line that changes looks like something moving: next to the
            # redrawn screen-fixed content the full-resolution decision stands
            fixed = crop.full(cons.shape)
            if fixed.any():
                mv = defer_to_fixed(mv, grow(fixed, MOVING_NEAR * cons.reduce),
                                    MOVING_REACH * cons.reduce)
        ov = self.overlay
        if ov is not None and ov.alpha is not None and ov.mask.any():
            # a semi-transparent overlay over a moving background changes its screen value
            # and looks like something moving: where it is un-blended its own weights stand
            # (left out as moving, the background seen between and beside a logo's letters
            # was too: 720p logo, area it swept, -1.42 -> -0.59 dB from a logo-free stitch)
            mv = defer_to_fixed(mv, grow(ov.mask, MOVING_NEAR * cons.reduce),
                                MOVING_REACH * cons.reduce)
        return mv

    def _cut_from(self, n: int) -> np.ndarray | None:
        """Row ``n``'s left-out pixels and the moving ones as found, before any was left to
        its redrawn screen-fixed content (bool (h, w)) or None: what a moving mask's edge
        must border for its last pixel to be a view of the background."""
        out, found = self._outliers(n), self.found_moving(n)
        if out is None or found is None:
            return out if found is None else found
        return out | found

    def _logo_weights(self, overlays: str) -> np.ndarray | None:
        """Weights (float32 (h, w)) of the overlay to remove, or None: the floor on it (grown
        by :data:`LOGO_GROW`, or :data:`LOGO_RIM` where it was redrawn at full resolution),
        :data:`UNBLEND_WEIGHT` x ``(1 - a)^2`` where it is semi-transparent (at least
        EXCLUDED: an un-blended sample is kept, not filled)."""
        ov = self.overlay
        if ov is None or not ov.mask.any() or overlays != "remove":
            return None
        ring = LOGO_RIM if ov.redrawn else LOGO_GROW
        logo_w = np.where(grow(ov.mask, ring), np.float32(FLOOR),
                          np.float32(1.0)).astype(np.float32)
        if ov.alpha is not None:
            a = ov.alpha
            ok = (a > 0.02) & (a < 0.9)
            logo_w[ok] = np.maximum(UNBLEND_WEIGHT * (1.0 - a[ok]) ** 2, EXCLUDED)
        return logo_w

    def _mask_weights(self, n: int, use_cons: bool) -> np.ndarray | None:
        """Row ``n``'s weights from its outlier masks (float32 (h, w) or None): the floor on
        outliers, :data:`overmix.render.consensus.ALONE` where it is the one frame shown
        where none is clean."""
        cons = self.consensus
        if self._redrawn(n) is None and self._fine(n) is None:
            return self._rim_weights(n, cons.weights(n) if cons is not None and use_cons
                                     else None)
        out = self._outliers(n)
        w = None if out is None else np.where(out, np.float32(FLOOR), np.float32(1.0))
        a = cons.alone[n] if cons is not None and n < len(cons.alone) else None
        if a is not None and w is not None:
            assert cons is not None
            w[upsample_mask(a, cons.reduce, cons.shape) & out] = np.float32(ALONE)
        return self._rim_weights(n, w)

    def _rim_moving(self, n: int) -> np.ndarray | None:
        """Row ``n``'s moving-foreground pixels off its screen-fixed content (the redrawn, or
        the consensus's where none was redrawn, grown by a reduced sample: a character's legs
        crossing a subtitle line are never shown alone there; the wider candidate regions
        took in part of the character: 720p sprite "few" -13.10 dB with them, -11.60
        without; the consensus's beside the redrawn: -9.52, without it -8.48)."""
        mv = self._moving(n)
        if mv is None:
            return None
        cons, crop = self.consensus, self._redrawn(n)
        near = None if crop is None else crop.full(cons.shape)
        # the consensus's reduced guess only where the content was not redrawn: on reduced
        # samples a slow character's flat inside keeps its screen value and looked
        # screen-fixed, out to the rim only the clip's end frames see
        if near is None and cons is not None and cons.fixed and cons.fixed[n] is not None:
            near = upsample_mask(cons.fixed[n], cons.reduce, cons.shape)
        if near is None or not near.any():
            return mv
        return mv & ~grow(near, cons.reduce)

    def _rim_weights(self, n: int, w: np.ndarray | None) -> np.ndarray | None:
        """Row ``n``'s weights ``w`` (modified) where :attr:`rims` decided: the consensus's
        choice gives way where a frame sees the place clean at full resolution and to the
        thinnest mask (:mod:`overmix.render.rim_alone`)."""
        if self.rims is None or w is None:
            return w
        gone = self.rims.clean(n)
        taken = self.rims.taken(n)
        if taken is not None:
            gone = gone | taken
        w[gone & (w == np.float32(ALONE))] = np.float32(FLOOR)
        own = self.rims.mask(n)
        if own is not None:
            w[own] = np.float32(ALONE)
        return w

    def _prior_weights(self, n: int) -> np.ndarray | None:
        """Row ``n``'s alignment prior (float32 (h, w), at least the floor) or None; where
        screen-fixed content was redrawn at full resolution, not the prior's overlays."""
        p = self.prior(n) if self.prior is not None else None
        if p is not None and self._redrawn(n) is not None and self.fixed_prior is not None:
            fp = self.fixed_prior(n)
            if fp is not None:
                p = np.where(fp, np.float32(1.0), np.asarray(p, np.float32))
        return None if p is None else np.maximum(np.asarray(p, np.float32), np.float32(FLOOR))

    def frame_weights(self, rows: dict[int, int], overlays: str,
                      taps: int | None = None, xy: np.ndarray | None = None,
                      luma: Callable[[int], np.ndarray] | None = None
                      ) -> FrameWeights | None:
        """``position -> float32 (h, w) or None`` for :func:`overmix.render.stack.render`:
        outliers at the floor weight, an un-blended logo at :data:`UNBLEND_WEIGHT` x
        ``(1 - a)^2``; None when every frame is usable everywhere. With the render kernel's
        ``taps``, the usable samples within half of them of a moving-foreground mask weigh
        :data:`overmix.render.stack_base.NEAR` (they win only where no frame sees the place
        clean away from the character). With the rows' offsets ``xy`` ((count, 2),
        translations), a place no frame sees clean beside a moving thing goes to the frame
        whose mask is thinnest there (:mod:`overmix.render.rim_alone`). With ``luma``
        (``position -> working Y'`` float32 (h, w)), the ring's samples on a line of the
        frame beside a moving mask weigh :data:`NEAR_LINE` (:func:`overmix.render.
        clean_masks.ring_lines`), and the mask's own last pixels that show the flat
        background beyond it :data:`MOVING_SOFT` (:func:`overmix.render.clean_masks.
        soft_rim`)."""
        cons = self.consensus
        near = None if taps is None else (taps + 1) // 2
        logo_w = self._logo_weights(overlays)
        use_cons = cons is not None and not cons.clean
        if not use_cons and logo_w is None and self.prior is None and self.fixed is None \
                and self.edge_mask is None and self.layer is None:
            return None
        if xy is not None and self.moving is not None and cons is not None:
            self.rims = rim_owners(self._outliers, self._rim_moving, xy, cons.shape)
        edge_w = None if self.edge_mask is None else \
            np.where(self.edge_mask, np.float32(FLOOR), np.float32(1.0)).astype(np.float32)

        def weights(k: int) -> np.ndarray | None:
            n = rows[k]
            w = self._mask_weights(n, use_cons)
            p = self._prior_weights(n)
            if p is not None:
                w = p if w is None else np.minimum(w, p)
            if logo_w is not None:
                w = logo_w if w is None else np.where(logo_w < 1, logo_w, w)
            mv = self._moving(n) if near is not None and w is not None else None
            crop = self._redrawn(n) if near is not None and w is not None else None
            if crop is not None:
                # ... and those whose kernel reaches redrawn screen-fixed content: the codec
                # smears a subtitle's dark outline a pixel or two into them, and where the
                # background is seen only between glyphs, the views farther from the text
                # are the cleaner ones (640x360 hardsub, reversed slowing pan, 8-bit "few"
                # 33.82 -> 34.29 dB)
                fx = crop.full(cons.shape)
                mv = fx if mv is None else (mv | fx)
            if mv is not None:
                # the usable samples whose kernel reaches a moving-foreground sample keep
                # NEAR: the fill gives their taps the character's outline, not background
                ring = grow(mv, near) & (w >= EXCLUDED)
                w = np.where(ring, np.minimum(w, np.float32(NEAR)), w)
                own = self._moving(n)
                if luma is not None and own is not None:
                    # ... and those on a line beside a moving thing less: its outline
                    y = luma(k)
                    lines = ring_lines(y, grow(own, near) & ring)
                    w = np.where(lines, np.minimum(w, np.float32(NEAR_LINE)), w)
                    # ... and its own soft edge that shows the background beyond it more
                    # than the rest of the mask, where nothing else left the pixel out
                    cut = self._cut_from(n)
                    if logo_w is not None:
                        cut = logo_w < 1 if cut is None else (cut | (logo_w < 1))
                    soft = soft_rim(y, own, cut)
                    if logo_w is not None:
                        soft &= logo_w >= 1
                    if crop is not None:
                        soft &= ~fx
                    w = np.where(soft, np.maximum(w, np.float32(MOVING_SOFT)), w)
            rim = None if self.fixed_rims is None or w is None else self.fixed_rims[n]
            if rim is not None:
                w = np.where(rim.full(cons.shape), np.minimum(w, np.float32(RIM_WEIGHT)), w)
            if edge_w is not None:  # dirty border lines: only where no frame sees clean
                w = edge_w if w is None else np.minimum(w, edge_w)
            return self._layer_weights(n, w, near)

        return weights

    def _layer_weights(self, n: int, w: np.ndarray | None,
                       near: int | None = None) -> np.ndarray | None:
        """Row ``n``'s weights ``w`` with the second plane at the floor (full resolution),
        except where the row is the one frame shown (ALONE); with ``near`` (half the render
        kernel's taps), the usable samples within it of the plane at most NEAR, as beside a
        moving mask: the label ends where the plane's soft, compressed edge fades, and that
        edge would be stacked at full weight where the background is seen in a few frames."""
        lay = self.layer_mask(n)
        if lay is None or not lay.any():
            return w
        w = np.ones(lay.shape, np.float32) if w is None else w
        if near is not None:
            ring = grow(lay, near) & ~lay & (w >= EXCLUDED)
            w = np.where(ring, np.minimum(w, np.float32(NEAR)), w)
        return np.where(lay & (w != np.float32(ALONE)), np.minimum(w, np.float32(FLOOR)),
                        w).astype(np.float32)

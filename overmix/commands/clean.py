"""The clean still (issue #12 item 3): which pixels of which frame the render leaves out.

:func:`find_clean` reads every frame once at reduced resolution and finds, per frame, what
disagrees with the consensus of the frames seeing the same place
(:func:`overmix.render.consensus.find_outliers`); where outliers persist in nearly every
frame (a logo fixed on screen) and no ``--logo`` was given, it estimates the overlay's colour
and alpha (:func:`overmix.restore.overlay_estimate.estimate_overlay`) so it can be un-blended.
:meth:`CleanPlan.frame_weights` turns that into the renderer's per-frame weights, and
:func:`paste_kept` implements ``--foreground keep[:FRAME]`` / ``--overlays keep``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from overmix.commands.options import StitchOptions, parse_foreground
from overmix.commands.stages import OverlayInfo, grow, positions
from overmix.errors import UsageError
from overmix.geometry import Offsets
from overmix.io.prefetch import prefetch
from overmix.io.store import FrameStore
from overmix.progress import ProgressCallback, no_progress
from overmix.render.consensus import (
    ALONE,
    FLOOR,
    Consensus,
    downsample_mask,
    find_outliers,
    reduce_factor,
    upsample_mask,
)
from overmix.render.fill import EXCLUDED
from overmix.render.fixed_edges import Crop
from overmix.render.foreground import DISTANCES
from overmix.render.frame_edges import dirty_edges, edge_mask
from overmix.render.layers import LayerLabel
from overmix.render.stack import FrameWeights, RenderResult, render
from overmix.render.stack_base import NEAR
from overmix.warp import reduce_box, reduce_box_codes

__all__ = ["CleanPlan", "analysis_luma", "find_clean", "keep_frame_row", "paste_kept",
           "reduced_luma", "semi_transparent"]

# Render weight of an un-blended logo pixel: a semi-transparent overlay undone with its
# estimated colour and alpha is used only where no frame sees the place clean (exclusion
# wins wherever it can: the un-blending amplifies the noise and the estimate's error by
# 1 / (1 - a)), but it beats a blend of the logo where nothing else sees the place.
UNBLEND_WEIGHT = 0.01
LOGO_GROW = 3  # px around a logo left out too (compression ringing at its edges)
# Screen-fixed content redrawn at full resolution (overmix.render.fixed_edges): the working Y'
# difference that still counts as the same value at the same screen place (codec noise and
# ringing at 8 and 10 bits), and the camera travel (px) a pixel must keep it over.
FIXED_THR = 0.05
FIXED_SPAN = 32.0
# a static overlay (a logo) is redrawn at full resolution where a pixel differs by this much
# (working Y') from the clean views of the scene (overmix.render.static_overlay)
STATIC_THR = 0.03
OPAQUE_SHARE = 0.3  # a persistent overlay part this opaque is text or bars, not a logo
# a moving part whose pixels lie this much (share) within this many reduced samples of redrawn
# screen-fixed content is that content changing (a new subtitle line): the redrawing decides
MOVING_NEAR = 1
MOVING_SHARE = 0.5
MOVING_REACH = 2  # reduced samples beyond it that a piece of such a part must reach to stay
CANDIDATE_GROW = 3  # reduced samples by which the candidate regions of that redrawing grow
# frames around a frame in which a second plane (parallax) covering its background explains
# a moving-foreground flag there (the foreground stage compares frames up to 8 apart)
LAYER_REACH = max(DISTANCES)


@dataclass
class CleanPlan:
    """What the clean-still render needs besides the frames (``find_clean``).

    ``consensus`` (per-frame outlier masks, :mod:`overmix.render.consensus`) or None when not
    run; ``overlay`` the static overlay used (detected, given or persistent outliers);
    ``prior`` per-frame weights from the alignment (row -> (h, w) float32 or None).
    """

    consensus: Consensus | None = None
    overlay: OverlayInfo | None = None
    prior: Callable[[int], np.ndarray | None] | None = None
    fixed_prior: Callable[[int], np.ndarray | None] | None = None
    fixed: list[Crop | None] | None = None
    edges: dict[str, int] | None = None  # dirty border lines (overmix.render.frame_edges)
    edge_mask: np.ndarray | None = None
    layer: LayerLabel | None = None  # a second plane (parallax) left out of every frame

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

    def _outliers(self, n: int) -> np.ndarray | None:
        """Row ``n``'s left-out pixels (bool (h, w)) or None: the consensus's outliers, with
        the screen-fixed part redrawn at full resolution where it was (:attr:`fixed`)."""
        cons = self.consensus
        if self.fixed is None or self.fixed[n] is None:
            return None if cons is None or cons.clean else cons.outliers(n)
        assert cons is not None
        crop = self.fixed[n]
        assert crop is not None
        fixed = crop.full(cons.shape)
        m = fixed.copy()
        res = cons.residual[n] if cons.residual else None
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

    def _moving(self, n: int) -> np.ndarray | None:
        """Row ``n``'s moving-foreground pixels (bool (h, w)) or None."""
        cons = self.consensus
        if cons is None or not cons.moving or cons.moving[n] is None:
            return None
        mv = upsample_mask(cons.moving[n], cons.reduce, cons.shape)
        crop = self.fixed[n] if self.fixed is not None else None
        if crop is not None:
            # a subtitle line that changes looks like something moving: next to the
            # redrawn screen-fixed content the full-resolution decision stands
            fixed = crop.full(cons.shape)
            if fixed.any():
                mv = _defer_to_fixed(mv, grow(fixed, MOVING_NEAR * cons.reduce),
                                      MOVING_REACH * cons.reduce)
        return mv

    def frame_weights(self, rows: dict[int, int], overlays: str,
                      taps: int | None = None) -> FrameWeights | None:
        """``position -> float32 (h, w) or None`` for :func:`overmix.render.stack.render`:
        outliers at the floor weight, an un-blended logo at :data:`UNBLEND_WEIGHT` x
        ``(1 - a)^2``; None when every frame is usable everywhere. With the render kernel's
        ``taps``, the usable samples within half of them of a moving-foreground mask weigh
        :data:`overmix.render.stack_base.NEAR` (they win only where no frame sees the place
        clean away from the character)."""
        cons, ov, prior = self.consensus, self.overlay, self.prior
        near = None if taps is None else (taps + 1) // 2
        logo_w = None
        if ov is not None and ov.mask.any() and overlays == "remove":
            region = grow(ov.mask, LOGO_GROW)
            logo_w = np.where(region, np.float32(FLOOR), np.float32(1.0)).astype(np.float32)
            if ov.alpha is not None:
                a = ov.alpha
                ok = (a > 0.02) & (a < 0.9)
                # at least EXCLUDED: an un-blended sample is kept as it is, not filled
                logo_w[ok] = np.maximum(UNBLEND_WEIGHT * (1.0 - a[ok]) ** 2, EXCLUDED)
        use_cons = cons is not None and not cons.clean
        if not use_cons and logo_w is None and prior is None and self.fixed is None \
                and self.edge_mask is None and self.layer is None:
            return None
        edge_w = None if self.edge_mask is None else \
            np.where(self.edge_mask, np.float32(FLOOR), np.float32(1.0)).astype(np.float32)

        def weights(k: int) -> np.ndarray | None:
            n = rows[k]
            if self.fixed is None or self.fixed[n] is None:
                w = cons.weights(n) if cons is not None and use_cons else None
            else:
                out = self._outliers(n)
                w = None if out is None else np.where(out, np.float32(FLOOR),
                                                       np.float32(1.0))
                a = cons.alone[n] if cons is not None and n < len(cons.alone) else None
                if a is not None and w is not None:  # the one frame shown where none is clean
                    assert cons is not None
                    w[upsample_mask(a, cons.reduce, cons.shape) & out] = np.float32(ALONE)
            if prior is not None:
                p = prior(n)
                if p is not None and self.fixed is not None and self.fixed[n] is not None \
                        and self.fixed_prior is not None:
                    fp = self.fixed_prior(n)  # redrawn at full resolution: not the prior's
                    if fp is not None:
                        p = np.where(fp, np.float32(1.0), np.asarray(p, np.float32))
                if p is not None:
                    p = np.maximum(np.asarray(p, np.float32), np.float32(FLOOR))
                    w = p if w is None else np.minimum(w, p)
            if logo_w is not None:
                w = logo_w if w is None else np.where(logo_w < 1, logo_w, w)
            mv = self._moving(n) if near is not None and w is not None else None
            if mv is not None:
                # the usable samples whose kernel reaches a moving-foreground sample keep
                # NEAR: the fill gives their taps the character's outline, not background
                ring = grow(mv, near) & (w >= EXCLUDED)
                w = np.where(ring, np.minimum(w, np.float32(NEAR)), w)
            if edge_w is not None:  # dirty border lines: only where no frame sees clean
                w = edge_w if w is None else np.minimum(w, edge_w)
            lay = self.layer_mask(n)
            if lay is not None and lay.any():  # the second plane, at full resolution
                w = np.ones(lay.shape, np.float32) if w is None else w
                w = np.where(lay & (w != np.float32(ALONE)), np.minimum(w, np.float32(FLOOR)),
                             w).astype(np.float32)
            return w

        return weights


def _defer_to_fixed(moving: np.ndarray, near: np.ndarray, reach: int) -> np.ndarray:
    """``moving`` (bool (h, w)) without its parts that lie mostly (:data:`MOVING_SHARE`) on
    redrawn screen-fixed content (``near``: it, grown a sample): a subtitle line that changes
    is itself screen-fixed and decided at full resolution; a character that touches a few
    screen-fixed pixels, or a mouth moving in a face the camera follows, stays left out.
    Of a part that lies mostly on it, the pieces off ``near`` that hold at least ``reach``²
    pixels more than ``reach`` px beyond it stay left out too: a character whose legs cross a
    changing subtitle joins the subtitle's change into one part, and is still something else
    moving (the change's own fringes stay within a sample or two of the text)."""
    hit = moving & near
    if not hit.any():
        return moving
    from scipy import ndimage  # lazy: only where both kinds meet

    eight = np.ones((3, 3), bool)
    lab, n = ndimage.label(moving, structure=eight)
    area = np.bincount(lab.ravel(), minlength=n + 1)
    inside = np.bincount(lab[hit], minlength=n + 1)
    drop = inside >= MOVING_SHARE * np.maximum(area, 1)
    drop[0] = False
    if not drop.any():
        return moving
    rest = drop[lab] & ~near
    kept = moving & ~drop[lab]
    if rest.any():
        lab2, n2 = ndimage.label(rest, structure=eight)
        zone = ndimage.binary_dilation(near, structure=eight, iterations=reach)
        away = np.bincount(lab2[rest & ~zone], minlength=n2 + 1) >= reach * reach
        away[0] = False
        kept |= away[lab2]
    return kept


def reduced_luma(store: FrameStore, k: int, r: int) -> np.ndarray:
    """Working Y' of frame ``k`` box-reduced by ``r`` (:func:`overmix.warp.reduce_box`),
    reduced straight from the codes (:func:`overmix.warp.reduce_box_codes`: the luma is an
    affine map of them, so it commutes with the block means)."""
    if r <= 1:
        return reduce_box(store.luma(k), r)
    coef, off = store.luma_coefficients()
    return reduce_box_codes(store.frame(k).planes[:len(coef)], coef, off, r)


def find_clean(store: FrameStore, offsets: Offsets, opts: StitchOptions,
               overlay: OverlayInfo | None,
               prior: Callable[[int], np.ndarray | None] | None = None,
               progress: ProgressCallback = no_progress, *,
               gains: np.ndarray | None = None,
               fixed_prior: Callable[[int], np.ndarray | None] | None = None,
               layer: LayerLabel | None = None) -> CleanPlan:
    """The clean-still stage: per-frame outlier masks against the consensus of the frames
    (``overmix.render.consensus``), and, where outliers persist in most frames (content fixed
    on screen) and no ``--logo`` was given, a semi-transparent overlay's colour and alpha
    (``overmix.restore.overlay_estimate.estimate_overlay``) so it can be un-blended.

    With a second plane's ``layer`` (:mod:`overmix.render.layers`), its pixels neither vote
    nor render, and what the moving-foreground stage flags where that plane passes within
    :data:`LAYER_REACH` frames is the plane's doing (a background pixel its neighbours see
    covered), not something moving: only its own mask, at full resolution, is left out."""
    plan = CleanPlan(None, overlay, prior, layer=layer)
    n = len(offsets)
    if n < 3 or opts.render == "difference" or len(set(offsets.anim)) > 1 \
            or offsets.has_transform or offsets.pitch != 1.0:  # translation-only masks
        return plan
    assert store.shape is not None
    h, w = store.shape
    r = reduce_factor(w, h)
    pos = positions(store, offsets)
    plan.edges = dirty_edges(_luma_boxes(store, pos, gains), n, offsets.xy, (h, w))
    plan.edge_mask = edge_mask(plan.edges, (h, w))
    progress("consensus", 0, n)
    smalls = []
    # frames reduced in threads (numpy and the reads release the GIL), kept in order
    for i, small in enumerate(prefetch(lambda p: reduced_luma(store, p, r), pos)):
        if gains is not None:  # frame Y' = a · scene Y' + b (lighting): compare scene values
            a, b = (float(v) for v in gains[i])
            if a > 0 and (a != 1 or b != 0):
                small = (small - np.float32(b)) * np.float32(1.0 / a)
        smalls.append(small)
        progress("consensus", i + 1, n)
    vote = prior
    if plan.edge_mask is not None or layer is not None:
        # dirty border lines and a second plane neither vote nor are judged
        keep = None if plan.edge_mask is None else (~plan.edge_mask).astype(np.float32)

        def vote(i: int) -> np.ndarray | None:
            p = prior(i) if prior is not None else None
            if layer is not None:
                lay = (~plan.layer_mask(i)).astype(np.float32)  # type: ignore[operator]
                p = lay if p is None else np.minimum(np.asarray(p, np.float32), lay)
            if keep is not None:
                p = keep if p is None else np.minimum(np.asarray(p, np.float32), keep)
            return p

    def moving() -> list[np.ndarray | None]:
        found = _moving(store, pos, offsets, r, gains)
        return found if layer is None else _off_layer(found, layer, offsets.xy, r, (h, w))

    cons = find_outliers(smalls, n, offsets.xy, (h, w), r, prior=vote, foreground=moving)
    del smalls
    if layer is not None:
        _residual_off_layer(cons, plan)
    plan.consensus = cons
    plan.fixed_prior = fixed_prior
    persistent = cons.persistent
    if not cons.clean or fixed_prior is not None:
        plan.fixed = _redraw_fixed(store, pos, offsets, plan)
    if overlay is None and opts.overlays == "keep" and persistent.any():
        plan.overlay = OverlayInfo(persistent)  # pasted from the kept frame
    elif overlay is None and opts.logo == "off" and persistent.any() \
            and persistent.mean() < 0.25:
        from overmix.restore.overlay_estimate import estimate_overlay  # lazy: scipy

        mask = _refine_static(store, pos, offsets, persistent, r)
        color, alpha = estimate_overlay(lambda i: store.planes(pos[i]), offsets.xy,
                                        offsets.canvas, mask, progress=progress)
        if plan.fixed is not None:  # opaque parts: the redrawn masks say where they are
            semi = semi_transparent(mask, alpha)
            mask = mask & semi
            alpha = np.where(semi, alpha, np.float32(0.0)).astype(np.float32)
        if mask.any():
            plan.overlay = OverlayInfo(mask, color, alpha)
    return plan


def _refine_static(store: FrameStore, pos: list[int], offsets: Offsets, persistent: np.ndarray,
                   r: int) -> np.ndarray:
    """The persistent outliers (found on frames reduced by ``r``) redrawn at full resolution
    (:func:`overmix.render.static_overlay.refine_static`): the pixels that differ from the
    scene where other frames see it clean, so the views of the background a few pixels off a
    logo are kept."""
    from overmix.render.static_overlay import refine_static  # lazy: scipy

    region = grow(persistent, r)  # the reduced mask may miss a glyph's thin ends
    return refine_static(lambda n: store.luma(pos[n]), offsets.xy, region, thr=STATIC_THR,
                         min_travel=2.0 * r)


def _off_layer(found: list[np.ndarray | None], layer: LayerLabel, xy: np.ndarray, r: int,
               shape: tuple[int, int]) -> list[np.ndarray | None]:
    """The moving-foreground masks (reduced by ``r``) without what the second plane explains:
    samples whose background the plane covers within :data:`LAYER_REACH` frames."""
    h, w = shape
    q = r // layer.reduce
    own = (-(-h // layer.reduce), -(-w // layer.reduce))
    out: list[np.ndarray | None] = []
    for k, m in enumerate(found):
        if m is not None:
            near = downsample_mask(layer.reach(k, xy, LAYER_REACH, own), q, m.shape)
            m = m & ~near
        out.append(m if m is not None and m.any() else None)
    return out


def _residual_off_layer(cons: Consensus, plan: CleanPlan) -> None:
    """The residual outliers without the second plane's samples (grown by one: its edge
    samples mix both planes); the plane is left out at full resolution instead
    (:meth:`CleanPlan.layer_mask`). The masks are made again of the parts."""
    hs, ws = cons.shape[0] // cons.reduce, cons.shape[1] // cons.reduce
    for k in range(len(cons.masks)):
        res = cons.residual[k] if k < len(cons.residual) else None
        if res is not None:
            lay = plan.layer_mask(k)
            if lay is not None:
                res = res & ~grow(downsample_mask(lay, cons.reduce, (hs, ws)), 1)
            res = res if res.any() else None
            cons.residual[k] = res
        parts = [p for p in (res, cons.fixed[k] if cons.fixed else None,
                             cons.moving[k] if cons.moving else None) if p is not None]
        m = None
        for p in parts:
            m = p if m is None else (m | p)
        cons.masks[k] = m


def _luma_boxes(store: FrameStore, pos: list[int], gains: np.ndarray | None
                ) -> Callable[[int], Callable[[slice, slice], np.ndarray]]:
    """``row -> ((rows, cols) -> working Y' of that rectangle)`` of the stitched frames,
    converted from the codes rectangle by rectangle (only the luma plane of a YCbCr frame is
    read), in scene values where lighting ``gains`` were estimated."""
    used = len(store.luma_coefficients()[0])  # planes the luma is made of

    def frame(n: int) -> Callable[[slice, slice], np.ndarray]:
        planes = tuple(store.codes(pos[n], p) for p in range(used))
        a, b = (1.0, 0.0) if gains is None else (float(v) for v in gains[n])

        def box(rows: slice, cols: slice) -> np.ndarray:
            y = np.asarray(store.luma_of(tuple(p[rows, cols] for p in planes)), np.float32)
            if a > 0 and (a != 1 or b != 0):
                y = (y - np.float32(b)) * np.float32(1.0 / a)
            return y

        return box

    return frame


def analysis_luma(store: FrameStore, pos: list[int], gains: np.ndarray | None,
                  rf: int) -> Callable[[int], np.ndarray]:
    """``row -> working Y'`` of the stitched frames in plain ``rf x rf`` block means (outlines
    must not be smoothed away), in scene values where lighting ``gains`` were estimated."""
    assert store.shape is not None
    h, w = store.shape

    def luma(i: int) -> np.ndarray:
        y = store.luma(pos[i])
        if rf > 1:
            hh, ww = (h // rf) * rf, (w // rf) * rf
            y = y[:hh, :ww].reshape(hh // rf, rf, ww // rf, rf).mean(axis=(1, 3))
        y = np.asarray(y, np.float32)
        if gains is not None:
            a, b = (float(v) for v in gains[i])
            if a > 0 and (a != 1 or b != 0):
                y = (y - np.float32(b)) * np.float32(1.0 / a)
        return y

    return luma


def _moving(store: FrameStore, pos: list[int], offsets: Offsets, r: int,
            gains: np.ndarray | None) -> list[np.ndarray | None]:
    """What moves on its own in each frame (:func:`overmix.render.foreground.
    moving_foreground`, at about 640 columns), as masks at the consensus reduction ``r``."""
    from overmix.render.foreground import analysis_factor, moving_foreground  # lazy: scipy

    assert store.shape is not None
    h, w = store.shape
    rf = analysis_factor(w, r)
    q = r // rf
    hs, ws = h // r, w // r
    out: list[np.ndarray | None] = []
    for m in moving_foreground(analysis_luma(store, pos, gains, rf), len(pos), offsets.xy,
                               reduce=rf):
        if m is not None:
            m = downsample_mask(m, q, (hs, ws))
        out.append(m if m is not None and m.any() else None)
    return out


def semi_transparent(mask: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """The parts of a persistent overlay (bool (h, w)) that are a semi-transparent logo to
    un-blend: connected parts (grown by :data:`LOGO_GROW`) of the pixels with an estimated
    alpha above 0.02 in which fewer than :data:`OPAQUE_SHARE` of those are opaque (alpha
    0.9 or more). Opaque screen-fixed content (bars, subtitle text: where lines change, the
    per-pixel fit mixes frames with and without a glyph into a middling alpha) is left to the
    full-resolution masks."""
    from scipy import ndimage

    seen = mask & (alpha > 0.02)
    if not seen.any():
        return np.zeros_like(mask)
    lab, n = ndimage.label(grow(seen, LOGO_GROW))
    total = np.bincount(lab[seen], minlength=n + 1)
    opaque = np.bincount(lab[seen & (alpha >= 0.9)], minlength=n + 1)
    semi = opaque < OPAQUE_SHARE * np.maximum(total, 1)
    semi[0] = False
    return semi[lab] & mask


def _redraw_fixed(store: FrameStore, pos: list[int], offsets: Offsets,
                  plan: CleanPlan) -> list[Crop | None] | None:
    """The screen-fixed masks redrawn at full resolution (:mod:`overmix.render.fixed_edges`),
    or None when no row has any. Frames are read in order, a window of them cached."""
    from overmix.render.fixed_edges import refine_fixed  # lazy: scipy

    if all(plan.candidates(n) is None for n in range(len(pos))):
        return None
    cache: dict[int, np.ndarray] = {}
    reach = 24

    def luma(n: int) -> np.ndarray:
        if n not in cache:
            for m in [m for m in cache if abs(m - n) > 2 * reach + 1]:
                del cache[m]
            cache[n] = store.luma(pos[n])
        return cache[n]

    cons = plan.consensus
    still = None
    if cons is not None and cons.still is not None:
        # grown by a sample: reduced, they end up to a sample short of a bar's edge
        still = grow(upsample_mask(cons.still, cons.reduce, cons.shape), cons.reduce)
    if plan.edge_mask is not None:
        still = plan.edge_mask if still is None else (still | plan.edge_mask)
    return refine_fixed(luma, offsets.xy, plan.candidates, thr=FIXED_THR,
                        min_span=FIXED_SPAN, reach=reach, still=still)


def keep_frame_row(offsets: Offsets, opts: StitchOptions) -> int:
    """Offsets row whose foreground/overlays ``keep`` pastes: ``--foreground keep:FRAME``
    (an input frame index), else the middle frame."""
    _, frame = parse_foreground(opts.foreground)
    if frame is None:
        return len(offsets) // 2
    if frame not in offsets.indices:
        raise UsageError(f"--foreground keep:{frame}: frame {frame} is not among the stitched "
                         f"frames ({offsets.indices[0]}-{offsets.indices[-1]})")
    return offsets.indices.index(frame)


def paste_kept(store: FrameStore, offsets: Offsets, opts: StitchOptions, plan: CleanPlan,
               res: RenderResult, progress: ProgressCallback = no_progress) -> RenderResult:
    """``--foreground keep`` / ``--overlays keep``: the frame's foreground (outliers that are
    not overlays) and/or overlays pasted onto the canvas from ONE frame, sharp (never
    averaged), over the clean background."""
    fg_keep = parse_foreground(opts.foreground)[0] == "keep"
    ov_keep = opts.overlays == "keep"
    if not (fg_keep or ov_keep):
        return res
    row = keep_frame_row(offsets, opts)
    cons = plan.consensus
    out = None if cons is None else cons.outliers(row)
    assert offsets.frame_height and offsets.frame_width
    region = np.zeros((offsets.frame_height, offsets.frame_width), bool)
    static = np.zeros_like(region)
    if plan.overlay is not None:
        static |= grow(plan.overlay.mask, LOGO_GROW)
    if out is not None and fg_keep:
        region |= out & ~static
    if ov_keep:
        region |= static
    if not region.any():
        return res
    pos = positions(store, offsets)
    one = offsets.with_rows([row], anim=[0])
    keep = render(store, one, positions=[pos[row]], kernel=opts.kernel,
                  border=opts.border, full_chroma=opts.chroma == "full",
                  canvas=res.canvas, frame_weights=lambda k: region.astype(np.float32),
                  progress=progress)
    planes = [p.copy() for p in res.planes]
    a = np.clip(keep.coverage, 0.0, 1.0)
    for i, p in enumerate(planes):
        ai = a if p.shape == a.shape else _block_mean(a, p.shape)
        p *= 1.0 - ai
        p += ai * keep.planes[i]
    return replace(res, planes=tuple(planes))


def _block_mean(a: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Luma-grid weights onto a subsampled plane of ``shape`` (block means, edge padded)."""
    h, w = shape
    sy, sx = -(-a.shape[0] // h), -(-a.shape[1] // w)
    pad = np.pad(a, ((0, h * sy - a.shape[0]), (0, w * sx - a.shape[1])), mode="edge")
    return pad.reshape(h, sy, w, sx).mean(axis=(1, 3)).astype(np.float32)

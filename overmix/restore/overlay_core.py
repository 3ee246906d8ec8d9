"""One colour per part of a static overlay (:mod:`overmix.restore.overlay_estimate` step 6).

The per-pixel line fit (frame value against the background the frame shows there, slope
``1 - a``, intercept ``a c``) needs backgrounds that vary under each pixel. On a slow pan a
logo's bar that lies along the pan slides along itself: the middle of the bar is never seen
over a known background (no fit at all), and the pixels beside it only over a few (a noisy
slope; at 8 bits 0.34-0.68 along a 0.55 bar). A TV logo is drawn in one colour per part, so
a part's colour is told by its well-fitted pixels (their median), and each pixel's alpha is
then fitted with that colour known — one unknown, the offset as well as the slope of its
line telling it: ``f - b = a (c - b)``. A pixel no frame saw over a known background lies
in a bar that slid along itself, so it takes the alpha of the nearest fitted pixel along the
camera's main travel in its part (the bar's profile across it, antialiased edges included);
where there is none, the part's full-coverage alpha inside the mask and 0 on the mask's outer
line (the rim it was grown by).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["one_colour"]

# a part: the overlay's pixels joined across gaps up to this wide (a logo's letters and frame)
PART_GAP = 3
MIN_CORE = 16  # well-fitted pixels a part needs to lend its colour and alpha
CORE_ALPHA = 0.1  # a fitted pixel this opaque or more tells its part's colour


def one_colour(sums: list[dict[str, np.ndarray]], boxes: list[tuple[int, int, int, int]],
               scales: list[tuple[int, int]], mask: np.ndarray, fitted: np.ndarray,
               alpha: np.ndarray, colors: list[np.ndarray], axis: int = 1
               ) -> tuple[np.ndarray, list[np.ndarray]]:
    """The overlay's alpha and colours with one colour per part.

    Parameters
    ----------
    sums : per plane, the line-fit running sums (``n``, ``b``, ``f``, ``bb``, ``bf``, float64
        on that plane's box; :func:`overmix.restore.overlay_estimate._line_sums`)
    boxes : per plane, its box (r0, r1, c0, c1) in plane samples
    scales : per plane, its (sx, sy) subsampling
    mask : bool (h, w), the overlay (luma resolution)
    fitted : bool (h, w), the mask's pixels whose slope was fitted (enough background variety)
    alpha : float32 (h, w), the per-pixel fit's alpha
    colors : per plane float32 (hp, wp), the per-pixel fit's colour (planes' units)
    axis : the camera's main travel: 1 along x (rows), 0 along y

    Returns
    -------
    (alpha, colors)
        New arrays; parts with fewer than :data:`MIN_CORE` well-fitted pixels keep the
        per-pixel fit.
    """
    lab = _parts(mask)
    nlab = int(lab.max())
    if nlab == 0:
        return alpha, colors
    good = fitted & (alpha > CORE_ALPHA)
    cores = []
    for c, (sx, sy) in enumerate(scales):
        r0, r1, c0, c1 = boxes[c]
        core = _part_median(_on_plane(lab, boxes[c], sx, sy),
                            colors[c][r0:r1, c0:c1], _on_plane(good, boxes[c], sx, sy), nlab)
        cores.append(core)
    ok = np.all([np.isfinite(k) for k in cores], axis=0)
    ok[0] = False
    if not ok.any():
        return alpha, colors
    # alpha with the part's colour known, over the full-resolution planes
    r0, r1, c0, c1 = boxes[0]
    lab0 = lab[r0:r1, c0:c1]
    num = np.zeros(lab0.shape)
    den = np.zeros(lab0.shape)
    for c, (sx, sy) in enumerate(scales):
        if (sx, sy) != (1, 1):
            continue
        s, col = sums[c], np.nan_to_num(cores[c])[lab0]
        # sum over frames of (f - b)(c - b) and of (c - b)^2
        num += col * (s["f"] - s["b"]) - s["bf"] + s["bb"]
        den += s["n"] * col * col - 2.0 * col * s["b"] + s["bb"]
    seen = sums[0]["n"] >= 1
    a_fit = np.clip(np.divide(num, den, out=np.zeros_like(num), where=den > 1e-9), 0.0, 1.0)
    # the part's full-coverage alpha: the median of its fitted pixels above half its top
    full = np.zeros(nlab + 1)
    a_good = _by_part(lab, alpha, good, nlab)
    for i in np.flatnonzero(ok):
        v = a_good[i]
        full[i] = np.median(v[v >= 0.5 * np.percentile(v, 90)])
    use = ok[lab0] & mask[r0:r1, c0:c1]
    # an unseen pixel on the mask's outer line is the antialiased rim the mask was grown by,
    # not the part's fully covered middle: nothing to un-blend there
    inner = ndimage.binary_erosion(mask, structure=np.ones((3, 3), bool))[r0:r1, c0:c1]
    a_unseen = np.where(inner, full[lab0], 0.0)
    # ... and one inside a bar that slid along itself has the bar's profile across it: the
    # alpha of the nearest pixel along the travel fitted with enough frames, in its part
    src = use & (sums[0]["n"] >= 3)
    ty, tx = _nearest_along(src, axis)
    same = (ty >= 0) & (lab0[np.maximum(ty, 0), np.maximum(tx, 0)] == lab0)
    a_unseen = np.where(same, a_fit[np.maximum(ty, 0), np.maximum(tx, 0)], a_unseen)
    new_alpha = alpha.copy()
    box = new_alpha[r0:r1, c0:c1]
    box[use] = np.where(seen, a_fit, a_unseen)[use].astype(np.float32)
    new_colors = []
    for c, (sx, sy) in enumerate(scales):
        q0, q1, p0, p1 = boxes[c]
        lab_c = _on_plane(lab, boxes[c], sx, sy)
        out = colors[c].copy()
        sub = out[q0:q1, p0:p1]
        on = ok[lab_c] & (lab_c > 0)
        sub[on] = cores[c][lab_c[on]].astype(np.float32)
        new_colors.append(out)
    return new_alpha, new_colors


def _nearest_along(src: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel of ``src`` (bool (h, w)), the row and column (int64 (h, w) each; -1 where
    none) of the nearest True pixel on the same line along ``axis`` (1: the same row)."""
    a = src if axis == 1 else src.T
    h, w = a.shape
    idx = np.broadcast_to(np.arange(w), (h, w))
    before = np.maximum.accumulate(np.where(a, idx, -1), axis=1)
    after = np.minimum.accumulate(np.where(a, idx, w)[:, ::-1], axis=1)[:, ::-1]
    take_after = (after < w) & ((before < 0) | (after - idx < idx - before))
    col = np.where(take_after, after, before)
    row = np.where(col >= 0, np.broadcast_to(np.arange(h)[:, None], (h, w)), -1)
    return (row, col) if axis == 1 else (col.T, row.T)


def _on_plane(a: np.ndarray, box: tuple[int, int, int, int], sx: int, sy: int
              ) -> np.ndarray:
    """``a`` (luma resolution) at the top-left luma pixel of each sample of a plane
    subsampled by (``sx``, ``sy``), on that plane's ``box`` (r0, r1, c0, c1; edge-padded)."""
    r0, r1, c0, c1 = box
    ys = np.minimum(np.arange(r0, r1) * sy, a.shape[0] - 1)
    xs = np.minimum(np.arange(c0, c1) * sx, a.shape[1] - 1)
    return a[np.ix_(ys, xs)]


def _parts(mask: np.ndarray) -> np.ndarray:
    """Labels (int32, the shape of ``mask``; 0 outside) of ``mask``'s parts joined across
    gaps of :data:`PART_GAP` px."""
    joined = ndimage.binary_dilation(mask, iterations=PART_GAP)
    lab, _ = ndimage.label(joined, structure=np.ones((3, 3), bool))
    return np.where(mask, lab, 0).astype(np.int32)


def _by_part(lab: np.ndarray, values: np.ndarray, keep: np.ndarray, nlab: int
             ) -> list[np.ndarray]:
    """Per label 0..``nlab`` of ``lab``, the ``values`` (same shape) where ``keep``
    (label 0: none)."""
    sel = keep & (lab > 0)
    ids = lab[sel]
    order = np.argsort(ids, kind="stable")
    vals, ids = values[sel][order], ids[order]
    cuts = np.searchsorted(ids, np.arange(nlab + 2))
    return [vals[:0]] + [vals[cuts[i]:cuts[i + 1]] for i in range(1, nlab + 1)]


def _part_median(lab: np.ndarray, values: np.ndarray, keep: np.ndarray, nlab: int
                 ) -> np.ndarray:
    """Per label 0..``nlab`` (float64), the median of ``values`` where ``keep``, NaN where
    fewer than :data:`MIN_CORE` (label 0: NaN)."""
    out = np.full(nlab + 1, np.nan)
    for i, v in enumerate(_by_part(lab, values, keep, nlab)):
        if i and v.size >= MIN_CORE:
            out[i] = np.median(v)
    return out

"""The camera follows a character: find the background's motion, not the character's.

When the camera follows a character (a head fixed on screen while the background pans behind
it), pairs of frames that show the same drawing match almost perfectly at zero shift: the
character, the most textured region, says "no motion". Pairs across drawing changes over
longer jumps see the background's pan instead. The pairs then disagree: the joint solve keeps
the many short, near-zero pairs and rejects the confident long ones (a *conflict*).

The background is the region that moves consistently along the whole scene; the character
matches at its own motion only while its drawing holds. So on a conflict:

1. the rejected confident pairs give a second hypothesis of the camera's motion, smoothed
   along the scene (:func:`hypothesis`: least squares with a second-difference prior);
2. tiles vote between the two hypotheses on every measured pair up to 8 frames apart
   (:func:`overmix.registration.vote.tile_winners`, on the level the coarse vote uses);
   the tiles that follow the solved motion rather than the hypothesis are the
   character's, in the frames of both ends;
3. the votes, summed over the scene, say which region is larger over time. When the
   hypothesis wins, the frames are aligned again with the character's tiles left out and
   the new offsets are kept if their own pairs agree. When the regions are within
   :data:`AMBIGUOUS` of each other, a warning says so.

A clean pan has no conflict: the only cost there is one pass over the pairs' residuals.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from overmix.registration.coarse import _correlation, _peaks, _tukey
from overmix.registration.coarse import _vote_level as _prepared_vote_level
from overmix.registration.pyramid import _ENC_GAIN, down2, prepare
from overmix.registration.solve import Pair
from overmix.registration.vote import tile_vote, tile_winners

__all__ = ["AMBIGUOUS", "agrees", "audit", "block_peaks", "conflicts", "follower_masks",
           "follower_votes", "follows", "hypothesis", "planes", "positions", "probe", "resolved",
           "stays", "weight_of"]

# A pair conflicts with the solved offsets when it is at least this confident ...
CONFLICT_CONFIDENCE = 0.8
# ... and its residual is at least this large (px).
CONFLICT_PX = 1.0
# Fewest conflicting pairs that make a second hypothesis.
MIN_CONFLICTS = 1
# Votes are cast on pairs at most this many frames apart (frames held in a window).
VOTE_SPAN = 8
# The two motions must differ by at least this much on the vote level (px): candidates a
# pixel apart are one motion for the vote.
VOTE_APART = 2
# The vote level's longest side (as the coarse search's vote) and its tiles (px).
_VOTE_MAX = 720
_TILE = 16
_MIN_STD = 0.01
# Offsets aligned without the follower follow the hypothesis within this (px): it is only
# a smooth fit through a few pairs.
FOLLOW_PX = 3.0
# Weight of the second-difference prior of the hypothesis (per frame, against pairs of 1).
_SMOOTH = 0.1
# A camera that hardly moves (solved travel over the scene at most this fraction of the
# frame's longest side) is probed for a second, larger motion: up to _PROBES pairs of the
# longest jump (up to VOTE_SPAN) and of half of it (more overlap, a peak the longer jump's
# correlation can miss) vote among their phase correlation peaks; a motion at least
# VOTE_APART from the solved one with PROBE_SHARE of its votes is a hypothesis.
PROBE_TRAVEL = 0.05
PROBE_SHARE = 0.5
_PROBES = 4
# The probe's local candidates: phase correlation of blocks of this size (vote-level px,
# half-overlapping; a motion up to about a third of it is a peak), the most frequent
# _BLOCK_KEYS of their peaks.
_BLOCK = 128
_BLOCK_KEYS = 6
# Pairs disagree but the other motion's region got fewer votes: the frames are aligned again
# without the follower (a first round, whose offsets a second round votes against) only
# when it has at least this share of the solved motion's (a zoom's translation pairs
# disagree too, and their smooth fit wins few tiles).
RERUN_SHARE = 0.5
# The smaller region has at least this share of the larger one's votes: ambiguous.
AMBIGUOUS = 0.8
# Two regions that both keep at least PLANE_HELD of their votes per pair over the longest
# jumps voted (against the shortest: follower_votes) are two planes panning at their own
# speeds (parallax), not a character the camera follows (its votes fade as its drawing
# changes); when the smaller has at least PLANE_SHARE of the larger's votes, the parts that
# do not vote (flat) may make either the larger: the votes cannot choose (planes). Both must
# move on screen (PROBE_TRAVEL): a head redrawn every frame that turns little keeps its votes
# too (bench_follow seed 4 case 6: held 0.72 with 55 % of the background's votes), but the
# camera follows it. Measured: 320x180 parallax pans held 0.75-0.98 with 55-93 % of the
# other's votes; bench_follow seed 1's outvoted heads 0-0.65 with 25-31 %
PLANE_HELD = 0.5
PLANE_SHARE = 0.4
# The inlier pairs of a consistent translation agree within a few hundredths of a pixel
# (clean pans, and pans under overlays or walking characters: <= 0.08 px at 640x360); a region
# that moves differently and pulled some pairs' sub-pixel shifts leaves them this far apart
# (px), with offsets off by as much.
INCONSISTENT_PX = 0.3


def audit(extra: dict) -> None:
    """The last check of a translation's offsets (``extra``: their ``Offsets.extra``): when
    its inlier pairs disagree by more than :data:`INCONSISTENT_PX` and nothing has warned,
    ``extra["follow"]`` gets a warning (and ``"audit": True``: a zoom or rotation, which
    leaves the same residuals, drops it)."""
    worst = float(extra.get("residual_max", 0.0))
    info = extra.get("follow")
    if worst <= INCONSISTENT_PX or (isinstance(info, dict) and "warning" in info):
        return
    info = dict(info) if isinstance(info, dict) else {}
    info.update(audit=True, warning=(
        f"the frame pairs disagree with the offsets by up to {worst:.2f} px: a region that "
        "moves differently from the rest (a character the camera follows?) makes the "
        "background's motion ambiguous; check the still, or give --offsets"))
    extra["follow"] = info


def planes(held: tuple[float, float], votes: tuple[float, float],
           motions: tuple[np.ndarray, np.ndarray], shape: tuple[int, int]) -> bool:
    """Whether two regions are planes the tile votes cannot choose between: both move on
    screen (each of ``motions``, (n, 2) positions, NaN = not placed, travels more than
    :data:`PROBE_TRAVEL` of the frame's longest side over the scene: the camera follows
    neither), both keep :data:`PLANE_HELD` of their votes over the longest jumps (``held``,
    as :func:`follower_votes` returns it) and the smaller has :data:`PLANE_SHARE` of the
    larger's ``votes``."""
    if min(votes) < PLANE_SHARE * max(votes) or min(held) < PLANE_HELD:
        return False
    return all(_travel(m) > PROBE_TRAVEL * max(shape) for m in motions)


def _travel(xy: np.ndarray) -> float:
    """How far positions ``xy`` ((n, 2), NaN = not placed) range on either axis (px)."""
    ok = ~np.isnan(xy[:, 0])
    if ok.sum() < 2:
        return 0.0
    return float(np.max(xy[ok].max(axis=0) - xy[ok].min(axis=0)))


def conflicts(pairs: list[Pair], xy: np.ndarray) -> list[Pair]:
    """The confident pairs that disagree with the solved positions ``xy`` ((n, 2), NaN =
    not placed) by :data:`CONFLICT_PX` or more."""
    if not pairs:
        return []
    pi = np.array([p.i for p in pairs])
    pj = np.array([p.j for p in pairs])
    d = np.array([(p.dx, p.dy) for p in pairs])
    conf = np.array([p.confidence for p in pairs])
    with np.errstate(invalid="ignore"):
        r = np.hypot(*(xy[pj] - xy[pi] - d).T)
        bad = (conf >= CONFLICT_CONFIDENCE) & (r >= CONFLICT_PX)
    return [p for p, b in zip(pairs, bad, strict=True) if b]


def agrees(p: Pair, xy: np.ndarray) -> bool:
    """Whether pair ``p`` agrees with positions ``xy`` ((n, 2)) within :data:`CONFLICT_PX`:
    it measured that motion's region."""
    return math.hypot(*(xy[p.j] - xy[p.i] - (p.dx, p.dy))) < CONFLICT_PX


def resolved(bad: list[Pair], pairs: list[Pair], xy: np.ndarray) -> bool:
    """Whether every pair of ``bad`` was measured again in ``pairs`` and now agrees with
    positions ``xy`` ((n, 2)) within :data:`CONFLICT_PX`."""
    again = {(p.i, p.j): p for p in pairs}
    return all((p.i, p.j) in again and agrees(again[(p.i, p.j)], xy) for p in bad)


def stays(xy: np.ndarray, ref: np.ndarray) -> bool:
    """Whether positions ``xy`` stay within :data:`CONFLICT_PX` of ``ref`` (both (n, 2), NaN
    = not placed; relative to the first frame both placed): the same motion, measured
    again."""
    ok = ~np.isnan(xy[:, 0]) & ~np.isnan(ref[:, 0])
    if not ok.any():
        return False
    a = np.flatnonzero(ok)[0]
    return float(np.abs((xy[ok] - xy[a]) - (ref[ok] - ref[a])).max()) < CONFLICT_PX


def hypothesis(n: int, pairs: list[Pair]) -> np.ndarray:
    """(n, 2) positions that follow ``pairs`` (each: frame j at xy[i] + d), smooth along the
    scene where no pair says anything: least squares with a small second-difference prior
    (:data:`_SMOOTH`), frame 0 at (0, 0). One refit drops pairs more than
    :data:`CONFLICT_PX` off."""
    use = list(pairs)
    xy = np.zeros((n, 2))
    for _ in range(2):
        xy = _smooth_fit(n, use)
        keep = [p for p in use if agrees(p, xy)]
        if len(keep) == len(use) or len(keep) < 1:
            break
        use = keep
    return xy


def _smooth_fit(n: int, pairs: list[Pair]) -> np.ndarray:
    """Normal equations of the pairs and the second-difference prior, both axes at once."""
    a = np.zeros((n, n))
    b = np.zeros((n, 2))
    for p in pairs:
        a[p.i, p.i] += 1
        a[p.j, p.j] += 1
        a[p.i, p.j] -= 1
        a[p.j, p.i] -= 1
        b[p.j] += (p.dx, p.dy)
        b[p.i] -= (p.dx, p.dy)
    for k in range(1, n - 1):  # (x[k-1] - 2 x[k] + x[k+1])^2
        idx = (k - 1, k, k + 1)
        c = np.array([1.0, -2.0, 1.0])
        a[np.ix_(idx, idx)] += _SMOOTH * np.outer(c, c)
    a[0, 0] += 1e6  # frame 0 anchored at (0, 0)
    return np.linalg.solve(a + 1e-9 * np.eye(n), b)


def _vote_level(y: np.ndarray) -> tuple[np.ndarray, int]:
    """The finest 2^l box level whose longest side is at most :data:`_VOTE_MAX`, and l."""
    cur = np.asarray(y, np.float32)
    lvl = 0
    while max(cur.shape) > _VOTE_MAX and min(cur.shape) >= 64:
        cur = down2(cur)
        lvl += 1
    return cur, lvl


def follower_votes(read: Callable[[int], np.ndarray], n: int, pairs: list[Pair],
                   solved: np.ndarray, alt: np.ndarray,
                   ) -> tuple[tuple[float, float], tuple[dict[int, np.ndarray],
                                                         dict[int, np.ndarray]], int,
                              tuple[float, float]]:
    """Tile votes between the solved motion and the hypothesis ``alt`` (both (n, 2)).

    Every pair of ``pairs`` at most :data:`VOTE_SPAN` frames apart where the two motions
    differ by :data:`VOTE_APART` vote-level px is voted on (frames read once, in order).
    Returns the texture-weighted votes for the solved motion and for the hypothesis on the
    pairs of the longest span voted (the region that matches over the longest time: a
    character matches its own motion only while its drawing holds), the tiles that voted
    for the solved motion on any pair and those that voted for ``alt``, per store position
    ((rows, cols) bool on the vote level's tile grid, both ends of each pair), the tile
    size in full-resolution px, and how each region's votes hold over time (:func:`_held`:
    its mean votes per pair on the longest span voted over those on the shortest; 0 with a
    single span).
    """
    by_j: dict[int, list[Pair]] = {}
    for p in pairs:
        if 0 < p.j - p.i <= VOTE_SPAN:
            by_j.setdefault(p.j, []).append(p)
    window: dict[int, np.ndarray] = {}
    tiles: tuple[dict[int, np.ndarray], dict[int, np.ndarray]] = ({}, {})
    spans: dict[int, tuple[float, float, int]] = {}
    scale = 1
    placed = ~np.isnan(solved[:, 0])
    for k in range(n):
        if not placed[k]:
            continue
        window[k], lvl = _vote_level(read(k))
        scale = 2 ** lvl

        voted = False
        for p in by_j.get(k, []):
            if p.i not in window or not placed[p.i]:
                continue
            cs = _cands(solved, alt, p.i, k, scale)
            if _apart(cs) < VOTE_APART:
                continue
            win, weight = tile_winners(window[p.i], window[k], None, None, cs, tile=_TILE,
                                       min_std=_MIN_STD)
            vs, va, cnt = spans.get(p.j - p.i, (0.0, 0.0, 0))
            spans[p.j - p.i] = (vs + float(weight[win == 0].sum()),
                                va + float(weight[win == 1].sum()), cnt + 1)
            _mark_pair(tiles, k, p.i, win, cs)
            voted = True
        # a frame no measured pair tells the motions apart in (a slow pan: they part only
        # over a longer jump) takes its follower's tiles from the earlier frame held that
        # tells them apart most (not counted in the votes)
        far = max((i for i in window if i != k),
                  key=lambda i: _apart(_cands(solved, alt, i, k, scale)), default=None)
        if (not voted and far is not None
                and _apart(cs := _cands(solved, alt, far, k, scale)) >= VOTE_APART):
            win, _ = tile_winners(window[far], window[k], None, None, cs, tile=_TILE,
                                  min_std=_MIN_STD)
            _mark_pair(tiles, k, far, win, cs)
        for old in [j for j in window if j <= k - VOTE_SPAN]:
            del window[old]
    votes = spans[max(spans)][:2] if spans else (0.0, 0.0)
    return votes, tiles, _TILE * scale, _held(spans)


def _held(spans: dict[int, tuple[float, float, int]]) -> tuple[float, float]:
    """Per region (the solved motion's, the other's): its mean votes per pair on the longest
    span voted over those on the shortest (``spans``: span -> summed votes of each and the
    pairs voted); (0, 0) with fewer than two spans. A plane keeps its votes at any span; a
    character the camera follows matches at its motion only while its drawing holds, and
    its votes fade over the longer jumps."""
    if len(spans) < 2:
        return 0.0, 0.0
    short, long_ = spans[min(spans)], spans[max(spans)]
    return tuple(  # type: ignore[return-value]
        (long_[r] / long_[2]) / (short[r] / short[2]) if short[r] > 0 else 0.0
        for r in (0, 1))


def _cands(solved: np.ndarray, alt: np.ndarray, i: int, k: int,
           scale: int) -> list[tuple[int, int]]:
    """Frame k's shift from frame i under the solved motion and under ``alt``, in whole
    vote-level px."""
    return [(int(round(float(v[k, 0] - v[i, 0]) / scale)),
             int(round(float(v[k, 1] - v[i, 1]) / scale))) for v in (solved, alt)]


def _apart(cs: list[tuple[int, int]]) -> int:
    """How far apart two integer shifts are (Chebyshev, px)."""
    return max(abs(cs[0][0] - cs[1][0]), abs(cs[0][1] - cs[1][1]))


def _mark_pair(tiles: tuple[dict[int, np.ndarray], dict[int, np.ndarray]], k: int, i: int,
               win: np.ndarray, cs: list[tuple[int, int]]) -> None:
    """The tiles of frame k that voted for each motion against frame i (``win``: 0 = the
    solved one, 1 = the other; ``cs``: how far each moves frame i) in the maps of both
    frames."""
    for side in (0, 1):
        for f, sh in ((k, (0, 0)), (i, cs[side])):
            _mark(tiles[side], f, win == side, sh)


def _mark(tiles: dict[int, np.ndarray], f: int, mine: np.ndarray,
          shift: tuple[int, int]) -> None:
    """Add ``mine`` (tiles of the moving frame) to frame ``f``'s map, moved by ``shift``
    (vote-level px; whole tiles, rounded)."""
    ty, tx = round(shift[1] / _TILE), round(shift[0] / _TILE)
    moved = np.zeros_like(mine)
    h, w = mine.shape
    src = mine[max(0, -ty):h - max(0, ty), max(0, -tx):w - max(0, tx)]
    moved[max(0, ty):max(0, ty) + src.shape[0], max(0, tx):max(0, tx) + src.shape[1]] = src
    tiles[f] = moved if f not in tiles else tiles[f] | moved


def tile_mask(tiles: np.ndarray | None, size: int, shape: tuple[int, int],
              grow: int = 1) -> np.ndarray | None:
    """A tile map as a full-resolution (h, w) bool mask, grown by ``grow`` tiles."""
    if tiles is None or not tiles.any():
        return None
    t = tiles.copy()
    for _ in range(grow):
        g = t.copy()
        g[1:] |= t[:-1]
        g[:-1] |= t[1:]
        g[:, 1:] |= t[:, :-1]
        g[:, :-1] |= t[:, 1:]
        t = g
    full = np.repeat(np.repeat(t, size, axis=0), size, axis=1)
    h, w = shape
    out = np.zeros((h, w), bool)
    out[:min(h, full.shape[0]), :min(w, full.shape[1])] = full[:h, :w]
    # the last partial row/column of tiles takes its neighbour's value
    if full.shape[0] < h:
        out[full.shape[0]:] = out[full.shape[0] - 1]
    if full.shape[1] < w:
        out[:, full.shape[1]:] = out[:, full.shape[1] - 1:full.shape[1]]
    return out


def positions(n: int, labels: list[int], indices: list[int], xy: np.ndarray
              ) -> np.ndarray:
    """(n, 2) store positions' offsets from placed frames (``indices``: their labels), NaN
    for frames left out."""
    where = {lab: k for k, lab in enumerate(labels)}
    out = np.full((n, 2), np.nan)
    for lab, v in zip(indices, np.asarray(xy), strict=True):
        out[where[int(lab)]] = v
    return out


def follower_masks(tiles: dict[int, np.ndarray], size: int, shape: tuple[int, int],
                   frame_masks: Callable[[int], np.ndarray | None] | None,
                   ) -> Callable[[int], np.ndarray | None]:
    """Per-frame ignore masks: the follower's tiles (grown by a tile) and the caller's
    ``frame_masks``; built when asked (frame coordinates, full resolution)."""
    def masks(k: int) -> np.ndarray | None:
        own = frame_masks(k) if frame_masks is not None else None
        m = tile_mask(tiles.get(k), size, shape)
        if own is None:
            return m
        own = np.asarray(own) > 0.5
        return own if m is None else own | m

    return masks


def follows(xy: np.ndarray, alt: np.ndarray, solved: np.ndarray) -> bool:
    """Whether positions ``xy`` ((n, 2), NaN = not placed) follow the hypothesis ``alt``
    rather than ``solved``: within :data:`FOLLOW_PX`, or a quarter of the largest difference
    between the two (all taken relative to the first placed frame)."""
    ok = ~np.isnan(xy[:, 0])
    if not ok.any():
        return False
    a = np.flatnonzero(ok)[0]
    dev = (xy[ok] - xy[a]) - (alt[ok] - alt[a])
    with np.errstate(invalid="ignore"):
        gap = np.nanmax(np.abs((solved[ok] - solved[a]) - (alt[ok] - alt[a])), initial=0.0)
    return float(np.abs(dev).max()) <= max(FOLLOW_PX, 0.25 * float(gap))


def fill(xy: np.ndarray, alt: np.ndarray) -> np.ndarray:
    """Positions ``xy`` ((n, 2), NaN = not placed) with the gaps filled by ``alt`` moved to
    meet the nearest placed frames (its differences interpolated linearly)."""
    ok = ~np.isnan(xy[:, 0])
    k = np.arange(len(xy))
    out = np.empty_like(alt)
    for ax in range(2):
        out[:, ax] = alt[:, ax] + np.interp(k, k[ok], xy[ok, ax] - alt[ok, ax])
    return out


def weight_of(pairs: list[Pair]) -> float:
    """Summed confidence of conflicting pairs (how badly a solution disagrees with its own
    confident measurements)."""
    return float(sum(p.confidence for p in pairs))


def probe(read: Callable[[int], np.ndarray], pairs: list[Pair], solved: np.ndarray,
          shape: tuple[int, int], motion: str) -> np.ndarray | None:
    """A second hypothesis of the camera's motion when the solved camera hardly moves
    (:data:`PROBE_TRAVEL`) and no pair disagrees: a character the camera follows that never
    changes enough to let a pair see the background. Tiles of a few long pairs vote among
    their phase correlation peaks and their blocks' peaks (:func:`block_peaks`: the
    character's outlines can make every peak of the whole frames';
    :data:`PROBE_SHARE`); the winning other motion, at a
    constant velocity, is the hypothesis ((n, 2), n = len(solved)), None without one."""
    ok = ~np.isnan(solved[:, 0])
    if ok.sum() < 2:
        return None
    if _travel(solved) > PROBE_TRAVEL * max(shape):
        return None
    near = [p for p in pairs if ok[p.i] and ok[p.j] and 0 < p.j - p.i <= VOTE_SPAN]
    if not near:
        return None
    top = max(p.j - p.i for p in near)
    picks: list[Pair] = []
    for span in dict.fromkeys((top, max(top // 2, 1))):  # a shorter jump sees more overlap
        these = [p for p in near if p.j - p.i == span]
        if these:
            picks += dict.fromkeys(these[round(t * (len(these) - 1))] for t in (0.5, 0.2))
    for p in picks[:_PROBES]:
        span = p.j - p.i
        a, b = prepare(read(p.i)), prepare(read(p.j))
        fl = _prepared_vote_level(a)
        scale = 2 ** fl
        starts = _peaks(_correlation(a, b, fl), motion, 1)
        z = (solved[p.j] - solved[p.i]) / scale
        zc = (int(round(float(z[0]))), int(round(float(z[1]))))
        h, w = a.levels[fl].img.shape
        local = block_peaks(a.levels[fl].img, b.levels[fl].img, motion)
        keys = [c for c in dict.fromkeys([zc, *starts, *local])
                if (w - abs(c[0])) * (h - abs(c[1])) >= 0.35 * w * h]
        if len(keys) < 2 or keys[0] != zc:
            continue
        votes, _ = tile_vote(a.levels[fl].img, b.levels[fl].img, None, None, keys,
                             tile=_TILE, min_std=_MIN_STD * _ENC_GAIN)
        far = [(float(v), c) for c, v in zip(keys, votes, strict=True)
               if max(abs(c[0] - zc[0]), abs(c[1] - zc[1])) >= VOTE_APART]
        if not far:
            continue
        v, c = max(far)
        if v > 0 and v >= PROBE_SHARE * float(votes[0]):
            d = np.asarray(starts.get(c, c), np.float64) * scale
            vel = d / span
            return np.arange(len(solved))[:, None] * vel[None, :]
    return None


def block_peaks(ref: np.ndarray, mov: np.ndarray, motion: str = "xy") -> list[tuple[int, int]]:
    """Integer shifts (dx, dy) of the strongest phase-correlation peak of each overlapping
    :data:`_BLOCK` px block of ``mov`` against the same block of ``ref`` ((h, w) planes of
    one level; shifts in that level's px, :mod:`overmix.registration.phase` convention),
    the most frequent first (at most :data:`_BLOCK_KEYS`). A large region the whole-frame
    correlation is dominated by (a character's strong outlines) wins only its own blocks:
    the background's motion is then a candidate even when it is no peak of the whole
    frame's correlation."""
    h, w = ref.shape
    bh, bw = min(_BLOCK, h), min(_BLOCK, w)
    step = _BLOCK // 2
    at = [(y, x) for y in range(0, h - bh + 1, step) for x in range(0, w - bw + 1, step)]
    win = np.outer(_tukey(bh), _tukey(bw))
    pa = np.stack([ref[y:y + bh, x:x + bw] for y, x in at]).astype(np.float64)
    pb = np.stack([mov[y:y + bh, x:x + bw] for y, x in at]).astype(np.float64)
    pa = (pa - pa.mean(axis=(1, 2), keepdims=True)) * win
    pb = (pb - pb.mean(axis=(1, 2), keepdims=True)) * win
    cross = np.fft.rfft2(pa) * np.conj(np.fft.rfft2(pb))
    cross /= np.abs(cross) + 1e-12
    corr = np.fft.irfft2(cross, s=(bh, bw))
    if motion == "x":
        corr[:, 1:, :] = -np.inf
    elif motion == "y":
        corr[:, :, 1:] = -np.inf
    py, px = np.divmod(corr.reshape(len(at), -1).argmax(axis=1), bw)
    py = np.where(py > bh // 2, py - bh, py)
    px = np.where(px > bw // 2, px - bw, px)
    shifts, counts = np.unique(np.stack([px, py], axis=1), axis=0, return_counts=True)
    order = np.argsort(-counts, kind="stable")[:_BLOCK_KEYS]
    return [(int(shifts[k, 0]), int(shifts[k, 1])) for k in order]

"""The stages of a stitch (DESIGN §1, §6): each takes and returns plain objects, so optional
stages (lighting, animation, overlays) plug in without touching the others.

1. :func:`load_store` — open the input (:func:`overmix.io.sources.open_source`) and decode
   every selected frame once into a :class:`~overmix.io.store.FrameStore`;
2. :func:`load_mask` — the ``--mask`` PNG (white = ignore, frame coordinates);
3. :func:`compute_offsets` — read ``--offsets`` or align (:func:`overmix.registration.align`);
4. :func:`separate_animation` — ``--animation`` (animation ids per frame);
5. :func:`estimate_lighting` — ``--lighting`` (per-frame gain/offset on Y');
6. :func:`render_canvas` — one :class:`~overmix.render.stack.RenderResult` per animation frame;
7. :func:`find_overlay` — ``--logo`` / ``--extract-overlay``.

Restoration is in :mod:`overmix.commands.restoration`, output in :mod:`overmix.commands.output`.

The optional stages import their algorithms (animation, overlays) on first use: those load
scipy, which a default stitch does not need (``overmix.registration`` itself does not).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

import numpy as np

from overmix.commands.options import (
    MB,
    StitchOptions,
    align_motion,
    source_options,
    translation_only_features,
)
from overmix.errors import AlignmentError, InputError, UnsupportedError, UsageError
from overmix.geometry import Offsets
from overmix.io.loading import LoadingStore
from overmix.io.loading import load_store as fill_store
from overmix.io.png import read_png_array
from overmix.io.prefetch import decode_workers
from overmix.io.sources import open_source
from overmix.io.store import FrameStore
from overmix.progress import ProgressCallback, no_progress
from overmix.registration import AlignResult, SceneMasks, align, align_scene
from overmix.render.clean_masks import grow  # noqa: F401 - the commands' mask growth
from overmix.render.lighting import (
    fit_lighting,
)
from overmix.render.stack import FrameWeights, RenderResult, render

OFFSET_SCALE = 1e6  # aligned offsets are rounded to 1/OFFSET_SCALE px (see snap_offsets)


def load_store(input_path: str | os.PathLike[str], opts: StitchOptions,
               progress: ProgressCallback = no_progress, *,
               background: bool = False) -> FrameStore:
    """Open the input and decode the selected frames once (stage ``load``).

    ``background``: a folder of PNGs or dumps may go on decoding on a background thread
    while the caller reads the first frames (a :class:`~overmix.io.loading.LoadingStore`,
    whose ``finish()`` the caller calls once it has read them all)."""
    src = open_source(input_path, **source_options(opts))
    store = fill_store(src, budget_bytes=int(opts.memory_budget * MB), tmp_dir=opts.tmp_dir,
                       progress=progress, background=background)
    if len(store) == 0:
        store.close()
        raise InputError(f"no frames selected from {input_path}")
    return store


@contextmanager
def loaded(input_path: str | os.PathLike[str], opts: StitchOptions, progress: ProgressCallback,
           timings: dict[str, float]) -> Iterator[tuple[FrameStore, np.ndarray | None]]:
    """The input loaded for the alignment and its ``--mask`` (bool (h, w) or None), closed on
    leaving. A folder of PNGs or dumps goes on decoding on a background thread while the
    alignment reads the first frames (:mod:`overmix.io.loading`); ``timings["load"]`` is the
    load's wall time until the first frames are there (:func:`settle_load_time` makes it the
    load's own once the two have overlapped)."""
    t = time.perf_counter()
    with load_store(input_path, opts, progress, background=True) as store:
        timings["load"] = time.perf_counter() - t
        assert store.shape is not None
        yield store, (load_mask(opts.mask, store.shape) if opts.mask else None)


def settle_load_time(store: FrameStore, timings: dict[str, float]) -> None:
    """``timings["load"]``: a background load's own wall time (it overlapped the alignment)."""
    if isinstance(store, LoadingStore):
        timings["load"] = store.load_seconds or timings["load"]


def load_mask(path: str | os.PathLike[str], shape: tuple[int, int]) -> np.ndarray:
    """The ``--mask`` PNG as a bool (h, w) *ignore* mask: white (≥ half level) = ignore.

    Raises :class:`InputError` when the file is unreadable or not the frames' size.
    """
    img, depth = read_png_array(path)
    if img.ndim == 2:
        img = img[..., None]
    h, w = shape
    if img.shape[:2] != (h, w):
        raise InputError(
            f"mask {path} is {img.shape[1]}x{img.shape[0]}, the frames are {w}x{h}"
        )
    gray = img[..., :3].astype(np.float32).mean(axis=2) if img.shape[2] >= 3 else \
        img[..., 0].astype(np.float32)
    ignore = gray >= 0.5 * ((1 << depth) - 1)
    if ignore.all():
        raise InputError(f"mask {path} is white everywhere: it ignores the whole frame")
    return ignore


def positions(store: FrameStore, offsets: Offsets) -> list[int]:
    """Store position of each offsets row; error naming offsets for frames not in the input."""
    where = {idx: k for k, idx in enumerate(store.indices)}
    missing = [i for i in offsets.indices if i not in where]
    if missing:
        shown = ", ".join(str(i) for i in missing[:10]) + (" ..." if len(missing) > 10 else "")
        have = store.indices
        raise InputError(
            f"the offsets list frames that are not in the input: {shown} "
            f"(the input has {len(have)} frames, indices {have[0]}-{have[-1]})"
        )
    return [where[i] for i in offsets.indices]


def compute_offsets(store: FrameStore, opts: StitchOptions, ignore: np.ndarray | None = None,
                    progress: ProgressCallback = no_progress) -> Offsets:
    """Offsets from ``opts.offsets`` (JSON) or by aligning the store (stage ``align``)."""
    assert store.shape is not None
    h, w = store.shape
    _need_two(store)
    if opts.offsets is not None:
        off = Offsets.load(opts.offsets)
        off = off.with_rows(range(len(off)), frame_width=w, frame_height=h)
        positions(store, off)  # validate before any work
        if len(off) < 2:
            raise AlignmentError("the offsets file places only one frame; stitching needs 2")
        if off.has_transform and translation_only_features(opts):
            raise UsageError(f"the offsets scale or rotate frames, which "
                             f"{', '.join(translation_only_features(opts))} cannot handle")
        _check_overlap(off)
        return with_canvas_scale(off, opts)
    return with_canvas_scale(align_store(store, opts, ignore, progress).offsets, opts)


def _need_two(store: FrameStore) -> None:
    """Aligning and stitching need two frames; one frame is a job for ``convert``."""
    if len(store) < 2:
        raise AlignmentError(
            f"aligning needs at least 2 frames; the input has {len(store)} "
            "(use 'overmix convert' for a single frame)")


def with_canvas_scale(off: Offsets, opts: StitchOptions) -> Offsets:
    """``--canvas-scale`` overrides the canvas pitch (of the file or the automatic one)."""
    if opts.canvas_scale is None:
        return off
    return off.with_rows(range(len(off)), canvas_scale=float(opts.canvas_scale))


def align_store(store: FrameStore, opts: StitchOptions, ignore: np.ndarray | None = None,
                progress: ProgressCallback = no_progress, *,
                frame_masks: Callable[[int], np.ndarray | None] | None = None,
                ) -> AlignResult:
    """Align every frame of the store, following the background (stage ``align``): the
    offsets of the frames that could be placed (snapped), the per-frame masks of what does
    not follow the background (by store position) and the frames left out, with reasons
    (``opts.strict``: an :class:`AlignmentError` instead). ``frame_masks``: store position
    -> (h, w) bool ignore mask (True = leave out) or None."""
    _need_two(store)
    res = align_scene(store, motion=align_motion(opts), mask=ignore, border=opts.border,
                      indices=store.indices, progress=progress, strict=opts.strict,
                      frame_masks=frame_masks)
    return replace(res, offsets=snap_offsets(res.offsets))


#: An alignment whose every offset is this close to whole pixels is a whole-pixel pan.
INTEGER_PAN_TOL = 0.02

def snap_offsets(off: Offsets) -> Offsets:
    """Offsets rounded to a grid of 1 / :data:`OFFSET_SCALE` px (1e-6 px).

    The solved offsets can differ in their last bits between runs with other thread counts
    (BLAS, FFT or numba threading change the summation order); the canvas extent (floor/ceil
    of the offsets) and the coverage at frame edges must not. A position within 1e-6 px of a
    whole pixel becomes exactly that pixel; the change (≤ 5e-7 px) is far below the alignment
    error."""
    xy = np.asarray(off.xy, np.float64)
    if len(xy) >= 2 and np.all(np.abs(xy - np.round(xy)) <= INTEGER_PAN_TOL):
        # A pan by whole pixels (digital pans, crops, screenshots): the refinement lands
        # within ~1e-3 px of the integers, and rounding it makes the render an exact copy
        # and the canvas exactly the union (a sub-pixel pan has every offset this close to
        # an integer with probability (2 x tol)^(n-1), and then moves by at most tol).
        xy = np.round(xy)
    # integer / 1e6 is correctly rounded: whole pixels come out exact (3000000 / 1e6 = 3.0)
    xy = np.round(xy * OFFSET_SCALE) / OFFSET_SCALE
    xy += 0.0  # -0.0 -> 0.0 (identical JSON)
    changes: dict[str, object] = {"xy": xy}
    if off.has_transform:  # scale to 1e-9, angle to 1e-7 degrees (same reason)
        changes["scale"] = np.round(off.scales * 1e9) / 1e9
        changes["angle"] = np.round(off.angles * 1e7) / 1e7 + 0.0
    return off.with_rows(range(len(off)), **changes)


def _check_overlap(off: Offsets) -> None:
    """Every frame must overlap another one (else it is not part of one picture)."""
    xy = off.xy
    if len(xy) > 4000:  # pairwise test would be large; the canvas shows any island anyway
        return
    dx = np.abs(xy[:, None, 0] - xy[None, :, 0]) < off.frame_width
    dy = np.abs(xy[:, None, 1] - xy[None, :, 1]) < off.frame_height
    touch = dx & dy
    np.fill_diagonal(touch, False)
    alone = [off.indices[n] for n in np.nonzero(~touch.any(axis=1))[0]]
    if alone:
        shown = ", ".join(map(str, alone[:10])) + (" ..." if len(alone) > 10 else "")
        raise AlignmentError(f"the offsets place frames {shown} apart from every other frame "
                             "(they do not overlap)")


def separate_animation(store: FrameStore, offsets: Offsets, opts: StitchOptions,
                       progress: ProgressCallback = no_progress) -> Offsets:
    """``--animation``: give each frame an animation id (``offsets.anim``)."""
    if str(opts.animation) == "off":
        return offsets

    pos = positions(store, offsets)
    groups = None if opts.animation == "auto" else int(opts.animation)
    from overmix.registration.animation import separate  # lazy: scipy
    res = separate(lambda n: store.luma(pos[n]), offsets.xy, offsets.canvas,
                   max_groups=groups, progress=progress)
    extra = dict(offsets.extra)
    extra["animation"] = {"groups": int(res.groups), "threshold": float(res.threshold)}
    return Offsets(offsets.xy, offsets.indices, offsets.frame_width, offsets.frame_height,
                   list(res.ids), extra, confidence=offsets.confidence)


def realign_animation(store: FrameStore, offsets: Offsets, opts: StitchOptions,
                      ignore: np.ndarray | None = None,
                      progress: ProgressCallback = no_progress) -> Offsets:
    """Align again with the animated parts masked out (they pull offsets towards the
    character's motion); the animation ids are kept. For offsets aligned on the store."""
    pos = positions(store, offsets)
    if pos != list(range(len(store))):  # rows must be the store's frames, in order
        return offsets
    from overmix.registration.cels import animated_frame_masks  # lazy: scipy
    _, masks = animated_frame_masks(lambda n: store.luma(pos[n]), offsets.xy, offsets.anim,
                                    offsets.canvas, progress=progress)
    new = snap_offsets(align(store, motion=align_motion(opts), mask=ignore, border=opts.border,
                             frame_masks=masks, indices=store.indices, progress=progress))
    if list(new.indices) != list(offsets.indices):  # a frame fell out: keep the first result
        return offsets
    extra = {**new.extra, "animation": offsets.extra.get("animation")}
    return Offsets(new.xy, new.indices, new.frame_width, new.frame_height, list(offsets.anim),
                   extra, confidence=new.confidence)


def estimate_lighting(store: FrameStore, offsets: Offsets, opts: StitchOptions,
                      ignore: np.ndarray | None = None,
                      progress: ProgressCallback = no_progress,
                      masks: SceneMasks | None = None, workers: int | None = None,
                      plane: Callable[[int], np.ndarray | None] | None = None,
                      ) -> tuple[np.ndarray | None, dict[str, object] | None]:
    """``--lighting``: per-frame ``(a, b)`` with frame Y' = a · scene Y' + b, or None (no
    compensation), and the summary entry (None with ``off``).

    ``masks``: the alignment's scene masks (indexed by store position); what they ignore in
    a frame (overlays, moving foreground, bars) stays out of that frame's cells.

    ``auto`` compensates only when some frame's lighting departs from the scene's beyond the
    estimate's own uncertainty (:meth:`~overmix.render.lighting.LightingFit.changed`); else
    the render is exactly the ``off`` render. ``auto`` decides on the fit's first stage (a
    quarter of the cells, ``fit_lighting(decide=True)``): the decision rests on half an 8-bit
    level of change, far above that stage's error, and only a scene found changed goes on
    to all cells. Gains carried by ``--offsets`` are used as given (``auto``/``on``).

    ``workers``: threads reading the frames (default: the cores; the values are the same
    for any number). ``plane``: row -> bool (h, w) or None, a second plane's pixels
    (:mod:`overmix.render.layers`), left out of that row's cells too."""
    if opts.lighting == "off":
        return None, None
    if offsets.gains is not None:
        gains = np.asarray(offsets.gains, np.float64)
        return gains, _lighting_summary(gains, True, "offsets file")
    if offsets.has_transform:
        # the cell grid of the fit follows translations only
        if opts.lighting == "on":
            raise UnsupportedError("--lighting on: frames with zoom or rotation are not "
                                   "supported yet (use --lighting off or --motion xy)")
        return None, {"compensated": False, "source": "not estimated (zoom/rotation)"}
    pos = positions(store, offsets)
    frame_masks = None
    if masks is not None and (masks.fraction() > 0 or masks.bars is not None):
        frame_masks = lambda n: masks.ignore(pos[n])  # noqa: E731 (row -> store position)
    if plane is not None:
        scene = frame_masks

        def frame_masks(n: int) -> np.ndarray | None:
            return union(None if scene is None else scene(n), plane(n))

    # auto (the default: most scenes are steady) decides on the fit's first stage, a quarter
    # of the cells, and fits them all only for a scene found changed
    lumas, codes = _luma_codes(store, pos)
    found = fit_lighting(lumas, offsets.xy, offsets.canvas,
                         mask=ignore, frame_masks=frame_masks, border=opts.border,
                         progress=progress, workers=workers or decode_workers(),
                         decide=opts.lighting == "auto", codes=codes)
    on = opts.lighting == "on" or found.changed()
    info = _lighting_summary(found.gains, on, "estimated")
    info["largest_change"] = float(found.change.max(initial=0.0))
    info["change_stderr"] = float(found.change_se.max(initial=0.0))
    if found.static_bins:
        info["screen_fixed_cells"] = found.static_bins
    if frame_masks is not None:
        info["scene_masks"] = True  # the alignment's overlay/foreground masks were left out
    return (found.gains if on else None), info


def _luma_codes(store: FrameStore, pos: list[int]
                ) -> tuple[Callable[[int], np.ndarray], tuple[float, float] | None]:
    """What the lighting fit reads of offsets row n: the luma plane's codes and their affine
    map to Y' (Y'CbCr and gray frames: no float copy of every frame), else the working luma
    (R'G'B' frames: Y' is a sum over three planes)."""
    coef, off = store.luma_coefficients()
    if len(coef) == 1:
        return (lambda n: store.codes(pos[n], 0)), (float(coef[0]), float(off))
    return (lambda n: store.luma(pos[n])), None


def _lighting_summary(gains: np.ndarray, compensated: bool, source: str) -> dict[str, object]:
    """The ``lighting`` entry of the stitch summary."""
    g = np.asarray(gains, np.float64).reshape(-1, 2)
    return {"compensated": bool(compensated), "source": source,
            "gain_range": [float(g[:, 0].min()), float(g[:, 0].max())],
            "offset_range": [float(g[:, 1].min()), float(g[:, 1].max())]}


def render_canvas(store: FrameStore, offsets: Offsets, opts: StitchOptions,
                  ignore: np.ndarray | None = None, gains: np.ndarray | None = None,
                  progress: ProgressCallback = no_progress,
                  weights: np.ndarray | None = None,
                  frame_weights: FrameWeights | None = None) -> list[RenderResult]:
    """Render one canvas per animation frame (stage ``render``), all on the same canvas.
    ``weights`` (h, w, frame coordinates, 0..1) multiply every frame's validity (``--logo``);
    ``frame_weights`` (``position -> (h, w) or None``) are per-frame masks (clean still)."""
    pos = positions(store, offsets)
    valid = None if ignore is None else (~ignore).astype(np.float32)
    if weights is not None:
        valid = weights.astype(np.float32) if valid is None else valid * weights
    ids = sorted(set(offsets.anim))
    out = []
    for a in ids:
        rows = [n for n, g in enumerate(offsets.anim) if g == a]
        if len(ids) == 1:
            sub, sub_pos, sub_gains = offsets, pos, gains
        else:
            # the shared canvas: keep all frames' extent by rendering on the full offsets'
            # canvas (frames of other animation frames are left out of the stack)
            sub = offsets.with_rows(rows, anim=[])
            sub_pos = [pos[n] for n in rows]
            sub_gains = None if gains is None else gains[rows]
        res = render(store, sub, positions=sub_pos, method=opts.render, kernel=opts.kernel,
                     border=opts.border, mask=valid, gains=sub_gains,
                     full_chroma=opts.chroma == "full", tile_budget=int(opts.tile_budget * MB),
                     canvas=offsets.canvas, frame_weights=frame_weights, progress=progress)
        out.append(res)
    return out


@dataclass
class OverlayInfo:
    """``--logo`` / ``--extract-overlay``: the static overlay found in the frames.

    ``mask`` (h, w) bool, True = overlay (frame coordinates); ``color`` per plane (working
    units, native plane sizes) and ``alpha`` (h, w) float32, or None when not estimated;
    ``redrawn``: the mask was redrawn at full resolution with the overlay's rim
    (:mod:`overmix.render.static_overlay`), not given or found against a background.
    """
    mask: np.ndarray
    color: list[np.ndarray] | None = None
    alpha: np.ndarray | None = None
    redrawn: bool = False


def logo_mask(store: FrameStore, opts: StitchOptions) -> np.ndarray | None:
    """``--logo FILE.png``: the given overlay mask (white = overlay), else None."""
    if opts.logo in ("auto", "off"):
        return None
    assert store.shape is not None
    return load_mask(opts.logo, store.shape)


def find_overlay(store: FrameStore, offsets: Offsets, opts: StitchOptions,
                 given: np.ndarray | None,
                 progress: ProgressCallback = no_progress) -> OverlayInfo | None:
    """Detect (``--logo auto``, or for ``--extract-overlay``) or take the given overlay mask,
    then estimate its colour and alpha (stage ``overlay``); None when there is none."""
    if opts.logo == "off" and not opts.extract_overlay:
        return None

    from overmix.restore.overlay_detect import detect_static, static_mask  # lazy
    from overmix.restore.overlay_estimate import estimate_overlay  # lazy
    pos = positions(store, offsets)
    mask = given
    if mask is None:
        score = detect_static(lambda n: store.luma(pos[n]), offsets.xy, offsets.canvas,
                              progress=progress)
        mask = static_mask(score)
    if not mask.any():
        return OverlayInfo(mask)
    color, alpha = estimate_overlay(lambda n: store.planes(pos[n]), offsets.xy, offsets.canvas,
                                    mask, progress=progress)
    return OverlayInfo(mask, color, alpha)


def merge_animation(store: FrameStore, offsets: Offsets, opts: StitchOptions,
                    renders: list[RenderResult], ignore: np.ndarray | None = None,
                    gains: np.ndarray | None = None, weights: np.ndarray | None = None,
                    progress: ProgressCallback = no_progress) -> list[RenderResult]:
    """Several animation frames: what every frame agrees on comes from the render of all the
    frames (less noise), the animated parts from each animation frame's own render, and its
    uncovered parts from the others (Overmix's AnimRender, catalogue §6.10)."""
    if len(renders) < 2 or opts.render == "difference":
        return renders


    from overmix.registration.cels import merge_planes  # lazy: scipy
    together = offsets.with_rows(range(len(offsets)), anim=[])
    shared = render_canvas(store, together, opts, ignore, gains, progress, weights=weights)[0]
    out = []
    for r in renders:
        planes, cov = merge_planes(r.planes, r.coverage, shared.planes, shared.coverage)
        stats = {**r.stats, "holes": int((cov <= 0).sum())}
        out.append(replace(r, planes=tuple(planes), coverage=cov, stats=stats))
    return out


def union(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    """Union of two optional bool masks."""
    if a is None:
        return b
    return a if b is None else (a | b)

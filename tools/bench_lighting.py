"""Benchmark (issue #19): lighting compensation against an exact truth, through ``stitch``.

Pans (:mod:`tests.render.lit_pan`): soft drawn line art at fractional steps, per-frame grain,
lighting applied to the R'G'B' exactly as the model (a 20 % fade to black across the pan,
flicker -3/-4/+4/+5 % on four frames, one frame mixed 3 % with white), and the same frames
without lighting; H.264 10-bit crf 16 and 8-bit crf 20, BT.709 tagged, one thread and
mbtree off so that every run encodes the same bits (``--x264-defaults``: stock x264).

Figures, every stitch through :func:`overmix.commands.stitch.stitch` (what ``overmix stitch``
runs):

1. **Quality** (40 frames, 480x270, moving (200, 30) px): BT.709 luma PSNR of the canvas
   against the un-lit scene after one global least-squares gain/offset (the reference
   lighting is a free choice), for ``--lighting off|on|auto`` with the true offsets and with
   the tool's own alignment (``--motion xy``: lighting compensation is translation-only);
   the steady pan's ``off`` is the reference, and its ``auto`` must
   give the same canvas.
2. **Gain error** per frame (after the free choice of brightness) on 40- and 160-frame pans
   (the same step, so 4x the length), and on a 40-frame pan with a hardsub and a character
   walking against the pan (no mask given: with the true offsets the fit finds and leaves out
   screen-fixed content itself; with the tool's own alignment the alignment's scene masks
   are left out too), each against the nominal gains and against the gains the decoded
   frames show against the grain-free scene (:func:`decoded_gains`; each frame's grain is in
   it, as in any per-frame estimate); for the hardsub pan also the decoded *background's*
   gains (hardsub and character left out by their true masks, :func:`character_masks`:
   what a fit that must leave the character out can see) and the fit against them; then
   what the codec did to the gains (decoded frames against the frames as encoded, grain
   included), and the fit on the un-encoded frames (no
   codec: accuracy against the grain floor, and drift along the pan). **The floor**
   (:func:`codec_floor`): each decoded frame's gain against the very frame handed to the
   encoder, by six estimators that weigh its content differently (block means, their Cauchy
   M-estimate, flat blocks only, mid levels only, local contrast, a detail band), the best of
   them chosen after the fact frame by frame, and the block means with a temporal prior:
   what no estimator working from the decoded frames can beat.
3. **Cost**: a 60-frame 1280x720 pan, ``stitch`` with ``--lighting off`` and ``on`` (own
   alignment, whole pipeline), alternated ``--repeat`` times in one run, medians; the ratios
   are what counts (absolute times on a shared machine are noise): ``on / off`` and
   ``(off + lighting stage) / off`` (the stage's own wall time from the summary's timings,
   less noisy), with the latter per pair.
4. **What x264 does to the lighting** (8-bit, 40 frames, plain and with the hardsub and
   character): one x264 setting changed at a time from stock (one thread), and the settings
   an anime encode would use; per setting the file size, how far the decoded frames
   themselves are from the nominal gains (the floor's block means against the frame as
   encoded), the fit's error against the nominal gains (true offsets) and against those
   decoded gains, each with the worst frame and its picture type (I/P/B).

Usage: ``python tools/bench_lighting.py [--quick] [--repeat 5] [--skip 1,2,4]
[--overlays-only]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from overmix.commands.align import align_input  # noqa: E402
from overmix.commands.options import StitchOptions  # noqa: E402
from overmix.commands.stitch import stitch  # noqa: E402
from overmix.geometry import Offsets  # noqa: E402
from overmix.render.lighting import fit_lighting  # noqa: E402
from tests.render.lit_pan import gain_errors, hardsub_mask, lit_pan, luma709  # noqa: E402
from tests.videogen import color_tags, encode_video, rgb_to_yuv_codes  # noqa: E402

XY = StitchOptions(motion="xy")  # own alignment: the pan model (lighting is translation-only)
ENCODINGS = {"10-bit crf 16": ("yuv420p10le", 10, 16), "8-bit crf 20": ("yuv420p", 8, 20)}
# Reproducible encodes: x264 here gives different output from run to run (up to 23 codes a
# pixel) with its macroblock tree on, even on one thread (and with zeroed frame padding);
# one thread and mbtree=0 give bit-identical files. --x264-defaults: the stock settings.
DETERMINISTIC = {"threads": "1", "x264-params": "mbtree=0"}
X264: dict[str, str] = dict(DETERMINISTIC)


def encode(path: Path, codes: list, pix_fmt: str, crf: int) -> Path:
    return encode_video(path, codes, codec="libx264", pix_fmt=pix_fmt,
                        options={"crf": str(crf), **X264}, tags=color_tags("709"))


def to_codes(depth: int):
    return lambda rgb: rgb_to_yuv_codes(np.clip(rgb, 0, 1), "709", False, depth, (2, 2))


def score(res, scene) -> float:
    """Luma PSNR (dB) of a stitch against the un-lit scene after one global LS gain/offset."""
    cv = res.canvas
    y = res.planes[0].astype(np.float64)
    truth = scene.truth_luma(cv.x, cv.y, cv.height, cv.width).astype(np.float64)
    ok = ndimage.binary_erosion(res.renders[0].coverage > 0, iterations=4)
    a = np.stack([y[ok], np.ones(int(ok.sum()))], axis=1)
    coef, *_ = np.linalg.lstsq(a, truth[ok], rcond=None)
    err = a @ coef - truth[ok]
    return float(10 * np.log10(1.0 / np.mean(err * err)))


def save_offsets(path: Path, xy: np.ndarray, w: int, h: int) -> Path:
    Offsets(xy, list(range(len(xy))), w, h).save(path)
    return path


def run(video: Path, offsets: Path, mode: str):
    return stitch(str(video), StitchOptions(offsets=str(offsets), lighting=mode))


def quality(tmp: Path, n: int) -> None:
    print(f"\n[1] quality: {n} frames 480x270, (200, 30) px pan; luma PSNR (dB) vs the un-lit "
          "scene after one global gain/offset")
    lit_sc = lit_pan(n=n)
    steady_sc = lit_pan(n=n, lit=False)
    true = save_offsets(tmp / "true.json", lit_sc.xy, 480, 270)
    print(f"{'stitch':44s} " + " ".join(f"{e:>22s}" for e in ENCODINGS))
    rows: dict[str, list[str]] = {}
    for pix_fmt, depth, crf in ENCODINGS.values():
        conv = to_codes(depth)
        lit_v = encode(tmp / f"lit{depth}.mkv", [conv(f) for f in lit_sc.rgb], pix_fmt, crf)
        steady_v = encode(tmp / f"steady{depth}.mkv", [conv(f) for f in steady_sc.rgb],
                          pix_fmt, crf)
        for name, video in (("lit", lit_v), ("steady", steady_v)):
            own_off, _ = align_input(str(video), XY)
            own = tmp / f"own-{name}{depth}.json"
            own_off.save(own)
            for src, offs in (("true offsets", true), ("own alignment", own)):
                ref = None
                for mode in ("off", "on", "auto"):
                    res = run(video, offs, mode)
                    p = score(res, lit_sc)
                    if name == "steady" and mode == "off":
                        ref = (p, res.planes)
                        rows.setdefault("__ref" + src, []).append(f"{p:.2f}")
                    key = f"{name} pan, {mode}, {src}"
                    info = res.summary.get("lighting") or {}
                    txt = f"{p:.2f}"
                    if info:
                        g0, g1 = info["gain_range"]
                        txt += f" {'C' if info['compensated'] else '-'} {g0:.3f}-{g1:.3f}"
                    if name == "steady" and mode == "auto" and ref is not None:
                        same = all(np.array_equal(a, b) for a, b in zip(res.planes, ref[1],
                                                                         strict=True))
                        txt += " =off" if same else f" {p - ref[0]:+.3f}"
                    rows.setdefault(key, []).append(txt)
    order = [k for k in rows if not k.startswith("__ref")]
    order.sort(key=lambda k: (not k.startswith("steady"), k.split(", ")[2], k))
    for k in order:
        print(f"{k:44s} " + " ".join(f"{v:>22s}" for v in rows[k]))
    for src in ("true offsets", "own alignment"):
        ref = [float(v) for v in rows["__ref" + src]]
        for mode in ("on", "auto"):
            lit = [float(v.split()[0]) for v in rows[f"lit pan, {mode}, {src}"]]
            off = [float(v.split()[0]) for v in rows[f"lit pan, off, {src}"]]
            print(f"  lit {mode:4s} ({src}): vs steady off " + ", ".join(
                f"{a - r:+.2f}" for a, r in zip(lit, ref, strict=True)) + " dB; vs lit off "
                + ", ".join(f"{a - o:+.2f}" for a, o in zip(lit, off, strict=True)) + " dB")
    print("  (C = compensated, - = not; =off: canvas identical to the off stitch)")


def _blocks(a: np.ndarray, b: int) -> np.ndarray:
    """Means of b x b blocks (4 px frame edge left out), flattened."""
    h, w = (a.shape[0] - 8) // b * b, (a.shape[1] - 8) // b * b
    a = a[4:4 + h, 4:4 + w].astype(np.float64)
    return a.reshape(h // b, b, w // b, b).mean(axis=(1, 3)).ravel()


def _ls(y: np.ndarray, s: np.ndarray) -> np.ndarray:
    return np.linalg.lstsq(np.stack([s, np.ones(s.size)], 1), y, rcond=None)[0]


def decoded_gains(lumas, sc, base, overlays: bool, block: int = 16,
                  exclude=None) -> dict[str, np.ndarray]:
    """What the frames ``lumas(k)`` (working Y') show, measured against what the encoder was
    given (no estimator code).

    ``base(k)``: frame k's un-lit Y' (h, w), either the grain-free scene (the gains the frame
    shows against the scene: each frame's own grain projects on its gain, 0.07-0.11 % here,
    which no per-frame estimate can tell from lighting) or the frame as handed to the encoder,
    grain included (:func:`_unlit`: the gains the codec left, free of the grain).
    ``gains`` (n, 2): each frame's Y' fitted (least squares over means of ``block``-px
    blocks, so the codec's blur does not dilute the slope) against ``base`` *plus the codec's
    scene-fixed deviation*: motion-compensated prediction carries a codec error along with
    the content, so it is part of the scene as every frame decodes it, not of any frame's
    lighting; it is the mean over frames of ``(Y'_k - b_k) / a_k - base_k`` at each scene
    pixel (whole-pixel offsets; two rounds, the second with the first round's gains).
    ``left``/``right``: the same fit over each half of the frame (is there one gain per
    frame?). Hardsub pixels (grown 3 px) are left out when ``overlays``, and the pixels of
    ``exclude(k)`` ((h, w) bool, frame k's coordinates) when given: the *background's* gains
    (what a fit that must leave a moving character out can see)."""
    h, w = base(0).shape
    sub0 = hardsub_mask(h, w)["all"]
    sub0 = ndimage.binary_dilation(sub0, iterations=3) if overlays else np.zeros_like(sub0)
    masks = [sub0 if exclude is None else sub0 | exclude(k) for k in range(len(sc.xy))]
    ix = np.rint(sc.xy - sc.xy.min(axis=0)).astype(int)
    world = np.zeros((h + ix[:, 1].max(), w + ix[:, 0].max()))
    count = np.zeros_like(world)
    gains = np.asarray(sc.gains, np.float64).copy()
    n = len(sc.xy)
    parts = {"gains": np.s_[:, :], "left": np.s_[:, :w // 2], "right": np.s_[:, w // 2:]}
    out: dict[str, list] = {}
    for final in (False, True):
        world[:] = 0
        count[:] = 0
        for k in range(n):
            r = (lumas(k) - gains[k, 1]) / gains[k, 0] - base(k)
            win = (slice(ix[k, 1], ix[k, 1] + h), slice(ix[k, 0], ix[k, 0] + w))
            world[win] += np.where(masks[k], 0.0, r)
            count[win] += ~masks[k]
        dev = world / np.maximum(count, 1)
        out = {name: [] for name in (parts if final else ["gains"])}
        for k in range(n):
            win = (slice(ix[k, 1], ix[k, 1] + h), slice(ix[k, 0], ix[k, 0] + w))
            s, y = base(k) + dev[win], lumas(k)
            for name in out:
                sl = parts[name]
                keep = _blocks(masks[k][sl].astype(np.float64), block) == 0
                out[name].append(_ls(_blocks(y[sl], block)[keep], _blocks(s[sl], block)[keep]))
        gains = np.array(out["gains"])
    return {name: np.array(v) for name, v in out.items()}


def character_masks(kw: dict) -> list[np.ndarray]:
    """Per frame (h, w) bool: where the walking character is (grown 3 px), from the ground
    truth: the grain-free, un-lit frames drawn with and without it."""
    with_c = lit_pan(grain=0.0, lit=False, **kw)
    without = lit_pan(grain=0.0, lit=False, character=False, **kw)
    return [ndimage.binary_dilation(np.abs(a - b).max(axis=-1) > 1e-3, iterations=3)
            for a, b in zip(with_c.rgb, without.rgb, strict=True)]


def _rel_gain_errors(est: np.ndarray, true: np.ndarray) -> np.ndarray:
    """(n,) signed relative error (%) of gains ``est`` against ``true`` after the one free
    scale (as :func:`gain_errors`; an offset does not change the gain error)."""
    al = float(np.dot(true, est) / np.dot(est, est))
    return 100 * (al * est / true - 1)


def _irls(y: np.ndarray, x: np.ndarray) -> float:
    """Slope of ``y = a x + b`` by Cauchy IRLS (scale from the MAD)."""
    wt = np.ones_like(x)
    for _ in range(10):
        a = np.stack([x, np.ones_like(x)], 1) * np.sqrt(wt)[:, None]
        c = np.linalg.lstsq(a, y * np.sqrt(wt), rcond=None)[0]
        r = y - c[0] * x - c[1]
        wt = 1 / (1 + (r / (2.385 * 1.4826 * np.median(np.abs(r)) + 1e-12)) ** 2)
    return float(c[0])


def _temporal_prior(a: np.ndarray, window: int = 4, tau: float = 0.01) -> np.ndarray:
    """Gains with a prior that lighting is smooth in time or jumps: a frame within ``tau``
    (relative) of the robust line through its +-``window`` neighbours takes the line's
    value; larger departures (flicker, flashes) are kept."""
    t = np.arange(len(a))
    out = a.copy()
    for k in range(len(a)):
        sl = slice(max(0, k - window), k + window + 1)
        tt, yy = t[sl] - k, np.log(a[sl])
        wt = np.ones(len(tt))
        for _ in range(10):
            x = np.stack([np.ones(len(tt)), tt], 1) * np.sqrt(wt)[:, None]
            c = np.linalg.lstsq(x, yy * np.sqrt(wt), rcond=None)[0]
            wt = 1 / (1 + ((yy - c[0] - c[1] * tt) / (0.3 * tau)) ** 2)
        if abs(np.log(a[k]) - c[0]) < tau:
            out[k] = np.exp(c[0])
    return out


def codec_floor(lumas, sc, depth: int, overlays: bool) -> dict[str, np.ndarray]:
    """Per-frame gain (n,) of each decoded frame against the very frame handed to the encoder
    (un-lit by its nominal gain, grain included, same pixel grid: no scene, alignment or
    estimator code involved), by estimators that weigh the frame's content differently:
    least squares over 8-px block means; their Cauchy M-estimate; only the flatter half of
    the blocks; only mid levels (Y' 0.3-0.7, nothing crushed or near white); local contrast
    (each 64-px block's own mean removed, Gaussian sigma 2 px); a detail band (DoG 1-4 px).
    Hardsub pixels (grown 6 px) are left out when ``overlays``."""
    unlit = _unlit(sc, depth)
    h, w = unlit(0).shape
    sub = hardsub_mask(h, w)["all"]
    sub = ndimage.binary_dilation(sub, iterations=6) if overlays else np.zeros_like(sub)
    out: dict[str, list[float]] = {}

    def tiles(a: np.ndarray, b: int) -> np.ndarray:  # (blocks, b * b), 8-px frame edge out
        hh, ww = (h - 16) // b * b, (w - 16) // b * b
        return (a[8:8 + hh, 8:8 + ww].reshape(hh // b, b, ww // b, b).transpose(0, 2, 1, 3)
                .reshape(-1, b * b))

    keep8 = ~tiles(sub, 8).any(1)
    keep64 = ~tiles(sub, 64).any(1)
    inner = np.zeros((h, w), bool)
    inner[8:-8, 8:-8] = True
    inner &= ~sub
    for k in range(len(sc.xy)):
        dec, u = lumas(k).astype(np.float64), unlit(k)
        y8, x8 = tiles(dec, 8)[keep8], tiles(u, 8)[keep8]
        ym, xm, xs = y8.mean(1), x8.mean(1), x8.std(1)
        flat = xs <= np.median(xs)
        mid = (xm > 0.3) & (xm < 0.7)
        for name, m in (("block means", slice(None)), ("flatter half", flat),
                        ("mid levels", mid)):
            out.setdefault(name, []).append(_ls(ym[m], xm[m])[0])
        out.setdefault("Cauchy M-estimate", []).append(_irls(ym, xm))
        g = ndimage.gaussian_filter
        yb, xb = tiles(g(dec, 2.0), 64)[keep64], tiles(g(u, 2.0), 64)[keep64]
        yb = yb - yb.mean(1, keepdims=True)
        xb = xb - xb.mean(1, keepdims=True)
        out.setdefault("local contrast", []).append(float((yb * xb).sum() / (xb * xb).sum()))
        yd, xd = (g(dec, 1.0) - g(dec, 4.0))[inner], (g(u, 1.0) - g(u, 4.0))[inner]
        out.setdefault("detail band", []).append(float(np.dot(yd, xd) / np.dot(xd, xd)))
    return {name: np.array(v) for name, v in out.items()}


def _grain_gains(sc, clean, depth: int, block: int = 16) -> np.ndarray:
    """(n, 2): the gains the un-encoded frames show against the grain-free scene
    (block least squares as in :func:`decoded_gains`): the per-frame error that the grain
    alone forces on any per-frame fit (the floor of the codec-free figure)."""
    unenc = _unencoded(sc, depth)
    return np.array([_ls(_blocks(unenc(k), block), _blocks(luma709(clean.rgb[k]), block))
                     for k in range(len(sc.xy))])


def _store(video: Path):
    from overmix.io.sources import open_source
    from overmix.io.store import FrameStore

    src = open_source(str(video))
    try:
        return FrameStore.from_source(src)
    finally:
        src.close()


def _unencoded(sc, depth: int):
    """Working Y' of the frames as handed to the encoder (limited-range codes)."""
    return lambda k: (sc.rgb[k][0].astype(np.float64) / (1 << (depth - 8)) - 16) / 219


def _unlit(sc, depth: int):
    """Un-lit working Y' of the frames as handed to the encoder (grain included):
    ``(Y'_k - b_k) / a_k`` with the nominal gains."""
    unenc = _unencoded(sc, depth)
    return lambda k: (unenc(k) - sc.gains[k, 1]) / sc.gains[k, 0]


def gain_accuracy(tmp: Path, lengths: tuple[int, ...]) -> None:
    print("\n[2] gain error per frame (after the one free choice of brightness), --lighting on")
    print("  cell: max gain error % vs the nominal gains [rms] | vs the gains the decoded "
          "frames show [rms] | max offset error (8-bit levels); bound 0.3 %; own alignment: "
          "over the frames the aligner kept")
    print(f"{'pan':44s} " + " ".join(f"{e:>38s}" for e in ENCODINGS))
    cases = [(f"{n} frames", dict(n=n)) for n in lengths]
    cases.append(("40 frames + hardsub + walking character", dict(n=40, overlays=True)))
    rms = lambda e: 100 * float(np.sqrt(np.mean(e * e)))  # noqa: E731
    codec: dict[str, list[str]] = {}
    floors: dict[str, dict[str, list[str]]] = {}
    background: list[str] = []  # the overlay case's decoded background vs nominal
    fit_bg: dict[str, list[str]] = {}  # and the fit against it
    for label, kw in cases:
        clean = lit_pan(grain=0.0, lit=False, **kw)
        scene = lambda k, clean=clean: luma709(clean.rgb[k])  # noqa: E731 (grain-free)
        overlays = bool(kw.get("overlays", False))
        rows: dict[str, list[str]] = {"true offsets": [], "own alignment": []}
        for pix_fmt, depth, crf in ENCODINGS.values():
            sc = lit_pan(convert=to_codes(depth), **kw)
            tag = f"{kw['n']}-{depth}-{int(overlays)}"
            video = encode(tmp / f"g{tag}.mkv", sc.rgb, pix_fmt, crf)  # one encode, both rows
            with _store(video) as store:
                dec = decoded_gains(store.luma, sc, scene, overlays)
                if overlays:  # the background alone: what a fit can see of these frames
                    chars = character_masks(kw)
                    dec_bg = decoded_gains(store.luma, sc, scene, overlays,
                                           exclude=chars.__getitem__)["gains"]
                applied = decoded_gains(store.luma, sc, _unlit(sc, depth), overlays)
                shift = max(abs(float((store.luma(k) - _unencoded(sc, depth)(k)).mean()))
                            for k in range(len(store)))
                floor = codec_floor(store.luma, sc, depth, overlays)
            dn, _ = gain_errors(applied["gains"], sc.gains)
            halves, _ = gain_errors(applied["left"], applied["right"])
            codec.setdefault(label, []).append(
                f"{100 * dn.max():.3f} [{rms(dn):.3f}] / {255 * shift:.2f} / "
                f"{100 * halves.max():.3f}")
            if overlays:
                bn, _ = gain_errors(dec_bg, sc.gains)
                background.append(f"{100 * bn.max():.3f}@{int(np.argmax(bn))} "
                                  f"[{rms(bn):.3f}]")
            errs = {name: _rel_gain_errors(v, sc.gains[:, 0]) for name, v in floor.items()}
            for name, e in errs.items():
                floors.setdefault(name, {}).setdefault(label, []).append(
                    f"{np.abs(e).max():.3f}@{int(np.argmax(np.abs(e)))}")
            best = np.min(np.abs(np.stack(list(errs.values()))), axis=0)
            floors.setdefault("best of these, frame by frame", {}).setdefault(label, []).append(
                f"{best.max():.3f}@{int(np.argmax(best))}")
            prior = _rel_gain_errors(_temporal_prior(floor["block means"]), sc.gains[:, 0])
            floors.setdefault("block means + temporal prior", {}).setdefault(label, []).append(
                f"{np.abs(prior).max():.3f}@{int(np.argmax(np.abs(prior)))}")
            true = save_offsets(tmp / f"g{tag}.json", sc.xy, 480, 270)
            for src in rows:
                offs, idx, note = true, list(range(len(sc.xy))), ""
                if src == "own alignment":
                    off, _ = align_input(str(video), XY)
                    idx = [int(i) for i in off.indices]  # frames the aligner kept
                    miss = float(np.abs(off.xy - off.xy[0] - sc.xy[idx] + sc.xy[idx[0]]).max())
                    if miss > 1.0:
                        rows[src].append(f"alignment off by {miss:.0f} px")
                        continue
                    if len(idx) < len(sc.xy):
                        note = f" ({len(sc.xy) - len(idx)} left out)"
                    offs = tmp / f"own{tag}.json"
                    off.save(offs)
                res = run(video, offs, "on")
                ga, ob = gain_errors(res.offsets.gains, sc.gains[idx])
                ge, _ = gain_errors(res.offsets.gains, dec["gains"][idx])
                rows[src].append(f"{100 * ga.max():.3f} [{rms(ga):.3f}] | {100 * ge.max():.3f} "
                                 f"[{rms(ge):.3f}] | {255 * ob.max():.2f}{note}")
                if overlays:
                    gb, _ = gain_errors(res.offsets.gains, dec_bg[idx])
                    fit_bg.setdefault(src, []).append(
                        f"{100 * ga.max():.3f}@{int(np.argmax(ga))} | "
                        f"{100 * gb.max():.3f} [{rms(gb):.3f}]")
        for src, cells in rows.items():
            print(f"{label + ', ' + src:44s} " + " ".join(f"{c:>38s}" for c in cells))
    print("  the decoded frames themselves: max gain % vs nominal [rms] / max frame-mean shift "
          "(decoded minus un-encoded, 8-bit levels) / max gain % between the left and right "
          "half of a frame")
    for label, cells in codec.items():
        print(f"{label:44s} " + " ".join(f"{c:>38s}" for c in cells))
    if background:
        print("  the hardsub + character pan's decoded *background* (hardsub and character "
              "left out by their true masks: what a fit can see), max gain % vs nominal "
              "(@ frame) [rms]: " + "; ".join(f"{e}: {c}" for e, c in
                                              zip(ENCODINGS, background, strict=True)))
        for src, cells in fit_bg.items():
            print(f"    fit ({src}): max vs nominal @ frame | vs that background [rms]: "
                  + "; ".join(f"{e}: {c}" for e, c in zip(ENCODINGS, cells, strict=True)))
    print("  the floor: max gain error % (@ frame) vs nominal of each decoded frame against the "
          "frame as handed to the encoder, by estimator (see codec_floor); cases: "
          + " | ".join(codec))
    for name, by_case in floors.items():
        print(f"  {name:38s} " + " | ".join("  ".join(f"{c:>10s}" for c in cells)
                                              for cells in by_case.values()))
    print("  codec-free (the un-encoded frames, fit_lighting with true offsets): max [rms] vs "
          "nominal; grain floor: what each frame's grain alone makes it show against the "
          "grain-free scene, max [rms], and the fit's error vs that; mean error over each "
          "eighth of the pan (drift)")
    for n in lengths:
        sc = lit_pan(n=n, convert=to_codes(10))
        fit = fit_lighting(lambda k, sc=sc: _unencoded(sc, 10)(k).astype(np.float32), sc.xy)
        ga, _ = gain_errors(fit.gains, sc.gains)
        floor = _grain_gains(sc, lit_pan(n=n, grain=0.0, lit=False), 10)
        gf, _ = gain_errors(floor, sc.gains)
        gx, _ = gain_errors(fit.gains, floor)
        al = float(np.dot(sc.gains[:, 0], fit.gains[:, 0]) / np.dot(fit.gains[:, 0],
                                                                     fit.gains[:, 0]))
        signed = 100 * (al * fit.gains[:, 0] / sc.gains[:, 0] - 1)
        m = n // 8
        drift = " ".join(f"{signed[i * m:(i + 1) * m].mean():+.3f}" for i in range(8))
        print(f"  {n} frames 10-bit codes: {100 * ga.max():.3f} % [{rms(ga):.3f}]; grain floor "
              f"{100 * gf.max():.3f} [{rms(gf):.3f}], fit vs floor {100 * gx.max():.3f} "
              f"[{rms(gx):.3f}]; eighths {drift}")


def cost(tmp: Path, repeat: int, n: int = 60, video: Path | None = None) -> None:
    """Part 3 (``video``: an encode of that pan made before, else made here)."""
    print(f"\n[3] cost: {n} frames 1280x720 (8-bit crf 20), whole stitch with own alignment "
          f"(--motion xy), off and on alternated {repeat} times; medians")
    if video is None:
        sc = lit_pan(n=n, h=720, w=1280, step=(8.0, 2.0), convert=to_codes(8))
        video = encode(tmp / "hd.mkv", sc.rgb, "yuv420p", 20)
        del sc
    walls: dict[str, list[float]] = {"off": [], "on": []}
    stage: list[float] = []
    for i in range(repeat):
        # alternate which goes first, so that a trend in the load hits both alike
        for mode in (("off", "on") if i % 2 == 0 else ("on", "off")):
            t = time.perf_counter()
            res = stitch(str(video), StitchOptions(lighting=mode, motion="xy"))
            walls[mode].append(time.perf_counter() - t)
            if mode == "on":
                tm = res.summary["timings"]
                stage.append(float(tm.get("lighting", 0.0)))  # type: ignore[union-attr]
    off, on, st = (float(np.median(v)) for v in (walls["off"], walls["on"], stage))
    print(f"  off {off:.2f} s, on {on:.2f} s, lighting stage {st:.3f} s wall (median of "
          f"{repeat}; per run: " + " ".join(f"{v:.3f}" for v in stage) + ")")
    print(f"  on / off = {on / off:.3f} (bound 1.15); (off + lighting stage) / off = "
          f"{(off + st) / off:.3f} (less noisy on a busy machine); per pair: "
          + " ".join(f"{(a + s) / a:.3f}" for a, s in zip(walls["off"], stage, strict=True)))


# one setting changed at a time from stock x264 (one thread: the rows differ only by it),
# then what anime encodes use: a fansub-style encode and a high-rate (Blu-ray-like) one
SWEEP: dict[str, dict[str, str]] = {
    "reproducible: mbtree=0": {"x264-params": "mbtree=0"},
    "stock": {},
    "weightp=0 (no weighted P prediction)": {"x264-params": "weightp=0"},
    "weightb=0 (no implicit B weights)": {"x264-params": "weightb=0"},
    "aq-mode=0 (no adaptive quantisation)": {"x264-params": "aq-mode=0"},
    "bframes=0": {"x264-params": "bframes=0"},
    "deadzone-inter=0:deadzone-intra=0": {"x264-params": "deadzone-inter=0:deadzone-intra=0"},
    "trellis=0": {"x264-params": "trellis=0"},
    "qcomp=0.8 (weaker mbtree)": {"x264-params": "qcomp=0.8"},
    "tune animation": {"tune": "animation"},
    "fansub: slower, animation, crf 16, aq 3": {"preset": "slower", "tune": "animation",
                                                "crf": "16", "x264-params": "aq-mode=3"},
    "high rate: crf 12": {"crf": "12"},
}


def _picture_types(video: Path) -> str:
    import av

    with av.open(str(video)) as c:
        # AVPictureType: 1 I, 2 P, 3 B (an int or an enum, by PyAV version)
        return "".join(" IPB"[int(f.pict_type)] if 0 < int(f.pict_type) < 4 else "?"
                       for f in c.decode(video=0))


def x264_sweep(tmp: Path) -> None:
    print("\n[4] what x264 does to the lighting: 8-bit, 40 frames, crf 20 unless said, one "
          "thread; max gain error % @ frame and its picture type")
    print(f"{'x264 setting':40s} {'case':9s} {'size':>6s} {'decoded vs nominal':>19s} "
          f"{'fit vs nominal':>15s} {'fit vs decoded':>15s}")
    scenes = {"plain": lit_pan(convert=to_codes(8)),
              "hardsub": lit_pan(convert=to_codes(8), overlays=True)}
    for label, opts in SWEEP.items():
        for case, sc in scenes.items():
            o = {"crf": "20", "threads": "1", **opts}
            video = encode_video(tmp / "sweep.mkv", sc.rgb, codec="libx264", pix_fmt="yuv420p",
                                 options=o, tags=color_tags("709"))
            types = _picture_types(video)
            with _store(video) as store:
                dec = codec_floor(store.luma, sc, 8, case == "hardsub")["block means"]
                fit = fit_lighting(store.luma, sc.xy)
            cols = []
            for est, ref in ((dec, sc.gains[:, 0]), (fit.gains[:, 0], sc.gains[:, 0]),
                             (fit.gains[:, 0], dec)):
                e = np.abs(_rel_gain_errors(est, ref))
                k = int(np.argmax(e))
                cols.append(f"{e[k]:.3f} @{k:2d} {types[k]}")
            print(f"{label:40s} {case:9s} {video.stat().st_size / 1024:5.0f}K "
                  f"{cols[0]:>19s} {cols[1]:>15s} {cols[2]:>15s}", flush=True)
    print("  (stock x264 with its macroblock tree gives different output from run to run "
          "here, even on one thread: rows with mbtree on vary by ~0.1 %)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="shorter run: 40/80-frame gain test")
    ap.add_argument("--repeat", type=int, default=5, help="part 3: stitches of each kind")
    ap.add_argument("--skip", default="", help="comma list of parts to skip: 1,2,3,4")
    ap.add_argument("--overlays-only", action="store_true",
                    help="part 2: only the pan with the hardsub and the character")
    ap.add_argument("--x264-defaults", action="store_true",
                    help="stock x264 settings (threads, mbtree; not reproducible here) instead "
                         "of one thread and mbtree=0")
    args = ap.parse_args()
    if args.x264_defaults:
        X264.clear()
    print(f"x264 options: {X264 or 'stock'}")
    print(f"load: {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} "
          f"{os.getloadavg()[2]:.1f} on {os.cpu_count()} cores")
    skip = set(args.skip.split(","))
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if "1" not in skip:
            quality(tmp, 40)
        if "2" not in skip:
            lengths = () if args.overlays_only else (40, 80) if args.quick else (40, 160)
            gain_accuracy(tmp, lengths)
        if "3" not in skip:
            cost(tmp, args.repeat)
        if "4" not in skip:
            x264_sweep(tmp)


if __name__ == "__main__":
    main()

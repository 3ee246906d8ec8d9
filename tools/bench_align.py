"""Benchmark of overmix.registration: offset error against drawn pans with known sub-pixel offsets.

Each clip is a pan over a world drawn at 4x and area-sampled exactly at the true (sub-pixel,
both axes) offsets (tests/registration/scenes.py); encoded clips go through libx264 (CRF 18) and
PyAV decoding. For every clip it prints the maximum and RMS error of the offsets (px, over
both axes of all frames; frame 0 is the reference at (0, 0)), the alignment wall time per frame
and the process CPU time per frame (all threads; the wall time depends on what else runs on
the machine), and for the 1280x720 clips the memory held by the sliding window. For encoded
clips a second line separates the codec's own displacement of each decoded frame (measured
against its lossless source) from the aligner's error on the content it was given.

Usage: python tools/bench_align.py [--no-big]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from overmix.registration import align, estimate_shift, long_jumps_for, window_frames  # noqa: E402
from overmix.registration.phase import prepare  # noqa: E402
from tests.registration.scenes import (  # noqa: E402
    cel_world,
    eased_offsets,
    encode_decode,
    linear_offsets,
    photo_world,
    sample_frames,
    smooth_world,
)


def _frames(kind: str, n: int, h: int, w: int, off: np.ndarray, seed: int) -> list[np.ndarray]:
    span = np.ceil(np.abs(off).max(axis=0)).astype(int)
    wh, ww = h + 2 * span[1] + 24, w + 2 * span[0] + 24
    draw = {"cel": cel_world, "smooth": smooth_world, "photo": photo_world}[kind]
    world = draw(wh, ww, 4, seed)
    origin = (span[0] + 12.0, span[1] + 12.0)
    return sample_frames(world, 4, off, h, w, origin)


def _run(name: str, frames: list[np.ndarray], off: np.ndarray,
         sources: list[np.ndarray] | None = None) -> None:
    t0, c0 = time.perf_counter(), time.process_time()
    res = align(frames)
    dt, dc = time.perf_counter() - t0, time.process_time() - c0
    err = res.xy - off
    mx = float(np.abs(err).max())
    rms = float(np.sqrt(np.mean(err[1:] ** 2)))
    h, w = frames[0].shape
    n = len(frames)
    print(f"{name:<42} {w}x{h}x{n:<3} max {mx:.4f} px  rms {rms:.4f} px  "
          f"{dt / n * 1000:5.1f} ms/frame wall ({dt:.2f} s), {dc / n * 1000:5.1f} ms/frame CPU; "
          f"pairs {res.extra['pairs']}, rejected {res.extra['rejected_pairs']}", flush=True)
    if sources is not None:
        # How far the codec itself moved each decoded frame's content (decoded frame k against
        # its own lossless source, a zero-shift pair); subtracting it leaves the aligner's error
        # against the content it was given.
        disp = np.array([[r.dx, r.dy] for r in (estimate_shift(s, f)
                                                 for s, f in zip(sources, frames, strict=True))])
        own = err - (disp - disp[0])
        print(f"{'':<42} {'':<11} codec moved frames by up to "
              f"{float(np.abs(disp - disp[0]).max()):.4f} px; aligner error against the decoded "
              f"content: max {float(np.abs(own).max()):.4f} px, "
              f"rms {float(np.sqrt(np.mean(own[1:] ** 2))):.4f} px", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--no-big", action="store_true", help="skip the 1280x720x60 timing clip")
    args = ap.parse_args()
    h, w, n = 180, 320, 16
    lin = linear_offsets(n, (2.63, -0.71))
    eased = eased_offsets(n, (47.3, 11.9))
    cel_lin = _frames("cel", n, h, w, lin, 1)
    cel_eased = _frames("cel", n, h, w, eased, 2)
    smooth = _frames("smooth", n, h, w, eased, 3)
    photo = _frames("photo", n, h, w, eased, 4)
    align(cel_lin[:3])  # load the compiled kernels before timing
    print("clip                                       size        error vs truth (px)         "
          "  speed")
    _run("line art, lossless, linear (2.63,-0.71)/f", cel_lin, lin)
    _run("line art, lossless, eased", cel_eased, eased)
    _run("smooth field, lossless, eased", smooth, eased)
    _run("photo-like texture, lossless, eased", photo, eased)
    with tempfile.TemporaryDirectory() as tmp:
        for depth in (8, 10):
            dec = encode_decode(cel_lin, depth, str(Path(tmp) / f"lin{depth}.mkv"))
            _run(f"line art, H.264 {depth}-bit CRF 18, linear", dec, lin, cel_lin)
            dec = encode_decode(cel_eased, depth, str(Path(tmp) / f"eased{depth}.mkv"))
            _run(f"line art, H.264 {depth}-bit CRF 18, eased", dec, eased, cel_eased)
        dec = encode_decode(smooth, 10, str(Path(tmp) / "smooth10.mkv"))
        _run("smooth field, H.264 10-bit CRF 18, eased", dec, eased, smooth)
        for depth in (8, 10):
            dec = encode_decode(photo, depth, str(Path(tmp) / f"photo{depth}.mkv"))
            _run(f"photo-like, H.264 {depth}-bit CRF 18, eased", dec, eased, photo)
    if not args.no_big:
        n = 60
        off = linear_offsets(n, (6.37, 1.21))
        big = _frames("cel", n, 720, 1280, off, 7)
        _run("line art, lossless, linear (timing)", big, off)
        with tempfile.TemporaryDirectory() as tmp:
            dec = encode_decode(big, 10, str(Path(tmp) / "big10.mkv"), preset="veryfast")
        _run("line art, H.264 10-bit CRF 18, linear", dec, off, big)
        del big
        # recent frames plus the key frames kept for the long jumps
        nbytes = prepare(dec[0]).nbytes
        held = window_frames(long_jumps_for(nbytes))
        window = held * nbytes
        print(f"sliding window: at most {held} prepared 1280x720 frames = "
              f"{window / 1e6:.1f} MB (a float32 frame is {dec[0].nbytes / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""`overmix stitch` output does not depend on thread counts or on the store's memory budget."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from overmix.commands.stages import snap_offsets
from overmix.geometry import Offsets
from tests.videogen import make_clip


def _stitch(clip: Path, out: Path, env: dict[str, str], *extra: str) -> tuple[bytes, bytes]:
    offsets = out.with_suffix(".json")
    full_env = {**os.environ, **env}
    subprocess.run([sys.executable, "-m", "overmix", "--quiet", "stitch", str(clip), "-o",
                    str(out), "--save-offsets", str(offsets), *extra],
                   check=True, env=full_env, stdout=subprocess.DEVNULL,
                   cwd=Path(__file__).resolve().parents[2])
    return out.read_bytes(), offsets.read_bytes()


def test_same_bytes_with_other_thread_counts_and_a_spilled_store(tmp_path: Path) -> None:
    # 640x320: large enough for the alignment's 2-thread pool (>= 200k pixels)
    clip = make_clip(tmp_path / "pan.mkv", n=6, h=320, w=640, pix_fmt="yuv420p10le")
    threads = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "NUMBA_NUM_THREADS")
    a_png, a_off = _stitch(clip, tmp_path / "a.png", dict.fromkeys(threads, "2"))
    b_png, b_off = _stitch(clip, tmp_path / "b.png", dict.fromkeys(threads, "1"),
                           "--memory-budget", "0")
    assert a_off == b_off
    assert hashlib.sha256(a_png).hexdigest() == hashlib.sha256(b_png).hexdigest()


def test_snapped_offsets_round_near_whole_pixels_exactly() -> None:
    xy = np.array([[0.0, 0.0], [3.0 - 1e-12, 2.0 + 3e-13], [-7.2500004, 1.1234567]])
    off = snap_offsets(Offsets(xy, [0, 1, 2], 96, 64))
    assert off.xy[1].tolist() == [3.0, 2.0]
    assert np.abs(off.xy - xy).max() <= 5e-7
    # the canvas no longer depends on which side of a whole pixel the last bits fell
    near = snap_offsets(Offsets(xy + 1e-11, [0, 1, 2], 96, 64))
    assert near.canvas == off.canvas
    assert np.array_equal(near.xy[1], off.xy[1])

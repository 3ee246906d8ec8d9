"""The Python API mirrors the CLI: the same sample stitched both ways gives the same canvas."""

from pathlib import Path

import numpy as np

import overmix
from overmix.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "pan.mkv"


def test_api_verbs_on_the_sample(tmp_path):
    with overmix.open_frames(SAMPLE, start=0, end=6) as frames:
        first = next(iter(frames))
        assert first.color.bit_depth == 10 and frames.count == 6
        rgb = overmix.convert(first, depth=16)
    assert rgb.shape == (first.height, first.width, 3) and rgb.dtype == np.uint16

    offsets = overmix.align(SAMPLE, start=0, end=6)
    assert len(offsets) == 6 and offsets.indices == list(range(6))
    # The algorithms live in overmix.registration; importing it leaves the verb alone.
    import importlib

    importlib.import_module("overmix.registration")
    from overmix.registration import align as align_lumas

    again = overmix.align(SAMPLE, start=0, end=6)
    np.testing.assert_array_equal(again.xy, offsets.xy)
    assert callable(align_lumas)

    res = overmix.dump(SAMPLE, tmp_path / "d", start=0, end=3)
    assert res.frames == 3 and (tmp_path / "d" / "scene.json").exists()

    result = overmix.stitch(SAMPLE, tmp_path / "api.png", start=0, end=6)
    assert main(["stitch", str(SAMPLE), "-o", str(tmp_path / "cli.png"), "--start", "0",
                 "--end", "6", "-q"]) == 0
    assert (tmp_path / "api.png").read_bytes() == (tmp_path / "cli.png").read_bytes()
    assert result.canvas.width >= first.width


def _blas_threads_after_import(env: dict[str, str], first: str) -> str:
    import os
    import subprocess
    import sys

    code = (f"import {first}; import overmix, numpy, os; "
            "print(os.environ.get('OPENBLAS_NUM_THREADS', 'unset'))")
    run_env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    run_env.update(env)
    out = subprocess.run([sys.executable, "-c", code], env=run_env, capture_output=True,
                         text=True, check=True)
    return out.stdout.strip()


def test_one_blas_thread_unless_the_caller_chose():
    # overmix runs its own threads; OpenBLAS's pool is set to one thread before numpy loads
    assert _blas_threads_after_import({}, "os") == "1"
    # ... a caller's choice is kept, and a numpy already loaded keeps its own
    assert _blas_threads_after_import({"OPENBLAS_NUM_THREADS": "3"}, "os") == "3"
    assert _blas_threads_after_import({}, "numpy") == "unset"

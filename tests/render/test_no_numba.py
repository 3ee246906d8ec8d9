"""`overmix stitch` (default average render, PNG output) runs without importing numba:
importing it and starting its compiler costs ~100 MB of resident memory (issue #5); nor
scipy's fft or sparse, whose imports cost ~0.3 s of every run (issue #15; ndimage comes in
only to fill the chroma of uncovered canvas corners, as here)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.videogen import make_clip

_PROBE = """
import sys
from overmix.cli import main
rc = main(["stitch", sys.argv[1], "-o", sys.argv[2], "--quiet"])
print("rc", rc, "numba", any(m == "numba" or m.startswith("numba.") for m in sys.modules))
heavy = ("scipy.fft", "scipy.sparse")
print(sorted(m for m in sys.modules if m in heavy))
"""


def test_stitch_does_not_import_numba(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "pan.mkv", n=4, h=64, w=80, pix_fmt="yuv420p10le",
                     options={"qp": "0"})
    out = tmp_path / "out.png"
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-c", _PROBE, str(clip), str(out)], cwd=root,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[-2].split() == ["rc", "0", "numba", "False"], proc.stdout
    assert lines[-1] == "[]", proc.stdout
    assert out.stat().st_size > 0

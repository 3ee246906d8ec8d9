"""Real inputs for the safety tests: a small panning clip, its dumps and a PNG folder."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from overmix.cli import main
from tests.videogen import make_clip, pan_frames


def snapshot(*roots: Path) -> dict[str, str]:
    """SHA-256 of every file below ``roots`` (and of each root file), by path."""
    out: dict[str, str] = {}
    for root in roots:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for f in files:
            out[str(f)] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


@pytest.fixture(scope="module")
def material(tmp_path_factory) -> dict[str, Path]:
    """``video`` (6 frames, 96x64 pan), ``dumps`` (its dump folder), ``pngs`` (6 PNGs)."""
    from overmix.io.png import write_png

    root = tmp_path_factory.mktemp("material")
    video = make_clip(root / "clip.mkv", n=6, h=64, w=96)
    assert main(["dump", str(video), "-o", str(root / "dumps"), "-q"]) == 0
    pngs = root / "pngs"
    pngs.mkdir()
    for k, rgb in enumerate(pan_frames(6, 64, 96, step=(0.0, 3.0))):
        write_png(pngs / f"{k:03d}.png", np.round(rgb * 255).astype(np.uint8))
    return {"video": video, "dumps": root / "dumps", "pngs": pngs, "root": root}

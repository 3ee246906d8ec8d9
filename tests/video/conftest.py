"""Fixtures: small test videos made with PyAV encoders, cached per session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest

from tests.videogen import make_clip


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """``clip(name, **make_clip_kwargs)``: build once per session, return the path."""
    folder = tmp_path_factory.mktemp("clips")
    made: dict[str, Path] = {}

    def build(name: str, **kw: object) -> Path:
        if name not in made:
            made[name] = make_clip(folder / name, **kw)  # type: ignore[arg-type]
        return made[name]

    return build


def pyav_planes(path: Path) -> list[list[np.ndarray]]:
    """Every frame's raw planes as PyAV decodes them (the reference)."""
    with av.open(str(path)) as c:
        return [[np.array(np.from_dlpack(p)) for p in f.planes] for f in c.decode(video=0)]

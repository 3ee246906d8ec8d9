"""Fuzzing scene.json (issue 13), beside the dump reader's fuzzing in tests/dumpfmt.

Whatever scene.json holds (any JSON, manifest-shaped JSON with wrong types, repeated or
missing entries, out-of-range numbers, non-UTF-8 bytes), reading it and opening its dump
folder either works or raises the library's one-line error (an ``OvermixError``), never
anything else; and when the folder opens, every frame has its own index and the source has
exactly as many frames as it says.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dumpfmt
from overmix.errors import OvermixError
from overmix.io.manifest import Manifest, read_manifest
from overmix.io.sources import open_source

N_FILES = 3
NAMES = [f"{k:06d}.dump" for k in range(N_FILES)]

scalars = (st.none() | st.booleans() | st.integers(-2**70, 2**70)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8))
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=4),
    max_leaves=12)


def maybe(valid: st.SearchStrategy) -> st.SearchStrategy:
    """A valid value most of the time, else anything JSON."""
    return st.one_of(valid, valid, json_values)


colours = st.fixed_dictionaries({}, optional={
    "matrix": maybe(st.sampled_from(["bt709", "bt470bg", "rgb", "gray", "nope"])),
    "range": maybe(st.sampled_from(["limited", "full"])),
    "transfer": maybe(st.sampled_from(["bt709", "iec61966_2_1"])),
    "chroma_location": maybe(st.sampled_from(["left", "center", "topleft"])),
    "bit_depth": maybe(st.integers(-1, 20)),
})
frame_entries = st.fixed_dictionaries(
    {"file": maybe(st.sampled_from(NAMES + ["missing.dump"]))},
    optional={
        "index": maybe(st.integers(-2, 5)),
        "time": maybe(st.floats(0, 10, allow_nan=False)),
        "pts": maybe(st.integers(0, 10**6)),
        "key_frame": maybe(st.booleans()),
        "fields": maybe(st.sampled_from(["0t+0b", "1t+0b"])),
    })
manifests = st.fixed_dictionaries({}, optional={
    "version": maybe(st.just(1)),
    "color": maybe(colours),
    "frame_rate": maybe(st.sampled_from(["24000/1001", "25", "0/1", "-3", "x"])),
    "frames": maybe(st.lists(frame_entries, max_size=5)),
    "source": maybe(st.text(max_size=10)),
    "stream": maybe(st.integers(0, 3)),
    "ivtc": maybe(st.fixed_dictionaries({"mode": st.sampled_from(["off", "hard"])})),
    "dedup": maybe(st.fixed_dictionaries({"enabled": st.booleans()})),
    "complete": maybe(st.booleans()),
})


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("fuzz") / "scene"
    d.mkdir()
    y = (np.arange(16 * 24, dtype=np.uint16).reshape(16, 24) * 3) % 1024
    for name in NAMES:
        dumpfmt.write(d / name, [y, y[:8, :12], y[:8, :12]], depth=10, transform=3,
                      transfer=2)
    return d


def _check(folder: Path) -> None:
    try:
        manifest = read_manifest(folder)
    except OvermixError:
        return
    assert manifest is None or isinstance(manifest, Manifest)
    try:
        with open_source(folder) as src:
            frames = list(src)
    except OvermixError:
        return
    assert len(frames) == src.count == N_FILES
    assert len({f.index for f in frames}) == N_FILES  # outputs named by index cannot clash
    for f in frames:
        assert f.time is None or math.isfinite(f.time)


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=manifests)
def test_manifest_shaped_scene_json(folder: Path, data: dict) -> None:
    (folder / "scene.json").write_text(json.dumps(data))
    _check(folder)


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=json_values)
def test_any_json_scene_json(folder: Path, data: object) -> None:
    (folder / "scene.json").write_text(json.dumps(data))
    _check(folder)


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(str.encode)
       | st.integers(1, 200_000).map(lambda n: b"[" * n + b"]" * n))
def test_any_bytes_scene_json(folder: Path, raw: bytes) -> None:
    (folder / "scene.json").write_bytes(raw)
    _check(folder)

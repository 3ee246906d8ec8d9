"""io.loading: a store decoded on a background thread, read while it fills."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from overmix.color.spec import ColorInfo
from overmix.errors import FormatError, InputError
from overmix.frame import Family, Frame, PlaneLayout
from overmix.io.loading import LoadingStore, load_store
from overmix.io.png import write_png
from overmix.io.prefetch import decode_workers
from overmix.io.sources import open_source
from overmix.io.store import FrameStore

H, W = 12, 20


def _frame(k: int) -> Frame:
    y = np.full((H, W), 16 + k, np.uint8)
    c = np.full((H // 2, W // 2), 128, np.uint8)
    return Frame((y, c, c.copy()), PlaneLayout(Family.YCBCR, 2, 2), ColorInfo(bit_depth=8),
                 index=10 + k)


class _Gated:
    """A FrameSource of ``n`` frames that yields frame k only once ``gates[k]`` is set;
    ``fail_at``: frame that raises instead."""

    kind, path, rate = "dumps", Path("gated"), None

    def __init__(self, n: int, fail_at: int | None = None) -> None:
        self.count = n
        self.indices = [10 + k for k in range(n)]
        self.info: dict[str, object] = {"kind": "gated"}
        self.gates = [threading.Event() for _ in range(n)]
        self.fail_at = fail_at
        self.closed = False
        first = _frame(0)
        self.color, self.layout = first.color, first.layout

    def __iter__(self):
        for k in range(self.count):
            if k:  # frame 0 is read by the caller, before the loader starts
                self.gates[k].wait(10)
            if k == self.fail_at:
                raise FormatError(f"cannot decode frame {k}: damaged")
            yield _frame(k)

    def close(self) -> None:
        self.closed = True


def _read_later(store: FrameStore, k: int) -> tuple[threading.Thread, dict[str, object]]:
    got: dict[str, object] = {}

    def run() -> None:
        try:
            got["luma"] = store.luma(k)
        except BaseException as e:  # noqa: BLE001 - the test looks at it
            got["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t, got


def test_a_reader_waits_for_the_frame_and_gets_its_values() -> None:
    src = _Gated(4)
    store = load_store(src, budget_bytes=0, background=True)
    assert isinstance(store, LoadingStore)
    try:
        # known before any frame but the first is decoded
        assert len(store) == 4 and store.indices == [10, 11, 12, 13]
        assert store.shape == (H, W)
        t, got = _read_later(store, 2)
        t.join(0.3)
        assert t.is_alive() and not got  # frame 2 is not decoded yet
        src.gates[1].set()
        src.gates[2].set()
        t.join(10)
        want = (16 + 2 - 16) / 219  # limited range: Y' = (code - 16) / 219
        assert np.allclose(got["luma"], want, atol=1e-6)
        src.gates[3].set()
        store.finish()
        assert src.closed and store.load_seconds is not None
        assert [f.index for f in store] == [10, 11, 12, 13]
    finally:
        store.close()


def test_a_frame_that_fails_is_the_error_of_every_later_read_and_of_finish() -> None:
    src = _Gated(5, fail_at=3)
    for g in src.gates:
        g.set()
    store = load_store(src, budget_bytes=1 << 20, background=True)
    try:
        assert np.allclose(store.luma(2), 2 / 219, atol=1e-6)
        for k in (3, 4, -1):
            with pytest.raises(FormatError, match="frame 3: damaged"):
                store.luma(k)
        with pytest.raises(FormatError, match="frame 3: damaged"):
            store.finish()
        assert src.closed
    finally:
        store.close()


def test_close_stops_the_load_and_removes_the_spilled_frames() -> None:
    src = _Gated(50)
    store = load_store(src, budget_bytes=0, background=True)
    src.gates[1].set()
    src.gates[2].set()
    store.luma(2)
    spill = store._tmp
    assert spill is not None and spill.exists()
    src.gates[3].set()  # the loader waits at frame 4 ...
    closer = threading.Thread(target=store.close)
    closer.start()
    src.gates[4].set()  # ... and stops after it
    closer.join(10)
    assert not closer.is_alive() and src.closed and not spill.exists()


def test_png_folder_loads_in_background_with_the_same_frames(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    for k in range(6):
        write_png(tmp_path / f"{k:03d}.png", rng.integers(0, 256, (H, W, 3), dtype=np.uint8))
    stores, sources = [], []
    for background in (False, True):
        sources.append(open_source(tmp_path))
        stores.append(load_store(sources[-1], budget_bytes=0, background=background))
    try:
        assert isinstance(stores[1], LoadingStore) and not isinstance(stores[0], LoadingStore)
        # every core decodes, one decoded frame per thread waiting beside the reader
        assert sources[0].decode_ahead is None and sources[1].decode_threads is None
        assert sources[1].decode_ahead == decode_workers() + 1
        for k in reversed(range(6)):  # any order: the reads wait
            assert np.array_equal(stores[0].luma(k), stores[1].luma(k))
        stores[1].finish()
        assert stores[0].indices == stores[1].indices == list(range(6))
    finally:
        for s in stores:
            s.close()


@pytest.mark.parametrize("command", ["stitch", "align"])
def test_a_damaged_png_in_a_folder_is_reported_by_the_command(tmp_path: Path,
                                                              command: str) -> None:
    from overmix.commands.align import align_input
    from overmix.commands.options import StitchOptions
    from overmix.commands.stitch import stitch

    rng = np.random.default_rng(4)
    for k in range(8):
        write_png(tmp_path / f"{k:03d}.png", rng.integers(0, 256, (H, W, 3), dtype=np.uint8))
    (tmp_path / "005.png").write_bytes((tmp_path / "005.png").read_bytes()[:60])
    run = stitch if command == "stitch" else align_input
    with pytest.raises(InputError, match="005.png"):
        run(tmp_path, StitchOptions())


def test_a_store_left_open_is_closed_when_the_command_ends(tmp_path: Path) -> None:
    """A signal between making a store and entering its ``with`` left the spill folder behind
    (the CLI's last step, ``close_open_stores``, now removes it and stops the loader)."""
    from overmix.io.store import close_open_stores

    src = _Gated(5)
    store = load_store(src, budget_bytes=0, background=True, tmp_dir=tmp_path)
    plain = FrameStore(budget_bytes=0, tmp_dir=tmp_path)
    plain.add(_frame(0))
    src.gates[1].set()
    store.luma(1)
    assert len(list(tmp_path.iterdir())) == 2  # both spilled
    for g in src.gates:
        g.set()
    close_open_stores()
    assert list(tmp_path.iterdir()) == [] and src.closed


def test_a_signal_while_the_loader_starts_is_raised_once_it_is_started(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """CI caught a SIGINT between making the loader thread and starting it: the cleanup then
    tried to join a thread never started (an internal error, and the spill folder left)."""
    import signal

    started: list[threading.Thread] = []
    real_start = threading.Thread.start

    def start_with_a_signal(self: threading.Thread) -> None:
        signal.raise_signal(signal.SIGINT)  # arrives before the thread runs
        real_start(self)
        started.append(self)

    monkeypatch.setattr(threading.Thread, "start", start_with_a_signal)
    src = _Gated(4)
    for g in src.gates:
        g.set()
    # Python's own SIGINT handling, whatever this process inherited (a test run started in
    # the background of a non-interactive shell ignores SIGINT, and Python then keeps it so)
    saved = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            load_store(src, budget_bytes=0, background=True, tmp_dir=tmp_path)
    finally:
        signal.signal(signal.SIGINT, saved)
    assert started and not started[0].is_alive()  # started, then stopped and joined
    assert list(tmp_path.iterdir()) == [] and src.closed


def test_closing_a_store_whose_loader_never_started_removes_its_frames(tmp_path: Path) -> None:
    store = LoadingStore([0, 1], budget_bytes=0, tmp_dir=tmp_path)
    store.add(_frame(0))
    store._thread = threading.Thread(target=lambda: None)  # made, never started
    store.close()
    assert list(tmp_path.iterdir()) == []

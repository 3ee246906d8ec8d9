"""The alignment's CPU per stage (``tools/bench_speed.py align``'s split, issue #15).

Each stage of :data:`STAGES` is wrapped for one extra run and its CPU time (on whichever
thread runs it) summed, at 480x270 and at 1280x720, and printed beside the 480x270 pixels'
share of the 1280x720 figure: what a cost that follows the pixels would be, so the stages
over it are the small frames' fixed cost.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
import time
from collections.abc import Iterator

import numpy as np

# The alignment's stages in ``part_align``'s split: (label, module, function). For one extra
# run each is wrapped and its CPU time (on whichever thread runs it) summed; a stage's inner
# stages count in it too (the Gauss-Newton sums in the pair refinement).
STAGES = (
    ("pair refinement", "overmix.registration.schedule", "refine_pairs"),
    ("  its Gauss-Newton sums", "overmix.registration.gnbatch", "gn_batch"),
    ("  its tile placement", "overmix.registration.gnbatch", "_tiles"),
    ("  its gradient energy", "overmix.registration.gnbatch", "_energy"),
    ("searches (phase correlation)", "overmix.registration.schedule", "estimate_prepared"),
    ("pyramids", "overmix.registration.sweep", "prepare"),
    ("classification", "overmix.registration.sweep", "_classify"),
    ("screen-fixed search", "overmix.registration.sweep", "_add_fixed"),
    ("flat/cut statistics", "overmix.registration.sweep", "_frame_stats"),
    ("solve", "overmix.registration.scene", "_solve"),
    ("follow checks (on the caller)", "overmix.registration.scene", "_follow"),
    ("  held check", "overmix.registration.follow_held", "holds"),
    ("  pull check (any thread)", "overmix.registration.follow_pull", "pulls"),
)


@contextlib.contextmanager
def _stage_clock(spent: dict[str, float]) -> Iterator[None]:
    """The stages of ``STAGES`` wrapped so that their CPU time (``time.thread_time`` of
    the thread running them) adds up in ``spent`` (s); unwrapped on exit. A stage the code no
    longer has is left out."""
    lock = threading.Lock()
    undo = []
    for label, mod_name, name in STAGES:
        mod = importlib.import_module(mod_name)
        fn = getattr(mod, name, None)
        if fn is None:
            continue

        def timed(*a: object, _fn: object = fn, _label: str = label, **k: object) -> object:
            t = time.thread_time()
            try:
                return _fn(*a, **k)  # type: ignore[operator]
            finally:
                with lock:
                    spent[_label] = spent.get(_label, 0.0) + time.thread_time() - t

        setattr(mod, name, timed)
        undo.append((mod, name, fn))
    try:
        yield
    finally:
        for mod, name, fn in undo:
            setattr(mod, name, fn)


def align_split(sets: dict[int, tuple[list[np.ndarray], np.ndarray]]) -> None:
    """Per-stage CPU of one instrumented alignment of each set, beside the share of the
    1280x720 figure that the 480x270 frames' pixel count gives (what a cost that follows
    the pixels would be): the stages over it are the small frames' fixed cost."""
    from overmix.registration import align

    share = 480 * 270 / (1280 * 720)
    got = {}
    for h, (lumas, _) in sets.items():
        spent: dict[str, float] = {}
        c0 = time.process_time()
        with _stage_clock(spent):
            align(lumas)
        got[h] = (time.process_time() - c0, spent)
    print(f"  per-stage CPU, ms (one instrumented run each): 480x270 | 1280x720 | "
          f"{share:.3f} x 1280x720")
    for label, *_ in (("all", "", ""), *STAGES):
        a, b = ((got[h][0] if label == "all" else got[h][1].get(label, 0.0)) * 1e3
                for h in (270, 720))
        print(f"    {label:30s} {a:7.1f} | {b:7.1f} | {share * b:7.1f}")

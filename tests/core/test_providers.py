"""The one frame-provider adapter: every form the algorithms accept reads the same frames."""

from __future__ import annotations

import numpy as np
import pytest

from overmix.errors import UsageError
from overmix.providers import HasLuma, count, luma_reader, reader

FRAMES = [np.full((2, 3), k, dtype=np.float32) for k in range(4)]


class Store:
    """A FrameStore-like container: len() and luma(k), no indexing."""

    def __len__(self) -> int:
        return len(FRAMES)

    def luma(self, k: int) -> np.ndarray:
        return FRAMES[k]


@pytest.mark.parametrize("src", [FRAMES, tuple(FRAMES), np.stack(FRAMES), Store(),
                                 lambda k: FRAMES[k]])
def test_every_form_reads_frame_k(src) -> None:
    get = reader(src)
    for k in (0, 3, 1):
        assert float(get(k)[0, 0]) == k


def test_count_needs_n_for_a_callable() -> None:
    assert count(FRAMES) == 4 and count(Store()) == 4 and count(np.stack(FRAMES)) == 4
    assert count(lambda k: FRAMES[k], 4) == 4
    with pytest.raises(UsageError):
        count(lambda k: FRAMES[k])


def test_luma_reader_gives_float32_and_keeps_float32_arrays() -> None:
    ints = [np.full((2, 2), 7, dtype=np.uint8)]
    out = luma_reader(ints)(0)
    assert out.dtype == np.float32 and float(out[0, 0]) == 7.0
    assert luma_reader(FRAMES)(2) is FRAMES[2]  # no copy of a float32 plane


def test_store_is_a_luma_container_and_bad_sources_are_refused() -> None:
    assert isinstance(Store(), HasLuma)
    with pytest.raises(UsageError):
        reader(42)

"""One local Dask cluster (2 worker processes) shared by the batch tests of a module."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

FAKE = [sys.executable, str(Path(__file__).with_name("fakeprog.py"))]


@pytest.fixture(scope="package")
def client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0", silence_logs=logging.ERROR)
    c = distributed.Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()

"""dumpfmt: the Overmix dump format, standalone (numpy + stdlib only).

>>> import numpy as np, dumpfmt
>>> data = dumpfmt.encode([np.zeros((2, 3), np.uint16)], depth=10)
>>> dumpfmt.decode(data).planes[0].shape
(2, 3)

See :mod:`dumpfmt.format` for the byte layout, :mod:`dumpfmt.reader` and
:mod:`dumpfmt.writer` for reading and writing it.
"""

from dumpfmt.format import (
    COMPRESSIONS,
    MAGIC,
    MAX_FILE_BYTES,
    MAX_SAMPLES,
    TRANSFER,
    TRANSFORM,
    Dump,
    DumpError,
    DumpInfo,
    Header,
    PlaneInfo,
)
from dumpfmt.reader import decode, read, read_info
from dumpfmt.writer import check_level, encode, write, write_bytes

__all__ = [
    "COMPRESSIONS",
    "MAGIC",
    "MAX_FILE_BYTES",
    "MAX_SAMPLES",
    "TRANSFER",
    "TRANSFORM",
    "Dump",
    "DumpError",
    "DumpInfo",
    "Header",
    "PlaneInfo",
    "check_level",
    "decode",
    "encode",
    "read",
    "read_info",
    "write",
    "write_bytes",
]

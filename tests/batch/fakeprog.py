"""A stand-in for ``python -m overmix`` used by the batch machinery tests (fast to start).

``fakeprog.py [-q] COMMAND INPUT -o OUT [--start A] [--end B] [--frame N] [--opt V ...]``
writes OUT (a file, or a folder of two files for ``dump``) whose bytes depend on the input's
bytes, every argument and ``OMP_NUM_THREADS``, so equal command lines in equal
environments give equal files. An input starting with
``BAD`` fails like a corrupt file; ``--slow`` writes half the output, then sleeps.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time


def main(argv: list[str]) -> int:
    slow = "--slow" in argv
    argv = [a for a in argv if a not in ("-q", "--slow")]
    command, src = argv[0], argv[1]
    out = argv[argv.index("-o") + 1]
    rest = [a for i, a in enumerate(argv[2:]) if a != "-o" and argv[2:][i - 1] != "-o"]
    with open(src, "rb") as fh:
        data = fh.read()
    if data.startswith(b"BAD"):
        sys.stderr.write(f"overmix: error: {src}: corrupt input\n")
        return 1
    # Like BLAS results, the output depends on the thread-count variables Dask sets in its
    # workers: batch outputs equal hand-run ones only if tasks run with the caller's values.
    threads = os.environ.get("OMP_NUM_THREADS")
    body = hashlib.sha256(data + repr((command, rest, threads)).encode()).hexdigest().encode() * 64
    if "--save-offsets" in rest:  # an extra output file, like stitch --save-offsets
        with open(rest[rest.index("--save-offsets") + 1], "w") as fh:
            fh.write("{}")
    if command == "dump":
        os.mkdir(out)
        for k in range(2):
            with open(os.path.join(out, f"{k:06d}.dump"), "wb") as fh:
                fh.write(body + bytes([k]))
        return 0
    with open(out, "wb") as fh:
        fh.write(body[: len(body) // 2])
        fh.flush()
        if slow:
            time.sleep(30)
        fh.write(body[len(body) // 2:])
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

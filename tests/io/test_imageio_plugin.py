"""The imageio plugin reads dumps with the same pixels `overmix convert` writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import dumpfmt
from overmix.cli import main
from overmix.io.png import read_png_array
from tests.videogen import make_clip

iio = pytest.importorskip("imageio.v3")
plugin = pytest.importorskip("overmix.io.imageio_plugin")


@pytest.fixture(scope="module")
def dumps(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("iio")
    for name, fmt in (("c10.mkv", "yuv420p10le"), ("c8.mkv", "yuv422p")):
        make_clip(d / name, n=3, h=40, w=72, pix_fmt=fmt, matrix="601" if "422" in fmt
                  else "709", options={"qp": "0"} if "422" in fmt else None)
        assert main(["dump", str(d / name), "-o", str(d / name.replace(".mkv", ""))]) == 0
    return d


@pytest.fixture(autouse=True, scope="module")
def registered():
    plugin.register()
    plugin.register()  # idempotent


@pytest.mark.parametrize("folder, convert_opts, read_opts", [
    ("c10", [], {}),                                      # 10-bit -> 16-bit PNG by default
    ("c10", ["--depth", "8"], {"depth": 8}),
    ("c10", ["--depth", "8", "--dither"], {"depth": 8, "dither": True}),
    ("c8", [], {}),                                       # 8-bit 4:2:2 BT.601 -> 8-bit
    ("c8", ["--depth", "16", "--chroma-filter", "lanczos"],
     {"depth": 16, "chroma_filter": "lanczos"}),
])
def test_same_pixels_as_convert(dumps, tmp_path, folder, convert_opts, read_opts):
    src = dumps / folder / "000002.dump"
    out = tmp_path / "c.png"
    assert main(["convert", str(src), "-o", str(out), *convert_opts]) == 0
    want, depth = read_png_array(out)
    got = iio.imread(src, **read_opts)
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.array_equal(got, want)
    props = iio.improps(src, **read_opts)
    assert props.shape == got.shape and props.dtype == got.dtype
    # also through imopen, as bytes (temporary copy), and as a batch of one
    with iio.imopen(src, "r") as f:
        assert isinstance(f, plugin.DumpPlugin)
        assert np.array_equal(f.read(**read_opts), want)
    if not read_opts.get("dither"):
        assert np.array_equal(iio.imread(src, index=..., **read_opts), want[None])


def test_float_raw_planes_and_metadata(dumps):
    src = dumps / "c10" / "000001.dump"
    stored = dumpfmt.read(src).planes
    assert np.array_equal(iio.imread(src, plane=0), stored[0])
    assert iio.imread(src, plane=2).shape == (20, 36)
    with pytest.raises(ValueError, match="plane=0"):
        iio.imread(src, raw=True)  # 4:2:0 planes cannot be stacked
    f = iio.imread(src, depth="float")
    assert f.dtype == np.float32 and f.shape == (40, 72, 3)
    sixteen = iio.imread(src)
    assert np.abs(np.rint(np.clip(f, 0, 1) * 65535) - sixteen).max() <= 1
    meta = iio.immeta(src)
    assert (meta["width"], meta["height"], meta["nplanes"], meta["bit_depth"]) == (72, 40, 3, 10)
    assert [p["depth"] for p in meta["planes"]] == [10, 10, 10]
    assert meta["layout"] == "yuv420" and meta["color"]["matrix"] == "bt709"
    assert meta["color_from"] == "manifest" and meta["index"] == 1
    assert meta["compression"] == "zlib"


def test_raw_444_and_headerless(tmp_path):
    rng = np.random.default_rng(3)
    planes = [rng.integers(0, 4096, (8, 12), dtype=np.uint16) for _ in range(3)]
    p = tmp_path / "x.dump"
    p.write_bytes(dumpfmt.encode(planes, depth=12, compression="xz"))
    got = iio.imread(p, raw=True)
    assert got.shape == (3, 8, 12) and np.array_equal(got, np.stack(planes))
    assert iio.improps(p, raw=True).shape == (3, 8, 12)
    legacy = tmp_path / "old.dump"  # no DMP0 magic: recognised by the extension
    legacy.write_bytes(dumpfmt.encode(planes[:1], depth=12, magic=False))
    assert np.array_equal(iio.imread(legacy, plane=0), planes[0])
    assert iio.imread(legacy).shape == (8, 12, 1)  # gray


def test_other_files_are_left_to_other_plugins(tmp_path, dumps):
    png = tmp_path / "a.png"
    assert main(["convert", str(dumps / "c8" / "000000.dump"), "-o", str(png)]) == 0
    assert iio.imread(png).shape == (40, 72, 3)  # still read by imageio's own plugins
    bad = tmp_path / "bad.dump"
    bad.write_bytes(b"DMP0\x03\x01" + b"\xff" * 10)
    with pytest.raises(OSError):
        iio.imread(bad)


def test_importing_overmix_is_enough(dumps, tmp_path):
    # A fresh interpreter: no explicit register() call, only `import overmix`.
    import subprocess
    import sys

    dump = sorted((dumps / "c10").glob("*.dump"))[0]
    out = tmp_path / "a.npy"
    code = ("import sys, numpy, overmix, imageio.v3 as iio; "
            "numpy.save(sys.argv[2], iio.imread(sys.argv[1]))")
    subprocess.run([sys.executable, "-c", code, str(dump), str(out)], check=True)
    assert main(["convert", str(dump), "-o", str(tmp_path / "a.png")]) == 0
    np.testing.assert_array_equal(np.load(out), read_png_array(tmp_path / "a.png")[0])


def test_plugin_added_when_imageio_is_imported_after_overmix(dumps: Path) -> None:
    # `import overmix` does not import imageio (start-up of every command); importing it
    # later still finds the plugin, which reads the same pixels
    import hashlib
    import subprocess
    import sys

    first = sorted((dumps / "c8").iterdir())[0]
    code = ("import sys, hashlib, overmix\n"
            "assert 'imageio' not in sys.modules\n"
            "import imageio.v3 as iio\n"
            f"print(hashlib.sha256(iio.imread({str(first)!r}).tobytes()).hexdigest())\n")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout.strip()
    assert out == hashlib.sha256(iio.imread(first).tobytes()).hexdigest()

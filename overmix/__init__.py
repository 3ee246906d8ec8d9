"""overmix: turn anime video into clean, full-size, colour-accurate stills.

The public API mirrors the command line (DESIGN §2) for scripts and notebooks::

    import overmix
    with overmix.open_frames("ep01.mkv", start=120, end=180) as frames:
        rgb = overmix.convert(next(iter(frames)), depth=16)   # (H, W, 3) uint16
    offsets = overmix.align("ep01.mkv", start=120, end=180)    # overmix.Offsets
    result = overmix.stitch("ep01.mkv", "pan.png", start=120, end=180, render="median")
    overmix.dump("ep01.mkv", "dumps/", start=120, end=180)

Keyword options are the command-line options with underscores (``save_offsets=...``). The
verbs are imported on first use, so ``import overmix`` stays light.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from overmix import _blas  # noqa: F401 - first: one BLAS thread, set before numpy loads
from overmix.atomic import input_scope
from overmix.color.spec import ChromaLocation, ColorInfo, Matrix, Primaries, Range, Transfer
from overmix.errors import OvermixError
from overmix.frame import Family, Frame, PlaneLayout
from overmix.geometry import Canvas, Offsets

if TYPE_CHECKING:
    import numpy as np

    from overmix.commands.dump import DumpResult
    from overmix.commands.stitch import StitchResult
    from overmix.frame import FrameSource

__version__ = "0.1.0"

__all__ = [
    "Canvas",
    "ChromaLocation",
    "ColorInfo",
    "Family",
    "Frame",
    "Matrix",
    "Offsets",
    "OvermixError",
    "PlaneLayout",
    "Primaries",
    "Range",
    "Transfer",
    "__version__",
    "align",
    "convert",
    "dump",
    "open_frames",
    "stitch",
]


def _add_imageio_plugin() -> None:
    try:
        from overmix.io.imageio_plugin import register

        register()
    except Exception:  # noqa: BLE001 - an odd imageio version must never break overmix
        pass


class _ImageioHook:
    """Import hook that adds the plugin right after imageio itself is imported, so that
    ``import overmix`` (and every command) does not pay imageio's import (~30-90 ms)."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "imageio":
            return None
        import importlib.util
        import sys

        if self in sys.meta_path:
            sys.meta_path.remove(self)  # once, and not while looking for the real spec
        spec = importlib.util.find_spec(name)
        loader = getattr(spec, "loader", None)
        run = getattr(loader, "exec_module", None)
        if run is None:
            return spec

        def exec_module(module: Any) -> None:
            run(module)
            _add_imageio_plugin()

        loader.exec_module = exec_module  # type: ignore[union-attr]
        return spec


def _register_imageio() -> None:
    """Make ``imageio.v3.imread("x.dump")`` work wherever overmix is imported.

    imageio has no entry points for third-party plugins, only its own registry: the plugin
    is added now when imageio is already imported, else as soon as it is (an import hook).
    """
    import sys

    if "imageio" in sys.modules:
        _add_imageio_plugin()
    else:
        sys.meta_path.insert(0, _ImageioHook())  # type: ignore[arg-type]


_register_imageio()


def open_frames(path: str | os.PathLike[str], **options: Any) -> FrameSource:
    """Frames of a video, dump, dump folder or PNG(s): ``start``, ``end``, ``frames``, ``ivtc``,
    ``dedup``, ``stream`` ... (see :func:`overmix.io.sources.open_source`)."""
    from overmix.io.sources import open_source

    return open_source(path, **options)


def convert(frame: Frame, **options: Any) -> np.ndarray:
    """A frame as an 8/16-bit R'G'B' picture (H, W, 3|4): ``depth``, ``dither``,
    ``chroma_filter``, ``linear`` (see :func:`overmix.color.convert.frame_to_image`)."""
    from overmix.color.convert import frame_to_image

    return frame_to_image(frame, **options)


def align(path: str | os.PathLike[str], **options: Any) -> Offsets:
    """Sub-pixel offsets of the frames of ``path`` (options as ``overmix align``)."""
    from overmix.commands.align import align_input
    from overmix.commands.options import stitch_options

    with input_scope():
        offsets, _ = align_input(path, stitch_options(options, "align"))
    return offsets


def stitch(path: str | os.PathLike[str], output: str | os.PathLike[str] | None = None,
           **options: Any) -> StitchResult:
    """Stitch a pan into one canvas, written to ``output`` (.png or .dump) when given
    (options as ``overmix stitch``, e.g. ``render="median"``, ``scale=2``)."""
    from overmix.commands.options import stitch_options
    from overmix.commands.stitch import stitch as _stitch

    with input_scope():  # what this call reads constrains only this call's outputs
        return _stitch(path, stitch_options(options), output=output)


def dump(path: str | os.PathLike[str], folder: str | os.PathLike[str],
         **options: Any) -> DumpResult:
    """Dump frames to ``folder`` as .dump files plus scene.json (options as ``overmix dump``)."""
    from overmix.commands.dump import dump as _dump

    with input_scope():
        return _dump(path, folder, **options)

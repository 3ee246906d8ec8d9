"""An imageio (v3) plugin for ``.dump`` files: ``imageio.v3.imread("x.dump")`` gives the picture.

Registration
------------
imageio (2.x, v3 API) discovers plugins only through its own registry,
``imageio.config.known_plugins`` and ``imageio.config.known_extensions``; it has no
entry-point mechanism for third-party packages (its ``config`` module is a static table).
So, after ``pip install overmix[imageio]``::

    import imageio.v3 as iio
    from overmix.io.imageio_plugin import register
    register()                       # adds "overmix-dump" for the ".dump" extension
    rgb = iio.imread("000042.dump")  # uint8/uint16 R'G'B', exactly as `overmix convert` writes

Without registering, pass the class: ``iio.imread(path, plugin=DumpPlugin)``.

Reading
-------
``read(depth=None, dither=False, chroma_filter="bilinear", linear=False, raw=False,
plane=None)``:

- default: the frame through the colour pipeline (:func:`overmix.color.convert.frame_to_image`,
  the function ``overmix convert`` uses, with its colour from ``scene.json`` beside the file,
  else the dump header, else the untagged rules), shape (H, W, 3) (gray dumps (H, W, 1)),
  uint16 for sources deeper than 8 bit else uint8; ``depth=8|16`` forces one;
- ``depth="float"``: float32 R'G'B' in [0, 1] (not clipped; out-of-gamut values stay);
- ``raw=True``: the planes as stored, native codes, stacked (planes, H, W) when they have one
  size (4:4:4, RGB, gray); ``plane=k`` returns plane ``k`` alone (any subsampling).

``properties()`` gives shape and dtype for the same arguments; ``metadata()`` the size, planes
(width, height, depth each), layout, colour (matrix, range, transfer, primaries, chroma
location, bit depth, and where it came from), compression, and the frame's index, time,
key-frame flag and IVTC fields when ``scene.json`` records them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

try:
    from imageio.core.request import InitializationError, IOMode, Request
    from imageio.core.v3_plugin_api import ImageProperties, PluginV3
except ImportError as exc:  # pragma: no cover - the optional extra is missing
    raise ImportError(
        "the imageio plugin needs imageio: install overmix[imageio]"
    ) from exc

from overmix.errors import OvermixError

__all__ = ["DumpPlugin", "PLUGIN_NAME", "register"]

PLUGIN_NAME = "overmix-dump"


def register() -> None:
    """Add the plugin to imageio's registry for ``.dump`` files (idempotent)."""
    from imageio.config import FileExtension, PluginConfig, known_extensions, known_plugins

    known_plugins[PLUGIN_NAME] = PluginConfig(
        name=PLUGIN_NAME, class_name="DumpPlugin", module_name="overmix.io.imageio_plugin",
        install_name="overmix",
    )
    formats = known_extensions.setdefault(".dump", [])
    for fmt in formats:
        if PLUGIN_NAME not in fmt.priority:
            fmt.priority.insert(0, PLUGIN_NAME)
    if not formats:
        formats.append(FileExtension(
            name="Overmix dump", extension=".dump", priority=[PLUGIN_NAME],
            description="Overmix / dump-tools frame dump (planes at native bit depth)",
        ))


class DumpPlugin(PluginV3):
    """Reads one frame from a dump file (see the module docstring)."""

    def __init__(self, request: Request, **kwargs: Any) -> None:
        super().__init__(request)
        if request.mode.io_mode != IOMode.read:
            raise InitializationError("the overmix dump plugin only reads")
        # imageio tries every registered plugin on files it has no extension match for:
        # anything that is not a readable dump must end in InitializationError, so the
        # other plugins get their turn.
        try:
            path = Path(request.get_local_filename())
            with open(path, "rb") as fh:
                magic = fh.read(4)
        except Exception as exc:  # noqa: BLE001 - any resource we cannot read as a file
            raise InitializationError(f"cannot read the resource as a file: {exc}") from None
        if magic != b"DMP0" and request.extension != ".dump":
            raise InitializationError("not a dump file (no DMP0 magic, not .dump)")
        # For a file name this is the file itself, so its scene.json is found beside it;
        # bytes and URLs come through a temporary copy (colour from the header).
        self._path = path
        self._frame = None
        self._how = ""
        try:
            self._open()
        except OvermixError as exc:
            if magic == b"DMP0":
                request.finish()
                raise OSError(str(exc)) from None
            raise InitializationError(str(exc)) from None

    def _open(self) -> None:
        from overmix.io.sources import open_source

        with open_source(self._path) as src:
            frame = next(iter(src), None)
            self._how = str(getattr(src, "color_from", ""))
        if frame is None:  # pragma: no cover - a dump holds one frame
            raise OvermixError(f"{self._path}: no frame")
        self._frame = frame

    # -- reading -------------------------------------------------------------------------

    def _check_index(self, index: Any) -> bool:
        """True when ``index=...`` asks for a batch axis; a dump holds exactly one frame."""
        if index is Ellipsis:
            return True
        if index not in (None, 0):
            raise ValueError(f"a dump file holds one frame; index {index!r} is out of range")
        return False

    def read(self, *, index: Any = None, depth: int | str | None = None, dither: bool = False,
             chroma_filter: str = "bilinear", linear: bool = False, raw: bool = False,
             plane: int | None = None) -> np.ndarray:
        """The frame as an ndarray; see the module docstring for the options."""
        batch = self._check_index(index)
        img = self._image(depth, dither, chroma_filter, linear, raw, plane)
        return img[None] if batch else img

    def _image(self, depth: int | str | None, dither: bool, chroma_filter: str, linear: bool,
               raw: bool, plane: int | None) -> np.ndarray:
        from overmix.color.convert import frame_to_image, to_rgb

        f = self._frame
        assert f is not None
        if plane is not None:
            if not 0 <= plane < len(f.planes):
                raise ValueError(f"plane {plane} of {len(f.planes)}")
            return np.array(f.planes[plane])
        if raw:
            shapes = {p.shape for p in f.planes}
            if len(shapes) != 1:
                raise ValueError(
                    f"planes of a {f.layout.name} frame have different sizes; read them one "
                    "at a time with plane=0, 1, 2"
                )
            return np.stack(f.planes)
        if depth == "float":
            return to_rgb(f.planes, f.color, family=f.layout.family.value, sub_x=f.layout.sub_x,
                          sub_y=f.layout.sub_y, chroma_filter=chroma_filter, linear=linear,
                          alpha=f.alpha)
        if depth not in (None, 8, 16):
            raise ValueError(f"depth is 8, 16, 'float' or None, not {depth!r}")
        return frame_to_image(f, depth=depth, dither=dither,  # type: ignore[arg-type]
                              chroma_filter=chroma_filter, linear=linear)

    def iter(self, **kwargs: Any) -> Any:
        """Yields the one frame (same options as :meth:`read`)."""
        yield self.read(**kwargs)

    def write(self, ndimage: Any, **kwargs: Any) -> None:  # pragma: no cover
        raise OSError("the overmix dump plugin does not write; use overmix dump")

    # -- metadata ------------------------------------------------------------------------

    def properties(self, *, index: Any = None, depth: int | str | None = None,
                   raw: bool = False, plane: int | None = None, **_: Any) -> ImageProperties:
        """Shape and dtype of what :meth:`read` returns with the same arguments."""
        from overmix.color.convert import output_depth  # lazy: `import overmix` stays light

        batch = self._check_index(index)
        f = self._frame
        assert f is not None
        h, w = f.shape
        native = np.dtype(f.planes[0].dtype)
        gray = f.layout.family.value == "gray"
        nch = (1 if gray else 3) + (1 if f.alpha is not None else 0)
        if plane is not None:
            shape: tuple[int, ...] = tuple(f.planes[plane].shape)
            dtype = native
        elif raw:
            shape, dtype = (len(f.planes), h, w), native
        elif depth == "float":
            shape, dtype = (h, w, nch + (2 if gray else 0)), np.dtype(np.float32)
        else:
            d = output_depth(f.color.bit_depth, None if depth is None else int(depth))
            shape = (h, w, nch)
            dtype = np.dtype(np.uint8 if int(d) <= 8 else np.uint16)
        if batch:
            shape = (1, *shape)
        return ImageProperties(shape=shape, dtype=dtype, n_images=1 if batch else None,
                               is_batch=batch)

    def metadata(self, *, index: Any = None, exclude_applied: bool = True,
                 **_: Any) -> dict[str, Any]:
        """Size, planes, depth, layout, colour and frame facts (plain JSON-able values)."""
        self._check_index(index)
        from overmix.io.dumps import read_dump_info

        f = self._frame
        assert f is not None
        info = read_dump_info(self._path)
        planes = [{"width": int(p.shape[1]), "height": int(p.shape[0]),
                   "depth": int(getattr(ip, "depth", f.color.bit_depth))}
                  for p, ip in zip(f.planes, info.planes, strict=False)]
        comp = {str(getattr(p, "compression", "")) for p in info.planes}
        return {
            "width": f.width, "height": f.height, "planes": planes, "nplanes": len(f.planes),
            "layout": f.layout.name, "bit_depth": f.color.bit_depth,
            "color": f.color.to_json(), "color_from": self._how,
            "compression": sorted(comp)[0] if len(comp) == 1 else sorted(comp),
            "index": f.index, "time": f.time, "key_frame": f.key_frame, "fields": f.fields,
            "source": str(self._path),
        }

"""Overmix project files (``*.xml.overmix``): write and read them (catalogue §8.3).

A project lets a stitch be opened and adjusted in Overmix's GUI. The structure follows
Overmix's ``ImageContainerSaver`` (element and attribute names exactly as it uses them)::

    <?xml version="1" encoding="UTF-8"?>
    <alignment>
    \t<groups>
    \t\t<group name="Auto group">
    \t\t\t<item>
    \t\t\t\t<filepath>frames/000000.dump</filepath>   (relative to the XML's folder if possible)
    \t\t\t\t<mask>-1</mask>                          (index into <masks>, -1 = none)
    \t\t\t\t<frame>-1</frame>                        (animation frame, -1 = every frame)
    \t\t\t\t<rotation>0.000000</rotation>            (radians, 6 decimals)
    \t\t\t\t<offset x="7" y="4" />                   (position of the image, doubles)
    \t\t\t\t<zoom x="1" y="1" />
    \t\t\t\t<crop left="0" top="0" right="0" bottom="0" />  (ints; chroma pixels for YCbCr)
    \t\t\t</item> ...
    \t<masks>                                          (only when there are masks)
    \t\t<mask>NAME_masks/0.dump</mask>               (1-plane dumps, white = use)

The declaration's version is ``"1"`` (Overmix writes it from a double); expat accepts it.
``offset`` is Overmix's image position on its canvas: the toolkit's offset of the frame (its
pixel (0, 0) in frame-0 luma coordinates, DESIGN §4) is the same quantity.

Frames that are not already dump files are written as dumps next to the XML, in a folder
``<name>_frames/`` (``<name>`` = the XML file name without ``.xml.overmix``), and masks in
``<name>_masks/<id>.dump``, as Overmix does.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from overmix.atomic import write_text_atomic
from overmix.color.spec import ColorInfo, Matrix, Range
from overmix.errors import FormatError, InputError, OutputError, UsageError
from overmix.frame import Family, Frame, PlaneLayout
from overmix.geometry import Offsets
from overmix.io.dumps import read_frame, write_frame

__all__ = [
    "PROJECT_SUFFIX",
    "Project",
    "ProjectItem",
    "project_basename",
    "read_project",
    "save_project",
    "write_project",
]

PROJECT_SUFFIX = ".xml.overmix"
DECLARATION = '<?xml version="1" encoding="UTF-8"?>\n'


@dataclass
class ProjectItem:
    """One image of a project.

    Attributes
    ----------
    filepath : str
        As written in the file (relative to the XML's folder when possible).
    offset : (x, y) floats
        Position of the image's pixel (0, 0) (the toolkit's frame offset).
    frame : int
        Animation frame, -1 = belongs to every frame.
    mask : int
        Index into the project's masks, -1 = none.
    rotation : float
        Radians.
    zoom : (x, y) floats
    crop : (left, top, right, bottom) ints
        Chroma pixels for Y'CbCr images (Overmix's convention).
    """

    filepath: str
    offset: tuple[float, float] = (0.0, 0.0)
    frame: int = -1
    mask: int = -1
    rotation: float = 0.0
    zoom: tuple[float, float] = (1.0, 1.0)
    crop: tuple[int, int, int, int] = (0, 0, 0, 0)


@dataclass
class Project:
    """A parsed project: named groups of items, and mask file paths.

    ``folder`` is the XML's folder, against which relative paths resolve.
    """

    groups: list[tuple[str, list[ProjectItem]]] = field(default_factory=list)
    masks: list[str] = field(default_factory=list)
    folder: Path = Path(".")

    @property
    def items(self) -> list[ProjectItem]:
        """Every item of every group, in file order."""
        return [it for _, items in self.groups for it in items]

    def resolve(self, filepath: str) -> Path:
        """Absolute path of an item or mask file."""
        p = Path(filepath)
        return p if p.is_absolute() else self.folder / p

    def offsets(self, frame_width: int = 0, frame_height: int = 0) -> Offsets:
        """The items' offsets as :class:`Offsets` (index = item order; anim = max(frame, 0))."""
        items = self.items
        if not items:
            raise InputError("the project has no images")
        xy = np.array([it.offset for it in items], dtype=np.float64)
        return Offsets(xy, list(range(len(items))), frame_width, frame_height,
                       [max(it.frame, 0) for it in items])

    def frames(self) -> Iterable[Frame]:
        """Read the items' dump files in order (colour from each dump's header)."""
        for k, it in enumerate(self.items):
            yield read_frame(self.resolve(it.filepath), index=k)

    def mask(self, mask_id: int) -> np.ndarray:
        """Mask ``mask_id`` as float32 in [0, 1] (1 = use), from plane 0 of its dump."""
        if not 0 <= mask_id < len(self.masks):
            raise InputError(f"invalid mask id {mask_id} (the project has {len(self.masks)})")
        fr = read_frame(self.resolve(self.masks[mask_id]))
        p = fr.planes[0]
        return (p.astype(np.float32) / float((1 << fr.color.bit_depth) - 1)).astype(np.float32)


def project_basename(path: str | os.PathLike[str]) -> str:
    """``scene.xml.overmix`` -> ``scene`` (the stem used for ``_frames``/``_masks`` folders)."""
    name = Path(path).name
    if name.lower().endswith(PROJECT_SUFFIX):
        return name[: -len(PROJECT_SUFFIX)] or "project"
    return name.split(".")[0] or "project"


def _num(v: float) -> str:
    """A double as Overmix writes it: ``7`` for whole numbers, else the shortest round-trip."""
    v = float(v)
    if v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


def _relative(target: Path, folder: Path) -> str:
    try:
        return Path(os.path.relpath(target.resolve(), folder.resolve())).as_posix()
    except ValueError:  # another drive (Windows)
        return target.resolve().as_posix()


def write_project(path: str | os.PathLike[str], project: Project) -> Path:
    """Write ``project`` as an ``*.xml.overmix`` file, atomically.

    Item and mask paths are written as given (make them relative to ``path``'s folder first,
    see :func:`save_project`).
    """
    path = Path(path)
    root = ET.Element("alignment")
    groups = ET.SubElement(root, "groups")
    for name, items in project.groups:
        g = ET.SubElement(groups, "group", {"name": name})
        for it in items:
            el = ET.SubElement(g, "item")
            ET.SubElement(el, "filepath").text = it.filepath
            ET.SubElement(el, "mask").text = str(int(it.mask))
            ET.SubElement(el, "frame").text = str(int(it.frame))
            ET.SubElement(el, "rotation").text = f"{float(it.rotation):.6f}"
            ET.SubElement(el, "offset", {"x": _num(it.offset[0]), "y": _num(it.offset[1])})
            ET.SubElement(el, "zoom", {"x": _num(it.zoom[0]), "y": _num(it.zoom[1])})
            left, top, right, bottom = (int(c) for c in it.crop)
            ET.SubElement(el, "crop", {"left": str(left), "top": str(top),
                                       "right": str(right), "bottom": str(bottom)})
    if project.masks:
        masks = ET.SubElement(root, "masks")
        for m in project.masks:
            ET.SubElement(masks, "mask").text = m
    ET.indent(root, space="\t")
    text = DECLARATION + ET.tostring(root, encoding="unicode") + "\n"
    try:
        write_text_atomic(path, text)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def _float(el: ET.Element | None, attr: str, default: float, where: str) -> float:
    if el is None or el.get(attr) is None:
        return default
    try:
        return float(el.get(attr, ""))
    except ValueError:
        raise FormatError(f"{where}: {el.tag} {attr}={el.get(attr)!r} is not a number") from None


def _int(text: str | None, default: int, where: str, what: str) -> int:
    if text is None or not text.strip():
        return default
    try:
        return int(text.strip())
    except ValueError:
        raise FormatError(f"{where}: <{what}> {text!r} is not an integer") from None


def read_project(path: str | os.PathLike[str]) -> Project:
    """Parse an ``*.xml.overmix`` project file.

    Raises
    ------
    InputError
        Missing or unreadable file.
    FormatError
        Invalid XML, a wrong root element, bad numbers or a mask id out of range.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"project file not found: {path}") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise FormatError(f"{path}: invalid XML ({exc})") from None
    if root.tag != "alignment":
        raise FormatError(f"{path}: not an Overmix project (root <{root.tag}>)")
    where = str(path)
    project = Project(folder=path.parent)
    for g in root.findall("./groups/group"):
        items = []
        for el in g.findall("item"):
            fp = (el.findtext("filepath") or "").strip()
            if not fp:
                raise FormatError(f"{where}: an <item> has no <filepath>")
            off, zoom, crop = el.find("offset"), el.find("zoom"), el.find("crop")
            try:
                rotation = float((el.findtext("rotation") or "0").strip() or 0)
            except ValueError:
                raise FormatError(f"{where}: <rotation> is not a number") from None
            items.append(ProjectItem(
                filepath=fp,
                offset=(_float(off, "x", 0.0, where), _float(off, "y", 0.0, where)),
                frame=_int(el.findtext("frame"), -1, where, "frame"),
                mask=_int(el.findtext("mask"), -1, where, "mask"),
                rotation=rotation,
                zoom=(_float(zoom, "x", 1.0, where), _float(zoom, "y", 1.0, where)),
                crop=tuple(int(_float(crop, a, 0.0, where))  # type: ignore[arg-type]
                           for a in ("left", "top", "right", "bottom")),
            ))
        project.groups.append((g.get("name", ""), items))
    project.masks = [(m.text or "").strip() for m in root.findall("./masks/mask")]
    for it in project.items:
        if it.mask >= len(project.masks) or it.mask < -1:
            raise FormatError(f"{where}: invalid mask id {it.mask}")
    return project


def _mask_frame(mask: np.ndarray) -> Frame:
    """An 8-bit gray frame of a use-mask (255 = use, 0 = ignore), full range."""
    m = np.asarray(mask)
    if m.dtype == bool:
        codes = np.where(m, 255, 0).astype(np.uint8)
    else:
        codes = np.clip(np.rint(m.astype(np.float64) * 255.0), 0, 255).astype(np.uint8)
    color = ColorInfo(matrix=Matrix.GRAY, range=Range.FULL, bit_depth=8)
    return Frame(planes=(codes,), layout=PlaneLayout(Family.GRAY, 1, 1), color=color)


def save_project(path: str | os.PathLike[str], offsets: Offsets,
                 frames: Sequence[Frame | str | os.PathLike[str]] | Iterable[Frame | str],
                 *, use_mask: np.ndarray | None = None, animation: bool = False,
                 group_name: str = "Auto group", compression: str = "zlib") -> Path:
    """Write a stitch as an Overmix project next to its frames.

    Parameters
    ----------
    path : path
        The ``*.xml.overmix`` file to write.
    offsets : Offsets
        Row k places ``frames[k]``.
    frames : sequence of Frame or dump paths
        A path to an existing ``*.dump`` is referenced as it is; a Frame whose ``source`` is a
        dump file is referenced too; any other Frame is written as
        ``<name>_frames/NNNNNN.dump`` next to the XML (the codes unchanged).
    use_mask : ndarray (h, w) or None
        A mask shared by every item (1/True = use, 0/False = ignore, Overmix's meaning), written
        as ``<name>_masks/0.dump``.
    animation : bool
        Write each item's animation frame (``offsets.anim``); otherwise ``-1`` (every frame).

    Returns
    -------
    Path : ``path``.
    """
    path = Path(path)
    folder = path.parent
    if not folder.is_dir():
        raise OutputError(f"folder does not exist: {folder}")
    base = project_basename(path)
    items: list[ProjectItem] = []
    frames_dir = folder / f"{base}_frames"
    k = -1
    for k, fr in enumerate(frames):
        if k >= len(offsets):
            raise UsageError("more frames than offsets for the project")
        if isinstance(fr, Frame):
            src = fr.source
            if src and Path(src).suffix.lower() == ".dump" and Path(src).is_file():
                target = Path(src)
            else:
                frames_dir.mkdir(exist_ok=True)
                target = frames_dir / f"{k:06d}.dump"
                write_frame(target, fr, compression=compression)
        else:
            target = Path(fr)
            if target.suffix.lower() != ".dump":
                raise UsageError(f"project items must be dump files: {target}")
        x, y = offsets.xy[k]
        items.append(ProjectItem(
            filepath=_relative(target, folder), offset=(float(x), float(y)),
            frame=int(offsets.anim[k]) if animation else -1,
            mask=0 if use_mask is not None else -1,
        ))
    if k + 1 != len(offsets):
        raise UsageError(f"{k + 1} frames for {len(offsets)} offsets")
    masks: list[str] = []
    if use_mask is not None:
        mdir = folder / f"{base}_masks"
        mdir.mkdir(exist_ok=True)
        write_frame(mdir / "0.dump", _mask_frame(use_mask), compression=compression)
        masks.append(f"{base}_masks/0.dump")
    return write_project(path, Project([(group_name, items)], masks, folder))

"""Overmix project files: structure per catalogue §8.3 and round trip through our reader."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from overmix.color.spec import ColorInfo
from overmix.errors import FormatError, InputError
from overmix.frame import Family, Frame, PlaneLayout
from overmix.geometry import Offsets
from overmix.io.dumps import write_frame
from overmix.io.project import Project, ProjectItem, read_project, save_project, write_project


def _frames(n: int = 3, h: int = 16, w: int = 24) -> list[Frame]:
    rng = np.random.default_rng(1)
    out = []
    for k in range(n):
        y = rng.integers(16, 236, (h, w), dtype=np.uint8)
        cb = rng.integers(16, 241, (h // 2, w // 2), dtype=np.uint8)
        cr = rng.integers(16, 241, (h // 2, w // 2), dtype=np.uint8)
        out.append(Frame((y, cb, cr), PlaneLayout(Family.YCBCR, 2, 2), ColorInfo(), index=k))
    return out


def test_structure_follows_the_catalogue(tmp_path: Path) -> None:
    frames = _frames()
    offs = Offsets(np.array([[0, 0], [7, 4], [12.25, 8.5]]), [0, 1, 2], 24, 16, [0, 1, 0])
    mask = np.ones((16, 24), dtype=bool)
    mask[:4, -6:] = False
    out = save_project(tmp_path / "scene.xml.overmix", offs, frames, use_mask=mask,
                       animation=True)
    text = out.read_text()
    assert text.startswith('<?xml version="1" encoding="UTF-8"?>\n<alignment>')
    assert "\n\t<groups>\n\t\t<group name=\"Auto group\">\n\t\t\t<item>" in text  # tab indent
    root = ET.fromstring(out.read_bytes())
    assert root.tag == "alignment"
    assert [c.tag for c in root] == ["groups", "masks"]  # masks after groups
    group = root.find("groups/group")
    assert group is not None and group.get("name") == "Auto group"
    items = group.findall("item")
    assert len(items) == 3
    for it in items:
        assert [c.tag for c in it] == ["filepath", "mask", "frame", "rotation", "offset",
                                       "zoom", "crop"]
        assert set(it.find("offset").attrib) == {"x", "y"}
        assert set(it.find("zoom").attrib) == {"x", "y"}
        assert set(it.find("crop").attrib) == {"left", "top", "right", "bottom"}
        assert it.findtext("rotation") == "0.000000"
        assert it.findtext("mask") == "0"
    second = items[1]
    assert second.find("offset").attrib == {"x": "7", "y": "4"}
    assert second.find("zoom").attrib == {"x": "1", "y": "1"}
    assert second.findtext("frame") == "1"
    assert items[2].find("offset").attrib == {"x": "12.25", "y": "8.5"}
    # frames were written as dumps next to the XML, paths relative to it
    assert items[0].findtext("filepath") == "scene_frames/000000.dump"
    assert (tmp_path / "scene_frames" / "000002.dump").is_file()
    assert root.findtext("masks/mask") == "scene_masks/0.dump"
    assert (tmp_path / "scene_masks" / "0.dump").is_file()


def test_round_trip(tmp_path: Path) -> None:
    frames = _frames()
    offs = Offsets(np.array([[0, 0], [-3.5, 2], [1e-3, -0.1]]), [0, 1, 2], 24, 16)
    out = save_project(tmp_path / "a.xml.overmix", offs, frames,
                       use_mask=np.eye(16, 24) > 0)
    proj = read_project(out)
    assert [name for name, _ in proj.groups] == ["Auto group"]
    back = proj.offsets(24, 16)
    assert np.array_equal(back.xy, offs.xy)  # doubles survive exactly
    assert [it.frame for it in proj.items] == [-1, -1, -1]
    for k, fr in enumerate(proj.frames()):
        for a, b in zip(fr.planes, frames[k].planes, strict=True):
            assert np.array_equal(a, b)
    m = proj.mask(0)
    assert m.shape == (16, 24) and np.array_equal(m > 0.5, np.eye(16, 24) > 0)
    # write what we read: the same file again
    again = write_project(tmp_path / "b.xml.overmix", proj)
    assert again.read_text() == out.read_text()


def test_existing_dumps_are_referenced_not_copied(tmp_path: Path) -> None:
    src = tmp_path / "dumps"
    src.mkdir()
    paths = []
    for k, fr in enumerate(_frames(2)):
        p = src / f"{k:06d}.dump"
        write_frame(p, fr)
        paths.append(p)
    outdir = tmp_path / "proj"
    outdir.mkdir()
    offs = Offsets(np.array([[0, 0], [2, 0]]), [0, 1], 24, 16)
    save_project(outdir / "s.xml.overmix", offs, paths)
    proj = read_project(outdir / "s.xml.overmix")
    assert [it.filepath for it in proj.items] == ["../dumps/000000.dump", "../dumps/000001.dump"]
    assert not (outdir / "s_frames").exists()
    assert proj.resolve(proj.items[1].filepath).resolve() == paths[1].resolve()


def test_reads_overmix_written_text(tmp_path: Path) -> None:
    """The catalogue's verified Overmix output (abridged) parses."""
    text = (
        '<?xml version="1" encoding="UTF-8"?>\n<alignment>\n\t<groups>\n'
        '\t\t<group name="Auto group">\n\t\t\t<item>\n'
        "\t\t\t\t<filepath>frame_01.png.dump</filepath>\n\t\t\t\t<mask>-1</mask>\n"
        "\t\t\t\t<frame>-1\n</frame>\n\t\t\t\t<rotation>0.000000</rotation>\n"
        '\t\t\t\t<offset x="7" y="4" />\n\t\t\t\t<zoom x="1" y="1" />\n'
        '\t\t\t\t<crop left="0" top="0" right="0" bottom="0" />\n'
        "\t\t\t</item>\n\t\t</group>\n\t</groups>\n</alignment>\n"
    )
    p = tmp_path / "o.xml.overmix"
    p.write_text(text)
    proj = read_project(p)
    (item,) = proj.items
    assert item == ProjectItem("frame_01.png.dump", (7.0, 4.0), -1, -1, 0.0, (1.0, 1.0),
                               (0, 0, 0, 0))
    assert proj.masks == []


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        read_project(tmp_path / "missing.xml.overmix")
    bad = tmp_path / "bad.xml.overmix"
    bad.write_text("<alignment><groups>")
    with pytest.raises(FormatError, match="invalid XML"):
        read_project(bad)
    bad.write_text("<foo/>")
    with pytest.raises(FormatError, match="not an Overmix project"):
        read_project(bad)
    bad.write_text("<alignment><groups><group name='g'><item><filepath>a.dump</filepath>"
                   "<mask>3</mask></item></group></groups></alignment>")
    with pytest.raises(FormatError, match="invalid mask id"):
        read_project(bad)
    assert isinstance(Project().items, list)

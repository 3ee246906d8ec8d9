"""Contact sheets: thumbnails of a dump folder or a video range, for choosing ranges by eye.

Each selected frame becomes a tile: the thumbnail (area-averaged from R'G'B' made by the
colour pipeline), a coloured border that marks what the frame is, and a caption with the
frame's display index and time drawn in a tiny built-in 5x7 bitmap font (no imaging library).

Layout (pixels; the sheet is 8-bit R'G'B'):

- a margin of :data:`MARGIN` around the sheet and :data:`GAP` between tiles;
- tile ``k`` sits in row ``k // columns``, column ``k % columns``, its top-left corner at
  ``x = MARGIN + col * (tile_w + GAP)``, ``y = MARGIN + row * (tile_h + GAP)`` with
  ``tile_w = thumb_w + 2 * BORDER`` and ``tile_h = thumb_h + 2 * BORDER + PAD + lines * LINE``;
- the thumbnail fills ``[y + BORDER, y + BORDER + thumb_h) x [x + BORDER, x + BORDER + thumb_w)``,
  surrounded by a ``BORDER``-pixel frame: :data:`DROPPED` (red, thumbnail dimmed to grey) for
  frames dedup drops, else :data:`KEY` (orange) for key frames, else :data:`PLAIN` (grey);
- IVTC marks: a :data:`MATCHED` (blue) ``MARK`` x ``MARK`` square in the thumbnail's top-right
  corner for a frame IVTC wove from the fields of two coded frames; the tile's right border
  (``BORDER`` px) in :data:`DROPPED` (red) when decimation dropped the coded frame after it;
- the caption below: ``#index`` on the left, the time in seconds (``12.345s``) on the right;
  a second line, when IVTC or dedup ran, shows the fields (``12t+13b``, plus ``x14`` when
  coded frame 14 was decimated after it) or ``dup 11`` for a dropped duplicate of frame 11.

With ``every`` > 1 only the selected frames are read where that is cheaper: single files of a
dump/PNG folder, frame-accurate seeks in a video from ``every >= SEEK_EVERY`` on.
"""

from __future__ import annotations

import bisect
import math
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from overmix.atomic import check_input
from overmix.color.convert import to_rgb
from overmix.color.dither import quantize
from overmix.commands.options import command_options
from overmix.commands.paths import check_not_input
from overmix.errors import UsageError
from overmix.frame import Frame
from overmix.io import png
from overmix.io.sources import open_source
from overmix.progress import ProgressCallback, no_progress
from overmix.video.dedup import dedup_frames

__all__ = [
    "preview",
    "BACKGROUND", "BORDER", "DROPPED", "GAP", "KEY", "LINE", "MARGIN", "MARK", "MATCHED", "PAD",
    "PLAIN", "TEXT", "ContactSheet", "Tile", "contact_sheet", "render_text", "write_contact_sheet",
]

MARGIN = 4
MARK = 6
GAP = 4
BORDER = 3
PAD = 2
LINE = 9  # 7-pixel glyphs plus 2 pixels of leading

BACKGROUND = (24, 24, 24)
PLAIN = (80, 80, 80)
KEY = (255, 170, 0)
MATCHED = (40, 140, 255)
DROPPED = (220, 30, 30)
TEXT = (235, 235, 235)

# 5x7 glyphs: 7 rows of 5 pixels per character ("#" = ink).
_GLYPH_ROWS: dict[str, tuple[str, ...]] = {
    "0": (".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."),
    "1": ("..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."),
    "2": (".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"),
    "3": ("#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."),
    "4": ("...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."),
    "5": ("#####", "#....", "####.", "....#", "....#", "#...#", ".###."),
    "6": ("..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."),
    "7": ("#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."),
    "8": (".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."),
    "9": (".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."),
    ".": (".....", ".....", ".....", ".....", ".....", ".##..", ".##.."),
    ":": (".....", ".##..", ".##..", ".....", ".##..", ".##..", "....."),
    "#": (".#.#.", ".#.#.", "#####", ".#.#.", "#####", ".#.#.", ".#.#."),
    "+": (".....", "..#..", "..#..", "#####", "..#..", "..#..", "....."),
    "-": (".....", ".....", ".....", "#####", ".....", ".....", "....."),
    "/": (".....", "....#", "...#.", "..#..", ".#...", "#....", "....."),
    "=": (".....", ".....", "#####", ".....", "#####", ".....", "....."),
    "s": (".....", ".....", ".####", "#....", ".###.", "....#", "####."),
    "t": (".#...", ".#...", "####.", ".#...", ".#...", ".#..#", "..##."),
    "b": ("#....", "#....", "#.##.", "##..#", "#...#", "#...#", "####."),
    "k": ("#....", "#....", "#..#.", "#.#..", "##...", "#.#..", "#..#."),
    "d": ("....#", "....#", ".##.#", "#..##", "#...#", "#...#", ".####"),
    "u": (".....", ".....", "#...#", "#...#", "#...#", "#..##", ".##.#"),
    "p": (".....", ".....", "####.", "#...#", "####.", "#....", "#...."),
    "x": (".....", ".....", "#...#", ".#.#.", "..#..", ".#.#.", "#...#"),
    "?": (".###.", "#...#", "....#", "...#.", "..#..", ".....", "..#.."),
    " ": (".....",) * 7,
}


def _glyph(rows: tuple[str, ...]) -> np.ndarray:
    return np.frombuffer("".join(rows).encode(), np.uint8).reshape(7, 5) == ord("#")


_FONT = {ch: _glyph(rows) for ch, rows in _GLYPH_ROWS.items()}


def render_text(text: str) -> np.ndarray:
    """A bool mask (7, 6 * len(text) - 1) of ``text`` in the 5x7 font (1 px between glyphs).

    Characters outside the font (digits, ``. : # + - / = s t b k d u p x`` and space) are
    drawn as ``?``.
    """
    if not text:
        return np.zeros((7, 0), dtype=bool)
    space = np.zeros((7, 1), dtype=bool)
    parts: list[np.ndarray] = []
    for ch in text:
        parts += [_FONT.get(ch, _FONT["?"]), space]
    return np.concatenate(parts[:-1], axis=1)


def _area_weights(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) matrix averaging input samples over each output sample's footprint."""
    scale = n_in / n_out
    lo = np.arange(n_out)[:, None] * scale
    hi = lo + scale
    j = np.arange(n_in)[None, :]
    overlap = np.clip(np.minimum(hi, j + 1) - np.maximum(lo, j), 0, None)
    return overlap / overlap.sum(axis=1, keepdims=True)


def thumbnail(frame: Frame, width: int) -> np.ndarray:
    """The frame as an area-averaged R'G'B' float32 thumbnail ``(round(h * width / w), width, 3)``.

    Colour through :func:`overmix.color.convert.to_rgb` (matrix, range and chroma siting of
    the frame); the thumbnail height keeps the storage aspect ratio.
    """
    rgb = to_rgb(frame.planes, frame.color, family=frame.layout.family,
                 sub_x=frame.layout.sub_x, sub_y=frame.layout.sub_y)
    h, w = rgb.shape[:2]
    th = max(1, round(h * width / w))
    wy = _area_weights(h, th).astype(np.float32)
    wx = _area_weights(w, width).astype(np.float32)
    small = np.einsum("yh,hwc->ywc", wy, rgb, optimize=True)
    return np.einsum("xw,ywc->yxc", wx, small, optimize=True)


@dataclass
class Tile:
    """One thumbnail on the sheet: which frame, what it is and where it was drawn.

    ``x``, ``y`` are the tile's top-left corner; ``thumb`` is the thumbnail's box
    ``(x, y, width, height)`` on the sheet.
    """

    index: int
    time: float | None
    key_frame: bool
    fields: str | None
    dropped: bool
    duplicate_of: int | None
    matched: bool
    decimated_after: int | None = None
    x: int = 0
    y: int = 0
    thumb: tuple[int, int, int, int] = (0, 0, 0, 0)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ContactSheet:
    """The composed sheet (``image``: uint8 (H, W, 3) R'G'B') and its tiles."""

    image: np.ndarray
    tiles: list[Tile]
    columns: int
    thumb_size: tuple[int, int]  # (width, height)
    info: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"width": int(self.image.shape[1]), "height": int(self.image.shape[0]),
                "columns": self.columns, "thumb_width": self.thumb_size[0],
                "thumb_height": self.thumb_size[1], "tiles": [t.to_json() for t in self.tiles],
                "source": self.info}


_FIELDS_RE = re.compile(r"^(\d+)[tb]\+(\d+)[tb]$")


def _matched(fields: str | None) -> bool:
    """True when IVTC built the frame from fields of two different coded frames."""
    if not fields:
        return False
    m = _FIELDS_RE.match(fields.strip())
    return bool(m) and m.group(1) != m.group(2)


def _ordinal(fields: str | None) -> int | None:
    """The coded frame whose kept field starts ``fields`` (``"12t+13b"`` → 12)."""
    if not fields:
        return None
    head = fields.split("+")[0].rstrip("tb")
    return int(head) if head.isdigit() else None


def _mark_decimation(tiles: list[Tile], info: dict[str, Any]) -> None:
    """Set ``decimated_after`` on the tile shown just before each decimated coded frame."""
    ivtc = info.get("ivtc") if isinstance(info.get("ivtc"), dict) else None
    result = ivtc.get("result") if ivtc else None
    dropped = result.get("dropped") if isinstance(result, dict) else None
    if not dropped:
        return
    shown = sorted((o, i) for i, t in enumerate(tiles) if (o := _ordinal(t.fields)) is not None)
    keys = [o for o, _ in shown]
    for d in dropped:
        j = bisect.bisect_left(keys, int(d)) - 1
        if j >= 0 and int(d) - keys[j] <= 2:  # the kept frame right before it
            tiles[shown[j][1]].decimated_after = int(d)


def _each_frame(src: Any, dedup: bool,
                handle: Callable[[Frame, dict[str, Any] | None], None]) -> None:
    """Call ``handle(frame, dedup_decision)`` for every frame of ``src`` in order.

    Without ``dedup`` the decision is what a dump folder's ``scene.json`` recorded (or
    ``None``). With ``dedup`` (videos; the source was opened *without* dedup) every frame
    goes through :func:`overmix.video.dedup.dedup_frames` and is handed over with its log
    entry, so dropped frames are shown too; each frame is handled as soon as its decision
    exists, so a long run of duplicates is never held in memory.
    """
    if not dedup:
        for f in src:
            handle(f, _manifest_dedup(f))
        return
    if src.kind != "video":
        raise UsageError("--dedup applies to videos; a dump folder shows the decisions "
                         "recorded in its scene.json")
    log: dict[str, Any] = {}

    def feed() -> Iterator[Frame]:
        prev = None
        for f in src:
            if prev is not None:  # dedup_frames logged prev before asking for f
                handle(prev, log["frames"][-1])
            prev = f
            yield f
        if prev is not None:
            handle(prev, log["frames"][-1])

    for _ in dedup_frames(feed(), None, src.color.bit_depth, log):
        pass


SEEK_EVERY = 48  # videos: from this --every on, seeking beats decoding every frame


def _sparse_openers(src: Any, path: str | os.PathLike[str], every: int, ivtc: str,
                    seek: bool | None) -> list[Callable[[], Any]] | None:
    """Openers of one-frame sources for the selected frames, or ``None`` for one pass.

    Dump/PNG folders: each selected file is opened on its own (with ``every > 1``), so the
    others are never decompressed. Videos: each selected frame is reached by a
    frame-accurate seek when ``every >= SEEK_EVERY`` (or ``seek=True``) and the numbering is
    the coded one (no hard IVTC: its frame numbers need a linear pass anyway).
    """
    if every == 1 or seek is False:
        return None
    if src.kind in ("dumps", "png") and getattr(src, "files", None):
        return [lambda f=f: open_source(f) for f in src.files[::every]]
    if src.kind != "video" or (seek is None and every < SEEK_EVERY):
        return None
    selection = getattr(src, "selection", None)
    decision = getattr(src, "ivtc_decision", {}) or {}
    if selection is None or decision.get("mode") == "hard":
        return None
    # the stream's decision, so each one-frame open does not analyse the telecine again
    mode = "off" if decision.get("mode") == "off" else ivtc
    return [lambda k=k: open_source(path, start=k, frames=1, ivtc=mode)
            for k in selection[::every]]


def _manifest_dedup(frame: Frame) -> dict[str, Any] | None:
    d = frame.extra.get("dedup")
    return d if isinstance(d, dict) else None


def contact_sheet(path: str | os.PathLike[str], *, seek: bool | None = None,
                  progress: ProgressCallback = no_progress, **options: Any) -> ContactSheet:
    """Compose a contact sheet of a dump folder/file, a PNG folder or a video range.

    Parameters
    ----------
    path : input (anything :func:`overmix.io.sources.open_source` opens).
    options : those of ``overmix preview`` (:data:`~overmix.commands.options.OPTIONS`):
    every : int
        Keep every ``every``-th frame of the range (the first is always kept).
    start, end : frame index or time of the range ``[start, end)``; with ``dedup`` they count
        the frames before dedup.
    columns : int
        Tiles per row.
    thumb_width : int
        Thumbnail width in pixels (height follows the frame's aspect ratio).
    ivtc, dedup : video options; their decisions are marked on the tiles.
    seek : bool or None
        Read only the selected frames (seek in videos, open single files of folders) instead
        of one pass over the range; ``None`` decides (folders with ``every > 1``, videos with
        ``every >= SEEK_EVERY`` and no hard IVTC).
    progress : callback, stages ``"decode"`` and ``"thumbnails"``.

    Returns
    -------
    ContactSheet
    """
    o = command_options("preview", options)
    every, start, end, ivtc, dedup = o["every"], o["start"], o["end"], o["ivtc"], o["dedup"]
    columns, thumb_width = o["columns"], o["thumb_width"]
    src = open_source(path, start=start, end=end, ivtc=ivtc, dedup=False,
                      progress=lambda s, d, t: progress("decode", d, t))
    thumbs: list[np.ndarray] = []
    tiles: list[Tile] = []
    total = src.count
    indices: list[int] = []  # frame index by position in the stream (dedup's "ordinal")
    expected = None if total is None else -(-total // every)

    def add_tile(frame: Frame, decision: dict[str, Any] | None) -> None:
        dropped = bool(decision is not None and decision.get("kept") is False)
        dup = decision.get("duplicate_of") if decision else None
        if dedup and isinstance(dup, int) and 0 <= dup < len(indices):
            dup = indices[dup]  # the video path logs stream positions
        tiles.append(Tile(index=int(frame.index), time=frame.time,
                          key_frame=bool(frame.key_frame), fields=frame.fields,
                          dropped=dropped, duplicate_of=int(dup) if isinstance(dup, int) else None,
                          matched=_matched(frame.fields)))
        thumbs.append(thumbnail(frame, thumb_width))
        progress("thumbnails", len(tiles), expected)

    def handle(frame: Frame, decision: dict[str, Any] | None) -> None:
        k = len(indices)
        indices.append(int(frame.index))
        if k % every == 0:
            add_tile(frame, decision)

    with src:
        sparse = None if dedup else _sparse_openers(src, path, every, ivtc, seek)
        if sparse is None:  # one pass over every frame of the range
            _each_frame(src, dedup, handle)
        else:  # only the selected frames are read (seek / open one file each)
            for opener in sparse:
                with opener() as one:
                    frame = next(iter(one), None)
                if frame is not None:
                    add_tile(frame, _manifest_dedup(frame))
        info = dict(src.info)  # after iterating: IVTC/dedup results are filled in then
    if not tiles:
        raise UsageError("no frame selected")
    if every == 1:  # with gaps the frame before a decimated one may not be on the sheet
        _mark_decimation(tiles, info)
    lines = 2 if any(t.fields or t.dropped or t.duplicate_of is not None for t in tiles) else 1
    image = _compose(thumbs, tiles, columns, lines)
    th = thumbs[0].shape[0]
    return ContactSheet(image, tiles, min(columns, len(tiles)), (thumb_width, th),
                        {k: v for k, v in info.items() if k in ("kind", "path", "source",
                                                                "frames", "ivtc")})


def _compose(thumbs: list[np.ndarray], tiles: list[Tile], columns: int, lines: int
             ) -> np.ndarray:
    th, tw = thumbs[0].shape[:2]
    cols = min(columns, len(tiles))
    rows = math.ceil(len(tiles) / cols)
    tile_w = tw + 2 * BORDER
    tile_h = th + 2 * BORDER + PAD + lines * LINE
    width = 2 * MARGIN + cols * tile_w + (cols - 1) * GAP
    height = 2 * MARGIN + rows * tile_h + (rows - 1) * GAP
    sheet = np.empty((height, width, 3), dtype=np.uint8)
    sheet[:] = BACKGROUND
    for k, (thumb, tile) in enumerate(zip(thumbs, tiles, strict=True)):
        r, c = divmod(k, cols)
        x, y = MARGIN + c * (tile_w + GAP), MARGIN + r * (tile_h + GAP)
        tile.x, tile.y = x, y
        if thumb.shape[:2] != (th, tw):  # a frame of another size: letterbox it
            thumb = _fit(thumb, th, tw)
        codes = quantize(np.clip(thumb, 0, 1), 8)
        if tile.dropped:
            # dimmed grey: BT.709 luma weights, pulled halfway to the background
            luma = codes[..., :3].astype(np.float32) @ np.float32([0.2126, 0.7152, 0.0722])
            codes = np.repeat(np.rint(0.5 * luma + 0.5 * BACKGROUND[0]).astype(np.uint8)[..., None],
                              3, axis=2)
        colour = DROPPED if tile.dropped else KEY if tile.key_frame else PLAIN
        sheet[y:y + th + 2 * BORDER, x:x + tile_w] = colour
        sheet[y + BORDER:y + BORDER + th, x + BORDER:x + BORDER + tw] = codes
        if tile.matched:
            m = min(MARK, th, tw)
            sheet[y + BORDER:y + BORDER + m, x + BORDER + tw - m:x + BORDER + tw] = MATCHED
        if tile.decimated_after is not None:
            sheet[y:y + th + 2 * BORDER, x + tile_w - BORDER:x + tile_w] = DROPPED
        tile.thumb = (x + BORDER, y + BORDER, tw, th)
        ty = y + th + 2 * BORDER + PAD
        left = f"#{tile.index}"
        right = f"{tile.time:.3f}s" if tile.time is not None else ""
        _draw(sheet, render_text(left), ty, x + BORDER, tile_w - 2 * BORDER)
        rmask = render_text(right)
        room = tile_w - 2 * BORDER - render_text(left).shape[1] - 6
        if rmask.shape[1] and rmask.shape[1] <= room:
            _draw(sheet, rmask, ty, x + tile_w - BORDER - rmask.shape[1], rmask.shape[1])
        if lines > 1:
            second = f"dup {tile.duplicate_of}" if tile.dropped and tile.duplicate_of is not None \
                else "dup" if tile.dropped else (tile.fields or "") + (
                    f" x{tile.decimated_after}" if tile.decimated_after is not None else "")
            _draw(sheet, render_text(second), ty + LINE, x + BORDER, tile_w - 2 * BORDER)
    return sheet


def _draw(sheet: np.ndarray, mask: np.ndarray, y: int, x: int, max_w: int) -> None:
    """Paint ``mask`` in :data:`TEXT` at (y, x), clipped to ``max_w`` columns."""
    mask = mask[:, :max(0, max_w)]
    h, w = mask.shape
    region = sheet[y:y + h, x:x + w]
    region[mask[: region.shape[0], : region.shape[1]]] = TEXT


def _fit(thumb: np.ndarray, th: int, tw: int) -> np.ndarray:
    """Scale a thumbnail of another aspect into (th, tw), centred on the background."""
    h, w = thumb.shape[:2]
    s = min(th / h, tw / w)
    nh, nw = max(1, round(h * s)), max(1, round(w * s))
    wy = _area_weights(h, nh).astype(np.float32)
    wx = _area_weights(w, nw).astype(np.float32)
    small = np.einsum("xw,ywc->yxc", wx, np.einsum("yh,hwc->ywc", wy, thumb))
    out = np.empty((th, tw, 3), dtype=np.float32)
    out[:] = np.float32(BACKGROUND) / 255
    oy, ox = (th - nh) // 2, (tw - nw) // 2
    out[oy:oy + nh, ox:ox + nw] = small
    return out


def write_contact_sheet(sheet: ContactSheet, path: str | os.PathLike[str]) -> Path:
    """Write the sheet as an 8-bit RGB PNG, atomically."""
    return png.write_png(path, sheet.image)


def preview(input: str | os.PathLike[str], output: str | os.PathLike[str], *,
            progress: ProgressCallback = no_progress, **options: Any) -> ContactSheet:
    """``overmix preview``: the contact sheet of ``input`` written to ``output``."""
    check_input(input)
    check_not_input([input], [output])  # before the work; again at the write
    sheet = contact_sheet(input, progress=progress, **options)
    write_contact_sheet(sheet, output)
    return sheet

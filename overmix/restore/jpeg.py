"""Estimating the picture behind several JPEG files of it (catalogue §6.6, done properly).

Each JPEG file says, for every 8x8 block of every component, in which quantisation interval
each DCT coefficient of the original lies: ``coef ∈ [(k - 1/2) Q, (k + 1/2) Q]``. The picture that
best explains every file lies in the intersection of these convex sets (one per file, at the
file's position on the canvas), and in ``[0, 255]``. We find a point there by averaged
projections onto convex sets (POCS), starting from the average of the decoded files, with an
optional total-variation step between projections (the deblocking prior of classic POCS JPEG
restoration, e.g. Zakhor 1992, "Iterative procedures for reduction of blocking effects in
transform image coding", IEEE TCSVT 2(1), doi:10.1109/76.134377). When files are shifted by
amounts that are not multiples of 8 pixels their block grids differ, the intersection is much
smaller than any one set, and the estimate is much closer to the original than any decoding.

Unlike Overmix's JpegRender: the coefficients are read from every file (not re-quantised from a
decoded image with one sample table), every component is constrained at its own (subsampled)
resolution with its own table, blocks are anchored at each file's own origin, and the loop
stops on a real convergence test.

Conventions: the JPEG DCT is the orthonormal 8x8 DCT-II of samples minus 128 (ITU-T T.81
A.3.3), i.e. ``scipy.fft.dctn(block - 128, norm="ortho")``. Subsampled components are taken as
box means of the full-resolution component over ``fx x fy`` cells (libjpeg's downsampler), so the
exact projection back to full resolution replicates each correction over its cell. Results are
JFIF Y'CbCr (ITU-R BT.601 matrix, full range, chroma sited at cell centres) as working planes:
Y' in [0, 1], Cb/Cr in [-0.5, 0.5], all at full luma resolution.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import fft

from overmix.errors import InputError, UnsupportedError, UsageError
from overmix.geometry import Canvas
from overmix.progress import ProgressCallback, no_progress

__all__ = [
    "JpegEstimate",
    "JpegFile",
    "JpegLumas",
    "estimate_from_jpegs",
    "deblock_average",
    "jpeg_paths",
    "read_jpeg",
]

JPEG_SUFFIXES = (".jpg", ".jpeg", ".jpe", ".jfif")


def jpeg_paths(path: str | os.PathLike[str]) -> list[Path]:
    """The JPEG files of an input: the file itself, or a folder's JPEGs sorted by name.

    Raises :class:`InputError` when the path is missing or a folder has no JPEG files.
    """
    p = Path(path)
    if p.is_dir():
        files = sorted(f for f in p.iterdir() if f.suffix.lower() in JPEG_SUFFIXES)
        if not files:
            raise InputError(f"no JPEG files (*.jpg, *.jpeg) in {p}")
        return files
    if not p.exists():
        raise InputError(f"input not found: {p}")
    return [p]


def _jpeglib() -> Any:
    try:
        return importlib.import_module("jpeglib")
    except ImportError:
        raise UnsupportedError(
            "JPEG coefficient estimation needs jpeglib: install overmix[jpeg]"
        ) from None


@dataclass
class JpegComponent:
    """One component of a JPEG file.

    Attributes
    ----------
    coef : ndarray (nby, nbx, 8, 8), int16
        Quantised DCT coefficients ``[block row, block col, vertical freq, horizontal freq]``.
    qt : ndarray (8, 8), float64
        Its quantisation table.
    fx, fy : int
        Subsampling factors relative to the full-resolution luma grid.
    width, height : int
        The component's size in samples (``ceil(W / fx)`` x ``ceil(H / fy)``).
    """

    coef: np.ndarray
    qt: np.ndarray
    fx: int
    fy: int
    width: int
    height: int


@dataclass
class JpegFile:
    """The coefficients of one JPEG file: ``width x height`` pixels, 1 or 3 components."""

    path: Path
    width: int
    height: int
    components: list[JpegComponent]


def read_jpeg(path: str | os.PathLike[str]) -> JpegFile:
    """Read the DCT coefficients and quantisation tables of a baseline or progressive JPEG.

    Raises
    ------
    InputError
        When the file is missing or not a JPEG (no DCT coefficients to constrain with).
    UnsupportedError
        For CMYK/YCCK files or when jpeglib is not installed.
    """
    p = Path(path)
    try:
        with open(p, "rb") as fh:
            magic = fh.read(3)
    except OSError as exc:
        raise InputError(f"cannot read {p}: {exc.strerror or exc}") from None
    if magic[:2] != b"\xff\xd8":
        raise InputError(f"{p} is not a JPEG file: no DCT coefficients to estimate from")
    jpeglib = _jpeglib()
    try:
        d = jpeglib.read_dct(str(p))
        d.load()
    except Exception as exc:  # jpeglib raises plain exceptions from libjpeg
        raise InputError(f"{p}: cannot read JPEG coefficients ({exc})") from None
    comps = [d.Y] + ([d.Cb, d.Cr] if d.has_chrominance else [])
    if d.has_black:
        raise UnsupportedError(f"{p}: CMYK/YCCK JPEG files are not supported")
    samp = np.asarray(d.samp_factor).reshape(-1, 2)  # per component (h, v)
    hmax, vmax = int(samp[:, 0].max()), int(samp[:, 1].max())
    tbl = np.asarray(d.quant_tbl_no).ravel()
    out = []
    for i, coef in enumerate(comps):
        fx, fy = hmax // int(samp[i, 0]), vmax // int(samp[i, 1])
        qt = np.asarray(d.qt[int(tbl[i])], dtype=np.float64)
        out.append(JpegComponent(np.asarray(coef, dtype=np.int16), qt, fx, fy,
                                 -(-int(d.width) // fx), -(-int(d.height) // fy)))
    return JpegFile(p, int(d.width), int(d.height), out)


def _decode_component(c: JpegComponent) -> np.ndarray:
    """Samples (8-bit units, float64, unclamped) of one component at its own resolution."""
    blocks = fft.idctn(c.coef.astype(np.float64) * c.qt, axes=(-2, -1), norm="ortho") + 128.0
    nby, nbx = blocks.shape[:2]
    plane = blocks.transpose(0, 2, 1, 3).reshape(nby * 8, nbx * 8)
    return plane[: c.height, : c.width]


class JpegLumas:
    """The Y' planes of JPEG files, decoded on demand from their coefficients (for alignment).

    ``len()`` files; ``luma(k)`` is float32 (H, W) in [0, 1]; ``shapes`` lists (H, W) per file.
    """

    def __init__(self, paths: list[str | os.PathLike[str]]) -> None:
        self.paths = [Path(p) for p in paths]
        self.shapes = []
        for p in self.paths:
            f = read_jpeg(p)
            self.shapes.append((f.height, f.width))

    def __len__(self) -> int:
        return len(self.paths)

    def luma(self, k: int) -> np.ndarray:
        y = _decode_component(read_jpeg(self.paths[k]).components[0])
        return (np.clip(y, 0, 255) / 255.0).astype(np.float32)

    def __getitem__(self, k: int) -> np.ndarray:
        return self.luma(k)


def _down(x: np.ndarray, fx: int, fy: int) -> np.ndarray:
    """Box mean over ``fx x fy`` cells (edge cells over their visible pixels)."""
    if fx == 1 and fy == 1:
        return x
    h, w = x.shape
    ch, cw = -(-h // fy), -(-w // fx)
    xp = np.pad(x, ((0, ch * fy - h), (0, cw * fx - w)), mode="edge")
    return xp.reshape(ch, fy, cw, fx).mean(axis=(1, 3))


def _up(z: np.ndarray, fx: int, fy: int, shape: tuple[int, int]) -> np.ndarray:
    """Replicate each sample over its ``fx x fy`` cell, cropped to ``shape``."""
    if fx == 1 and fy == 1:
        return z[: shape[0], : shape[1]]
    return np.repeat(np.repeat(z, fy, axis=0), fx, axis=1)[: shape[0], : shape[1]]


def _project_component(z: np.ndarray, c: JpegComponent) -> np.ndarray:
    """Project component samples ``z`` (its own resolution, 8-bit units) onto the file's
    quantisation intervals; returns the correction to add to ``z``."""
    nby, nbx = c.coef.shape[:2]
    h, w = z.shape
    zp = np.pad(z, ((0, nby * 8 - h), (0, nbx * 8 - w)), mode="edge")  # encoder pads by edge
    blocks = zp.reshape(nby, 8, nbx, 8).transpose(0, 2, 1, 3) - 128.0
    d = fft.dctn(blocks, axes=(-2, -1), norm="ortho")
    centre = c.coef * c.qt
    lo, hi = centre - 0.5 * c.qt, centre + 0.5 * c.qt
    dd = np.clip(d, lo, hi) - d
    corr = fft.idctn(dd, axes=(-2, -1), norm="ortho")
    return corr.transpose(0, 2, 1, 3).reshape(nby * 8, nbx * 8)[:h, :w]


def _tv_step(x: np.ndarray, weight: float, eps: float = 1.0) -> np.ndarray:
    """One explicit step down the total-variation gradient (8-bit units)."""
    gx = np.diff(x, axis=1, append=x[:, -1:])
    gy = np.diff(x, axis=0, append=x[-1:, :])
    mag = np.sqrt(gx * gx + gy * gy + eps * eps)
    nx, ny = gx / mag, gy / mag
    div = nx - np.pad(nx[:, :-1], ((0, 0), (1, 0)))
    div += ny - np.pad(ny[:-1, :], ((1, 0), (0, 0)))
    return x + weight * div


@dataclass
class JpegEstimate:
    """Result of :func:`estimate_from_jpegs`.

    Attributes
    ----------
    planes : tuple of ndarray (H, W) float32
        JFIF Y'CbCr working planes (Y' in [0, 1], Cb/Cr in [-0.5, 0.5]) on the canvas, chroma
        at full resolution; one plane for grayscale files.
    average : tuple of ndarray
        The plain average of the decoded files (same layout), for comparison.
    weight : ndarray (H, W) float32
        Number of files covering each canvas pixel.
    canvas : Canvas
    iterations : int
        Iterations run (fewer when converged).
    changes : list of float
        RMS change (8-bit units) per iteration.
    frame_size : (width, height)
        Largest file size.
    """

    planes: tuple[np.ndarray, ...]
    average: tuple[np.ndarray, ...]
    weight: np.ndarray
    canvas: Canvas
    iterations: int
    changes: list[float] = field(default_factory=list)
    frame_size: tuple[int, int] = (0, 0)


def _to_working(planes: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    # JFIF (ITU-T T.871): full-range 8-bit codes, chroma offset 128
    out = [np.asarray(planes[0] / 255.0, np.float32)]
    out += [np.asarray((p - 128.0) / 255.0, np.float32) for p in planes[1:]]
    return tuple(out)


def estimate_from_jpegs(paths: list[str | os.PathLike[str]], *, iterations: int = 40,
                        offsets: np.ndarray | None = None, tv: float = 0.25,
                        relax: float = 1.0, tol: float = 0.01,
                        progress: ProgressCallback | None = None) -> JpegEstimate:
    """Estimate the picture that every JPEG file is a compressed (shifted) copy of.

    Parameters
    ----------
    paths : list of path
        JPEG files of the same picture (any quality; each with its own tables).
    iterations : int
        Maximum number of projection rounds (each reads every file's coefficients once).
    offsets : ndarray (n, 2) or None
        ``(x, y)`` of each file's pixel (0, 0) in the coordinates of the first file (DESIGN §4),
        whole pixels; None = all files at (0, 0) (then they must have the same size).
    tv : float
        Step of the total-variation (deblocking) prior between projections, 8-bit units
        (0 = pure POCS, which barely moves off the average at low qualities, whose intervals
        are wide; 0.15-0.3 measured best on drawn scenes at quality 25).
    relax : float
        Over-relaxation of the averaged projection (1 = plain average; up to ~1.8).
    tol : float
        Stop when the RMS change of a round falls below this (8-bit units).
    progress : ProgressCallback
        ``("jpeg", round, iterations)``.

    Returns
    -------
    JpegEstimate

    Raises
    ------
    InputError
        No files, a file that is not a JPEG, files of different component layouts, sub-pixel
        offsets.
    """
    progress = progress or no_progress
    if not paths:
        raise InputError("no JPEG files given")
    if iterations < 0:
        raise UsageError("iterations must be ≥ 0")
    files = [read_jpeg(p) for p in paths]  # coefficients are int16: ~2 bytes per sample
    ncomp = len(files[0].components)
    for f in files:
        if len(f.components) != ncomp:
            raise InputError(f"{f.path}: {len(f.components)} components, expected {ncomp}")
    xy = _whole_offsets(files, offsets)
    w_max = max(f.width for f in files)
    h_max = max(f.height for f in files)
    canvas = Canvas.covering(xy, w_max, h_max)
    # each file's region on the canvas
    regions = []
    for f, (x, y) in zip(files, xy, strict=True):
        r0, c0 = int(y - canvas.y), int(x - canvas.x)
        regions.append((slice(r0, r0 + f.height), slice(c0, c0 + f.width)))
    shape = (canvas.height, canvas.width)

    # initial estimate: the average of the decoded files (chroma replicated to full size)
    avg, cnt, covered = _average(files, regions, shape, ncomp)
    x_est = [a.copy() for a in avg]

    changes: list[float] = []
    it = 0
    for it in range(1, iterations + 1):
        if tv > 0:
            x_est = [_tv_step(p, tv) for p in x_est]
        change = _project_round(x_est, files, regions, covered, cnt, relax)
        changes.append(float(np.sqrt(change / ncomp)))
        progress("jpeg", it, iterations)
        if changes[-1] < tol:
            break
    return JpegEstimate(_to_working(x_est), _to_working(avg), cnt.astype(np.float32), canvas,
                        it if iterations else 0, changes, (w_max, h_max))


def _whole_offsets(files: list[JpegFile], offsets: np.ndarray | None) -> np.ndarray:
    """Each file's (x, y), checked to be whole pixels (all (0, 0) when None: same sizes)."""
    n = len(files)
    if offsets is None:
        sizes = {(f.width, f.height) for f in files}
        if len(sizes) > 1:
            raise InputError("JPEG files of different sizes need offsets")
        xy = np.zeros((n, 2))
    else:
        xy = np.asarray(offsets, dtype=np.float64).reshape(-1, 2)
        if len(xy) != n:
            raise InputError(f"{len(xy)} offsets for {n} JPEG files")
        if np.abs(xy - np.round(xy)).max() > 0.02:
            raise InputError("JPEG estimation needs whole-pixel offsets between the files")
        xy = np.round(xy)
    return xy


def _average(files: list[JpegFile], regions: list[tuple[slice, slice]],
             shape: tuple[int, int],
             ncomp: int) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """The average of the decoded files on the canvas (chroma replicated to full size; 128
    for chroma, 0 for luma where no file is), the number of files at each pixel and where
    that is above 0."""
    acc = [np.zeros(shape) for _ in range(ncomp)]
    cnt = np.zeros(shape)
    for f, reg in zip(files, regions, strict=True):
        for ci, c in enumerate(f.components):
            dec = np.clip(_decode_component(c), 0, 255)
            acc[ci][reg] += _up(dec, c.fx, c.fy, (f.height, f.width))
        cnt[reg] += 1
    covered = cnt > 0
    avg = [np.where(covered, a / np.maximum(cnt, 1), 128.0 if i else 0.0)
           for i, a in enumerate(acc)]
    return avg, cnt, covered


def _project_round(x_est: list[np.ndarray], files: list[JpegFile],
                   regions: list[tuple[slice, slice]], covered: np.ndarray, cnt: np.ndarray,
                   relax: float) -> float:
    """One projection round onto every file's quantisation intervals, averaged and
    over-relaxed, in place on ``x_est``; the summed mean square step of the planes."""
    shape = x_est[0].shape
    ncomp = len(x_est)
    new = [np.zeros(shape) for _ in range(ncomp)]
    for f, reg in zip(files, regions, strict=True):
        for ci, c in enumerate(f.components):
            crop = x_est[ci][reg]
            z = _down(crop, c.fx, c.fy)
            delta = _project_component(z, c)
            new[ci][reg] += np.clip(crop + _up(delta, c.fx, c.fy, crop.shape), 0, 255)
    change = 0.0
    for ci in range(ncomp):
        proj = np.where(covered, new[ci] / np.maximum(cnt, 1), x_est[ci])
        step = relax * (proj - x_est[ci])
        change += float(np.mean(step[covered] ** 2))
        x_est[ci] = np.clip(x_est[ci] + step, 0, 255)
    return change


def deblock_average(plane: np.ndarray, weight: np.ndarray | float = 1.0, *,
                    strength: float = 0.004, iterations: int = 10) -> np.ndarray:
    """A light deblocking/denoising prior for a multi-frame average of video frames.

    Video frames come without usable DCT coefficients, but their block artefacts are fixed to
    the screen while the drawing pans, so the average already spreads them; what is left is
    low-amplitude noise. This runs a few explicit total-variation steps whose size falls with
    the number of frames averaged at each pixel (noise of a mean of k frames ~ 1/sqrt(k)).

    Parameters
    ----------
    plane : ndarray (h, w), float, working units
    weight : ndarray (h, w) or float
        Frames averaged per pixel (the render weight).
    strength : float
        Step for a single frame, working units.
    iterations : int

    Returns
    -------
    ndarray (h, w), float32.
    """
    x = np.asarray(plane, dtype=np.float64)
    step = strength / np.sqrt(np.maximum(np.asarray(weight, dtype=np.float64), 1.0))
    for _ in range(iterations):
        gx = np.diff(x, axis=1, append=x[:, -1:])
        gy = np.diff(x, axis=0, append=x[-1:, :])
        mag = np.sqrt(gx * gx + gy * gy + 1e-4)
        nx, ny = gx / mag, gy / mag
        div = nx - np.pad(nx[:, :-1], ((0, 0), (1, 0))) + ny - np.pad(ny[:-1, :], ((1, 0), (0, 0)))
        x = x + step * div
    return x.astype(np.float32)

"""A second plane labelled in its own alignment (overmix.render.layers, issue #12).

Ground truth by construction: a piecewise-constant background and a nearer plane of opaque
vertical bands with its own flat patches, each moved by whole pixels (the background 2 px per
frame, the plane 3 px: parallax), so every frame pixel is known to show one plane or the
other. The label is tested against the bands, not against the code."""

from __future__ import annotations

import numpy as np

from overmix.render.layers import label_layer

N, H, W = 16, 48, 96
BG_STEP, LAYER_STEP = 2, 3
PERIOD, BAND = 32, 14  # the plane is opaque on [0, BAND) of every PERIOD columns


def _patches(rng: np.random.Generator, h: int, w: int, cell: int) -> np.ndarray:
    """Flat rectangles of random grey (a drawn background: flat regions and edges)."""
    small = rng.uniform(0.1, 0.9, (-(-h // cell), -(-w // cell))).astype(np.float32)
    return np.repeat(np.repeat(small, cell, axis=0), cell, axis=1)[:h, :w]


def _scene(seed: int = 3, back_size: int = 6, plane_size: int = 11, plane_scale: float = 0.5,
           plane_lift: float = 0.0
           ) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray, np.ndarray]:
    """A background panned by BG_STEP and bands of a plane panned by LAYER_STEP per frame;
    by default large flat plane patches (the aperture problem)."""
    rng = np.random.default_rng(seed)
    bw, lw = W + BG_STEP * N, W + LAYER_STEP * N
    back = _patches(rng, H, bw, back_size)
    plane = _patches(rng, H, lw, plane_size) * plane_scale + plane_lift
    band = (np.arange(lw) % PERIOD) < BAND
    frames, truth = [], []
    for k in range(N):
        b, c = BG_STEP * k, LAYER_STEP * k
        on = np.broadcast_to(band[c:c + W], (H, W))
        frames.append(np.where(on, plane[:, c:c + W], back[:, b:b + W]).astype(np.float32))
        truth.append(on.copy())
    xy = np.array([[BG_STEP * k, 0.0] for k in range(N)])
    lxy = np.array([[LAYER_STEP * k, 0.0] for k in range(N)])
    return frames, truth, xy, lxy


def test_the_plane_is_labelled_where_it_is_in_every_frame() -> None:
    frames, truth, xy, lxy = _scene()
    # the first guess is only the plane's vertical edges in each frame (what the
    # moving-foreground stage finds on a flat plane); its flat inside must come from the vote
    edges = [np.abs(np.diff(t.astype(np.int8), axis=1, prepend=t[:, :1])).astype(bool)
             for t in truth]
    lab = label_layer(lambda k: frames[k], N, xy, lxy, lambda k: edges[k])
    masks = np.stack([lab.mask(k) for k in range(N)])
    want = np.stack(truth)
    assert masks.shape == want.shape
    # nearly no background pixel is labelled (measured 0.002), every plane pixel is (1.0);
    # at the clip's ends the plane's first and last bands sit over background that no frame
    # sees clean, and flat patches there fit both planes: the votes around them decide
    # (without that, 0.92)
    assert float(masks[~want].mean()) < 0.01
    assert float(masks[want].mean()) > 0.97


def test_no_plane_no_label() -> None:
    # the 'plane' moves with the background: every pixel fits both, nothing is labelled layer
    frames, _, xy, _ = _scene()
    still = [np.ascontiguousarray(f) for f in frames]
    lab = label_layer(lambda k: still[k], N, xy, xy + [[0.0, 0.0]], lambda k: None)
    assert lab.share() < 0.02


BOARD, WIN = 26, (9, 17)  # a board's columns of every 40; its window's


def _planks() -> tuple[list[np.ndarray], list[np.ndarray], list[np.ndarray], np.ndarray,
                       np.ndarray, list[np.ndarray]]:
    """A fence on the nearer plane: flat grey boards (rows 8-39, the first BOARD columns of
    every 40; wider than the planes drift apart over the clip, so the middle of a board
    hides the background in every frame) with a dark outline, each with a window (rows
    18-27, columns WIN) through which the background shows; the planes move as in
    :func:`_scene`. The frames, the boards and the windows in each frame, the offsets, the
    background behind each frame."""
    rng = np.random.default_rng(5)
    bw, lw = W + BG_STEP * N, W + LAYER_STEP * N
    back = _patches(rng, H, bw, 8)
    col = np.arange(lw) % 40
    window = np.zeros((H, lw), bool)
    window[18:28] = (col >= WIN[0]) & (col < WIN[1])
    board = np.zeros((H, lw), bool)
    board[8:40] = col < BOARD
    board &= ~window
    inner = board.copy()
    inner[1:-1, 1:-1] &= board[:-2, 1:-1] & board[2:, 1:-1] & board[1:-1, :-2] & board[1:-1, 2:]
    plane = np.where(inner, np.float32(0.62), np.float32(0.05))
    frames, truth, windows, behind = [], [], [], []
    for k in range(N):
        b, c = BG_STEP * k, LAYER_STEP * k
        on = board[:, c:c + W]
        behind.append(back[:, b:b + W])
        frames.append(np.where(on, plane[:, c:c + W], back[:, b:b + W]).astype(np.float32))
        truth.append(on.copy())
        windows.append(window[:, c:c + W].copy())
    xy = np.array([[BG_STEP * k, 0.0] for k in range(N)])
    lxy = np.array([[LAYER_STEP * k, 0.0] for k in range(N)])
    return frames, truth, windows, xy, lxy, behind


def test_a_flat_board_is_labelled_inside_its_outline_but_not_its_window() -> None:
    # the moving-foreground stage finds only a flat board's outline; where the board hides
    # the background in every frame its inside fits both planes (a tie) and the outline
    # decides: the inside it encloses is the plane, the window in the board, which shows the
    # background moving against it, is not
    frames, truth, windows, xy, lxy, behind = _planks()
    outline = [t & ~(np.roll(t, 1, 0) & np.roll(t, -1, 0) & np.roll(t, 1, 1) & np.roll(t, -1, 1))
               for t in truth]
    lab = label_layer(lambda k: frames[k], N, xy, lxy, lambda k: outline[k])
    masks = np.stack([lab.mask(k) for k in range(N)])
    board, win = np.stack(truth), np.stack(windows)
    # the board's pixels that differ from the background behind them (by more than the
    # vote's margin, 0.03; a board pixel within it is as good as the background there):
    # measured 0.996 (0.958 with the board's enclosed inside left to the moving masks)
    differs = board & (np.abs(np.stack(frames) - np.stack(behind)) > 0.03)
    assert float(masks[differs].mean()) > 0.98
    # the background: 0.015 outside the windows; in the windows 0.31 (the label is closed
    # over 2 samples: the window's rim); a filled window would be 1
    assert float(masks[~board & ~win].mean()) < 0.03
    assert float(masks[win].mean()) < 0.45


def _flat_beside() -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray, np.ndarray]:
    """As :func:`_scene`, but a background of large flat patches behind a finely textured
    plane: beside the plane's edges the background is flat, so there its pixels fit the
    plane's leave-one-out mean (the moving background, flat) as well as the background's."""
    return _scene(seed=7, back_size=12, plane_size=4, plane_scale=0.5, plane_lift=0.45)


def _grown(m: np.ndarray, px: int) -> np.ndarray:
    out = m.copy()
    for _ in range(px):
        g = out.copy()
        g[1:] |= out[:-1]
        g[:-1] |= out[1:]
        g[:, 1:] |= out[:, :-1]
        g[:, :-1] |= out[:, 1:]
        out = g
    return out


def test_the_label_does_not_grow_into_the_flat_background_beside_the_plane() -> None:
    # the moving-foreground masks are wide around a moving outline (here 3 px each side):
    # where the background beside the plane is flat the votes tie there and the masks would
    # take it for the plane, but the frames that see the background there (its only clean
    # views where few frames do) do not match the plane better: it is background
    frames, truth, xy, lxy = _flat_beside()
    outline = [_grown(t ^ ~_grown(~t, 1), 3) for t in truth]
    lab = label_layer(lambda k: frames[k], N, xy, lxy, lambda k: outline[k])
    masks = np.stack([lab.mask(k) for k in range(N)])
    want = np.stack(truth)
    beside = np.stack([_grown(t, 3) & ~t for t in truth])
    # measured 0.9995 and 0.080 (0.25 with the outline's ties left to the moving masks)
    assert float(masks[want].mean()) > 0.99
    assert float(masks[beside].mean()) < 0.15


def _dotted() -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray, np.ndarray]:
    """A plane of wide boards (rows 8-39, 24 of every 48 columns: their middle hides the
    background in every frame) with a smooth shade and scattered bright dots 1.5 px wide,
    panning 2.75 px per frame (quarter-pixel offsets, sampled exactly by area from a 4x
    drawing) over a background of flat patches panning 2 px. The frames, the board pixels
    (fully covered), the offsets."""
    s, period, band, step = 4, 48, 24, 2.75
    rng = np.random.default_rng(11)
    bw, lw = W + BG_STEP * N + 2, int(W + step * N) + 2
    back = _patches(rng, H, bw, 6)
    cells = rng.uniform(0.0, 1.0, (H * s // 6 + 1, lw * s // 6 + 1))
    dots = np.repeat(np.repeat(cells > 0.93, 6, axis=0), 6, axis=1)[:H * s, :lw * s]
    yy, xx = np.mgrid[0:H * s, 0:lw * s]
    plane = np.where(dots, 0.95, 0.45 + 0.1 * np.sin(xx / (7.0 * s)) * np.cos(yy / (5.0 * s)))
    on = (np.arange(lw * s) / s % period) < band
    frames, truth = [], []
    for k in range(N):
        c, b = int(round(step * k * s)), BG_STEP * k
        seen = plane[:, c:c + W * s].reshape(H, s, W, s).mean(axis=(1, 3))
        a = np.zeros((H, W))
        a[8:40] = on[c:c + W * s].reshape(W, s).mean(axis=1)
        frames.append((a * seen + (1 - a) * back[:, b:b + W]).astype(np.float32))
        truth.append(a > 0.99)
    xy = np.array([[BG_STEP * k, 0.0] for k in range(N)])
    lxy = np.array([[step * k, 0.0] for k in range(N)])
    return frames, truth, xy, lxy


def test_a_plane_s_thin_detail_is_no_hole_where_it_hides_the_background() -> None:
    # where the plane hides the background in every frame, only N (the other frames at the
    # plane's offsets, a bilinear mean) is left to judge a pixel; at quarter-pixel offsets it
    # blurs a dot of the plane's own drawing, which then looks moved against it: a hole in
    # the label (the 720p parallax trunks). The hole a label encloses is filled where its
    # pixels stay within that blur of N
    frames, truth, xy, lxy = _dotted()
    outline = [t & ~(np.roll(t, 1, 0) & np.roll(t, -1, 0) & np.roll(t, 1, 1)
                     & np.roll(t, -1, 1)) for t in truth]
    lab = label_layer(lambda k: frames[k], N, xy, lxy, lambda k: outline[k])
    masks = np.stack([lab.mask(k) for k in range(N)])
    want = np.stack(truth)
    # measured 0.988 and 0.029 (0.735: a hole across the second board's hidden middle)
    assert float(masks[want].mean()) > 0.95
    assert float(masks[~want].mean()) < 0.05

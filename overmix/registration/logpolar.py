"""Coarse zoom and rotation between two planes: phase correlation of log-polar Fourier magnitudes.

A similarity ``b(p) = a(m·p + x)`` (complex notation, DESIGN §4: ``m = s·e^{i·a}``) leaves
the magnitude of the Fourier transform free of the translation x and turns m into a shift
along log-radius and angle: ``|B|(ρ, θ) = |A|(ρ/s, θ − a)`` up to a factor, so on a log-polar
grid the scale and rotation are a 2-D shift, found by the phase correlation of the two
log-polar maps (Reddy & Chatterji 1996). The translation then comes from a plain phase
correlation of ``a`` against ``b`` with m undone about the centre.

This serves the Gauss-Newton refinement of :mod:`overmix.registration.similarity` as a start
when the camera zooms or rotates faster than its basin (about 5 % or a few degrees between
the two frames); it works on a small, central, windowed square of a pyramid level (numpy
only), so its cost is that of a few small FFTs.

Reference: B. S. Reddy, B. N. Chatterji, "An FFT-based technique for translation, rotation,
and scale-invariant image registration", IEEE TIP 5(8), 1996. doi:10.1109/83.506761
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["similarity_candidates"]

_NTHETA = 180  # angle samples over [0, π) (the magnitude is point-symmetric)
_NRHO = 96  # log-radius samples
_RHO_MIN = 3.0  # smallest radius used (frequency samples): below, the window dominates
_PEAKS = 3  # candidates returned


def _bilinear(img: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``img`` (float (h, w)) at positions (y, x), bilinear, clamped at the edges."""
    h, w = img.shape
    y = np.clip(y, 0.0, h - 1.001)
    x = np.clip(x, 0.0, w - 1.001)
    y0 = np.floor(y).astype(np.int64)
    x0 = np.floor(x).astype(np.int64)
    fy, fx = y - y0, x - x0
    return ((img[y0, x0] * (1 - fx) + img[y0, x0 + 1] * fx) * (1 - fy)
            + (img[y0 + 1, x0] * (1 - fx) + img[y0 + 1, x0 + 1] * fx) * fy)


def _square(img: np.ndarray) -> np.ndarray:
    """The central square of ``img`` (even side), mean removed, Hann-windowed (float64)."""
    h, w = img.shape
    n = min(h, w) // 2 * 2
    y0, x0 = (h - n) // 2, (w - n) // 2
    sq = np.asarray(img[y0:y0 + n, x0:x0 + n], np.float64)
    win = np.hanning(n)
    sq = sq - sq.mean()
    return sq * win[:, None] * win[None, :]


def _logpolar(sq: np.ndarray) -> tuple[np.ndarray, float]:
    """Log-polar map (float64 (_NTHETA, _NRHO)) of the high-passed log Fourier magnitude of
    the windowed square ``sq``, and its log-radius step."""
    n = sq.shape[0]
    mag = np.abs(np.fft.fftshift(np.fft.fft2(sq)))
    # emphasise the edges' frequencies over the smooth shading (a radial ramp), compress
    # the dynamic range (log)
    f = np.fft.fftshift(np.fft.fftfreq(n))
    ramp = np.hypot(f[:, None], f[None, :])
    mag = np.log1p(mag) * ramp
    rho_max = 0.45 * n
    step = math.log(rho_max / _RHO_MIN) / (_NRHO - 1)
    rho = _RHO_MIN * np.exp(step * np.arange(_NRHO))
    theta = np.pi * np.arange(_NTHETA) / _NTHETA
    yy = n / 2 + rho[None, :] * np.sin(theta)[:, None]
    xx = n / 2 + rho[None, :] * np.cos(theta)[:, None]
    lp = _bilinear(mag, yy, xx)
    lp *= np.hanning(_NRHO + 2)[1:-1][None, :]  # the log-radius axis is not periodic
    return lp - lp.mean(), step


def _peaks(corr: np.ndarray, k: int) -> list[tuple[float, float, float]]:
    """The ``k`` strongest peaks of a periodic correlation surface: (row, column, value),
    sub-sample by parabola fits, signed (wrapped) shifts."""
    work = np.array(corr)
    rows, cols = work.shape
    out = []
    for _ in range(k):
        flat = int(np.argmax(work))
        r, c = divmod(flat, cols)
        v = float(work[r, c])
        if not np.isfinite(v):
            break

        def par(m: float, z: float, p: float) -> float:
            den = m - 2 * z + p
            return 0.0 if den >= 0 else 0.5 * (m - p) / den

        fr = par(corr[(r - 1) % rows, c], corr[r, c], corr[(r + 1) % rows, c])
        fc = par(corr[r, (c - 1) % cols], corr[r, c], corr[r, (c + 1) % cols])
        rr = r + fr if r <= rows // 2 else r + fr - rows
        cc = c + fc if c <= cols // 2 else c + fc - cols
        out.append((rr, cc, v))
        work[np.ix_(np.arange(r - 2, r + 3) % rows, np.arange(c - 2, c + 3) % cols)] = -np.inf
    return out


def _phase_correlate(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Phase correlation surface of two same-shaped real maps (peak at the shift of b
    relative to a: ``b(p) = a(p + d)`` peaks at -d... see the callers)."""
    cross = np.fft.rfft2(a) * np.conj(np.fft.rfft2(b))
    cross /= np.abs(cross) + 1e-12 * float(np.abs(cross).max() + 1e-30)
    return np.fft.irfft2(cross, s=a.shape)


def similarity_candidates(a: np.ndarray, b: np.ndarray, rotate: bool,
                          k: int = _PEAKS) -> list[tuple[complex, complex]]:
    """Coarse candidates for ``b(p) ≈ a(m·p + x)`` (pixel centres, complex notation).

    Parameters
    ----------
    a, b : ndarray (h, w) float
        Two planes of the same shape (e.g. a pyramid level).
    rotate : bool
        False: zoom only (candidates with angle 0).

    Returns
    -------
    list of (x, m)
        Up to ``k`` candidates, strongest first: x in ``a``'s pixels, m complex.
    """
    h, w = a.shape
    sa, sb = _square(a), _square(b)
    la, step = _logpolar(sa)
    lb, _ = _logpolar(sb)
    corr = _phase_correlate(la, lb)
    out: list[tuple[complex, complex]] = []
    c = complex((w - 1) / 2, (h - 1) / 2)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    q = xx - c.real + 1j * (yy - c.imag)
    for dt, dr, _v in _peaks(corr, k):
        # |B|(ρ, θ) = |A|(ρ / s, θ − a): b's map is a's shifted by +log s, +a, so the
        # correlation of a against b peaks at minus that shift
        s = math.exp(-dr * step)
        ang = dt * math.pi / _NTHETA if rotate else 0.0
        if not 0.5 < s < 2.0:
            continue
        # (the magnitude cannot tell a from a + π: the angle found is within ±90°)
        m = s * complex(math.cos(ang), math.sin(ang))
        # b with m undone about the centre: u(q) = b(c + (q − c)/m) ≈ a(q + x') with
        # x' = x + (m − 1)·c, found by a plain phase correlation
        p = c + q / m
        u = _bilinear(np.asarray(b, np.float64), p.imag, p.real)
        pk = _peaks(_phase_correlate(_square(a), _square(u)), 1)
        if not pk:
            continue
        dy, dx, _ = pk[0]
        out.append((complex(dx, dy) - (m - 1) * c, m))
    return out

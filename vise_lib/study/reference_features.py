"""Reference features with no learning: pooled pixels and hand-made colour / texture statistics.

They give the study its reference rows: a backbone that does not beat them on a task has learned
nothing a fixed, cheap statistic does not already give.
"""

from __future__ import annotations

import numpy as np


def pixel_features(images: np.ndarray, grid: int = 8) -> np.ndarray:
    """Average-pool uint8 images (N, px, px, 3) to (grid x grid x 3) and flatten to floats."""
    n, px = len(images), images.shape[1]
    f = px // grid
    x = images[:, : grid * f, : grid * f].astype(np.float64) / 255.0
    return x.reshape(n, grid, f, grid, f, 3).mean((2, 4)).reshape(n, -1)


def _hsv(x: np.ndarray) -> np.ndarray:
    """RGB in [0, 1] (..., 3) -> HSV (hue in turns)."""
    mx, mn = x.max(-1), x.min(-1)
    d = mx - mn
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    safe = np.where(d > 0, d, 1)
    h = np.where(mx == r, ((g - b) / safe) % 6, np.where(mx == g, (b - r) / safe + 2, (r - g) / safe + 4)) / 6
    return np.stack([np.where(d > 0, h, 0), np.where(mx > 0, d / np.where(mx > 0, mx, 1), 0), mx], -1)


def handmade_features(images: np.ndarray) -> np.ndarray:
    """50 generic statistics per uint8 image (N, px, px, 3): colour and texture, no learning, and
    nothing tuned to the synthetic world (no feature looks at a place the generator uses).

    RGB and HSV means and standard deviations (12), a saturation-weighted 12-bin hue histogram,
    4-bin saturation and value histograms (8), the grey image's FFT energy in 8 radial bands,
    gradient-magnitude mean and std and an 8-bin gradient-orientation histogram (10).
    """
    x = images.astype(np.float32) / 255.0
    n, px = x.shape[:2]
    hsv = _hsv(x)
    out = [x.mean((1, 2)), x.std((1, 2)), hsv.mean((1, 2)), hsv.std((1, 2))]
    hbin = np.minimum((hsv[..., 0] * 12).astype(int), 11).reshape(n, -1)
    w = hsv[..., 1].reshape(n, -1)
    hh = np.stack([(w * (hbin == k)).sum(1) for k in range(12)], 1)
    out.append(hh / np.maximum(hh.sum(1, keepdims=True), 1e-6))
    for ch in (1, 2):
        v = np.minimum((hsv[..., ch] * 4).astype(int), 3).reshape(n, -1)
        out.append(np.stack([(v == k).mean(1) for k in range(4)], 1))
    grey = x.mean(-1)
    f = np.abs(np.fft.fftshift(np.fft.fft2(grey - grey.mean((1, 2), keepdims=True)), axes=(1, 2))) ** 2
    yy, xx = np.mgrid[:px, :px] - px // 2
    band = np.minimum((np.hypot(yy, xx) / (px / 2) * 8).astype(int), 7)
    e = np.stack([f[:, band == k].sum(1) for k in range(8)], 1)
    out.append(np.log1p(e / np.maximum(e.sum(1, keepdims=True), 1e-9) * 100))
    gy, gx = np.gradient(grey, axis=(1, 2))
    mag, ang = np.hypot(gx, gy), (np.arctan2(gy, gx) % np.pi) / np.pi
    out += [mag.mean((1, 2))[:, None], mag.std((1, 2))[:, None]]
    ab = np.minimum((ang * 8).astype(int), 7).reshape(n, -1)
    m = mag.reshape(n, -1)
    oh = np.stack([(m * (ab == k)).sum(1) for k in range(8)], 1)
    out.append(oh / np.maximum(oh.sum(1, keepdims=True), 1e-9))
    return np.concatenate(out, 1).astype(np.float32)


REFERENCES = {"pixels": pixel_features, "handmade": handmade_features}

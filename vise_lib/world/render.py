"""Rendering for the synthetic world: latents -> pixels.

Layers, back to front, every one across the whole image:

1. **content**: the content class's background texture (stripes, checks, dots or smooth blobs,
   random scale, orientation and phase) in two tones of the class's background hue, and its
   shape (circle, square, triangle, cross) in the class's foreground hue, either one large copy
   (``single``) or four small ones on a 2 x 2 grid (``tiled``), at random rotation. Shapes cover
   about 10-34 % of the pixels (5th-95th percentile; median 20 %), the texture the rest.
2. **stance badge**: a square patch (``STANCE_BADGE["px_fraction"]`` of the side, rounded: 8 x 8 px,
   11 % of the pixels at 24 px) **at a random position** in the image, whose hue is drawn around the
   stance's mean with a spread (``stance_spread``), so the two stances overlap. No fixed set of
   pixels carries it: a probe on pooled pixels cannot read it from one place, a convolutional
   network with global pooling can wherever it is.
3. **affect style**: a colour grading of the whole image (brightness gain, saturation, contrast,
   an RGB tint and film grain), each drawn per image around the affect's mean (``STYLE``) with
   overlapping spreads (``style_spread``); independent of the content.
4. Gaussian pixel noise.

Randomness comes only from the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vise_lib.world.latents import AFFECTS, PALETTE, SHAPES, STANCES, content_parts

F32 = np.float32
#: Per-affect mean colour grading: gain (brightness multiplier), sat (saturation multiplier),
#: contrast (around the image mean), tint (RGB offset) and grain (std of per-pixel grain).
STYLE: dict[str, dict[str, Any]] = {
    "amusement": {"gain": 1.12, "sat": 1.30, "contrast": 1.10, "tint": [0.06, 0.03, -0.04], "grain": 0.02},
    "awe": {"gain": 1.10, "sat": 1.10, "contrast": 1.30, "tint": [0.00, 0.02, 0.06], "grain": 0.00},
    "contentment": {"gain": 1.02, "sat": 0.90, "contrast": 0.80, "tint": [0.02, 0.05, 0.00], "grain": 0.01},
    "anger": {"gain": 0.95, "sat": 1.30, "contrast": 1.40, "tint": [0.08, -0.03, -0.04], "grain": 0.06},
    "fear": {"gain": 0.72, "sat": 0.70, "contrast": 1.20, "tint": [0.02, -0.04, 0.06], "grain": 0.07},
    "sadness": {"gain": 0.78, "sat": 0.45, "contrast": 0.80, "tint": [-0.03, 0.00, 0.05], "grain": 0.02},
}
#: Within-affect standard deviations of the grading, scaled by ``style_spread``.
STYLE_STD = {"gain": 0.12, "sat": 0.25, "contrast": 0.22, "tint": 0.04, "grain": 0.02}
#: Stance badge: mean hue per stance (turns), hue std at ``stance_spread`` 1, and its side.
STANCE_BADGE: dict[str, Any] = {
    "hue": {"left": 0.58, "right": 0.95},
    "hue_std": 0.13,
    "px_fraction": 0.34,
    "sat": 0.75,
    "val": 0.85,
}
#: Content geometry: texture cycles per image, shape radius per layout (fraction of the side),
#: per-image hue jitter of the palette (turns).
GEOMETRY: dict[str, Any] = {
    "texture_cycles": [2.0, 4.5],
    "radius": {"single": [0.28, 0.36], "tiled": [0.12, 0.16]},
    "hue_jitter": 0.03,
    "tile_centres": [0.28, 0.72],
}


def hsv_to_rgb(h, s, v):
    """Vectorized HSV -> RGB for arrays of equal shape (hue in turns); returns shape + (3,)."""
    h = np.mod(h, 1.0)
    out = [v - v * s * np.clip(np.minimum((n + h * 6) % 6, 4 - (n + h * 6) % 6), 0, 1) for n in (5.0, 3.0, 1.0)]
    return np.stack(out, axis=-1).astype(F32)


def _col(a):
    """Per-image scalars as a (N, 1, 1) float32 array for broadcasting over pixels."""
    return np.asarray(a, F32)[:, None, None]


def _upsample(grid, px):
    """Bilinear upsampling of (N, g, g) grids to (N, px, px) via two small matrix products."""
    g = grid.shape[-1]
    pos = (np.arange(px) + 0.5) / px * (g - 1)
    lo = np.minimum(pos.astype(int), g - 2)
    w = (pos - lo).astype(F32)
    m = np.zeros((px, g), F32)
    m[np.arange(px), lo] = 1 - w
    m[np.arange(px), lo + 1] = w
    return np.einsum("pg,ngh,qh->npq", m, grid, m, optimize=True)


def _texture(rng, texture, px):
    """Texture maps in [0, 1], (N, px, px), one per image of its texture kind."""
    n = len(texture)
    c = ((np.arange(px) + 0.5) / px).astype(F32)
    x, y = c[None, None, :], c[None, :, None]
    f = 2 * np.pi * rng.uniform(*GEOMETRY["texture_cycles"], n)
    th, ph = rng.random(n) * np.pi, rng.random(n) * 2 * np.pi
    u = _col(np.cos(th)) * x + _col(np.sin(th)) * y
    v = -_col(np.sin(th)) * x + _col(np.cos(th)) * y
    stripes = 0.5 + 0.5 * np.sin(_col(f) * u + _col(ph))
    checks = 0.5 + 0.5 * np.tanh(3 * np.sin(_col(f) * u + _col(ph)) * np.sin(_col(f) * v))
    dots = 0.5 + 0.5 * np.tanh(3 * (np.cos(_col(f) * u + _col(ph)) + np.cos(_col(f) * v) - 1.0))
    low = _upsample(rng.standard_normal((n, 5, 5), dtype=F32), px)
    blobs = 0.5 + 0.5 * np.tanh(1.5 * low)
    return np.choose(_col(texture).astype(np.int64), [stripes, checks, dots, blobs]).astype(F32)


def _shape_distance(shape, u, v):
    """Signed distance (in radii; < 0 inside) of local coordinates to a unit shape."""
    if shape == "circle":
        return np.sqrt(u * u + v * v) - 1.0
    if shape == "square":
        return np.maximum(np.abs(u), np.abs(v)) - 0.8
    if shape == "cross":
        au, av = np.abs(u), np.abs(v)
        return np.minimum(np.maximum(au - 0.3, av - 1.0), np.maximum(au - 1.0, av - 0.3))
    if shape == "triangle":
        return np.maximum.reduce([v - 0.5, -0.866 * u - 0.5 * v - 0.5, 0.866 * u - 0.5 * v - 0.5])
    raise ValueError(f"unknown shape {shape!r}")


def _shape_alpha(rng, shape, layout, px):
    """Coverage (N, px, px) in [0, 1] of each image's shape(s) at its layout."""
    n = len(shape)
    c = ((np.arange(px) + 0.5) / px).astype(F32)
    tiled = layout == 1
    r = np.where(tiled, rng.uniform(*GEOMETRY["radius"]["tiled"], n), rng.uniform(*GEOMETRY["radius"]["single"], n))
    rot = rng.uniform(-np.pi, np.pi, n)
    lo, hi = GEOMETRY["tile_centres"]
    centres = [[(0.5, 0.5)], [(lo, lo), (lo, hi), (hi, lo), (hi, hi)]]
    jitter = rng.uniform(-0.06, 0.06, (2, n))
    alpha = np.zeros((n, px, px), F32)
    for lay, cs in enumerate(centres):
        for k, name in enumerate(SHAPES):
            i = np.flatnonzero((shape == k) & (layout == lay))
            if not len(i):
                continue
            cos, sin, rr = _col(np.cos(rot[i])), _col(np.sin(rot[i])), _col(r[i])
            for cx, cy in cs:
                dx = c[None, None, :] - _col(cx + jitter[0, i])
                dy = c[None, :, None] - _col(cy + jitter[1, i])
                d = _shape_distance(name, (dx * cos + dy * sin) / rr, (-dx * sin + dy * cos) / rr)
                alpha[i] = np.maximum(alpha[i], np.clip(0.5 - d * rr * px, 0, 1))
    return alpha


def _content(rng, content, px, hue_shift):
    """The content layer (N, px, px, 3): texture in two tones of the background hue, shape(s) on top."""
    n = len(content)
    shape, texture, layout = content_parts(content)
    pal = np.asarray(PALETTE, F32)[content]
    jit = GEOMETRY["hue_jitter"] * rng.standard_normal((2, n))
    bg_h, fg_h = pal[:, 0] + hue_shift + jit[0], pal[:, 1] + hue_shift + jit[1]
    tone_a = hsv_to_rgb(bg_h, rng.uniform(0.45, 0.7, n), rng.uniform(0.7, 0.85, n))
    tone_b = hsv_to_rgb(bg_h + 0.06, rng.uniform(0.25, 0.45, n), rng.uniform(0.35, 0.5, n))
    t = _texture(rng, texture, px)[..., None]
    img = tone_b[:, None, None, :] + t * (tone_a - tone_b)[:, None, None, :]
    fg = hsv_to_rgb(fg_h, rng.uniform(0.6, 0.9, n), rng.uniform(0.75, 1.0, n))
    a = _shape_alpha(rng, shape, layout, px)[..., None]
    return img * (1 - a) + fg[:, None, None, :] * a


def paint_stance_badge(img, rng, stance, stance_spread):
    """Paint the stance badge (a square of stance-dependent hue at a random position, the hues of
    the two stances overlapping)."""
    n, px = img.shape[:2]
    b = max(1, round(px * STANCE_BADGE["px_fraction"]))
    mu = np.array([STANCE_BADGE["hue"][s] for s in STANCES])[stance]
    hue = mu + STANCE_BADGE["hue_std"] * stance_spread * rng.standard_normal(n)
    colour = hsv_to_rgb(hue, np.full(n, STANCE_BADGE["sat"]), np.full(n, STANCE_BADGE["val"]))
    top, left = rng.integers(0, px - b + 1, size=(2, n))
    rows = top[:, None] + np.arange(b)  # (n, b)
    cols = left[:, None] + np.arange(b)
    img[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]] = colour[:, None, None, :]
    return img


def _grade(img, rng, affect, style_spread):
    """Apply each image's affect style: saturation, contrast, gain, tint, grain."""
    n = len(affect)
    sd = {k: v * style_spread for k, v in STYLE_STD.items()}
    mean = {k: np.array([STYLE[a][k] for a in AFFECTS], F32)[affect] for k in STYLE[AFFECTS[0]]}
    z = rng.standard_normal((7, n)).astype(F32)
    sat = np.clip(mean["sat"] + sd["sat"] * z[0], 0, 2)
    contrast = np.clip(mean["contrast"] + sd["contrast"] * z[1], 0.2, 2.5)
    gain = np.clip(mean["gain"] + sd["gain"] * z[2], 0.3, 1.6)
    tint = mean["tint"] + sd["tint"] * z[3:6].T
    grain = np.clip(mean["grain"] + sd["grain"] * z[6], 0, None)
    grey = img.mean(-1, keepdims=True)
    img = grey + _col(sat)[..., None] * (img - grey)
    m = img.mean((1, 2, 3), keepdims=True)
    img = m + _col(contrast)[..., None] * (img - m)
    img = img * _col(gain)[..., None] + tint[:, None, None, :]
    return img + _col(grain)[..., None] * rng.standard_normal(img.shape[:3], dtype=F32)[..., None]


def render_images(rng, lat, px, style_spread=1.0, stance_spread=1.0, pixel_noise=0.03, hue_shift=0.0):
    """Float32 images in [0, 1], (N, px, px, 3), for latent arrays ``lat`` (``object`` =
    content, ``affect``, ``stance``); ``hue_shift`` rotates every content palette (turns)."""
    img = _content(rng, np.asarray(lat["object"]), px, hue_shift)
    img = paint_stance_badge(img, rng, np.asarray(lat["stance"]), stance_spread)
    img = _grade(img, rng, np.asarray(lat["affect"]), style_spread)
    img += pixel_noise * rng.standard_normal(img.shape, dtype=F32)
    return np.clip(img, 0, 1).astype(F32)

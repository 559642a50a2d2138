"""Rendering for the synthetic social world: latents -> pixels, and latents -> comment text.

This module is the *observation model* of :mod:`vise_lib.world.generate`. It owns the class-name tuples
and every table that decides how a post looks (image style per affect, stance emblems, clutter)
and what its comments say (phrase grammar, vocabularies, emoji, typos). All sampling is
vectorized numpy; randomness comes only from the ``numpy.random.Generator`` passed in, so the
caller decides the random streams and the results are deterministic.
"""
from __future__ import annotations

import numpy as np

AFFECTS = ("amusement", "awe", "contentment", "anger", "fear", "sadness")
OBJECTS = ("circle", "square", "triangle", "cross", "ring", "diamond")
STANCES = ("left", "right")

#: Per-affect mean image style: background hue (turns), saturation, brightness, contrast of the
#: texture, and texture frequency (cycles per image). Within-affect spread is STYLE_STD; the
#: distributions overlap on purpose (e.g. awe vs sadness share blue hues, fear vs anger share
#: high contrast), so no single statistic separates the affects.
STYLE_MEAN = {
    "amusement":   {"hue": 0.12, "sat": 0.65, "bright": 0.70, "contrast": 0.45, "freq": 3.0},
    "awe":         {"hue": 0.56, "sat": 0.50, "bright": 0.62, "contrast": 0.35, "freq": 1.5},
    "contentment": {"hue": 0.30, "sat": 0.45, "bright": 0.60, "contrast": 0.25, "freq": 1.2},
    "anger":       {"hue": 0.00, "sat": 0.65, "bright": 0.45, "contrast": 0.60, "freq": 4.5},
    "fear":        {"hue": 0.76, "sat": 0.40, "bright": 0.32, "contrast": 0.55, "freq": 3.5},
    "sadness":     {"hue": 0.62, "sat": 0.22, "bright": 0.40, "contrast": 0.22, "freq": 1.5},
}
#: Within-affect standard deviations (freq is perturbed in log space); scaled by ``style_spread``.
STYLE_STD = {"hue": 0.08, "sat": 0.16, "bright": 0.13, "contrast": 0.13, "log_freq": 0.40}
#: Stance emblem: hue mean/std per stance (overlapping), and its pattern (stripe direction).
EMBLEM = {"left": {"hue": 0.60, "hue_std": 0.18, "pattern": "horizontal stripes"},
          "right": {"hue": 0.02, "hue_std": 0.18, "pattern": "vertical stripes"}}
#: Nuisance geometry, shared by all classes (latent-independent).
#: Object centre (fraction of the side), radius (fraction of the side), rotation (uniform in
#: +-rotation_deg), colour saturation / value ranges (hue uniform); emblem side as a fraction of
#: the image side; clutter disc radius (pixels) and the probability of a clutter line.
GEOMETRY = {"object_center": [0.42, 0.58], "object_radius": [0.26, 0.34], "rotation_deg": 180.0,
            "object_sat": [0.2, 0.8], "object_val": [0.8, 1.0], "emblem_px_fraction": 0.16,
            "clutter_blob_radius_px": [0.8, 2.2], "line_prob": 0.5}

# ---------------------------------------------------------------- comment grammar
#: Phrase vocabularies. Words are shared across classes on purpose ("wow", "omg", "so", ...).
AFFECT_PHRASES = {
    "amusement": ["lol this is hilarious", "haha so funny", "i can't stop laughing", "so cute",
                  "this made my day", "omg lol", "best thing i saw today", "haha wow"],
    "awe": ["wow just wow", "breathtaking", "so beautiful", "incredible view", "mind blown",
            "this is amazing", "omg stunning", "speechless"],
    "contentment": ["so peaceful", "love this", "beautiful and calm", "makes me happy",
                    "cozy vibes", "so relaxing", "lovely", "this is nice"],
    "anger": ["this is outrageous", "so angry right now", "unacceptable", "how dare they",
              "disgusting", "omg this is wrong", "makes me furious", "wtf"],
    "fear": ["this is terrifying", "so creepy", "scary af", "nope nope nope", "omg scary",
             "i'm scared", "wow this is creepy", "chills"],
    "sadness": ["so sad", "heartbreaking", "this makes me cry", "rip", "so sorry",
                "tears", "this is sad", "miss this so much"]}
STANCE_PHRASES = {"left": ["community first", "support the union", "more public parks",
                           "share the wealth", "so true", "i agree"],
                  "right": ["lower taxes", "back the farmers", "tradition matters",
                            "less red tape", "so true", "i agree"]}
OBJECT_WORDS = {"circle": ["circle", "ball", "round one", "dot"], "square": ["square", "box", "block"],
                "triangle": ["triangle", "pyramid", "wedge"], "cross": ["cross", "plus sign", "x"],
                "ring": ["ring", "donut", "hoop", "round one"], "diamond": ["diamond", "gem", "kite"]}
OBJECT_TEMPLATES = ["nice {}", "look at that {}", "is that a {}?", "the {} though", "{}!"]
CHATTER = ["first!", "lol", "who else is here", "nice", "cool pic", "following", "same",
           "this", "bump", "ok", "wow", "seen this before", "where is this", "tag a friend"]
EMOJI = {"amusement": ["😂", "🤣", "😆"], "awe": ["😮", "🤩", "✨"],
         "contentment": ["😊", "🌿", "☺"], "anger": ["😡", "🤬", "😤"],
         "fear": ["😱", "😨", "👀"], "sadness": ["😢", "💔", "😞"]}
#: Phrase kinds and their probabilities (latent-independent).
PHRASE_KINDS = {"affect": 0.40, "stance": 0.15, "object": 0.15, "chatter": 0.30}
COMMENT_SHAPE = {"p_two_phrases": 0.35, "p_emoji": 0.35}


def _flat_table(groups):
    """Flatten ``[[phrases of class 0], [class 1], ...]`` into (list, offsets, lengths)."""
    ln = np.array([len(g) for g in groups])
    return [p for g in groups for p in g], np.concatenate([[0], np.cumsum(ln)[:-1]]), ln


_OBJ_PHRASES = [[t.format(w) for t in OBJECT_TEMPLATES for w in OBJECT_WORDS[o]] for o in OBJECTS]
_TABLES = {"affect": _flat_table([AFFECT_PHRASES[a] for a in AFFECTS]),
           "stance": _flat_table([STANCE_PHRASES[s] for s in STANCES]),
           "object": _flat_table(_OBJ_PHRASES), "chatter": _flat_table([CHATTER]),
           "emoji": _flat_table([EMOJI[a] for a in AFFECTS])}


def _pick(rng, kind, cls):
    """Index into the flat phrase list of ``kind`` for class indices ``cls`` (uniform within)."""
    _, off, ln = _TABLES[kind]
    return off[cls] + (rng.random(len(cls)) * ln[cls]).astype(np.int64)


def _noisy_class(rng, true_cls, n_cls, p_true):
    """The true class with probability ``p_true``, otherwise a uniformly random class."""
    keep = rng.random(len(true_cls)) < p_true
    return np.where(keep, true_cls, rng.integers(0, n_cls, len(true_cls)))


def sample_comments(rng, counts, affect, stance, obj, p_true, typo_rate):
    """Sample comment strings for every post.

    ``counts[i]`` comments are made for post ``i``. Each comment has one or two phrases whose kind
    (affect / stance / object / chatter) is drawn from PHRASE_KINDS independent of the latents;
    a class-bearing phrase comes from the post's true class with probability ``p_true`` and from a
    uniformly random class otherwise, so at ``p_true = 0`` the words carry no information about
    any latent. Emoji follow the same rule with the affect. A comment gets a typo
    (adjacent-character swap or a dropped character) with probability ``typo_rate``.
    Returns a list (one list of strings per post).
    """
    counts = np.asarray(counts, dtype=np.int64)
    post = np.repeat(np.arange(len(counts)), counts)
    n_c = len(post)
    n_ph = 1 + (rng.random(n_c) < COMMENT_SHAPE["p_two_phrases"])
    ph_post = post[np.repeat(np.arange(n_c), n_ph)]
    kinds = list(PHRASE_KINDS)
    kind = rng.choice(len(kinds), size=len(ph_post), p=list(PHRASE_KINDS.values()))
    phrase = np.empty(len(ph_post), dtype=object)
    truth = {"affect": (affect, len(AFFECTS)), "stance": (stance, len(STANCES)),
             "object": (obj, len(OBJECTS)), "chatter": (np.zeros_like(affect), 1)}
    for k, name in enumerate(kinds):
        sel = np.flatnonzero(kind == k)
        lat, n_cls = truth[name]
        cls = _noisy_class(rng, lat[ph_post[sel]], n_cls, p_true)
        flat = _TABLES[name][0]
        phrase[sel] = [flat[j] for j in _pick(rng, name, cls).tolist()]
    has_emoji = rng.random(n_c) < COMMENT_SHAPE["p_emoji"]
    e_cls = _noisy_class(rng, affect[post], len(AFFECTS), p_true)
    emoji = [_TABLES["emoji"][0][j] for j in _pick(rng, "emoji", e_cls).tolist()]
    typo, typo_swap, typo_pos = rng.random(n_c) < typo_rate, rng.random(n_c) < 0.5, rng.random(n_c)
    starts, phrase, texts = np.concatenate([[0], np.cumsum(n_ph)]).tolist(), phrase.tolist(), []
    for c in range(n_c):
        s = " ".join(phrase[starts[c]:starts[c + 1]])
        if typo[c] and len(s) > 3:
            i = int(typo_pos[c] * (len(s) - 1))
            s = s[:i] + s[i + 1] + s[i] + s[i + 2:] if typo_swap[c] else s[:i] + s[i + 1:]
        texts.append(s + " " + emoji[c] if has_emoji[c] else s)
    out, pos = [], 0
    for n in counts.tolist():
        out.append(texts[pos:pos + n]); pos += n
    return out


# ---------------------------------------------------------------- images
def hsv_to_rgb(h, s, v):
    """Vectorized HSV -> RGB for arrays of equal shape (hue in turns); returns shape + (3,)."""
    h = np.mod(h, 1.0)
    out = [v - v * s * np.clip(np.minimum((n + h * 6) % 6, 4 - (n + h * 6) % 6), 0, 1)
           for n in (5.0, 3.0, 1.0)]
    return np.stack(out, axis=-1).astype(np.float32)


def _upsample(grid, px):
    """Bilinear upsampling of (N, g, g) grids to (N, px, px) via two small matrix products."""
    g = grid.shape[-1]
    pos = (np.arange(px) + 0.5) / px * (g - 1)
    lo = np.minimum(pos.astype(int), g - 2)
    w = (pos - lo).astype(np.float32)
    m = np.zeros((px, g), np.float32)
    m[np.arange(px), lo] = 1 - w
    m[np.arange(px), lo + 1] = w
    return np.einsum("pg,ngh,qh->npq", m, grid, m, optimize=True)


def _shape_distance(shape, u, v):
    """Signed distance (in object radii; < 0 inside) of local coordinates to a unit shape."""
    if shape == "circle":
        return np.sqrt(u * u + v * v) - 1.0
    if shape == "square":
        return np.maximum(np.abs(u), np.abs(v)) - 0.8
    if shape == "diamond":
        return np.maximum(np.abs(u) + np.abs(v) / 0.55, 0) * 0.55 - 0.55
    if shape == "ring":
        return np.abs(np.sqrt(u * u + v * v) - 0.75) - 0.25
    if shape == "cross":
        au, av = np.abs(u), np.abs(v)
        return np.minimum(np.maximum(au - 0.3, av - 1.0), np.maximum(au - 1.0, av - 0.3))
    if shape == "triangle":
        return np.maximum.reduce([v - 0.5, -0.866 * u - 0.5 * v - 0.5, 0.866 * u - 0.5 * v - 0.5])
    raise ValueError(f"unknown shape {shape!r}")


F32 = np.float32


def _col(a):
    """Per-image scalars as a (N, 1, 1) float32 array for broadcasting over pixels."""
    return np.asarray(a, F32)[:, None, None]


def _blend(img, idx, alpha, colour):
    """Alpha-composite ``colour`` (m, 3) with mask ``alpha`` (m, px, px) onto ``img[idx]``."""
    a = alpha[..., None]
    img[idx] = img[idx] * (1 - a) + colour[:, None, None, :] * a


def _background(rng, affect, px, style_spread):
    """Affect-styled background: two-tone palette mixed by an oriented sinusoid + smooth noise."""
    n = len(affect)
    m = {k: np.array([STYLE_MEAN[a][k] for a in AFFECTS])[affect] for k in STYLE_MEAN[AFFECTS[0]]}
    sd = {k: v * style_spread for k, v in STYLE_STD.items()}
    z = rng.standard_normal((6, n))
    hue = m["hue"] + sd["hue"] * z[0]
    sat = np.clip(m["sat"] + sd["sat"] * z[1], 0.0, 1.0)
    bright = np.clip(m["bright"] + sd["bright"] * z[2], 0.08, 0.95)
    contrast = np.clip(m["contrast"] + sd["contrast"] * z[3], 0.0, 1.0)
    freq = 2 * np.pi * m["freq"] * np.exp(sd["log_freq"] * z[4])
    theta, phase = rng.random((2, n)) * np.array([[np.pi], [2 * np.pi]])
    c = ((np.arange(px) + 0.5) / px).astype(F32)
    wave = np.sin(_col(freq * np.cos(theta)) * c[None, None, :]
                  + _col(freq * np.sin(theta)) * c[None, :, None] + _col(phase))
    low = _upsample(rng.standard_normal((n, 5, 5), dtype=F32), px)
    lum = np.clip(_col(bright) * (1 + _col(contrast) * (0.7 * wave + 0.4 * low)), 0, 1)[..., None]
    c_a = hsv_to_rgb(hue, sat, np.ones(n))[:, None, None, :]
    c_b = hsv_to_rgb(hue + 0.10 * z[5], 0.6 * sat, np.ones(n))[:, None, None, :]
    return (c_a + (0.5 + 0.5 * wave)[..., None] * (c_b - c_a)) * lum


def _clutter(img, rng, clutter):
    """Latent-independent clutter: up to 4 random discs (mean ``clutter``) and maybe a line."""
    n, px = img.shape[:2]
    g = np.arange(px, dtype=F32) + 0.5
    gx, gy = g[None, None, :], g[None, :, None]
    for _ in range(4):
        idx = np.flatnonzero(rng.random(n) < min(clutter / 4, 1.0))
        cx, cy = rng.random((2, len(idx)), dtype=F32) * px
        r = rng.uniform(*GEOMETRY["clutter_blob_radius_px"], len(idx))
        dist = np.sqrt((gx - _col(cx)) ** 2 + (gy - _col(cy)) ** 2)
        _blend(img, idx, np.clip(_col(r) + 0.5 - dist, 0, 1), rng.random((len(idx), 3), dtype=F32))
    idx = np.flatnonzero(rng.random(n) < GEOMETRY["line_prob"])
    (x0, y0), (dx, dy) = rng.random((2, 2, len(idx)), dtype=F32) * px
    dx, dy = dx - x0, dy - y0
    t = ((gx - _col(x0)) * _col(dx) + (gy - _col(y0)) * _col(dy)) / _col(dx * dx + dy * dy + 1e-6)
    t = np.clip(t, 0, 1)
    dist = np.hypot(gx - _col(x0) - t * _col(dx), gy - _col(y0) - t * _col(dy))
    _blend(img, idx, np.clip(1.0 - dist, 0, 1), rng.random((len(idx), 3), dtype=F32))


def _objects(img, rng, obj):
    """The object: a shape at random centre, radius, rotation and colour (anti-aliased)."""
    n, px = img.shape[:2]
    cx, cy = rng.uniform(*GEOMETRY["object_center"], (2, n))
    rad = rng.uniform(*GEOMETRY["object_radius"], n)
    rot = np.deg2rad(GEOMETRY["rotation_deg"]) * rng.uniform(-1, 1, n)
    colour = hsv_to_rgb(rng.random(n), rng.uniform(*GEOMETRY["object_sat"], n),
                        rng.uniform(*GEOMETRY["object_val"], n))
    c = ((np.arange(px) + 0.5) / px).astype(F32)
    for k, shape in enumerate(OBJECTS):
        i = np.flatnonzero(obj == k)
        dx, dy = c[None, None, :] - _col(cx[i]), c[None, :, None] - _col(cy[i])
        cos, sin, r = _col(np.cos(rot[i])), _col(np.sin(rot[i])), _col(rad[i])
        d = _shape_distance(shape, (dx * cos + dy * sin) / r, (-dx * sin + dy * cos) / r)
        _blend(img, i, np.clip(0.5 - d * r * px, 0, 1), colour[i])


def _emblems(img, rng, stance):
    """Paste an e x e striped emblem (stance-dependent hue and stripe direction) in a corner."""
    n, px = img.shape[:2]
    e = max(3, int(round(px * GEOMETRY["emblem_px_fraction"])))
    mu, sd = (np.array([EMBLEM[s][k] for s in STANCES])[stance] for k in ("hue", "hue_std"))
    ink = hsv_to_rgb(mu + sd * rng.standard_normal(n), np.full(n, 0.85), np.full(n, 0.9))
    paper = hsv_to_rgb(np.zeros(n), np.zeros(n), rng.uniform(0.0, 1.0, n))
    horiz = np.broadcast_to((np.arange(e) % 2 == 0)[:, None], (e, e))
    pat = np.where((stance == 0)[:, None, None], horiz[None], horiz.T[None])[..., None]
    tile = np.where(pat, ink[:, None, None, :], paper[:, None, None, :])
    corner, (jy, jx) = rng.integers(0, 4, n), rng.integers(1, 3, (2, n))
    rows = np.where(corner // 2 == 0, jy, px - e - jy)[:, None] + np.arange(e)
    cols = np.where(corner % 2 == 0, jx, px - e - jx)[:, None] + np.arange(e)
    img[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]] = tile


def render_images(rng, affect, stance, obj, px, style_spread=1.0, pixel_noise=0.04, clutter=2.0):
    """Render float32 images in [0, 1] of shape (N, px, px, 3) for the given latent arrays.

    Layers, back to front: the affect-styled background (two-tone palette mixed by an oriented
    sinusoid plus low-frequency noise; hue, saturation, brightness, contrast and frequency drawn
    per image from the affect's overlapping distributions), latent-independent clutter (random
    discs and a line), the object shape (random position, radius, rotation and colour), the stance
    emblem (a small striped square in a random corner, stance-dependent hue and stripe direction),
    and Gaussian pixel noise.
    """
    img = _background(rng, np.asarray(affect), px, style_spread)
    _clutter(img, rng, clutter)
    _objects(img, rng, np.asarray(obj))
    _emblems(img, rng, np.asarray(stance))
    img += pixel_noise * rng.standard_normal(img.shape, dtype=F32)
    return np.clip(img, 0, 1, out=img)

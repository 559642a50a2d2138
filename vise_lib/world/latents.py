"""The world's hidden latents: content, affect given content, stance, poster and popularity.

* **content** (the ``object`` task): one of ``len(SHAPES) * len(TEXTURES) * len(LAYOUTS)`` = 32
  classes, each a shape, a background texture, a layout and its own palette (two hues), drawn
  uniformly from the classes a set may use (the posts never show the ``n_heldout_content``
  held-out classes; the downstream sets do).
* **affect** (the ``emotion`` task): p(affect | content) = (1 - κ) · uniform + κ · 1[affect =
  ``AFFECT_OF_CONTENT[content]``], κ = ``affect_from_content``; the image shows the affect through
  a content-independent colour-grading style (:mod:`vise_lib.world.render`).
* **stance** (the ``stance`` task): uniform over two classes, independent of the rest.
* **poster**: uniform over ``n_posters`` accounts; each account has a popularity (lognormal,
  mean 1) that multiplies the post's own lognormal popularity. Neither shows in the image.

Everything is deterministic given the generator passed in.
"""

from __future__ import annotations

import numpy as np

AFFECTS = ("amusement", "awe", "contentment", "anger", "fear", "sadness")
STANCES = ("left", "right")
SHAPES = ("circle", "square", "triangle", "cross")
TEXTURES = ("stripes", "checks", "dots", "blobs")
LAYOUTS = ("single", "tiled")
#: Content classes, named shape/texture/layout, in index order (shape varies slowest).
CONTENTS = tuple(f"{s}/{t}/{lay}" for s in SHAPES for t in TEXTURES for lay in LAYOUTS)
#: Each content class's preferred affect (used with weight ``affect_from_content``): a fixed
#: scramble, so neighbouring classes do not share it.
AFFECT_OF_CONTENT = tuple(
    int(a) for a in np.random.default_rng(12345).permutation(np.arange(len(CONTENTS)) % len(AFFECTS))
)
#: Each content class's palette: background hue and foreground hue (turns), fixed.
PALETTE = tuple(
    (round(float(h), 3), round(float((h + 0.35 + 0.3 * g) % 1.0), 3))
    for h, g in zip(
        (np.arange(len(CONTENTS)) * 0.618034) % 1.0, np.random.default_rng(54321).random(len(CONTENTS)), strict=False
    )
)


def content_parts(content: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(shape, texture, layout) indices of content class indices."""
    content = np.asarray(content)
    n_t, n_l = len(TEXTURES), len(LAYOUTS)
    return content // (n_t * n_l), (content // n_l) % n_t, content % n_l


def heldout_contents(n_heldout: int) -> np.ndarray:
    """The held-out content classes: every ``len(CONTENTS) // n_heldout``-th class (spread over shapes)."""
    if n_heldout == 0:
        return np.zeros(0, np.int64)
    return np.arange(n_heldout, dtype=np.int64) * (len(CONTENTS) // n_heldout) + 1


def affect_given_content(content: np.ndarray, kappa: float, rng: np.random.Generator) -> np.ndarray:
    """Sample affect from p(affect | content) (see the module docstring)."""
    tied = rng.random(len(content)) < kappa
    free = rng.integers(0, len(AFFECTS), len(content))
    return np.where(tied, np.asarray(AFFECT_OF_CONTENT)[content], free).astype(np.int64)


def poster_popularity(rng: np.random.Generator, n_posters: int, sigma: float) -> np.ndarray:
    """Per-account popularity multipliers (lognormal, mean 1, log-std ``sigma / 2``)."""
    s = sigma / 2
    return np.exp(s * rng.standard_normal(n_posters) - s * s / 2)


def sample_latents(rng: np.random.Generator, n: int, cfg, posts: bool, poster_pop: np.ndarray) -> dict:
    """Latents of ``n`` posts (``posts=True``: held-out content excluded) or downstream images.

    Returns int64 ``object`` (the content class), ``affect``, ``stance``, ``poster`` and float
    ``popularity`` (post-level lognormal, mean 1, times the poster's multiplier).
    """
    allowed = np.arange(len(CONTENTS))
    if posts:
        allowed = np.setdiff1d(allowed, heldout_contents(cfg.n_heldout_content))
    content = allowed[rng.integers(0, len(allowed), n)].astype(np.int64)
    affect = affect_given_content(content, cfg.affect_from_content, rng)
    stance = rng.integers(0, len(STANCES), n).astype(np.int64)
    poster = rng.integers(0, len(poster_pop), n).astype(np.int64)
    s = cfg.popularity_sigma * np.sqrt(0.75)  # with the poster's log-std sigma/2: total log-std sigma
    pop = np.exp(s * rng.standard_normal(n) - s * s / 2) * poster_pop[poster]
    return {"object": content, "affect": affect, "stance": stance, "poster": poster, "popularity": pop}

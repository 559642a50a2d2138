"""Verdicts with uncertainty: paired bootstrap over test images and seeds, and the verdict rule.

A comparison "backbone ``a`` beats backbone ``b`` on a task" is judged from per-image
correctness: ``a`` and ``b`` are ``(S, N)`` boolean arrays (one row per seed: pretraining seed ×
probe seed; one column per test image, the same images in the same order for both). Each
bootstrap replicate resamples the test images (the same draw for ``a`` and ``b``: paired) and,
independently for ``a`` and ``b``, their seed rows, so the interval covers the variance from
the test set *and* from pretraining / probe seeds.

The verdict rule, fixed before any run (``min_effect`` δ and equivalence margin ε, in
accuracy points):

==============  ==============================================================
``holds``       the 95 % CI lies above 0 and the point difference is ≥ δ
``reversed``    the 95 % CI lies below 0 and the point difference is ≤ −δ
``equivalent``  the 95 % CI lies inside [−ε, ε] (a two-one-sided-tests reading)
``unresolved``  anything else (the data cannot tell)
==============  ==============================================================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

VERDICTS = ("holds", "reversed", "equivalent", "unresolved")
MIN_EFFECT = 2.0  # accuracy points: the smallest difference a verdict calls a win
EPSILON = 2.0  # accuracy points: |Δ| within this is "competitive" (equivalent)


@dataclass(frozen=True)
class Comparison:
    """``a`` minus ``b`` in accuracy points, with its bootstrap 95 % interval."""

    diff: float
    ci_low: float
    ci_high: float
    n_images: int
    n_seeds_a: int
    n_seeds_b: int


def _as_matrix(x: ArrayLike, name: str) -> np.ndarray:
    m = np.asarray(x, dtype=np.float64)
    if m.ndim == 1:
        m = m[None, :]
    if m.ndim != 2 or m.size == 0:
        raise ValueError(f"{name} must be a non-empty (seeds, images) array, got shape {m.shape}")
    return m


def paired_bootstrap(a: ArrayLike, b: ArrayLike, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> Comparison:
    """Mean accuracy of ``a`` minus that of ``b`` (points) with a percentile bootstrap CI."""
    a, b = _as_matrix(a, "a"), _as_matrix(b, "b")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"a and b must score the same test images: {a.shape[1]} vs {b.shape[1]} columns")
    n = a.shape[1]
    rng = np.random.default_rng(seed)
    w = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(np.float64)  # image weights
    sa = rng.multinomial(len(a), np.full(len(a), 1.0 / len(a)), size=n_boot) / len(a)  # seed weights
    sb = rng.multinomial(len(b), np.full(len(b), 1.0 / len(b)), size=n_boot) / len(b)
    per_image = sa @ a - sb @ b  # (n_boot, n): seed-resampled accuracy difference per image
    reps = 100.0 * (per_image * w).sum(1) / n
    lo, hi = np.quantile(reps, [(1 - level) / 2, 1 - (1 - level) / 2])
    diff = 100.0 * float(a.mean() - b.mean())
    return Comparison(diff, float(lo), float(hi), n, len(a), len(b))


@dataclass(frozen=True)
class Rule:
    """How a claim is judged: the verdict rule's ``min_effect`` δ and margin ε (accuracy points),
    fixed before any run, and the bootstrap's resamples and seed."""

    min_effect: float = MIN_EFFECT
    epsilon: float = EPSILON
    n_boot: int = 2000
    seed: int = 0


def verdict(c: Comparison, min_effect: float = MIN_EFFECT, epsilon: float = EPSILON) -> str:
    """One of :data:`VERDICTS` for a comparison (see the module docstring for the rule)."""
    if c.ci_low > 0 and c.diff >= min_effect:
        return "holds"
    if c.ci_high < 0 and c.diff <= -min_effect:
        return "reversed"
    if -epsilon <= c.ci_low and c.ci_high <= epsilon:
        return "equivalent"
    return "unresolved"

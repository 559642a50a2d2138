"""Verdicts with uncertainty: a hierarchical paired bootstrap, the design's power, and the verdict rule.

A comparison "backbone ``a`` beats backbone ``b`` on a task" is judged from per-image
correctness. ``a`` and ``b`` are ``(S, P, N)`` boolean arrays: ``S`` pretraining seeds, ``P``
probe seeds within each, ``N`` test images (the same images in the same order for both). The
pretraining run is the unit of evidence, so each bootstrap replicate resamples, for ``a`` and
``b`` independently, **pretraining seeds first, then probe seeds within each drawn pretraining
seed**, and resamples the **test images once for both** (paired). The interval therefore covers
the variance from pretraining, from the probe and from the test set, and does not treat the
``S × P`` seed rows as independent (which would shrink it when pretraining seeds disagree). A
2-D ``(P, N)`` array is one pretraining run with ``P`` probe seeds (a fixed feature such as a
hand-made statistic, or a released checkpoint that cannot be retrained).

The design's power comes from the same replicates: ``se`` is their standard deviation, ``mde``
the smallest true difference the design detects with 80 % power at a two-sided 5 % level
(``(1.96 + 0.84) · se``), and ``equivalence_power`` the probability that the 95 % interval of a
true null difference falls inside ``[−ε, ε]`` (normal approximation).

The verdict rule, fixed before any run (``min_effect`` δ, equivalence margin ε, in accuracy
points, and ``min_seeds``, the pretraining seeds a trained backbone needs):

===============  ==============================================================
``exploratory``  a trained backbone has fewer than ``min_seeds`` pretraining seeds: no verdict
``holds``        the 95 % CI lies above 0 and the point difference is ≥ δ
``reversed``     the 95 % CI lies below 0 and the point difference is ≤ −δ
``equivalent``   the 95 % CI lies inside [−ε, ε] (a two-one-sided-tests reading)
``unresolved``   anything else (the data cannot tell)
===============  ==============================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import ArrayLike

VERDICTS = ("holds", "reversed", "equivalent", "unresolved", "exploratory")
MIN_EFFECT = 2.0  # accuracy points: the smallest difference a verdict calls a win
EPSILON = 2.0  # accuracy points: |Δ| within this is "competitive" (equivalent)
MIN_SEEDS = 3  # pretraining seeds a trained backbone needs before a verdict is drawn
Z_95, Z_80 = 1.959963984540054, 0.8416212335729143


@dataclass(frozen=True)
class Comparison:
    """``a`` minus ``b`` in accuracy points, with its bootstrap 95 % interval and the design's power.

    ``n_seeds_*`` are pretraining seeds, ``n_probe_*`` probe seeds per pretraining seed; ``se`` is
    the bootstrap standard error, ``mde`` the minimum detectable effect (80 % power, 5 % two-sided)
    and ``equivalence_power`` the chance that a true null difference comes out inside ``[−ε, ε]``
    (filled by :func:`with_power`; NaN until then)."""

    diff: float
    ci_low: float
    ci_high: float
    n_images: int
    n_seeds_a: int
    n_seeds_b: int
    n_probe_a: int = 1
    n_probe_b: int = 1
    se: float = float("nan")
    mde: float = float("nan")
    equivalence_power: float = float("nan")


def _as_cube(x: ArrayLike, name: str) -> np.ndarray:
    m = np.asarray(x, dtype=np.float64)
    if m.ndim == 1:
        m = m[None, :]
    if m.ndim == 2:
        m = m[None, :, :]
    if m.ndim != 3 or m.size == 0:
        raise ValueError(
            f"{name} must be a non-empty (pretraining seeds, probe seeds, images) array, got shape {m.shape}"
        )
    return m


def _nested_weights(rng: np.random.Generator, s: int, p: int, n_boot: int) -> np.ndarray:
    """``(n_boot, s, p)`` weights summing to 1 per replicate: pretraining seeds drawn with
    replacement, then probe seeds drawn with replacement within each drawn pretraining seed."""
    top = rng.multinomial(s, np.full(s, 1.0 / s), size=n_boot) / s  # (n_boot, s)
    inner = rng.multinomial(p, np.full(p, 1.0 / p), size=(n_boot, s)) / p  # (n_boot, s, p)
    return top[:, :, None] * inner


def equivalence_power(se: float, epsilon: float) -> float:
    """P(the 95 % CI lies inside [−ε, ε]) when the true difference is 0 (normal approximation)."""
    if not (se > 0) or math.isnan(se):
        return 1.0 if epsilon > 0 else 0.0
    room = (epsilon - Z_95 * se) / se
    return 0.0 if room <= 0 else float(math.erf(room / math.sqrt(2)))  # 2Φ(room) − 1


def paired_bootstrap(a: ArrayLike, b: ArrayLike, n_boot: int = 2000, seed: int = 0, level: float = 0.95) -> Comparison:
    """Mean accuracy of ``a`` minus that of ``b`` (points) with a hierarchical percentile bootstrap
    CI (see the module docstring); ``a``/``b``: ``(S, P, N)``, ``(P, N)`` or ``(N,)``."""
    a, b = _as_cube(a, "a"), _as_cube(b, "b")
    if a.shape[2] != b.shape[2]:
        raise ValueError(f"a and b must score the same test images: {a.shape[2]} vs {b.shape[2]} columns")
    n = a.shape[2]
    rng = np.random.default_rng(seed)
    w = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(np.float64)  # paired image weights
    wa = _nested_weights(rng, a.shape[0], a.shape[1], n_boot)
    wb = _nested_weights(rng, b.shape[0], b.shape[1], n_boot)
    per_image = np.einsum("rsp,spn->rn", wa, a) - np.einsum("rsp,spn->rn", wb, b)  # (n_boot, n)
    reps = 100.0 * (per_image * w).sum(1) / n
    lo, hi = np.quantile(reps, [(1 - level) / 2, 1 - (1 - level) / 2])
    diff = 100.0 * float(a.mean() - b.mean())
    se = float(reps.std(ddof=1))
    return Comparison(
        diff, float(lo), float(hi), n, a.shape[0], b.shape[0], a.shape[1], b.shape[1], se, (Z_95 + Z_80) * se
    )


def with_power(c: Comparison, epsilon: float) -> Comparison:
    """``c`` with its ``equivalence_power`` for margin ``epsilon``."""
    return replace(c, equivalence_power=equivalence_power(c.se, epsilon))


@dataclass(frozen=True)
class Rule:
    """How a claim is judged: the verdict rule's ``min_effect`` δ and margin ε (accuracy points),
    ``min_seeds`` (pretraining seeds a trained backbone needs; 1 judges any), the backbones
    ``fixed`` by construction (no pretraining to repeat: pooled pixels, hand-made statistics),
    fixed before any run, and the bootstrap's resamples and seed."""

    min_effect: float = MIN_EFFECT
    epsilon: float = EPSILON
    n_boot: int = 2000
    seed: int = 0
    min_seeds: int = 1
    fixed: tuple[str, ...] = ()


def verdict(c: Comparison, min_effect: float = MIN_EFFECT, epsilon: float = EPSILON) -> str:
    """One of :data:`VERDICTS` but ``exploratory`` for a comparison (see the module docstring)."""
    if c.ci_low > 0 and c.diff >= min_effect:
        return "holds"
    if c.ci_high < 0 and c.diff <= -min_effect:
        return "reversed"
    if -epsilon <= c.ci_low and c.ci_high <= epsilon:
        return "equivalent"
    return "unresolved"

"""Diagnostics of pseudo labels: cluster sizes, agreement with known latents, a shuffled
control, the top terms and mean reaction profile of each cluster, and an explorer sample.

The k-means backends themselves live in :mod:`vise_lib.labels.kmeans`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

if TYPE_CHECKING:
    from scipy import sparse


def cluster_sizes(labels: np.ndarray, k: int) -> np.ndarray:
    """Number of posts in each of the ``k`` clusters."""
    return np.bincount(labels, minlength=k)


def agreement(labels: np.ndarray, latents: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """NMI / ARI of pseudo labels against each latent (diagnostics on the synthetic world)."""
    return {
        name: {"nmi": float(normalized_mutual_info_score(y, labels)), "ari": float(adjusted_rand_score(y, labels))}
        for name, y in latents.items()
    }


def shuffled_control(labels: np.ndarray, latents: dict[str, np.ndarray], seed: int = 0) -> dict:
    """The same scores for a random permutation of the labels: what 'no signal' looks like."""
    rng = np.random.default_rng(seed)
    return agreement(rng.permutation(labels), latents)


def top_terms(
    tfidf: sparse.spmatrix | np.ndarray,
    vocab: np.ndarray,
    labels: np.ndarray,
    k: int,
    n: int = 8,
    exclude: Iterable[str] = (),
) -> list[list[str]]:
    """The ``n`` terms with the highest mean TF-IDF in each cluster.

    ``exclude``: words to leave out (e.g. ``sklearn``'s ``ENGLISH_STOP_WORDS``); an n-gram is
    left out when any of its words is excluded ("is sad" goes, "sad" stays).
    """
    excluded = set(exclude)
    keep = np.array([not any(w in excluded for w in str(t).split()) for t in vocab], dtype=bool)
    out: list[list[str]] = []
    for c in range(k):
        rows = tfidf[labels == c]
        if rows.shape[0] == 0:
            out.append([])
            continue
        mean = np.asarray(rows.mean(axis=0)).ravel() * keep
        out.append([str(vocab[i]) for i in np.argsort(-mean, kind="stable")[:n] if mean[i] > 0])
    return out


def mean_profiles(reactions: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Mean reaction distribution per cluster, (k, R)."""
    counts = reactions.astype(np.float64)
    total = counts.sum(1, keepdims=True)
    dist = np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)
    prof = np.zeros((k, reactions.shape[1]))
    np.add.at(prof, labels, dist)
    return prof / np.maximum(cluster_sizes(labels, k), 1)[:, None]


def majority(values: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """The most frequent value of ``values`` (ints) in each cluster; -1 for empty clusters."""
    out = np.full(k, -1, dtype=np.int64)
    for c in range(k):
        v = values[labels == c]
        if len(v):
            out[c] = np.bincount(v).argmax()
    return out


def explorer_sample(
    labels: np.ndarray, k: int, n_clusters: int = 8, per_cluster: int = 6, seed: int = 0
) -> dict[int, np.ndarray]:
    """For the cluster explorer: up to ``per_cluster`` random members (row indices) of each of
    the ``n_clusters`` largest clusters, largest first; deterministic given ``seed``."""
    rng = np.random.default_rng(seed)
    sizes = cluster_sizes(labels, k)
    out = {}
    for c in np.argsort(-sizes, kind="stable")[:n_clusters]:
        members = np.flatnonzero(labels == c)
        if len(members):
            out[int(c)] = np.sort(rng.choice(members, size=min(per_cluster, len(members)), replace=False))
    return out

"""k-means pseudo labels and their diagnostics."""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

BACKENDS = ("sklearn",)


def kmeans(x: np.ndarray, k: int, seed: int = 0, backend: str = "sklearn", n_init: int = 1,
           max_iter: int = 100) -> dict:
    """Cluster rows of ``x`` into ``k`` groups; returns labels, centroids and inertia."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown k-means backend {backend!r}; available: {BACKENDS}")
    if not 2 <= k <= len(x):
        raise ValueError(f"k={k} must be between 2 and the number of points ({len(x)})")
    km = KMeans(n_clusters=k, n_init=n_init, max_iter=max_iter, random_state=seed).fit(x)
    return {"labels": km.labels_.astype(np.int64), "centroids": km.cluster_centers_.astype(np.float32),
            "inertia": float(km.inertia_)}


def cluster_sizes(labels: np.ndarray, k: int) -> np.ndarray:
    return np.bincount(labels, minlength=k)


def agreement(labels: np.ndarray, latents: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """NMI / ARI of pseudo labels against each latent (diagnostics on the synthetic world)."""
    return {name: {"nmi": float(normalized_mutual_info_score(y, labels)),
                   "ari": float(adjusted_rand_score(y, labels))}
            for name, y in latents.items()}


def shuffled_control(labels: np.ndarray, latents: dict[str, np.ndarray], seed: int = 0) -> dict:
    """The same scores for a random permutation of the labels: what 'no signal' looks like."""
    rng = np.random.default_rng(seed)
    return agreement(rng.permutation(labels), latents)


def top_terms(tfidf, vocab, labels: np.ndarray, k: int, n: int = 8) -> list[list[str]]:
    """The ``n`` terms with the highest mean TF-IDF in each cluster."""
    out = []
    for c in range(k):
        rows = tfidf[labels == c]
        if rows.shape[0] == 0:
            out.append([])
            continue
        mean = np.asarray(rows.mean(axis=0)).ravel()
        out.append([str(vocab[i]) for i in np.argsort(-mean)[:n] if mean[i] > 0])
    return out


def mean_profiles(reactions: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """Mean reaction distribution per cluster, (k, R)."""
    counts = reactions.astype(np.float64)
    total = counts.sum(1, keepdims=True)
    dist = np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)
    prof = np.zeros((k, reactions.shape[1]))
    np.add.at(prof, labels, dist)
    return prof / np.maximum(cluster_sizes(labels, k), 1)[:, None]

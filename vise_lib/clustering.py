"""k-means pseudo labels, label sets for several signals, soft labels, a cluster-balanced
sampler, and the diagnostics of what the clusters capture.

The k-means backends themselves live in :mod:`vise_lib.kmeans`.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from .kmeans import BACKENDS, faiss_available, fit_kmeans, resolve_backend  # noqa: F401


def kmeans(x: np.ndarray, k: int, seed: int = 0, backend: str = "auto", n_init: int = 1,
           max_iter: int = 100, pca_dim: int | None = None, **schedule) -> dict:
    """Cluster rows of ``x`` into ``k`` groups; returns labels, centroids and inertia.

    ``backend``: ``auto`` (faiss when importable, else sklearn), ``sklearn`` or ``faiss``;
    ``pca_dim``: optional PCA-whitening + L2 first (DeepCluster). Same seed -> same labels,
    for each backend. Extra keys (``init_sample``, ``sample``, ``sample_iter``,
    ``full_iter``) tune the faiss schedule (see :mod:`vise_lib.kmeans`).
    """
    return fit_kmeans(x, k, seed=seed, backend=backend, n_init=n_init, max_iter=max_iter,
                      pca_dim=pca_dim, **schedule)


def pseudo_label_sets(phis: dict[str, np.ndarray], k: int, seed: int = 0, backend: str = "auto",
                      **kw) -> dict[str, dict]:
    """One k-means result per signal (for multi-head training), all with the same K and seed."""
    return {name: kmeans(x, k, seed=seed, backend=backend, **kw) for name, x in phis.items()}


def soft_labels(x: np.ndarray, centroids: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """Soft pseudo labels: softmax over clusters of ``-squared distance / temperature``, (N, K).

    The temperature is relative to the mean squared distance to the nearest centroid, so
    ``temperature=1`` means comparable softness whatever the scale of φ.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    x = np.asarray(x, np.float32)
    c = np.asarray(centroids, np.float32)
    d = (x * x).sum(1)[:, None] - 2 * x @ c.T + (c * c).sum(1)[None, :]
    d = np.maximum(d, 0)
    scale = max(float(d.min(1).mean()), 1e-12) * temperature
    logits = -(d - d.min(1, keepdims=True)) / scale
    p = np.exp(logits)
    return (p / p.sum(1, keepdims=True)).astype(np.float32)


class ClusterBalancedSampler:
    """Indices drawn uniformly over non-empty clusters, then uniformly within the cluster.

    An iterable with ``len``, usable as a ``torch.utils.data.DataLoader`` ``sampler``.
    ``num_samples`` defaults to the number of posts; ``set_epoch(e)`` changes the draw
    deterministically (seed, epoch).
    """

    def __init__(self, labels: np.ndarray, num_samples: int | None = None, seed: int = 0):
        labels = np.asarray(labels)
        if labels.ndim != 1 or len(labels) == 0:
            raise ValueError("labels must be a non-empty 1-D array")
        order = np.argsort(labels, kind="stable")
        clusters, starts, counts = np.unique(labels[order], return_index=True, return_counts=True)
        self.members = [order[s:s + c] for s, c in zip(starts, counts)]
        self.clusters = clusters
        self.num_samples = len(labels) if num_samples is None else int(num_samples)
        self.seed, self.epoch = seed, 0

    def set_epoch(self, epoch: int) -> None:
        """Use a different (deterministic) draw for each epoch."""
        self.epoch = epoch

    def __len__(self) -> int:
        return self.num_samples

    def __iter__(self):
        rng = np.random.default_rng([self.seed, self.epoch])
        which = rng.integers(0, len(self.members), self.num_samples)
        sizes = np.array([len(m) for m in self.members])
        pos = (rng.random(self.num_samples) * sizes[which]).astype(np.int64)
        out = np.array([self.members[c][p] for c, p in zip(which, pos)], dtype=np.int64)
        return iter(out.tolist())


def cluster_sizes(labels: np.ndarray, k: int) -> np.ndarray:
    """Number of posts in each of the ``k`` clusters."""
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


def top_terms(tfidf, vocab, labels: np.ndarray, k: int, n: int = 8, exclude=()) -> list[list[str]]:
    """The ``n`` terms with the highest mean TF-IDF in each cluster.

    ``exclude``: words to leave out (e.g. ``sklearn``'s ``ENGLISH_STOP_WORDS``); an n-gram is
    left out when any of its words is excluded ("is sad" goes, "sad" stays).
    """
    exclude = set(exclude)
    keep = np.array([not any(w in exclude for w in str(t).split()) for t in vocab], dtype=bool)
    out = []
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


def explorer_sample(labels: np.ndarray, k: int, n_clusters: int = 8, per_cluster: int = 6,
                    seed: int = 0) -> dict[int, np.ndarray]:
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

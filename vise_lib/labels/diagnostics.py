"""Diagnostics of pseudo labels: cluster sizes, agreement with known latents, a shuffled
control, the top terms and mean reaction profile of each cluster, and an explorer sample; the
tables and figures of the pseudo-label page drawn from them (nothing is shown or saved: the
plotting functions return a matplotlib Figure).

The k-means backends themselves live in :mod:`vise_lib.labels.kmeans`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure
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


def agreement_table(
    label_sets: dict, order: Iterable[str] = (), latents: Sequence[str] = ("affect", "stance", "object")
) -> pd.DataFrame:
    """NMI and ARI of each label set with each latent, next to the shuffled control's NMI
    (DataFrame indexed by label set and latent, rounded to 3 places; empty without latents).

    ``label_sets`` maps a set to ``{"agreement": {latent: {"nmi", "ari"}}, "shuffled_control":
    {...}}`` (the pseudo-label stage's ``label_sets``); sets come in ``order`` first, then the
    others sorted, latents in the order ``latents`` gives.
    """
    import pandas as pd

    sets = [s for s in dict.fromkeys(order) if s in label_sets] + sorted(set(label_sets) - set(order))
    rows = [
        {
            "label set": s,
            "latent": k,
            "NMI": label_sets[s]["agreement"][k]["nmi"],
            "NMI (shuffled)": label_sets[s]["shuffled_control"][k]["nmi"],
            "ARI": label_sets[s]["agreement"][k]["ari"],
        }
        for s in sets
        for k in latents
        if k in label_sets[s]["agreement"]
    ]
    return pd.DataFrame(rows).set_index(["label set", "latent"]).round(3) if rows else pd.DataFrame()


def plot_cluster_sizes(sizes: Sequence[int] | np.ndarray, title: str) -> Figure:
    """Cluster sizes sorted from largest to smallest; the title ends with the extremes."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    sizes = np.asarray(sizes)
    fig, ax = plt.subplots(figsize=(8, 2.6))
    ax.bar(range(len(sizes)), np.sort(sizes)[::-1], color=sns.color_palette("colorblind")[0])
    ax.set_xlabel("cluster (sorted by size)")
    ax.set_ylabel("posts")
    ax.set_title(f"{title}: smallest {sizes.min()}, largest {sizes.max()} posts")
    fig.tight_layout()
    return fig


def plot_profiles(profiles: np.ndarray, reaction_names: Sequence[str], majority_names: Sequence[str]) -> Figure:
    """Heatmap of :func:`mean_profiles` (clusters x reactions); each row is labelled with the
    cluster and the name of its majority latent value (``majority_names[cluster]``)."""
    import matplotlib.pyplot as plt
    import pandas as pd
    import seaborn as sns

    rows = [f"{c} ({m})" for c, m in enumerate(majority_names)]
    frame = pd.DataFrame(profiles, columns=list(reaction_names), index=rows)
    fig, ax = plt.subplots(figsize=(6, 0.28 * len(frame) + 1.2))
    sns.heatmap(frame, cmap="mako_r", vmin=0, ax=ax, cbar_kws={"label": "mean share"})
    ax.set_ylabel("cluster (majority affect)")
    fig.tight_layout()
    return fig


def plot_explorer(
    images: np.ndarray,
    image_index: np.ndarray,
    labels: np.ndarray,
    majority_names: Sequence[str],
    seed: int = 0,
    n_clusters: int = 8,
    per_cluster: int = 6,
) -> Figure:
    """The cluster explorer: a row of :func:`explorer_sample` images for each of the
    ``n_clusters`` largest clusters, titled with the cluster, the name of its majority latent
    value (``majority_names[cluster]``, one per cluster) and its size. ``images`` are the post
    images, ``image_index`` each labelled row's image."""
    import matplotlib.pyplot as plt

    k = len(majority_names)
    sizes = cluster_sizes(labels, k)
    picks = explorer_sample(labels, k, n_clusters=n_clusters, per_cluster=per_cluster, seed=seed)
    fig, axes = plt.subplots(len(picks), per_cluster, figsize=(per_cluster, 1.05 * len(picks)), squeeze=False)
    for r, (c, rows) in enumerate(picks.items()):
        for j in range(per_cluster):
            ax = axes[r, j]
            ax.axis("off")
            if j < len(rows):
                ax.imshow(images[image_index[rows[j]]])
        axes[r, 0].set_title(f"cluster {c} ({majority_names[c]}, n={sizes[c]})", fontsize=7, loc="left")
    fig.tight_layout()
    return fig

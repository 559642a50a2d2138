"""The VisE method on one screen: posts -> φ(e) -> k-means -> pseudo labels -> pretrain -> probe.

Jia et al. (ICCV 2021) turn the engagement of each social image post (its comments and
reactions) into a numeric form φ(e), cluster φ(e) with k-means, use the cluster index as the
image's pseudo label, pretrain an image network to predict it, and use the network's
features for subjective downstream tasks. :func:`vise` does exactly that with the library's
public API. The study's stage notebooks (01 labels, 02 pretraining, 03 transfer) make the same
calls with diagnostics, baselines, several seeds and plots around them; every choice the
paper leaves open (text encoder, K, schedule) is ours and a parameter.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from vise_lib.backbones.checkpoint import load_backbone
from vise_lib.labels.pseudo_labels import build_pseudo_labels
from vise_lib.pretrain.config import TrainConfig
from vise_lib.pretrain.loop import pretrain
from vise_lib.transfer.features import extract_features
from vise_lib.transfer.probes import linear_probe

Split = tuple[np.ndarray, np.ndarray]  # uint8 images (N, H, W, 3) and integer labels (N,)


def vise(
    manifest: str | os.PathLike,
    images: np.ndarray,
    downstream: dict[str, Split],
    out_dir: str | os.PathLike,
    signal: str = "both",
    n_clusters: int = 16,
    train: TrainConfig | None = None,
    seed: int = 0,
) -> dict:
    """Run the whole method once and return what each step produced.

    Args:
        manifest: the engagement manifest (one post per line: ``image_index`` into
            ``images``, ``comments``, ``reactions``; see :mod:`vise_lib.engagement.table`).
        images: the post images, uint8 ``(N, H, W, 3)``.
        downstream: ``{"train": (x, y), "val": (x, y), "test": (x, y)}`` of a downstream task.
        out_dir: receives the pretrained backbone (official VisE trunk layout).
        signal: which engagement enters φ(e): ``comments``, ``reactions``, ``both``, ...
        n_clusters: K of k-means = the number of pseudo classes.
        train: the pretraining hyper-parameters (default: a small CPU-sized ResNet).
        seed: seeds φ(e), k-means and the probe.

    Returns ``pseudo_labels`` (per post), ``backbone`` (path), ``pretrain`` (the training
    log's summary) and ``probe`` (the linear probe's test metrics and chosen C).
    """
    train = train or TrainConfig(seed=seed)

    # 1. engagement e -> φ(e): comment text (TF-IDF -> SVD) and the reaction distribution
    # 2. k-means on φ(e); the cluster index is the pseudo label of the post's image
    pl = build_pseudo_labels(manifest, signal=signal, n_clusters=n_clusters, seed=seed)

    # 3. pretrain an image network to predict the pseudo label of each post's image
    x = images[pl.engagement.image_index]
    run = pretrain(x, [pl.labels], train, Path(out_dir), progress=False)

    # 4. freeze the trunk; a linear probe on its pooled features solves the downstream task
    trunk = load_backbone(run["backbone"], train.arch, width=train.width, blocks=train.blocks)
    feats = {split: (extract_features(trunk, xs), ys) for split, (xs, ys) in downstream.items()}
    probe = linear_probe(feats["train"], feats["val"], feats["test"], seed=seed)

    return {
        "pseudo_labels": pl.labels,
        "backbone": run["backbone"],
        "pretrain": {k: run[k] for k in ("steps", "train_accuracy", "seconds")},
        "probe": probe,
    }

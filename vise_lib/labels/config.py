"""The pseudo-label stage's typed config (preset section ``labels``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from vise_lib.config import StageConfig
from vise_lib.labels.encoders import ENCODERS
from vise_lib.labels.kmeans import BACKENDS
from vise_lib.labels.signals import SIGNALS


@dataclass(frozen=True)
class LabelsConfig(StageConfig):
    """φ(e) and k-means settings of the ``01_engagement_to_labels`` stage.

    ``signal`` gives the primary pseudo label; each of ``extra_signals`` its own label set with
    the same K (for the engagement-only and multi-head variants). ``encoder`` is the comment
    text encoder (``encoder_model``: a local model folder for ``sentence-transformers``);
    ``svd_dim`` the TF-IDF encoder's dimension; ``backend`` the k-means backend; ``pca_dim``
    optional PCA-whitening before k-means.

    ``engine``: ``memory`` (the default) holds every post and its φ(e) in memory, builds every
    label set and draws the diagnostics; ``dask`` runs the per-partition pass of
    :mod:`vise_lib.labels.dask_labels` for posts beyond memory (the primary ``signal`` only, so
    ``extra_signals`` must be empty and ``pca_dim`` unset): φ(e) and k-means are fitted on hash
    samples of ``fit_posts`` and ``kmeans_posts`` posts, partitions hold ``chunk_rows`` posts,
    and the tasks run on a ``LocalCluster`` of ``workers`` processes (default: the cores), on a
    running cluster (``scheduler`` address or ``scheduler_file``), or in the stage's own process
    (``sync``); a failed task is retried ``retries`` times.
    """

    section = "labels"
    #: the fields that say how the labels are computed, not what they are (not build_pseudo_labels')
    ENGINE_FIELDS: ClassVar[tuple[str, ...]] = (
        "engine",
        "fit_posts",
        "kmeans_posts",
        "chunk_rows",
        "workers",
        "scheduler",
        "scheduler_file",
        "sync",
        "retries",
    )
    ENGINES: ClassVar[tuple[str, ...]] = ("memory", "dask")
    signal: str = "both"
    extra_signals: list[str] = field(default_factory=lambda: ["comments", "reactions"])
    encoder: str = "tfidf"
    encoder_model: str | None = None
    n_clusters: int = 16
    svd_dim: int = 64
    backend: str = "auto"
    seed: int = 0
    pca_dim: int | None = None
    engine: str = "memory"
    fit_posts: int = 200_000
    kmeans_posts: int = 200_000
    chunk_rows: int = 50_000
    workers: int | None = None
    scheduler: str | None = None
    scheduler_file: str | None = None
    sync: bool = False
    retries: int = 2

    def build_params(self) -> dict:
        """The parameters of :func:`~vise_lib.labels.pseudo_labels.build_pseudo_labels` (no engine fields)."""
        return {k: v for k, v in self.to_params().items() if k not in self.ENGINE_FIELDS}

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in (self.signal, *self.extra_signals):
            if name not in SIGNALS:
                raise ValueError(f"labels.signal / extra_signals: unknown signal {name!r}; choose from {SIGNALS}")
        if self.encoder not in ENCODERS:
            raise ValueError(f"labels.encoder must be one of {ENCODERS}, got {self.encoder!r}")
        if self.backend not in BACKENDS:
            raise ValueError(f"labels.backend must be one of {BACKENDS}, got {self.backend!r}")
        if self.n_clusters < 2 or self.svd_dim < 1 or self.seed < 0:
            raise ValueError(
                f"labels: need n_clusters >= 2, svd_dim >= 1, seed >= 0 (got {self.n_clusters}, "
                f"{self.svd_dim}, {self.seed})"
            )
        if self.engine not in self.ENGINES:
            raise ValueError(f"labels.engine must be one of {self.ENGINES}, got {self.engine!r}")
        if self.engine == "dask" and (self.extra_signals or self.pca_dim is not None):
            raise ValueError(
                "labels.engine dask builds the primary signal's labels only: set extra_signals: [] and pca_dim: null"
            )
        if min(self.fit_posts, self.kmeans_posts, self.chunk_rows) < 1 or self.retries < 0:
            raise ValueError("labels: need fit_posts, kmeans_posts, chunk_rows >= 1 and retries >= 0")
        if self.workers is not None and self.workers < 1:
            raise ValueError(f"labels.workers must be >= 1, got {self.workers}")

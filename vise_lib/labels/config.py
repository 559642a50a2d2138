"""The pseudo-label stage's typed config (preset section ``labels``)."""

from __future__ import annotations

from dataclasses import dataclass, field

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
    """

    section = "labels"
    signal: str = "both"
    extra_signals: list[str] = field(default_factory=lambda: ["comments", "reactions"])
    encoder: str = "tfidf"
    encoder_model: str | None = None
    n_clusters: int = 16
    svd_dim: int = 64
    backend: str = "auto"
    seed: int = 0
    pca_dim: int | None = None

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

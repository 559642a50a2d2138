"""Typed configs of the study's stages: ``ablations`` and ``summary``."""

from __future__ import annotations

from dataclasses import dataclass, field

from vise_lib.config import StageConfig
from vise_lib.verdicts.statistics import EPSILON, MIN_EFFECT


@dataclass(frozen=True)
class AblationsConfig(StageConfig):
    """The ``04_ablations`` stage: "no" worlds, phase diagrams and the seed checks.

    Every point reuses the main run's world parameters, pseudo-label settings and training config
    and changes one thing. ``no_worlds`` (``content_only``, ``nonvisual_only``) and the
    ``engagement_noise`` value 1 are trained for every pretraining seed of the main run; the
    other sweep points for ``sweep_seeds``. ``kmeans_seeds`` and ``world_seeds`` add points with
    another k-means seed or another world seed (the latter trains its own ``object``).
    """

    section = "ablations"
    no_worlds: list[str] = field(default_factory=lambda: ["content_only", "nonvisual_only"])
    sweep_engagement_noise: list[float] = field(default_factory=lambda: [0.5, 1.0])
    sweep_eng_affect: list[float] = field(default_factory=lambda: [0.0, 3.0])
    kmeans_seeds: list[int] = field(default_factory=lambda: [1])
    world_seeds: list[int] = field(default_factory=lambda: [1])
    sweep_seeds: list[int] = field(default_factory=lambda: [0])
    tasks: list[str] = field(default_factory=lambda: ["emotion", "stance"])
    num_threads: int = 0


@dataclass(frozen=True)
class SummaryConfig(StageConfig):
    """The verdict rule of ``05_summary``, fixed before the run: ``min_effect`` δ and equivalence
    margin ``epsilon`` ε in top-1 points, and the number of bootstrap replicates."""

    section = "summary"
    min_effect: float = MIN_EFFECT
    epsilon: float = EPSILON
    n_boot: int = 2000

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.min_effect < 0 or self.epsilon < 0 or self.n_boot < 100:
            raise ValueError(
                f"summary: need min_effect >= 0, epsilon >= 0, n_boot >= 100 (got {self.min_effect}, "
                f"{self.epsilon}, {self.n_boot})"
            )

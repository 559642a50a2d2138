"""Typed configs of the study's stages: ``ablations`` and ``summary``."""

from __future__ import annotations

from dataclasses import dataclass, field

from vise_lib.config import StageConfig
from vise_lib.verdicts.statistics import EPSILON, MIN_EFFECT, MIN_SEEDS


@dataclass(frozen=True)
class AblationsConfig(StageConfig):
    """The ``04_ablations`` stage: "no" worlds, phase diagrams and the seed checks.

    Every point reuses the main run's world parameters, pseudo-label settings and training config
    and changes one thing. ``no_worlds`` (``content_only``, ``nonvisual_only``) and the
    ``engagement_noise`` value 1 are trained for every pretraining seed of the main run; the
    other sweep points for ``sweep_seeds`` (with fewer than 3 seeds they are exploratory: shown,
    no verdict). ``kmeans_seeds`` and ``world_seeds`` add points with another k-means seed or
    another world seed (the latter trains its own ``object``); ``budget_factors`` add the main
    world trained for that many times the main run's epochs (``vise``, ``object``,
    ``shuffled``), and ``weak_tie`` a second world whose ``affect_from_content`` is that value
    (the same three variants; null: none). These checks get ``check_seeds``. ``jobs`` trains
    that many backbones at once (worker processes; the weights do not depend on it).
    """

    section = "ablations"
    no_worlds: list[str] = field(default_factory=lambda: ["content_only", "nonvisual_only"])
    sweep_engagement_noise: list[float] = field(default_factory=lambda: [0.5, 1.0])
    sweep_eng_affect: list[float] = field(default_factory=lambda: [0.0, 3.0])
    kmeans_seeds: list[int] = field(default_factory=lambda: [1])
    world_seeds: list[int] = field(default_factory=lambda: [1])
    sweep_seeds: list[int] = field(default_factory=lambda: [0])
    check_seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    budget_factors: list[float] = field(default_factory=list)
    weak_tie: float | None = None
    tasks: list[str] = field(default_factory=lambda: ["emotion", "stance"])
    num_threads: int = 0
    jobs: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.jobs < 1 or any(f <= 0 for f in self.budget_factors):
            raise ValueError(
                f"ablations: need jobs >= 1 and budget_factors > 0 (got {self.jobs}, {self.budget_factors})"
            )
        if self.weak_tie is not None and not 0.0 <= self.weak_tie <= 1.0:
            raise ValueError(f"ablations.weak_tie must be in [0, 1] (an affect_from_content), got {self.weak_tie}")


@dataclass(frozen=True)
class SummaryConfig(StageConfig):
    """The verdict rule of ``05_summary``, fixed before the run: ``min_effect`` δ and equivalence
    margin ``epsilon`` ε in top-1 points, ``min_seeds`` (pretraining seeds a trained backbone
    needs for a verdict; fewer: exploratory) and the number of bootstrap replicates."""

    section = "summary"
    min_effect: float = MIN_EFFECT
    epsilon: float = EPSILON
    min_seeds: int = MIN_SEEDS
    n_boot: int = 2000

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.min_effect < 0 or self.epsilon < 0 or self.n_boot < 100:
            raise ValueError(
                f"summary: need min_effect >= 0, epsilon >= 0, n_boot >= 100 (got {self.min_effect}, "
                f"{self.epsilon}, {self.n_boot})"
            )

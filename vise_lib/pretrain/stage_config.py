"""The pretrain stage's typed config (preset section ``pretrain``)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from vise_lib.config import StageConfig, closest
from vise_lib.pretrain.config import TrainConfig
from vise_lib.pretrain.objectives import check_settings
from vise_lib.pretrain.variants import VARIANTS

PER_RUN = ("seed",)  # TrainConfig fields the stage sets for each run (from ``seeds``)


@dataclass(frozen=True)
class PretrainStageConfig(StageConfig):
    """Which backbones the ``02_pretrain`` stage trains, for which pretraining seeds, and how.

    Every variant in ``variants`` is trained once per seed in ``seeds`` (>= 3 for the headline).
    ``train`` holds :class:`~vise_lib.pretrain.config.TrainConfig` fields, one training setup for
    every variant (any field but ``seed``, which comes from ``seeds``; a field left out keeps
    TrainConfig's default); its ``objectives`` key holds each objective's own settings
    (``objectives: {simclr: {epochs: 0}}``; names and keys are checked against the objectives
    registry here). SimCLR's ``epochs: 0`` gives it the same number of epochs as every other
    variant (its two views per image then cost about twice a classification epoch).
    ``variant_seeds`` gives a variant other seeds than ``seeds`` (e.g. fewer for the costly
    SimCLR); ``jobs`` trains that many backbones at once, each in its own single-threaded worker
    process (the weights do not depend on it). ``holdout`` sets that fraction of the posts aside
    (the same posts for every variant and seed) to log each epoch's held-out accuracy on the
    variant's own labels: the learning curve that shows whether a backbone learned its labels.
    """

    section = "pretrain"
    variants: list[str] = field(default_factory=lambda: ["vise", "object", "simclr", "random", "shuffled", "oracle"])
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    train: dict = field(default_factory=dict)
    variant_seeds: dict = field(default_factory=dict)
    jobs: int = 1
    holdout: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        bad = [v for v in self.variants if v not in VARIANTS]
        if bad or not self.variants:
            raise ValueError(f"pretrain.variants: unknown {bad}; choose from {VARIANTS}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds) or min(self.seeds) < 0:
            raise ValueError(f"pretrain.seeds must be distinct ints >= 0, got {self.seeds}")
        for v, seeds in self.variant_seeds.items():
            if v not in self.variants:
                raise ValueError(f"pretrain.variant_seeds: {v!r} is not one of pretrain.variants {self.variants}")
            if not isinstance(seeds, list) or not seeds or len(set(seeds)) != len(seeds) or min(seeds) < 0:
                raise ValueError(f"pretrain.variant_seeds.{v} must be a list of distinct ints >= 0, got {seeds!r}")
        if self.jobs < 1:
            raise ValueError(f"pretrain.jobs must be >= 1, got {self.jobs}")
        if not 0.0 <= self.holdout < 0.5:
            raise ValueError(f"pretrain.holdout must be in [0, 0.5), got {self.holdout}")
        valid = [f.name for f in dataclasses.fields(TrainConfig) if f.name not in PER_RUN]
        for key in self.train:
            if key not in valid:
                raise ValueError(
                    f"pretrain.train: unknown key {key!r}{closest(str(key), valid)} "
                    f"(TrainConfig fields: {', '.join(valid)})"
                )
        check_settings(self.train_config())  # TrainConfig's and the objectives' type and range checks

    def seeds_of(self, variant: str) -> list[int]:
        """The pretraining seeds ``variant`` is trained for."""
        return [int(s) for s in self.variant_seeds.get(variant, self.seeds)]

    def train_config(self) -> TrainConfig:
        """The :class:`TrainConfig` every variant trains with (its ``seed`` is set per run)."""
        return TrainConfig(**self.train)

"""The pretrain stage's typed config (preset section ``pretrain``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from vise_lib.config import StageConfig
from vise_lib.pretrain.config import TrainConfig
from vise_lib.pretrain.variants import VARIANTS


@dataclass(frozen=True)
class PretrainStageConfig(StageConfig):
    """Which backbones the ``02_pretrain`` stage trains, for which pretraining seeds, and how.

    Every variant in ``variants`` is trained once per seed in ``seeds`` (>= 3 for the headline).
    The training fields are :class:`~vise_lib.pretrain.config.TrainConfig`'s; ``simclr_epochs``
    0 gives SimCLR the same number of epochs as every other variant (its two views per image
    then cost about twice a classification epoch).
    """

    section = "pretrain"
    variants: list[str] = field(default_factory=lambda: ["vise", "object", "simclr", "random", "shuffled", "oracle"])
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    arch: str = "small_resnet"
    width: int = 16
    blocks: int = 1
    epochs: int = 5
    batch_size: int = 128
    lr: float = 0.1
    simclr_epochs: int = 0
    proj_dim: int = 64
    temperature: float = 0.2
    num_threads: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        bad = [v for v in self.variants if v not in VARIANTS]
        if bad or not self.variants:
            raise ValueError(f"pretrain.variants: unknown {bad}; choose from {VARIANTS}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds) or min(self.seeds) < 0:
            raise ValueError(f"pretrain.seeds must be distinct ints >= 0, got {self.seeds}")
        self.train_config()  # range checks of the training fields

    def train_config(self) -> TrainConfig:
        """The :class:`TrainConfig` every variant trains with (its ``seed`` is set per run)."""
        return TrainConfig(
            arch=self.arch,
            width=self.width,
            blocks=self.blocks,
            epochs=self.epochs,
            batch_size=self.batch_size,
            lr=self.lr,
            simclr_epochs=self.simclr_epochs,
            proj_dim=self.proj_dim,
            temperature=self.temperature,
            num_threads=self.num_threads,
        )

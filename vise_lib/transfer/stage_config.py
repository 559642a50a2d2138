"""The downstream stage's typed config (preset section ``downstream``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from vise_lib.config import StageConfig
from vise_lib.transfer.runner import PROTOCOLS


@dataclass(frozen=True)
class DownstreamConfig(StageConfig):
    """Tasks, probe seeds and protocol of the ``03_downstream`` stage.

    ``seeds`` are probe seeds (each trains on a different stratified 80 % of the training split);
    every pretraining seed of the pretrain stage is probed with each. ``references`` adds the
    reference rows (``pixels``: pooled pixels, ``handmade``: fixed colour/texture statistics).
    ``dataset`` (a local path), ``dataset_format``, ``image_size`` and ``backbones``
    (``{name: spec}``: a checkpoint path, loaded as the file describes itself,
    ``torchvision:<arch>/<WEIGHTS>``, ``random:<arch>``, or ``{"path", "arch"[, "width",
    "blocks"]}`` for a file that does not describe itself; :func:`vise_lib.transfer.specs.resolve_spec`)
    switch the stage to a real dataset and external checkpoints.
    """

    section = "downstream"
    tasks: list[str] = field(default_factory=lambda: ["emotion", "stance", "object"])
    seeds: list[int] = field(default_factory=lambda: [0, 1])
    protocol: str = "linear"
    finetune_epochs: int = 3
    num_threads: int = 0
    references: list[str] = field(default_factory=lambda: ["pixels", "handmade"])
    dataset: str | None = None
    dataset_format: str = "imagefolder"
    image_size: int = 224
    backbones: dict | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        bad = [p for p in self.protocol.split("+") if p not in PROTOCOLS]
        if bad:
            raise ValueError(f"downstream.protocol must be among {PROTOCOLS} joined by '+', got {self.protocol!r}")
        if not self.seeds or not self.tasks:
            raise ValueError("downstream: need at least one task and one seed")
        unknown = sorted(set(self.references) - {"pixels", "handmade"})
        if unknown:
            raise ValueError(f"downstream.references: unknown {unknown}; choose from ['handmade', 'pixels']")

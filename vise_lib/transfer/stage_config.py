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
    ``dataset`` (a local path), ``dataset_format`` (``None``: guessed from the path, as
    ``vise evaluate`` does), ``image_size`` and ``backbones``
    (``{name: spec}``: a checkpoint path, loaded as the file describes itself,
    ``torchvision:<arch>/<WEIGHTS>``, ``random:<arch>``, or ``{"path", "arch"[, "width",
    "blocks"]}`` for a file that does not describe itself; :func:`vise_lib.transfer.specs.resolve_spec`)
    switch the stage to a real dataset and external checkpoints. On a dataset the stage runs
    the ``vise evaluate`` protocol (:func:`vise_lib.transfer.evaluate.probe_dataset`: the
    ``majority`` and ``chance`` rows, per-class metrics, confusion matrices) on a task named
    ``dataset_name`` (default: the dataset's folder or file name); ``dataset_group``
    (``subjective`` / ``object``) and ``data_root`` (a CSV's image folder) mean what they mean for
    ``vise evaluate``.
    """

    section = "downstream"
    tasks: list[str] = field(default_factory=lambda: ["emotion", "stance", "object"])
    seeds: list[int] = field(default_factory=lambda: [0, 1])
    protocol: str = "linear"
    finetune_epochs: int = 3
    num_threads: int = 0
    references: list[str] = field(default_factory=lambda: ["pixels", "handmade"])
    dataset: str | None = None
    dataset_format: str | None = None
    image_size: int = 224
    backbones: dict | None = None
    dataset_name: str | None = None
    dataset_group: str | None = None
    data_root: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        bad = [p for p in self.protocol.split("+") if p not in PROTOCOLS]
        if bad:
            raise ValueError(f"downstream.protocol must be among {PROTOCOLS} joined by '+', got {self.protocol!r}")
        if self.dataset is None and (self.dataset_name or self.dataset_group or self.data_root):
            raise ValueError("downstream: dataset_name, dataset_group and data_root need a dataset")
        if self.dataset_group is not None and self.dataset_group not in ("subjective", "object"):
            raise ValueError(f"downstream.dataset_group must be subjective or object, got {self.dataset_group!r}")
        if not self.seeds or not self.tasks:
            raise ValueError("downstream: need at least one task and one seed")
        unknown = sorted(set(self.references) - {"pixels", "handmade"})
        if unknown:
            raise ValueError(f"downstream.references: unknown {unknown}; choose from ['handmade', 'pixels']")

"""What a pretraining objective is: how it builds its model, prepares a batch and scores it.

The loop (:mod:`vise_lib.pretrain.loop`) knows nothing of any particular objective: it asks
the registered :class:`Objective` for the model around the backbone, the number of epochs, a
prepared batch (augmentation happens here, seeded by the loop's per-step generator) and the
loss with its accuracy counts. A new pretraining baseline is one file in this folder with an
``Objective`` subclass plus one entry in :data:`vise_lib.pretrain.objectives.OBJECTIVES` (and
one variant in :mod:`vise_lib.pretrain.variants` to train it in the study).

An objective's own knobs (SimCLR's temperature, ...) are not :class:`TrainConfig` fields: the
objective declares them as a :class:`~vise_lib.config.StageConfig` subclass (typed fields with
defaults, range checks in ``__post_init__``) in its ``Settings`` attribute, and reads them with
:meth:`Objective.settings` from ``TrainConfig.objectives[name]`` (a key left out keeps its
default). Unknown keys and bad values raise ``ValueError`` naming the key.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from vise_lib.backbones.tensors import as_nchw, augment, normalized_as_is, resized_crop_flip
from vise_lib.config import StageConfig
from vise_lib.pretrain.config import TrainConfig


@dataclasses.dataclass(frozen=True)
class NoSettings(StageConfig):
    """The settings of an objective that has none."""


class Objective:
    """Base class: a supervised-style objective on uint8 images with crop-and-flip batches."""

    name: ClassVar[str] = ""
    needs_labels: ClassVar[bool] = False  # True: label_sets required; False: refused
    trains: ClassVar[bool] = True  # False: the seeded initial backbone is saved as is
    views: ClassVar[int] = 1  # images per sample in a prepared batch (accuracy denominators)
    Settings: ClassVar[type[StageConfig]] = NoSettings  # this objective's own settings, with defaults

    def settings(self, cfg: TrainConfig) -> StageConfig:
        """This objective's settings: ``cfg.objectives[name]`` over the defaults, validated."""
        where = f"TrainConfig.objectives.{self.name}"
        given = cfg.objectives.get(self.name, {})
        if given and not dataclasses.fields(self.Settings):
            raise ValueError(f"{where}: objective {self.name!r} takes no settings, got {sorted(given)}")
        return self.Settings.from_params(given, where)

    def epochs(self, cfg: TrainConfig) -> int:
        """How many epochs this objective trains for under ``cfg``."""
        return cfg.epochs

    def build(self, backbone: nn.Module, labels: list[np.ndarray], cfg: TrainConfig) -> nn.Module:
        """The trained model around ``backbone`` (its ``.backbone`` is what gets saved)."""
        raise NotImplementedError

    def heads(self, model: nn.Module, cfg: TrainConfig) -> list[int]:
        """Output sizes, one per accuracy the log reports."""
        raise NotImplementedError

    def prepare(self, images_u8: np.ndarray, g: torch.Generator, cfg: TrainConfig) -> torch.Tensor:
        """The batch a loader worker sends: uint8 ``(B, H, W, 3)`` images as a uint8
        ``(B, 3, H, W)`` tensor in channels_last memory (NHWC bytes: a quarter of a float
        batch through shared memory and over PCIe), cropped and flipped if ``cfg.augment``
        (``cfg.crop``: pad-and-crop or RandomResizedCrop; moving uint8 pixels is the cheapest
        place for either). :meth:`finish` normalizes it on the training device."""
        x, cl = as_nchw(images_u8), torch.channels_last
        if not cfg.augment:
            return x.contiguous(memory_format=cl)
        if cfg.crop == "resized":
            return resized_crop_flip(x, g, scale=(0.08, 1.0), memory_format=cl)
        return augment(x, g, pad=cfg.pad, memory_format=cl)

    def finish(self, x: torch.Tensor, cfg: TrainConfig) -> torch.Tensor:
        """A prepared batch, already on the training device, as the model's float input: a
        uint8 one normalized there (same values as normalizing in the worker: exact
        elementwise float32 arithmetic), anything else (SimCLR's float views) as is."""
        return normalized_as_is(x) if x.dtype == torch.uint8 else x

    def loss(self, outs: Any, ys: list[torch.Tensor], cfg: TrainConfig) -> tuple[torch.Tensor, torch.Tensor, int]:
        """``(loss, hits per head, samples in the batch)`` for the model outputs ``outs``.

        ``outs`` is whatever the objective's model returns (a list of logits per head for
        ``classify``, a projection tensor for ``simclr``), hence ``Any``.
        """
        raise NotImplementedError

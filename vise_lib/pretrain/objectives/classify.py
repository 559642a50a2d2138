"""Classification pretraining: one linear head per label set (pseudo labels, object labels, ...)."""

from __future__ import annotations

from typing import cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vise_lib.backbones.archs import MultiHeadClassifier
from vise_lib.pretrain.config import TrainConfig
from vise_lib.pretrain.objectives.base import Objective


class Classify(Objective):
    """Cross-entropy over each head, averaged; accuracy per head."""

    name = "classify"
    needs_labels = True

    def build(self, backbone: nn.Module, labels: list[np.ndarray], cfg: TrainConfig) -> nn.Module:
        return MultiHeadClassifier(backbone, [int(y.max()) + 1 for y in labels])

    def heads(self, model: nn.Module, cfg: TrainConfig) -> list[int]:
        heads = cast(MultiHeadClassifier, model).heads  # the model build() made: nn.Linear heads
        return [cast(nn.Linear, h).out_features for h in heads]

    def loss(
        self, outs: list[torch.Tensor], ys: list[torch.Tensor], cfg: TrainConfig
    ) -> tuple[torch.Tensor, torch.Tensor, int]:
        # sum() of a non-empty sequence of tensors is a tensor (typeshed allows its int start)
        loss = cast(torch.Tensor, sum(F.cross_entropy(o.float(), y) for o, y in zip(outs, ys, strict=True))) / len(ys)
        hits = torch.stack([(o.argmax(1) == y).sum() for o, y in zip(outs, ys, strict=True)])
        return loss, hits, len(ys[0])

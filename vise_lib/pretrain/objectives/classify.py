"""Classification pretraining: one linear head per label set (pseudo labels, object labels, ...)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vise_lib.backbones.archs import MultiHeadClassifier
from vise_lib.pretrain.objectives.base import Objective


class Classify(Objective):
    """Cross-entropy over each head, averaged; accuracy per head."""

    name = "classify"
    needs_labels = True

    def build(self, backbone, labels, cfg):
        return MultiHeadClassifier(backbone, [int(y.max()) + 1 for y in labels])

    def heads(self, model, cfg):
        return [h.out_features for h in model.heads]

    def loss(self, outs, ys, cfg):
        loss = sum(F.cross_entropy(o.float(), y) for o, y in zip(outs, ys)) / len(ys)
        hits = torch.stack([(o.argmax(1) == y).sum() for o, y in zip(outs, ys)])
        return loss, hits, len(ys[0])

"""The objectives registry: a new baseline is one Objective subclass plus one registry entry."""

import numpy as np
import pytest
import torch

from vise_lib.backbones.archs import MultiHeadClassifier
from vise_lib.pretrain.config import TrainConfig
from vise_lib.pretrain.loop import pretrain
from vise_lib.pretrain.objectives import OBJECTIVES, resolve_objective
from vise_lib.pretrain.objectives.base import Objective


def test_auto_resolves_by_labels_and_mismatches_are_refused():
    assert resolve_objective("auto", has_labels=True).name == "classify"
    assert resolve_objective("auto", has_labels=False).name == "none"
    with pytest.raises(ValueError, match="takes no label_sets"):
        resolve_objective("simclr", has_labels=True)
    with pytest.raises(ValueError, match="needs label_sets"):
        resolve_objective("classify", has_labels=False)
    with pytest.raises(ValueError, match="objective must be one of"):
        resolve_objective("byol", has_labels=False)


def test_a_registered_objective_trains_through_the_unchanged_loop(tmp_path, monkeypatch):
    class Rotation(Objective):
        """Predict which of 4 rotations was applied: needs no labels."""

        name = "rotation"

        def build(self, backbone, labels, cfg):
            return MultiHeadClassifier(backbone, [4])

        def heads(self, model, cfg):
            return [4]

        def prepare(self, images_u8, g, cfg):
            x = super().prepare(images_u8, g, cfg)
            k = torch.randint(0, 4, (len(x),), generator=g)
            self.last_k = k
            return torch.stack([torch.rot90(xi, int(ki), (1, 2)) for xi, ki in zip(x, k, strict=True)])

        def loss(self, outs, ys, cfg):
            (logits,) = outs
            loss = torch.nn.functional.cross_entropy(logits, self.last_k)
            return loss, (logits.argmax(1) == self.last_k).sum().view(1), len(logits)

    monkeypatch.setitem(OBJECTIVES, "rotation", Rotation())
    images = np.random.default_rng(0).integers(0, 255, (16, 16, 16, 3), dtype=np.uint8)
    cfg = TrainConfig(width=4, epochs=1, batch_size=8, device="cpu", num_threads=1)
    res = pretrain(images, None, cfg, tmp_path, objective="rotation", progress=False)
    assert res["completed"] and res["objective"] == "rotation" and res["steps"] == 2
    assert (tmp_path / "backbone.pt").is_file() and 0.0 <= res["train_accuracy"][0] <= 1.0

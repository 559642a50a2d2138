"""The objectives registry: a new baseline is one Objective subclass plus one registry entry."""

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from vise_lib.backbones.archs import MultiHeadClassifier
from vise_lib.config import StageConfig
from vise_lib.pretrain.cli import parser
from vise_lib.pretrain.config import TrainConfig
from vise_lib.pretrain.loop import pretrain
from vise_lib.pretrain.objectives import OBJECTIVES, check_settings, resolve_objective
from vise_lib.pretrain.objectives.base import Objective
from vise_lib.pretrain.stage_config import PretrainStageConfig


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
    @dataclass(frozen=True)
    class RotationSettings(StageConfig):
        turns: int = 4  # how many of the quarter turns to predict among

        def __post_init__(self):
            super().__post_init__()
            if not 2 <= self.turns <= 4:
                raise ValueError(f"rotation.turns must be in [2, 4], got {self.turns}")

    class Rotation(Objective):
        """Predict which of ``turns`` rotations was applied: needs no labels; its own setting."""

        name = "rotation"
        Settings = RotationSettings

        def build(self, backbone, labels, cfg):
            return MultiHeadClassifier(backbone, [self.settings(cfg).turns])

        def heads(self, model, cfg):
            return [self.settings(cfg).turns]

        def prepare(self, images_u8, g, cfg):
            x = super().prepare(images_u8, g, cfg)
            k = torch.randint(0, self.settings(cfg).turns, (len(x),), generator=g)
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
    assert res["settings"] == {"turns": 4}
    # its own setting reaches it through TrainConfig.objectives, the CLI and the stage config alike
    two = TrainConfig(
        width=4, epochs=1, batch_size=8, device="cpu", num_threads=1, objectives={"rotation": {"turns": 2}}
    )
    res = pretrain(images, None, two, tmp_path / "two", objective="rotation", progress=False)
    assert res["settings"] == {"turns": 2} and res["completed"]
    assert check_settings(two)["rotation"] == {"turns": 2}
    with pytest.raises(ValueError, match=r"rotation.turns must be in \[2, 4\], got 5"):
        check_settings(TrainConfig(objectives={"rotation": {"turns": 5}}))
    assert "rotation.turns (default 4)" in parser().format_help()


def _simclr(tmp_path, name, **settings):
    images = np.random.default_rng(1).integers(0, 255, (16, 16, 16, 3), dtype=np.uint8)
    cfg = TrainConfig(width=4, epochs=2, batch_size=8, device="cpu", num_threads=1, objectives={"simclr": settings})
    return pretrain(images, None, cfg, tmp_path / name, objective="simclr", progress=False)


def test_default_settings_train_as_the_former_trainconfig_fields(tmp_path):
    """No settings given = SimCLR's former TrainConfig defaults (simclr_epochs 0, proj_dim 64,
    temperature 0.2, simclr_strength 0.5): the same weights and loss history, step for step."""
    default = _simclr(tmp_path, "default")
    old = _simclr(tmp_path, "old", epochs=0, proj_dim=64, temperature=0.2, strength=0.5)
    assert default["settings"] == {"epochs": 0, "proj_dim": 64, "temperature": 0.2, "strength": 0.5}
    learned = lambda r: [(h["step"], h["loss"], h["accuracy"], h["lr"]) for h in r["history"]]  # noqa: E731
    assert default["rank_digests"] == old["rank_digests"] and learned(default) == learned(old)
    assert default["steps"] == old["steps"] == 4  # epochs 0: TrainConfig.epochs (2 x 2 steps)
    # each setting reaches the training: another value gives other weights (the check above can fail)
    for key, value in (("temperature", 0.5), ("strength", 0.0), ("proj_dim", 8)):
        other = _simclr(tmp_path, key, **{key: value})
        assert other["rank_digests"] != default["rank_digests"], key
    assert _simclr(tmp_path, "epochs", epochs=1)["steps"] == 2


def test_unknown_names_keys_and_bad_values_name_the_closest_valid_one(tmp_path):
    images = np.random.default_rng(0).integers(0, 255, (16, 16, 16, 3), dtype=np.uint8)
    for objectives, message in (
        ({"simclr": {"temprature": 0.5}}, r"objectives.simclr: unknown key 'temprature'; did you mean 'temperature'\?"),
        ({"simclrr": {}}, r"unknown objective 'simclrr'; did you mean 'simclr'\?"),
        ({"simclr": {"temperature": 0}}, "simclr.temperature must be > 0"),
        ({"simclr": {"proj_dim": 2.5}}, "proj_dim must be an integer"),
        ({"classify": {"heads": 2}}, "objective 'classify' takes no settings"),
    ):
        cfg = TrainConfig(width=4, epochs=1, batch_size=8, device="cpu", objectives=objectives)
        with pytest.raises(ValueError, match=message):  # before any training, whichever objective runs
            pretrain(images, None, cfg, tmp_path / "x", objective="none", progress=False)
        with pytest.raises(ValueError, match=message):  # and before a study starts
            PretrainStageConfig.from_params({"train": {"objectives": objectives}})
    assert not (tmp_path / "x").exists()
    with pytest.raises(ValueError, match="must map objective names to settings dicts"):
        TrainConfig(objectives={"simclr": 0.5})

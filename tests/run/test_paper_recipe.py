"""The paper recipe is one recipe: configs/paper.yml's train section, the torchrun line in its
header, the README's and the book's torchrun lines agree, with the LR scaled linearly."""

import re
import shlex

import pytest
import yaml
from conftest import REPO

from vise_lib.pretrain.cli import parser
from vise_lib.pretrain.config import TrainConfig

SAME = ("arch", "epochs", "warmup_epochs", "weight_decay", "crop", "decay_norm_bias")


def _torchrun_lines(text: str) -> list[str]:
    """Each ``torchrun ... -m vise_lib.pretrain ...`` command of ``text`` as one line."""
    text = re.sub(r"\\\n#?\s*", " ", text)  # join continued lines (also inside YAML comments)
    return [line.strip().lstrip("#").strip() for line in text.splitlines() if "torchrun --standalone" in line]


def _config(line: str) -> TrainConfig:
    args = shlex.split(line)
    a = parser().parse_args(args[args.index("vise_lib.pretrain") + 1 :])
    return TrainConfig(**{k: getattr(a, k) for k in (f for f in TrainConfig.__dataclass_fields__ if f != "objectives")})


@pytest.mark.parametrize("doc", ["README.md", "configs/paper.yml", "book/own_data.md"])
def test_each_torchrun_line_is_the_paper_presets_recipe_with_linear_lr_scaling(doc):
    preset = TrainConfig(
        **{
            k: v
            for k, v in yaml.safe_load((REPO / "configs/paper.yml").read_text())["pretrain"]["train"].items()
            if k != "objectives"
        }
    )
    assert preset.lr == pytest.approx(0.1 * preset.batch_size / 256)
    lines = _torchrun_lines((REPO / doc).read_text())
    assert lines, doc
    for line in lines:
        cfg = _config(line)
        assert {k: getattr(cfg, k) for k in SAME} == {k: getattr(preset, k) for k in SAME}, line
        assert cfg.lr == pytest.approx(0.1 * cfg.batch_size / 256), line
        assert cfg.batch_size == 2048 and "--nproc_per_node=8" in line


def test_the_224_px_recipe_uses_random_resized_crop_and_no_decay_on_norms_and_biases():
    train = yaml.safe_load((REPO / "configs/paper.yml").read_text())["pretrain"]["train"]
    assert train["crop"] == "resized" and train["decay_norm_bias"] is False
    default = yaml.safe_load((REPO / "configs/default.yml").read_text()).get("pretrain", {}).get("train", {})
    assert default.get("crop", "pad") == "pad" and default.get("decay_norm_bias", True) is True  # the CPU study

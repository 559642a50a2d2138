"""run_pretrain: the pretrain stage as one library call, its results file typed and read back."""

import json
from pathlib import Path

import pytest

from vise_lib.stages.pretrain import PretrainResult, run_pretrain
from vise_lib.study.backbone_runs import history_frame, runs_table, time_table

TINY_PRETRAIN = {
    "variants": ["vise", "random"],
    "seeds": [0],
    "train": {"arch": "small_resnet", "width": 8, "epochs": 1, "batch_size": 64, "num_threads": 1},
}


@pytest.fixture(scope="module")
def pretrained(tiny_run):
    run, _, _ = tiny_run
    return run, run_pretrain(TINY_PRETRAIN, run, echo=lambda *_: None)


def test_run_pretrain_writes_every_backbone_and_its_typed_results(pretrained):
    run, pre = pretrained
    assert pre.order == ["vise@0", "random@0"] and pre.seeds == [0]
    assert all(Path(p).is_file() for p in pre.backbones().values())
    assert pre.train_config().width == 8 and pre.stage_config().variants == ["vise", "random"]
    assert pre.variants["random@0"]["bn_recomputed"] and pre.seconds > 0
    on_disk = json.loads((run / PretrainResult.FILE).read_text())
    assert on_disk == pre.to_json() and sorted(on_disk) == ["config", "order", "seconds", "stage", "variants"]
    assert PretrainResult.read(run) == pre


def test_the_runs_tables(pretrained):
    _, pre = pretrained
    assert list(pre.variants) == pre.order and list(runs_table(pre.variants)["backbone"]) == pre.order
    hist = history_frame(pre.variants)
    assert list(hist.columns) == ["variant", "seed", "epoch", "loss", "accuracy", "held-out accuracy"]
    assert set(hist["variant"]) == {"vise"}
    assert sorted(time_table(pre.variants).index) == ["random", "vise"]


def test_read_names_the_missing_file_and_the_stage(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"pretrain/results\.json is missing: run the stage 02_pretrain"):
        PretrainResult.read(tmp_path)

"""`vise evaluate` end to end on generated real-layout datasets: two backbones (an untrained small
ResNet and a fake torchvision ImageNet file in a local hub cache) x two datasets, the book included."""

import json

import pytest
import yaml
from conftest import REPO, write_fake_trunks, write_real_datasets

from vise_lib.run.cli import main
from vise_lib.run.presets import load_preset
from vise_lib.verdicts.results import read_claims, read_scores

pytestmark = pytest.mark.pipeline


def test_shipped_transfer_preset_loads():
    cfg = load_preset("transfer")
    assert cfg["stages"] == ["20_transfer", "21_transfer_summary"]
    assert cfg["transfer"]["backbones"]["imagenet"] == "torchvision:resnet50/IMAGENET1K_V2"


def test_vise_evaluate_builds_the_book(tmp_path, monkeypatch, capsys):
    write_real_datasets(tmp_path / "data", px=16)
    trunks = write_fake_trunks(tmp_path / "trunks", official=False)
    monkeypatch.setenv("TORCH_HOME", str(trunks["torch_home"]))
    # a preset file provides the defaults; the flags replace its lists (as a user's copy of transfer.yml would)
    preset = yaml.safe_load((REPO / "configs" / "transfer.yml").read_text())
    preset["transfer"].update(seeds=[0, 1], n_boot=200, max_iter=200, image_size=16)
    (tmp_path / "mine.yml").write_text(yaml.safe_dump(preset))
    out = tmp_path / "out"
    monkeypatch.chdir(tmp_path)  # relative paths on the command line are the user's
    rc = main(
        [
            "evaluate",
            "--preset",
            str(tmp_path / "mine.yml"),
            "--backbone",
            "imagenet=torchvision:resnet18/IMAGENET1K_V1",
            "--backbone",
            "rand=random:small_resnet/4",
            "--dataset",
            "objects=data/objects",
            "--dataset",
            "sentiment=data/sentiment/labels.csv:csv",
            "--group",
            "sentiment=subjective",
            "--out",
            str(out),
            "--strict",  # the hand-written pages' links to the world study's pages become plain text
        ]
    )
    captured = capsys.readouterr()
    printed = captured.out
    assert rc == 0, captured.err[-3000:]
    scores = read_scores(out / "downstream" / "scores.csv")
    assert set(scores.backbone) == {"imagenet", "rand", "majority", "chance"} and set(scores.task) == {
        "objects",
        "sentiment",
    }
    assert len(scores) == 2 * (2 * 2 + 2)
    claims = read_claims(out / "summary" / "claims.json")
    assert [(c["task"], c["a"], c["b"], c["group"]) for c in claims] == [
        ("objects", "rand", "imagenet", "unstated"),
        ("sentiment", "rand", "imagenet", "subjective"),
    ]
    assert "majority class" in printed and "chance" in printed and "rand beats imagenet on sentiment" in printed
    html = out / "_build" / "transfer" / "_build" / "html" / "book" / "_generated"
    page = (html / "20_transfer.html").read_text()
    for text in ("majority class", "precision", "recall", "objects", "sentiment", "class too small"):
        assert text in page, text
    summary = (html / "21_transfer_summary.html").read_text()
    assert "Subjective datasets" in summary and "rand beats imagenet on sentiment" in summary
    assert not (html / "00_world.html").exists() and not (REPO / "runs" / "transfer").exists()
    results = json.loads((out / "downstream" / "results.json").read_text())
    assert results["reference"] == "imagenet" and results["config"]["seeds"] == [0, 1]

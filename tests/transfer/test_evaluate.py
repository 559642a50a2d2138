"""The real-data study in-process: scores.csv (+ majority / chance rows), claims vs the reference,
per-class metrics, multi-label mAP / F1, Emotion6 extras, the headline table."""

import numpy as np
import pandas as pd
import pytest
from conftest import write_fake_trunks, write_real_datasets

from vise_lib.transfer import report
from vise_lib.transfer.config import TransferConfig
from vise_lib.transfer.evaluate import default_reference, evaluate, per_class
from vise_lib.transfer.splits import stratified_subsample
from vise_lib.verdicts.results import CLAIM_FIELDS, SCORE_COLUMNS, read_claims, read_correct, read_scores


@pytest.fixture(scope="module")
def study(tmp_path_factory, monkeypatch_module):
    root = tmp_path_factory.mktemp("study")
    data = write_real_datasets(root / "data")
    trunks = write_fake_trunks(root / "trunks", official=False)
    monkeypatch_module.setenv("TORCH_HOME", str(trunks["torch_home"]))
    cfg = TransferConfig.from_params(
        {
            "backbones": {"rand": "random:small_resnet/4", "imagenet": "torchvision:resnet18/IMAGENET1K_V1"},
            "datasets": {
                "objects": str(data["objects"]),
                "sent": {"path": str(data["sentiment"]), "group": "subjective"},
                "e6": f"{data['emotion6']}:emotion6",
                "intent": str(data["intentonomy"]),
            },
            "image_size": 16,
            "seeds": [0, 1],
            "n_boot": 200,
            "max_iter": 200,
        }
    )
    results = evaluate(cfg, root / "run", echo=lambda *_: None)
    return root / "run", cfg, results


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_scores_file_has_backbones_and_baselines(study):
    run, _cfg, results = study
    df = read_scores(run / "downstream" / "scores.csv")
    assert tuple(df.columns) == SCORE_COLUMNS
    assert set(df.task) == {"objects", "sent", "e6", "intent"}
    for t in df.task.unique():
        sub = df[df.task == t]
        assert sorted(sub.backbone) == ["chance", "imagenet", "imagenet", "majority", "rand", "rand"]
    sent = results["datasets"]["sent"]
    assert sent["classes"] == ["neg", "pos"] and sent["dropped_classes"] == [["meh", 2]]
    reasons = {r.split(":")[0] for _, r in sent["skipped"]}
    assert {"image file missing", "image path escapes the data root", "class too small"} <= reasons
    # majority = always the most frequent training class ("pos"): its test share, well above 1/K
    maj = df[(df.task == "sent") & (df.backbone == "majority")].top1.item()
    chance = df[(df.task == "sent") & (df.backbone == "chance")].top1.item()
    assert chance == pytest.approx(50.0) and maj > 60
    correct = read_correct(run / "downstream" / "correct.npz")
    assert correct[("majority", "sent", 0, 0)].mean() * 100 == pytest.approx(maj, abs=1e-3)
    assert correct[("rand", "objects", 0, 1)].mean() * 100 == pytest.approx(
        df[(df.task == "objects") & (df.backbone == "rand") & (df.probe_seed == 1)].top1.item(), abs=1e-3
    )


def test_claims_against_the_imagenet_reference(study):
    run, _cfg, results = study
    assert results["reference"] == "imagenet"
    claims = read_claims(run / "summary" / "claims.json")
    assert len(claims) == 4 and all(set(CLAIM_FIELDS) <= set(c) for c in claims)
    assert {(c["task"], c["a"], c["b"]) for c in claims} == {(t, "rand", "imagenet") for t in results["tasks"]}
    groups = {c["task"]: c["group"] for c in claims}
    assert groups == {"objects": "unstated", "sent": "subjective", "e6": "subjective", "intent": "subjective"}
    for c in claims:
        assert c["ci_low"] <= c["diff"] <= c["ci_high"]
        assert c["verdict"] in ("holds", "reversed", "equivalent", "unresolved")
    table = report.claims_table(claims)
    assert table.group.tolist() == ["subjective"] * 3 + ["unstated"]


def test_metrics_per_class_multilabel_and_emotion6(study):
    _run, _cfg, results = study
    for r in results["runs"]:
        if r["task"] == "intent":
            assert 0 <= r["mAP"] <= 100 and 0 <= r["micro_f1"] <= 100 and "per_class" not in r
            continue
        cm = np.asarray(r["confusion"])
        pc = per_class(cm)
        assert [p["support"] for p in pc] == cm.sum(1).tolist()
        assert r["top1"] == pytest.approx(100 * np.trace(cm) / cm.sum())
        if r["task"] == "e6":
            assert np.isfinite(r["valence_r2"]) and np.isfinite(r["arousal_r2"])
            assert r["vote_kl"] >= 0 and r["vote_kl_prior"] >= 0
    head = report.headline_table(results)
    assert list(head.columns) == ["objects", "sent", "e6", "intent (mAP)"]
    assert list(head.index) == ["rand", "imagenet", "majority class", "chance"]
    assert head.loc["chance", "e6"] == f"{100 / 6:.1f}"
    pcs = report.per_class_table(results, "imagenet", "objects")
    assert list(pcs.index) == ["circle", "square", "star"] and pcs.support.sum() == len(
        [1 for _ in range(results["datasets"]["objects"]["n_images"]["test"])]
    )


def test_rerun_reuses_the_feature_cache_and_is_deterministic(study):
    run, cfg, _results = study
    before = (run / "downstream" / "scores.csv").read_text()
    again = evaluate(cfg, run, echo=lambda *_: None)
    assert again["cache"]["misses"] == 0 and again["cache"]["hits"] == 24
    assert (run / "downstream" / "scores.csv").read_text() == before


def test_helpers():
    y = np.repeat([0, 1, 2], [10, 3, 1])
    keep = stratified_subsample(y, 0)
    assert np.bincount(y[keep]).tolist() == [8, 2, 1]
    assert default_reference({"a": {"spec": "x.pt"}, "b": {"spec": "torchvision:resnet50/IMAGENET1K_V2"}}) == "b"
    assert default_reference({"a": {"spec": "x.pt"}, "my_imagenet": {"spec": "y.pt"}}) == "my_imagenet"
    assert default_reference({"a": {"spec": "x.pt"}}) == "a"
    with pytest.raises(ValueError, match="transfer.datasets.x: unknown format 'coco'"):
        TransferConfig.from_params({"datasets": {"x": {"path": "p", "format": "coco"}}}).dataset_specs()
    with pytest.raises(ValueError, match="did you mean 'seeds'"):
        TransferConfig.from_params({"seed": [0]})
    assert pd.isna(per_class([[0, 0], [0, 1]])[0]["recall"])

import numpy as np
import pandas as pd
import pytest

from vise_lib.study import tables as report


def test_scores_table_pools_every_seed_row():
    scores = pd.DataFrame(
        {
            "backbone": ["vise"] * 4 + ["object"] * 2,
            "task": "emotion",
            "pretrain_seed": [0, 0, 1, 1, 0, 1],
            "probe_seed": [0, 1, 0, 1, 0, 0],
            "top1": [60, 62, 64, 66, 50, 52.0],
        }
    )
    t = report.scores_table(scores, order=["object", "vise"])
    assert list(t.index) == ["object", "vise"]
    assert t.loc["vise", "emotion"] == f"63.0 ± {np.std([60, 62, 64, 66], ddof=1):.1f} (4)"


def test_claims_are_judged_from_correctness_with_expectations():
    from vise_lib.study.claims import evaluate_claims, missing_claims, sentence

    rng = np.random.default_rng(0)
    n = 800
    correct = {}
    for s in range(3):
        correct[("object", "object", s, 0)] = rng.random(n) < 0.8
        correct[("vise", "object", s, 0)] = rng.random(n) < 0.4
        correct[("object", "emotion", s, 0)] = rng.random(n) < 0.5
        correct[("content_only:vise", "emotion", s, 0)] = rng.random(n) < 0.5
    rows = {r["claim"]: r for r in evaluate_claims(correct, 2.0, 2.0, n_boot=500)}
    obj = rows["object labels stay better on object recognition"]
    assert obj["verdict"] == "holds" and obj["as_expected"] is True and obj["ci_low"] > 0
    no = rows["content-only world: engagement does not beat object labels on emotion"]
    assert no["verdict"] != "holds" and no["as_expected"] is True
    assert "engagement beats object labels on emotion" in missing_claims(correct)  # no vise on emotion: not judged
    assert "as expected" in sentence(obj)


def fake_scores():
    rows = [
        {"backbone": b, "task": t, "pretrain_seed": ps, "probe_seed": qs, "top1": 50.0 + 10 * i + ps + qs}
        for i, b in enumerate(("handmade", "r18", "vise"))
        for t in ("emotion", "stance")
        for ps in (0, 1)
        for qs in (0, 1)
    ]
    return pd.DataFrame(rows)


def test_backbone_order_puts_the_study_first_then_the_rest_sorted():
    assert report.backbone_order(["zeta", "handmade", "alpha", "vise", "vise"]) == ["vise", "handmade", "alpha", "zeta"]


def test_per_seed_and_factor_readout_tables():
    t = report.per_seed_table(fake_scores())
    assert t.loc["vise", ("emotion", 1)] == pytest.approx(np.mean([71, 72]))
    readout = [{"backbone": "vise@0", "factor": f, "top1": v} for f, v in (("shape", 40.04), ("texture", 55.46))]
    assert report.factor_readout_table(readout).loc["vise@0"].tolist() == [40.0, 55.5]


def test_claims_frame_keeps_the_claim_columns_in_order():
    claim = dict.fromkeys(report.CLAIM_COLUMNS, 0) | {"quote": "not shown", "min_effect": 2.0}
    assert list(report.claims_frame([claim]).columns) == report.CLAIM_COLUMNS

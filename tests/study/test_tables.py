import numpy as np
import pandas as pd
import pytest

from vise_lib.study import tables as report


def fake_results():
    runs = []
    acc = {
        ("vise", "emotion"): [0.6, 0.62, 0.61],
        ("object", "emotion"): [0.4, 0.41, 0.42],
        ("vise", "object"): [0.5, 0.5, 0.5],
        ("object", "object"): [0.5, 0.51, 0.5],
    }
    for (b, t), vals in acc.items():
        for seed, v in enumerate(vals):
            runs.append(
                {
                    "backbone": b,
                    "task": t,
                    "seed": seed,
                    "best_C": 1.0,
                    "test": {"top1": v, "mean_per_class_acc": v, "macro_f1": v},
                }
            )
    return {"runs": runs}


def test_headline_table_is_mean_pm_std_in_percent():
    df = report.downstream_frame(fake_results())
    t = report.headline_table(df, order=["vise", "object"])
    assert list(t.index) == ["vise", "object"]
    assert (
        t.loc["vise", "emotion"]
        == f"{100 * np.mean([0.6, 0.62, 0.61]):.1f} ± {100 * np.std([0.6, 0.62, 0.61], ddof=1):.1f}"
    )


def test_bar_plot_has_one_bar_per_backbone_and_task():
    df = report.downstream_frame(fake_results())
    fig = report.bar_plot(df, chance={"emotion": 1 / 6})
    assert len(fig.axes[0].patches) == 4


def test_empty_results_rejected():
    with pytest.raises(ValueError, match="no 'linear' runs"):
        report.downstream_frame({"runs": []})


def test_protocols_are_kept_apart():
    res = fake_results()
    res["runs"] += [{**r, "protocol": "finetune", "test": dict.fromkeys(r["test"], 0.99)} for r in res["runs"]]
    lin, ft = report.downstream_frame(res), report.downstream_frame(res, "finetune")
    assert len(lin) == len(ft) == 12 and lin["top1"].max() < 0.99 and (ft["top1"] == 0.99).all()


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

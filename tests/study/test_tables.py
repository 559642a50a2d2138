import numpy as np
import pandas as pd
import pytest

from vise_lib.study import tables as report
from vise_lib.study.claims import claims


def fake_results():
    runs = []
    acc = {("vise", "emotion"): [0.6, 0.62, 0.61], ("object", "emotion"): [0.4, 0.41, 0.42],
           ("vise", "object"): [0.5, 0.5, 0.5], ("object", "object"): [0.5, 0.51, 0.5]}
    for (b, t), vals in acc.items():
        for seed, v in enumerate(vals):
            runs.append({"backbone": b, "task": t, "seed": seed, "best_C": 1.0,
                         "test": {"top1": v, "mean_per_class_acc": v, "macro_f1": v}})
    return {"runs": runs}


def test_headline_table_is_mean_pm_std_in_percent():
    df = report.downstream_frame(fake_results())
    t = report.headline_table(df, order=["vise", "object"])
    assert list(t.index) == ["vise", "object"]
    assert t.loc["vise", "emotion"] == f"{100 * np.mean([0.6, 0.62, 0.61]):.1f} ± {100 * np.std([0.6, 0.62, 0.61], ddof=1):.1f}"


def test_bar_plot_has_one_bar_per_backbone_and_task():
    df = report.downstream_frame(fake_results())
    fig = report.bar_plot(df, chance={"emotion": 1 / 6})
    assert len(fig.axes[0].patches) == 4


def test_claims_verdicts_follow_the_numbers():
    df = report.downstream_frame(fake_results())
    c = claims(df).set_index("task")
    assert c.loc["emotion", "this run"] == "observed"
    assert c.loc["object", "this run"] == "inconclusive"
    assert "stance" not in c.index  # no stance results -> no row, rather than a made-up one


def test_empty_results_rejected():
    with pytest.raises(ValueError, match="no 'linear' runs"):
        report.downstream_frame({"runs": []})


def test_ablation_claim_and_sentences():
    from vise_lib.study.claims import ablation_claims, sentences
    rows = [{"factor": "base", "value": None, "task": "emotion", "seed": s, "top1": 0.8, "backbone": "vise"} for s in (0, 1)]
    rows += [{"factor": "engagement_noise", "value": v, "task": "emotion", "seed": s, "top1": t, "backbone": "vise"}
             for v, t in ((0.5, 0.7), (1.0, 0.6)) for s in (0, 1)]
    c = ablation_claims(rows)
    assert c.loc[0, "this run"] == "observed" and c.loc[0, "B"] == "vise, noise 1"
    assert c.loc[0, "A − B (points)"] == 20.0
    s = sentences(c)
    assert len(s) == 1 and "holds in this run" in s[0] and "+20.0 points" in s[0]
    assert ablation_claims([{"factor": "base", "value": None, "task": "emotion", "seed": 0, "top1": 0.5}]).empty


def test_protocols_are_kept_apart():
    res = fake_results()
    res["runs"] += [{**r, "protocol": "finetune", "test": {k: 0.99 for k in r["test"]}} for r in res["runs"]]
    lin, ft = report.downstream_frame(res), report.downstream_frame(res, "finetune")
    assert len(lin) == len(ft) == 12 and lin["top1"].max() < 0.99 and (ft["top1"] == 0.99).all()


def test_weak_tasks_are_called_out():
    from vise_lib.study.claims import weak_tasks
    df = report.downstream_frame(fake_results())
    msgs = weak_tasks(df, {"emotion": 1 / 6, "object": 0.45})
    assert len(msgs) == 1 and "*object*" in msgs[0] and "best: object 50.3 %" in msgs[0]

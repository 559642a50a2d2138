import numpy as np
import pandas as pd
import pytest

from vise_lib import report
from vise_lib.summary import claims


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
    with pytest.raises(ValueError, match="no runs"):
        report.downstream_frame({"runs": []})

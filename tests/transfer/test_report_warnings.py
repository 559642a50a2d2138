"""The evaluation report's warnings, scrolling tables and readable confusion matrices."""

import numpy as np

from vise_lib.transfer import report


def _results(confusions, n_test=18, votes=None, classes=("pos", "neg")):
    runs = []
    for b, mats in confusions.items():
        for seed, cm in enumerate(mats):
            run = {"backbone": b, "task": "sent", "seed": seed, "top1": 50.0, "confusion": cm}
            if votes:
                run.update(votes[b])
            runs.append(run)
    return {
        "runs": runs,
        "backbones": {b: {} for b in confusions},
        "tasks": ["sent"],
        "datasets": {"sent": {"multilabel": False, "classes": list(classes), "n_images": {"test": n_test}}},
        "baselines": {"sent": {"majority_class": 0, "majority": 78.0, "chance": 50.0}},
        "config": {"min_effect": 2.0, "epsilon": 2.0},
    }


MAJORITY_ONLY = [[14, 0], [4, 0]]  # every test image predicted as class 0
MIXED = [[12, 2], [1, 3]]


def test_every_probe_predicts_the_majority_class():
    w = report.warnings(_results({"a": [MAJORITY_ONLY] * 2, "b": [MAJORITY_ONLY] * 2}, n_test=2000))
    assert len(w) == 1 and "every probe predicts the majority class" in w[0] and "`pos`" in w[0]
    w = report.warnings(_results({"a": [MAJORITY_ONLY] * 2, "b": [MIXED, MAJORITY_ONLY]}, n_test=2000))
    assert len(w) == 1 and "every probe of `a` predicts the majority class" in w[0]
    assert report.warnings(_results({"a": [MIXED] * 2, "b": [MIXED] * 2}, n_test=2000)) == []


def test_a_secondary_metric_worse_than_the_prior_for_every_backbone():
    worse = {"vote_kl": 0.9, "vote_kl_prior": 0.5}
    better = {"vote_kl": 0.3, "vote_kl_prior": 0.5}
    r = _results({"a": [MIXED], "b": [MIXED]}, n_test=2000, votes={"a": worse, "b": worse})
    assert any("worse than the training prior for every backbone" in w for w in report.warnings(r))
    r = _results({"a": [MIXED], "b": [MIXED]}, n_test=2000, votes={"a": worse, "b": better})
    assert not any("prior" in w for w in report.warnings(r))


def test_a_test_split_too_small_to_resolve_the_margin():
    r = _results({"a": [MIXED], "b": [MIXED]}, n_test=18)
    narrow = [{"task": "sent", "ci_low": 0.0, "ci_high": 0.0}]  # identical predictions on 18 images
    for claims in (None, narrow):  # one image is 5.6 points, more than δ = 2, whatever the interval
        w = report.warnings(r, claims)
        assert len(w) == 1 and "test split (18 images) is too small" in w[0] and "5.6 points" in w[0]
    big = _results({"a": [MIXED], "b": [MIXED]}, n_test=400)
    wide = [{"task": "sent", "ci_low": -20.0, "ci_high": 25.0}]
    assert "±22.5 points" in report.warnings(big, wide)[0]
    assert report.warnings(big, [{"task": "sent", "ci_low": -1.0, "ci_high": 1.5}]) == []


def test_wide_tables_scroll_and_confusion_matrices_are_readable():
    import pandas as pd

    html = report.scrollable(pd.DataFrame({"a": [1.234], "b": [np.nan]}))
    assert html.startswith('<div style="overflow-x: auto;') and "1.2" in html and "—" in html
    r = _results({b: [MIXED] for b in "abcde"}, classes=("positive feeling", "negative"))
    fig = report.confusion_plot(r, "sent")
    axes = [ax for ax in fig.axes if ax.get_visible()]
    assert len(axes) == 5 and len(fig.axes) == 6  # 3 a row, the sixth slot hidden
    assert fig.get_size_inches()[0] >= 3 * 3.8  # panels no smaller than 3.8 inches
    texts = [t.get_text() for t in axes[0].texts]
    assert "86" in texts and "75" in texts  # cells annotated with their row share (%)

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
    # a null whose interval is wider than ±ε is unresolved: not the "no" the world should give
    assert no["verdict"] == "unresolved" and no["as_expected"] is False
    assert "not as expected" in sentence(no)
    assert "engagement beats object labels on emotion" in missing_claims(correct)  # no vise on emotion: not judged
    assert "as expected" in sentence(obj)
    # a null whose seeds agree and whose test images are many comes out equivalent, as expected
    big = dict(correct)
    for s in range(3):
        noise = rng.normal(0, 0.003)  # pretraining seeds agree within a third of a point
        big[("object", "emotion", s, 0)] = rng.random(40 * n) < 0.5 + noise
        big[("content_only:vise", "emotion", s, 0)] = rng.random(40 * n) < 0.5 - noise
    no = {r["claim"]: r for r in evaluate_claims(big, 2.0, 2.0, n_boot=300)}[no["claim"]]
    assert no["verdict"] == "equivalent" and no["as_expected"] is True and no["equivalence_power"] > 0.8


def test_a_backbone_with_fewer_than_three_pretraining_seeds_gets_no_verdict():
    from vise_lib.study.claims import evaluate_claims

    rng = np.random.default_rng(1)
    correct = {("object", "object", s, 0): rng.random(500) < 0.9 for s in range(3)}
    correct |= {("vise", "object", s, 0): rng.random(500) < 0.3 for s in range(2)}
    row = evaluate_claims(correct, 2.0, 2.0, n_boot=200)[0]
    assert row["verdict"] == "exploratory" and row["as_expected"] is None and row["diff"] > 50
    # the reference features are fixed: one "pretraining seed" is all they have, and it suffices
    correct |= {("vise", "emotion", s, 0): rng.random(500) < 0.7 for s in range(3)}
    correct |= {("handmade", "emotion", 0, q): rng.random(500) < 0.5 for q in range(2)}
    ref = next(r for r in evaluate_claims(correct, 2.0, 2.0, n_boot=200) if r["b"] == "handmade")
    assert ref["verdict"] == "holds" and ref["n_seeds_b"] == 1


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


def test_claims_frame_puts_the_verdict_first_and_shows_seeds_and_power():
    claim = {
        "claim": "c",
        "task": "emotion",
        "a": "vise",
        "b": "object",
        "diff": 1.25,
        "ci_low": -0.5,
        "ci_high": 3.0,
        "verdict": "unresolved",
        "n_seeds_a": 5,
        "n_seeds_b": 5,
        "mde": 2.345,
        "expected": None,
        "as_expected": None,
        "quote": "not shown",
        "min_effect": 2.0,
    }
    f = report.claims_frame([claim])
    assert list(f.columns) == report.CLAIM_COLUMNS and f.columns[0] == "verdict"
    assert f.iloc[0].to_dict() == {
        "verdict": "unresolved",
        "claim": "c",
        "task": "emotion",
        "Δ (points)": "+1.2",
        "95 % CI": "[-0.5, +3.0]",
        "seeds a / b": "5 / 5",
        "detectable ≥": "2.3",
        "expected": "",
        "as expected": "",
    }


def test_budget_table_sets_each_repeated_verdict_beside_the_main_one():
    main = {"claim": "vise beats object", "task": "emotion", "kind": "question", "verdict": "reversed", "diff": -4.0}
    twin = {
        **main,
        "claim": "budget_2x: vise beats object",
        "kind": "budget",
        "main_claim": main["claim"],
        "a": "budget_2x:vise",
        "verdict": "unresolved",
        "diff": -1.0,
    }
    t = report.budget_table([main, twin])
    assert t.iloc[0]["main run"] == "reversed (-4.0)" and t.iloc[0]["budget_2x"] == "unresolved (-1.0)"
    assert t.iloc[0]["same verdict"] == "NO"


def test_convergence_rule_reads_the_last_quarter_of_the_held_out_curve():
    from vise_lib.study.backbone_runs import convergence_table, last_quarter_rise

    assert last_quarter_rise([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]) == pytest.approx(20.0)
    assert last_quarter_rise([0.5]) != last_quarter_rise([0.5])  # NaN: one epoch says nothing

    def run(variant, seed, acc, held):
        hist = [
            {"epoch": i + 1, "loss": 1.0, "accuracy": [a], "holdout_accuracy": [h] if h is not None else []}
            for i, (a, h) in enumerate(zip(acc, held, strict=True))
        ]
        return {"variant": variant, "seed": seed, "history": hist}

    flat = [0.2, 0.5, 0.6, 0.60, 0.61, 0.61, 0.615, 0.62]
    rising = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
    none = [None] * 8
    runs = {
        "a@0": run("a", 0, flat, flat),
        "a@1": run("a", 1, flat, flat),
        # memorising: training accuracy rises, held-out accuracy is flat -> flat by the rule
        "m@0": run("m", 0, rising, flat),
        # still learning: the held-out curve rises on one seed by 20 points, 1 on the other (mean 10.5)
        "b@0": run("b", 0, flat, flat),
        "b@1": run("b", 1, rising, rising),
        # no held-out posts (SimCLR): judged on its training curve
        "s@0": run("s", 0, rising, none),
    }
    t = convergence_table(runs)
    assert bool(t.loc["a", "flat at the end"]) and bool(t.loc["m", "flat at the end"])
    assert not bool(t.loc["b", "flat at the end"]) and not bool(t.loc["s", "flat at the end"])
    assert t.loc["m", "training rise (points)"] == pytest.approx(20.0)
    assert t.loc["b", "held-out rise (points)"] == pytest.approx(10.5)
    assert t.loc["a", "final held-out accuracy (%)"] == pytest.approx(62.0)


def test_budget_gain_compares_the_same_variants_and_seeds():
    from vise_lib.study.backbone_runs import budget_gain_table

    def run(variant, seed, epochs, held):
        hist = [{"epoch": i + 1, "loss": 1.0, "accuracy": [0.9], "holdout_accuracy": [held]} for i in range(epochs)]
        return {"variant": variant, "seed": seed, "history": hist}

    main = {f"{v}@{s}": run(v, s, 4, 0.5 if s < 2 else 0.1) for v in ("x", "y") for s in range(4)}
    more = {f"budget_2x:x@{s}": run("x", s, 8, 0.6) for s in range(2)}
    t = budget_gain_table(main, more, "budget_2x")
    assert list(t.index) == ["x"]  # y was not trained at the point
    row = t.loc["x"]
    assert row["seeds"] == 2 and row["epochs (main)"] == 4 and row["epochs (budget_2x)"] == 8
    assert row["held-out (main)"] == pytest.approx(50.0)  # seeds 0 and 1 only, not 2 and 3
    assert row["held-out gain (points)"] == pytest.approx(10.0)
    assert not bool(row["learned at the main budget"])  # 10 points more with twice the epochs


def test_the_answer_box_has_five_lines_from_the_claims():
    from vise_lib.study.claims import answer_box, answer_lines

    def row(a, b, task, verdict, diff, kind="question", **kw):
        return {
            "a": a,
            "b": b,
            "task": task,
            "verdict": verdict,
            "diff": diff,
            "ci_low": diff - 1,
            "ci_high": diff + 1,
            "kind": kind,
            "claim": f"{a} vs {b} on {task}",
            **kw,
        }

    rows = [
        row("vise", "object", "emotion", "reversed", -4.0),
        row("vise", "shuffled", "emotion", "holds", 3.0, kind="headline"),
        row("vise", "handmade", "emotion", "unresolved", -1.0),
        row("object", "vise", "object", "holds", 30.0, kind="control", expected=["holds"], as_expected=True),
        row(
            "nonvisual_only:vise",
            "shuffled",
            "emotion",
            "unresolved",
            0.5,
            kind="no-world",
            expected=["equivalent"],
            as_expected=False,
            equivalence_power=0.12,
        ),
        row(
            "budget_2x:vise",
            "budget_2x:object",
            "emotion",
            "reversed",
            -3.0,
            kind="budget",
            main_claim="vise vs object on emotion",
        ),
    ]
    lines = answer_lines(rows)
    assert len(lines) == 5
    assert "emotion: **reversed**, -4.0 points [-5.0, -3.0]" in lines[0]
    assert "**holds**, +3.0" in lines[1] and "vise − handmade on emotion: **unresolved**" in lines[2]
    assert "1 of 2 came out as written down" in lines[3] and "nonvisual_only:vise vs shuffled" in lines[3]
    assert "(unresolved, +0.5 [-0.5, +1.5]; power to come out equivalent 0.12)" in lines[3]
    assert "More pretraining budget**: 1 of 1 repeated verdicts unchanged" in lines[4]
    box = answer_box(rows, "default")
    assert box.startswith("> **The answer of the `default` run**") and box.count("\n> - ") == 5
    # what twice the epochs taught, when the budget point's learning curves are given
    taught = answer_lines(rows, {"budget_2x": {"object": 7.0, "vise": -2.84}})[4]
    assert taught.endswith(
        "budget_2x: held-out accuracy on the backbones' own labels changed by object +7.0, vise -2.8 points."
    )

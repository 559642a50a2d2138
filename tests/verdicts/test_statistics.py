"""The paired bootstrap and the verdict rule on data with a known answer."""

import numpy as np
import pytest

from vise_lib.verdicts.results import (
    compare,
    read_claims,
    read_correct,
    read_scores,
    write_claims,
    write_correct,
    write_scores,
)
from vise_lib.verdicts.statistics import Comparison, Rule, equivalence_power, paired_bootstrap, verdict


def _correct(p, n=2000, seeds=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((seeds, n)) < p


def test_a_clear_win_holds_and_its_reverse_is_reversed():
    a, b = _correct(0.80, seed=1), _correct(0.60, seed=2)
    c = paired_bootstrap(a, b)
    assert 17 < c.diff < 23 and c.ci_low > 10 and c.ci_high < 30
    assert verdict(c) == "holds"
    assert verdict(paired_bootstrap(b, a)) == "reversed"


def test_same_accuracy_is_equivalent_with_a_wide_margin_and_unresolved_with_none():
    a, b = _correct(0.7, seed=3), _correct(0.7, seed=4)
    c = paired_bootstrap(a, b)
    assert abs(c.diff) < 2
    assert verdict(c, epsilon=5.0) == "equivalent"
    assert verdict(c, epsilon=0.1) == "unresolved"


def test_seed_variance_widens_the_interval():
    rng = np.random.default_rng(0)
    base = rng.random(1000) < 0.7
    steady = np.stack([base] * 3)
    shaky = np.stack([rng.random(1000) < p for p in (0.55, 0.7, 0.85)])
    narrow = paired_bootstrap(steady, steady[:, ::-1][:, ::-1])
    wide = paired_bootstrap(shaky, steady)
    assert (wide.ci_high - wide.ci_low) > 2 * (narrow.ci_high - narrow.ci_low)


def test_small_but_certain_difference_is_not_a_win_below_min_effect():
    c = Comparison(diff=1.0, ci_low=0.5, ci_high=1.5, n_images=10, n_seeds_a=3, n_seeds_b=3)
    assert verdict(c, min_effect=2.0, epsilon=2.0) == "equivalent"
    assert verdict(c, min_effect=0.5, epsilon=2.0) == "holds"


def test_mismatched_images_are_refused():
    with pytest.raises(ValueError, match="same test images"):
        paired_bootstrap(np.ones((2, 10)), np.ones((2, 11)))


def test_results_files_round_trip(tmp_path):
    rows = [
        {"backbone": b, "task": "emotion", "pretrain_seed": s, "probe_seed": 0, "top1": 50 + s}
        for b in ("vise", "object")
        for s in range(3)
    ]
    df = read_scores(write_scores(tmp_path / "downstream" / "scores.csv", rows))
    assert list(df.columns) == ["backbone", "task", "pretrain_seed", "probe_seed", "top1"] and len(df) == 6
    with pytest.raises(ValueError, match="lacks"):
        write_scores(tmp_path / "bad.csv", [{"backbone": "x"}])
    correct = {("vise", "emotion", s, 0): _correct(0.8, 500, 1, s)[0] for s in range(3)}
    correct |= {("object", "emotion", s, 0): _correct(0.5, 500, 1, 10 + s)[0] for s in range(3)}
    back = read_correct(write_correct(tmp_path / "correct.npz", correct))
    assert set(back) == set(correct)
    claim = compare(back, "vise", "object", "emotion", "vise beats object", Rule(min_effect=2, epsilon=2))
    assert claim["verdict"] == "holds" and claim["ci_low"] > 0
    write_claims(tmp_path / "claims.json", [claim])
    assert read_claims(tmp_path / "claims.json")[0]["verdict"] == "holds"
    with pytest.raises(ValueError, match="verdict"):
        write_claims(tmp_path / "c.json", [{**claim, "verdict": "probably"}])


def test_hierarchy_widens_the_interval_when_pretraining_seeds_disagree():
    """Six rows from 3 pretraining seeds x 2 probe seeds: the rows of one pretraining seed agree, the
    seeds do not. Treating the 6 rows as independent understates that; resampling pretraining seeds
    first does not."""
    rng = np.random.default_rng(5)
    n = 1500
    per_seed = [0.60, 0.70, 0.80]  # pretraining seeds disagree by 10 points
    a = np.stack([np.stack([rng.random(n) < p for _ in range(2)]) for p in per_seed])  # (3, 2, n)
    b = np.stack([np.stack([rng.random(n) < 0.68 for _ in range(2)]) for _ in range(3)])
    nested = paired_bootstrap(a, b, n_boot=3000)
    flat = paired_bootstrap(a.reshape(1, 6, n), b.reshape(1, 6, n), n_boot=3000)  # rows as one run's probes
    assert nested.n_seeds_a == 3 and nested.n_probe_a == 2 and flat.n_seeds_a == 1
    assert (nested.ci_high - nested.ci_low) > 1.2 * (flat.ci_high - flat.ci_low)
    assert nested.mde == pytest.approx((1.959964 + 0.841621) * nested.se, rel=1e-4)


def test_a_null_difference_comes_out_equivalent_with_enough_seeds_and_images():
    rng = np.random.default_rng(7)

    def backbone(seeds, n):  # every pretraining seed scores 70 % +- 0.5 points of seed noise
        return np.stack(
            [np.stack([rng.random(n) < 0.70 + rng.normal(0, 0.005) for _ in range(2)]) for _ in range(seeds)]
        )

    few = paired_bootstrap(backbone(2, 300), backbone(2, 300))
    many = paired_bootstrap(backbone(6, 6000), backbone(6, 6000))
    assert verdict(few) == "unresolved" and equivalence_power(few.se, 2.0) < 0.5
    assert verdict(many) == "equivalent" and equivalence_power(many.se, 2.0) > 0.8


def test_a_two_dimensional_array_is_one_pretraining_run_with_probe_seeds():
    rng = np.random.default_rng(2)
    a, b = rng.random((3, 400)) < 0.7, rng.random((3, 400)) < 0.6
    c = paired_bootstrap(a, b)
    assert (c.n_seeds_a, c.n_probe_a) == (1, 3) and c.diff == pytest.approx(100 * (a.mean() - b.mean()))


def test_pretraining_seeds_with_different_probe_seeds_are_refused():
    from vise_lib.verdicts.results import seed_cube

    correct = {
        ("v", "t", 0, 0): np.ones(4, bool),
        ("v", "t", 0, 1): np.ones(4, bool),
        ("v", "t", 1, 0): np.ones(4, bool),
    }
    with pytest.raises(ValueError, match="different probe seeds"):
        seed_cube(correct, "v", "t")
    correct[("v", "t", 1, 1)] = np.zeros(4, bool)
    assert seed_cube(correct, "v", "t").shape == (2, 2, 4)

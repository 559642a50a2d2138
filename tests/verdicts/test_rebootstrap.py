"""An independent, loop-by-loop hierarchical bootstrap agrees with the vectorised one.

``rebootstrap`` is written from the definition, with none of the library's code: for each
replicate, draw each backbone's pretraining seeds with replacement, then its probe seeds with
replacement within each drawn pretraining seed, then the test images once for both backbones,
and take the difference of the two mean accuracies. Anyone can run it on a run's
``downstream/correct.npz`` to check ``summary/claims.json`` (see ``recheck_claims``).
"""

import numpy as np
import pytest

from vise_lib.verdicts.statistics import paired_bootstrap


def rebootstrap(a: np.ndarray, b: np.ndarray, n_boot: int = 1000, seed: int = 99) -> tuple[float, float]:
    """95 % interval of mean(a) − mean(b) in points; ``a``, ``b``: (pretraining seeds, probe seeds, images)."""
    rng = np.random.default_rng(seed)
    n = a.shape[2]
    reps = []
    for _ in range(n_boot):
        images = rng.integers(0, n, n)
        means = []
        for x in (a, b):
            rows = []
            for s in rng.integers(0, x.shape[0], x.shape[0]):
                for q in rng.integers(0, x.shape[1], x.shape[1]):
                    rows.append(x[s, q, images])
            means.append(np.mean(rows))
        reps.append(100 * (means[0] - means[1]))
    lo, hi = np.percentile(reps, [2.5, 97.5])
    return float(lo), float(hi)


def recheck_claims(correct: dict, claims: list[dict], n_boot: int = 1000) -> list[tuple[str, str, str]]:
    """``(claim, verdict in claims.json, verdict of the independent bootstrap)`` for every claim."""

    def cube(name, task):
        keys = sorted(k for k in correct if k[0] == name and k[1] == task)
        seeds = sorted({k[2] for k in keys})
        return np.stack([np.stack([correct[k] for k in keys if k[2] == s]) for s in seeds]).astype(float)

    out = []
    for c in claims:
        if c["verdict"] == "exploratory":
            continue
        lo, hi = rebootstrap(cube(c["a"], c["task"]), cube(c["b"], c["task"]), n_boot)
        d, delta, eps = c["diff"], c["min_effect"], c["epsilon"]
        v = (
            "holds"
            if lo > 0 and d >= delta
            else "reversed"
            if hi < 0 and d <= -delta
            else "equivalent"
            if -eps <= lo and hi <= eps
            else "unresolved"
        )
        out.append((c["claim"], c["verdict"], v))
    return out


@pytest.mark.parametrize("spread", [0.0, 0.08])
def test_the_independent_bootstrap_gives_the_library_interval(spread):
    rng = np.random.default_rng(3)
    n = 600
    a = np.stack([np.stack([rng.random(n) < 0.65 + spread * (s - 1) for _ in range(2)]) for s in range(3)])
    b = np.stack([np.stack([rng.random(n) < 0.60 for _ in range(2)]) for _ in range(4)])
    lib = paired_bootstrap(a, b, n_boot=4000)
    lo, hi = rebootstrap(a.astype(float), b.astype(float), n_boot=600)
    width = lib.ci_high - lib.ci_low
    assert abs(lo - lib.ci_low) < 0.15 * width and abs(hi - lib.ci_high) < 0.15 * width


if __name__ == "__main__":  # python tests/verdicts/test_rebootstrap.py runs/default
    import sys
    from pathlib import Path

    from vise_lib.verdicts.results import read_claims, read_correct

    run = Path(sys.argv[1])
    correct = read_correct(run / "downstream" / "correct.npz")
    if (run / "ablations" / "correct.npz").exists():
        correct.update(read_correct(run / "ablations" / "correct.npz"))
    rows = recheck_claims(correct, read_claims(run / "summary" / "claims.json"))
    for claim, theirs, ours in rows:
        print(f"{'same' if theirs == ours else 'DIFFERENT':9}  {theirs:10}  {ours:10}  {claim}")
    print(f"{sum(t == o for _, t, o in rows)} of {len(rows)} verdicts reproduced by the independent bootstrap")

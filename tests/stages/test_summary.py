"""``run_summary`` on per-image results written by hand: which claims are judged, the Δ_eng numbers,
the file read back."""

import json

import numpy as np
import pytest

from vise_lib.io import write_check
from vise_lib.stages.summary import SummaryResult, run_summary
from vise_lib.study.claims import CLAIMS
from vise_lib.study.stage_configs import SummaryConfig
from vise_lib.verdicts.results import write_correct

# per-image accuracy of each (backbone, task): vise clearly beats its shuffled control
ACCURACY = {
    ("vise", "emotion"): 0.8,
    ("vise", "stance"): 0.7,
    ("vise", "object"): 0.3,
    ("shuffled", "emotion"): 0.4,
    ("shuffled", "stance"): 0.55,
    ("object", "emotion"): 0.6,
    ("object", "stance"): 0.6,
    ("object", "object"): 0.9,
}


def write_run(run, ablations=True):
    rng = np.random.default_rng(0)
    hit = lambda p: rng.random(400) < p  # noqa: E731
    write_correct(
        run / "downstream" / "correct.npz",
        {(b, t, ps, 0): hit(p) for (b, t), p in ACCURACY.items() for ps in (0, 1, 2)},
    )
    if ablations:
        write_correct(run / "ablations" / "correct.npz", {("nonvisual_only:vise", "emotion", 0, 0): hit(0.4)})
    return run


@pytest.fixture(scope="module")
def summary(tmp_path_factory):
    run = write_run(tmp_path_factory.mktemp("summary") / "run")
    lines: list[str] = []
    return run, run_summary({"n_boot": 200}, run, echo=lines.append), lines


def test_judges_the_claims_whose_backbones_ran(summary):
    _, result, lines = summary
    assert lines == [
        "verdict rule: δ = 2.0 points, ε = 2.0 points, at least 3 pretraining seeds, 200 bootstrap replicates"
    ]
    judged = [(c["a"], c["b"], c["task"]) for c in result.claims]
    assert judged == [
        ("vise", "object", "emotion"),
        ("vise", "object", "stance"),
        ("vise", "shuffled", "emotion"),
        ("vise", "shuffled", "stance"),
        ("object", "vise", "object"),
        ("nonvisual_only:vise", "shuffled", "emotion"),
    ]
    assert result.missing == [c["claim"] for c in CLAIMS if (c["a"], c["b"], c["task"]) not in judged]
    assert len(result.claims) + len(result.missing) == len(CLAIMS)
    assert all(c["n_seeds_a"] == 3 and c["n_images"] == 400 for c in result.claims[:5])


def test_headline_numbers_are_the_claims_numbers(summary):
    _, result, _ = summary
    assert [c["task"] for c in result.headline] == ["emotion", "stance"]
    emotion = result.headline[0]
    assert emotion["diff"] == pytest.approx(40, abs=5) and emotion["ci_low"] > 0 and emotion["verdict"] == "holds"
    words = result.sentences()
    assert len(words) == len(result.claims)  # one sentence per claim
    by_claim = {c["claim"]: text for c, text in zip(result.claims, words, strict=True)}
    for c in result.headline:  # the numbers in each Δ_eng sentence are its row's
        text = by_claim[c["claim"]]
        assert c["task"] in text and "credited to the engagement signal" in text
        assert all(f"{c[k]:+.1f}" in text for k in ("diff", "ci_low", "ci_high"))


def test_the_file_is_the_result(summary):
    run, result, _ = summary
    assert json.loads((run / SummaryResult.FILE).read_text()) == result.to_json() == result.claims
    assert SummaryResult.read(run) == result


def test_typed_config_and_no_ablations(tmp_path):
    run = write_run(tmp_path / "run", ablations=False)
    result = run_summary(SummaryConfig(n_boot=100), run, echo=lambda *_: None)
    assert not any(c["a"].startswith("nonvisual_only:") for c in result.claims)
    assert "non-visual world: engagement is no better than shuffled labels on emotion" in result.missing


def test_missing_or_broken_files_name_the_file_and_the_stage(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"summary/claims\.json is missing: run the stage 05_summary"):
        SummaryResult.read(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"downstream/correct\.npz is missing: run the stage 03_downstream"):
        run_summary({}, tmp_path)
    (tmp_path / "summary").mkdir()
    (tmp_path / SummaryResult.FILE).write_text(json.dumps({"claims": []}))
    write_check(tmp_path / SummaryResult.FILE, "05_summary")
    with pytest.raises(ValueError, match=r"claims\.json: expected a list of objects: run the stage 05_summary"):
        SummaryResult.read(tmp_path)
    (tmp_path / SummaryResult.FILE).write_text(json.dumps([{"claim": "x"}]))
    write_check(tmp_path / SummaryResult.FILE, "05_summary")
    with pytest.raises(ValueError, match=r"row 0 lacks \['task'"):
        SummaryResult.read(tmp_path)

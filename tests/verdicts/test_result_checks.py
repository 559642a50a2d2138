"""Issue 28, bad case 3: a truncated or hand-edited results file is a one-line error naming the
file and the stage to rerun, never a headline built from part of it."""

import json

import numpy as np
import pytest

from vise_lib.io import check_path, verify_check
from vise_lib.verdicts.results import read_claims, read_correct, read_scores, write_claims, write_correct, write_scores

ROWS = [
    {"backbone": b, "task": "emotion", "pretrain_seed": s, "probe_seed": 0, "top1": 50.0 + s}
    for b in ("vise", "supervised")
    for s in range(3)
]
CLAIM = {"claim": "c", "task": "emotion", "a": "vise", "b": "supervised", "diff": 1.0, "ci_low": 0.1}
CLAIM = {**CLAIM, "ci_high": 2.0, "verdict": "holds"}


def test_scores_round_trip_and_the_check_file_records_rows_and_stage(tmp_path):
    path = write_scores(tmp_path / "scores.csv", ROWS, stage="03_downstream")
    check = json.loads(check_path(path).read_text())
    assert check["rows"] == 6 and check["stage"] == "03_downstream" and check["bytes"] == path.stat().st_size
    assert len(read_scores(path)) == 6


def test_scores_cut_at_a_line_end_is_refused_naming_file_and_stage(tmp_path):
    """The fault: scores.csv cut at a line end gave a headline from 1 pretraining seed of 3, rc 0."""
    path = write_scores(tmp_path / "scores.csv", ROWS, stage="03_downstream")
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:3]))
    with pytest.raises(ValueError) as e:
        read_scores(path)
    msg = str(e.value)
    assert str(path) in msg and "truncated" in msg and "2 rows" in msg and "6 rows" in msg
    assert "vise run --stage 03_downstream" in msg and "\n" not in msg


def test_scores_cut_mid_line_is_the_same_error_not_a_pandas_one(tmp_path):
    path = write_scores(tmp_path / "scores.csv", ROWS, stage="03_downstream")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 5])
    with pytest.raises(ValueError, match=r"scores\.csv is truncated .*03_downstream"):
        read_scores(path)


def test_an_edited_file_of_the_same_size_is_caught(tmp_path):
    path = write_scores(tmp_path / "scores.csv", ROWS, stage="03_downstream")
    path.write_text(path.read_text().replace("50.0000", "99.0000", 1))
    with pytest.raises(ValueError, match=r"scores\.csv is edited"):
        read_scores(path)
    # the reader's own stage name wins over the check file's
    with pytest.raises(ValueError, match=r"--stage 04_ablations"):
        read_scores(path, "04_ablations")


def test_hand_edited_claims_and_cut_correctness_are_refused(tmp_path):
    claims = write_claims(tmp_path / "claims.json", [CLAIM], stage="05_summary")
    assert read_claims(claims) == [CLAIM]
    claims.write_text(claims.read_text().replace('"holds"', '"unresolved"'))
    with pytest.raises(ValueError, match=r"claims\.json is edited .*05_summary"):
        read_claims(claims)
    corr = write_correct(tmp_path / "correct.npz", {("vise", "emotion", 0, 0): np.ones(5, bool)}, stage="03_downstream")
    corr.write_bytes(corr.read_bytes()[:-20])
    with pytest.raises(ValueError, match=r"correct\.npz is truncated .*unreadable rows.*03_downstream"):
        read_correct(corr)


def test_a_file_without_its_check_file_is_not_trusted(tmp_path):
    path = write_scores(tmp_path / "scores.csv", ROWS, stage="03_downstream")
    check_path(path).unlink()
    with pytest.raises(ValueError, match=r"has no check file scores\.csv\.check\.json"):
        read_scores(path, "03_downstream")
    with pytest.raises(FileNotFoundError, match=r"missing\.csv is missing"):
        verify_check(tmp_path / "missing.csv", "03_downstream")

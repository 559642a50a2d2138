"""`vise evaluate` argument errors stop before any notebook runs; `vise run --out` reaches the pipeline."""

import pytest

from vise_lib.run import cli


@pytest.fixture
def no_pipeline(monkeypatch):
    calls = []
    monkeypatch.setattr("vise_lib.run.pipeline.run", lambda *a, **k: calls.append((a, k)) or [])
    return calls


def test_run_out_is_passed_to_the_pipeline(no_pipeline, tmp_path):
    assert cli.main(["run", "--preset", "smoke", "--no-book", "--out", str(tmp_path)]) == 0
    assert no_pipeline[0][1]["out_root"] == str(tmp_path)
    assert cli.main(["run", "--preset", "smoke", "--no-book"]) == 0
    assert no_pipeline[1][1]["out_root"] is None


@pytest.mark.parametrize("argv, message", [
    (["--backbone", "a=random:small_resnet"], "at least one --backbone"),
    (["--backbone", "a", "--dataset", "d=x"], "--backbone 'a': expected NAME=VALUE"),
    (["--backbone", "a=random:small_resnet", "--dataset", "d=x", "--group", "e=object"], "--group names unknown"),
    (["--backbone", "a=random:small_resnet", "--dataset", "d=x", "--group", "d=fun"], "group must be one of"),
    (["--backbone", "a=random:small_resnet", "--dataset", "d=x", "--seeds", "0", "0"], "seeds must be distinct"),
])
def test_evaluate_argument_errors(argv, message, no_pipeline, tmp_path, capsys):
    assert cli.main(["evaluate", "--out", str(tmp_path), *argv]) == 2
    assert message in capsys.readouterr().err
    assert no_pipeline == []

"""``run_ablations`` on a tiny run: one "no" world, end to end; the typed result is the file it wrote."""

import json

import pytest
from conftest import write_study_run

from vise_lib.stages.ablations import AblationsResult, run_ablations
from vise_lib.stages.downstream import run_downstream
from vise_lib.study import tables
from vise_lib.study.stage_configs import AblationsConfig
from vise_lib.verdicts.results import read_correct, read_scores

CONFIG = {
    "no_worlds": ["nonvisual_only"],
    "sweep_engagement_noise": [],
    "sweep_eng_affect": [],
    "kmeans_seeds": [],
    "world_seeds": [],
    "tasks": ["emotion"],
    "num_threads": 1,
}


@pytest.fixture(scope="module")
def ablated(tmp_path_factory):
    run = write_study_run(tmp_path_factory.mktemp("ablations") / "run")
    run_downstream({"tasks": ["emotion"], "seeds": [0], "references": [], "num_threads": 1}, run, echo=lambda *_: None)
    lines: list[str] = []
    return run, run_ablations(CONFIG, run, echo=lines.append), lines


def test_result_is_typed_and_is_the_file(ablated):
    run, result, lines = ablated
    assert result.points == ["nonvisual_only"] and lines[-1] == "1 points, 1 score rows"
    assert len(lines) == 2 and lines[0].startswith("nonvisual_only: 1 variant(s) x 1 seed(s) in ")
    assert result.stage == AblationsConfig.from_params(CONFIG).to_params()
    assert set(result.information) == {"main run", "nonvisual_only"}
    assert {"nmi_poster", "cmi_excess"} <= set(result.information["main run"])
    assert result.timing["nonvisual_only"]["kind"] == "no-world"
    assert {"world and labels", "pretrain", "probes"} <= set(result.timing["nonvisual_only"])
    assert result.seconds >= sum(v for k, v in result.timing["nonvisual_only"].items() if k != "kind") - 1e-6
    (row,) = result.rows
    assert row["backbone"] == "nonvisual_only:vise" and row["point"] == "nonvisual_only"
    assert row["kind"] == "no-world" and row["value"] is None and (row["pretrain_seed"], row["probe_seed"]) == (0, 0)
    assert json.loads((run / AblationsResult.FILE).read_text()) == result.to_json()
    assert AblationsResult.read(run) == result


def test_scores_and_correctness_files_hold_the_rows(ablated):
    run, result, _ = ablated
    scores = read_scores(run / AblationsResult.SCORES)
    assert scores.to_dict("records") == [
        {k: r[k] for k in ("backbone", "task", "pretrain_seed", "probe_seed", "top1")} for r in result.rows
    ]
    correct = read_correct(run / AblationsResult.CORRECT)
    assert list(correct) == [("nonvisual_only:vise", "emotion", 0, 0)]
    assert 100 * correct[("nonvisual_only:vise", "emotion", 0, 0)].mean() == pytest.approx(result.rows[0]["top1"])


def test_tables_of_the_result(ablated):
    run, result, _ = ablated
    points = tables.ablation_points_table(result.rows)
    assert points.to_dict("records") == [
        {
            "point": "nonvisual_only",
            "kind": "no-world",
            "variants": "vise",
            "pretraining seeds": [0],
            "evidence": "exploratory",
        }
    ]
    info = tables.label_information_table(result.information, result.points)
    assert list(info.index) == ["main run", "nonvisual_only"] and list(info.columns[:2]) == ["nmi_object", "ami_object"]
    main = read_scores(run / "downstream" / "scores.csv")
    table = tables.ablation_scores_table(main, result.rows, ["emotion"])
    assert list(table.index) == [
        ("main run", "vise"),
        ("main run", "shuffled"),
        ("nonvisual_only", "nonvisual_only:vise"),
    ]


def test_missing_files_name_the_file_and_the_stage(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"ablations/results\.json is missing: run the stage 04_ablations"):
        AblationsResult.read(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"pretrain/results\.json is missing: run the stage 02_pretrain"):
        run_ablations(CONFIG, tmp_path)


@pytest.mark.slow
def test_two_training_workers_queue_every_point_and_give_the_same_scores(tmp_path):
    import shutil

    run = write_study_run(tmp_path / "run")
    run_downstream({"tasks": ["emotion"], "seeds": [0], "references": [], "num_threads": 1}, run, echo=lambda *_: None)
    config = {**CONFIG, "no_worlds": ["nonvisual_only", "content_only"], "budget_factors": [2.0], "check_seeds": [0]}
    one = run_ablations(config, run, echo=lambda *_: None)
    rows_one = sorted(read_scores(run / AblationsResult.SCORES).itertuples(index=False))
    shutil.rmtree(run / "ablations")
    two = run_ablations({**config, "jobs": 2}, run, echo=lambda *_: None)
    assert two.points == one.points == ["nonvisual_only", "content_only", "budget_2x"]
    assert sorted(read_scores(run / AblationsResult.SCORES).itertuples(index=False)) == rows_one

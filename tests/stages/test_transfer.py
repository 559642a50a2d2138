"""``run_transfer_study`` and ``run_transfer_summary`` on real-layout datasets: typed results, the files
read back, the results folder, and the report's tables and figure of them."""

import json

import pytest
from conftest import write_real_datasets

from vise_lib.stages.transfer import TransferResult, run_transfer_study, transfer_folder
from vise_lib.stages.transfer_summary import TransferSummaryResult, run_transfer_summary
from vise_lib.transfer import report
from vise_lib.transfer.config import TransferConfig


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    root = tmp_path_factory.mktemp("transfer")
    data = write_real_datasets(root / "data", px=16)
    config = {
        "backbones": {"a": "random:small_resnet/4", "b": "random:small_resnet/8"},
        "datasets": {"objects": str(data["objects"]), "sent": {"path": str(data["sentiment"]), "group": "subjective"}},
        "image_size": 16,
        "seeds": [0, 1],
        "n_boot": 200,
        "max_iter": 200,
        "num_threads": 1,
    }
    lines: list[str] = []
    return root / "run", config, run_transfer_study(config, root / "run", echo=lines.append), lines


def test_result_is_typed_and_is_the_file(study):
    run, config, result, lines = study
    assert lines[0] == "note: 2 probe seed(s); use at least 3 for a meaningful mean ± std"
    assert any(line.startswith("backbone a: random:small_resnet/4") for line in lines)
    assert result.reference == "a" and list(result.backbones) == ["a", "b"] and result.seeds == [0, 1]
    assert result.tasks == ["objects", "sent"] and len(result.runs) == 2 * 2 * 2
    assert {t: d["group"] for t, d in result.datasets.items()} == {"objects": "unstated", "sent": "subjective"}
    assert result.config == TransferConfig.from_params(config).to_params()
    assert set(result.baselines["sent"]) >= {"majority", "chance", "majority_class"}
    assert json.loads((run / TransferResult.FILE).read_text()) == result.to_json()
    assert TransferResult.read(run) == result and transfer_folder(config, run) == run.resolve()


def test_summary_reads_the_claims_and_the_study(study):
    run, _config, result, _ = study
    summary = run_transfer_summary({}, run)
    assert summary.transfer == result
    assert [(c["task"], c["a"], c["b"], c["group"]) for c in summary.claims] == [
        ("objects", "b", "a", "unstated"),
        ("sent", "b", "a", "subjective"),
    ]
    assert json.loads((run / TransferSummaryResult.FILE).read_text()) == summary.to_json()
    assert run_transfer_summary({"results_dir": str(run)}, "/nonexistent") == summary


def test_report_tables_and_figure_of_the_result(study):
    run, _config, result, _ = study
    results = result.to_json()
    datasets = report.datasets_table(results)
    assert list(datasets.index) == ["objects", "sent"] and datasets.loc["sent", "group"] == "subjective"
    per_class = report.dataset_table(results, "objects")
    assert list(per_class.columns.get_level_values(0).unique()) == ["a", "b"]
    assert list(per_class.index) == ["circle", "square", "star"]
    fig = report.confusion_plot(results, "objects")
    assert [ax.get_title() for ax in fig.axes] == ["objects: a", "objects: b"]
    note = report.reference_note(results)
    assert note.startswith("Reference backbone: **a** (`random:small_resnet/4`).") and "δ = 2 and ε = 2" in note
    summary = TransferSummaryResult.read(transfer_folder(result.config, run))
    tally = report.verdict_tally(report.claims_table(summary.claims))
    assert tally.to_numpy().sum() == len(summary.claims) == 2


def test_results_dir_and_missing_files_name_the_stage(study, tmp_path):
    with pytest.raises(FileNotFoundError, match=r"downstream/results\.json is missing: run the stage 20_transfer"):
        TransferResult.read(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"summary/claims\.json is missing: run the stage 20_transfer"):
        run_transfer_summary({"results_dir": str(tmp_path)}, tmp_path / "elsewhere")
    _, config, _, _ = study
    config = {**config, "datasets": {"objects": config["datasets"]["objects"]}, "results_dir": str(tmp_path / "out")}
    result = run_transfer_study(config, tmp_path / "run", echo=lambda *_: None)
    assert transfer_folder(config, tmp_path / "run") == (tmp_path / "out").resolve()
    assert TransferResult.read(tmp_path / "out") == result and not (tmp_path / "run").exists()

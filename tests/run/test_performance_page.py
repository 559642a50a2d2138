"""The Performance page's "Where the time goes" table, from the timings stage results record."""

import json

import pytest

from vise_lib.run.book_pages import performance_page, time_breakdown
from vise_lib.run.presets import STAGES


def _write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def test_time_breakdown_sums_variants_phases_and_ablation_kinds(tmp_path):
    variants = {f"simclr@{s}": {"variant": "simclr", "seconds": 5.0, "history": []} for s in (0, 1)}
    # vise was resumed from finished checkpoints: 0.1 s this time, 2 x 1 s in its epoch log
    resumed = {"variant": "vise", "seconds": 0.1, "history": [{"seconds": 1.0}, {"seconds": 1.0}]}
    variants = {"vise@0": resumed, "vise@1": resumed, **variants}
    _write(tmp_path / "pretrain" / "results.json", {"variants": variants})
    timing = {"features": 3.0, "probes": 7.5, "finetune": 0.0, "factor readout": 1.25}
    _write(tmp_path / "downstream" / "results.json", {"timing": timing})
    points = {
        "noise_0": {"kind": "noise", "world and labels": 1.0, "pretrain": 4.0, "probes": 2.0},
        "noise_1": {"kind": "noise", "world and labels": 1.0, "pretrain": 6.0, "probes": 2.0},
        "content_only": {"kind": "no-world", "world and labels": 0.5, "pretrain": 3.0, "probes": 1.0},
    }
    _write(tmp_path / "ablations" / "results.json", {"timing": points})
    rows = time_breakdown(tmp_path)
    assert rows == [
        ["02_pretrain", "train `vise`", "4.0", "2 pretraining seed(s)"],
        ["02_pretrain", "train `simclr`", "10.0", "2 pretraining seed(s)"],
        ["03_downstream", "features", "3.0", ""],
        ["03_downstream", "probes", "7.5", ""],  # fine-tuning did not run: no row
        ["03_downstream", "factor readout", "1.2", ""],
        ["04_ablations", "noise (2 point(s))", "16.0", "world and labels 2.0, pretrain 10.0, probes 4.0"],
        ["04_ablations", "no-world (1 point(s))", "4.5", "world and labels 0.5, pretrain 3.0, probes 1.0"],
    ]
    page = performance_page("default", STAGES, {}, [], [], rows)
    assert "## Where the time goes" in page and "| 04_ablations | noise (2 point(s)) | 16.0 |" in page


def test_a_run_without_study_stages_has_no_breakdown_and_a_corrupt_file_is_named(tmp_path):
    assert time_breakdown(tmp_path) == []
    assert "Where the time goes" not in performance_page("transfer", STAGES, {}, [], [], [])
    (tmp_path / "downstream").mkdir()
    (tmp_path / "downstream" / "results.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"downstream/results.json: not valid JSON"):
        time_breakdown(tmp_path)

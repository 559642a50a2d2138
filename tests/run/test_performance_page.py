"""The Performance page: wall time per stage, where the time goes (from the timings stage results
record), and the stored benchmark results — checked as typed figures, then on the rendered page."""

import json

import pytest

from vise_lib.io import write_check
from vise_lib.run.benchmark_results import BenchmarkRecord, Benchmarks
from vise_lib.run.performance_page import (
    AblationTime,
    PhaseTime,
    TimeBreakdown,
    VariantTime,
    performance_context,
    performance_page,
    time_breakdown,
)
from vise_lib.run.presets import STAGES
from vise_lib.stages.ablations import AblationsResult
from vise_lib.stages.downstream import DownstreamResult
from vise_lib.stages.pretrain import PretrainResult


def _write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    write_check(path)  # as a stage writes it


def test_time_breakdown_sums_variants_phases_and_ablation_kinds(tmp_path):
    variants = {f"simclr@{s}": {"variant": "simclr", "seconds": 5.0, "history": []} for s in (0, 1)}
    # vise was resumed from finished checkpoints: 0.1 s this time, 2 x 1 s in its epoch log
    resumed = {"variant": "vise", "seconds": 0.1, "history": [{"seconds": 1.0}, {"seconds": 1.0}]}
    variants = {"vise@0": resumed, "vise@1": resumed, **variants}
    order = ["vise@0", "vise@1", "simclr@0", "simclr@1"]
    _write(tmp_path / PretrainResult.FILE, PretrainResult(order, variants, {}, {}, 20.0).to_json())
    timing = {"features": 3.0, "probes": 7.5, "finetune": 0.0, "factor readout": 1.25}
    down = DownstreamResult([], [], [0], [], ["linear"], {}, {}, timing, {"source": "world"})
    _write(tmp_path / DownstreamResult.FILE, down.to_json())
    points = {
        "noise_0": {"kind": "noise", "world and labels": 1.0, "pretrain": 4.0, "probes": 2.0},
        "noise_1": {"kind": "noise", "world and labels": 1.0, "pretrain": 6.0, "probes": 2.0},
        "content_only": {"kind": "no-world", "world and labels": 0.5, "pretrain": 3.0, "probes": 1.0},
    }
    _write(tmp_path / AblationsResult.FILE, AblationsResult(list(points), {}, [], {}, 30.0, points).to_json())
    breakdown = time_breakdown(tmp_path)
    assert breakdown == TimeBreakdown(
        pretrain=(VariantTime("vise", 4.0, 2), VariantTime("simclr", 10.0, 2)),
        # fine-tuning did not run: no phase
        downstream=(PhaseTime("features", 3.0), PhaseTime("probes", 7.5), PhaseTime("factor readout", 1.25)),
        ablations=(
            AblationTime("noise", 2, {"world and labels": 2.0, "pretrain": 10.0, "probes": 4.0}),
            AblationTime("no-world", 1, {"world and labels": 0.5, "pretrain": 3.0, "probes": 1.0}),
        ),
    )
    assert [a.seconds for a in breakdown.ablations] == [16.0, 4.5]

    page = performance_page(performance_context("default", STAGES, {}, Benchmarks(), breakdown))
    rows = {tuple(c.strip() for c in line.strip("|").split("|")) for line in page.splitlines() if line.startswith("|")}
    assert ("02_pretrain", "train `vise`", "4.0", "2 pretraining seed(s)") in rows
    assert ("03_downstream", "factor readout", "1.2", "") in rows  # 1.25 shown to one decimal
    assert ("04_ablations", "noise (2 point(s))", "16.0", "world and labels 2.0, pretrain 10.0, probes 4.0") in rows


def test_wall_times_sum_the_stages_that_ran_and_show_the_benchmark_records():
    states = {"00_world": {"seconds": 12.25}, "02_pretrain": {"seconds": 30.0}}
    bench = BenchmarkRecord(
        "probe", "BENCH probe speedup=19.6", {"speedup": 19.6}, machine="2 cores", date="2026-11-29"
    )
    ctx = performance_context("smoke", STAGES, states, Benchmarks(records=(bench,)))
    assert [t.seconds for t in ctx.stage_times] == [12.25, None, 30.0, None, None, None]
    assert ctx.total_seconds == 42.25 and not ctx.breakdown and ctx.benchmarks == (bench,)
    page = performance_page(ctx)
    assert "| `00_world` | 12.2 |" in page and "| `01_engagement_to_labels` | - |" in page
    assert "**42.2**" in page and "| `probe` | `BENCH probe speedup=19.6` | 2 cores | 2026-11-29 |" in page
    assert "04_ablations |" not in page  # no breakdown rows


def test_a_run_without_study_stages_has_no_breakdown_and_a_corrupt_file_is_named(tmp_path):
    assert not time_breakdown(tmp_path)
    (tmp_path / "downstream").mkdir()
    (tmp_path / "downstream" / "results.json").write_text("{not json")
    write_check(tmp_path / "downstream" / "results.json", "03_downstream")
    with pytest.raises(ValueError, match=r"downstream/results.json is not valid JSON .*run the stage 03_downstream"):
        time_breakdown(tmp_path)

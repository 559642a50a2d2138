"""The "Scaling to the paper" page: measured rates in, projections out, each figure marked.

The figures are checked on the typed context (computed from known benchmark values), and the
rendered page is checked to show them, in tables whose every row says its kind.
"""

import pytest
import yaml
from conftest import REPO

from vise_lib.run.benchmark_results import BenchmarkRecord, benchmarks_from_records
from vise_lib.run.scaling_page import EPOCHS, PAPER_PX, SCALING_BENCHMARKS, scaling_context, scaling_page

KINDS = ("measured", "stated", "projected")


def _bench(name, **values):
    return BenchmarkRecord(name, f"BENCH {name}", values, machine="2 cores")


INGEST = _bench("ingest", posts_per_s=50_000)
CLUSTERING = _bench("clustering", seconds=10.0, n=1_000_000, d=256, k=1000)
LABELS = _bench("labels_ooc", posts=4_000_000, phi_posts_per_s=10_000, posts_per_s=5_000)
SHARDS = _bench("shards", decode_img_s_per_core=1225.0, loader_img_s=80.0, ratio=0.95, px=64)
NO_GPU = _bench("gpu", skipped="no_cuda")
DASK = _bench(
    "labels_dask",
    posts=400_000,
    single_posts_per_s=5_000,
    dask1_posts_per_s=4_000,
    dask2_posts_per_s=8_000,
    speedup_2w=1.25,
    per_worker_posts_per_s=4_000,
    fit_s=100.0,
    gather_s_per_m=2.0,
    worker_peak_mb=900,
    single_peak_mb=1200,
)


def _tables(page):
    """Each markdown table of the page as a list of rows (lists of cells), header and rule left out."""
    tables, rows = [], None
    for line in [*page.splitlines(), ""]:
        if line.startswith("|"):
            rows = [] if rows is None else rows
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
        elif rows is not None:
            tables.append(rows[2:])
            rows = None
    return tables


def _row(rows, value):
    """The one row that shows ``value`` in a cell of its own (or as a cell's first word)."""
    found = [r for r in rows if any(c == value or c.split(" ")[0] == value for c in r[1:])]
    assert len(found) == 1, (value, found)
    return found[0]


def test_projections_follow_the_measured_rates():
    ctx = scaling_context(benchmarks_from_records([INGEST, CLUSTERING, LABELS, DASK, SHARDS, NO_GPU]))
    assert ctx.missing == ()
    assert ctx.gpu_img_s == 3000.0 and not ctx.gpu_measured  # the stated H200 goal
    assert ctx.loader_img_s_per_core == pytest.approx(100.0) and not ctx.loader_core_measured  # 1225 * (64/224)²
    small, paper = ctx.projections
    assert (small.posts, paper.posts) == (1.2e6, 250e6)
    assert paper.ingest_seconds == pytest.approx(5000.0)  # 250M / 50,000 posts/s
    assert paper.phi_seconds == pytest.approx(25_000.0)  # 250M / 10,000
    assert paper.kmeans_seconds == pytest.approx(2500.0)  # 10 s a 1M posts × 250
    assert paper.gpu_seconds == pytest.approx(250e6 * 30 / 3000)  # 28.9 days
    assert paper.nodes == 1 and paper.nodes_seconds == pytest.approx(250e6 * 30 / (3000 * 8))
    assert small.loader_cores == paper.loader_cores == pytest.approx(30.0)  # 3000 / 100
    assert paper.disk_tb == pytest.approx(5.0) and small.disk_tb == pytest.approx(0.024)

    rates, cost = _tables(scaling_page(benchmarks_from_records([INGEST, CLUSTERING, LABELS, SHARDS, NO_GPU])))
    assert all(r[-1].split(" ")[0] in KINDS for r in rates + cost)
    assert _row(rates, "50,000.0")[-1] == "measured"
    assert _row(rates, "100.0")[-1] == "projected"  # the decode rate scaled to 224 px
    assert _row(rates, "3,000.0")[-1].startswith("stated")
    assert [r[2] for r in cost if r[0].startswith("VisE-250M")] == [
        "1.4 h",  # ingest
        "6.9 h",  # φ(e)
        "41.7 min",  # k-means
        "28.9 days",  # one GPU
        "1 node(s): 3.6 days",
        "30 cores",
        "5.00 TB",
    ]


def test_a_measured_worker_rate_and_a_measured_gpu_replace_the_projection_and_the_goal():
    shards = _bench("shards", **SHARDS.values, worker_img_s_per_core_224=600.0)
    gpu = _bench("gpu", model_img_s=6000.0, device="H200")
    ctx = scaling_context(benchmarks_from_records([INGEST, CLUSTERING, LABELS, shards, gpu]))
    assert ctx.loader_img_s_per_core == 600.0 and ctx.loader_core_measured
    assert ctx.gpu_img_s == 6000.0 and ctx.gpu_measured
    assert ctx.projections[1].gpu_seconds == pytest.approx(250e6 * 30 / 6000)
    assert ctx.projections[0].loader_cores == pytest.approx(10.0)  # 6000 / 600

    rates, cost = _tables(scaling_page(benchmarks_from_records([INGEST, CLUSTERING, LABELS, shards, gpu])))
    assert _row(rates, "600.0")[-1] == "measured"
    assert _row(rates, "6,000.0")[-1] == "measured (H200)"
    assert "14.5 days" in [r[2] for r in cost] and "10 cores" in [r[2] for r in cost]


def test_missing_benchmarks_are_named_not_invented():
    ctx = scaling_context(benchmarks_from_records([]))
    assert ctx.missing == SCALING_BENCHMARKS and not ctx.gpu_measured and ctx.loader_img_s_per_core is None
    for p in ctx.projections:
        assert p.ingest_seconds is p.phi_seconds is p.kmeans_seconds is p.loader_cores is None
    page = scaling_page(benchmarks_from_records([]))
    assert all(f"`benchmarks/{n}.py`" in page for n in SCALING_BENCHMARKS)
    rates, cost = _tables(page)
    assert [r[-1].split(" ")[0] for r in rates] == ["stated", "stated"]  # the A100 reference and the H200 goal
    assert len(cost) == 3 * len(ctx.projections)  # one GPU, nodes, disk: nothing that needs a benchmark


def test_an_old_shards_result_without_the_mean_ratio_still_renders():
    ctx = scaling_context(benchmarks_from_records([SHARDS]))
    assert ctx.shards.mean_ratio is None
    rates, _ = _tables(scaling_page(benchmarks_from_records([SHARDS])))
    assert _row(rates, "100.0")[-1] == "projected"
    cpu = _row(rates, "80.0")  # CPU training fed by the loader: its ratio to in-memory, no mean
    assert cpu[-1] == "measured" and "0.95" in cpu[0] and "nan" not in cpu[0]


def test_the_stated_schedule_is_the_paper_presets():
    cfg = yaml.safe_load((REPO / "configs" / "paper.yml").read_text())
    assert cfg["pretrain"]["train"]["epochs"] == EPOCHS and cfg["ingest"]["image_size"] == PAPER_PX


def test_the_gpu_checks_rates_are_shown_and_the_end_to_end_one_is_used():
    gpu = _bench(
        "gpu",
        model_img_s=3900.0,
        e2e_img_s=3150.0,
        loader_img_s_per_worker=420.0,
        loader_img_s=6000.0,
        workers=15,
        gpus=1,
        compiled_model_img_s=4300.0,
        device="NVIDIA_H100",
    )
    ctx = scaling_context(benchmarks_from_records([INGEST, CLUSTERING, LABELS, SHARDS, gpu]))
    assert ctx.gpu_measured and ctx.gpu_img_s == 3150.0  # end to end, not the step alone
    page = scaling_page(benchmarks_from_records([INGEST, CLUSTERING, LABELS, SHARDS, gpu]))
    rates, _ = _tables(page)
    for value in ("3,900.0", "3,150.0", "420.0", "6,000.0", "4,300.0"):
        assert _row(rates, value)[-1] == "measured (NVIDIA_H100)" or "machine" in _row(rates, value)[-1]
    assert "No GPU rate has been measured" not in page and "it has not run on a GPU yet" not in page


@pytest.mark.parametrize("records", [[], [NO_GPU], [_bench("gpu", model_img_s=12.0, gpus=0, device="cpu")]])
def test_without_a_gpu_measurement_the_page_says_so_plainly(records):
    b = benchmarks_from_records([INGEST, CLUSTERING, LABELS, SHARDS, *records])
    ctx = scaling_context(b)
    assert not ctx.gpu_measured and ctx.gpu_img_s == 3000.0
    page = scaling_page(b)
    assert "**No GPU rate has been measured in this project**" in page
    assert ("there is no\n`benchmarks/results/gpu.json`" in page) == (not records)
    rates, _ = _tables(page)
    assert _row(rates, "3,000.0")[-1].startswith("stated")
    assert not any(r[-1].startswith("measured (") for r in rates)


def test_the_labels_pass_on_dask_is_projected_from_the_per_worker_rate():
    ctx = scaling_context(benchmarks_from_records([INGEST, CLUSTERING, LABELS, DASK, SHARDS, NO_GPU]))
    by = {(p.scale, p.workers): p.seconds for p in ctx.labels_projections}
    assert by[("VisE-250M", 1)] == pytest.approx(100 + 2 * 250 + 250e6 / 4000)  # fit + gather + the partitions
    assert by[("Pushshift-size", 64)] == pytest.approx(100 + 2 * 1000 + 1e9 / 4000 / 64)
    tables = _tables(scaling_page(benchmarks_from_records([INGEST, CLUSTERING, LABELS, DASK, SHARDS, NO_GPU])))
    rates, projected = next(t for t in tables if any("Dask, 2 worker" in r[0] for r in t)), tables[-1]
    assert _row(rates, "8,000.0")[-1] == "measured" and _row(rates, "1.25")[0] == "2 workers / single process"
    assert _row(rates, "1.60")[-1] == "stated"  # the goal
    assert [r[2] for r in projected if r[0].startswith("VisE-250M")] == ["17.5 h", "1.3 h", "26.3 min", "14.1 min"]
    assert [r[1] for r in projected if r[0].startswith("Pushshift-size")] == ["1", "16", "64", "256"]
    assert all(r[-1] == "projected" for r in projected)
    no_dask = scaling_page(benchmarks_from_records([INGEST, CLUSTERING, LABELS, SHARDS, NO_GPU]))
    assert "## The labels pass on Dask" not in no_dask and "`benchmarks/labels_dask.py`" in no_dask


def test_the_dask_worker_memory_at_two_sizes_is_shown_when_measured():
    memory = _bench(
        "labels_dask_memory",
        small=400_000,
        large=4_000_000,
        sample=200_000,
        small_worker_peak_mb=1300,
        large_worker_peak_mb=1352,
        small_s=30.0,
        large_s=250.0,
        peak_ratio=1.04,
    )
    page = scaling_page(benchmarks_from_records([INGEST, CLUSTERING, LABELS, DASK, memory, SHARDS, NO_GPU]))
    rates = next(t for t in _tables(page) if any("Dask, 2 worker" in r[0] for r in t))
    assert _row(rates, "1,300 / 1,352")[0].startswith("peak memory of a worker (largest of 2) at 400,000 / 4,000,000")
    assert _row(rates, "1.04")[-1] == "measured" and _row(rates, "1.20")[-1] == "stated"
    without = scaling_page(benchmarks_from_records([INGEST, CLUSTERING, LABELS, DASK, SHARDS, NO_GPU]))
    assert "labels_dask_memory" not in without

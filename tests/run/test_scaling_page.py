"""The "Scaling to the paper" page: measured rates in, projections out, each figure marked."""

from vise_lib.run.book_pages import scaling_page


def _bench(name, **values):
    return {"name": name, "line": f"BENCH {name}", "values": values}


def test_projections_follow_the_measured_rates_and_say_what_they_are():
    benches = [
        _bench("ingest", posts_per_s=50_000),
        _bench("clustering", seconds=10.0),
        _bench("labels_ooc", posts=4_000_000, phi_posts_per_s=10_000, posts_per_s=5_000),
        _bench("shards", decode_img_s_per_core=1225.0, loader_img_s=100.0, ratio=0.95),
        _bench("gpu", skipped="no_cuda"),
    ]
    page = scaling_page(benches)
    rows = [line for line in page.splitlines() if line.startswith("| ")]
    assert "| ingest: manifest rows validated (one process) | 50,000.0 | posts/s | measured |" in rows
    assert any("at 224 px" in r and "100.0 | img/s per core | projected" in r for r in rows)  # 1225 * (64/224)^2
    assert any("loader cores per GPU" in r and "| 30 cores | projected" in r for r in rows)  # 3000 / 100
    assert "scales with pixel count" in page
    # with the worker's whole job measured at 224 px, that rate is used, marked measured
    shards = _bench("shards", decode_img_s_per_core=1225.0, loader_img_s=100.0, worker_img_s_per_core_224=600.0)
    page224 = scaling_page([*benches[:3], shards, benches[-1]])
    assert (
        "whole job at 224 px (read, decode, crop + flip + normalize), one core | 600.0 | img/s per core | measured"
        in page224
    )
    assert "| 5 cores | projected" in page224 and "scales with pixel count" not in page224  # 3000 / 600
    assert any("k-means" in r and "250M" in r and "41.7 min | projected" in r for r in rows)  # 10 s * 250
    assert any("one GPU at 3,000 img/s | 28.9 days | projected" in r for r in rows)  # 250M * 30 / 3000
    assert "have not run on a GPU yet" in page and "stated (goal on one H200" in page
    assert all(r.rstrip(" |").split("| ")[-1].split()[0] in ("measured", "stated", "projected", "kind") for r in rows)
    measured = scaling_page(benches[:-1] + [_bench("gpu", model_img_s=6000.0, device="H200")])
    assert "one GPU at 6,000 img/s | 14.5 days | projected" in measured and "measured (H200)" in measured
    assert "not run on a GPU" not in measured


def test_missing_benchmarks_are_named_not_invented():
    page = scaling_page([])
    assert "Not measured yet: `benchmarks/ingest.py`, `benchmarks/labels_ooc.py`" in page
    assert "ingest (manifest" not in page and "loader cores" not in page

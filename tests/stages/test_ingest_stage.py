"""run_ingest: real posts in place of the world as one library call, its results file typed."""

import json

import numpy as np
import pytest
from PIL import Image

from vise_lib.engagement.real_posts import plot_posts, report_tables
from vise_lib.stages.ingest import IngestResult, run_ingest


def test_run_ingest_writes_the_posts_and_its_typed_results(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "images"
    root.mkdir()
    words = ["cute", "sad", "wow", "lol"]
    rows = []
    for i in range(10):
        Image.fromarray(rng.integers(0, 256, (20, 20, 3), dtype=np.uint8)).save(root / f"{i}.png")
        rows.append({"post_id": f"p{i}", "image": f"{i}.png", "comments": [words[i % 4]], "reactions": {"like": i + 1}})
    rows.append({"post_id": "gone", "image": "missing.png", "comments": [], "reactions": {"like": 1}})
    manifest = tmp_path / "posts.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    run = tmp_path / "run"
    cfg = {"manifest": str(manifest), "data_root": str(root), "image_size": 16, "shard_size": 4}
    result = run_ingest(cfg, run, echo=lambda *_: None)
    assert result.n_posts == 10 and result.pushshift is None
    assert result.ingest["kept"] == 10 and result.ingest["skipped"] == {"image file missing": 1}
    assert np.load(run / IngestResult.POSTS / "images.npy").shape == (10, 16, 16, 3)
    on_disk = json.loads((run / IngestResult.FILE).read_text())
    assert on_disk == result.to_json() and sorted(on_disk) == ["ingest", "n_posts", "pushshift"]
    assert IngestResult.read(run) == result
    (table,) = report_tables(result.ingest, result.pushshift)
    assert table.loc["kept", "posts"] == 10 and table.loc["skipped: image file missing", "posts"] == 1
    assert len(plot_posts(run / IngestResult.POSTS, n=8).axes) == 8


def test_read_names_the_missing_file_and_the_stage(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"ingest/results\.json is missing: run the stage 10_ingest"):
        IngestResult.read(tmp_path)

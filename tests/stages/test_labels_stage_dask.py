"""run_labels with ``engine: dask``: the out-of-core labels in the layout the pretraining stage reads."""

import shutil

import numpy as np
import pytest

from vise_lib.engagement.reader import ManifestReader
from vise_lib.labels.config import LabelsConfig
from vise_lib.labels.out_of_core import pseudo_labels_out_of_core
from vise_lib.pretrain.variants import training_set
from vise_lib.stages.labels import LabelsResult, run_labels

DASK = {"n_clusters": 4, "svd_dim": 8, "extra_signals": [], "engine": "dask", "sync": True}
DASK |= {"fit_posts": 100, "kmeans_posts": 80, "chunk_rows": 50}


def test_the_dask_engine_writes_labels_the_pretraining_stage_reads(tiny_run, tmp_path):
    src, _, _ = tiny_run
    run = tmp_path / "run"
    shutil.copytree(src / "world", run / "world")
    said = []
    result = run_labels(DASK, run, echo=said.append)
    assert result.pseudo_labels is None and result.schedule["engine"] == "dask"
    assert result.n_posts == 160 and sum(result.sizes) == 160 and result.schedule["n_partitions"] == 4
    assert set(result.agreement) == {"affect", "stance", "object"} and list(result.label_sets) == ["both"]
    assert LabelsResult.read(run) == result and any("[assign] 4/4 tasks" in s for s in said)
    ooc = pseudo_labels_out_of_core(
        ManifestReader(run / "world" / "posts" / "manifest.jsonl", chunk_rows=64), tmp_path / "ooc", "both", 4, 8,
        0, 100, 80,
    )  # fmt: skip
    assert ooc["cluster_sizes"] == result.sizes
    with np.load(run / "labels" / "labels.npz") as z, np.load(tmp_path / "ooc" / "labels.npz") as ref:
        assert dict(zip(z["post_id"].tolist(), z["label"].tolist(), strict=True)) == dict(
            zip(ref["post_id"].tolist(), ref["label"].tolist(), strict=True)
        )
    ts = training_set("vise", run / "world", run / "labels")
    assert ts.objective == "classify" and len(ts.label_sets[0]) == 160


def test_the_dask_engine_builds_the_primary_label_set_only():
    with pytest.raises(ValueError, match="extra_signals: \\[\\] and pca_dim: null"):
        LabelsConfig(engine="dask")
    with pytest.raises(ValueError, match="labels.engine must be one of"):
        LabelsConfig(engine="spark")
    assert "engine" not in LabelsConfig().build_params() and LabelsConfig().engine == "memory"

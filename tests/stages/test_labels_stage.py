"""run_labels: the pseudo-label stage as one library call, its results file typed and read back."""

import json
import shutil

import numpy as np
import pytest
from conftest import TINY_LABELS

from vise_lib.labels.diagnostics import agreement_table
from vise_lib.labels.pseudo_labels import cluster_table, load_labels
from vise_lib.stages.labels import LabelsResult, run_labels, world_latents
from vise_lib.world.latents import AFFECTS


def test_run_labels_writes_the_labels_and_their_typed_results(tiny_run):
    run, _, labels = tiny_run
    assert labels.n_clusters == TINY_LABELS["n_clusters"] and labels.signal == "both"
    assert labels.n_posts == 160 and sum(labels.sizes) == 160 and len(labels.sizes) == 4
    assert list(labels.label_sets) == ["both", "reactions"]  # build order, though the file sorts its keys
    assert labels.agreement == labels.label_sets["both"]["agreement"]
    assert set(labels.agreement) == {"affect", "stance", "object"}
    saved = load_labels(run / "labels")
    assert {"label", "label_both", "label_reactions"} <= set(saved)
    assert np.array_equal(saved["label"], labels.pseudo_labels.labels)
    on_disk = json.loads((run / LabelsResult.FILE).read_text())
    assert on_disk == labels.to_json() and "pseudo_labels" not in on_disk
    again = LabelsResult.read(run)
    assert again == labels and again.pseudo_labels is None


def test_cluster_and_agreement_tables(tiny_run):
    run, _, labels = tiny_run
    clusters = cluster_table(labels.pseudo_labels, world_latents(run))
    assert list(clusters["size"]) == labels.sizes
    assert set(clusters["majority affect"]) <= {*AFFECTS, "-"} and "top terms" in clusters
    table = agreement_table(labels.label_sets, ["both", "reactions"])
    assert list(table.index.get_level_values("label set")) == ["both"] * 3 + ["reactions"] * 3
    assert list(table.index.get_level_values("latent"))[:3] == ["affect", "stance", "object"]


def test_real_posts_have_no_latent_diagnostics(tiny_run, tmp_path):
    run, _, _ = tiny_run
    (tmp_path / "world" / "posts").mkdir(parents=True)
    for name in ("manifest.jsonl", "images.npy"):  # the layout 10_ingest writes: no latents.npz
        shutil.copy(run / "world" / "posts" / name, tmp_path / "world" / "posts" / name)
    assert world_latents(tmp_path) is None
    labels = run_labels(TINY_LABELS, tmp_path, echo=lambda *_: None)
    assert labels.agreement == {} and all(s["agreement"] == {} for s in labels.label_sets.values())
    assert agreement_table(labels.label_sets).empty
    assert set(cluster_table(labels.pseudo_labels, None)["majority affect"]) == {"-"}


def test_read_names_the_missing_file_and_the_stage(tmp_path):
    with pytest.raises(
        FileNotFoundError, match=r"labels/results\.json is missing: run the stage 01_engagement_to_labels"
    ):
        LabelsResult.read(tmp_path)

"""The Dask labels pass gives every post the label the single-process pass gives it, at any
worker count and input order; reruns skip finished work; failures name their partition."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from vise_lib.engagement.partitions import read_partition, write_partition
from vise_lib.engagement.reader import ManifestReader, read_manifest
from vise_lib.labels.dask_labels import LabelsParams, TaskFailures, dask_client, labels_on_dask
from vise_lib.labels.out_of_core import pseudo_labels_out_of_core
from vise_lib.world.generate import WorldConfig, generate_world

PARAMS = LabelsParams(n_clusters=8, svd_dim=16, seed=3, fit_posts=900, kmeans_posts=700, chunk_rows=400)
QUIET = {"echo": lambda msg: None}


def labels_by_id(folder: Path) -> dict[str, int]:
    with np.load(folder / "labels.npz") as z:
        return dict(zip(z["post_id"].tolist(), z["label"].tolist(), strict=True))


@pytest.fixture(scope="module")
def posts(tmp_path_factory):
    """3000 world posts; the single-process labels of the manifest; the posts shuffled into 4 files."""
    root = tmp_path_factory.mktemp("dask")
    cfg = WorldConfig(seed=1, n_posts=3000, image_px=16, n_train=10, n_val=10, n_test=10)
    manifest = generate_world(cfg, root / "world") / "posts" / "manifest.jsonl"
    p = PARAMS
    pseudo_labels_out_of_core(
        ManifestReader(manifest, chunk_rows=512), root / "single", p.signal, p.n_clusters, p.svd_dim, p.seed,
        p.fit_posts, p.kmeans_posts, backend=p.backend,
    )  # fmt: skip
    lines = manifest.read_text().splitlines()
    files = []
    for i, part in enumerate(np.array_split(np.random.default_rng(0).permutation(len(lines)), 4)):
        files.append(root / f"posts-{i}.jsonl")
        files[-1].write_text("".join(lines[j] + "\n" for j in part))
    return {"single": labels_by_id(root / "single"), "files": files, "root": root}


def test_partitions_round_trip_every_column(tmp_path):
    rows = [
        {"post_id": "a", "image": "x/a.jpg", "comments": ["hi", "yo"], "reactions": {"like": 2}, "caption": "cap"},
        {"post_id": "b", "image": "x/b.jpg", "comments": [], "reactions": {"wow": 1}, "n_comments": 7, "shares": 3},
    ]
    path = tmp_path / "m.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    eng, _ = read_manifest(path)
    back = read_partition(write_partition(eng, tmp_path / "p.parquet"), ("angry", "like", "wow"))
    assert back.post_ids == eng.post_ids and back.images == eng.images and back.comments == eng.comments
    assert back.captions == eng.captions and back.n_comments.tolist() == eng.n_comments.tolist()
    assert back.reactions.tolist() == [[0, 2, 0], [0, 0, 1]] and back.shares.tolist() == [0, 3]


def test_sync_mode_equals_the_single_process_pass_with_the_files_shuffled(posts, tmp_path):
    import zstandard

    files = list(posts["files"])
    zst = tmp_path / "posts-2.jsonl.zst"  # a compressed dump is one ingest task like any file
    zst.write_bytes(zstandard.ZstdCompressor().compress(files[2].read_bytes()))
    files[2] = zst
    s = labels_on_dask([files[i] for i in (2, 0, 3, 1)], tmp_path / "a", PARAMS, **QUIET)
    assert s["n_posts"] == 3000 and s["n_files"] == 4 and s["n_partitions"] == 8
    assert s["fit_posts"] == 900 and s["kmeans_posts"] == 700
    got = labels_by_id(tmp_path / "a")
    assert got == posts["single"] and len(set(got.values())) == 8
    assert np.load(tmp_path / "a" / "pseudo.npy").tolist() == list(got.values())


def test_a_reaction_first_named_late_in_a_file_gives_the_single_process_labels(posts, tmp_path):
    """Each partition keeps its own reaction columns (ingest reads a file once, with no first pass
    for the names): a reaction that first appears in a file's second partition still lines up."""
    files = []
    for i, src in enumerate(posts["files"]):
        rows = [json.loads(line) for line in src.read_text().splitlines()]
        if i == 1:
            for j, r in enumerate(rows[500:], 500):  # past the first partition (chunk_rows 400)
                r["reactions"] = dict(r.get("reactions") or {}, care=j % 7)
        files.append(tmp_path / src.name)
        files[-1].write_text("".join(json.dumps(r) + "\n" for r in rows))
    manifest = tmp_path / "all.jsonl"
    manifest.write_text("".join(f.read_text() for f in files))
    p = PARAMS
    pseudo_labels_out_of_core(
        ManifestReader(manifest, chunk_rows=512), tmp_path / "single", p.signal, p.n_clusters, p.svd_dim, p.seed,
        p.fit_posts, p.kmeans_posts, backend=p.backend,
    )  # fmt: skip
    s = labels_on_dask(files[::-1], tmp_path / "dask", PARAMS, **QUIET)
    assert "care" in s["reaction_names"]
    first = sorted((tmp_path / "dask" / "parts").glob("posts-1-*.parquet"))[0]
    assert "care" not in read_partition(first).reaction_names  # the partition's own columns only
    assert labels_by_id(tmp_path / "dask") == labels_by_id(tmp_path / "single")


def test_a_run_stopped_half_way_reruns_to_the_same_labels_skipping_finished_partitions(posts, tmp_path):
    out = tmp_path / "run"
    labels_on_dask(posts["files"], out, PARAMS, **QUIET)
    # what a run stopped during the assign phase leaves: some partitions' labels, a stale temp file, no outputs
    done = sorted((out / "labels").glob("*.npz"))
    for f in done[::2]:
        f.unlink()
    (out / "labels" / f".{done[0].name}.999999999.x.tmp").write_bytes(b"half")
    for f in ("labels.npz", "pseudo.npy", "dask_labels.json"):
        (out / f).unlink()
    s = labels_on_dask(posts["files"], out, PARAMS, **QUIET)
    assert s["skipped_tasks"] == {"ingest": 4, "fit": 1, "assign": len(done) - len(done[::2])}
    assert labels_by_id(out) == posts["single"]
    assert not list((out / "labels").glob(".*tmp"))  # the atomic writer swept the dead writer's temp


def test_a_changed_input_file_is_ingested_and_labelled_again(posts, tmp_path):
    files = [tmp_path / f.name for f in posts["files"]]
    for src, dst in zip(posts["files"], files, strict=True):
        dst.write_text(src.read_text())
    labels_on_dask(files, tmp_path / "run", PARAMS, **QUIET)
    lines = files[1].read_text().splitlines(keepends=True)
    files[1].write_text("".join(lines[: len(lines) // 2]))  # half its posts are gone
    again = labels_on_dask(files, tmp_path / "run", PARAMS, **QUIET)
    fresh = labels_on_dask(files, tmp_path / "fresh", PARAMS, **QUIET)
    assert again["skipped_tasks"] == {"ingest": 3, "fit": 0, "assign": 0}  # a new sample: a new fit
    assert again["n_posts"] == fresh["n_posts"] < 3000
    assert labels_by_id(tmp_path / "run") == labels_by_id(tmp_path / "fresh")


def test_a_corrupt_partition_is_an_error_naming_it(posts, tmp_path):
    out = tmp_path / "run"
    labels_on_dask(posts["files"][:2], out, PARAMS, **QUIET)
    part = sorted((out / "parts").glob("*.parquet"))[1]
    part.write_bytes(b"PAR1 not really parquet")
    (out / "labels" / (part.stem + ".npz")).unlink()
    with pytest.raises(TaskFailures, match=rf"(?s)assign: 1 task\(s\) failed.*{part.stem}: PartitionError: {part}"):
        labels_on_dask(posts["files"][:2], out, PARAMS, retries=1, **QUIET)
    fit = out / "fit" / "centroids.npy"
    fit.write_bytes(fit.read_bytes()[:-4] + b"\0\0\0\0")
    with pytest.raises(TaskFailures, match="centroids.npy: missing or its SHA-256 differs"):
        labels_on_dask(posts["files"][:2], out, PARAMS, retries=0, **QUIET)


def test_a_post_id_in_two_files_is_an_error_naming_it_and_the_files(posts, tmp_path):
    first = posts["files"][0].read_text().splitlines()[0]
    extra = tmp_path / "extra.jsonl"
    extra.write_text(first + "\n")
    pid = json.loads(first)["post_id"]
    with pytest.raises(
        ValueError, match=rf"1 post id\(s\) appear in more than one input file: '{pid}' in .*posts-0.*extra"
    ):
        labels_on_dask([posts["files"][0], extra], tmp_path / "run", PARAMS, **QUIET)


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2, 4])
def test_dask_workers_give_the_single_process_labels(posts, tmp_path, workers):
    files = list(posts["files"])
    np.random.default_rng(workers).shuffle(files)
    with dask_client(workers=workers, echo=lambda m: None) as client:
        assert len(client.scheduler_info(n_workers=-1)["workers"]) == workers
        s = labels_on_dask(files, tmp_path / "run", PARAMS, client, **QUIET)
    assert s["n_posts"] == 3000
    assert labels_by_id(tmp_path / "run") == posts["single"]


@pytest.mark.slow
def test_a_running_cluster_is_reached_by_its_address_and_by_its_scheduler_file(posts, tmp_path):
    """What ``--scheduler`` and ``--scheduler-file`` do: connect to a cluster someone else started
    (here a LocalCluster of worker processes that writes a scheduler file, as dask-jobqueue's do)."""
    from distributed import LocalCluster

    sched_file = tmp_path / "scheduler.json"
    with LocalCluster(
        n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
        scheduler_kwargs={"scheduler_file": str(sched_file)},
    ) as cluster:  # fmt: skip
        lines: list[str] = []
        with dask_client(scheduler=cluster.scheduler_address, echo=lines.append) as client:
            s = labels_on_dask(posts["files"], tmp_path / "by_address", PARAMS, client, **QUIET)
        assert lines[0] == f"Dask scheduler {cluster.scheduler_address}: 2 worker(s)"
        with dask_client(scheduler_file=str(sched_file), echo=lambda m: None) as client:
            labels_on_dask(posts["files"], tmp_path / "by_file", PARAMS, client, **QUIET)
        assert len(cluster.scheduler_info["workers"]) == 2  # the cluster outlives its clients
    assert s["n_posts"] == 3000
    assert labels_by_id(tmp_path / "by_address") == labels_by_id(tmp_path / "by_file") == posts["single"]


class KillOnce:
    """A worker plugin: the first worker to start an ``assign`` task dies on the spot (os._exit)."""

    name = "kill-once"

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def setup(self, worker) -> None:
        self.worker = worker

    def transition(self, key, start, finish, **kwargs) -> None:
        if finish == "executing" and "vise-assign-" in str(key):
            try:
                fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                return
            os.write(fd, str(key).encode())
            os.close(fd)
            os._exit(1)


@pytest.mark.slow
def test_a_worker_killed_mid_task_still_gives_the_same_labels(posts, tmp_path):
    import cloudpickle
    from distributed import WorkerPlugin

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    plugin = type("KillOncePlugin", (KillOnce, WorkerPlugin), {})(str(tmp_path / "killed"))
    with dask_client(workers=2, echo=lambda m: None) as client:
        client.register_plugin(plugin)
        s = labels_on_dask(posts["files"], tmp_path / "run", PARAMS, client, **QUIET)
    assert (tmp_path / "killed").read_text().startswith("vise-assign-")  # a worker did die in an assign task
    assert s["n_posts"] == 3000 and labels_by_id(tmp_path / "run") == posts["single"]


def test_vise_labels_sync_and_single_process_agree(posts, tmp_path, capsys):
    from vise_lib.run.cli import main as vise_main

    manifest = posts["root"] / "world" / "posts" / "manifest.jsonl"
    p = PARAMS
    args = ["--n-clusters", str(p.n_clusters), "--svd-dim", str(p.svd_dim), "--seed", str(p.seed)]
    args += ["--fit-posts", str(p.fit_posts), "--kmeans-posts", str(p.kmeans_posts), "--chunk-rows", "700"]
    files = [a for f in posts["files"] for a in ("--manifest", str(f))]
    assert vise_main(["labels", *files, "--out", str(tmp_path / "d"), *args, "--sync"]) == 0
    out = capsys.readouterr().out
    assert "[assign] 8/8 tasks" in out and "3000 posts in 8 partitions -> 8 clusters" in out
    assert "synchronous mode" in out and out.count("of 750 rows kept") == 4
    single = ["labels", "--manifest", str(manifest), "--out", str(tmp_path / "s"), *args, "--single-process"]
    assert vise_main(single) == 0
    assert labels_by_id(tmp_path / "d") == labels_by_id(tmp_path / "s") == posts["single"]
    assert vise_main(["labels", *files, "--out", str(tmp_path / "x"), *args, "--single-process"]) == 2
    assert "--single-process reads one manifest, got 4" in capsys.readouterr().err

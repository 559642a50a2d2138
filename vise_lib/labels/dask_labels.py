"""engagement -> pseudo labels as per-partition tasks on ``dask.distributed``: the same labels at any worker count.

The single-process out-of-core pass (:mod:`vise_lib.labels.out_of_core`) split into tasks, in
four phases, each a set of independent tasks whose outputs are files under ``out_dir``:

1. **ingest**, one task per input file (a ``.jsonl.zst`` is one task: a zstd stream cannot be
   split): the manifest reader validates its rows (counted skips, as everywhere) and writes
   ``parts/<file>-NNNNN.parquet``, one :mod:`Parquet partition <vise_lib.engagement.partitions>`
   per ``chunk_rows`` posts, each with the reaction columns its own posts name (so the file is
   read once: no first pass to collect the names, which the single-process reader makes), and ``ingest/<file>.sample.parquet``, the file's bottom-k posts
   by the seeded hash of the post id (:mod:`vise_lib.labels.hash_sample`); its marker
   ``ingest/<file>.json`` (written last) lists the partitions, the reaction names and the read
   report. Post ids must be unique across files: a duplicate is an error naming the id and the
   files (there is no "first" file to keep, since the input order must not matter);
2. **fit**, one task: the files' samples merge into the bottom-``fit_posts`` (and
   ``kmeans_posts``) posts of the whole input, which are exactly the samples of the
   single-process pass (each file's sample is kept in key order and read only up to the whole
   input's bottom-k key, :func:`sample_rows`); φ(e) (:func:`~vise_lib.labels.out_of_core.fit_encoder`, the existing
   encoders) and k-means (:func:`~vise_lib.labels.kmeans.fit_kmeans`, sklearn or faiss) are
   fitted on them; ``fit/encoder.pkl`` and ``fit/centroids.npy`` are written once, with their
   SHA-256 in ``fit/fit.json`` (checked before every later use);
3. **assign**, one task per partition: φ(e) of its posts, nearest centroid, written atomically
   to ``labels/<partition>.npz`` (post ids, labels, image paths, image indices);
4. **gather**, in the client: the partitions' labels streamed into ``labels.npz`` and
   ``pseudo.npy`` (the files the single-process pass writes, partition by partition in
   partition-name order) and the summary ``dask_labels.json``.

A rerun with the same inputs and settings skips what is finished (a file whose marker exists, a
fit whose checksums match, a partition whose labels exist). A failed task is retried
(``retries``); a task that still fails is reported by its partition or file name with its
reason (:class:`TaskFailures`), after the phase's other tasks have finished. Because the samples
are hash samples and every task is a pure function of its partition and the fit, the labels
of a post do not depend on the worker count, the order of the input files or of their rows.

Where the tasks run: a ``LocalCluster`` of worker processes sized to the cores (one thread
each) by default, an existing cluster through a scheduler address or a scheduler file, or the
client process itself (``sync``: for debugging, no Dask scheduler at all).
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import pickle
import shutil
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vise_lib.engagement.partitions import read_partition, write_partition
from vise_lib.engagement.reader import ManifestReader
from vise_lib.io import PathArg, atomic_write, read_json, save_npy, write_json
from vise_lib.labels.hash_sample import BottomK, canonical_reactions, sample_keys
from vise_lib.labels.kmeans import assign, faiss_available, fit_kmeans
from vise_lib.labels.out_of_core import add_labels_args, fit_encoder, run_args, write_labels
from vise_lib.labels.signals import SignalEncoder
from vise_lib.labels.text import add_counts, text_issues, text_summary

PHASES = ("ingest", "fit", "assign", "gather")


@dataclass(frozen=True)
class LabelsParams:
    """The settings the labels depend on (a rerun with other settings starts afresh)."""

    signal: str = "both"
    n_clusters: int = 16
    svd_dim: int = 64
    seed: int = 0
    fit_posts: int = 200_000
    kmeans_posts: int = 200_000
    backend: str = "auto"
    encoder: str = "tfidf"
    encoder_model: str | None = None
    chunk_rows: int = 50_000
    data_root: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-ready dict."""
        return dict(self.__dict__)


class TaskFailures(RuntimeError):
    """Tasks of a phase failed after their retries; ``failures`` maps each name to its reason."""

    def __init__(self, phase: str, failures: dict[str, str]) -> None:
        self.phase, self.failures = phase, failures
        lines = "\n".join(f"  {name}: {reason}" for name, reason in sorted(failures.items()))
        super().__init__(f"{phase}: {len(failures)} task(s) failed after retries:\n{lines}")


@dataclass
class Runner:
    """Runs a phase's named tasks on a Dask client (``client``), or in this process when None."""

    client: Any = None
    retries: int = 2
    echo: Callable[[str], None] = print
    timings: dict[str, float] = field(default_factory=dict)

    def run(self, phase: str, fn: Callable, jobs: dict[str, tuple]) -> dict[str, Any]:
        """``fn(*args)`` for every ``name -> args`` of ``jobs``; the results by name. Prints a progress
        line per tenth of the tasks; raises :class:`TaskFailures` naming every task that failed."""
        t0, results, failures = time.perf_counter(), {}, {}
        step = max(1, len(jobs) // 10)
        for done, (name, outcome, ok) in enumerate(self._outcomes(phase, fn, jobs), 1):
            if ok:
                results[name] = outcome
            else:
                failures[name] = outcome
            if done % step == 0 or done == len(jobs):
                self.echo(f"[{phase}] {done}/{len(jobs)} tasks" + (f", {len(failures)} failed" if failures else ""))
        self.timings[phase] = self.timings.get(phase, 0.0) + time.perf_counter() - t0
        if failures:
            raise TaskFailures(phase, failures)
        return results

    def _outcomes(self, phase: str, fn: Callable, jobs: dict[str, tuple]) -> Iterator[tuple[str, Any, bool]]:
        if self.client is None:
            for name, args in jobs.items():
                for attempt in range(self.retries + 1):
                    try:
                        yield name, fn(*args), True
                        break
                    except Exception as e:
                        if attempt == self.retries:
                            yield name, f"{type(e).__name__}: {e}", False
            return
        from distributed import as_completed

        token = os.urandom(4).hex()
        futures = {
            self.client.submit(fn, *args, key=f"vise-{phase}-{name}-{token}", retries=self.retries, pure=False): name
            for name, args in jobs.items()
        }
        for fut in as_completed(futures):
            name = futures[fut]
            if fut.status == "finished":
                yield name, fut.result(), True
            else:
                exc = fut.exception()
                yield name, f"{type(exc).__name__}: {exc}", False


def file_tag(path: PathArg) -> str:
    """A partition-name prefix for an input file: its name and a hash of its absolute path."""
    p = Path(path)
    digest = hashlib.blake2b(str(p.resolve()).encode(), digest_size=4).hexdigest()
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in p.name.split(".")[0])[:40]
    return f"{stem}-{digest}"


def sha256(path: PathArg) -> str:
    """The SHA-256 of a file, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fingerprint(path: Path) -> dict[str, Any]:
    st = path.stat()
    return {"path": str(path.resolve()), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def ingest_file(path: str, out: str, params: LabelsParams) -> dict[str, Any]:
    """Phase 1 for one input file: validated rows -> Parquet partitions, the file's hash sample,
    and the marker ``ingest/<tag>.json`` (returned). Skipped when the marker matches the file."""
    src, root, tag = Path(path), Path(out), file_tag(path)
    marker = root / "ingest" / f"{tag}.json"
    if marker.exists():
        done = read_json(marker)
        if done["input"] == _fingerprint(src) and all((root / "parts" / p).exists() for p in done["partitions"]):
            return dict(done, skipped=True)
    for stale in (root / "labels").glob(f"{tag}-*.npz"):  # labels of this file's earlier content
        stale.unlink()
    reader = ManifestReader(src, data_root=params.data_root, chunk_rows=params.chunk_rows)
    sample: BottomK = BottomK(max(params.fit_posts, params.kmeans_posts), params.seed)
    parts, keys, n = [], [], 0
    names: tuple[str, ...] = ()
    for j, eng in enumerate(reader.own_name_chunks()):  # each partition keeps its own reaction columns
        name = f"{tag}-{j:05d}.parquet"
        write_partition(eng, root / "parts" / name)
        k = sample_keys(eng.post_ids, params.seed)
        if set(eng.reaction_names) - set(names):  # the sample's columns: every name seen so far
            names = tuple(sorted(set(names) | set(eng.reaction_names)))
            sample.map_rows(functools.partial(canonical_reactions, names=names))
        sample.add(eng.post_ids, canonical_reactions(eng, names), keys=k)
        keys.append(k)
        parts.append(name)
        n += len(eng)
    write_partition(sample.rows(), root / "ingest" / f"{tag}.sample.parquet")
    save_npy(root / "ingest" / f"{tag}.keys.npy", np.sort(np.concatenate(keys)))
    done = {
        "input": _fingerprint(src),
        "tag": tag,
        "partitions": parts,
        "n_posts": n,
        "reaction_names": list(names),
        "report": reader.report.to_dict(),
    }
    write_json(marker, done)
    return dict(done, skipped=False)


def read_summary(report: dict[str, Any]) -> str:
    """The one-line summary of a file's read report (as :meth:`ReadReport.summary` prints it)."""
    from collections import Counter

    from vise_lib.engagement.table import ReadReport

    rep = ReadReport(report["path"], report["rows"], report["kept"], Counter(report["skipped"]))
    rep.notes.update(report["notes"])
    return rep.summary()


def load_keys(out: Path, tags: Sequence[str]) -> list[np.ndarray]:
    """Each file's sorted post-id hash keys (``ingest/<tag>.keys.npy``), in the order of ``tags``."""
    return [np.load(out / "ingest" / f"{tag}.keys.npy") for tag in tags]


def check_unique_ids(out: Path, ingested: dict[str, dict], seed: int, keys: list[np.ndarray]) -> None:
    """Post ids must be unique across the input files (``keys``: :func:`load_keys` of them): an
    error names a duplicate and its files."""
    allk = np.sort(np.concatenate(keys))
    dup = np.unique(allk[1:][allk[1:] == allk[:-1]])
    if not len(dup):
        return
    where: dict[str, list[str]] = {}
    for path, d in ingested.items():
        for part in d["partitions"]:
            ids = read_partition(out / "parts" / part).post_ids
            hit = np.isin(sample_keys(ids, seed), dup)
            for i in np.flatnonzero(hit):
                where.setdefault(ids[i], []).append(path)
    examples = "; ".join(f"{pid!r} in {sorted(set(fs))}" for pid, fs in list(where.items())[:5])
    raise ValueError(f"{len(dup)} post id(s) appear in more than one input file: {examples}")


def sample_rows(keys: list[np.ndarray], n: int) -> list[int]:
    """How many rows of each file's hash sample (``ingest/<tag>.sample.parquet``, in key order) can
    be among the bottom ``n`` posts of the whole input: those whose key is at most the ``n``-th
    smallest key of all posts (``keys``: :func:`load_keys` of the files). The fit reads only
    these, so its reading does not grow with the number of files (each file keeps up to ``n``)."""
    allk = np.concatenate(keys)
    if len(allk) <= n:
        return [len(k) for k in keys]
    cut = np.partition(allk, n - 1)[n - 1]
    return [min(int(np.searchsorted(k, cut, side="right")), n) for k in keys]


def fit_task(
    samples: list[str],
    names: list[str],
    out: str,
    params: LabelsParams,
    inputs: list[dict[str, Any]],
    rows: list[int] | None = None,
) -> dict[str, Any]:
    """Phase 2: merge the files' samples (``rows``: how many of each to read, :func:`sample_rows`),
    fit φ(e) and k-means, write the artifacts with checksums.
    Skipped when ``fit/fit.json`` was made with these settings from these input files (``inputs``:
    their fingerprints) and its artifacts match their checksums."""
    fit_dir = Path(out) / "fit"
    info_path = fit_dir / "fit.json"
    if info_path.exists():
        info = read_json(info_path)
        if info["params"] == params.to_dict() and info["reaction_names"] == names and info["inputs"] == inputs:
            verify_fit(fit_dir)
            return dict(info, skipped=True)
    with all_cores():
        info = dict(_fit(samples, names, fit_dir, params, rows), inputs=inputs)
    write_json(info_path, info)
    return dict(info, skipped=False)


@contextmanager
def all_cores() -> Iterator[None]:
    """Let BLAS and faiss use every core of this machine (a Dask worker starts with one thread:
    the fit is the one task of its phase, so the other workers' cores are idle)."""
    from threadpoolctl import threadpool_limits

    cores = os.cpu_count() or 1
    if not faiss_available():
        with threadpool_limits(limits=cores):
            yield
        return
    import faiss

    before = faiss.omp_get_max_threads()
    try:
        with threadpool_limits(limits=cores):
            faiss.omp_set_num_threads(cores)
            yield
    finally:
        faiss.omp_set_num_threads(before)


def _fit(
    samples: list[str], names: list[str], fit_dir: Path, p: LabelsParams, rows: list[int] | None = None
) -> dict[str, Any]:
    merged: BottomK = BottomK(max(p.fit_posts, p.kmeans_posts), p.seed)
    counts: list[int | None] = list(rows) if rows is not None else [None] * len(samples)
    for s, n in zip(samples, counts, strict=True):
        eng = canonical_reactions(read_partition(s, names, rows=n), names)
        merged.add(eng.post_ids, eng)
    sample = merged.rows()
    n_fit, n_km = min(p.fit_posts, len(sample)), min(p.kmeans_posts, len(sample))
    enc = fit_encoder(
        sample.take(np.arange(n_fit)), p.signal, p.n_clusters, p.svd_dim, p.seed, p.encoder, p.encoder_model
    )
    km = fit_kmeans(enc.transform(sample.take(np.arange(n_km))), p.n_clusters, seed=p.seed, backend=p.backend)
    atomic_write(fit_dir / "encoder.pkl", lambda fh: pickle.dump(enc, fh, protocol=pickle.HIGHEST_PROTOCOL))
    save_npy(fit_dir / "centroids.npy", np.asarray(km["centroids"], np.float32))
    return {
        "params": p.to_dict(),
        "reaction_names": names,
        "fit_posts": n_fit,
        "kmeans_posts": n_km,
        "backend": km["backend"],
        "sha256": {f: sha256(fit_dir / f) for f in ("encoder.pkl", "centroids.npy")},
    }


def verify_fit(fit_dir: Path) -> dict[str, Any]:
    """``fit/fit.json``, after checking the artifacts' SHA-256 (an error names a file that differs)."""
    info = read_json(fit_dir / "fit.json")
    for name, digest in info["sha256"].items():
        if not (fit_dir / name).exists() or sha256(fit_dir / name) != digest:
            raise ValueError(f"{fit_dir / name}: missing or its SHA-256 differs from fit.json (corrupt fit artifact)")
    return info


_FITTED: dict[str, tuple[SignalEncoder, np.ndarray]] = {}  # per worker process: the fit, loaded once


def load_fit(fit_dir: Path) -> tuple[SignalEncoder, np.ndarray]:
    """The fitted encoder and centroids (checked once per process against their checksums)."""
    info = read_json(fit_dir / "fit.json")
    key = f"{fit_dir.resolve()}:{info['sha256']['encoder.pkl']}:{info['sha256']['centroids.npy']}"
    if key not in _FITTED:
        verify_fit(fit_dir)
        with open(fit_dir / "encoder.pkl", "rb") as fh:
            enc = pickle.load(fh)  # our own file, written by fit_task and checked against fit.json
        _FITTED.clear()
        _FITTED[key] = (enc, np.load(fit_dir / "centroids.npy"))
    return _FITTED[key]


def assign_task(part: str, names: list[str], out: str, n_clusters: int, fit_id: str) -> dict[str, Any]:
    """Phase 3 for one partition: φ(e), nearest centroid, ``labels/<partition>.npz`` (atomic).
    Skipped when that file exists and was made with the fit ``fit_id`` (the centroids' SHA-256);
    an unreadable one is an error naming it."""
    root = Path(out)
    dest = root / "labels" / (Path(part).stem + ".npz")
    if dest.exists():
        try:
            with np.load(dest) as z:
                if str(z["fit"]) == fit_id:
                    n, sizes, inertia = len(z["label"]), z["sizes"], float(z["inertia"])
                    text = json.loads(str(z["text"])) if "text" in z.files else {}
                    return {"n": n, "sizes": sizes, "inertia": inertia, "text": text, "skipped": True}
        except Exception as e:
            raise ValueError(
                f"{dest}: unreadable labels partition ({type(e).__name__}: {e}); delete it to redo"
            ) from None
    enc, centroids = load_fit(root / "fit")
    eng = canonical_reactions(read_partition(root / "parts" / part, names), names)
    labels, inertia = assign(enc.transform(eng), centroids)
    sizes = np.bincount(labels, minlength=n_clusters)
    text = text_issues(eng)  # comments, captions, posts with neither: the report line of every labels path
    arrays = {
        "post_id": np.array(eng.post_ids, dtype=str),
        "label": labels,
        "image": np.array([im or "" for im in eng.images], dtype=str),
        "image_index": eng.image_index,
        "sizes": sizes,
        "inertia": np.float64(inertia),
        "fit": np.array(fit_id),
        "text": np.array(json.dumps(text)),
    }
    atomic_write(dest, lambda fh: np.savez(fh, **arrays))
    return {"n": len(labels), "sizes": sizes, "inertia": float(inertia), "text": text, "skipped": False}


def _gather(out: Path, parts: list[str], n: int, centroids: np.ndarray) -> None:
    files = [out / "labels" / (Path(p).stem + ".npz") for p in parts]
    widths = [1, 1]
    for f in files:
        with np.load(f) as z:
            widths = [max(widths[0], z["post_id"].dtype.itemsize // 4), max(widths[1], z["image"].dtype.itemsize // 4)]

    def column(key: str) -> Iterator[np.ndarray]:
        for f in files:
            with np.load(f) as z:
                yield z[key]

    write_labels(out, n, (widths[0], widths[1]), column, centroids)


def labels_on_dask(
    inputs: Sequence[PathArg],
    out_dir: PathArg,
    params: LabelsParams,
    client: Any = None,
    retries: int = 2,
    echo: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the four phases (see the module docstring) on ``client`` (None: in this process).

    ``inputs``: manifest files (JSONL, JSONL.zst, CSV, Parquet), in any order. Writes
    ``out_dir/labels.npz``, ``pseudo.npy`` and ``dask_labels.json`` (returned: post and
    partition counts, what was skipped, cluster sizes, inertia, seconds per phase).
    """
    if not inputs:
        raise ValueError("no input files")
    paths = sorted({str(Path(p).resolve()) for p in inputs})
    for p in paths:
        if not Path(p).is_file():
            raise FileNotFoundError(f"input file not found: {p}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = out / "params.json"
    if state.exists() and read_json(state) != {"params": params.to_dict(), "inputs": paths}:
        echo(f"{out}: settings or inputs changed since the last run; starting afresh")
        for sub in ("ingest", "parts", "fit", "labels"):
            shutil.rmtree(out / sub, ignore_errors=True)
        for f in ("labels.npz", "pseudo.npy", "dask_labels.json"):
            (out / f).unlink(missing_ok=True)
    write_json(state, {"params": params.to_dict(), "inputs": paths})
    runner = Runner(client, retries, echo)
    ingested = runner.run("ingest", ingest_file, {file_tag(p): (p, str(out), params) for p in paths})
    by_path = {d["input"]["path"]: d for d in ingested.values()}
    for d in by_path.values():
        echo(read_summary(d["report"]))
    keys = load_keys(out, sorted(ingested))  # read once: the id check and the fit's sample rows
    check_unique_ids(out, by_path, params.seed, keys)
    names = sorted({n for d in ingested.values() for n in d["reaction_names"]})
    samples = [str(out / "ingest" / f"{tag}.sample.parquet") for tag in sorted(ingested)]
    rows = sample_rows(keys, max(params.fit_posts, params.kmeans_posts))
    inputs = [by_path[p]["input"] for p in sorted(by_path)]
    fit = runner.run("fit", fit_task, {"fit": (samples, names, str(out), params, inputs, rows)})["fit"]
    parts = sorted(p for d in ingested.values() for p in d["partitions"])
    fit_id = fit["sha256"]["centroids.npy"]
    jobs = {Path(p).stem: (p, names, str(out), params.n_clusters, fit_id) for p in parts}
    done = runner.run("assign", assign_task, jobs)
    t0 = time.perf_counter()
    n = sum(r["n"] for r in done.values())
    _gather(out, parts, n, np.load(out / "fit" / "centroids.npy"))
    runner.timings["gather"] = time.perf_counter() - t0
    skipped_rows: dict[str, int] = {}
    for d in ingested.values():
        for reason, count in d["report"]["skipped"].items():
            skipped_rows[reason] = skipped_rows.get(reason, 0) + count
    text: dict[str, int] = {}
    for r in done.values():
        text = add_counts(text, r.get("text", {}))
    summary = {
        "n_posts": n,
        "n_files": len(paths),
        "n_partitions": len(parts),
        "n_clusters": params.n_clusters,
        "fit_posts": fit["fit_posts"],
        "kmeans_posts": fit["kmeans_posts"],
        "backend": fit["backend"],
        "reaction_names": names,
        "inertia": float(sum(r["inertia"] for r in done.values())),
        "cluster_sizes": np.sum([r["sizes"] for r in done.values()], axis=0).tolist(),
        "skipped_rows": skipped_rows,
        "text": text,
        "skipped_tasks": {
            "ingest": sum(bool(d["skipped"]) for d in ingested.values()),
            "fit": int(bool(fit["skipped"])),
            "assign": sum(bool(r["skipped"]) for r in done.values()),
        },
        "seconds": {k: round(v, 3) for k, v in runner.timings.items()},
    }
    write_json(out / "dask_labels.json", summary)
    return summary


@contextmanager
def dask_client(
    workers: int | None = None,
    scheduler: str | None = None,
    scheduler_file: str | None = None,
    sync: bool = False,
    echo: Callable[[str], None] = print,
) -> Iterator[Any]:
    """A Dask client: none with ``sync``; a cluster's through ``scheduler`` (address) or
    ``scheduler_file``; else a ``LocalCluster`` of ``workers`` processes (default: the cores),
    one thread each. Prints where the tasks run and the dashboard address when there is one."""
    if sync:
        echo("running the tasks in this process (synchronous mode)")
        yield None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ValueError(
            "the labels pass on Dask needs dask.distributed: pip install '.[scale]' (or run with --sync "
            "or --single-process, which need no Dask)"
        ) from None
    if scheduler or scheduler_file:
        client = (
            Client(scheduler, scheduler_file=scheduler_file) if scheduler else Client(scheduler_file=scheduler_file)
        )
        cluster = None
    else:
        try:
            import bokeh  # noqa: F401  # the dashboard needs it

            dashboard: str | None = "127.0.0.1:0"
        except ImportError:
            dashboard = None
        n = workers or os.cpu_count() or 1
        cluster = LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=dashboard, host="127.0.0.1"
        )
        client = Client(cluster)
    try:
        n_workers = len(client.scheduler_info(n_workers=-1)["workers"])
        echo(f"Dask scheduler {client.scheduler_info()['address']}: {n_workers} worker(s)")
        if "dashboard" in client.scheduler_info(n_workers=0).get("services", {}):
            echo(f"Dask dashboard: {client.dashboard_link}")
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def main(argv: list[str] | None = None) -> int:
    """``vise labels --manifest A.jsonl [--manifest B.jsonl.zst ...] --out DIR [--workers N |
    --scheduler ADDR | --scheduler-file F | --sync | --single-process]``."""
    p = argparse.ArgumentParser(
        prog="vise labels",
        description="manifest files -> φ(e) -> k-means -> pseudo labels, as per-partition Dask tasks",
    )
    p.add_argument(
        "--manifest", "--input", dest="inputs", action="append", required=True, help="a manifest file (repeat: several)"
    )
    add_labels_args(p)
    add_cluster_args(p)
    p.add_argument(
        "--single-process", action="store_true", help="the out-of-core pass in this process (one manifest; same labels)"
    )
    a = p.parse_args(argv)
    if a.single_process:
        if len(a.inputs) != 1:
            raise ValueError(f"--single-process reads one manifest, got {len(a.inputs)}")
        return run_args(a.inputs[0], a)
    params = LabelsParams(
        a.signal, a.n_clusters, a.svd_dim, a.seed, a.fit_posts, a.kmeans_posts, a.backend, a.encoder,
        a.encoder_model, a.chunk_rows, a.data_root,
    )  # fmt: skip
    with dask_client(a.workers, a.scheduler, a.scheduler_file, a.sync) as client:
        s = labels_on_dask(a.inputs, a.out, params, client, retries=a.retries)
    print(text_summary(s["text"]))
    print(
        f"{s['n_posts']} posts in {s['n_partitions']} partitions -> {s['n_clusters']} clusters; "
        f"wrote {a.out}/pseudo.npy and labels.npz"
    )
    return 0


def add_cluster_args(p: argparse.ArgumentParser) -> None:
    """The flags that say where the tasks run."""
    g = p.add_argument_group("where the tasks run (default: a LocalCluster, one worker process per core)")
    g.add_argument("--workers", type=int, default=None, help="LocalCluster worker processes (default: the cores)")
    g.add_argument("--scheduler", default=None, help="address of a running Dask scheduler (tcp://host:8786)")
    g.add_argument("--scheduler-file", default=None, help="a Dask scheduler file (dask-jobqueue, dask-mpi)")
    g.add_argument("--sync", action="store_true", help="run every task in this process (debugging)")
    g.add_argument("--retries", type=int, default=2, help="retries of a failed task before it is reported")


if __name__ == "__main__":
    from vise_lib.tools import tool_main

    sys.exit(tool_main("labels"))

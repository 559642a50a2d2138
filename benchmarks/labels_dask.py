"""Benchmark: the labels pass on Dask with 1 and 2 workers vs the single-process out-of-core pass.

The same synthetic posts (``benchmarks/ingest.py``'s generator: JSONL, 0-6 short comments, six
reaction counts, shares) are labelled three ways, side by side in one run, each in its own
subprocess (so each peak memory is its own):

* ``single``: :func:`vise_lib.labels.out_of_core.pseudo_labels_out_of_core` on the whole
  manifest (``vise labels --single-process``), phases timed as in ``benchmarks/labels_ooc.py``;
* ``dask1`` and ``dask2``: :func:`vise_lib.labels.dask_labels.labels_on_dask` on the same posts
  split into ``FILES`` files (one ingest task per file), on a ``LocalCluster`` of 1 and 2 worker
  processes (one thread each). Cluster start-up is timed apart and left out of posts/s.

Settings as ``labels_ooc``: φ(e) = ``both`` (TF-IDF + SVD to 64 dims), K = 256, hash samples of
200,000 posts for φ(e) and k-means (5 % of 4M posts; below 4M the samples keep that share, at
least 20 posts a cluster, so that a small run has the large one's balance between the one fit
task and the per-partition work), 50,000 posts per chunk / partition. The three runs' labels are
compared per post id (``identical=1`` when every post has the same label in all three).

Goal (issue 25): ``speedup_2w`` >= 1.6 on 4M posts on an idle 2-core machine. Sizes can be lowered:
``python benchmarks/labels_dask.py 400000``. Ends with exactly one line::

    BENCH labels_dask posts=<n> files=<files> single_posts_per_s=... dask1_posts_per_s=...
          dask2_posts_per_s=... speedup_1w=... speedup_2w=... per_worker_posts_per_s=<dask1's
          ingest + assign rate> fit_s=<dask1's fit task> gather_s_per_m=<client gather per 1M posts>
          dask2_<phase>_s=... single_peak_mb=... worker_peak_mb=<max over dask2's workers> ...
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest import make_manifest

LARGE, FILES, K, DIM, CHUNK, SAMPLE = 4_000_000, 8, 256, 64, 50_000, 200_000


def peak_mb() -> float:
    """This process's peak resident memory, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sample_size(n: int) -> int:
    """The φ(e) and k-means sample for ``n`` posts: SAMPLE at 4M, the same share below."""
    return min(SAMPLE, max(n // 20, 20 * K))


def run_single(manifest: Path, out: Path, n: int) -> dict:
    from vise_lib.engagement.reader import ManifestReader
    from vise_lib.labels import out_of_core

    marks = {}
    encode, fit = out_of_core.transform_chunks, out_of_core.fit_kmeans

    def timed_encode(*a, **kw):  # the start of the φ pass (after the sample pass and the φ fit)
        marks["phi"] = time.perf_counter()
        return encode(*a, **kw)

    def timed_fit(*a, **kw):  # the end of the φ pass, the start of k-means + assignment
        marks["kmeans"] = time.perf_counter()
        return fit(*a, **kw)

    out_of_core.transform_chunks, out_of_core.fit_kmeans = timed_encode, timed_fit
    t0 = time.perf_counter()
    s = out_of_core.pseudo_labels_out_of_core(
        ManifestReader(manifest, chunk_rows=CHUNK), out, "both", K, DIM, 0, sample_size(n), sample_size(n)
    )
    end = time.perf_counter()
    phases = {
        "sample_fit": marks["phi"] - t0,
        "phi": marks["kmeans"] - marks["phi"],
        "kmeans_assign": end - marks["kmeans"],
    }
    return {"posts": s["n_posts"], "seconds": end - t0, "phases": phases, "peak_mb": peak_mb()}


def run_dask(files: list[Path], out: Path, workers: int, n: int, sample: int | None = None) -> dict:
    """The Dask pass on ``files`` with ``workers`` workers (``sample``: the φ(e) and k-means sample,
    default :func:`sample_size`); seconds, per-phase seconds and peak memory of each process."""
    from vise_lib.labels.dask_labels import LabelsParams, dask_client, labels_on_dask

    k = sample or sample_size(n)
    params = LabelsParams("both", K, DIM, 0, k, k, chunk_rows=CHUNK)
    t0 = time.perf_counter()
    with dask_client(workers=workers, echo=lambda m: None) as client:
        started = time.perf_counter()
        s = labels_on_dask(files, out, params, client, echo=lambda m: None)
        end = time.perf_counter()
        peaks = client.run(peak_mb)
    return {
        "posts": s["n_posts"],
        "seconds": end - started,
        "startup_s": started - t0,
        "phases": s["seconds"],
        "worker_peak_mb": sorted(peaks.values()),
        "client_peak_mb": peak_mb(),
    }


def split_manifest(manifest: Path, n: int, root: Path) -> list[Path]:
    """``manifest``'s ``n`` lines split into ``FILES`` files ``root/part-<i>.jsonl``, in order."""
    lines = manifest.read_text(encoding="utf-8").splitlines(keepends=True)
    files = []
    for i in range(FILES):
        files.append(root / f"part-{i}.jsonl")
        files[-1].write_text("".join(lines[i * n // FILES : (i + 1) * n // FILES]), encoding="utf-8")
    return files


def labels_by_post(folder: Path):
    import numpy as np

    with np.load(folder / "labels.npz") as z:
        order = np.argsort(z["post_id"])
        return z["post_id"][order], z["label"][order]


def main(argv: list[str]) -> None:
    if argv[:1] == ["--one"]:
        kind, n, out, inputs = argv[1], int(argv[2]), Path(argv[3]), [Path(p) for p in argv[4:]]
        r = run_single(inputs[0], out, n) if kind == "single" else run_dask(inputs, out, int(kind[4:]), n)
        print(json.dumps(r))
        return
    n = int(argv[0]) if argv else LARGE
    with tempfile.TemporaryDirectory(prefix="vise-bench-dask-") as tmp:
        root = Path(tmp)
        manifest = root / "manifest.jsonl"
        make_manifest(manifest, n)
        files = split_manifest(manifest, n, root)
        runs, labels = {}, {}
        for kind in ("single", "dask1", "dask2"):
            inputs = [manifest] if kind == "single" else files
            cmd = [sys.executable, __file__, "--one", kind, str(n), str(root / kind), *map(str, inputs)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                sys.exit(f"labels_dask {kind} at {n} posts failed:\n{proc.stderr[-3000:]}")
            runs[kind] = r = json.loads(proc.stdout.strip().splitlines()[-1])
            labels[kind] = labels_by_post(root / kind)
            phases = ", ".join(f"{k} {v:.1f} s" for k, v in r["phases"].items())
            mem = f"peak {r['peak_mb']:.0f} MB" if kind == "single" else f"worker peaks {r['worker_peak_mb']} MB"
            start = f", cluster start {r['startup_s']:.1f} s" if "startup_s" in r else ""
            print(
                f"  {kind:>6}: {r['seconds']:7.1f} s ({n / r['seconds']:8.0f} posts/s{start}); {phases}; {mem}",
                flush=True,
            )
    ids, ref = labels["single"]
    identical = all((labels[k][0] == ids).all() and (labels[k][1] == ref).all() for k in ("dask1", "dask2"))
    rate = {k: n / r["seconds"] for k, r in runs.items()}
    d1, d2 = runs["dask1"], runs["dask2"]
    # one worker's rate on the per-partition work (ingest + assign), and the serial parts: the fit
    # (one task, on a sample of fixed size) and the gather (in the client, linear in posts)
    per_worker = n / (d1["phases"]["ingest"] + d1["phases"]["assign"])
    print(
        f"BENCH labels_dask posts={n} files={FILES} single_posts_per_s={rate['single']:.0f} "
        f"dask1_posts_per_s={rate['dask1']:.0f} dask2_posts_per_s={rate['dask2']:.0f} "
        f"speedup_1w={rate['dask1'] / rate['single']:.3f} speedup_2w={rate['dask2'] / rate['single']:.3f} "
        f"per_worker_posts_per_s={per_worker:.0f} fit_s={d1['phases']['fit']:.1f} "
        f"gather_s_per_m={d1['phases']['gather'] / n * 1e6:.2f} sample={sample_size(n)} "
        + " ".join(f"dask2_{k}_s={v:.1f}" for k, v in d2["phases"].items())
        + " "
        + " ".join(f"single_{k}_s={v:.1f}" for k, v in runs["single"]["phases"].items())
        + f" single_peak_mb={runs['single']['peak_mb']:.0f} worker_peak_mb={max(d2['worker_peak_mb']):.0f} "
        f"dask1_worker_peak_mb={max(runs['dask1']['worker_peak_mb']):.0f} "
        f"client_peak_mb={d2['client_peak_mb']:.0f} startup_s={d2['startup_s']:.1f} identical={int(identical)}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])

"""Benchmark: peak memory of a Dask labels worker at 400k and at 4M posts — does it stay flat?

The labels pass on Dask (:func:`vise_lib.labels.dask_labels.labels_on_dask`, 2 worker processes,
one thread each) on ``benchmarks/ingest.py``'s synthetic posts split into 8 files, at two sizes,
each in its own subprocess, with the **same** φ(e) and k-means sample (200,000 posts, as at 4M in
``labels_dask``): a worker holds one partition (50,000 posts), one file's hash sample and, for the
one fit task, the sample; none of these grows with the number of posts, so neither should a
worker's peak. Peak resident memory is each worker process's ``getrusage``.

Goal (issue 25): the largest worker peak at 4M / at 400k <= 1.2. Sizes can be lowered:
``python benchmarks/labels_dask_memory.py 40000 400000``. Ends with exactly one line::

    BENCH labels_dask_memory small=<posts> large=<posts> sample=<posts> small_worker_peak_mb=...
          large_worker_peak_mb=... peak_ratio=<large / small> small_s=... large_s=...
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest import make_manifest
from labels_dask import SAMPLE, run_dask, split_manifest

SMALL, LARGE, WORKERS = 400_000, 4_000_000, 2


def main(argv: list[str]) -> None:
    if argv[:1] == ["--one"]:
        n, sample, out, files = int(argv[1]), int(argv[2]), Path(argv[3]), [Path(p) for p in argv[4:]]
        print(json.dumps(run_dask(files, out, WORKERS, n, sample=sample)))
        return
    sizes = [int(a) for a in argv[:2]] if len(argv) >= 2 else [SMALL, LARGE]
    sample = min(SAMPLE, sizes[0])  # the same at both sizes
    runs = {}
    for n in sizes:
        with tempfile.TemporaryDirectory(prefix="vise-bench-daskmem-") as tmp:
            root = Path(tmp)
            make_manifest(root / "manifest.jsonl", n)
            files = split_manifest(root / "manifest.jsonl", n, root)
            (root / "manifest.jsonl").unlink()
            cmd = [sys.executable, __file__, "--one", str(n), str(sample), str(root / "out"), *map(str, files)]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                sys.exit(f"labels_dask_memory at {n} posts failed:\n{proc.stderr[-3000:]}")
            runs[n] = r = json.loads(proc.stdout.strip().splitlines()[-1])
            print(f"  {n:>8} posts: {r['seconds']:6.1f} s; worker peaks {r['worker_peak_mb']} MB", flush=True)
    small, large = (runs[n] for n in sizes)
    s_peak, l_peak = max(small["worker_peak_mb"]), max(large["worker_peak_mb"])
    print(
        f"BENCH labels_dask_memory small={sizes[0]} large={sizes[1]} sample={sample} "
        f"small_worker_peak_mb={s_peak:.0f} large_worker_peak_mb={l_peak:.0f} peak_ratio={l_peak / s_peak:.3f} "
        f"small_s={small['seconds']:.1f} large_s={large['seconds']:.1f}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])

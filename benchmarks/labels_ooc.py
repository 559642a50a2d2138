"""Benchmark: out-of-core pseudo labels (``vise labels``) at 400k and 4M posts — is peak memory flat?

A synthetic engagement-only manifest (``benchmarks/ingest.py``'s generator: JSONL with post id,
0-6 short comments, six reaction counts, shares; image paths that are never opened) is generated
in a stream, then labelled by
:func:`vise_lib.labels.out_of_core.pseudo_labels_out_of_core` exactly as ``vise labels`` does
(``ManifestReader`` chunks of 50,000, read once and spilled to disk for the φ pass, φ(e) = ``both`` signals with TF-IDF + SVD to 64 dims fitted
on a 200,000-post sample, k-means K = 256 on a 200,000-row sample with the ``auto`` backend, then
chunked assignment). Each size runs in its own subprocess; peak resident memory is ``getrusage``'s.

Goal: peak at 4M / peak at 400k <= 1.2. Sizes can be lowered for a quick run:
``python benchmarks/labels_ooc.py 100000 1000000``. Ends with exactly one line::

    BENCH labels_ooc posts=<large> seconds=<large run> peak_mb=<large run> peak_ratio=<large / small>
          posts_per_s=<large run> phi_posts_per_s=<encode pass> kmeans_s_per_m=<k-means + assignment s per 1M posts>
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

SMALL, LARGE, K, DIM, CHUNK, SAMPLE = 400_000, 4_000_000, 256, 64, 50_000, 200_000


def one(n: int) -> None:
    """Generate and label ``n`` posts; print seconds and peak RSS (MB) as JSON."""
    from vise_lib.engagement.reader import ManifestReader
    from vise_lib.labels import out_of_core

    with tempfile.TemporaryDirectory(prefix="vise-bench-ooc-") as tmp:
        manifest = Path(tmp) / "manifest.jsonl"
        make_manifest(manifest, n)
        marks = {}
        encode, fit = out_of_core.transform_chunks, out_of_core.fit_kmeans

        def timed_encode(*a, **kw):  # marks the start of the φ pass (after the sample pass and the φ fit)
            marks["phi"] = time.perf_counter()
            return encode(*a, **kw)

        def timed_fit(*a, **kw):  # marks the end of the φ pass and the start of k-means
            marks["kmeans"] = time.perf_counter()
            return fit(*a, **kw)

        out_of_core.transform_chunks, out_of_core.fit_kmeans = timed_encode, timed_fit
        reader = ManifestReader(manifest, chunk_rows=CHUNK)
        t0 = time.perf_counter()
        s = out_of_core.pseudo_labels_out_of_core(reader, Path(tmp) / "out", "both", K, DIM, 0, SAMPLE, SAMPLE)
        seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "posts": s["n_posts"],
                "seconds": seconds,
                "peak_mb": peak,
                "backend": s["backend"],
                "phi_seconds": marks["kmeans"] - marks["phi"],
                "kmeans_seconds": t0 + seconds - marks["kmeans"],
            }
        )
    )


def main(argv: list[str]) -> None:
    if argv[:1] == ["--one"]:
        return one(int(argv[1]))
    small, large = (int(argv[0]), int(argv[1])) if len(argv) >= 2 else (SMALL, LARGE)
    runs = {}
    for n in (small, large):
        proc = subprocess.run([sys.executable, __file__, "--one", str(n)], capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"labels_ooc at {n} posts failed:\n{proc.stderr[-3000:]}")
        runs[n] = json.loads(proc.stdout.strip().splitlines()[-1])
        r = runs[n]
        print(
            f"  {n:>9} posts: {r['seconds']:7.1f} s ({n / r['seconds']:8.0f} posts/s), peak RSS "
            f"{r['peak_mb']:.0f} MB, φ pass {r['phi_seconds']:.1f} s, k-means + assign {r['kmeans_seconds']:.1f} s "
            f"({r['backend']})",
            flush=True,
        )
    big = runs[large]
    print(
        f"BENCH labels_ooc posts={large} seconds={big['seconds']:.1f} peak_mb={big['peak_mb']:.0f} "
        f"peak_ratio={big['peak_mb'] / runs[small]['peak_mb']:.3f} posts_per_s={large / big['seconds']:.0f} "
        f"phi_posts_per_s={large / big['phi_seconds']:.0f} "
        f"kmeans_s_per_m={big['kmeans_seconds'] / large * 1e6:.1f} small_posts={small} "
        f"small_peak_mb={runs[small]['peak_mb']:.0f}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])

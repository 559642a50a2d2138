"""Benchmark: pseudo labels for 1,000,000 posts (256-d φ, K = 1000) — our faiss schedule
against scikit-learn's Lloyd k-means, side by side in one process.

Data (seeded): a mixture of K Gaussians in 256-d; centres on a random 32-d subspace
(N(0, 1) per coordinate after projection), Dirichlet(2) mixture weights, isotropic noise with
a per-cluster σ ∈ [0.5, 1].

Contenders (same data; inertia of both evaluated the same way, exact nearest centroid):

* **ours**: ``vise_lib.labels.kmeans.fit_kmeans(x, K, backend="faiss")`` with its default schedule —
  greedy k-means++ (in 64 principal components) on a 20,000-point subsample, 10 faiss Lloyd
  iterations on a 100,000-point
  subsample, then ``full_iter`` (default 1) faiss iterations on all points (faiss
  ``max_points_per_centroid`` above n/K: nothing is silently subsampled). Timed end to end.
* **scikit-learn**: ``KMeans(K, algorithm="lloyd", n_init=1, max_iter=SK_ITER, tol=0)`` on
  all points. scikit-learn's own k-means++ initialisation is far too slow at this size (we
  measured 690 s for 200,000 points at K = 1000 on 2 cores, and it grows with n·K), so we give
  scikit-learn *our* k-means++ centres as ``init`` and time only its Lloyd iterations: a
  comparison that favours scikit-learn on time. SK_ITER = 20 (full) / 30 (quick).

A second, small check uses scikit-learn's *own* k-means++ (full protocol, ``max_iter=300``)
on 50,000 × 64 points, K = 100, against our default schedule (there, k-means++ runs on a
20,000-point subsample): ``kpp_check_inertia_ratio``.

Targets (issue #4): ours ≤ 60 s on 2 cores, ≥ 5× faster than scikit-learn, inertia within 1 %
(inertia_ratio = ours / scikit-learn's ≤ 1.01). ``--quick``: 200,000 × 64, K = 100 (seconds).
Ends with exactly one line:

    BENCH clustering seconds=… sklearn_seconds=… speedup=… inertia_ratio=… …
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vise_lib.labels.kmeans import KPP_DIM, assign, fit_kmeans, kmeans_plusplus


def mixture(n: int, d: int, k: int, seed: int = 0) -> np.ndarray:
    """n points from a seeded mixture of k Gaussians in d dimensions (float32)."""
    rng = np.random.default_rng(seed)
    sub = min(32, d)
    centres = (rng.standard_normal((k, sub)) @ rng.standard_normal((sub, d)) / np.sqrt(sub)).astype(np.float32)
    y = rng.choice(k, n, p=rng.dirichlet(np.full(k, 2.0)))
    sigma = rng.uniform(0.5, 1.0, k).astype(np.float32)
    x = rng.standard_normal((n, d), dtype=np.float32)
    x *= sigma[y, None]
    x += centres[y]
    return x


def sklearn_from_init(x, init, max_iter):
    from sklearn.cluster import KMeans

    t0 = time.perf_counter()
    km = KMeans(len(init), init=init, n_init=1, max_iter=max_iter, tol=0.0, algorithm="lloyd").fit(x)
    return time.perf_counter() - t0, km


def kpp_check(seed: int = 0) -> dict:
    """scikit-learn's full protocol (its own k-means++) vs ours on 50,000 x 64, K = 100."""
    from sklearn.cluster import KMeans

    x = mixture(50_000, 64, 100, seed=seed + 1)
    t0 = time.perf_counter()
    ref = KMeans(100, init="k-means++", n_init=1, max_iter=300, algorithm="lloyd", random_state=seed).fit(x)
    t_ref = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = fit_kmeans(x, 100, seed=seed, backend="faiss")
    t_ours = time.perf_counter() - t0
    return {
        "kpp_check_seconds": t_ours,
        "kpp_check_sklearn_seconds": t_ref,
        "kpp_check_inertia_ratio": ours["inertia"] / assign(x, ref.cluster_centers_)[1],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="200,000 x 64, K = 100 (seconds)")
    ap.add_argument("--full-iter", type=int, default=1, help="our full-data faiss iterations")
    args = ap.parse_args()
    n, d, k, sk_iter = (200_000, 64, 100, 30) if args.quick else (1_000_000, 256, 1000, 20)
    seed = 0

    t0 = time.perf_counter()
    x = mixture(n, d, k, seed)
    print(f"data: {n} x {d}, K = {k} ({time.perf_counter() - t0:.1f} s to generate)", flush=True)

    t0 = time.perf_counter()
    ours = fit_kmeans(x, k, seed=seed, backend="faiss", full_iter=args.full_iter)
    seconds = time.perf_counter() - t0
    print(f"ours (faiss, schedule {ours['schedule']}): {seconds:.1f} s, inertia {ours['inertia']:.6g}", flush=True)

    # scikit-learn from the same k-means++ centres our schedule starts from (same subsample).
    perm = np.random.default_rng(seed).permutation(n)
    sub = x[np.sort(perm[: ours["schedule"]["init_sample"]])]
    t0 = time.perf_counter()
    init = kmeans_plusplus(sub, k, seed=seed, proj_dim=KPP_DIM)
    init_seconds = time.perf_counter() - t0
    sk_seconds, km = sklearn_from_init(x, init, sk_iter)
    sk_inertia = assign(x, km.cluster_centers_)[1]
    print(
        f"scikit-learn lloyd from the same k-means++ init ({init_seconds:.1f} s, not counted): "
        f"{km.n_iter_} iterations in {sk_seconds:.1f} s ({sk_seconds / km.n_iter_:.2f} s/iteration), "
        f"inertia {sk_inertia:.6g}",
        flush=True,
    )

    check = kpp_check(seed)
    print(
        f"small check vs scikit-learn's own k-means++ (50,000 x 64, K = 100): inertia ratio "
        f"{check['kpp_check_inertia_ratio']:.4f}, {check['kpp_check_seconds']:.1f} s vs "
        f"{check['kpp_check_sklearn_seconds']:.1f} s",
        flush=True,
    )

    fields = {
        "seconds": seconds,
        "sklearn_seconds": sk_seconds,
        "speedup": sk_seconds / seconds,
        "inertia_ratio": ours["inertia"] / sk_inertia,
        "n": n,
        "d": d,
        "k": k,
        "sklearn_iter": int(km.n_iter_),
        "full_iter": args.full_iter,
        "sklearn_seconds_per_iter": sk_seconds / km.n_iter_,
        **check,
    }
    print(
        "BENCH clustering "
        + " ".join(
            f"{key}={value:.4f}" if isinstance(value, float) else f"{key}={value}" for key, value in fields.items()
        )
    )


if __name__ == "__main__":
    main()

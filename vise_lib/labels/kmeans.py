"""k-means backends: scikit-learn (reference) and faiss (fast), both seeded and deterministic.

``backend="auto"`` picks ``faiss`` when it can be imported, else ``sklearn``.

* ``sklearn``: ``sklearn.cluster.KMeans(init="k-means++", algorithm="lloyd")`` on all points.
* ``faiss``: our schedule, chosen on ``benchmarks/clustering.py`` (1M x 256, K = 1000) for both
  speed and objective. faiss's own default (random init on a 256-per-centroid subsample) is
  fast but reaches a clearly worse objective; k-means++ initialisation is what closes the gap,
  and scikit-learn's k-means++ is the slow part of scikit-learn at that scale. So:

  1. **init**: greedy k-means++ (as scikit-learn's, 2 + ln K trials per step) on a uniform
     subsample of ``init_sample`` points (default ``max(20_000, 20 K)``), with distances taken
     in the subsample's top 64 principal components (``KPP_DIM``; 3x cheaper, and on the
     benchmark a *better* objective than seeding in all 256 dimensions, as the noise
     dimensions no longer attract seeds), run single-threaded (its many small BLAS calls only
     lose from threading);
  2. **subsample Lloyd**: ``sample_iter`` (default 10) faiss iterations on ``sample`` points
     (default ``max(100_000, 100 K)``; 20 iterations gave the same objective to 0.01 %);
  3. **full Lloyd**: ``full_iter`` (default 1) faiss iterations on *all* points, then a final
     assignment. On the benchmark a second full iteration improved the objective by 0.02 %
     for ~40 % more time, so one is the default.

  When ``n <= sample`` steps 2-3 collapse into ``max_iter`` iterations on all points. faiss's
  ``max_points_per_centroid`` is always set above the number of points it is given, so faiss
  never subsamples silently; every subsample above is explicit, seeded and reported in
  ``result["schedule"]``.

Optional DeepCluster preprocessing (``pca_dim``): PCA to ``pca_dim`` dimensions with whitening,
then L2 normalisation; the centroids are then in that space.
"""

from __future__ import annotations

import math
from contextlib import contextmanager

import numpy as np

BACKENDS = ("auto", "sklearn", "faiss")


def faiss_available() -> bool:
    """True when ``import faiss`` works."""
    try:
        import faiss  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_backend(backend: str) -> str:
    """``auto`` -> ``faiss`` when importable, else ``sklearn``; errors on unknown names."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown k-means backend {backend!r}; available: {BACKENDS}")
    if backend == "auto":
        return "faiss" if faiss_available() else "sklearn"
    if backend == "faiss" and not faiss_available():
        raise ImportError("backend='faiss' needs the faiss package (faiss-cpu); use 'sklearn' or 'auto'")
    return backend


def pca_whiten(x: np.ndarray, dim: int, seed: int = 0) -> np.ndarray:
    """DeepCluster preprocessing: PCA to ``dim`` with whitening, then L2 (float32)."""
    from sklearn.decomposition import PCA

    dim = min(dim, x.shape[1], len(x))
    z = PCA(n_components=dim, whiten=True, random_state=seed).fit_transform(x).astype(np.float32)
    norms = np.linalg.norm(z, axis=1, keepdims=True)
    return np.divide(z, norms, out=np.zeros_like(z), where=norms > 0)


def kmeans_plusplus(
    x: np.ndarray, k: int, seed: int = 0, n_trials: int | None = None, proj_dim: int | None = None
) -> np.ndarray:
    """Greedy k-means++ seeding (scikit-learn's algorithm): (k, d) float32 centres from ``x``.

    ``proj_dim``: choose the seeds by distances in the top ``proj_dim`` principal components of
    ``x`` (cheaper, and less swayed by isotropic noise); the centres returned are rows of ``x``.
    """
    from threadpoolctl import threadpool_limits

    x = np.ascontiguousarray(x, dtype=np.float32)
    with threadpool_limits(1):  # many small BLAS calls: threads only add overhead
        z = x
        if proj_dim and proj_dim < x.shape[1]:
            xc = x - x.mean(0)
            _, vecs = np.linalg.eigh(xc.T.astype(np.float64) @ xc)
            z = np.ascontiguousarray(xc @ vecs[:, ::-1][:, :proj_dim].astype(np.float32))
        return x[_kpp_indices(z, k, np.random.default_rng(seed), n_trials)].copy()


def _kpp_indices(x, k, rng, n_trials):
    n = len(x)
    trials = n_trials or 2 + int(math.log(k))
    sq = np.einsum("ij,ij->i", x, x)
    chosen = np.empty(k, dtype=np.int64)
    chosen[0] = rng.integers(n)
    d2 = np.maximum(sq - 2 * (x @ x[chosen[0]]) + sq[chosen[0]], 0)
    for j in range(1, k):
        cum = np.cumsum(d2, dtype=np.float64)
        if cum[-1] <= 0:  # fewer distinct points than k: take unused points in order
            rest = np.setdiff1d(np.arange(n), chosen[:j])[: k - j]
            chosen[j : j + len(rest)] = rest
            break
        cand = np.minimum(np.searchsorted(cum, rng.random(trials) * cum[-1]), n - 1)
        dc = np.maximum(sq[:, None] - 2 * (x @ x[cand].T) + sq[cand][None, :], 0)
        nd = np.minimum(d2[:, None], dc)
        best = int(np.argmin(nd.sum(0, dtype=np.float64)))
        d2, chosen[j] = nd[:, best], cand[best]
    return chosen


def _sklearn(x, k, seed, n_init, max_iter):
    from sklearn.cluster import KMeans

    km = KMeans(
        n_clusters=k, n_init=n_init, max_iter=max_iter, init="k-means++", algorithm="lloyd", random_state=seed
    ).fit(x)
    return {
        "labels": km.labels_.astype(np.int64),
        "centroids": km.cluster_centers_.astype(np.float32),
        "inertia": float(km.inertia_),
        "schedule": {"n_init": n_init, "max_iter": max_iter, "n_iter": int(km.n_iter_)},
    }


#: k-means++ seeds are chosen in this many principal components (see the module docstring).
KPP_DIM = 64

#: Below this many multiply-adds per Lloyd iteration faiss runs on one thread: for small
#: problems OpenMP start-up and spin-waiting cost more than they save (measured 18x slower on
#: 10k x 96, K = 64 on a busy 2-core machine).
SMALL_WORK = 5e9


@contextmanager
def faiss_threads(n: int, k: int, d: int, threads: int | None = None):
    """Run faiss on ``threads`` threads (default: 1 for small problems, else all)."""
    import faiss

    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(threads or (1 if n * k * d < SMALL_WORK else before))
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def _faiss_lloyd(x, init, niter, seed):
    import faiss

    k, d = init.shape
    km = faiss.Kmeans(
        d,
        k,
        niter=niter,
        seed=seed,
        verbose=False,
        spherical=False,
        max_points_per_centroid=len(x) // k + 2,
        min_points_per_centroid=1,
    )
    km.train(x, init_centroids=init)
    return np.ascontiguousarray(km.centroids, dtype=np.float32)


def assign(x: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, float]:
    """Nearest centroid of each row (exact, faiss when available) and the inertia."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    c = np.ascontiguousarray(centroids, dtype=np.float32)
    if x.ndim != 2 or c.ndim != 2 or x.shape[1] != c.shape[1]:
        raise ValueError(f"features {x.shape} and centroids {c.shape} do not match")
    if faiss_available():
        import faiss

        index = faiss.IndexFlatL2(x.shape[1])
        index.add(c)
        dist, lab = index.search(x, 1)
        return lab.ravel().astype(np.int64), float(np.maximum(dist, 0).sum(dtype=np.float64))
    labels, total = np.empty(len(x), np.int64), 0.0
    csq = (c * c).sum(1)
    for s in range(0, len(x), 65536):
        xb = x[s : s + 65536]
        d = (xb * xb).sum(1)[:, None] - 2 * xb @ c.T + csq[None, :]
        labels[s : s + 65536] = d.argmin(1)
        total += float(np.maximum(d.min(1), 0).sum(dtype=np.float64))
    return labels, total


def _faiss(x, k, seed, max_iter, init_sample, sample, sample_iter, full_iter, threads):
    with faiss_threads(len(x), k, x.shape[1], threads):
        return _faiss_schedule(x, k, seed, max_iter, init_sample, sample, sample_iter, full_iter)


def _faiss_schedule(x, k, seed, max_iter, init_sample, sample, sample_iter, full_iter):
    n = len(x)
    rng = np.random.default_rng(seed)
    init_sample = min(n, init_sample or max(20_000, 20 * k))
    sample = min(n, sample or max(100_000, 100 * k))
    perm = rng.permutation(n) if init_sample < n or sample < n else np.arange(n)
    centroids = kmeans_plusplus(x[np.sort(perm[:init_sample])], k, seed=seed, proj_dim=KPP_DIM)
    if sample >= n:
        schedule = {"init_sample": init_sample, "sample": n, "sample_iter": 0, "full_iter": max_iter}
        centroids = _faiss_lloyd(x, centroids, max_iter, seed)
    else:
        schedule = {"init_sample": init_sample, "sample": sample, "sample_iter": sample_iter, "full_iter": full_iter}
        centroids = _faiss_lloyd(np.ascontiguousarray(x[np.sort(perm[:sample])]), centroids, sample_iter, seed)
        if full_iter:
            centroids = _faiss_lloyd(x, centroids, full_iter, seed)
    labels, inertia = assign(x, centroids)
    return {"labels": labels, "centroids": centroids, "inertia": inertia, "schedule": schedule}


def fit_kmeans(
    x: np.ndarray,
    k: int,
    seed: int = 0,
    backend: str = "auto",
    n_init: int = 1,
    max_iter: int = 100,
    pca_dim: int | None = None,
    init_sample: int | None = None,
    sample: int | None = None,
    sample_iter: int = 10,
    full_iter: int = 1,
    threads: int | None = None,
) -> dict:
    """Cluster the rows of ``x`` into ``k`` groups (see the module docstring for backends).

    Returns ``labels`` (N,) int64, ``centroids`` (k, d) float32, ``inertia`` (sum of squared
    distances to the nearest centroid), ``backend`` (resolved) and ``schedule`` (the settings).
    ``n_init`` applies to scikit-learn only; ``threads`` to faiss only (default: see
    :func:`faiss_threads`).
    """
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"k-means input must be 2-D (N, d), got shape {x.shape}")
    if not 2 <= k <= len(x):
        raise ValueError(f"k={k} must be between 2 and the number of points ({len(x)})")
    bad = ~np.isfinite(x).all(axis=1)
    if bad.any():
        raise ValueError(
            f"k-means input has {int(bad.sum())} rows with NaN/inf values (first at row {int(np.flatnonzero(bad)[0])})"
        )
    name = resolve_backend(backend)
    x = np.ascontiguousarray(x, dtype=np.float32)
    if pca_dim:
        x = pca_whiten(x, pca_dim, seed)
    if name == "sklearn":
        out = _sklearn(x, k, seed, n_init, max_iter)
    else:
        out = _faiss(x, k, seed, max_iter, init_sample, sample, sample_iter, full_iter, threads)
    out["backend"] = name
    out["schedule"]["pca_dim"] = pca_dim or None
    return out

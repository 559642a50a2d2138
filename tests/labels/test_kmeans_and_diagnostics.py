import numpy as np
import pytest

from vise_lib.labels import diagnostics as clustering
from vise_lib.labels.kmeans import faiss_available, fit_kmeans


def blobs(n=300, k=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    centers = rng.normal(size=(k, 5)) * 10
    return (centers[y] + rng.normal(size=(n, 5))).astype(np.float32), y


def test_kmeans_recovers_separated_blobs_deterministically():
    x, y = blobs()
    a = fit_kmeans(x, 3, seed=0)
    b = fit_kmeans(x, 3, seed=0)
    np.testing.assert_array_equal(a["labels"], b["labels"])
    assert a["centroids"].shape == (3, 5) and a["inertia"] > 0
    assert clustering.agreement(a["labels"], {"y": y})["y"]["nmi"] > 0.99


def test_shuffled_control_is_near_zero():
    x, y = blobs(n=2000)
    lab = fit_kmeans(x, 3)["labels"]
    assert clustering.shuffled_control(lab, {"y": y})["y"]["nmi"] < 0.01


def test_bad_k_rejected():
    x, _ = blobs(n=10)
    with pytest.raises(ValueError, match="between 2"):
        fit_kmeans(x, 11)
    with pytest.raises(ValueError, match="backend"):
        fit_kmeans(x, 2, backend="gpu-magic")


def test_profiles_and_terms():
    labels = np.array([0, 0, 1])
    prof = clustering.mean_profiles(np.array([[1, 1], [2, 0], [0, 0]]), labels, 2)
    np.testing.assert_allclose(prof, [[0.75, 0.25], [0, 0]])
    from scipy import sparse

    tf = sparse.csr_matrix(np.array([[1.0, 0, 0], [0.5, 0, 0], [0, 0, 2.0]]))
    assert clustering.top_terms(tf, np.array(["a", "b", "c"]), labels, 2, n=2) == [["a"], ["c"]]


# --- backends ----------------------------------------------------------------------------

faiss_only = pytest.mark.skipif(not faiss_available(), reason="faiss not installed")


@faiss_only
def test_backends_agree_on_separated_blobs_up_to_permutation():
    x, _ = blobs(n=600, k=5)
    a = fit_kmeans(x, 5, seed=0, backend="sklearn")
    b = fit_kmeans(x, 5, seed=0, backend="faiss")
    assert a["backend"] == "sklearn" and b["backend"] == "faiss"
    from sklearn.metrics import adjusted_rand_score

    assert adjusted_rand_score(a["labels"], b["labels"]) == 1.0
    assert b["inertia"] == pytest.approx(a["inertia"], rel=1e-4)


@faiss_only
def test_faiss_is_deterministic_and_auto_picks_it():
    x, _ = blobs(n=800, k=6, seed=1)
    a = fit_kmeans(x, 6, seed=3, backend="faiss")
    b = fit_kmeans(x, 6, seed=3, backend="auto")
    assert b["backend"] == "faiss"
    np.testing.assert_array_equal(a["labels"], b["labels"])
    np.testing.assert_array_equal(a["centroids"], b["centroids"])


@faiss_only
def test_faiss_subsampled_schedule_is_explicit_and_good():
    x, _ = blobs(n=3000, k=8, seed=2)
    r = fit_kmeans(x, 8, seed=0, backend="faiss", init_sample=200, sample=1000, sample_iter=10, full_iter=2)
    assert r["schedule"] == {"init_sample": 200, "sample": 1000, "sample_iter": 10, "full_iter": 2, "pca_dim": None}
    assert r["labels"].shape == (3000,) and r["centroids"].shape == (8, 5)
    ref = fit_kmeans(x, 8, seed=0, backend="sklearn")
    assert r["inertia"] <= ref["inertia"] * 1.01
    again = fit_kmeans(x, 8, seed=0, backend="faiss", init_sample=200, sample=1000, sample_iter=10, full_iter=2)
    np.testing.assert_array_equal(r["labels"], again["labels"])


def test_assign_matches_brute_force():
    from vise_lib.labels.kmeans import assign

    x, _ = blobs(n=200, k=3)
    c = x[:4].copy()
    lab, inertia = assign(x, c)
    d = ((x[:, None, :] - c[None]) ** 2).sum(-1)
    np.testing.assert_array_equal(lab, d.argmin(1))
    assert inertia == pytest.approx(d.min(1).sum(), rel=1e-4)


def test_kmeans_plusplus_spreads_centres_over_blobs():
    from vise_lib.labels.kmeans import kmeans_plusplus

    x, y = blobs(n=500, k=4, seed=5)
    c = kmeans_plusplus(x, 4, seed=0)
    nearest = ((c[:, None, :] - x[None]) ** 2).sum(-1).argmin(1)
    assert len(set(y[nearest])) == 4  # one seed per blob
    np.testing.assert_array_equal(c, kmeans_plusplus(x, 4, seed=0))


def test_nan_rows_and_bad_shapes_rejected():
    x, _ = blobs(n=50)
    x[7, 2] = np.nan
    with pytest.raises(ValueError, match=r"1 rows with NaN/inf.*row 7"):
        fit_kmeans(x, 3)
    with pytest.raises(ValueError, match="2-D"):
        fit_kmeans(np.zeros(10), 2)


def test_pca_whitening_option():
    x, y = blobs(n=400, k=3)
    r = fit_kmeans(x, 3, seed=0, pca_dim=3)
    assert r["centroids"].shape == (3, 3) and r["schedule"]["pca_dim"] == 3
    assert clustering.agreement(r["labels"], {"y": y})["y"]["nmi"] > 0.95


def test_top_terms_can_exclude_stop_words_and_explorer_sample():
    labels = np.array([0, 0, 1])
    from scipy import sparse

    tf = sparse.csr_matrix(np.array([[1.0, 0.9, 0], [0.5, 0.4, 0], [0, 0, 2.0]]))
    vocab = np.array(["the", "cute", "the sad"])
    assert clustering.top_terms(tf, vocab, labels, 2, n=2) == [["the", "cute"], ["the sad"]]
    assert clustering.top_terms(tf, vocab, labels, 2, n=2, exclude={"the"}) == [["cute"], []]
    pick = clustering.explorer_sample(np.array([0, 1, 1, 1, 2, 2]), 3, n_clusters=2, per_cluster=2)
    assert list(pick) == [1, 2] and len(pick[1]) == 2 and set(pick[2]) == {4, 5}
    np.testing.assert_array_equal(clustering.majority(np.array([3, 1, 1, 2]), np.array([0, 0, 0, 1]), 3), [1, 2, -1])

import numpy as np
import pytest

from vise_lib import clustering


def blobs(n=300, k=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    centers = rng.normal(size=(k, 5)) * 10
    return (centers[y] + rng.normal(size=(n, 5))).astype(np.float32), y


def test_kmeans_recovers_separated_blobs_deterministically():
    x, y = blobs()
    a = clustering.kmeans(x, 3, seed=0)
    b = clustering.kmeans(x, 3, seed=0)
    np.testing.assert_array_equal(a["labels"], b["labels"])
    assert a["centroids"].shape == (3, 5) and a["inertia"] > 0
    assert clustering.agreement(a["labels"], {"y": y})["y"]["nmi"] > 0.99


def test_shuffled_control_is_near_zero():
    x, y = blobs(n=2000)
    lab = clustering.kmeans(x, 3)["labels"]
    assert clustering.shuffled_control(lab, {"y": y})["y"]["nmi"] < 0.01


def test_bad_k_rejected():
    x, _ = blobs(n=10)
    with pytest.raises(ValueError, match="between 2"):
        clustering.kmeans(x, 11)
    with pytest.raises(ValueError, match="backend"):
        clustering.kmeans(x, 2, backend="gpu-magic")


def test_profiles_and_terms():
    labels = np.array([0, 0, 1])
    prof = clustering.mean_profiles(np.array([[1, 1], [2, 0], [0, 0]]), labels, 2)
    np.testing.assert_allclose(prof, [[0.75, 0.25], [0, 0]])
    from scipy import sparse
    tf = sparse.csr_matrix(np.array([[1.0, 0, 0], [0.5, 0, 0], [0, 0, 2.0]]))
    assert clustering.top_terms(tf, np.array(["a", "b", "c"]), labels, 2, n=2) == [["a"], ["c"]]

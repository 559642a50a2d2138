"""The pseudo-label stage: label sets, save/load, and the signal it recovers on the world."""

import numpy as np
import pytest
from conftest import make_post, write_manifest

from vise_lib.labels import diagnostics as clustering
from vise_lib.labels.kmeans import faiss_available
from vise_lib.labels.pseudo_labels import build_pseudo_labels, load_labels
from vise_lib.world.generate import WorldConfig, generate_world, load_latents

# an affect-driven world (engagement follows the affect only), so "recovered" has a clear meaning
SMALL = {
    "n_posts": 1500,
    "image_px": 16,
    "n_train": 8,
    "n_val": 8,
    "n_test": 8,
    "eng_affect": 3.0,
    "eng_content": 0.0,
    "eng_nonvisual": 0.0,
    "eng_stance": 0.0,
}


@pytest.fixture(scope="module")
def worlds(tmp_path_factory):
    return {
        noise: generate_world(
            WorldConfig(seed=0, engagement_noise=noise, **SMALL), tmp_path_factory.mktemp(f"w{noise}") / "world"
        )
        for noise in (0.0, 1.0)
    }


def affect_nmi(world, signal="both"):
    pl = build_pseudo_labels(
        world / "posts" / "manifest.jsonl", signal=signal, n_clusters=12, svd_dim=16, seed=0, backend="sklearn"
    )
    aff = {"affect": load_latents(world)["affect"][pl.engagement.image_index]}
    real = clustering.agreement(pl.labels, aff)["affect"]["nmi"]
    control = np.mean([clustering.shuffled_control(pl.labels, aff, seed=s)["affect"]["nmi"] for s in range(3)])
    return real, control


@pytest.mark.parametrize("signal", ["both", "comments", "reactions"])
def test_affect_recovered_at_zero_noise_and_not_at_full_noise(worlds, signal):
    real, control = affect_nmi(worlds[0.0], signal)
    assert real > control + 0.1
    noisy, noisy_control = affect_nmi(worlds[1.0], signal)
    assert abs(noisy - noisy_control) < 0.02


def test_label_sets_saved_and_loaded_aligned(worlds, tmp_path):
    m = worlds[0.0] / "posts" / "manifest.jsonl"
    pl = build_pseudo_labels(
        m, signal="both", n_clusters=8, svd_dim=8, seed=0, extra_signals=["comments", "reactions", "both"]
    )
    assert list(pl.sets) == ["both", "comments", "reactions"]
    np.testing.assert_array_equal(pl.labels, pl.sets["both"].labels)
    pl.save(tmp_path)
    z = load_labels(tmp_path)
    assert set(z) == {"image_index", "label", "post_id", "label_both", "label_comments", "label_reactions"}
    n = len(pl.engagement)
    assert all(v.shape == (n,) for v in z.values())
    np.testing.assert_array_equal(z["label"], z["label_both"])
    for s in ("comments", "reactions"):
        assert z[f"label_{s}"].max() < 8 and not np.array_equal(z[f"label_{s}"], z["label"])
    assert (tmp_path / "read_report.json").exists()


def test_cached_phi_gives_identical_labels_and_backends_resolve(worlds):
    m = worlds[0.0] / "posts" / "manifest.jsonl"
    a = build_pseudo_labels(m, signal="reactions", n_clusters=6, svd_dim=8, seed=1, cache=False)
    b = build_pseudo_labels(m, signal="reactions", n_clusters=6, svd_dim=8, seed=1)
    c = build_pseudo_labels(m, signal="reactions", n_clusters=6, svd_dim=8, seed=1)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(b.labels, c.labels)
    assert a.backend == ("faiss" if faiss_available() else "sklearn")
    assert a.schedule and a.text["comments"] > 0


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"labels\.npz is missing"):
        load_labels(tmp_path)
    m = write_manifest(tmp_path / "m.jsonl", [make_post(i) for i in range(5)])
    with pytest.raises(ValueError, match="fewer than n_clusters=8"):
        build_pseudo_labels(m, n_clusters=8)
    with pytest.raises(ValueError, match="unknown signal"):
        build_pseudo_labels(m, signal="likes", n_clusters=2)
    np.savez(tmp_path / "labels.npz", image_index=np.arange(3), label=np.arange(2))
    with pytest.raises(ValueError, match="label has shape"):
        load_labels(tmp_path)

import numpy as np
import pytest
from conftest import write_tiny_world

from vise_lib.pretrain.variants import VARIANTS, label_arrays, training_set


def _world(tmp_path, n=20, engagement_sets=True, index=None):
    sets = {"label_both": 7, "label_comments": 4, "label_reactions": 3} if engagement_sets else {}
    return write_tiny_world(tmp_path, n, label_sets=sets, index=index)


def test_every_variant(tmp_path):
    world, labels = _world(tmp_path)
    images = np.load(world / "posts" / "images.npy")
    expected = {
        "vise": [7],
        "vise_multi": [7, 4, 3],
        "comments": [4],
        "reactions": [3],
        "object": [5],
        "simclr": [],
        "random": [],
        "shuffled": [7],
        "oracle": [3],
    }
    for v in VARIANTS:
        ts = training_set(v, world, labels)
        assert np.array_equal(ts.images, images[1:]), v  # the same images for every variant
        assert ts.num_classes == expected[v], v
        assert ts.objective == {"simclr": "simclr", "random": "none"}.get(v, "classify")
    assert training_set("vise_multi", world, labels).sources == [
        "labels.npz:label_both",
        "labels.npz:label_comments",
        "labels.npz:label_reactions",
    ]
    assert np.array_equal(training_set("object", world, labels).label_sets[0], np.arange(1, 20) % 5)
    assert set(label_arrays(labels)) >= {"image_index", "label", "label_comments"}
    assert np.array_equal(training_set("oracle", world, labels).label_sets[0], np.arange(1, 20) % 3)


def test_shuffled_keeps_the_histogram_and_breaks_the_link(tmp_path):
    world, labels = _world(tmp_path, n=400)
    vise = training_set("vise", world, labels).label_sets[0]
    a, b = (training_set("shuffled", world, labels, seed=s).label_sets[0] for s in (0, 1))
    assert np.array_equal(np.bincount(a), np.bincount(vise))
    assert np.mean(a == vise) < 0.3 and not np.array_equal(a, b)
    assert np.array_equal(a, training_set("shuffled", world, labels, seed=0).label_sets[0])


def test_missing_engagement_sets_name_key_and_stage(tmp_path):
    world, labels = _world(tmp_path, engagement_sets=False)
    for v, key in (("comments", "label_comments"), ("reactions", "label_reactions"), ("vise_multi", "label_")):
        with pytest.raises(ValueError, match=rf"labels\.npz.*{key}.*01_engagement_to_labels"):
            training_set(v, world, labels)
    assert training_set("vise", world, labels).num_classes == [7]


def test_bad_inputs(tmp_path):
    world, labels = _world(tmp_path, index=np.array([0, 3, 25, 2]))
    with pytest.raises(ValueError, match=r"labels\.npz.*row 2 is 25"):
        training_set("vise", world, labels)
    with pytest.raises(ValueError, match="unknown pretraining variant"):
        training_set("moco", world, labels)
    with pytest.raises(FileNotFoundError, match="00_world"):
        training_set("vise", tmp_path / "nowhere", labels)
    with pytest.raises(FileNotFoundError, match="01_engagement_to_labels"):
        training_set("vise", world, tmp_path / "nolabels")


def test_a_held_out_split_is_the_same_posts_for_every_variant_and_seed(tmp_path):
    world, labels = _world(tmp_path, n=101)
    full = training_set("vise", world, labels)
    sets = {
        (v, s): training_set(v, world, labels, seed=s, holdout=0.2)
        for v in ("vise", "object", "simclr")
        for s in (0, 3)
    }
    kept = {k: ts.images.tobytes() for k, ts in sets.items()}
    assert len(set(kept.values())) == 1  # every variant and seed trains on the same 80 posts
    vise = sets[("vise", 0)]
    assert len(vise.images) == 80 and vise.holdout is not None and len(vise.holdout[0]) == 20
    # the held-out posts and their labels are the rows the training set lacks, nothing lost
    both = np.concatenate([vise.images, vise.holdout[0]])
    assert sorted(map(bytes, both)) == sorted(map(bytes, full.images))
    label_of = {bytes(x): y for x, y in zip(full.images, full.label_sets[0], strict=True)}
    assert all(label_of[bytes(x)] == y for x, y in zip(*vise.holdout[0:1], vise.holdout[1][0], strict=True))
    assert sets[("simclr", 0)].holdout is None  # no labels, nothing to score
    with pytest.raises(ValueError, match="holdout fraction"):
        training_set("vise", world, labels, holdout=1.0)

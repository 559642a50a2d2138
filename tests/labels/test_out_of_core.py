"""Chunked φ(e) and k-means assignment agree with the in-memory versions; the labels do not depend on the input order."""

import json

import numpy as np
import pytest

from vise_lib.engagement.reader import ManifestReader, read_manifest
from vise_lib.labels.hash_sample import BottomK, canonical_reactions, sample_keys
from vise_lib.labels.kmeans import assign, fit_kmeans
from vise_lib.labels.out_of_core import (
    pseudo_labels_out_of_core,
    sample_posts,
    transform_chunks,
)
from vise_lib.labels.signals import SignalEncoder
from vise_lib.world.generate import WorldConfig, generate_world


def _out_of_core(manifest, out, signal, chunk_rows, **kw):
    """``pseudo_labels_out_of_core`` over ``manifest`` read in chunks of ``chunk_rows``."""
    return pseudo_labels_out_of_core(ManifestReader(manifest, chunk_rows=chunk_rows), out, signal, **kw)


def _in_hash_order(manifest, folder, seed):
    """A copy of ``manifest`` with its rows in the order of the out-of-core sample (``seed``'s hash),
    its reactions in sorted name order: the in-memory fit on it sees the points the sample holds."""
    eng, _ = read_manifest(manifest)
    eng = canonical_reactions(eng)
    out = folder / f"hash-order-{seed}.jsonl"
    order = np.argsort(sample_keys(eng.post_ids, seed), kind="stable")
    out.write_text("".join(json.dumps(eng.row(int(i))) + "\n" for i in order))
    return out


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    cfg = WorldConfig(seed=0, n_posts=600, image_px=16, n_train=10, n_val=10, n_test=10)
    return generate_world(cfg, tmp_path_factory.mktemp("w") / "world") / "posts" / "manifest.jsonl"


def test_chunked_phi_equals_in_memory_phi(world):
    eng, _ = read_manifest(world)
    enc = SignalEncoder("both", dim=16, seed=0).fit(eng)
    full = enc.transform(eng)
    chunks = list(transform_chunks(enc, ManifestReader(world, chunk_rows=97)))
    assert len(chunks) == 7
    np.testing.assert_allclose(np.concatenate([phi for _, phi in chunks]), full, atol=1e-5)


def test_sample_covering_everything_is_everything_in_hash_order(world):
    eng, _ = read_manifest(world)
    sample = sample_posts(ManifestReader(world, chunk_rows=100), n=10_000)
    order = np.argsort(sample_keys(eng.post_ids, 0))
    assert sample.post_ids == [eng.post_ids[i] for i in order]
    np.testing.assert_array_equal(sample.reactions, eng.reactions[order])
    assert sample.captions == [eng.captions[i] for i in order]  # every column comes along


def test_bottom_k_is_uniform_seeded_and_order_free():
    ids = [f"p{i}" for i in range(100)]
    hits = np.zeros(100)
    for seed in range(300):
        b: BottomK[np.ndarray] = BottomK(10, seed)
        for s in range(0, 100, 7):
            b.add(ids[s : s + 7], np.arange(s, min(s + 7, 100)))
        kept = b.rows()
        assert len(set(kept.tolist())) == 10
        hits[kept] += 1
    assert hits.min() > 10 and hits.max() < 60  # expected 30 each
    keys = sample_keys(ids, 3)
    expected = sorted(range(100), key=lambda i: (keys[i], ids[i]))[:10]
    rng = np.random.default_rng(0)
    for _ in range(5):  # any chunking, any order: the same posts in the same order
        perm = rng.permutation(100)
        b = BottomK(10, 3)
        for part in np.split(perm, np.sort(rng.choice(np.arange(1, 100), 6, replace=False))):
            b.add([ids[i] for i in part], part)
        assert b.rows().tolist() == expected
    assert sample_keys(["a"], 1)[0] != sample_keys(["a"], 2)[0]


def test_canonical_reactions_sorts_the_columns(manifest_of):
    eng, _ = manifest_of([{"post_id": "a", "image_index": 0, "reactions": {"wow": 2, "like": 5}}])
    c = canonical_reactions(eng)
    assert c.reaction_names == ("like", "wow") and c.reactions.tolist() == [[5, 2]]
    wider = canonical_reactions(eng, ("angry", "like", "wow"))
    assert wider.reactions.tolist() == [[0, 5, 2]]
    with pytest.raises(ValueError, match="wow"):
        canonical_reactions(eng, ("like",))


def test_shuffled_manifest_gives_every_post_the_same_label(world, tmp_path):
    """The order of the rows changes neither sample, nor φ(e), nor the centroids."""
    lines = world.read_text().splitlines()
    shuffled = tmp_path / "shuffled.jsonl"
    shuffled.write_text("\n".join(np.random.default_rng(1).permutation(lines)) + "\n")
    kw = {"n_clusters": 5, "svd_dim": 16, "seed": 4, "fit_posts": 300, "kmeans_posts": 200}
    a = _out_of_core(world, tmp_path / "a", "both", 90, **kw)
    b = _out_of_core(shuffled, tmp_path / "b", "both", 130, **kw)
    assert sorted(a["cluster_sizes"]) == sorted(b["cluster_sizes"]) and a["inertia"] == pytest.approx(b["inertia"])
    labels = []
    for d in ("a", "b"):
        with np.load(tmp_path / d / "labels.npz") as z:
            labels.append(dict(zip(z["post_id"].tolist(), z["label"].tolist(), strict=True)))
    assert labels[0] == labels[1] and len(labels[0]) == 600
    assert len(set(labels[0].values())) == 5


def test_assign_matches_kmeans_labels_in_blocks():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(c, 0.3, (200, 5)) for c in (0, 3, 6, 9)]).astype(np.float32)
    km = fit_kmeans(x, 4, seed=0)
    labels, inertia = assign(x, km["centroids"])
    np.testing.assert_array_equal(labels, km["labels"])
    assert inertia == pytest.approx(km["inertia"], rel=1e-4)
    with pytest.raises(ValueError, match="do not match"):
        assign(x[:, :3], km["centroids"])


def test_out_of_core_pseudo_labels_equal_the_in_memory_ones_when_the_sample_is_everything(world, tmp_path):
    from vise_lib.labels.pseudo_labels import build_pseudo_labels

    ref = build_pseudo_labels(_in_hash_order(world, tmp_path, 0), signal="both", n_clusters=6, svd_dim=16, seed=0)
    everything = {"fit_posts": 10_000, "kmeans_posts": 10_000}
    out = _out_of_core(world, tmp_path, "both", 128, n_clusters=6, svd_dim=16, seed=0, **everything)
    assert out["n_posts"] == 600 and out["phi_chunks"] == 5
    with np.load(tmp_path / "labels.npz") as z:
        labels, post_ids = z["label"], z["post_id"]
    by_id = dict(zip(ref.engagement.post_ids, ref.labels.tolist(), strict=True))
    # k-means on the same points in the same (hash) order with the same backend ("auto" in both) and seed
    assert labels.tolist() == [by_id[p] for p in post_ids.tolist()]
    assert out["backend"] == ref.backend and out["cluster_sizes"] == np.bincount(ref.labels, minlength=6).tolist()
    np.testing.assert_array_equal(np.load(tmp_path / "pseudo.npy"), labels)


@pytest.mark.parametrize("backend", ["sklearn", "faiss"])
def test_in_memory_and_out_of_core_agree_for_each_backend(world, tmp_path, backend):
    if backend == "faiss":
        pytest.importorskip("faiss")
    from vise_lib.labels.pseudo_labels import build_pseudo_labels

    hashed = _in_hash_order(world, tmp_path, 2)
    ref = build_pseudo_labels(hashed, signal="reactions", n_clusters=8, svd_dim=16, seed=2, backend=backend)
    out = _out_of_core(world, tmp_path, "reactions", 100, n_clusters=8, svd_dim=16, seed=2, backend=backend)
    by_id = dict(zip(ref.engagement.post_ids, ref.labels.tolist(), strict=True))
    with np.load(tmp_path / "labels.npz") as z:
        assert z["label"].tolist() == [by_id[p] for p in z["post_id"].tolist()]
        assert len(z["post_id"]) == 600 and z["image_index"].dtype == np.int64
    assert out["backend"] == backend


def test_out_of_core_with_small_samples_still_labels_every_post(world, tmp_path):
    out = _out_of_core(world, tmp_path, "reactions", 64, n_clusters=4, fit_posts=150, kmeans_posts=100, seed=1)
    assert out["fit_posts"] == 150 and out["kmeans_posts"] == 100
    assert sum(out["cluster_sizes"]) == 600 and min(out["cluster_sizes"]) > 0


def test_the_manifest_is_read_once_and_the_spilled_chunks_are_removed(world, tmp_path):
    reader = ManifestReader(world, chunk_rows=128)
    seen = []

    def once():  # a one-shot stream: a second read would find it empty
        for eng in reader:
            seen.append(len(eng))
            yield eng

    out = pseudo_labels_out_of_core(once(), tmp_path, "both", n_clusters=6, svd_dim=16, fit_posts=10_000)
    assert seen == [128, 128, 128, 128, 88] and out["n_posts"] == 600 and out["phi_chunks"] == 5
    assert reader.report.n_rows == 600 and not (tmp_path / "chunks").exists()
    ref = pseudo_labels_out_of_core(ManifestReader(world, chunk_rows=128), tmp_path / "ref", "both", 6, 16)
    assert out["cluster_sizes"] == ref["cluster_sizes"] and out["inertia"] == ref["inertia"]
    np.testing.assert_array_equal(np.load(tmp_path / "pseudo.npy"), np.load(tmp_path / "ref" / "pseudo.npy"))


def test_spilled_chunks_are_removed_when_the_run_fails(world, tmp_path):
    with pytest.raises(ValueError, match="fewer than n_clusters"):
        pseudo_labels_out_of_core(
            ManifestReader(world, chunk_rows=100), tmp_path, "reactions", n_clusters=50, fit_posts=20
        )
    assert not (tmp_path / "chunks").exists()


# --- one φ(e): captions and comment counts in both paths --------------------------------


def social_export(n=200, seed=0, comment_texts=False):
    """Posts like a social-media export: likes, a heavy-tailed comment count, captions on most
    posts and (optionally) a few comment texts."""
    rng = np.random.default_rng(seed)
    topics = [["sunset", "beach", "waves"], ["puppy", "cute", "dog"], ["vote", "election", "rally"]]
    rows = []
    for i in range(n):
        t = topics[i % 3]
        row = {
            "post_id": f"s{i:05d}",
            "image": f"img/{i}.jpg",
            "comments": [f"{t[0]} {t[i % 3]}"] if comment_texts and i % 4 == 0 else [],
            "reactions": {"like": int(rng.lognormal(8, 2.5))},
            "shares": int(rng.lognormal(3, 2)),
            "timestamp": 1600000000 + i,
            "n_comments": min(int(rng.lognormal(4, 2.5)), 765_000),
        }
        if i % 20:  # 190 of 200 have captions
            row["caption"] = f"my {t[0]} {t[(i + 1) % 3]} photo"
        rows.append(row)
    return rows


@pytest.fixture
def export_manifest(tmp_path):
    from conftest import write_manifest

    return write_manifest(tmp_path / "export.jsonl", social_export(comment_texts=True))


def test_the_sample_keeps_every_column_captions_and_comment_counts_included(export_manifest):
    import dataclasses

    eng, _ = read_manifest(export_manifest)
    sample = sample_posts(ManifestReader(export_manifest, chunk_rows=33), n=10_000)
    assert sorted(sample.post_ids) == sorted(eng.post_ids)
    row = {p: i for i, p in enumerate(sample.post_ids)}
    sample = sample.take([row[p] for p in eng.post_ids])  # compared post by post, whatever the sample's order
    for f in dataclasses.fields(eng):
        a, b = getattr(sample, f.name), getattr(eng, f.name)
        if isinstance(b, np.ndarray):
            np.testing.assert_array_equal(a, b, err_msg=f.name)
        else:
            assert a == b, f.name
    assert sum(map(bool, sample.captions)) == 190 and (sample.n_comments >= 0).all()


def test_same_posts_same_phi_in_memory_and_out_of_core(export_manifest, tmp_path):
    from vise_lib.labels.pseudo_labels import build_pseudo_labels

    ref = build_pseudo_labels(export_manifest, signal="all", n_clusters=5, svd_dim=8, seed=0, cache=False)
    everything = {"fit_posts": 10_000, "kmeans_posts": 10_000}
    out = _out_of_core(export_manifest, tmp_path, "all", 64, n_clusters=5, svd_dim=8, seed=0, **everything)
    phi = np.concatenate([np.load(f) for f in sorted((tmp_path / "phi").glob("[0-9]*[0-9].npy"))])
    assert phi.shape == ref.phi.shape
    np.testing.assert_allclose(phi, ref.phi, atol=1e-5)
    assert ref.text["captions"] == 190 and out["text"] == ref.text
    assert out["text"]["posts_with_comment_count_only"] == 150 and out["text"]["posts_without_text"] == 0
    # the caption-only posts are encoded (a non-zero comment block), not left at the origin
    width = ref.encoder.blocks["comments"].svd_.n_components
    caption_only = [i for i in range(200) if i % 4 and i % 20]
    assert np.all(np.linalg.norm(phi[caption_only, :width], axis=1) > 0.5)


def test_vise_labels_signal_all_on_captions_and_counts_only(tmp_path, capsys):
    from conftest import write_manifest

    from vise_lib.labels.out_of_core import main

    manifest = write_manifest(tmp_path / "m.jsonl", social_export())
    assert (
        main(["--manifest", str(manifest), "--out", str(tmp_path / "out"), "--signal", "all", "--n-clusters", "8"]) == 0
    )
    printed = capsys.readouterr().out
    assert "captions 190" in printed and "comments 0" in printed and "posts without text 10" in printed
    sizes = np.bincount(np.load(tmp_path / "out" / "pseudo.npy"), minlength=8)
    assert sizes.sum() == 200 and sizes.max() < 100  # spread, not one cluster holding almost every post

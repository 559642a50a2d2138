"""Calibration and contract tests for the synthetic world (vise_lib.world.generate)."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from scipy.stats import chi2_contingency

from vise_lib.world.generate import (
    AFFECTS, OBJECTS, REACTIONS, STANCES, WorldConfig, generate_world, load_downstream, load_latents, load_posts,
)
from vise_lib.world.diagnostics import engagement_probe, pixel_probe

SMALL = {"n_posts": 2400, "n_train": 600, "n_val": 300, "n_test": 600}
TINY = {"n_posts": 300, "n_train": 40, "n_val": 20, "n_test": 40}
FILES = ["world.json", "posts/manifest.jsonl", "posts/images.npy", "posts/latents.npz",
         "downstream/train.npz", "downstream/val.npz", "downstream/test.npz"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return generate_world(WorldConfig(seed=0, **SMALL), tmp_path_factory.mktemp("w0") / "world")


@pytest.fixture(scope="module")
def noisy_world(tmp_path_factory):
    sizes = {**SMALL, "n_train": TINY["n_train"], "n_val": TINY["n_val"], "n_test": TINY["n_test"]}
    cfg = WorldConfig(seed=0, engagement_noise=1.0, **sizes)
    return generate_world(cfg, tmp_path_factory.mktemp("w1") / "world")


def test_pixel_probe_above_chance_below_ceiling(world):
    res = pixel_probe(world)
    n_cls = {"emotion": len(AFFECTS), "stance": len(STANCES), "object": len(OBJECTS)}
    for task, acc in res["accuracy"].items():
        chance = max(res["chance"][task], 1 / n_cls[task])
        print(f"pixel probe {task}: acc={acc:.3f} chance={chance:.3f}")
        assert chance + 0.1 < acc < 0.9, (task, acc, chance)


def test_affect_not_separable_by_mean_colour(world):
    acc = pixel_probe(world, grid=1)["accuracy"]["emotion"]  # 3 features: the mean RGB
    print(f"mean-colour probe emotion: acc={acc:.3f}")
    assert acc < 0.75


def test_affect_recoverable_from_engagement_at_zero_noise(world):
    res = engagement_probe(world, "affect")
    print(f"engagement -> affect at noise 0: acc={res['accuracy']:.3f} chance={res['chance']:.3f}")
    assert res["chance"] + 0.35 < res["accuracy"] < 0.97  # well above chance, not trivially perfect


def test_engagement_carries_nothing_at_full_noise(noisy_world):
    for latent, k in (("affect", len(AFFECTS)), ("stance", len(STANCES)), ("object", len(OBJECTS))):
        res = engagement_probe(noisy_world, latent)
        print(f"engagement -> {latent} at noise 1: acc={res['accuracy']:.3f} chance={1 / k:.3f}")
        assert res["accuracy"] < max(res["chance"], 1 / k) + 0.06, (latent, res)


def test_object_independent_of_affect_and_stance(world):
    lat = load_latents(world)
    obj, aff, st = lat["object"], lat["affect"], lat["stance"]
    for split in ("train", "val", "test"):
        d = load_downstream(world, split)
        obj, aff, st = (np.concatenate([obj, d["object"]]), np.concatenate([aff, d["emotion"]]),
                        np.concatenate([st, d["stance"]]))
    for other, k in ((aff, len(AFFECTS)), (st, len(STANCES))):
        table = np.zeros((len(OBJECTS), k), int)
        np.add.at(table, (obj, other), 1)
        p = chi2_contingency(table).pvalue
        print(f"chi2 object vs {k}-class latent on {len(obj)} samples: p={p:.3f}")
        assert p > 0.01


def test_same_seed_identical_bytes_different_seed_differs(tmp_path):
    a = generate_world(WorldConfig(seed=3, **TINY), tmp_path / "a")
    b = generate_world(WorldConfig(seed=3, **TINY), tmp_path / "b")
    c = generate_world(WorldConfig(seed=4, **TINY), tmp_path / "c")
    for f in FILES:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    for f in FILES[1:]:
        assert (a / f).read_bytes() != (c / f).read_bytes(), f


def test_regenerate_replaces_atomically(tmp_path):
    out = generate_world(WorldConfig(seed=1, **TINY), tmp_path / "w")
    (out / "stale.txt").write_text("old")
    generate_world(WorldConfig(seed=2, **TINY), tmp_path / "w")
    assert not (out / "stale.txt").exists()
    assert json.loads((out / "world.json").read_text())["config"]["seed"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w"]  # no temp dirs left behind


@pytest.mark.parametrize("params, words", [
    ({"n_post": 10}, ["unknown", "n_post"]),
    ({"engagement_noise": 1.5}, ["engagement_noise", "[0, 1]"]),
    ({"engagement_noise": -0.1}, ["engagement_noise"]),
    ({"n_posts": 0}, ["n_posts", ">= 1"]),
    ({"n_posts": "100"}, ["n_posts", "integer"]),
    ({"n_posts": True}, ["n_posts"]),
    ({"image_px": 8}, ["image_px"]),
    ({"mean_comments": float("nan")}, ["mean_comments", "finite"]),
    ({"clutter": 9.0}, ["clutter"]),
])
def test_from_params_rejects_bad_input(params, words):
    with pytest.raises(ValueError) as e:
        WorldConfig.from_params(params)
    for w in words:
        assert w in str(e.value)


def test_from_params_accepts_valid_and_coerces_ints_for_floats():
    cfg = WorldConfig.from_params({"seed": 5, "engagement_noise": 1, "mean_comments": 3})
    assert cfg == WorldConfig(seed=5, engagement_noise=1.0, mean_comments=3.0)
    assert isinstance(cfg.engagement_noise, float)
    assert WorldConfig.from_params({}) == WorldConfig()
    cfg = WorldConfig.from_params({"n_posts": np.int64(7), "typo_rate": np.float32(0.5)})
    assert type(cfg.n_posts) is int and type(cfg.typo_rate) is float
    with pytest.raises(ValueError, match="n_posts"):
        WorldConfig.from_params({"n_posts": 10.0})


def test_manifest_format(world):
    lines = (world / "posts" / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    images = np.load(world / "posts" / "images.npy", mmap_mode="r")
    assert len(lines) == SMALL["n_posts"] == len(images)
    assert images.dtype == np.uint8 and images.shape[1:] == (32, 32, 3)
    n_empty, last_ts = 0, -1
    for i, line in enumerate(lines):
        p = json.loads(line)
        assert set(p) == {"post_id", "image_index", "comments", "reactions", "shares", "timestamp"}
        assert p["post_id"] == f"p{i:07d}" and p["image_index"] == i
        assert list(p["reactions"]) == list(REACTIONS)
        for v in [*p["reactions"].values(), p["shares"], p["timestamp"]]:
            assert type(v) is int and v >= 0
        assert all(isinstance(c, str) and c for c in p["comments"])
        assert p["timestamp"] > last_ts
        last_ts, n_empty = p["timestamp"], n_empty + (not p["comments"])
    print(f"posts without comments: {n_empty}/{len(lines)}")
    assert 0 < n_empty < len(lines) // 2
    assert load_posts(world)[0] == json.loads(lines[0])


def test_world_json_and_downstream(world):
    model = json.loads((world / "world.json").read_text(encoding="utf-8"))
    assert model["config"] == dataclasses.asdict(WorldConfig(seed=0, **SMALL))
    assert tuple(model["classes"]["affects"]) == AFFECTS
    assert set(model["engagement"]["reaction_mix"]) == set(AFFECTS)
    lat = load_latents(world)
    assert {k: v.dtype for k, v in lat.items()} == {"object": np.int64, "affect": np.int64,
                                                   "stance": np.int64, "popularity": np.float64}
    assert abs(lat["popularity"].mean() - 1) < 0.1
    for split, n in (("train", 600), ("val", 300), ("test", 600)):
        d = load_downstream(world, split)
        assert d["images"].shape == (n, 32, 32, 3) and d["images"].dtype == np.uint8
        for k in ("emotion", "stance", "object"):
            assert d[k].dtype == np.int64 and len(d[k]) == n
    post_imgs = np.load(world / "posts" / "images.npy")
    assert not np.array_equal(post_imgs[:600], load_downstream(world, "train")["images"])
    with pytest.raises(ValueError, match="split"):
        load_downstream(world, "dev")


def test_renders_at_64px(tmp_path):
    out = generate_world(WorldConfig(image_px=64, **TINY), tmp_path / "w64")
    assert np.load(out / "posts" / "images.npy").shape == (TINY["n_posts"], 64, 64, 3)
    assert load_downstream(out, "val")["images"].shape == (TINY["n_val"], 64, 64, 3)


def test_plots_return_figures(world):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vise_lib.world import diagnostics as wp
    for fig in (wp.plot_gallery(world, n=6), wp.plot_latent_distributions(world),
                wp.plot_engagement_vs_latents(world), wp.plot_downstream_examples(world, "stance")):
        assert isinstance(fig, plt.Figure)
        plt.close(fig)
    assert list(wp.reaction_mix_table(world).index) == list(AFFECTS)
    assert list(wp.top_words(world, "object", k=3).index) == list(OBJECTS)

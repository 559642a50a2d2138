"""Contract and calibration tests for the synthetic world (vise_lib.world)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import chi2_contingency

from vise_lib.world.config import WorldConfig
from vise_lib.world.diagnostics import engagement_probe
from vise_lib.world.generate import (
    AFFECTS,
    OBJECTS,
    REACTIONS,
    STANCES,
    generate_world,
    load_downstream,
    load_latents,
    load_posts,
)
from vise_lib.world.latents import CONTENTS, heldout_contents

SMALL = {"n_posts": 2400, "n_train": 600, "n_val": 300, "n_test": 600, "image_px": 24}
TINY = {"n_posts": 300, "n_train": 40, "n_val": 20, "n_test": 40, "image_px": 24}
FILES = [
    "world.json",
    "posts/manifest.jsonl",
    "posts/images.npy",
    "posts/latents.npz",
    "downstream/train.npz",
    "downstream/val.npz",
    "downstream/test.npz",
]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return generate_world(WorldConfig(seed=0, **SMALL), tmp_path_factory.mktemp("w0") / "world")


@pytest.fixture(scope="module")
def noisy_world(tmp_path_factory):
    cfg = WorldConfig(seed=0, engagement_noise=1.0, **{**SMALL, "n_train": 40, "n_val": 20, "n_test": 40})
    return generate_world(cfg, tmp_path_factory.mktemp("w1") / "world")


def test_content_has_many_classes_and_heldout_ones_only_downstream(world):
    assert len(OBJECTS) == len(CONTENTS) >= 30
    held = set(heldout_contents(WorldConfig().n_heldout_content).tolist())
    posts = set(load_latents(world)["object"].tolist())
    down = set(np.concatenate([load_downstream(world, s)["object"] for s in ("train", "val", "test")]).tolist())
    assert held and not (held & posts)
    assert held <= down


def test_pixel_reference_above_chance_below_ceiling_and_stance_not_settled_by_pixels(world):
    from vise_lib.study.scoring import score_references

    rows, _ = score_references(world, ["emotion", "stance", "object"], [0], names=("pixels",))
    chance = {"emotion": 100 / len(AFFECTS), "stance": 100 / len(STANCES), "object": 100 / len(OBJECTS)}
    for r in rows:
        print(f"pixel probe {r['task']}: {r['top1']:.1f} (chance {chance[r['task']]:.1f})")
        if r["task"] == "stance":  # the badge lands anywhere: pooled pixels at fixed places barely read it
            assert r["top1"] < chance["stance"] + 20, r
        else:
            assert chance[r["task"]] + 10 < r["top1"] < 95, r


def test_affect_recoverable_from_engagement_at_zero_noise(world):
    res = engagement_probe(world, "affect")
    print(f"engagement -> affect at noise 0: acc={res['accuracy']:.3f} chance={res['chance']:.3f}")
    assert res["chance"] + 0.2 < res["accuracy"] < 0.9  # well above chance, far from perfect


def test_engagement_carries_nothing_at_full_noise(noisy_world):
    for latent, k in (("affect", len(AFFECTS)), ("stance", len(STANCES)), ("object", len(OBJECTS))):
        res = engagement_probe(noisy_world, latent)
        print(f"engagement -> {latent} at noise 1: acc={res['accuracy']:.3f} chance={1 / k:.3f}")
        assert res["accuracy"] < max(res["chance"], 1 / k) + 0.06, (latent, res)


def test_reactions_are_like_dominated(world):
    r = np.array([[p["reactions"][k] for k in REACTIONS] for p in load_posts(world)], float)
    share = r.sum(0) / r.sum()
    print("reaction shares:", dict(zip(REACTIONS, share.round(3), strict=False)))
    assert share[REACTIONS.index("like")] > 0.5
    assert share.argmax() == REACTIONS.index("like")


@pytest.mark.parametrize("kappa, dependent", [(0.0, False), (0.6, True)])
def test_affect_depends_on_content_through_the_knob(tmp_path, kappa, dependent):
    w = generate_world(WorldConfig(affect_from_content=kappa, **{**TINY, "n_posts": 3000}), tmp_path / "w")
    lat = load_latents(w)
    table = np.zeros((len(CONTENTS), len(AFFECTS)), int)
    np.add.at(table, (lat["object"], lat["affect"]), 1)
    table = table[table.sum(1) > 0]
    p = chi2_contingency(table).pvalue
    print(f"kappa={kappa}: chi2 p={p:.2g}")
    assert (p < 1e-6) if dependent else (p > 0.001)


def test_stance_independent_of_content_and_affect(world):
    lat = load_latents(world)
    for other, k in ((lat["object"], len(CONTENTS)), (lat["affect"], len(AFFECTS))):
        table = np.zeros((k, len(STANCES)), int)
        np.add.at(table, (other, lat["stance"]), 1)
        assert chi2_contingency(table[table.sum(1) > 0]).pvalue > 0.001


def test_engagement_knobs_leave_images_and_downstream_identical(tmp_path):
    a = generate_world(WorldConfig(**TINY), tmp_path / "a")
    b = generate_world(
        WorldConfig(eng_affect=0.0, eng_content=3.0, engagement_noise=0.7, like_share=0.5, **TINY), tmp_path / "b"
    )
    for f in FILES[2:]:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    assert (a / "posts/manifest.jsonl").read_bytes() != (b / "posts/manifest.jsonl").read_bytes()


def test_nonvisual_world_comments_carry_no_content_words(tmp_path):
    cfg = WorldConfig(eng_content=0.0, eng_affect=0.0, eng_stance=0.0, **TINY)
    text = " ".join(c for p in load_posts(generate_world(cfg, tmp_path / "w")) for c in p["comments"])
    for word in ("stripes", "pyramid", "outrageous", "union"):
        assert word not in text
    assert "acct" in text


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
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w"]


@pytest.mark.parametrize(
    "params, words",
    [
        ({"n_post": 10}, ["unknown", "n_post", "n_posts"]),
        ({"engagement_noise": 1.5}, ["engagement_noise", "[0, 1]"]),
        ({"affect_from_content": -0.1}, ["affect_from_content"]),
        ({"n_posts": 0}, ["n_posts", ">= 1"]),
        ({"n_posts": "100"}, ["n_posts", "integer"]),
        ({"image_px": 8}, ["image_px"]),
        ({"mean_comments": float("nan")}, ["mean_comments", "finite"]),
        ({"like_share": 1.0}, ["like_share"]),
        ({"eng_affect": -1.0}, ["eng_affect"]),
    ],
)
def test_from_params_rejects_bad_input(params, words):
    with pytest.raises(ValueError) as e:
        WorldConfig.from_params(params)
    for w in words:
        assert w in str(e.value)


def test_manifest_format(world):
    lines = (world / "posts" / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
    images = np.load(world / "posts" / "images.npy", mmap_mode="r")
    assert len(lines) == SMALL["n_posts"] == len(images)
    assert images.dtype == np.uint8 and images.shape[1:] == (24, 24, 3)
    last_ts = -1
    for i, line in enumerate(lines):
        p = json.loads(line)
        assert set(p) == {"post_id", "image_index", "comments", "reactions", "shares", "timestamp"}
        assert p["post_id"] == f"p{i:07d}" and p["image_index"] == i
        assert list(p["reactions"]) == list(REACTIONS)
        assert all(isinstance(c, str) and c for c in p["comments"])
        assert p["timestamp"] > last_ts
        last_ts = p["timestamp"]
    lat = load_latents(world)
    assert {k: v.dtype for k, v in lat.items()} == {
        "object": np.int64,
        "affect": np.int64,
        "stance": np.int64,
        "poster": np.int64,
        "popularity": np.float64,
    }
    assert abs(lat["popularity"].mean() - 1) < 0.15


def test_plots_return_figures(world):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vise_lib.world import diagnostics as wp

    for fig in (
        wp.plot_gallery(world, n=6),
        wp.plot_latent_distributions(world),
        wp.plot_engagement_vs_latents(world),
        wp.plot_downstream_examples(world, "stance"),
    ):
        assert isinstance(fig, plt.Figure)
        plt.close(fig)
    assert list(wp.reaction_mix_table(world).index) == list(AFFECTS)


def test_the_stance_badge_sits_at_a_random_place_not_a_fixed_set_of_pixels():
    from vise_lib.world.render import STANCE_BADGE, paint_stance_badge

    n, px = 400, 24
    rng = np.random.default_rng(0)
    stance = rng.integers(0, 2, n)
    img = paint_stance_badge(np.zeros((n, px, px, 3), np.float32), rng, stance, 1.0)
    painted = img.sum(-1) > 0
    side = round(px * STANCE_BADGE["px_fraction"])
    assert (painted.sum((1, 2)) == side * side).all()  # one square badge per image
    corners = {(int(r.argmax()), int(c.argmax())) for r, c in zip(painted.any(2), painted.any(1), strict=True)}
    assert len(corners) > 100  # many places, not a frame
    # no single pixel carries the stance for most images: each is painted in at most a third of them
    assert painted.mean(0).max() < 1 / 3

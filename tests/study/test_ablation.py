import numpy as np
import pandas as pd
import pytest

from vise_lib.pretrain.config import TrainConfig
from vise_lib.study import ablation
from vise_lib.study import figures as ap
from vise_lib.study.label_information import conditional_mi, label_information, permuted_within

WORLD = {"seed": 0, "n_posts": 300, "image_px": 24, "n_train": 60, "n_val": 30, "n_test": 60}
LABELS = {"signal": "both", "n_clusters": 4, "svd_dim": 8, "seed": 0}


def test_plan_names_points_and_gives_seeds():
    pts = ablation.plan(
        WORLD,
        LABELS,
        ["content_only", "nonvisual_only"],
        [0.5, 1.0],
        [0.0],
        [0, 1],
        [1],
        seeds=[0, 1, 2],
        sweep_seeds=[0],
    )
    names = [p.name for p in pts]
    assert names == [
        "content_only",
        "nonvisual_only",
        "noise_0.5",
        "noise_1",
        "affect_0",
        "kmeans_seed_1",
        "world_seed_1",
    ]
    by = {p.name: p for p in pts}
    assert by["content_only"].world["eng_affect"] == 0 and by["content_only"].seeds == (0, 1, 2)
    assert by["noise_1"].seeds == (0, 1, 2) and by["noise_0.5"].seeds == (0,)
    assert by["kmeans_seed_1"].labels["seed"] == 1 and by["kmeans_seed_1"].world == WORLD
    assert by["world_seed_1"].variants == ("vise", "object")
    with pytest.raises(ValueError, match="unknown no-world"):
        ablation.plan(WORLD, LABELS, ["sideways"], [], [], [], [], [0], [0])


def test_plan_adds_budget_points_and_a_second_world_with_the_check_seeds():
    pts = ablation.plan(
        WORLD,
        LABELS,
        [],
        [],
        [],
        [1],
        [],
        seeds=[0, 1, 2, 3, 4],
        sweep_seeds=[0],
        check_seeds=[0, 1, 2],
        budget_factors=[2.0],
        weak_tie=0.3,
        base_epochs=12,
    )
    by = {p.name: p for p in pts}
    assert list(by) == ["kmeans_seed_1", "budget_2x", "weak_tie"]
    assert by["kmeans_seed_1"].seeds == (0, 1, 2)
    budget = by["budget_2x"]
    assert budget.variants == ("vise", "object", "shuffled") and budget.world == WORLD and budget.seeds == (0, 1, 2)
    assert budget.train_config(TrainConfig(epochs=12)).epochs == 24
    tie = by["weak_tie"]
    assert tie.world["affect_from_content"] == 0.3 and tie.variants == ("vise", "object", "shuffled")
    assert tie.train_config(TrainConfig(epochs=12)).epochs == 12


def test_point_runs_end_to_end_and_shares_images(tmp_path):
    cfg = TrainConfig(width=8, epochs=1, batch_size=64, num_threads=1)
    pts = ablation.plan(WORLD, LABELS, ["nonvisual_only"], [], [], [], [], seeds=[0], sweep_seeds=[0])
    out = ablation.run_point(pts[0], cfg, ["emotion"], [0], tmp_path)
    assert {r["backbone"] for r in out["rows"]} == {"nonvisual_only:vise"}
    assert all(0 <= r["top1"] <= 100 for r in out["rows"])
    assert set(out["correct"]) == {("nonvisual_only:vise", "emotion", 0, 0)}
    # each trained backbone's epoch log comes back, named by the point (the budget table reads it)
    ((name, h),) = out["histories"].items()
    assert name.startswith("nonvisual_only:") and h["variant"] == "vise" and h["seed"] == 0
    assert [row["epoch"] for row in h["history"]] == [1]
    base = ablation.world_for(WORLD, tmp_path)
    point = ablation.world_for(pts[0].world, tmp_path)
    assert base != point
    assert (base / "posts/images.npy").read_bytes() == (point / "posts/images.npy").read_bytes()
    # the non-visual world's pseudo labels follow the poster, not the content
    assert out["information"]["nmi_poster"] > out["information"]["nmi_object"]


def test_conditional_mi_reference_removes_the_bias():
    rng = np.random.default_rng(0)
    content = rng.integers(0, 8, 4000)
    affect = (content + (rng.random(4000) < 0.3) * rng.integers(0, 6, 4000)) % 6
    only_content = content * 3 + rng.integers(0, 3, 4000)  # labels: content plus noise
    with_affect = content * 6 + affect  # labels: content and affect
    a, b = (
        label_information(only_content, {"object": content, "affect": affect}),
        label_information(with_affect, {"object": content, "affect": affect}),
    )
    assert abs(a["cmi_excess"]) < 0.02 < b["cmi_excess"]
    perm = permuted_within(with_affect, content, seed=1)
    assert np.array_equal(np.bincount(perm), np.bincount(with_affect))
    assert conditional_mi(perm, affect, content) < conditional_mi(with_affect, affect, content)


def test_phase_frame_subtracts_the_main_baselines():
    main = pd.DataFrame(
        {
            "backbone": ["vise", "shuffled", "object"] * 2,
            "task": ["emotion"] * 6,
            "pretrain_seed": [0, 0, 0, 1, 1, 1],
            "probe_seed": 0,
            "top1": [60, 50, 55, 62, 52, 57.0],
        }
    )
    abl = pd.DataFrame(
        {
            "backbone": ["noise_1:vise"] * 2,
            "task": "emotion",
            "pretrain_seed": [0, 1],
            "probe_seed": 0,
            "top1": [51, 53.0],
            "kind": "noise",
            "value": 1.0,
        }
    )
    f = ap.phase_frame(main, abl, "noise", 0.0).set_index(["over", "x"])["advantage (points)"]
    assert f[("shuffled", 0.0)] == pytest.approx(10) and f[("shuffled", 1.0)] == pytest.approx(1)
    assert f[("object", 1.0)] == pytest.approx(-4)
    fig = ap.phase_plot(ap.phase_frame(main, abl, "noise", 0.0), "noise", "t")
    assert len(fig.axes) == 2


def test_phase_frames_only_for_swept_knobs():
    main = pd.DataFrame(
        {
            "backbone": ["vise", "shuffled", "object"],
            "task": "emotion",
            "pretrain_seed": 0,
            "probe_seed": 0,
            "top1": [60, 50, 55.0],
        }
    )
    abl = pd.DataFrame(
        {
            "backbone": ["affect_3:vise"],
            "task": "emotion",
            "pretrain_seed": 0,
            "probe_seed": 0,
            "top1": [58.0],
            "kind": "affect",
            "value": 3.0,
        }
    )
    frames = ap.phase_frames(main, abl, {"engagement_noise": 0.0, "eng_affect": 2.0})
    assert list(frames) == ["eng_affect (affect beyond content)"]
    f = frames["eng_affect (affect beyond content)"].set_index(["over", "x"])["advantage (points)"]
    assert f[("shuffled", 2.0)] == pytest.approx(10) and f[("object", 3.0)] == pytest.approx(3)
    assert ap.phase_frames(main, pd.DataFrame(), {"engagement_noise": 0.0, "eng_affect": 2.0}) == {}


def test_scores_plot_draws_a_bar_per_backbone_and_task_and_chance():
    scores = pd.DataFrame(
        {"backbone": ["vise", "object"] * 2, "task": ["emotion"] * 2 + ["stance"] * 2, "top1": [60, 50, 55, 52.0]}
    )
    fig = ap.scores_plot(scores, {"emotion": 1 / 6}, ["object", "vise"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["object", "vise"]
    assert len(ax.collections) >= 1  # the chance line

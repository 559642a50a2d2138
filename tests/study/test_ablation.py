import pandas as pd
import pytest

from vise_lib.study import ablation
from vise_lib.study import figures as ap
from vise_lib.pretrain.config import TrainConfig

WORLD = {"seed": 0, "n_posts": 240, "engagement_noise": 0.0, "n_train": 60, "n_val": 30, "n_test": 60}
LABELS = {"signal": "both", "n_clusters": 4, "svd_dim": 8, "seed": 0}


def test_plan_changes_one_factor_at_a_time():
    pts = ablation.plan(WORLD, LABELS, {"engagement_noise": [0.0, 1.0], "n_clusters": [4, 8]})
    assert [p.name for p in pts] == ["base", "engagement_noise=1.0", "n_clusters=8"]
    assert pts[1].world["engagement_noise"] == 1.0 and pts[1].labels == LABELS
    assert pts[2].labels["n_clusters"] == 8 and pts[2].world == WORLD
    with pytest.raises(ValueError, match="unknown ablation factor"):
        ablation.plan(WORLD, LABELS, {"epochs": [1]})


def test_points_and_baselines_run_end_to_end(tmp_path):
    cfg = TrainConfig(width=8, epochs=1, batch_size=64)
    rows = ablation.run_baselines(WORLD, cfg, ["emotion"], [0], tmp_path)
    assert [r["backbone"] for r in rows] == ["object", "random"]
    pts = ablation.plan(WORLD, LABELS, {"engagement_noise": [1.0]})
    outs = [ablation.run_point(p, cfg, ["emotion"], [0], tmp_path) for p in pts]
    # the noisy world reuses nothing of the base world's engagement, and its clusters carry no affect
    assert outs[0]["nmi_affect"] > outs[1]["nmi_affect"]
    rows += [r for o in outs for r in o["rows"]]
    assert all(0 <= r["top1"] <= 1 for r in rows)
    assert len(list((tmp_path / "worlds").iterdir())) == 2  # one world per distinct world config
    adv = ap.advantage(ap.frame(rows), "engagement_noise", 0.0, "object")
    assert sorted(adv["x"]) == [0.0, 1.0]
    base = next(r["top1"] for r in rows if r["point"] == "base")
    obj = next(r["top1"] for r in rows if r["backbone"] == "object")
    assert adv.set_index("x").loc[0.0, "advantage (points)"] == pytest.approx(100 * (base - obj))
    fig, table = ap.phase_diagram(ap.frame(rows))
    assert isinstance(table, pd.DataFrame) and len(fig.axes) == 2

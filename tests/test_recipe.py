"""The method on one screen runs end to end on a tiny world."""

import numpy as np

from vise_lib.pretrain.config import TrainConfig
from vise_lib.recipe import vise
from vise_lib.world.generate import WorldConfig, generate_world, load_downstream


def test_recipe_runs_the_whole_method_on_a_tiny_world(tmp_path):
    world = generate_world(
        WorldConfig(seed=0, n_posts=400, image_px=16, n_train=120, n_val=60, n_test=120), tmp_path / "world"
    )
    images = np.load(world / "posts" / "images.npy")
    downstream = {
        s: (d["images"], d["emotion"]) for s, d in ((s, load_downstream(world, s)) for s in ("train", "val", "test"))
    }
    out = vise(
        world / "posts" / "manifest.jsonl",
        images,
        downstream,
        tmp_path / "vise",
        n_clusters=8,
        train=TrainConfig(width=4, epochs=1, batch_size=64, device="cpu", num_threads=1),
    )
    assert out["pseudo_labels"].shape == (400,) and len(np.unique(out["pseudo_labels"])) == 8
    assert (tmp_path / "vise" / "backbone.pt").is_file() and out["pretrain"]["steps"] == 6
    n_classes = len(np.unique(downstream["test"][1]))
    assert out["probe"]["test"]["top1"] > 1.0 / n_classes + 0.1  # the world's emotion is learnable

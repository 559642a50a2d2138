"""Calibration the study depends on, with real (tiny) training: these can fail.

* the object baseline is not a strawman: object-supervised features beat an untrained network
  (BatchNorm statistics recomputed on the posts) on emotion by a clear margin;
* stance is measurable: some backbone beats chance on stance by >= 10 points.
"""

from __future__ import annotations

import numpy as np
import pytest

from vise_lib.pretrain.batchnorm import recompute_batchnorm_file
from vise_lib.pretrain.config import TrainConfig
from vise_lib.pretrain.loop import pretrain
from vise_lib.transfer.runner import resolve_backbones, run_transfer, world_tasks
from vise_lib.world.config import WorldConfig
from vise_lib.world.generate import generate_world, load_latents

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scores(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cal")
    world = generate_world(WorldConfig(n_posts=2000, image_px=24, n_train=600, n_val=200, n_test=600), tmp / "w")
    images = np.load(world / "posts" / "images.npy")
    cfg = TrainConfig(width=8, epochs=4, num_threads=1)
    obj = pretrain(images, [load_latents(world)["object"]], cfg, tmp / "object", progress=False)["backbone"]
    rnd = pretrain(images, None, cfg, tmp / "random", progress=False)["backbone"]
    recompute_batchnorm_file(rnd, images, cfg.arch, cfg.width, cfg.blocks)
    specs = resolve_backbones({"object": obj, "random": rnd}, cfg.arch, cfg.width, cfg.blocks)
    res = run_transfer(world_tasks(world, ["emotion", "stance"]), specs, [0, 1])
    out = {}
    for r in res["runs"]:
        out.setdefault((r["backbone"], r["task"]), []).append(100 * r["test"]["top1"])
    return {k: float(np.mean(v)) for k, v in out.items()}


def test_object_baseline_beats_random_init_on_emotion(scores):
    print(scores)
    assert scores[("object", "emotion")] > scores[("random", "emotion")] + 5


def test_some_backbone_beats_chance_on_stance_by_10_points(scores):
    assert max(scores[("object", "stance")], scores[("random", "stance")]) >= 50 + 10

import numpy as np
import torch

from vise_lib.backbones.archs import build_backbone
from vise_lib.pretrain.batchnorm import recompute_batchnorm
from vise_lib.study.backbone_runs import backbone_name, split_name
from vise_lib.study.reference_features import handmade_features, pixel_features
from vise_lib.study.scoring import score_rows


def test_handmade_features_are_fixed_finite_and_see_colour():
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, (10, 24, 24, 3), dtype=np.uint8)
    f = handmade_features(imgs)
    assert f.shape == (10, 50) and np.isfinite(f).all()
    assert np.array_equal(f, handmade_features(imgs))
    red = np.zeros((1, 24, 24, 3), np.uint8)
    red[..., 0] = 200
    blue = red[..., ::-1].copy()
    assert not np.allclose(handmade_features(red), handmade_features(blue))
    assert pixel_features(imgs).shape == (10, 8 * 8 * 3)


def test_batchnorm_recompute_matches_the_data_and_keeps_weights():
    net = build_backbone("small_resnet", width=4)
    before = {k: v.clone() for k, v in net.state_dict().items() if "running" not in k and "num_batches" not in k}
    imgs = np.full((64, 16, 16, 3), 250, np.uint8)
    assert recompute_batchnorm(net, imgs, batch_size=16) > 0
    bn = net[1]
    assert bn.momentum == 0.1  # restored
    assert not torch.allclose(bn.running_mean, torch.zeros_like(bn.running_mean))
    after = net.state_dict()
    assert all(torch.equal(v, after[k]) for k, v in before.items())


def test_score_rows_split_names_into_variant_and_seed():
    assert split_name(backbone_name("vise", 2)) == ("vise", 2) and split_name("pixels") == ("pixels", 0)
    runs = [
        {"backbone": "vise@2", "task": "emotion", "seed": 1, "protocol": "linear", "test": {"top1": 0.5}},
        {"backbone": "vise@2", "task": "emotion", "seed": 1, "protocol": "finetune", "test": {"top1": 0.9}},
    ]
    rows, corr = score_rows(runs, {("vise@2", "emotion", 1): np.array([True, False])}, prefix="w:")
    assert rows == [{"backbone": "w:vise", "task": "emotion", "pretrain_seed": 2, "probe_seed": 1, "top1": 50.0}]
    assert list(corr) == [("w:vise", "emotion", 2, 1)]

import pytest
import torch

from vise_lib.backbones.archs import build_backbone
from vise_lib.pretrain.objectives.simclr import (
    SimCLRModel,
    colour_distort,
    nt_xent,
    resized_crop_flip,
    two_views,
)


def _x(b=8, px=16, seed=0):
    return torch.rand(b, 3, px, px, generator=torch.Generator().manual_seed(seed))


def test_two_views_shape_determinism_and_difference():
    x = _x()
    a = two_views(x, torch.Generator().manual_seed(1))
    b = two_views(x, torch.Generator().manual_seed(1))
    c = two_views(x, torch.Generator().manual_seed(2))
    assert a.shape == (16, 3, 16, 16) and torch.equal(a, b) and not torch.equal(a, c)
    assert not torch.allclose(a[:8], a[8:])  # the two views differ
    with pytest.raises(ValueError, match="Generator"):
        two_views(x, None)
    with pytest.raises(ValueError, match="x_unit"):
        two_views(x[:, :2], torch.Generator())


def test_crop_full_scale_is_identity_or_flip():
    x = _x()
    out = resized_crop_flip(x, torch.Generator().manual_seed(0), scale=(1.0, 1.0), ratio=(1.0, 1.0))
    for o, i in zip(out, x, strict=True):
        assert torch.allclose(o, i, atol=1e-5) or torch.allclose(o, i.flip(2), atol=1e-5)


def test_colour_distort_stays_in_range_and_grays():
    x = _x(b=64)
    out = colour_distort(x, torch.Generator().manual_seed(0), strength=1.0, p_jitter=1.0, p_gray=1.0)
    assert out.min() >= 0 and out.max() <= 1
    assert torch.allclose(out[:, 0], out[:, 1]) and torch.allclose(out[:, 1], out[:, 2])
    same = colour_distort(x, torch.Generator().manual_seed(0), strength=0.0, p_gray=0.0)
    assert torch.allclose(same, x, atol=1e-6)


def test_nt_xent():
    z = torch.randn(6, 5)
    loss, hits = nt_xent(torch.cat([z, z]), temperature=0.1)  # identical views: positive ranks first
    assert hits.item() == 12 and loss.item() < 1.0
    rand_loss, _ = nt_xent(torch.randn(12, 5), temperature=0.1)
    assert rand_loss.item() > loss.item()
    with pytest.raises(ValueError):
        nt_xent(torch.randn(5, 3))
    with pytest.raises(ValueError):
        nt_xent(torch.randn(4, 3), temperature=0)


def test_model_gradients_reach_backbone():
    m = SimCLRModel(build_backbone("small_resnet", width=4), proj_dim=8)
    z = m(two_views(_x(b=4), torch.Generator().manual_seed(0)))
    assert z.shape == (8, 8)
    nt_xent(z)[0].backward()
    assert m.backbone[0].weight.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="proj_dim"):
        SimCLRModel(build_backbone("small_resnet", width=4), proj_dim=0)

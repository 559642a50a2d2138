"""torch.hub.load(..., source="local") builds our trunks and loads local checkpoints only."""

import pytest
import torch
import torchvision
from torch import nn

from conftest import REPO
from vise_lib.backbones.archs import build_backbone
from vise_lib.backbones.checkpoint import official_keys, save_backbone


def _hub(name, **kw):
    return torch.hub.load(str(REPO), name, source="local", trust_repo=True, **kw)


def test_resnet18_entry_point():
    m = _hub("vise_resnet18")
    assert isinstance(m, nn.Sequential) and m(torch.zeros(1, 3, 64, 64)).shape == (1, 512, 2, 2)
    assert list(m.state_dict()) == official_keys("resnet18")


def test_resnet50_official_layout_and_local_checkpoint(tmp_path):
    official = nn.Sequential(*list(torchvision.models.resnet50(weights=None).children())[:-2])
    torch.save(official.state_dict(), tmp_path / "resnet50_250m.pth")  # stands in for the released file
    m = _hub("vise_resnet50", checkpoint=str(tmp_path / "resnet50_250m.pth"))
    assert list(m.state_dict()) == list(official.state_dict()) == official_keys("resnet50")
    assert all(torch.equal(m.state_dict()[k], v) for k, v in official.state_dict().items())
    with pytest.raises(ValueError, match="never downloads"):
        _hub("vise_resnet50", pretrained=True)


def test_small_resnet_roundtrip(tmp_path):
    torch.manual_seed(0)
    ours = build_backbone("small_resnet", width=8)
    save_backbone(ours, tmp_path / "backbone.pt")
    m = _hub("vise_small_resnet", checkpoint=tmp_path / "backbone.pt", width=8)
    assert all(torch.equal(m.state_dict()[k], v) for k, v in ours.state_dict().items())
    assert _hub("vise_small_resnet", width=8)(torch.zeros(1, 3, 32, 32)).shape == (1, 64, 4, 4)


def test_checkpoint_entry_point_needs_only_the_path(tmp_path):
    torch.manual_seed(0)
    ours = build_backbone("small_resnet", width=4, blocks=2)
    save_backbone(ours, tmp_path / "backbone.pt")
    m = _hub("vise_checkpoint", checkpoint=tmp_path / "backbone.pt")
    assert all(torch.equal(m.state_dict()[k], v) for k, v in ours.state_dict().items())
    m = _hub("vise_small_resnet", checkpoint=tmp_path / "backbone.pt")  # width and blocks from the file
    assert m[0].weight.shape[0] == 4

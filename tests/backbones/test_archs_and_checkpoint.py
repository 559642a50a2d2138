import os

import pytest
import torch
import torchvision
from torch import nn

from vise_lib.backbones.archs import ARCHS, MultiHeadClassifier, build_backbone, feature_dim, pooled_features
from vise_lib.backbones.checkpoint import load_backbone, save_backbone

EXPECTED_32PX = {"small_resnet": (256, 4, 4), "resnet18": (512, 1, 1), "resnet50": (2048, 1, 1)}


@pytest.mark.parametrize("arch", ARCHS)
def test_shapes_at_32px(arch):
    torch.manual_seed(0)
    bb = build_backbone(arch).eval()
    with torch.no_grad():
        out = bb(torch.randn(2, 3, 32, 32))
        feats = pooled_features(bb, torch.randn(2, 3, 32, 32))
    assert tuple(out.shape) == (2, *EXPECTED_32PX[arch])
    assert feature_dim(bb) == EXPECTED_32PX[arch][0]
    assert tuple(feats.shape) == (2, feature_dim(bb))
    assert isinstance(bb, nn.Sequential) and len(bb) == 8


def test_resnet50_224px_matches_official_output():
    bb = build_backbone("resnet50").eval()
    with torch.no_grad():
        assert tuple(bb(torch.randn(1, 3, 224, 224)).shape) == (1, 2048, 7, 7)


def test_small_resnet_width_and_layout():
    bb = build_backbone("small_resnet", width=16)
    assert feature_dim(bb) == 128
    assert isinstance(bb[3], nn.Identity)
    keys = bb.state_dict().keys()
    assert {"0.weight", "1.running_mean", "4.0.conv1.weight", "7.0.bn2.weight"} <= set(keys)
    assert feature_dim(nn.Sequential(*list(bb.children()))) == 128  # inferred without the attribute


def test_resnet50_key_layout_is_official():
    official = nn.Sequential(*list(torchvision.models.resnet50(weights=None).children())[:-2])
    assert list(build_backbone("resnet50").state_dict().keys()) == list(official.state_dict().keys())


def test_multihead_classifier():
    model = MultiHeadClassifier(build_backbone("small_resnet", width=8), [3, 5])
    outs = model(torch.randn(4, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(4, 3), (4, 5)]
    with pytest.raises(ValueError):
        MultiHeadClassifier(build_backbone("small_resnet", width=8), [])


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown arch"):
        build_backbone("vgg16")
    with pytest.raises(ValueError, match="width"):
        build_backbone("small_resnet", width=0)


def _same(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_save_load_roundtrip(tmp_path):
    torch.manual_seed(1)
    bb = build_backbone("small_resnet", width=8)
    bb[1].running_mean.add_(0.5)  # non-default buffers travel too
    path = save_backbone(bb, tmp_path / "sub" / "bb.pt")
    assert path.is_file() and not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    assert _same(load_backbone(path, "small_resnet", width=8), bb)
    # a MultiHeadClassifier saves just its backbone
    save_backbone(MultiHeadClassifier(bb, [2]), tmp_path / "mh.pt")
    assert _same(load_backbone(tmp_path / "mh.pt", "small_resnet", width=8), bb)


def test_torchvision_layout_and_wrappers_load(tmp_path):
    torch.manual_seed(2)
    tv = torchvision.models.resnet18(weights=None)
    expected = nn.Sequential(*list(tv.children())[:-2])
    torch.save(tv.state_dict(), tmp_path / "tv.pt")
    assert _same(load_backbone(tmp_path / "tv.pt", "resnet18"), expected)
    wrapped = {"state_dict": {"module." + k: v for k, v in tv.state_dict().items()}, "epoch": 3}
    torch.save(wrapped, tmp_path / "wrapped.pt")
    assert _same(load_backbone(tmp_path / "wrapped.pt", "resnet18"), expected)
    torch.save({"model": expected.state_dict()}, tmp_path / "model.pt")
    assert _same(load_backbone(tmp_path / "model.pt", "resnet18"), expected)


def test_missing_num_batches_tracked_tolerated(tmp_path):
    bb = build_backbone("small_resnet", width=8)
    sd = {k: v for k, v in bb.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save(sd, tmp_path / "old.pt")
    assert _same(load_backbone(tmp_path / "old.pt", "small_resnet", width=8), bb)


def test_wrong_keys_and_shapes_name_the_file(tmp_path):
    sd = build_backbone("small_resnet", width=8).state_dict()
    sd["extra.weight"] = torch.zeros(1)
    del sd["0.weight"]
    torch.save(sd, tmp_path / "bad_keys.pt")
    with pytest.raises(ValueError, match=r"bad_keys\.pt.*0\.weight.*extra\.weight"):
        load_backbone(tmp_path / "bad_keys.pt", "small_resnet", width=8)
    save_backbone(build_backbone("small_resnet", width=8), tmp_path / "w8.pt")
    with pytest.raises(ValueError, match=r"w8\.pt: the file holds .*width=8.*describes itself.*width=16"):
        load_backbone(tmp_path / "w8.pt", "small_resnet", width=16)
    with pytest.raises(ValueError, match=r"w8\.pt.*resnet18"):
        load_backbone(tmp_path / "w8.pt", "resnet18")
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        load_backbone(tmp_path / "nope.pt", "small_resnet")
    (tmp_path / "garbage.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match=r"garbage\.pt"):
        load_backbone(tmp_path / "garbage.pt", "small_resnet")


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickle_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    torch.save({"state_dict": {"0.weight": _Payload(marker)}}, path)
    assert not marker.exists()  # saving does not run the payload
    with pytest.raises(ValueError, match=r"evil\.pt.*weights_only"):
        load_backbone(path, "small_resnet")
    assert not marker.exists()
    # control: the payload is real (an unrestricted unpickle runs it; here it only touches a file)
    torch.load(path, weights_only=False)
    assert marker.exists()


def test_official_keys_and_wrapper_saving(tmp_path):
    from vise_lib.backbones.checkpoint import official_keys
    from vise_lib.pretrain.objectives.simclr import SimCLRModel

    keys = official_keys("resnet50")
    assert keys[:4] == ["0.weight", "1.weight", "1.bias", "1.running_mean"] and "4.0.conv1.weight" in keys
    assert len(keys) == len(build_backbone("resnet50").state_dict())
    with pytest.raises(ValueError, match="torchvision"):
        official_keys("small_resnet")
    torch.manual_seed(3)
    bb = build_backbone("small_resnet", width=8)
    save_backbone(SimCLRModel(bb, proj_dim=4), tmp_path / "simclr.pt")  # projector dropped
    assert _same(load_backbone(tmp_path / "simclr.pt", "small_resnet", width=8), bb)
    torch.save({"state_dict": SimCLRModel(bb, proj_dim=4).state_dict()}, tmp_path / "simclr_full.pt")
    assert _same(load_backbone(tmp_path / "simclr_full.pt", "small_resnet", width=8), bb)

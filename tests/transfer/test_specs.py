"""Backbone specs: paths (ours, official trunks, torchvision files), torchvision:<arch>/<W> from the LOCAL
hub cache only, random:<arch>."""

import pytest
import torch

from conftest import write_fake_trunks
from vise_lib.backbones.archs import build_backbone
from vise_lib.backbones.checkpoint import save_backbone
from vise_lib.transfer.specs import parse_assignments, resolve_spec


@pytest.fixture(scope="module")
def trunks(tmp_path_factory):
    return write_fake_trunks(tmp_path_factory.mktemp("trunks"))


def test_paths_are_described_by_the_file(tmp_path, trunks):
    b = resolve_spec("vise", str(trunks["vise"]), tmp_path)
    assert (b["arch"], b["source"]) == ("resnet50", "official")
    ours = save_backbone(build_backbone("small_resnet", width=4, blocks=2), tmp_path / "ours.pt")
    b = resolve_spec("ours", str(ours), tmp_path)
    assert (b["arch"], b["width"], b["blocks"], b["source"]) == ("small_resnet", 4, 2, "recorded")
    with pytest.raises(FileNotFoundError, match="backbone 'x': checkpoint not found"):
        resolve_spec("x", str(tmp_path / "nope.pt"), tmp_path)


def test_torchvision_spec_reads_the_local_cache_only(tmp_path, trunks, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(trunks["torch_home"]))
    b = resolve_spec("imagenet", "torchvision:resnet18/IMAGENET1K_V1", tmp_path)
    assert b["arch"] == "resnet18" and b["source"] == "torchvision" and b["path"].endswith("resnet18-f37072fd.pth")
    calls = []
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", lambda *a, **k: calls.append(a))
    with pytest.raises(FileNotFoundError, match="not in the local torch hub cache.*--allow-download"):
        resolve_spec("imagenet", "torchvision:resnet50/IMAGENET1K_V2", tmp_path)
    assert calls == []  # nothing was fetched
    with pytest.raises(FileNotFoundError):  # the flag asks torch.hub (stubbed here), then the file is still absent
        resolve_spec("imagenet", "torchvision:resnet50/IMAGENET1K_V2", tmp_path, allow_download=True)
    assert len(calls) == 1
    with pytest.raises(ValueError, match="unknown weights 'IMAGENET9'"):
        resolve_spec("imagenet", "torchvision:resnet50/IMAGENET9", tmp_path)


def test_random_spec_is_written_once_and_deterministic(tmp_path):
    a = resolve_spec("r", "random:small_resnet/8x2", tmp_path)
    assert (a["arch"], a["width"], a["blocks"], a["source"]) == ("small_resnet", 8, 2, "random")
    first = open(a["path"], "rb").read()
    assert resolve_spec("r", "random:small_resnet/8x2", tmp_path)["path"] == a["path"]
    assert open(a["path"], "rb").read() == first
    with pytest.raises(ValueError, match="cannot parse"):
        resolve_spec("r", "random:", tmp_path)
    with pytest.raises(ValueError, match="arch must be one of"):
        resolve_spec("r", "random:vgg16", tmp_path)


def test_parse_assignments():
    assert parse_assignments(["a=1", "b = x:y"], "--dataset") == {"a": "1", "b": "x:y"}
    for bad in (["a"], ["=x"], ["a=1", "a=2"], ["a b=1"]):
        with pytest.raises(ValueError, match="--dataset"):
            parse_assignments(bad, "--dataset")

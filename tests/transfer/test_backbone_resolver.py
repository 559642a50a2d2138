"""One backbone resolver for every entry point: a bare path loads as the checkpoint describes itself
(the 03_downstream stage's config, ``vise evaluate``'s specs, torch.hub, load_backbone); an explicit
arch is only for a file that does not describe itself, and that error says so."""

import pytest
import torch
from conftest import REPO

from vise_lib.backbones.archs import build_backbone
from vise_lib.backbones.checkpoint import load_backbone, resolve_checkpoint, save_backbone
from vise_lib.stages.downstream import stage_backbones
from vise_lib.transfer.specs import resolve_spec
from vise_lib.transfer.stage_config import DownstreamConfig


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """The project's own small_resnet checkpoints, as the pretrain stage writes them."""
    d = tmp_path_factory.mktemp("ck")
    torch.manual_seed(0)
    return {
        "w4": save_backbone(build_backbone("small_resnet", width=4, blocks=2), d / "w4.pt"),
        "w8": save_backbone(build_backbone("small_resnet", width=8), d / "w8.pt"),
    }


@pytest.fixture(scope="module")
def undescribed(tmp_path_factory):
    """A file that does not describe itself: a trunk with one stage cut off."""
    sd = build_backbone("small_resnet", width=4).state_dict()
    sd = {k: v for k, v in sd.items() if not k.startswith("7.")}
    path = tmp_path_factory.mktemp("bad") / "cut.pt"
    torch.save(sd, path)
    return path


def test_stage_config_bare_paths_load_as_the_file_describes_itself(small, tmp_path):
    """The issue's failure: the 03_downstream stage forced bare paths to ResNet-50."""
    stage = DownstreamConfig(dataset="unused", backbones={"a": str(small["w4"]), "b": str(small["w8"])})
    specs = stage_backbones(stage, tmp_path)
    assert (specs["a"]["arch"], specs["a"]["width"], specs["a"]["blocks"]) == ("small_resnet", 4, 2)
    assert (specs["b"]["arch"], specs["b"]["width"], specs["b"]["blocks"]) == ("small_resnet", 8, 1)
    # random: specs work in a stage config too (the checkpoint goes under the run folder)
    specs = stage_backbones(DownstreamConfig(dataset="unused", backbones={"r": "random:small_resnet/4"}), tmp_path)
    assert specs["r"]["width"] == 4 and specs["r"]["path"].startswith(str(tmp_path.resolve()))


def test_every_entry_point_resolves_a_path_the_same_way(small, tmp_path):
    from_stage = stage_backbones(DownstreamConfig(dataset="unused", backbones={"a": str(small["w4"])}), tmp_path)["a"]
    from_evaluate = resolve_spec("a", str(small["w4"]), tmp_path)
    from_file = resolve_checkpoint(small["w4"])
    hub = torch.hub.load(str(REPO), "vise_checkpoint", source="local", trust_repo=True, checkpoint=str(small["w4"]))
    for key in ("arch", "width", "blocks"):
        assert from_stage[key] == from_evaluate[key] == from_file[key]
    assert hub[0].weight.shape[0] == 4 and sum(1 for _ in hub[4].children()) == 2


def test_an_explicit_arch_that_contradicts_the_file_names_what_the_file_holds(small, tmp_path):
    stage = DownstreamConfig(dataset="unused", backbones={"a": {"path": str(small["w4"]), "arch": "resnet50"}})
    with pytest.raises(ValueError, match=r"backbone 'a': .*holds a 'small_resnet' trunk, width=4, blocks=2.*describes"):
        stage_backbones(stage, tmp_path)
    with pytest.raises(ValueError, match="only for a file that does not describe itself"):
        torch.hub.load(str(REPO), "vise_resnet50", source="local", trust_repo=True, checkpoint=str(small["w4"]))
    # an explicit arch that agrees is accepted
    assert resolve_spec("a", {"path": str(small["w8"]), "arch": "small_resnet", "width": 8}, tmp_path)["width"] == 8


def test_a_file_that_does_not_describe_itself_needs_an_explicit_arch_and_the_error_says_so(undescribed, tmp_path):
    for call in (
        lambda: resolve_spec("cut", str(undescribed), tmp_path),
        lambda: load_backbone(undescribed),
        lambda: stage_backbones(DownstreamConfig(dataset="unused", backbones={"cut": str(undescribed)}), tmp_path),
    ):
        with pytest.raises(ValueError, match=r"does not describe itself, so give its architecture explicitly: \{path"):
            call()
    # with an explicit arch it is resolved as given, and loading then checks the keys strictly
    spec = resolve_spec("cut", {"path": str(undescribed), "arch": "small_resnet", "width": 4}, tmp_path)
    assert (spec["arch"], spec["width"], spec["source"]) == ("small_resnet", 4, "given")
    with pytest.raises(ValueError, match=r"cut\.pt: keys do not match .* missing \['7\."):
        load_backbone(undescribed, "small_resnet", width=4)

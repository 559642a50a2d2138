"""torch.hub entry points for the VisE companion's backbones.

``torch.hub.load(repo_dir, "vise_resnet50", source="local", checkpoint="resnet50_250m.pth")``
builds the trunk in the official VisE layout (``nn.Sequential`` of torchvision's ResNet-50
children without avgpool/fc) and loads a LOCAL checkpoint (``weights_only=True``). Nothing is
ever downloaded: the released VisE weights and our own ``backbone.pt`` files are given as paths.
``torch.hub.load(repo_dir, "vise_checkpoint", source="local", checkpoint=path)`` loads any of
them as the architecture the file describes (our recorded metadata, or the keys and shapes).
"""

dependencies = ["torch", "torchvision"]

from vise_lib.backbones.archs import build_backbone  # noqa: E402
from vise_lib.backbones.checkpoint import load_backbone


def _trunk(arch: str, pretrained: bool, checkpoint, **kw):
    kw = {k: v for k, v in kw.items() if v is not None}
    if pretrained and checkpoint is None:
        raise ValueError(f"pretrained=True needs checkpoint=<local path> for {arch!r}: this hub never downloads "
                         "weights (get the released VisE files, or train one with vise_lib.pretrain.loop)")
    if checkpoint is None:
        return build_backbone(arch, **kw)
    return load_backbone(checkpoint, arch, **kw)


def vise_resnet50(pretrained: bool = False, checkpoint=None):
    """ResNet-50 trunk in the VisE layout, output (B, 2048, 7, 7) at 224 px; loads ``checkpoint`` if given."""
    return _trunk("resnet50", pretrained, checkpoint)


def vise_resnet18(pretrained: bool = False, checkpoint=None):
    """ResNet-18 trunk in the VisE layout, output (B, 512, 7, 7) at 224 px; loads ``checkpoint`` if given."""
    return _trunk("resnet18", pretrained, checkpoint)


def vise_small_resnet(pretrained: bool = False, checkpoint=None, width: int | None = None, blocks: int | None = None):
    """The CPU-sized CIFAR-style ResNet for 32 px images (the embedded presets' backbone).

    Without ``checkpoint``, ``width`` defaults to 16 and ``blocks`` to 1; with one, both come from
    the file unless given."""
    if checkpoint is None:
        width, blocks = width or 16, blocks or 1
    return _trunk("small_resnet", pretrained, checkpoint, width=width, blocks=blocks)


def vise_checkpoint(checkpoint):
    """Any local checkpoint (ours, a released VisE trunk, a torchvision ResNet state dict), built as the
    architecture the file describes."""
    return load_backbone(checkpoint)

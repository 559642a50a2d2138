"""Training memory format: channels_last except where torch's CPU backward crashes."""

import subprocess
import sys

import torch

from vise_lib.backbones.archs import build_backbone
from vise_lib.backbones.memory_format import training_memory_format, unsafe_channels_last_convs

CPU, CUDA = torch.device("cpu"), torch.device("cuda")


def test_narrow_small_resnets_train_contiguous_on_cpu_and_the_rest_channels_last():
    narrow = build_backbone("small_resnet", width=4)
    assert unsafe_channels_last_convs(narrow) == ["5.0.downsample.0"]  # layer2's 1x1 stride-2 downsample
    assert training_memory_format(narrow, CPU) == torch.contiguous_format
    assert training_memory_format(narrow, CUDA) == torch.channels_last
    for model in (build_backbone("small_resnet", width=8), build_backbone("resnet18")):
        assert unsafe_channels_last_convs(model) == []
        assert training_memory_format(model, CPU) == torch.channels_last
    assert training_memory_format(build_backbone("small_resnet", width=8), CPU, False) == torch.contiguous_format


def test_a_narrow_small_resnet_trains_in_the_format_chosen_for_it():
    """The crash kills the process, so the step runs in a child; it must exit 0 on every CPU."""
    code = """
import torch
from vise_lib.backbones.archs import build_backbone
from vise_lib.backbones.memory_format import training_memory_format
torch.manual_seed(0)
model = build_backbone("small_resnet", width=4)
fmt = training_memory_format(model, torch.device("cpu"))
model = model.to(memory_format=fmt)
x = torch.randn(64, 3, 16, 16).to(memory_format=fmt)
model(x).sum().backward()
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]

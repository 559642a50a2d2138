"""The memory format a backbone trains in: ``channels_last`` wherever it is safe.

torch 2.14.1's CPU backward of a 1 × 1 stride-2 convolution in ``channels_last`` with fewer than
:data:`MIN_SAFE_CHANNELS` input channels corrupts the heap on CPUs without AVX-512 (seen on a
2-core AVX2 AMD EPYC): the process aborts with "double free or corruption" or "free(): invalid
size". ``small_resnet`` below width 8 has such a convolution (its first downsample). On CPU such a
model trains in the contiguous format instead; every other model keeps ``channels_last`` (faster
on CPU, and what bf16 convolutions want on a GPU). The batches follow the model's format.
"""

from __future__ import annotations

import torch
from torch import nn

MIN_SAFE_CHANNELS = 8  # 1 x 1 stride-2 convolutions with fewer input channels crash (above)


def unsafe_channels_last_convs(model: nn.Module) -> list[str]:
    """Names of the convolutions whose ``channels_last`` CPU backward may crash (see the module doc)."""
    return [
        name
        for name, m in model.named_modules()
        if isinstance(m, nn.Conv2d)
        and m.kernel_size == (1, 1)
        and m.stride != (1, 1)
        and m.in_channels < MIN_SAFE_CHANNELS
    ]


def training_memory_format(model: nn.Module, device: torch.device, channels_last: bool = True) -> torch.memory_format:
    """``channels_last`` when asked for and safe for ``model`` on ``device``, else the contiguous format."""
    if not channels_last or (device.type == "cpu" and unsafe_channels_last_convs(model)):
        return torch.contiguous_format
    return torch.channels_last

"""Recompute a backbone's BatchNorm running statistics on data (for the untrained ``random`` floor).

A freshly initialised network's BatchNorm layers hold mean 0 / variance 1, which do not match the
activations of real images; its frozen features then depend on that arbitrary mismatch. The
``random`` baseline therefore gets its running statistics re-estimated on the posts' images
(cumulative average over every batch, no augmentation, no gradient step: its weights stay the
initialisation).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from vise_lib.backbones.checkpoint import load_backbone, save_backbone
from vise_lib.backbones.tensors import check_images, to_tensor


def recompute_batchnorm(backbone: nn.Module, images: np.ndarray, batch_size: int = 256) -> int:
    """Re-estimate every BatchNorm running mean / variance of ``backbone`` on ``images`` in place.

    Returns the number of BatchNorm layers reset. Weights and biases are untouched.
    """
    check_images(images)
    bns = [m for m in backbone.modules() if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))]
    saved = [(m.momentum, m.training) for m in bns]
    for m in bns:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over all batches
    was_training = backbone.training
    backbone.train()
    try:
        with torch.no_grad():
            for start in range(0, len(images), batch_size):
                backbone(to_tensor(np.ascontiguousarray(images[start : start + batch_size])))
    finally:
        for m, (mom, _) in zip(bns, saved, strict=False):
            m.momentum = mom
        backbone.train(was_training)
    return len(bns)


def recompute_batchnorm_file(path, images: np.ndarray, arch: str, width: int, blocks: int) -> Path:
    """Load a backbone checkpoint, recompute its BatchNorm statistics on ``images``, save it back."""
    net = load_backbone(path, arch, width=width, blocks=blocks)
    recompute_batchnorm(net, images)
    return save_backbone(net, path)

"""Backbones: architectures and heads, image tensors and augmentation, checkpoints in the
official VisE trunk layout."""

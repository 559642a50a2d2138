"""Frozen-backbone features, extracted once and cached on disk.

A cache entry is one ``.npy`` file ``<root>/<key>.npy`` (``root`` is usually
``runs/<preset>/features``) holding float32 pooled features ``(N, C)``. The key hashes three
things, so a change in any of them is a different entry and a stale file is never read:

* the **checkpoint**: SHA-256 of the file's bytes (memoized per path, size and mtime, so an
  unchanged file is hashed once per process), plus the architecture it is loaded as;
* the **dataset**: SHA-256 of the decoded uint8 image array (shape included), so the same
  images under another path share an entry and re-rendered or re-decoded images do not;
* the **transform**: a dict of everything else that shapes the features (image size,
  normalization, pooling, ``FEATURE_VERSION``).

Writes are atomic (temp file, then rename). A cache file that cannot be read, or whose row
count does not match, is recomputed and overwritten, and counted in ``FeatureCache.stats``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from vise_lib.backbones.archs import pooled_features
from vise_lib.backbones.tensors import MEAN, STD, check_images, to_tensor
from vise_lib.io import save_npy

#: Bumped when extraction changes in a way the key cannot see (then every entry is stale).
FEATURE_VERSION = 1
_CKPT_MEMO: dict[tuple, str] = {}


def extract_features(backbone: nn.Module, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Pooled trunk features ``(N, C)`` float32 for uint8 images ``(N, H, W, 3)``.

    Runs in eval mode under ``torch.no_grad()`` with no augmentation, on the device of the
    backbone's parameters; the backbone's train/eval mode is restored afterwards.
    """
    check_images(images)
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    param = next(backbone.parameters(), None)
    device = param.device if param is not None else torch.device("cpu")
    was_training = backbone.training
    backbone.eval()
    chunks = []
    try:
        with torch.no_grad():
            for start in range(0, len(images), batch_size):
                x = to_tensor(images[start : start + batch_size]).to(device)
                chunks.append(pooled_features(backbone, x).float().cpu().numpy())
    finally:
        backbone.train(was_training)
    if not chunks:
        raise ValueError("images is empty")
    return np.concatenate(chunks).astype(np.float32, copy=False)


def checkpoint_id(path) -> str:
    """SHA-256 hex digest of a checkpoint file's bytes (memoized by path, size and mtime)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    st = path.stat()
    memo = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if memo not in _CKPT_MEMO:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _CKPT_MEMO[memo] = h.hexdigest()
    return _CKPT_MEMO[memo]


def array_id(images: np.ndarray) -> str:
    """SHA-256 hex digest of an array's dtype, shape and bytes (the dataset's identity)."""
    a = np.ascontiguousarray(images)
    h = hashlib.sha256(f"{a.dtype.str}{a.shape}".encode())
    h.update(a.data.cast("B"))  # a.data: the array's memoryview
    return h.hexdigest()


def default_transform(images: np.ndarray) -> dict:
    """The transform description of :func:`extract_features` for ``images`` (part of the key)."""
    return {
        "size": list(images.shape[1:3]),
        "normalize": [list(MEAN), list(STD)],
        "pool": "avg",
        "augment": None,
        "version": FEATURE_VERSION,
    }


def feature_key(checkpoint: str, dataset: str, transform: dict, model: dict | None = None) -> str:
    """Cache key (hex, 32 chars) from a checkpoint id, a dataset id, a transform and model kwargs."""
    blob = json.dumps(
        {"checkpoint": checkpoint, "dataset": dataset, "transform": transform, "model": model or {}}, sort_keys=True
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


class FeatureCache:
    """An on-disk cache of feature arrays, one ``<key>.npy`` per entry under ``root``.

    ``stats`` counts ``hits``, ``misses`` and ``invalid`` (unreadable or mismatched files that
    were recomputed). Entries are also kept in memory for the cache object's lifetime; with
    ``root=None`` nothing is written to disk.
    """

    def __init__(self, root=None):
        self.root = Path(root) if root is not None else None
        self.stats = {"hits": 0, "misses": 0, "invalid": 0}
        self._memory: dict[str, np.ndarray] = {}

    def path(self, key: str) -> Path | None:
        """File of an entry (``None`` for a memory-less cache)."""
        return None if self.root is None else self.root / f"{key}.npy"

    def get(self, key: str, compute: Callable[[], np.ndarray], n_rows: int | None = None) -> np.ndarray:
        """Return the cached array for ``key``, or ``compute()`` it, store it and return it.

        ``n_rows``, if given, is the expected first dimension; a cached file of another length
        is treated as invalid and recomputed.
        """
        if key in self._memory:
            self.stats["hits"] += 1
            return self._memory[key]
        path = self.path(key)
        if path is not None and path.is_file():
            try:
                arr = np.load(path, allow_pickle=False)
                if arr.ndim == 2 and (n_rows is None or len(arr) == n_rows) and np.isfinite(arr).all():
                    self.stats["hits"] += 1
                    self._memory[key] = arr
                    return arr
            except (OSError, ValueError, EOFError):
                pass
            self.stats["invalid"] += 1
        self.stats["misses"] += 1
        arr = np.asarray(compute(), dtype=np.float32)
        if path is not None:
            save_npy(path, arr)
        self._memory[key] = arr
        return arr


def cached_features(
    cache: FeatureCache,
    backbone_fn: Callable[[], nn.Module],
    checkpoint,
    images: np.ndarray,
    model: dict | None = None,
    batch_size: int = 256,
) -> np.ndarray:
    """Features of ``images`` under the checkpoint at ``checkpoint``, through ``cache``.

    Args:
        cache: the :class:`FeatureCache`.
        backbone_fn: builds the backbone; called only on a cache miss (so a cached run never
            loads the checkpoint).
        checkpoint: path of the checkpoint file (hashed into the key).
        images: uint8 ``(N, H, W, 3)``.
        model: the architecture kwargs the checkpoint is loaded with (part of the key).
    """
    check_images(images)
    key = feature_key(checkpoint_id(checkpoint), array_id(images), default_transform(images), model)
    return cache.get(key, lambda: extract_features(backbone_fn(), images, batch_size=batch_size), n_rows=len(images))

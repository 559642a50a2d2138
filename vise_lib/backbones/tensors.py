"""Image tensors and batch-level augmentation.

Images travel through the library as uint8 numpy arrays of shape ``(N, H, W, 3)``. They are
normalized with the ImageNet statistics (the released VisE trunks expect them) and augmented
per batch, vectorized, with an explicit ``torch.Generator`` so every run is reproducible. There
are no per-sample PIL transforms: at 32 px on a few CPU cores they would dominate the step.
"""

from __future__ import annotations

import contextlib
import functools
import math
import queue
import threading
from collections.abc import Callable, Iterable, Iterator

import numpy as np
import torch
import torch.nn.functional as F

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)
PAD_MODES = ("reflect", "zeros")


def check_images(images: object, name: str = "images") -> np.ndarray:
    """Validate a uint8 ``(N, H, W, 3)`` array and return it; ``ValueError`` otherwise."""
    if not isinstance(images, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(images).__name__}")
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"{name} must have shape (N, H, W, 3), got {images.shape}")
    if images.dtype != np.uint8:
        raise ValueError(f"{name} must be uint8, got {images.dtype}")
    return images


def check_labels(label_sets: object, n: int) -> list[np.ndarray]:
    """Validate a non-empty list of 1-D non-negative int label arrays of length ``n``; return int64 copies."""
    if not isinstance(label_sets, (list, tuple)) or not label_sets:
        raise ValueError("label_sets must be a non-empty list of 1-D int arrays (or None for 'random')")
    out = []
    for i, y in enumerate(label_sets):
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != n or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"label_sets[{i}] must be a 1-D int array of length {n}, got {y.dtype} {y.shape}")
        if y.min() < 0:
            raise ValueError(f"label_sets[{i}] has negative labels (min {y.min()})")
        out.append(y.astype(np.int64))
    return out


def as_nchw(images_uint8: np.ndarray) -> torch.Tensor:
    """uint8 images ``(N, H, W, 3)`` as a uint8 tensor ``(N, 3, H, W)``: a view, no copy
    (:func:`augment` crops and flips it as cheaply as a quarter of the float batch)."""
    return torch.from_numpy(np.ascontiguousarray(check_images(images_uint8))).permute(0, 3, 1, 2)


def to_unit(images_uint8: np.ndarray) -> torch.Tensor:
    """Convert uint8 images ``(N, H, W, 3)`` to a float32 tensor ``(N, 3, H, W)`` in ``[0, 1]``."""
    return as_nchw(images_uint8).float().div_(255.0)


def normalize(x: torch.Tensor) -> torch.Tensor:
    """Normalize a ``(N, 3, H, W)`` tensor in ``[0, 1]`` with the ImageNet mean and std (in place)."""
    mean = torch.tensor(MEAN, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
    return x.sub_(mean).div_(std)


def normalized(x_uint8: torch.Tensor) -> torch.Tensor:
    """A uint8 ``(N, 3, H, W)`` tensor as a normalized, contiguous float32 one."""
    return normalize(x_uint8.float().div_(255.0)).contiguous()


@functools.lru_cache(maxsize=16)
def _stats(device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    view = (1, 3, 1, 1)
    return (
        torch.tensor(MEAN, dtype=dtype, device=device).view(view),
        torch.tensor(STD, dtype=dtype, device=device).view(view),
    )


def normalized_as_is(x_uint8: torch.Tensor) -> torch.Tensor:
    """A uint8 ``(N, 3, H, W)`` tensor as a normalized float32 one in the same memory layout
    (channels_last stays channels_last), on its own device: what the pretraining loop does on
    the GPU to the uint8 batches its loader sends. Value for value equal to :func:`normalized`
    (the same elementwise float32 arithmetic in the same order); the mean and std tensors are
    made once per device (no host-to-device copy a step)."""
    mean, std = _stats(x_uint8.device, torch.float32)
    return x_uint8.float().div_(255.0).sub_(mean).div_(std)


def to_tensor(images_uint8: np.ndarray) -> torch.Tensor:
    """Convert uint8 images ``(N, H, W, 3)`` to a normalized float32 tensor ``(N, 3, H, W)``."""
    return normalized(as_nchw(images_uint8))


def augment(
    batch: torch.Tensor,
    generator: torch.Generator,
    pad: int = 4,
    flip: bool = True,
    padding_mode: str = "reflect",
    memory_format: torch.memory_format = torch.contiguous_format,
) -> torch.Tensor:
    """Random crop (pad, then crop back at a random offset per image) and horizontal flip.

    Vectorized over the batch and deterministic given ``generator`` (a CPU generator; the
    random draws are moved to ``batch.device``). The output has the shape of ``batch``. It only
    moves pixels, so a uint8 batch (:func:`as_nchw`) augmented, then :func:`normalized`, equals
    the normalized batch augmented, value for value, at a quarter of the memory traffic.

    Args:
        batch: float tensor ``(B, C, H, W)``.
        generator: source of all randomness.
        pad: pixels padded on each side before cropping; 0 disables the crop.
        flip: flip each image left-right with probability 1/2.
        padding_mode: ``"reflect"`` or ``"zeros"`` (zero in normalized space, i.e. the mean
            colour; float batches only).
        memory_format: the output's layout (``torch.channels_last``: NHWC bytes, what a GPU
            step wants; the values do not depend on it).
    """
    if not isinstance(batch, torch.Tensor) or batch.dim() != 4:
        raise ValueError(f"batch must be a (B, C, H, W) tensor, got {getattr(batch, 'shape', type(batch))}")
    if not isinstance(generator, torch.Generator):
        raise ValueError("generator must be a torch.Generator")
    if isinstance(pad, bool) or not isinstance(pad, int) or pad < 0:
        raise ValueError(f"pad must be a non-negative int, got {pad!r}")
    if padding_mode not in PAD_MODES:
        raise ValueError(f"padding_mode must be one of {PAD_MODES}, got {padding_mode!r}")
    b, _, h, w = batch.shape
    if padding_mode == "reflect" and pad >= min(h, w):
        raise ValueError(f"reflect padding needs pad < image size, got pad={pad} for {h}x{w}")
    if padding_mode == "zeros" and pad and not batch.is_floating_point():
        raise ValueError("padding_mode 'zeros' means the mean colour of a normalized batch: augment a float one")
    if b == 0:
        return batch.contiguous(memory_format=memory_format)
    # the draws, in this order: crop offsets, then flips (the results depend on it)
    offsets = torch.randint(0, 2 * pad + 1, (2, b), generator=generator).to(batch.device) if pad > 0 else None
    mask = (torch.rand(b, generator=generator) < 0.5).to(batch.device) if flip else None
    if offsets is None:
        out = batch if mask is None else torch.where(mask[:, None, None, None], batch.flip(3), batch)
        return out.contiguous(memory_format=memory_format)
    rows = offsets[0][:, None] + torch.arange(h, device=batch.device)  # (B, H), in padded coordinates
    cols = offsets[1][:, None] + torch.arange(w, device=batch.device)  # (B, W)
    if padding_mode == "reflect":  # no padded copy: the rows and columns the padding would mirror
        source, rows, cols = batch, _mirror(rows - pad, h), _mirror(cols - pad, w)
    else:
        source = F.pad(batch, (pad, pad, pad, pad), mode="constant")
    if mask is not None:  # a flipped image reads its crop's columns right to left: one gather does both
        cols = torch.where(mask[:, None], cols.flip(1), cols)
    # source as rows of C values, one a pixel; gather (B, H, W) pixels (whole rows of C: 2.5x
    # faster than indexing (B, H', W', C) directly), back to (B, C, H, W)
    pixels = source.permute(0, 2, 3, 1).reshape(-1, batch.shape[1])
    hs, ws = source.shape[2:]
    at = (torch.arange(b, device=batch.device)[:, None, None] * hs + rows[:, :, None]) * ws + cols[:, None, :]
    out = pixels.index_select(0, at.reshape(-1)).view(b, h, w, -1).permute(0, 3, 1, 2)
    return out.contiguous(memory_format=memory_format)  # NHWC already: channels_last costs no copy


def resized_crop_flip(
    x: torch.Tensor,
    g: torch.Generator,
    scale: tuple[float, float] = (0.25, 1.0),
    ratio: tuple[float, float] = (3 / 4, 4 / 3),
    memory_format: torch.memory_format = torch.contiguous_format,
) -> torch.Tensor:
    """Random resized crop (area fraction in ``scale``, aspect in ``ratio``) and flip, per image.

    The crop box is resized back to the input size by nearest-neighbour sampling, vectorized
    over the batch as one gather (at 32 px this costs a fraction of bilinear ``grid_sample``),
    so it works on uint8 batches as on float ones; the output keeps the input size, in
    ``memory_format``. A crop of the full image is the image (or its mirror). With
    ``scale=(0.08, 1.0)`` this is torchvision's ``RandomResizedCrop`` box distribution
    (one draw, no retries) with nearest-neighbour instead of bilinear resizing.
    """
    b, _, hgt, wid = x.shape

    def uniform(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(b, generator=g)

    area = uniform(*scale)
    log_r = uniform(math.log(ratio[0]), math.log(ratio[1]))
    cw = (torch.sqrt(area * torch.exp(log_r)) * wid).round().clamp(1, wid).long()  # crop size in pixels
    ch = (torch.sqrt(area / torch.exp(log_r)) * hgt).round().clamp(1, hgt).long()
    left = (torch.rand(b, generator=g) * (wid - cw + 1)).long()
    top = (torch.rand(b, generator=g) * (hgt - ch + 1)).long()
    flip = torch.rand(b, generator=g) < 0.5
    rows = top[:, None] + ((torch.arange(hgt) + 0.5)[None] * ch[:, None] / hgt).long()  # (B, H)
    cols = left[:, None] + ((torch.arange(wid) + 0.5)[None] * cw[:, None] / wid).long()  # (B, W)
    cols = torch.where(flip[:, None], cols.flip(1), cols)
    dev = x.device
    bidx = torch.arange(b, device=dev)[:, None, None]
    out = x.permute(0, 2, 3, 1)[bidx, rows.to(dev)[:, :, None], cols.to(dev)[:, None, :]]  # (B, H, W, C)
    return out.permute(0, 3, 1, 2).contiguous(memory_format=memory_format)


def _mirror(i: torch.Tensor, n: int) -> torch.Tensor:
    """Indices in ``[-(n-1), 2(n-1)]`` reflected into ``[0, n)`` as ``F.pad(mode="reflect")`` does."""
    return (n - 1) - ((n - 1) - i.abs()).abs()


def iterate_batches(
    n: int,
    batch_size: int,
    generator: torch.Generator | None = None,
    shuffle: bool = True,
    drop_last: bool = False,
) -> Iterator[torch.Tensor]:
    """Yield int64 index tensors covering ``range(n)`` in batches of ``batch_size``.

    With ``shuffle=True`` the order is ``torch.randperm(n, generator=generator)``; with
    ``drop_last=True`` a final short batch is skipped.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    if shuffle and not isinstance(generator, torch.Generator):
        raise ValueError("shuffle=True needs a torch.Generator")
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        yield order[start : start + batch_size]


def num_batches(n: int, batch_size: int, drop_last: bool = False) -> int:
    """Number of batches :func:`iterate_batches` yields for ``n`` items."""
    return n // batch_size if drop_last else -(-n // batch_size)


_DONE = object()


def prefetch(items: Iterable, fn: Callable, depth: int = 2) -> Iterator:
    """Yield ``fn(item)`` for each item, computed ``depth`` items ahead in a background thread.

    With ``depth=0`` everything runs inline. The results and their order are exactly those of
    ``map(fn, items)`` (``fn`` must not depend on shared mutable state, e.g. use one
    ``torch.Generator`` per item); an exception in ``fn`` is re-raised here. Stopping early
    (closing the generator) stops the thread.
    """
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
        raise ValueError(f"depth must be a non-negative int, got {depth!r}")
    if depth == 0:
        yield from map(fn, items)
        return
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                q.put((True, fn(item)))
        except BaseException as e:  # handed to the consumer
            q.put((False, e))
        q.put((True, _DONE))

    thread = threading.Thread(target=work, name="vise-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            ok, value = q.get()
            if not ok:
                raise value
            if value is _DONE:
                return
            yield value
    finally:
        stop.set()
        while thread.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                q.get(timeout=0.05)
        thread.join()

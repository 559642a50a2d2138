"""torch.distributed helpers for pretraining under ``torchrun`` (one process per device).

A single process (a notebook, ``python -m vise_lib.pretrain``) is world size 1 and never touches
``torch.distributed``. Under ``torchrun`` the ``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` variables
are set; :func:`init_from_env` then starts the process group (NCCL on CUDA, gloo on CPU) and
the training loop wraps its model in ``DistributedDataParallel`` and shards each epoch with
``DistributedSampler``. Only rank 0 writes files.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DistributedSampler


def env_rank_world() -> tuple[int, int, int]:
    """``(rank, world_size, local_rank)`` from the ``torchrun`` environment (``(0, 1, 0)`` outside it)."""
    try:
        rank, world, local = (int(os.environ.get(k, d)) for k, d in (("RANK", 0), ("WORLD_SIZE", 1), ("LOCAL_RANK", 0)))
    except ValueError as e:
        raise ValueError(f"RANK / WORLD_SIZE / LOCAL_RANK must be integers: {e}") from e
    return rank, world, local


def resolve_device(requested: str, local_rank: int, distributed: bool, cuda_available: bool) -> torch.device:
    """The device a process trains on, for ``TrainConfig.device`` ``requested``.

    ``"cpu"`` is the CPU. ``"auto"`` is CUDA when ``cuda_available``, else the CPU. A CUDA run
    of several processes (``distributed``: ``torchrun`` with ``WORLD_SIZE`` > 1) always binds
    each process to GPU ``local_rank``, whatever index ``requested`` names (``--device cuda:0``
    under ``torchrun`` must not put every rank on GPU 0; each process sees all the machine's
    GPUs). A single process keeps the index it asked for (``"cuda"``: the current GPU). CUDA
    asked for without one raises ``ValueError`` (never a silent CPU run).
    """
    if requested == "cpu" or (requested == "auto" and not cuda_available):
        return torch.device("cpu")
    if requested != "auto" and not requested.startswith("cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda[:i]', got {requested!r}")
    if not cuda_available:
        raise ValueError(f"device {requested!r} asked for, but torch sees no CUDA device")
    if distributed:
        return torch.device("cuda", local_rank)
    return torch.device("cuda" if requested == "auto" else requested)


def run_device(requested: str) -> torch.device:
    """:func:`resolve_device` for this process: ``LOCAL_RANK`` and ``WORLD_SIZE`` from the
    ``torchrun`` environment (or the process group), CUDA as torch sees it."""
    _, env_world, local_rank = env_rank_world()
    distributed = max(env_world, rank_world()[1]) > 1
    return resolve_device(requested, local_rank, distributed, torch.cuda.is_available())


def init_from_env(device: str = "auto") -> bool:
    """Start the default process group when launched by ``torchrun`` with more than one process.

    Uses NCCL when the run is on CUDA (``device`` ``"auto"`` with a GPU present, or
    ``"cuda..."``; each process then uses GPU ``LOCAL_RANK``), gloo otherwise. Returns True if
    a process group is (now) initialized, False for a single process.
    """
    if dist.is_available() and dist.is_initialized():
        return True
    _, world, local_rank = env_rank_world()
    if world <= 1:
        return False
    cuda = resolve_device(device, local_rank, True, torch.cuda.is_available()).type == "cuda"
    if cuda:
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend="nccl" if cuda else "gloo")
    return True


def cleanup() -> None:
    """Destroy the default process group if one is initialized."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def rank_world() -> tuple[int, int]:
    """``(rank, world_size)`` of the initialized process group, ``(0, 1)`` without one."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_main() -> bool:
    """True on rank 0 (and in a single process): the process that writes files and logs."""
    return rank_world()[0] == 0


def barrier() -> None:
    """Wait for every rank (no-op in a single process)."""
    if rank_world()[1] > 1:
        dist.barrier()


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum ``t`` over ranks in place (no-op in a single process); returns ``t``."""
    if rank_world()[1] > 1:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def all_gather_objects(obj: Any) -> list[Any]:
    """``[obj of rank 0, obj of rank 1, ...]`` (``[obj]`` in a single process)."""
    world = rank_world()[1]
    if world == 1:
        return [obj]
    out: list[Any] = [None] * world
    dist.all_gather_object(out, obj)
    return out


def average_buffers(model: nn.Module) -> None:
    """Average floating-point buffers (BatchNorm running statistics) over ranks, in place.

    DDP keeps parameters identical on every rank, but each rank's last forward pass updates
    its BatchNorm statistics with its own shard; averaging makes the final model the same
    everywhere (and a better estimate than rank 0's alone).
    """
    world = rank_world()[1]
    if world == 1:
        return
    for b in model.buffers():
        if b.is_floating_point():
            dist.all_reduce(b, op=dist.ReduceOp.SUM)
            b.div_(world)


def state_digest(model: nn.Module) -> str:
    """SHA-1 of every parameter and buffer (names, shapes, dtypes and bytes) of ``model``."""
    h = hashlib.sha1()
    for k, v in sorted(model.state_dict().items()):
        t = v.detach().cpu().contiguous()
        h.update(f"{k}:{tuple(t.shape)}:{t.dtype}\0".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def epoch_indices(n: int, epoch: int, seed: int, rank: int = 0, world: int = 1) -> np.ndarray:
    """This rank's shuffled sample indices for ``epoch``, from ``torch.utils.data.DistributedSampler``.

    ``DistributedSampler(range(n), world, rank, shuffle=True, seed=seed, drop_last=True)``
    after ``set_epoch(epoch)``: every rank draws the same permutation and takes every
    ``world``-th entry, so the shards are disjoint and together cover ``n - n % world`` items.
    """
    # the sampler only takes len() of its dataset: a range of n is the smallest stand-in
    sampler: DistributedSampler[int] = DistributedSampler(
        range(n),  # type: ignore[arg-type]
        num_replicas=world,
        rank=rank,
        shuffle=True,
        seed=seed,
        drop_last=True,
    )
    sampler.set_epoch(epoch)
    return np.fromiter(iter(sampler), dtype=np.int64, count=len(sampler))

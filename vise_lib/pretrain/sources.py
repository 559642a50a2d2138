"""The pretraining loop's data: one interface, :class:`DataSource`, for images in memory and streamed.

The loop asks a source for its sample count, its identity (what a checkpoint must match to
resume on it) and, each epoch, the batches of this rank from a given batch on; it never asks
where they come from. Two sources implement it:

* :class:`ArraySource`: a uint8 ``(N, H, W, 3)`` array (in memory or memory-mapped) and its
  label sets. Each epoch is a ``DistributedSampler`` permutation seeded by ``(seed, epoch)``
  (:func:`vise_lib.pretrain.distributed.epoch_indices`), cut into batches (a final short batch
  is dropped) and prepared by :func:`batch_stream` (in a thread) or by loader worker
  processes (``workers``; the batches are the same).
* :class:`vise_lib.pretrain.streaming.ShardSource`: WebDataset shards, pseudo labels joined by
  post id, decoded and prepared in loader workers (see that module for its order).

Both prepare batch ``b`` of epoch ``e`` (``steps`` batches an epoch) with the objective's
``prepare`` and the generator seeded by ``(cfg.seed, e * steps + b, rank)``, so a run resumed at
any step sees the batches an uninterrupted one would. A prepared batch is uint8 (channels_last
memory) for the image-classification objectives: the loop copies it to the training device and
normalizes it there (:meth:`~vise_lib.pretrain.objectives.base.Objective.finish`). When the
run is on CUDA, batches arrive in pinned memory, so that copy is asynchronous. A new source (another storage format) is
one :class:`DataSource` subclass; ``pretrain`` takes it where it takes an array.
"""

from __future__ import annotations

import abc
import os
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from vise_lib.backbones.tensors import check_images, check_labels, prefetch
from vise_lib.io import array_digest
from vise_lib.pretrain import distributed as D
from vise_lib.pretrain.config import TrainConfig, derived_seed
from vise_lib.pretrain.objectives import OBJECTIVES

Batch = tuple[torch.Tensor, list[torch.Tensor]]  # (prepared images, one int64 label tensor per head)


def default_workers() -> int:
    """Loader worker processes per training process: the cores this process may use (its CPU
    affinity), shared by the ``LOCAL_WORLD_SIZE`` processes ``torchrun`` starts on this
    machine, less one per process for its training step; at least 1."""
    local = max(int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1), 1)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 2)
    return max(1, cores // local - 1)


def one_thread(_worker_id: int) -> None:
    """A loader worker's ``worker_init_fn``: one torch thread, so workers do not compete with
    each other and with the training step for cores."""
    torch.set_num_threads(1)


def pins(cfg: TrainConfig) -> bool:
    """Whether batches for a run of ``cfg`` go to pinned memory (a CUDA run: the copy to the
    GPU is then asynchronous)."""
    return D.run_device(cfg.device).type == "cuda"


@dataclass(frozen=True)
class Span:
    """Batches ``start .. steps-1`` of ``epoch`` (``steps`` batches an epoch, ``batch`` samples
    each) on ``rank`` of ``world``."""

    epoch: int
    start: int
    steps: int
    batch: int
    rank: int = 0
    world: int = 1


class DataSource(abc.ABC):
    """What the pretraining loop trains on.

    Attributes:
        shape: ``(n, H, W, 3)``: the sample count and one image's shape.
        label_sets: int64 label arrays (one per head) of the samples, or None without labels;
            ``pretrain`` takes a source's labels only as this very list.
    """

    shape: tuple[int, ...]
    label_sets: list[np.ndarray] | None

    @abc.abstractmethod
    def __len__(self) -> int:
        """The number of samples an epoch draws from."""

    @abc.abstractmethod
    def identity(self, world: int) -> dict:
        """What a checkpoint must match, beyond the sample count, image shape and labels, to
        resume on this data with ``world`` ranks (a stream's settings); ``{}`` when nothing."""

    def batches(
        self,
        epoch: int,
        start: int,
        steps: int,
        batch: int,
        cfg: TrainConfig,
        objective: str,
        rank: int = 0,
        world: int = 1,
    ) -> Generator[Batch, None, None]:
        """Yield ``(x, [labels])`` for batches ``start .. steps-1`` of ``epoch`` on ``rank`` of
        ``world``, ``batch`` samples each: ``x`` prepared by ``objective`` with the generator of
        step ``epoch * steps + b``, ``labels`` one int64 tensor per label set (none without).
        A generator: the loop stops an epoch early with its ``close()``."""
        return self.stream(Span(epoch, start, steps, batch, rank, world), cfg, objective)

    @abc.abstractmethod
    def stream(self, span: Span, cfg: TrainConfig, objective: str) -> Generator[Batch, None, None]:
        """What :meth:`batches` yields, for the batches of ``span``."""

    def close(self) -> None:  # noqa: B027  (a source without resources has nothing to release)
        """Release what the source keeps between epochs (loader workers); it stays usable."""


class ArraySource(DataSource):
    """Images in a uint8 ``(N, H, W, 3)`` array (in memory or memory-mapped) and their label
    sets (1-D int arrays of length ``N``, checked and kept as int64; None without labels: its
    batches then carry no labels, as ``pretrain`` builds it for objectives that take none).

    ``workers`` 0 (the default) prepares batches in the training process (``cfg.prefetch``
    ahead in a thread); ``workers`` > 0 prepares them in that many forked loader processes
    (a memory-mapped array is shared, not copied), ``max(cfg.prefetch, 2)`` batches ahead each,
    which a GPU run needs to keep up (:func:`default_workers`). The batches are the same.
    """

    def __init__(self, images: np.ndarray, label_sets: list[np.ndarray] | None = None, workers: int = 0):
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
            raise ValueError(f"workers must be a non-negative int, got {workers!r}")
        self.workers = workers
        self.images = check_images(images)
        self.label_sets = None if label_sets is None else check_labels(label_sets, len(self.images))
        self.shape = tuple(self.images.shape)
        self._label_t = [torch.from_numpy(y) for y in self.label_sets or []]
        self._digest: str | None = None

    def __len__(self) -> int:
        return len(self.images)

    def identity(self, world: int) -> dict:
        """The images' content: a SHA-256 of their pixels (:func:`vise_lib.io.array_digest`,
        computed once per array and, for an ``.npy`` opened memory-mapped, once per version of
        the file), so a checkpoint of other pixels of the same count and shape is not resumed."""
        if self._digest is None:
            self._digest = array_digest(self.images)
        return {"images_sha256": self._digest}

    def stream(self, span: Span, cfg: TrainConfig, objective: str) -> Generator[Batch, None, None]:
        """Batch ``b`` holds entries ``b * batch ..`` of this rank's ``DistributedSampler`` order
        for the span's epoch (seed ``derived_seed(cfg.seed, 0)``)."""
        order = D.epoch_indices(len(self), span.epoch, derived_seed(cfg.seed, 0) % 2**62, span.rank, span.world)
        todo = [
            (span.epoch * span.steps + i, order[i * span.batch : (i + 1) * span.batch])
            for i in range(span.start, span.steps)
        ]
        if not self.workers:
            yield from batch_stream(self.images, self._label_t, todo, cfg, objective, span.rank, pin=pins(cfg))
            return
        loader = torch.utils.data.DataLoader(
            _Steps(self.images, self._label_t, todo, cfg, objective, span.rank),
            batch_size=None,
            num_workers=self.workers,
            pin_memory=pins(cfg),
            worker_init_fn=one_thread,
            prefetch_factor=max(cfg.prefetch, 2),
            multiprocessing_context="fork",  # the workers share the (memory-mapped) array, never pickle it
        )
        yield from loader


class _Steps(torch.utils.data.Dataset):
    """The batches of ``todo`` (``(step, indices)`` pairs) as a map-style dataset: item ``i`` is
    batch ``todo[i]`` prepared as :func:`batch_stream` prepares it (for loader workers)."""

    def __init__(self, images, label_t, todo: Sequence[tuple[int, np.ndarray]], cfg, objective: str, rank: int):
        self.todo, self.make = todo, _preparer(images, label_t, cfg, objective, rank, pin=False)

    def __len__(self) -> int:
        return len(self.todo)

    def __getitem__(self, i: int) -> Batch:
        return self.make(self.todo[i])


def _preparer(images, label_t, cfg: TrainConfig, objective: str, rank: int, pin: bool):
    """The function that makes the batch of one ``(step, indices)`` pair: the objective's
    ``prepare`` with the generator of ``(cfg.seed, step, rank)``; no shared state."""
    obj = OBJECTIVES[objective]

    def prepare(item: tuple[int, np.ndarray]) -> Batch:
        s, idx = item
        g = torch.Generator().manual_seed(derived_seed(cfg.seed, 1, s, rank))
        x = obj.prepare(images[idx], g, cfg)
        t = torch.from_numpy(idx)
        ys = [y[t] for y in label_t]
        if pin:
            return x.pin_memory(), [y.pin_memory() for y in ys]
        return x, ys

    return prepare


def batch_stream(
    images: np.ndarray,
    label_t: list[torch.Tensor],
    todo: Iterable[tuple[int, np.ndarray]],
    cfg: TrainConfig,
    objective: str = "classify",
    rank: int = 0,
    pin: bool = False,
) -> Iterator[Batch]:
    """The array data path: yield ``(x, [labels])`` for each ``(step, indices)`` in ``todo``.

    Indexes the uint8 ``images`` (in memory or memory-mapped) and lets the objective prepare
    the batch (crop + flip; two SimCLR views for ``simclr``) with a generator seeded by
    ``(cfg.seed, step, rank)``, ``cfg.prefetch`` batches ahead in a background thread.
    ``label_t`` is a list of int64 label tensors (empty for objectives without labels);
    ``pin``: the batches in pinned memory (a CUDA run).
    """
    # runs in the prefetch thread: one generator per step, no shared state
    return prefetch(todo, _preparer(images, label_t, cfg, objective, rank, pin), depth=cfg.prefetch)


def open_source(
    images: DataSource | np.ndarray | None,
    label_sets: list[np.ndarray] | None,
    needs_labels: bool,
    required: bool = True,
) -> DataSource | None:
    """The :class:`DataSource` for ``pretrain``'s ``images`` and ``label_sets``, checked.

    ``images`` is a :class:`DataSource` (then ``label_sets``, when the objective
    ``needs_labels``, must be its own ``label_sets``) or a uint8 array (wrapped in an
    :class:`ArraySource` with ``label_sets`` when ``needs_labels``, else none); ``None`` gives
    None unless a source is ``required`` (an objective that trains). Bad input raises
    ``ValueError`` naming it.
    """
    if isinstance(images, DataSource):
        if needs_labels and label_sets is not images.label_sets:
            raise ValueError("streaming from shards: pass the ShardSource's own label_sets (joined by post id)")
        if needs_labels:
            check_labels(label_sets, len(label_sets[0]) if label_sets else len(images))
        return images
    if images is None and not required:
        return None
    return ArraySource(check_images(images), label_sets if needs_labels else None)  # None: named as not an array

"""Pretraining straight from WebDataset shards: no ``images.npy``, memory independent of the post count.

At paper scale an ``images.npy`` at 224 px is ~150 KB a post (1M posts: 150 GB; 250M: 37 TB),
so the paper preset trains from the shards :mod:`vise_lib.engagement.shards` writes.
:class:`ShardSource` is a :class:`~vise_lib.pretrain.sources.DataSource`, the loop's data
interface, as the in-memory :class:`~vise_lib.pretrain.sources.ArraySource` is; for each epoch it
builds a ``webdataset`` pipeline (tar samples → ``shuffle`` buffer → JPEG/PNG decoding) per
loader worker and reads it through ``webdataset.WebLoader``. The objective
prepares (crops and flips, as uint8) each batch in the worker that decoded it, exactly as on the
array path (same per-step generator), so none of that work sits between training steps; the
uint8 batches reach the training process through shared memory (pinned memory on a CUDA run)
and are normalized on the training device.

The order is a pure function of ``(seed, epoch, rank)`` and the worker count, which is what makes
DDP and resuming exact:

* **Epochs by sample count.** An epoch is ``steps_per_epoch`` batches per rank, ``n`` being the
  number of labelled posts (all posts for objectives without labels), as on the array path.
* **Disjoint ranks.** Each epoch the shard list is permuted with a seed shared by all ranks,
  and (rank, worker) ``j`` of ``world × workers`` reads shards ``j, j + world·workers, …`` —
  every rank and worker reads its own shards. A worker whose shards run out before its quota
  of batches reads them again in a new order (only with uneven shard sizes, at an epoch's end).
* **Batches in a fixed order.** Worker ``w`` makes batches ``w, w + W, …`` of the epoch, each
  tagged with its number; the main process hands them to the loop in that order.
* **Workers live for the run, not the epoch.** A source keeps its loader workers between
  :meth:`ShardSource.batches` calls with the same settings (the epoch, start and step count
  reach them through a small shared tensor), because starting a worker forks the training
  process, and the first step after a fork pays for copying every page it writes (measured:
  about 0.6 s on 2 cores, a tenth of a 16-step epoch). :meth:`ShardSource.close` stops them;
  ``pretrain`` does when it ends. One ``batches`` stream at a time per source.
* **Resume.** A run resumed at batch ``b`` of an epoch rebuilds that epoch's streams and
  drops, before decoding, the samples of the batches already trained, so no sample is
  repeated or skipped (the checkpoint stores ``data_position``; the stream settings are part
  of its data identity, so a resume with another worker count or buffer is refused).

Pseudo labels are joined by ``post_id`` (``labels.npz`` as :mod:`vise_lib.labels.pseudo_labels`
and ``vise labels`` write it); posts without a label are not trained on, exactly as on the
array path, where only labelled posts' images are used.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import random
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from vise_lib.engagement.images import decode_image
from vise_lib.engagement.shards import shard_paths, tar_samples
from vise_lib.io import file_digest
from vise_lib.pretrain.config import TrainConfig, derived_seed
from vise_lib.pretrain.objectives import OBJECTIVES
from vise_lib.pretrain.sources import DataSource, Span, default_workers, one_thread, pins

DEFAULT_BUFFER = 2000  # samples in each worker's shuffle buffer (encoded bytes: ~10 KB each at 224 px JPEG)
IMAGE_KEYS = ("jpg", "jpeg", "png")


class ShardSource(DataSource):
    """Shards (+ pseudo labels keyed by post id) as the pretraining loop's data.

    Args:
        shards: a shard folder written by :mod:`vise_lib.engagement.shards` (its
            ``shards.json`` gives the sample counts).
        label_sets: int label arrays aligned with ``post_ids`` (one per head), or ``None``
            for objectives without labels.
        post_ids: the post ids of the label rows (``labels.npz``'s ``post_id``).
        workers: loader worker processes (0: decode in the main process; None:
            :func:`default_workers`).
        shuffle_buffer: samples in each worker's shuffle buffer.
    """

    def __init__(
        self, shards, label_sets=None, post_ids=None, workers: int | None = None, shuffle_buffer: int = DEFAULT_BUFFER
    ):
        folder = Path(shards)
        idx_path = folder / "shards.json"
        if not idx_path.is_file():
            raise FileNotFoundError(f"{idx_path} is missing: stream shards written by vise ingest --shards")
        index = json.loads(idx_path.read_text())
        self.folder, self.paths = folder, [str(p) for p in shard_paths(folder)]
        self.counts = [s["n"] for s in index["shards"]]
        workers = default_workers() if workers is None else workers
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
            raise ValueError(f"workers must be a non-negative int, got {workers!r}")
        if isinstance(shuffle_buffer, bool) or not isinstance(shuffle_buffer, int) or shuffle_buffer < 1:
            raise ValueError(f"shuffle_buffer must be a positive int, got {shuffle_buffer!r}")
        self.workers, self.shuffle_buffer = workers, shuffle_buffer
        self.label_sets = None
        if label_sets is not None:
            ids = np.asarray(post_ids if post_ids is not None else [], dtype=str)
            if len(ids) == 0 or any(len(y) != len(ids) for y in label_sets):
                raise ValueError(
                    f"label_sets need post_ids of the same length ({len(ids)} ids, "
                    f"{[len(y) for y in label_sets]} labels)"
                )
            order = np.argsort(ids, kind="stable")
            self._ids = ids[order]
            if len(self._ids) > 1 and (dup := np.flatnonzero(self._ids[1:] == self._ids[:-1])).size:
                raise ValueError(f"labels: post_id {self._ids[dup[0]]!r} appears more than once")
            self._labels = np.stack([np.asarray(y, dtype=np.int64)[order] for y in label_sets])
            self.label_sets = [np.asarray(y, dtype=np.int64) for y in label_sets]
        n = int(index["n_samples"]) if self.label_sets is None else min(int(index["n_samples"]), len(self._ids))
        self.n = n
        self._pool: tuple | None = None  # (settings, shared [epoch, start, steps], loader): see batches
        self._active: object | None = None  # the batches() stream reading the pool now
        first = self._first_image()
        self.shape = (n,) + first.shape

    @classmethod
    def from_labels_npz(cls, shards, labels_npz, keys=("label",), **kw) -> ShardSource:
        """Shards joined with the label sets ``keys`` of a ``labels.npz`` holding ``post_id``."""
        with np.load(labels_npz, allow_pickle=False) as z:
            if "post_id" not in z.files:
                raise ValueError(f"{labels_npz}: no post_id array: cannot join labels with the shards")
            missing = [k for k in keys if k not in z.files]
            if missing:
                raise ValueError(f"{labels_npz}: label set(s) {missing} missing (present: {sorted(z.files)})")
            return cls(shards, [z[k] for k in keys], z["post_id"], **kw)

    def __len__(self) -> int:
        return self.n

    def _first_image(self) -> np.ndarray:
        for sample in tar_samples(self.paths[:1]):
            return decode_image(_image_bytes(sample), name=f"{self.paths[0]}: sample {sample['__key__']}")
        raise ValueError(f"{self.paths[0]}: no samples")

    def identity(self, world: int) -> dict:
        """What a checkpoint must match to resume on this stream (shards by name, count and
        content, :func:`vise_lib.io.file_digest`: hashed once per version of a shard; labels;
        settings)."""
        h = hashlib.sha1(
            "\n".join(
                f"{Path(p).name}:{c}:{file_digest(p)}" for p, c in zip(self.paths, self.counts, strict=False)
            ).encode()
        )
        if self.label_sets is not None:
            h.update(self._ids.tobytes())
            h.update(self._labels.tobytes())
        return {
            "source": "shards",
            "shards_sha1": h.hexdigest(),
            "workers": self.effective_workers(world),
            "shuffle_buffer": self.shuffle_buffer,
        }

    def effective_workers(self, world: int) -> int:
        """Workers per rank: ``workers``, fewer when there are not enough shards for every
        (rank, worker) to read its own (``ValueError`` with fewer shards than ranks)."""
        if len(self.paths) < world:
            raise ValueError(
                f"{self.folder}: {len(self.paths)} shard(s) for {world} ranks: write at least one "
                f"shard per rank (smaller shard_size)"
            )
        return min(max(self.workers, 1), len(self.paths) // world) if self.workers else 0

    def stream(self, span: Span, cfg: TrainConfig, objective: str):
        """Batches of ``span`` (see :meth:`DataSource.batches`): ``x`` prepared by the objective with
        the generator of step ``epoch * steps + b`` (seeded as on the array path), ``labels`` one
        int64 tensor per head.
        """
        epoch, start, steps, batch, rank, world = dataclasses.astuple(span)
        import webdataset as wds

        n_workers = self.effective_workers(world)
        settings = (batch, cfg, objective, rank, world, n_workers)
        if self._pool is None or self._pool[0] != settings:
            self.close()
            params = torch.zeros(3, dtype=torch.int64)
            if n_workers:
                params.share_memory_()  # the forked workers read each epoch's (epoch, start, steps) here
            spec = _EpochStream(self, params, batch, cfg, objective, rank, world)
            loader = wds.WebLoader(
                spec,
                batch_size=None,
                num_workers=n_workers,
                worker_init_fn=one_thread,
                pin_memory=pins(cfg),
                persistent_workers=n_workers > 0,  # kept for the next epoch: see the module doc
                prefetch_factor=4 if n_workers else None,
            )
            self._pool = (settings, params, loader)
        _, params, loader = self._pool
        params.copy_(torch.tensor([epoch, start, steps]))  # before iter(loader) restarts the workers
        self._active = token = object()
        pending, b = {}, start
        for k, x, ys in loader:  # batches come prepared (decoded, augmented) by the workers
            pending[int(k)] = x, ys
            while b in pending:  # after a resume, workers' first batches can arrive out of order
                x, ys = pending.pop(b)
                yield x, [torch.as_tensor(y) for y in ys]
                b += 1
                if self._active is not token:  # the loader now serves a newer stream
                    raise RuntimeError(f"{self.folder}: another batches() stream of this source started: one at a time")
        if b != steps:
            raise RuntimeError(
                f"{self.folder}: the loader stopped at batch {b} of {steps} (epoch {epoch}, rank {rank})"
            )

    def close(self) -> None:
        """Stop the loader workers kept between epochs (the source stays usable: the next
        :meth:`batches` starts new ones)."""
        self._pool = self._active = None  # the last reference to the loader: its iterator stops the workers


def _image_bytes(sample: dict) -> bytes:
    for k in IMAGE_KEYS:
        if k in sample:
            return sample[k]
    raise ValueError(f"{sample.get('__url__')}: sample {sample.get('__key__')} has no image ({sorted(sample)})")


class _EpochStream(torch.utils.data.IterableDataset):
    """One rank's batches of one epoch; each loader worker makes its own share (see module doc)."""

    def __init__(self, src: ShardSource, params: torch.Tensor, batch, cfg: TrainConfig, objective: str, rank, world):
        super().__init__()
        labelled = src.label_sets is not None
        self.src = SimpleNamespace(  # what the workers read; not the source itself, which holds the loader
            folder=src.folder,
            paths=src.paths,
            shuffle_buffer=src.shuffle_buffer,
            shape=src.shape,
            ids=src._ids if labelled else None,
            labels=src._labels if labelled else None,
        )
        self.params, self.batch = params, batch  # params: [epoch, start, steps], set per epoch
        self.cfg, self.objective, self.seed, self.rank, self.world = cfg, objective, cfg.seed, rank, world
        self.epoch = self.start = self.steps = 0

    def prepare(self, images_u8: np.ndarray, b: int) -> torch.Tensor:
        """Batch ``b`` as the objective prepares it, with the generator of step ``epoch * steps + b``
        (seeded as on the array path), so augmentation runs in the loader worker, not between steps."""
        g = torch.Generator().manual_seed(derived_seed(self.seed, 1, self.epoch * self.steps + b, self.rank))
        return OBJECTIVES[self.objective].prepare(images_u8, g, self.cfg)

    def __iter__(self):
        import webdataset as wds

        self.epoch, self.start, self.steps = (int(v) for v in self.params)
        info = torch.utils.data.get_worker_info()
        w, n_w = (info.id, info.num_workers) if info is not None else (0, 1)
        mine = range(w, self.steps, n_w)  # this worker's batch numbers in the epoch
        skip = sum(1 for b in mine if b < self.start)
        take = len(mine) - skip
        if take <= 0:
            return
        src, slot, slots = self.src, self.rank * n_w + w, self.world * n_w
        rng = random.Random(derived_seed(self.seed, 2, self.epoch, self.rank, w))

        order = np.random.default_rng(derived_seed(self.seed, 3, self.epoch)).permutation(len(src.paths))
        own = [src.paths[i] for i in order[slot::slots]]  # this worker's shards this epoch

        def passes():  # own shards, read again in a new order if the worker needs more samples
            for cycle in range(1 << 62):
                rows = (
                    own
                    if cycle == 0
                    else random.Random(derived_seed(self.seed, 4, self.epoch, slot, cycle)).sample(own, len(own))
                )
                samples = labelled(tar_samples(rows))
                n = 0  # the shuffle buffer is flushed at the end of each pass: no sample twice in one pass
                for n, item in enumerate(  # noqa: B007  (n is read after the loop)
                    wds.shuffle(src.shuffle_buffer, min(src.shuffle_buffer, 100), rng=rng)(samples), 1
                ):
                    yield item
                if n == 0:
                    raise ValueError(
                        f"{src.folder}: the shards of worker {w} on rank {self.rank} ({own[:3]}...) "
                        f"hold no post with a pseudo label"
                    )

        def labelled(samples):
            for s in samples:
                if src.ids is None:
                    yield s, None
                    continue
                pid = json.loads(s["json"])["post_id"]
                i = int(np.searchsorted(src.ids, pid))
                if i < len(src.ids) and src.ids[i] == pid:
                    yield s, src.labels[:, i]

        stream = passes()
        for _ in range(skip * self.batch):  # batches already trained before a resume: not decoded
            next(stream)
        images, labels, todo = [], [], iter(mine[skip:])
        for s, y in stream:
            where = f"{s.get('__url__')}: sample {s['__key__']}"
            images.append(decode_image(_image_bytes(s), name=where))
            if images[-1].shape != src.shape[1:]:
                raise ValueError(
                    f"{where} is {images[-1].shape}, not {src.shape[1:]}: write the shards with one "
                    f"image size (vise ingest --image-size)"
                )
            labels.append(y)
            if len(images) == self.batch:
                ys = [] if labels[0] is None else list(np.stack(labels, axis=1))
                b = next(todo)
                yield b, self.prepare(np.stack(images), b), ys
                images, labels, take = [], [], take - 1
                if take == 0:
                    return

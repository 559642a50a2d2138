"""Benchmark: does streaming JPEG shards keep up with the training step (CPU)?

4,096 posts of 64 px written as JPEG shards (quality ``JPEG_QUALITY``, 256 posts a shard), and
the same training step (small_resnet width 16, batch 128, channels_last, SGD; 2 threads) fed
two ways, side by side in rounds (``side_by_side.race``):

- ``loader``: :class:`vise_lib.pretrain.streaming.ShardSource` with its default worker count
  (``default_workers()``: one on 2 cores): shuffle buffer, JPEG decoding in the worker, labels
  joined by post id, the objective's normalization, crop + flip in the worker too — what
  ``pretrain`` runs. Its worker starts in the first round and is kept for the next rounds, as
  between the epochs of a run (starting it forks this process: the first round pays that,
  so it counts in the mean, not in the best round);
- ``memory``: the same number of batches prepared beforehand, as tensors in memory.

Each contender's rate is its best round (``ratio`` compares those); the mean over rounds
(``mean_ratio``) and the median of the two contenders' ratios round by round (``paired_ratio``)
are printed too: on a noisy 2-core machine one lucky round of either moves ``ratio`` by several
points. Goal: loader_img_s >= 0.9 * memory_img_s. Also reports the decode-only rate of one core
(``decode_img_s_per_core``: shards read and JPEG decoded with the loader's decoder, no
training), and ``worker_img_s_per_core_224``: one core doing a loader worker's whole job
(read, decode, join labels, crop + flip; normalizing is the training device's) on 512 posts at 224 px, the paper's size;
the "Scaling to the paper" page uses both. Ends with exactly one line:

    BENCH shards loader_img_s=<float> memory_img_s=<float> ratio=<float> workers=<int> ...
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from side_by_side import paired_ratio, print_rates, race

from vise_lib.backbones.archs import MultiHeadClassifier, build_backbone
from vise_lib.engagement.images import decode_image
from vise_lib.engagement.shards import JPEG_QUALITY, ShardWriter, tar_samples
from vise_lib.pretrain.config import TrainConfig
from vise_lib.pretrain.objectives import OBJECTIVES
from vise_lib.pretrain.streaming import ShardSource

N_POSTS, PX, PER_SHARD, CLUSTERS, STEPS, ROUNDS, THREADS = 4096, 64, 256, 64, 16, 8, 2
PAPER_PX = 224


def _write(folder: Path, n: int = N_POSTS, px: int = PX) -> np.ndarray:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (64, px // 8, px // 8, 3), dtype=np.uint8)  # smooth images: JPEG-like sizes
    with ShardWriter(folder, PER_SHARD) as w:
        for i in range(n):
            img = np.kron(base[i % 64], np.ones((8, 8, 1), np.uint8))
            img = np.clip(img.astype(np.int16) + rng.integers(-8, 9, img.shape), 0, 255).astype(np.uint8)
            w.add(img, {"post_id": f"p{i:07d}"})
        w.close()
    return np.array([f"p{i:07d}" for i in range(n)])


def worker_rate_per_core(tmp: Path, px: int = PAPER_PX, n: int = 512) -> float:
    """img/s of one core doing a loader worker's whole job at ``px`` (shards read, JPEGs decoded,
    labels joined, crop + flip (uint8) with the paper preset's TrainConfig defaults)."""
    ids = _write(tmp / f"s{px}", n, px)
    src = ShardSource(tmp / f"s{px}", [np.zeros(n, np.int64)], ids, workers=0)
    cfg, bs = TrainConfig(), 128
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        t0 = time.perf_counter()
        done = sum(len(ys[0]) for _, ys in src.batches(0, 0, n // bs, bs, cfg, "classify"))
        return done / (time.perf_counter() - t0)
    finally:
        torch.set_num_threads(threads)


def main() -> None:
    torch.set_num_threads(THREADS)
    cfg = TrainConfig(arch="small_resnet", width=16, batch_size=128, seed=0, pad=8)
    fmt = torch.channels_last
    torch.manual_seed(0)
    model = MultiHeadClassifier(build_backbone(cfg.arch, cfg.width), [CLUSTERS]).to(memory_format=fmt).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step(x, ys):  # the loop's device step: normalize the uint8 batch (here on the CPU), then train
        x = OBJECTIVES["classify"].finish(x, cfg).contiguous(memory_format=fmt)
        loss = F.cross_entropy(model(x)[0], ys[0])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    with tempfile.TemporaryDirectory(prefix="vise-bench-shards-") as tmp:
        ids = _write(Path(tmp) / "s")
        labels = np.random.default_rng(1).integers(0, CLUSTERS, N_POSTS)
        src = ShardSource(Path(tmp) / "s", [labels], ids)
        bs = cfg.batch_size
        t0 = time.perf_counter()
        n_dec = sum(1 for s in tar_samples(src.paths) if decode_image(s["jpg"], name=s["__key__"]) is not None)
        decode_rate = n_dec / (time.perf_counter() - t0)
        worker_224 = worker_rate_per_core(Path(tmp))
        made = ShardSource(Path(tmp) / "s", [labels], ids, workers=0)  # no worker started before the race
        in_memory = list(made.batches(99, 0, STEPS, bs, cfg, "classify"))  # same kind of batches, up front
        for x, ys in in_memory[:2]:  # warm-up
            step(x, ys)
        feeds = {"loader": lambda r: src.batches(r, 0, STEPS, bs, cfg, "classify"), "memory": lambda r: iter(in_memory)}
        ips, mean_ips, rounds = race(feeds, step, ROUNDS, STEPS * bs)
        src.close()
    title = f"shards: {ROUNDS} rounds x {STEPS} steps x {bs} images ({PX} px JPEG q{JPEG_QUALITY}, small_resnet "
    print_rates(
        title + f"width {cfg.width}, {THREADS} threads, {src.effective_workers(1)} loader worker(s))", ips, mean_ips
    )
    print(f"  decode only (main process, one core): {decode_rate:8.1f} img/s")
    print(f"  a worker's whole job at {PAPER_PX} px (one core): {worker_224:8.1f} img/s")
    print(
        f"BENCH shards loader_img_s={ips['loader']:.1f} memory_img_s={ips['memory']:.1f} "
        f"ratio={ips['loader'] / ips['memory']:.3f} mean_ratio={mean_ips['loader'] / mean_ips['memory']:.3f} "
        f"paired_ratio={paired_ratio(rounds, 'loader', 'memory'):.3f} "
        f"workers={src.effective_workers(1)} "
        f"decode_img_s_per_core={decode_rate:.1f} px={PX} worker_img_s_per_core_{PAPER_PX}={worker_224:.1f}"
    )


if __name__ == "__main__":
    main()

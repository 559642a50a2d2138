"""Benchmark: does the real data path keep up with the training step?

At the default preset's size (10,000 posts of 32 px, small_resnet width 16, batch 128, 2 CPU
threads), one process times the same training step (forward, backward, SGD, channels_last)
fed three ways, side by side in rounds (``side_by_side.race``: best round per contender):

- ``real``: the pipeline's own data path: ``variants.training_set`` reads the world's
  ``posts/images.npy`` (memory-mapped, gathered by ``labels.npz``'s ``image_index``), and
  ``train.batch_stream`` indexes, converts and augments each batch (inline by default, or prefetched in a thread,
  as ``pretrain`` runs it);
- ``memory``: the same batches built beforehand, as tensors already in memory.

Target: real_img_s >= 0.9 * memory_img_s. Also prints the real path with a 2-batch prefetch thread (the default is inline).
Ends with exactly one line:

    BENCH loader real_img_s=<float> memory_img_s=<float> ratio=<float> ...
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from side_by_side import print_rates, race

from vise_lib.backbones.archs import MultiHeadClassifier, build_backbone
from vise_lib.pretrain.config import TrainConfig
from vise_lib.pretrain.distributed import epoch_indices
from vise_lib.pretrain.loop import batch_stream
from vise_lib.pretrain.objectives import OBJECTIVES
from vise_lib.pretrain.variants import training_set

N_POSTS, PX, CLUSTERS, STEPS, ROUNDS, THREADS = 10_000, 32, 64, 24, 6, 2


def _fake_run(root: Path) -> tuple[Path, Path]:
    """A world/labels pair on disk in the pipeline's layout (random pixels: speed only)."""
    rng = np.random.default_rng(0)
    (root / "world" / "posts").mkdir(parents=True)
    (root / "labels").mkdir()
    np.save(root / "world" / "posts" / "images.npy", rng.integers(0, 256, (N_POSTS, PX, PX, 3), dtype=np.uint8))
    idx = rng.permutation(N_POSTS)
    np.savez(root / "labels" / "labels.npz", image_index=idx, label=rng.integers(0, CLUSTERS, N_POSTS))
    return root / "world", root / "labels"


def main() -> None:
    torch.set_num_threads(THREADS)
    cfg = TrainConfig(arch="small_resnet", width=16, batch_size=128, seed=0)
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

    with tempfile.TemporaryDirectory(prefix="vise-bench-loader-") as tmp:
        world, labels = _fake_run(Path(tmp))
        ts = training_set("vise", world, labels)
        label_t = [torch.from_numpy(y.astype(np.int64)) for y in ts.label_sets]
        order = epoch_indices(len(ts.images), 0, cfg.seed)
        bs = cfg.batch_size
        todo = [(i, order[i * bs : (i + 1) * bs]) for i in range(STEPS)]
        in_memory = list(batch_stream(ts.images, label_t, todo, cfg))  # same batches, prepared up front
        for x, ys in in_memory[:2]:  # warm-up
            step(x, ys)
        prefetching = TrainConfig(**{**cfg.__dict__, "prefetch": 2})
        feeds = {
            "real": lambda r: batch_stream(ts.images, label_t, todo, cfg),
            "memory": lambda r: iter(in_memory),
            "real_prefetch": lambda r: batch_stream(ts.images, label_t, todo, prefetching),
        }
        ips, mean, _ = race(feeds, step, ROUNDS, STEPS * bs)
    title = f"loader: {ROUNDS} rounds x {STEPS} steps x {bs} images ({PX} px, small_resnet width {cfg.width}, "
    print_rates(title + f"{THREADS} threads)", ips, mean)
    print(
        f"BENCH loader real_img_s={ips['real']:.1f} memory_img_s={ips['memory']:.1f} "
        f"ratio={ips['real'] / ips['memory']:.3f} mean_ratio={mean['real'] / mean['memory']:.3f} "
        f"real_prefetch_img_s={ips['real_prefetch']:.1f} ratio_prefetch={ips['real_prefetch'] / ips['memory']:.3f}"
    )


if __name__ == "__main__":
    main()

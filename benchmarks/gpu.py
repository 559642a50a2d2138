"""Benchmark (GPU only): ResNet-50 at 224 px, bf16 + channels_last — the model's rate vs the shard loader's.

Skipped without CUDA (prints ``BENCH gpu skipped=no_cuda``). On a GPU, one process times:

- ``model``: the training step (forward, backward, SGD) of torchvision's ResNet-50 with 1000
  classes on synthetic tensors already on the GPU (batch 256, bf16 autocast, channels_last);
- ``loader``: the same step fed by :class:`vise_lib.pretrain.streaming.ShardSource` from JPEG
  shards of 224 px images (written first into a temp folder, 16 shards), with
  ``default_workers()`` decoding workers and the objective's crop + flip.

Anchors: NVIDIA's ResNet-50 AMP training reference is about 2,500 img/s on one A100; the goal on
an H200 is model_img_s >= 3,000 and ratio >= 0.9. Not yet run on a GPU in this project.
Ends with one line::

    BENCH gpu model_img_s=<float> loader_img_s=<float> ratio=<float> workers=<int> device=<name>
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

BATCH, PX, STEPS, WARMUP, N_POSTS, PER_SHARD = 256, 224, 30, 10, 8192, 512


def main() -> None:
    if not torch.cuda.is_available():
        print("no CUDA device: GPU benchmark skipped")
        print("BENCH gpu skipped=no_cuda")
        return
    from vise_lib.backbones.archs import MultiHeadClassifier, build_backbone
    from vise_lib.engagement.shards import ShardWriter
    from vise_lib.pretrain.config import TrainConfig
    from vise_lib.pretrain.streaming import ShardSource

    torch.backends.cudnn.benchmark = True
    dev, fmt = torch.device("cuda"), torch.channels_last
    model = MultiHeadClassifier(build_backbone("resnet50"), [1000]).to(dev, memory_format=fmt).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    cfg = TrainConfig(arch="resnet50", batch_size=BATCH, pad=28, seed=0)

    def step(x, y):
        with torch.autocast("cuda", dtype=torch.bfloat16):
            out = model(x.to(dev, memory_format=fmt, non_blocking=True))[0]
        loss = F.cross_entropy(out.float(), y.to(dev, non_blocking=True))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def rate(batches, n_steps):
        it = iter(batches)
        for _ in range(WARMUP):
            step(*next(it))
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        for _ in range(n_steps):
            step(*next(it))
        torch.cuda.synchronize()
        return n_steps * BATCH / (time.perf_counter() - t0)

    x = torch.randn(BATCH, 3, PX, PX, device=dev).contiguous(memory_format=fmt)
    y = torch.randint(0, 1000, (BATCH,), device=dev)
    model_rate = rate(iter(lambda: (x, y), None), STEPS)
    with tempfile.TemporaryDirectory(prefix="vise-bench-gpu-") as tmp:
        rng = np.random.default_rng(0)
        base = rng.integers(0, 256, (64, PX // 8, PX // 8, 3), dtype=np.uint8)
        with ShardWriter(Path(tmp) / "s", PER_SHARD) as w:
            for i in range(N_POSTS):
                w.add(np.kron(base[i % 64], np.ones((8, 8, 1), np.uint8)), {"post_id": f"p{i:07d}"})
            w.close()
        ids = np.array([f"p{i:07d}" for i in range(N_POSTS)])
        src = ShardSource(Path(tmp) / "s", [rng.integers(0, 1000, N_POSTS)], ids)
        steps = N_POSTS // BATCH
        feed = ((xb.pin_memory(), ys[0]) for xb, ys in src.batches(0, 0, steps, BATCH, cfg, "classify"))
        loader_rate = rate(feed, steps - WARMUP)
        src.close()  # its workers, before the shards are deleted
    name = torch.cuda.get_device_name().replace(" ", "_")
    print(
        f"ResNet-50 {PX} px, batch {BATCH}, bf16 + channels_last on {name}: model {model_rate:.0f} img/s, "
        f"shard loader ({src.effective_workers(1)} workers) {loader_rate:.0f} img/s"
    )
    print(
        f"BENCH gpu model_img_s={model_rate:.1f} loader_img_s={loader_rate:.1f} ratio={loader_rate / model_rate:.3f} "
        f"workers={src.effective_workers(1)} device={name}"
    )


if __name__ == "__main__":
    main()

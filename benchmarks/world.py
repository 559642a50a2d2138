"""Benchmark: how fast is the synthetic world generator?

Generates 50,000 posts at 32 px (plus the default downstream splits) into a temporary directory
and times the whole ``generate_world`` call, including writing every file. Target on the
2-core reference machine: <= 30 s. Ends with exactly one line:

    BENCH world posts_per_s=<float> n_posts=50000 image_px=32 seconds=<float>
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from vise_lib.world.generate import WorldConfig, generate_world

N_POSTS, PX = 50_000, 32


def main() -> None:
    cfg = WorldConfig(seed=0, n_posts=N_POSTS, image_px=PX)
    with tempfile.TemporaryDirectory(prefix="vise-bench-world-") as tmp:
        t0 = time.perf_counter()
        out = generate_world(cfg, Path(tmp) / "world")
        seconds = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
        print(
            f"world: {N_POSTS} posts + {cfg.n_train + cfg.n_val + cfg.n_test} downstream images, "
            f"{size / 2**20:.1f} MiB on disk"
        )
    print(f"BENCH world posts_per_s={N_POSTS / seconds:.1f} n_posts={N_POSTS} image_px={PX} seconds={seconds:.2f}")


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# torchrun smoke test of pretraining from shards on 1 and N GPUs (NCCL, bf16, channels_last).
# Skips (exit 0) without CUDA. Not yet run on a GPU in this project.
#
#   bash benchmarks/gpu_torchrun.sh [N]      # N: GPUs for the second run (default: all visible)
#
# Writes 2,048 synthetic 224 px posts as JPEG shards and their labels.npz, trains ResNet-50 for
# a few steps on 1 GPU and on N GPUs, stops the N-GPU run half way and resumes it, and checks
# that every run completed with identical weights on every rank.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
TORCHRUN=${TORCHRUN:-$(dirname "$PY")/torchrun}
if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  echo "no CUDA device: torchrun GPU smoke skipped"; exit 0
fi
N=${1:-$("$PY" -c "import torch; print(torch.cuda.device_count())")}
TMP=$(mktemp -d /tmp/vise-torchrun-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
"$PY" - "$TMP" <<'PYEOF'
import sys
from pathlib import Path
import numpy as np
from vise_lib.engagement.shards import ShardWriter
out, rng = Path(sys.argv[1]), np.random.default_rng(0)
with ShardWriter(out / "shards", 128) as w:
    for i in range(2048):
        w.add(rng.integers(0, 256, (224, 224, 3), dtype=np.uint8), {"post_id": f"p{i:05d}"})
    w.close()
np.savez(out / "labels.npz", post_id=np.array([f"p{i:05d}" for i in range(2048)]), label=rng.integers(0, 100, 2048))
PYEOF
ARGS=(--shards "$TMP/shards" --labels-npz "$TMP/labels.npz" --arch resnet50 --batch-size 256 --epochs 2
      --pad 28 --no-progress --device cuda)
check() {  # the JSON summary rank 0 printed: completed, one digest for all ranks
  "$PY" -c "import json,sys; r=json.loads([l for l in open(sys.argv[1]) if l.startswith('{')][-1]); \
assert r['completed'] and len(set(r['rank_digests'])) == 1, r; print(sys.argv[2], r['steps'], 'steps,', \
round(r['images_per_s']), 'img/s, digests equal over', len(r['rank_digests']), 'rank(s)')" "$1" "$2"
}
"$TORCHRUN" --standalone --nproc_per_node=1 -m vise_lib.pretrain "${ARGS[@]}" --out "$TMP/one" > "$TMP/one.log"
check "$TMP/one.log" "1 GPU:"
"$TORCHRUN" --standalone --nproc_per_node="$N" -m vise_lib.pretrain "${ARGS[@]}" --out "$TMP/many" \
  --stop-after-steps 3 > "$TMP/part.log"
"$TORCHRUN" --standalone --nproc_per_node="$N" -m vise_lib.pretrain "${ARGS[@]}" --out "$TMP/many" --resume \
  > "$TMP/many.log"
check "$TMP/many.log" "$N GPU(s), stopped at step 3 and resumed:"
echo "BENCH gpu_torchrun gpus=$N ok=1"

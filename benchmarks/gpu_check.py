"""The GPU check: one command, made for a GPU machine as it is, that measures what the paper preset needs.

    python3 benchmarks/gpu_check.py [--out DIR/gpu.json]        # on the GPU machine (make gpu-check)
    python3 benchmarks/gpu_check.py --dry-run                    # the same steps on the CPU, tiny sizes (CI)

It runs with the machine's own ``python3`` and torch: nothing is installed into that Python.
Modules the library needs that the machine lacks (webdataset, braceexpand, ... see ``NEEDED``)
are installed from the wheels in ``.whl/`` (``make gpu-wheels`` downloads them here; the folder
travels with the tree) into a folder of their own, with ``pip install --no-index --no-deps
--target`` (or, without pip, by unpacking the wheels), put first on ``sys.path`` and
``PYTHONPATH``. A module still missing, no CUDA device (unless ``--dry-run``), or any step
failing ends the check with status 1 and a line starting ``GPU CHECK FAILED``.

Each figure is printed (flushed) the moment it is measured, and ``--out`` (default
``benchmarks/results/gpu.json``; ``$OUT/gpu.json`` is what comes back from a lent machine) is
rewritten after each, so a run cut short keeps what it measured. The steps, in order:

1. ``model_img_s``: ResNet-50 training steps (forward, backward, SGD) at 224 px, batch 256,
   bf16 autocast, channels_last, on tensors already on the GPU: the rate to feed.
2. Photo-like JPEG shards (smooth gradients, texture, noise and hard-edged shapes: they decode
   about as slowly as photos, unlike flat synthetic images), written to a temp folder.
3. ``loader_img_s_per_worker`` (one loader worker process: shard read, JPEG decode,
   RandomResizedCrop + flip as uint8, pinned) and ``loader_img_s`` (``workers`` workers, the
   default: the cores less one), no GPU work.
4. ``e2e_img_s``: :func:`vise_lib.pretrain.loop.pretrain` itself (ShardSource → uint8 pinned
   batches → non_blocking copies → normalize on the GPU → ResNet-50 step), for at least 30 s
   and several epochs of far more batches than the prefetch depth; the steady rate is the mean
   of the epochs after the first (``e2e_first_epoch_img_s`` is the first: workers starting).
5. ``multi_gpu_img_s``: with several GPUs, the same under ``python3 -m torch.distributed.run``
   on all of them (``--ranks``), every rank's weights checked equal; ``scaling`` = that rate /
   (GPUs × the one-GPU rate).
6. ``compiled_model_img_s``: step 1 with ``torch.compile``, if time is left (compiling takes
   about a minute).

The whole check keeps to ``--budget`` seconds (default 450: a rerun fits in 15 minutes of
device time); an optional step that would not fit is skipped and says so, and at ``--budget``
+ 30 s (8 minutes) an alarm ends the check as failed, whatever is running. It ends with one line
``BENCH gpu key=value ...``. Anchors: NVIDIA's ResNet-50 AMP training reference is about 2,500
img/s on one A100; our goal is ``e2e_img_s`` >= 3,000 on one H100.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WHEELS = REPO / ".whl"
# import name -> distribution (the wheel's name, lower case): what vise_lib's pretraining and
# shard code import beyond torch and torchvision; ``make gpu-wheels`` downloads these
NEEDED = {
    "numpy": "numpy",
    "PIL": "pillow",
    "yaml": "pyyaml",
    "tqdm": "tqdm",
    "braceexpand": "braceexpand",
    "webdataset": "webdataset",
}
T0 = time.perf_counter()


class CheckFailed(Exception):
    """A step of the check that cannot go on: printed as ``GPU CHECK FAILED: ...``, status 1."""


def say(*parts: object) -> None:
    print(f"[{time.perf_counter() - T0:6.1f}s]", *parts, flush=True)


@dataclass(frozen=True)
class Sizes:
    """How big each step is: the GPU check's sizes, or a dry run's tiny ones."""

    arch: str
    px: int
    batch: int
    model_steps: int
    warmup_steps: int
    posts: int
    per_shard: int
    unique_images: int
    loader_batch: int
    loader_batches: int
    e2e_seconds: float
    max_epochs: int

    @classmethod
    def of(cls, dry_run: bool) -> Sizes:
        if dry_run:
            return cls("small_resnet", 16, 8, 2, 1, 32, 8, 8, 8, 3, 0.0, 2)
        return cls("resnet50", 224, 256, 30, 10, 16384, 256, 512, 64, 40, 30.0, 12)


# ---------------------------------------------------------------------------------------------
# 0. the machine: modules, versions, devices


def wheel_for(dist: str, folder: Path = WHEELS) -> Path | None:
    """The wheel of distribution ``dist`` in ``folder`` (its name up to the first ``-``,
    lower case, ``_`` as ``-``), or None."""
    if not folder.is_dir():
        return None
    for p in sorted(folder.glob("*.whl")):
        if p.name.split("-", 1)[0].lower().replace("_", "-") == dist:
            return p
    return None


def ensure_modules(site: Path, folder: Path = WHEELS) -> list[str]:
    """Make every module of :data:`NEEDED` importable; returns the distributions installed.

    Those the machine has are used as they are; the others are installed from ``folder`` into
    ``site`` (put first on ``sys.path`` and ``PYTHONPATH``, so forked loader workers and
    ``torch.distributed.run``'s processes see them too). Raises :class:`CheckFailed` naming
    what is missing and how to get it.
    """
    missing = [mod for mod in NEEDED if importlib.util.find_spec(mod) is None]
    for mod in NEEDED:
        if mod not in missing:
            say(f"module {mod}: the machine's {_version(NEEDED[mod])}")
    if not missing:
        return []
    wheels = {mod: wheel_for(NEEDED[mod], folder) for mod in missing}
    if lacking := [f"{mod} ({NEEDED[mod]})" for mod, w in wheels.items() if w is None]:
        raise CheckFailed(
            f"missing module(s) {', '.join(lacking)} and no wheel for them in {folder}: run `make gpu-wheels` "
            f"where there is a network and carry .whl to this machine"
        )
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    if wrong := [w.name for w in wheels.values() if w is not None and "-cp" in w.name and f"-{tag}-" not in w.name]:
        raise CheckFailed(f"wheels {wrong} are not for this Python ({tag}): rebuild .whl with make gpu-wheels")
    site.mkdir(parents=True, exist_ok=True)
    files = [str(w) for w in wheels.values() if w is not None]
    pip = [sys.executable, "-m", "pip", "install", "--no-index", "--no-deps", "--quiet", "--target", str(site)]
    done = subprocess.run([*pip, *files], capture_output=True, text=True)
    if done.returncode != 0:  # no pip on this Python: a wheel is a zip of the files to put on the path
        say(f"pip install failed ({done.stderr.strip().splitlines()[-1:] or 'no output'}): unpacking the wheels")
        for f in files:
            with zipfile.ZipFile(f) as z:
                z.extractall(site)
    sys.path.insert(0, str(site))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), str(REPO), os.environ.get("PYTHONPATH")]))
    importlib.invalidate_caches()
    if still := [mod for mod in missing if importlib.util.find_spec(mod) is None]:
        raise CheckFailed(f"module(s) {still} still missing after installing {files} into {site}")
    for mod in missing:
        importlib.import_module(mod)
        say(f"module {mod}: installed from .whl ({_version(NEEDED[mod])})")
    return [NEEDED[mod] for mod in missing]


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def cuda_devices(dry_run: bool) -> list[str]:
    """The CUDA device names; ``[]`` in a dry run without one; :class:`CheckFailed` otherwise."""
    import torch

    if torch.cuda.is_available():
        return [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    if dry_run:
        return []
    raise CheckFailed("no CUDA device (torch.cuda.is_available() is False); --dry-run runs the steps on the CPU")


# ---------------------------------------------------------------------------------------------
# 1. the model's own rate


def model_rate(sz: Sizes, device: str, compiled: bool = False) -> tuple[float, float]:
    """``(img/s, seconds before the first timed step)`` of ResNet-50 training steps on tensors
    already on ``device`` (bf16 autocast on CUDA, channels_last), ``torch.compile``'d if asked."""
    import torch
    import torch.nn.functional as F

    from vise_lib.backbones.archs import MultiHeadClassifier, build_backbone
    from vise_lib.pretrain.config import TrainConfig
    from vise_lib.pretrain.loop import param_groups

    cuda = device.startswith("cuda")
    torch.backends.cudnn.benchmark = True
    cl = torch.channels_last
    model = MultiHeadClassifier(build_backbone(sz.arch, width=8), [1000]).to(device, memory_format=cl).train()
    cfg = TrainConfig(arch=sz.arch, weight_decay=1e-4, decay_norm_bias=False)
    opt = torch.optim.SGD(param_groups(model, cfg), lr=0.1, momentum=0.9)
    net = torch.compile(model) if compiled else model
    x = torch.randn(sz.batch, 3, sz.px, sz.px, device=device).contiguous(memory_format=cl)
    y = torch.randint(0, 1000, (sz.batch,), device=device)

    def step() -> None:
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
            out = net(x)[0]
        loss = F.cross_entropy(out.float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    t_start = time.perf_counter()
    for _ in range(sz.warmup_steps):
        step()
    sync()
    t0 = time.perf_counter()
    for _ in range(sz.model_steps):
        step()
    sync()
    return sz.model_steps * sz.batch / (time.perf_counter() - t0), t0 - t_start


# ---------------------------------------------------------------------------------------------
# 2. photo-like shards


def photo_like(n: int, px: int, seed: int = 0):
    """``n`` uint8 ``(px, px, 3)`` images that compress and decode like photos: a smooth colour
    field (bicubic from 5x5), mid-frequency texture, hard-edged discs and boxes, sensor noise."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    rng = np.random.default_rng(seed)
    out = np.empty((n, px, px, 3), np.uint8)
    yy, xx = np.mgrid[0:px, 0:px]
    for lo in range(0, n, 64):
        k = min(64, n - lo)
        smooth = F.interpolate(torch.from_numpy(rng.random((k, 3, 5, 5))), size=(px, px), mode="bicubic") * 255
        texture = F.interpolate(torch.from_numpy(rng.random((k, 3, px // 6, px // 6))), size=(px, px), mode="bilinear")
        img = (smooth + 70 * (texture - 0.5)).permute(0, 2, 3, 1).numpy()
        for i in range(k):
            for _ in range(rng.integers(3, 8)):
                cx, cy, r = rng.integers(0, px, 2).tolist() + [int(rng.integers(px // 16, px // 3))]
                shape = (
                    (xx - cx) ** 2 + (yy - cy) ** 2 < r * r
                    if rng.random() < 0.5
                    else (abs(xx - cx) < r) & (abs(yy - cy) < r // 2 + 1)
                )
                img[i][shape] = 0.3 * img[i][shape] + 0.7 * rng.integers(0, 256, 3)
        img += rng.normal(0, 6, img.shape)
        out[lo : lo + k] = np.clip(img, 0, 255).astype(np.uint8)
    return out


def write_shards(sz: Sizes, folder: Path) -> tuple[Path, Path, float]:
    """Photo-like JPEG shards of ``sz.posts`` posts (``sz.unique_images`` distinct images,
    each encoded once) and their ``labels.npz``; returns the shard folder, the labels file and
    the mean JPEG size in KB."""
    import numpy as np

    from vise_lib.engagement import shards as shards_mod

    images = photo_like(sz.unique_images, sz.px)
    encoded: dict[int, bytes] = {}
    encode = shards_mod.encode_image

    def once(image, fmt: str, quality: int) -> bytes:  # each distinct image is encoded once
        key = id(image)
        if key not in encoded:
            encoded[key] = encode(image, fmt, quality)
        return encoded[key]

    shards_mod.encode_image = once  # type: ignore[assignment]
    try:
        with shards_mod.ShardWriter(folder / "shards", sz.per_shard) as w:
            for i in range(sz.posts):
                w.add(images[i % sz.unique_images], {"post_id": f"p{i:07d}"})
            w.close()
    finally:
        shards_mod.encode_image = encode
    rng = np.random.default_rng(1)
    labels = folder / "labels.npz"
    np.savez(labels, post_id=np.array([f"p{i:07d}" for i in range(sz.posts)]), label=rng.integers(0, 1000, sz.posts))
    return folder / "shards", labels, float(np.mean([len(b) for b in encoded.values()]) / 1e3)


# ---------------------------------------------------------------------------------------------
# 3. the loader alone, 4. pretrain() end to end, 5. several GPUs


def train_config(sz: Sizes, epochs: int, device: str, batch: int | None = None):
    from vise_lib.pretrain.config import TrainConfig

    return TrainConfig(
        arch=sz.arch,
        width=8,  # small_resnet in a dry run (below 8 it trains contiguous on CPU); ignored by resnet50
        epochs=epochs,
        batch_size=batch or sz.batch,
        lr=0.1 * (batch or sz.batch) / 256,
        warmup_epochs=0.2,
        weight_decay=1e-4,
        crop="resized",
        decay_norm_bias=False,
        device=device,
    )


def loader_rate(sz: Sizes, shards: Path, labels: Path, workers: int, device: str, batches: int) -> float:
    """img/s of the shard loader alone with ``workers`` worker processes (batches of
    ``sz.loader_batch``, pinned on CUDA), timed from the first batch to the last."""
    from vise_lib.pretrain.streaming import ShardSource

    src = ShardSource.from_labels_npz(shards, labels, workers=workers, shuffle_buffer=256)
    cfg = train_config(sz, 1, device, sz.loader_batch)
    try:
        stamps = [time.perf_counter() for _ in src.batches(0, 0, batches, sz.loader_batch, cfg, "classify")]
    finally:
        src.close()
    return (len(stamps) - 1) * sz.loader_batch / (stamps[-1] - stamps[0])


def e2e(sz: Sizes, shards: Path, labels: Path, epochs: int, device: str, out: Path) -> dict:
    """:func:`pretrain` on the shards for ``epochs`` epochs; its result."""
    from vise_lib.pretrain.loop import pretrain
    from vise_lib.pretrain.streaming import ShardSource

    src = ShardSource.from_labels_npz(shards, labels)
    try:
        return pretrain(src, src.label_sets, train_config(sz, epochs, device), out, progress=False)
    finally:
        src.close()


def torchrun_command(sz: Sizes, shards: Path, labels: Path, ranks: int, device: str, out: Path) -> list[str]:
    """The ``torch.distributed.run`` command line of the several-GPU run (never a ``./torchrun``)."""
    cfg = train_config(sz, 2, device, sz.batch * ranks)
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={ranks}",
        "-m",
        "vise_lib.pretrain",
        "--shards",
        str(shards),
        "--labels-npz",
        str(labels),
        "--out",
        str(out),
        "--no-progress",
        *[
            a
            for k in ("arch", "width", "epochs", "batch_size", "lr", "warmup_epochs", "weight_decay", "crop")
            for a in (f"--{k.replace('_', '-')}", str(getattr(cfg, k)))
        ],
        "--decay-norm-bias",
        "false",
        "--device",
        device,
    ]


def several(sz: Sizes, shards: Path, labels: Path, ranks: int, device: str, out: Path, limit: float) -> dict:
    """The run of :func:`torchrun_command`: its JSON summary (rank 0's last line)."""
    done = subprocess.run(
        torchrun_command(sz, shards, labels, ranks, device, out), capture_output=True, text=True, timeout=limit
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        raise CheckFailed(f"torch.distributed.run on {ranks} ranks failed ({done.returncode}): {done.stderr[-2000:]}")
    res = json.loads(lines[-1])
    if not res["completed"] or len(set(res["rank_digests"])) != 1 or len(res["rank_digests"]) != ranks:
        raise CheckFailed(f"{ranks} ranks: not completed or weights differ between ranks: {res}")
    return res


# ---------------------------------------------------------------------------------------------


class Results:
    """The figures so far, written to ``path`` after each (the runner's results layout)."""

    def __init__(self, path: Path, dry_run: bool):
        self.path, self.values, self.dry_run = path, {}, dry_run

    def add(self, label: str, **values: float | int | str) -> None:
        for k, v in values.items():
            self.values[k] = round(v, 3) if isinstance(v, float) else v
        shown = ", ".join(f"{k}={self.values[k]}" for k in values)
        say(f"{label}: {shown}")
        self.write()

    def line(self) -> str:
        return "BENCH gpu " + " ".join(f"{k}={v}" for k, v in self.values.items())

    def write(self) -> None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        record = {
            "name": "gpu",
            "line": self.line(),
            "values": self.values,
            "machine": f"{cores} cores, {platform.processor() or platform.machine()}",
            "date": dt.date.today().isoformat(),
            "dry_run": self.dry_run,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(record, indent=1) + "\n")
        os.replace(tmp, self.path)


def run(args: argparse.Namespace) -> Results:
    sz = Sizes.of(args.dry_run)
    say(f"python {platform.python_version()} ({sys.executable}), {'dry run' if args.dry_run else 'GPU check'}")
    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("torchvision") is None:
        raise CheckFailed(f"no torch/torchvision in {sys.executable}: the check runs on the machine's own torch")
    installed = ensure_modules(Path(args.site))
    sys.path.insert(0, str(REPO))
    if str(REPO) not in os.environ.get("PYTHONPATH", "").split(os.pathsep):  # torch.distributed.run's processes
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    import torch
    import torchvision

    say(f"torch {torch.__version__}, torchvision {torchvision.__version__}, cuda {torch.version.cuda}")
    gpus = cuda_devices(args.dry_run)
    device = "cuda" if gpus else "cpu"
    from vise_lib.pretrain.sources import default_workers

    workers = default_workers()
    say(f"devices: {gpus or ['cpu (dry run)']}; {workers} loader workers by default")
    res = Results(Path(args.out), args.dry_run)
    res.add(
        "machine",
        device=(gpus[0] if gpus else "cpu").replace(" ", "_"),
        gpus=len(gpus),
        torch=torch.__version__.split("+")[0],
        installed=",".join(installed) or "none",
    )

    rate, _ = model_rate(sz, device)
    res.add(f"model only ({sz.arch} {sz.px} px, batch {sz.batch})", model_img_s=rate)

    with tempfile.TemporaryDirectory(prefix="vise-gpu-check-") as tmp:
        t = time.perf_counter()
        shards, labels, kb = write_shards(sz, Path(tmp))
        say(f"wrote {sz.posts} photo-like {sz.px} px JPEG posts in {time.perf_counter() - t:.1f}s")
        res.add("shards", jpeg_kb=kb, posts=sz.posts)

        per_worker = loader_rate(sz, shards, labels, 1, device, sz.loader_batches)
        res.add("loader, 1 worker", loader_img_s_per_worker=per_worker)
        all_workers = loader_rate(sz, shards, labels, workers, device, sz.loader_batches * 4)
        res.add(f"loader, {workers} workers", loader_img_s=all_workers, workers=workers)

        expected = min(rate, all_workers) or 1.0
        epochs = max(2, min(sz.max_epochs, math.ceil(sz.e2e_seconds * expected * 1.3 / sz.posts)))
        steps = epochs * (sz.posts // sz.batch)
        say(f"pretrain() end to end: {epochs} epochs, {steps} steps of {sz.batch} (prefetch depth 4 per worker)")
        out = e2e(sz, shards, labels, epochs, device, Path(tmp) / "e2e")
        rows = out["history"]
        steady = [r["images_per_s"] for r in rows[1:]] or [rows[0]["images_per_s"]]
        res.add(
            "end to end",
            e2e_img_s=sum(steady) / len(steady),
            e2e_first_epoch_img_s=rows[0]["images_per_s"],
            e2e_seconds=sum(r["seconds"] for r in rows),
            e2e_steps=out["steps"],
        )
        res.add("ratio", e2e_over_model=res.values["e2e_img_s"] / rate)

        ranks = args.ranks if args.ranks is not None else len(gpus)
        left = args.budget - (time.perf_counter() - T0)
        if ranks > 1 and left > 90:
            many = several(sz, shards, labels, ranks, device, Path(tmp) / "many", left - 30)
            res.add(
                f"{ranks} ranks",
                multi_gpu_img_s=many["images_per_s"],
                ranks=ranks,
                scaling=many["images_per_s"] / (ranks * res.values["e2e_img_s"]),
            )
        elif ranks > 1:
            say(f"{ranks} ranks: skipped, {left:.0f}s left of the budget")
        else:
            say("several GPUs: one device here, nothing to compare")

    left = args.budget - (time.perf_counter() - T0)
    if args.compile and left > 150:
        rate_c, warm = model_rate(sz, device, compiled=True)
        res.add("model only, torch.compile", compiled_model_img_s=rate_c, compile_seconds=warm)
    elif args.compile:
        say(f"torch.compile: skipped, {left:.0f}s left of the budget")
    return res


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dry-run", action="store_true", help="the same steps on the CPU at tiny sizes (CI)")
    p.add_argument(
        "--out", default=None, help="results file (default: benchmarks/results/gpu.json; dry run: a temp file)"
    )
    p.add_argument("--site", default="/tmp/vise-gpu-site", help="where missing modules are installed from .whl")
    p.add_argument("--ranks", type=int, default=None, help="processes of the several-device run (default: the GPUs)")
    p.add_argument("--budget", type=float, default=450.0, help="seconds the check keeps to")
    p.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None, help="time torch.compile too")
    args = p.parse_args(argv)
    if args.out is None:
        args.out = (
            str(Path(tempfile.gettempdir()) / "vise-gpu-check-dry-run.json")
            if args.dry_run
            else str(REPO / "benchmarks" / "results" / "gpu.json")
        )
    if args.compile is None:
        args.compile = not args.dry_run  # compiling on a CPU takes minutes

    def over(_signum: int, _frame: object) -> None:
        raise CheckFailed(
            f"over the time limit ({args.budget + 30:.0f}s): the figures measured so far are in {args.out}"
        )

    previous = signal.signal(signal.SIGALRM, over)  # whatever hangs, the check ends inside budget + 30 s
    signal.alarm(int(args.budget + 30))
    try:
        res = run(args)
    except CheckFailed as e:
        print(f"GPU CHECK FAILED: {e}", flush=True)
        return 1
    except Exception as e:  # any other failure: loud, with its traceback, and status 1
        import traceback

        traceback.print_exc()
        print(f"GPU CHECK FAILED: {type(e).__name__}: {e}", flush=True)
        return 1
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    say(f"done in {time.perf_counter() - T0:.0f}s; results in {args.out}")
    print(res.line(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

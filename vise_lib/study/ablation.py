"""Ablations: one factor at a time around a base point, each point run end to end.

A point is (world parameters, pseudo-label parameters). Running it generates (or reuses) its
world, builds the pseudo labels, pretrains a ``vise`` backbone with the ablation's training
budget and linear-probes it on the downstream tasks. The world's images and downstream sets
depend only on its seed and size, not on ``engagement_noise``, so the ``object`` and ``random``
baselines are trained once, on the base world, and every point is compared on the same images.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vise_lib.labels.diagnostics import agreement
from vise_lib.labels.pseudo_labels import build_pseudo_labels
from vise_lib.pretrain.config import TrainConfig
from vise_lib.pretrain.loop import pretrain
from vise_lib.transfer.runner import resolve_backbones, run_transfer, world_tasks
from vise_lib.world.generate import WorldConfig, generate_world, load_latents

# factor name -> which config it changes
WORLD_FACTORS = ("engagement_noise", "n_posts")
LABEL_FACTORS = ("n_clusters", "signal", "svd_dim", "encoder")
FACTORS = WORLD_FACTORS + LABEL_FACTORS


@dataclass(frozen=True)
class Point:
    """One ablation point: the base configuration with (at most) one factor changed."""

    factor: str                      # "base" or one of FACTORS
    value: object
    world: dict = field(hash=False)
    labels: dict = field(hash=False)

    @property
    def name(self) -> str:
        return "base" if self.factor == "base" else f"{self.factor}={self.value}"


def plan(base_world: dict, base_labels: dict, sweeps: dict[str, list]) -> list[Point]:
    """The base point plus one point per swept value that differs from the base."""
    unknown = set(sweeps) - set(FACTORS)
    if unknown:
        raise ValueError(f"unknown ablation factor(s) {sorted(unknown)}; choose from {FACTORS}")
    points = [Point("base", None, dict(base_world), dict(base_labels))]
    for factor, values in sweeps.items():
        base = (base_world if factor in WORLD_FACTORS else base_labels)[factor]
        for v in values:
            if v == base:
                continue
            w, lab = dict(base_world), dict(base_labels)
            (w if factor in WORLD_FACTORS else lab)[factor] = v
            points.append(Point(factor, v, w, lab))
    return points


def _key(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:12]


def world_for(params: dict, workdir: Path) -> Path:
    """Generate (or reuse) the world of these parameters under ``workdir/worlds``."""
    cfg = WorldConfig.from_params(params)
    out = Path(workdir) / "worlds" / _key(params)
    if not (out / "world.json").exists():
        generate_world(cfg, out)
    return out


def probe(backbone_path: str, cfg: TrainConfig, world_dir: Path, tasks: list[str],
          seeds: list[int]) -> list[dict]:
    """Linear-probe one backbone on the world's downstream tasks (the protocol of the
    downstream stage); one row per (task, seed)."""
    specs = resolve_backbones({"vise": backbone_path}, cfg.arch, cfg.width, cfg.blocks)
    res = run_transfer(world_tasks(world_dir, tasks), specs, seeds)
    return [{"task": r["task"], "seed": r["seed"], "top1": r["test"]["top1"]} for r in res["runs"]]


def run_point(point: Point, cfg: TrainConfig, tasks: list[str], seeds: list[int], workdir) -> dict:
    """Pseudo labels -> vise pretraining -> probes for one point; returns its rows and diagnostics."""
    workdir = Path(workdir)
    world_dir = world_for(point.world, workdir)
    pl = build_pseudo_labels(world_dir / "posts" / "manifest.jsonl", **point.labels)
    images = np.load(world_dir / "posts" / "images.npy", mmap_mode="r")
    x = np.ascontiguousarray(images[pl.engagement.image_index])
    out = workdir / "points" / point.name.replace("=", "_")
    res = pretrain(x, [pl.labels], cfg, out, progress=False)
    affect = load_latents(world_dir)["affect"][pl.engagement.image_index]
    nmi = agreement(pl.labels, {"affect": affect})["affect"]["nmi"]
    rows = [{"factor": point.factor, "value": point.value, "point": point.name, "backbone": "vise", **r}
            for r in probe(res["backbone"], cfg, world_dir, tasks, seeds)]
    return {"rows": rows, "nmi_affect": nmi, "seconds": res["seconds"]}


def run_baselines(base_world: dict, cfg: TrainConfig, tasks: list[str], seeds: list[int], workdir) -> list[dict]:
    """``object`` and ``random`` backbones on the base world's posts, probed like every point."""
    workdir = Path(workdir)
    world_dir = world_for(base_world, workdir)
    images = np.load(world_dir / "posts" / "images.npy")
    rows = []
    for variant, labels in (("object", [load_latents(world_dir)["object"]]), ("random", None)):
        res = pretrain(images, labels, cfg, workdir / "baselines" / variant, progress=False)
        rows += [{"factor": "baseline", "value": None, "point": variant, "backbone": variant, **r}
                 for r in probe(res["backbone"], cfg, world_dir, tasks, seeds)]
    return rows

"""Ablations and "no" worlds: the base world with one engagement factor changed, run end to end.

A point is a world (the base world's parameters with some changed) and pseudo-label parameters.
Running it generates (or reuses) its world, builds its pseudo labels (same encoder, K and
k-means settings as the main run unless the point changes them), trains ``vise`` (and any other
variant the point asks for) with the main run's training config for its pretraining seeds, and
probes every backbone on the downstream tasks.

Points that change only engagement knobs (``eng_*``, ``engagement_noise``) or the k-means seed
share the base world's images, latents and downstream sets (the world's random streams are
separate), so their backbones are compared with the main run's ``object`` and ``shuffled`` on
identical test images. A ``seed`` point (another world seed) redraws everything, so it trains its
own ``object`` baseline.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path

from vise_lib.labels.pseudo_labels import build_pseudo_labels
from vise_lib.pretrain.config import TrainConfig
from vise_lib.study.backbone_runs import submit_backbones
from vise_lib.study.label_information import label_information
from vise_lib.study.scoring import score_backbones
from vise_lib.verdicts.results import training_seconds
from vise_lib.world.generate import WorldConfig, generate_world, load_latents

ENGAGEMENT_FACTORS = ("eng_content", "eng_affect", "eng_stance", "eng_nonvisual", "engagement_noise")
#: The "no" worlds: named engagement settings where the study's answer should be no.
NO_WORLDS = {
    "content_only": {"eng_content": 1.0, "eng_affect": 0.0, "eng_stance": 0.0, "eng_nonvisual": 0.0},
    "nonvisual_only": {"eng_content": 0.0, "eng_affect": 0.0, "eng_stance": 0.0, "eng_nonvisual": 1.0},
}


@dataclass(frozen=True)
class Point:
    """One ablation point: a name, its world and label parameters, variants and pretraining seeds."""

    name: str
    kind: str  # "no-world", "noise", "affect", "kmeans_seed", "world_seed"
    value: float | int | None
    world: dict = field(hash=False)
    labels: dict = field(hash=False)
    variants: tuple = ("vise",)
    seeds: tuple = (0,)
    train: dict = field(default_factory=dict, hash=False)  # TrainConfig changes (``epochs`` of a budget point)

    def train_config(self, base: TrainConfig) -> TrainConfig:
        """The main run's training config with this point's changes."""
        return dataclasses.replace(base, **self.train) if self.train else base


#: The variants the budget points and the second world train (the headline comparisons need them).
CHECK_VARIANTS = ("vise", "object", "shuffled")


def plan(
    base_world: dict,
    base_labels: dict,
    no_worlds: list[str],
    noise: list[float],
    affect: list[float],
    kmeans_seeds: list[int],
    world_seeds: list[int],
    seeds: list[int],
    sweep_seeds: list[int],
    *,
    check_seeds: list[int] | None = None,
    budget_factors: list[float] = (),  # type: ignore[assignment]
    weak_tie: float | None = None,
    base_epochs: int = 1,
) -> list[Point]:
    """The points of the ablation stage.

    The no-worlds and the noise value 1 (the null controls) get every pretraining seed of the
    main run (``seeds``); the other sweep points ``sweep_seeds``; the k-means and world seed
    checks, the budget points (``budget_<f>x``: the main world trained for ``f`` × ``base_epochs``
    epochs, variants :data:`CHECK_VARIANTS`) and the second world (``weak_tie``: the world with
    ``affect_from_content`` set to that value, same variants) get ``check_seeds`` (default:
    ``sweep_seeds``).
    """
    unknown = sorted(set(no_worlds) - set(NO_WORLDS))
    if unknown:
        raise ValueError(f"unknown no-world(s) {unknown}; choose from {sorted(NO_WORLDS)}")
    check = list(sweep_seeds if check_seeds is None else check_seeds)

    def point(name, kind, value, world=None, labels=None, variants=("vise",), at=sweep_seeds, train=None) -> Point:
        world, labels = {**base_world, **(world or {})}, {**base_labels, **(labels or {})}
        return Point(name, kind, value, world, labels, tuple(variants), tuple(at), dict(train or {}))

    pts = [point(n, "no-world", None, NO_WORLDS[n], at=seeds) for n in no_worlds]
    pts += [
        point(f"noise_{v:g}", "noise", float(v), {"engagement_noise": float(v)}, at=seeds if v == 1 else sweep_seeds)
        for v in noise
    ]
    pts += [point(f"affect_{v:g}", "affect", float(v), {"eng_affect": float(v)}) for v in affect]
    pts += [
        point(f"kmeans_seed_{s}", "kmeans_seed", int(s), labels={"seed": int(s)}, at=check)
        for s in kmeans_seeds
        if s != base_labels["seed"]
    ]
    pts += [
        point(f"world_seed_{s}", "world_seed", int(s), {"seed": int(s)}, variants=("vise", "object"), at=check)
        for s in world_seeds
        if s != base_world["seed"]
    ]
    for f in budget_factors:
        if f <= 0 or round(f * base_epochs) < 1:
            raise ValueError(f"budget factor {f} gives no epochs (main run: {base_epochs} epochs)")
        pts.append(
            point(
                f"budget_{f:g}x",
                "budget",
                float(f),
                variants=CHECK_VARIANTS,
                at=check,
                train={"epochs": round(f * base_epochs)},
            )
        )
    if weak_tie is not None:
        pts.append(
            point(
                "weak_tie",
                "second world",
                float(weak_tie),
                {"affect_from_content": float(weak_tie)},
                variants=CHECK_VARIANTS,
                at=check,
            )
        )
    return pts


def _key(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:12]


def world_for(params: dict, workdir: Path) -> Path:
    """Generate (or reuse) the world of these parameters under ``workdir/worlds``."""
    cfg = WorldConfig.from_params(params)
    out = Path(workdir) / "worlds" / _key(cfg.to_params())
    if not (out / "world.json").exists():
        generate_world(cfg, out)
    return out


@dataclass
class Started:
    """A point whose world and pseudo labels are built and whose trainings are queued
    (:func:`start_point`); :func:`finish_point` waits for them and probes the backbones."""

    point: Point
    world_dir: Path
    information: dict
    world_seconds: float
    trained: Callable[[], dict]


def start_point(point: Point, cfg: TrainConfig, workdir, pool: Executor | None = None, holdout: float = 0.0) -> Started:
    """World -> pseudo labels for one point, and its trainings handed to ``pool`` (or run when
    :func:`finish_point` asks, without one)."""
    t0, workdir = time.perf_counter(), Path(workdir)
    world_dir = world_for(point.world, workdir)
    labels_dir = workdir / "labels" / _key({"world": point.world, "labels": point.labels})
    pl = build_pseudo_labels(world_dir / "posts" / "manifest.jsonl", **point.labels)
    pl.save(labels_dir)
    lat = {k: v[pl.engagement.image_index] for k, v in load_latents(world_dir).items()}
    info = label_information(pl.labels, lat, seed=0)
    trained = submit_backbones(
        list(point.variants),
        list(point.seeds),
        world_dir,
        labels_dir,
        point.train_config(cfg),
        workdir / "backbones" / point.name,
        pool,
        holdout=holdout,
    )
    return Started(point, world_dir, info, time.perf_counter() - t0, trained)


def finish_point(
    started: Started, cfg: TrainConfig, tasks: list[str], probe_seeds: list[int], workdir, num_threads: int = 0
) -> dict:
    """Wait for a started point's backbones and probe them; see :func:`run_point` for the result."""
    point, pre = started.point, started.trained()
    t2 = time.perf_counter()
    _, rows, correct = score_backbones(
        started.world_dir,
        {n: r["backbone"] for n, r in pre["variants"].items()},
        cfg.arch,
        cfg.width,
        cfg.blocks,
        tasks,
        probe_seeds,
        cache_dir=Path(workdir) / "features",
        num_threads=num_threads,
        prefix=f"{point.name}:",
    )
    for r in rows:
        r.update(point=point.name, kind=point.kind, value=point.value)
    return {
        "rows": rows,
        "correct": correct,
        "information": started.information,
        "histories": {
            f"{point.name}:{n}": {"variant": r["variant"], "seed": r["seed"], "history": r["history"]}
            for n, r in pre["variants"].items()
            if r.get("history")
        },
        "timing": {
            "world and labels": started.world_seconds,
            "pretrain": sum(training_seconds(r) for r in pre["variants"].values()),  # original, if resumed
            "probes": time.perf_counter() - t2,
        },
    }


def run_point(
    point: Point,
    cfg: TrainConfig,
    tasks: list[str],
    probe_seeds: list[int],
    workdir,
    num_threads: int = 0,
    pool: Executor | None = None,
    holdout: float = 0.0,
) -> dict:
    """World -> pseudo labels -> pretraining -> probes for one point.

    Returns ``rows`` (score rows, backbones named ``<point>:<variant>``), ``correct``,
    ``information`` (NMI / AMI / conditional MI of its pseudo labels with the latents),
    ``histories`` (each trained backbone's epoch log, named ``<point>:<backbone>``, with its
    variant and seed: what :func:`~vise_lib.study.backbone_runs.convergence_table` reads) and
    ``timing`` (seconds of its three phases: world and labels, training (counted as
    :func:`~vise_lib.verdicts.results.training_seconds` does), probes).
    """
    started = start_point(point, cfg, workdir, pool, holdout)
    return finish_point(started, cfg, tasks, probe_seeds, workdir, num_threads)

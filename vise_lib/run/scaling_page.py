"""The generated page "Scaling to the paper": measured rates and stated GPU anchors, projected
to wall time and machine count for 1.2M and 250M posts (the labels pass on Dask: 250M and 1B).

:func:`scaling_context` computes every figure from the stored benchmark results
(:class:`~vise_lib.run.benchmark_results.Benchmarks`) and the stated constants below; the page's
prose, and which rows it shows, are in ``templates/scaling.md``. Every figure is **measured** (a
stored ``BENCH`` value of ``ingest``, ``labels_ooc``, ``labels_dask``, ``clustering``,
``shards`` or ``gpu``), **stated** (an outside reference or our goal) or **projected** (arithmetic on those). A missing
benchmark leaves its rows out, and the page names the script to run.
"""

from __future__ import annotations

from dataclasses import dataclass

from vise_lib.run.benchmark_results import (
    Benchmarks,
    ClusteringRates,
    GpuRates,
    IngestRates,
    LabelsDaskMemory,
    LabelsDaskRates,
    LabelsOutOfCoreRates,
    ShardsRates,
)
from vise_lib.run.page_template import render

SCALES = (("ImageNet-size", 1.2e6), ("VisE-250M", 250e6))  # (name, posts)
A100_REFERENCE_IMG_S = 2500.0  # stated: NVIDIA's ResNet-50 AMP training reference on one A100
H200_GOAL_IMG_S = 3000.0  # stated: our goal, end to end on one H100/H200, used until make gpu-check has run on one
PAPER_PX, EPOCHS = 224, 30  # the paper preset's image size and schedule (configs/paper.yml; a test checks)
GPUS_PER_NODE, TARGET_DAYS = 8, 7
SHARD_BYTES_PER_POST = 20e3  # assumed size of one 224 px JPEG post in the shards
SCALING_BENCHMARKS = ("ingest", "labels_ooc", "labels_dask", "clustering", "shards")  # named on the page when missing
LABELS_SCALES = (("VisE-250M", 250e6), ("Pushshift-size", 1e9))  # (name, posts) for the labels pass on Dask
LABELS_WORKERS = (1, 16, 64, 256)  # worker processes (one core each) the labels pass is projected on


@dataclass(frozen=True)
class LabelsProjection:
    """The labels pass on Dask for ``posts`` posts on ``workers`` workers: the measured fit task
    (fixed: its samples do not grow) + the client's gather (serial, linear in posts) + the
    per-partition work at the measured per-worker rate, divided among the workers."""

    scale: str
    posts: float
    workers: int
    seconds: float


def project_labels(d: LabelsDaskRates | None) -> tuple[LabelsProjection, ...]:
    """Wall time of the labels pass at :data:`LABELS_SCALES` on :data:`LABELS_WORKERS` workers."""
    if d is None or d.per_worker_posts_per_s <= 0:
        return ()
    return tuple(
        LabelsProjection(name, n, w, d.fit_s + d.gather_s_per_m * n / 1e6 + n / (d.per_worker_posts_per_s * w))
        for name, n in LABELS_SCALES
        for w in LABELS_WORKERS
    )


@dataclass(frozen=True)
class ScaleProjection:
    """The projected cost of one scale (seconds, counts, terabytes); None: its benchmark is missing."""

    scale: str
    posts: float
    gpu_seconds: float  # pretraining, EPOCHS epochs, one GPU
    nodes: int  # GPUS_PER_NODE-GPU nodes to pretrain within TARGET_DAYS days (linear DDP scaling)
    nodes_seconds: float  # pretraining wall time on that many nodes
    disk_tb: float  # JPEG shards on disk
    ingest_seconds: float | None = None  # manifest validation, one process
    phi_seconds: float | None = None  # φ(e) encoding, one process
    kmeans_seconds: float | None = None  # linear in posts
    loader_cores: float | None = None  # loader cores per GPU to feed the GPU rate at PAPER_PX


@dataclass(frozen=True)
class ScalingContext:
    """Everything the Scaling page shows: the measured figures, the GPU rate used, the projections."""

    ingest: IngestRates | None
    labels_ooc: LabelsOutOfCoreRates | None
    clustering: ClusteringRates | None
    shards: ShardsRates | None
    gpu: GpuRates | None
    gpu_img_s: float  # the GPU training rate the projections use
    gpu_measured: bool  # True: make gpu-check measured it on a GPU; False: H200_GOAL_IMG_S, stated
    loader_img_s_per_core: float | None  # one core feeding the GPU at PAPER_PX; None: shards missing
    loader_core_measured: bool  # True: a worker's whole job measured at PAPER_PX; False: decode rate × pixel ratio
    missing: tuple[str, ...]  # of SCALING_BENCHMARKS
    machines: tuple[str, ...]  # where the benchmarks used here ran
    projections: tuple[ScaleProjection, ...]
    labels_dask: LabelsDaskRates | None = None
    labels_dask_memory: LabelsDaskMemory | None = None
    labels_projections: tuple[LabelsProjection, ...] = ()
    a100_img_s: float = A100_REFERENCE_IMG_S
    h200_goal_img_s: float = H200_GOAL_IMG_S
    paper_px: int = PAPER_PX
    epochs: int = EPOCHS
    gpus_per_node: int = GPUS_PER_NODE
    target_days: int = TARGET_DAYS
    shard_kb_per_post: float = SHARD_BYTES_PER_POST / 1e3


def loader_rate_per_core(shards: ShardsRates | None) -> tuple[float | None, bool]:
    """One core's rate doing a loader worker's job at :data:`PAPER_PX`, and whether it was measured.

    Measured when the shards benchmark timed the whole job at 224 px; else (results of an older
    benchmark) projected from the decode rate at its own size, decode cost ∝ pixels.
    """
    if shards is None:
        return None, False
    if shards.worker_img_s_per_core_224:
        return shards.worker_img_s_per_core_224, True
    projected = shards.decode_img_s_per_core * (shards.px / PAPER_PX) ** 2
    return (projected or None), False


def project(scale: str, posts: float, b: Benchmarks, gpu_img_s: float, per_core: float | None) -> ScaleProjection:
    """The cost of ``posts`` posts from the measured rates and the GPU rate."""
    img = posts * EPOCHS
    nodes = max(1, -(-img // (gpu_img_s * GPUS_PER_NODE * TARGET_DAYS * 86400)))
    return ScaleProjection(
        scale=scale,
        posts=posts,
        gpu_seconds=img / gpu_img_s,
        nodes=int(nodes),
        nodes_seconds=img / (gpu_img_s * GPUS_PER_NODE * nodes),
        disk_tb=posts * SHARD_BYTES_PER_POST / 1e12,
        ingest_seconds=posts / b.ingest.posts_per_s if b.ingest else None,
        phi_seconds=posts / b.labels_ooc.phi_posts_per_s if b.labels_ooc else None,
        kmeans_seconds=b.clustering.seconds * posts / b.clustering.n if b.clustering else None,
        loader_cores=gpu_img_s / per_core if per_core else None,
    )


def scaling_context(b: Benchmarks) -> ScalingContext:
    """The Scaling page's figures from the stored benchmark results."""
    measured = b.gpu is not None and b.gpu.measured
    gpu_img_s = b.gpu.training_img_s if measured and b.gpu is not None and b.gpu.training_img_s else H200_GOAL_IMG_S
    per_core, core_measured = loader_rate_per_core(b.shards)
    used = {*SCALING_BENCHMARKS, "gpu"}
    return ScalingContext(
        ingest=b.ingest,
        labels_ooc=b.labels_ooc,
        clustering=b.clustering,
        shards=b.shards,
        gpu=b.gpu,
        gpu_img_s=gpu_img_s,
        gpu_measured=measured,
        loader_img_s_per_core=per_core,
        loader_core_measured=core_measured,
        missing=b.missing(SCALING_BENCHMARKS),
        machines=tuple(dict.fromkeys(r.machine for r in b.records if r.name in used and r.machine != "?")),
        projections=tuple(project(name, n, b, gpu_img_s, per_core) for name, n in SCALES),
        labels_dask=b.labels_dask,
        labels_dask_memory=b.labels_dask_memory,
        labels_projections=project_labels(b.labels_dask),
    )


def scaling_page(benchmarks: Benchmarks) -> str:
    """Markdown of the page "Scaling to the paper" (``templates/scaling.md``)."""
    return render("scaling.md", scaling_context(benchmarks))

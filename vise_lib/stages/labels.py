"""The pseudo-label stage (``01_engagement_to_labels``): engagement -> φ(e) -> k-means -> labels.

:func:`run_labels` reads ``<run_dir>/world/posts/manifest.jsonl`` (the world's posts, or real
posts that ``10_ingest`` wrote in the same layout) through the manifest reader, builds every
label set of the preset's ``labels`` section
(:func:`~vise_lib.labels.pseudo_labels.build_pseudo_labels`), measures each set's agreement
with the hidden latents next to a shuffled control when the posts have latents
(:func:`~vise_lib.labels.pseudo_labels.label_diagnostics`; real posts have none), and writes

* ``labels/labels.npz`` and ``labels/read_report.json``
  (:meth:`~vise_lib.labels.pseudo_labels.PseudoLabels.save`): the pseudo labels per post;
* ``labels/results.json``: :class:`LabelsResult`.

With ``engine: dask`` (the ``paper`` preset: posts beyond memory) the labels come from the
per-partition pass of :mod:`vise_lib.labels.dask_labels` instead (:func:`run_labels_on_dask`):
the same ``labels/labels.npz`` keys the pretraining stage reads (``label``, ``post_id``,
``image_index``), the primary signal only, agreement with the latents when the posts have them,
no in-memory :class:`~vise_lib.labels.pseudo_labels.PseudoLabels` (``pseudo_labels`` is None).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from vise_lib.io import PathArg, write_json
from vise_lib.labels.config import LabelsConfig
from vise_lib.labels.dask_labels import LabelsParams, dask_client, labels_on_dask
from vise_lib.labels.diagnostics import agreement, cluster_sizes, shuffled_control
from vise_lib.labels.pseudo_labels import PseudoLabels, build_pseudo_labels, label_diagnostics
from vise_lib.labels.text import text_summary
from vise_lib.stages.result_files import read_result, typed_config
from vise_lib.world.generate import load_latents

STAGE = "01_engagement_to_labels"
LATENTS = ("affect", "stance", "object")  # the latents the label sets are compared with


@dataclass(frozen=True)
class LabelsResult:
    """``labels/results.json``: the stage's config (the :class:`~vise_lib.labels.config.LabelsConfig`
    fields, with ``backend`` the k-means backend that ran: ``auto`` resolved), the k-means
    ``schedule``, ``n_posts``, the primary set's ``inertia``, cluster ``sizes``, ``agreement``
    (NMI, ARI per latent) and ``shuffled_control``, the same for every set in ``label_sets``
    (with its inertia), the comment ``text`` issue counts and the manifest's ``skipped_rows``
    per reason. Agreement maps are empty for real posts (no latents).

    ``pseudo_labels`` is not part of the file: :func:`run_labels` leaves the in-memory
    :class:`~vise_lib.labels.pseudo_labels.PseudoLabels` there for the page's figures; a
    result read from the file has ``None``.
    """

    FILE: ClassVar[str] = "labels/results.json"
    LABELS: ClassVar[str] = "labels/labels.npz"

    signal: str
    extra_signals: list[str]
    encoder: str
    encoder_model: str | None
    n_clusters: int
    svd_dim: int
    seed: int
    pca_dim: int | None
    backend: str
    schedule: dict
    n_posts: int
    inertia: float
    sizes: list[int]
    agreement: dict
    shuffled_control: dict
    label_sets: dict
    text: dict
    skipped_rows: dict
    pseudo_labels: PseudoLabels | None = field(default=None, compare=False, repr=False)

    @classmethod
    def file_keys(cls) -> list[str]:
        """The file's keys."""
        return [f.name for f in dataclasses.fields(cls) if f.name != "pseudo_labels"]

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in self.file_keys()}

    @classmethod
    def from_json(cls, data: dict) -> LabelsResult:
        """From the file's layout; ``label_sets`` in build order (the primary signal, then the
        extra ones; the file has its keys sorted)."""
        fields = {k: data[k] for k in cls.file_keys()}
        sets = fields["label_sets"]
        order = [s for s in dict.fromkeys([data["signal"], *data["extra_signals"]]) if s in sets]
        return cls(**{**fields, "label_sets": {s: sets[s] for s in [*order, *sorted(set(sets) - set(order))]}})

    @classmethod
    def read(cls, run_dir: PathArg) -> LabelsResult:
        return cls.from_json(read_result(run_dir, cls.FILE, STAGE, cls.file_keys(), optional=()))


def world_latents(run_dir: PathArg) -> dict[str, np.ndarray] | None:
    """The hidden latents (affect, stance, object) per post image of the world in ``run_dir``,
    or ``None`` when the posts have none (real posts)."""
    world_dir = Path(run_dir) / "world"
    if not (world_dir / "posts" / "latents.npz").exists():
        return None
    latents = load_latents(world_dir)
    return {k: latents[k] for k in LATENTS}


def run_labels(config: LabelsConfig | dict | None, run_dir: PathArg, echo: Callable = print) -> LabelsResult:
    """Build the pseudo labels of the posts in ``run_dir/world``, write them and
    ``labels/results.json``; ``echo`` gets what was read and built."""
    run, cfg = Path(run_dir), typed_config(LabelsConfig, config)
    if cfg.engine == "dask":
        return run_labels_on_dask(cfg, run, echo)
    pl = build_pseudo_labels(run / "world" / "posts" / "manifest.jsonl", **cfg.build_params())
    echo(pl.report.summary(root=run))
    echo(f"k-means backend: {pl.backend}")
    for name, ls in pl.sets.items():
        echo(
            f"φ(e) {name:>9}: {ls.phi.shape[0]} posts × {ls.phi.shape[1]} dimensions, "
            f"inertia {ls.inertia:.4g}" + ("  (primary)" if name == cfg.signal else "")
        )
    echo(text_summary(pl.text))
    diag = label_diagnostics(pl, world_latents(run), seed=cfg.seed)
    agree, control = diag["agreement"], diag["shuffled_control"]
    pl.save(run / "labels")
    result = LabelsResult(
        **{**cfg.build_params(), "backend": pl.backend},
        schedule=pl.schedule,
        n_posts=len(pl.engagement),
        inertia=pl.inertia,
        sizes=cluster_sizes(pl.labels, pl.n_clusters).tolist(),
        agreement=agree[pl.signal],
        shuffled_control=control[pl.signal],
        label_sets={
            s: {"inertia": ls.inertia, "agreement": agree[s], "shuffled_control": control[s]}
            for s, ls in pl.sets.items()
        },
        text=pl.text,
        skipped_rows=dict(pl.report.skipped),
    )
    write_json(run / LabelsResult.FILE, result.to_json(), stage=STAGE)
    with np.load(run / LabelsResult.LABELS) as saved:
        arrays = ", ".join(sorted(f for f in saved.files if f.startswith("label")))
    echo(f"pseudo labels for {len(pl.labels)} posts written to labels/: {arrays}")
    return dataclasses.replace(LabelsResult.read(run), pseudo_labels=pl)


def run_labels_on_dask(cfg: LabelsConfig, run: Path, echo: Callable = print) -> LabelsResult:
    """The stage with ``engine: dask``: :func:`~vise_lib.labels.dask_labels.labels_on_dask` on the
    run's manifest into ``run/labels``, then ``labels/results.json`` (``schedule`` holds the Dask
    summary: partitions, samples, skipped tasks, seconds per phase)."""
    params = LabelsParams(
        cfg.signal, cfg.n_clusters, cfg.svd_dim, cfg.seed, cfg.fit_posts, cfg.kmeans_posts, cfg.backend, cfg.encoder,
        cfg.encoder_model, cfg.chunk_rows,
    )  # fmt: skip
    with dask_client(cfg.workers, cfg.scheduler, cfg.scheduler_file, cfg.sync, echo=echo) as client:
        s = labels_on_dask(
            [run / "world" / "posts" / "manifest.jsonl"], run / "labels", params, client, cfg.retries, echo
        )
    agree: dict = {}
    control: dict = {}
    if (latents := world_latents(run)) is not None:
        with np.load(run / LabelsResult.LABELS) as z:
            labels, lat = z["label"], {k: np.asarray(v)[z["image_index"]] for k, v in latents.items()}
        agree, control = agreement(labels, lat), shuffled_control(labels, lat, seed=cfg.seed)
    keep = ("n_files", "n_partitions", "fit_posts", "kmeans_posts", "skipped_tasks", "seconds")
    result = LabelsResult(
        **{**cfg.build_params(), "backend": s["backend"]},
        schedule={"engine": "dask", **{k: s[k] for k in keep}},
        n_posts=s["n_posts"],
        inertia=s["inertia"],
        sizes=s["cluster_sizes"],
        agreement=agree,
        shuffled_control=control,
        label_sets={cfg.signal: {"inertia": s["inertia"], "agreement": agree, "shuffled_control": control}},
        text=s.get("text", {}),
        skipped_rows=s["skipped_rows"],
    )
    write_json(run / LabelsResult.FILE, result.to_json(), stage=STAGE)
    echo(f"pseudo labels for {s['n_posts']} posts written to labels/ (Dask, {s['n_partitions']} partitions)")
    return LabelsResult.read(run)

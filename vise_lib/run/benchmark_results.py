"""Typed readers for the benchmark results that ``make bench`` stores.

``benchmarks/run_all.py`` runs each ``benchmarks/<name>.py`` and writes
``benchmarks/results/<name>.json``: ``{"name", "line", "values", "machine", "date"}``, where
``values`` are the ``key=value`` pairs of the script's ``BENCH`` line (numbers parsed as int or
float, anything else kept as text). Every result is read as a :class:`BenchmarkRecord` (the
Performance page shows them all); the figures the Scaling page computes with are read into one
small dataclass per benchmark (:class:`IngestRates`, :class:`LabelsOutOfCoreRates`,
:class:`LabelsDaskRates`, :class:`ClusteringRates`, :class:`ShardsRates`, :class:`GpuRates`).

A field with a default is a figure that results files written before the benchmark measured
it do not have (the default says so); a field without one has been in every results file of
its benchmark, and a file without it is refused. Any malformed file (not JSON, not the runner's
layout, a value of the wrong type) is a :class:`BenchmarkResultsError` naming the file.
"""

from __future__ import annotations

import dataclasses
import json
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Union, get_args, get_origin, get_type_hints

RESULTS_DIR = Path("benchmarks") / "results"  # under the repository root

Value = int | float | str


class BenchmarkResultsError(ValueError):
    """A benchmark results file that cannot be read as ``benchmarks/run_all.py`` writes it."""


@dataclass(frozen=True)
class BenchmarkRecord:
    """One stored benchmark result: its ``BENCH`` line, the parsed values, where and when it ran."""

    name: str
    line: str
    values: Mapping[str, Value]
    machine: str = "?"
    date: str = "?"
    source: str = ""  # the file it was read from ("" when built in memory)


@dataclass(frozen=True)
class IngestRates:
    """``benchmarks/ingest.py``: manifest rows validated per second, one process."""

    posts_per_s: float


@dataclass(frozen=True)
class LabelsOutOfCoreRates:
    """``benchmarks/labels_ooc.py``: ``vise labels`` out of core on ``posts`` posts."""

    posts: int
    posts_per_s: float  # end to end
    phi_posts_per_s: float  # the φ(e) encoding pass


@dataclass(frozen=True)
class LabelsDaskRates:
    """``benchmarks/labels_dask.py``: the labels pass on Dask (1 and 2 workers) next to the
    single-process pass on the same ``posts`` posts (cluster start-up left out of the rates)."""

    posts: int
    single_posts_per_s: float
    dask1_posts_per_s: float
    dask2_posts_per_s: float
    speedup_2w: float  # dask2 / single
    per_worker_posts_per_s: float  # one worker process (one core) on the per-partition work (ingest + assign)
    fit_s: float  # the one fit task (samples of a fixed size: does not grow with posts)
    gather_s_per_m: float  # the client's gather into labels.npz, per 1M posts (serial)
    worker_peak_mb: float  # the largest peak resident memory of dask2's workers
    single_peak_mb: float


@dataclass(frozen=True)
class LabelsDaskMemory:
    """``benchmarks/labels_dask_memory.py``: the largest peak resident memory of a Dask labels
    worker (2 workers) at ``small`` and ``large`` posts, with the same ``sample`` at both."""

    small: int
    large: int
    sample: int
    small_worker_peak_mb: float
    large_worker_peak_mb: float
    peak_ratio: float  # large / small


@dataclass(frozen=True)
class ClusteringRates:
    """``benchmarks/clustering.py``: k-means of ``n`` posts × ``d`` dims into ``k`` clusters (faiss schedule)."""

    seconds: float
    n: int
    d: int
    k: int


@dataclass(frozen=True)
class ShardsRates:
    """``benchmarks/shards.py``: the shard loader on CPU, and one core's decode rates."""

    loader_img_s: float  # CPU training fed by the shard loader
    ratio: float  # loader / in-memory, best rounds
    decode_img_s_per_core: float  # shard read + JPEG decode at ``px``, one core
    px: int
    mean_ratio: float | None = None  # the mean over rounds; stored since commit 68db374
    worker_img_s_per_core_224: float | None = None  # a loader worker's whole job at 224 px; since 0ed5593


@dataclass(frozen=True)
class GpuRates:
    """``benchmarks/gpu_check.py`` (``make gpu-check``; before it ``benchmarks/gpu.py``, which
    stored ``model_img_s`` only): ResNet-50 224 px bf16 training rates on a GPU machine, or
    ``skipped`` (an old record of a machine without CUDA). ``model_img_s``: the training step
    on tensors already on the GPU; ``e2e_img_s``: ``pretrain()`` fed by the shard loader, the
    steady epochs; ``loader_img_s_per_worker`` / ``loader_img_s``: the loader alone with one /
    ``workers`` worker processes; ``multi_gpu_img_s`` on ``ranks`` GPUs (``scaling``: its
    fraction of linear); ``compiled_model_img_s``: the step under ``torch.compile``."""

    skipped: str | None = None
    model_img_s: float | None = None
    device: str = "GPU"
    gpus: int | None = None
    e2e_img_s: float | None = None
    e2e_first_epoch_img_s: float | None = None
    loader_img_s_per_worker: float | None = None
    loader_img_s: float | None = None
    workers: int | None = None
    multi_gpu_img_s: float | None = None
    ranks: int | None = None
    scaling: float | None = None
    compiled_model_img_s: float | None = None

    @property
    def measured(self) -> bool:
        """A rate measured on a GPU (not a skip, not a CPU dry run)."""
        return self.model_img_s is not None and self.device != "cpu" and self.gpus != 0

    @property
    def training_img_s(self) -> float | None:
        """The rate a training run gets: end to end when measured, else the model's own."""
        return self.e2e_img_s if self.e2e_img_s is not None else self.model_img_s


# benchmark name -> the dataclass its figures are read into
TYPED = {
    "ingest": IngestRates,
    "labels_ooc": LabelsOutOfCoreRates,
    "labels_dask": LabelsDaskRates,
    "labels_dask_memory": LabelsDaskMemory,
    "clustering": ClusteringRates,
    "shards": ShardsRates,
    "gpu": GpuRates,
}


@dataclass(frozen=True)
class Benchmarks:
    """The latest stored result of each benchmark, and the typed figures of those the pages compute with."""

    records: tuple[BenchmarkRecord, ...] = ()
    ingest: IngestRates | None = None
    labels_ooc: LabelsOutOfCoreRates | None = None
    labels_dask: LabelsDaskRates | None = None
    labels_dask_memory: LabelsDaskMemory | None = None
    clustering: ClusteringRates | None = None
    shards: ShardsRates | None = None
    gpu: GpuRates | None = None

    def missing(self, names: Iterable[str]) -> tuple[str, ...]:
        """Those of ``names`` without a stored result."""
        have = {r.name for r in self.records}
        return tuple(n for n in names if n not in have)


def _where(record: BenchmarkRecord) -> str:
    return record.source or f"benchmark {record.name!r}"


def _accepts(hint: object, value: Value) -> Value:
    """``value`` as the field type ``hint`` wants it (int, float, str, or one of those | None)."""
    options = get_args(hint) if get_origin(hint) in (Union, types.UnionType) else (hint,)
    if float in options and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if int in options and isinstance(value, int) and not isinstance(value, bool):
        return value
    if str in options:
        return str(value)  # a device name the runner happened to parse as a number
    raise TypeError


def typed_figures(record: BenchmarkRecord, cls: type) -> object:
    """The fields of dataclass ``cls`` from a record's values: defaults for figures the file
    predates, :class:`BenchmarkResultsError` naming the file for a missing or mistyped one."""
    hints = get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name not in record.values:
            if f.default is dataclasses.MISSING:
                raise BenchmarkResultsError(
                    f"{_where(record)}: the {record.name} benchmark result has no value {f.name!r} "
                    f"(its BENCH line: {record.line!r}); rerun `benchmarks/run_all.py {record.name}`"
                )
            continue
        value = record.values[f.name]
        try:
            kwargs[f.name] = _accepts(hints[f.name], value)
        except TypeError:
            raise BenchmarkResultsError(
                f"{_where(record)}: value {f.name}={value!r} of the {record.name} benchmark is not {hints[f.name]}"
            ) from None
    out = cls(**kwargs)
    if isinstance(out, GpuRates) and out.skipped is None and out.model_img_s is None:
        raise BenchmarkResultsError(f"{_where(record)}: the gpu benchmark result has neither model_img_s nor skipped")
    return out


def record_from_json(data: object, source: str = "") -> BenchmarkRecord:
    """A :class:`BenchmarkRecord` from the mapping ``benchmarks/run_all.py`` writes."""
    where = source or "benchmark result"
    if not isinstance(data, dict):
        raise BenchmarkResultsError(f"{where}: expected a JSON object, got {type(data).__name__}")
    for key in ("name", "line"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise BenchmarkResultsError(f"{where}: {key!r} must be a non-empty string, got {data.get(key)!r}")
    values = data.get("values", {})
    if not isinstance(values, dict) or not all(
        isinstance(v, (int, float, str)) and not isinstance(v, bool) for v in values.values()
    ):
        raise BenchmarkResultsError(f"{where}: 'values' must map names to numbers or text, got {values!r}")
    extra = {k: data[k] for k in ("machine", "date") if k in data}
    for k, v in extra.items():
        if not isinstance(v, str):
            raise BenchmarkResultsError(f"{where}: {k!r} must be a string, got {v!r}")
    return BenchmarkRecord(data["name"], data["line"], dict(values), source=source, **extra)


def benchmarks_from_records(records: Iterable[BenchmarkRecord]) -> Benchmarks:
    """:class:`Benchmarks` from records (a later record of the same name replaces an earlier one)."""
    records = tuple(records)
    latest = {r.name: r for r in records}
    typed = {name: typed_figures(latest[name], cls) for name, cls in TYPED.items() if name in latest}
    return Benchmarks(records, **typed)  # type: ignore[arg-type]


def read_benchmarks(root: Path) -> Benchmarks:
    """The latest result of each benchmark under ``root/benchmarks/results/`` (none: no records)."""
    records = []
    for p in sorted((root / RESULTS_DIR).glob("*.json")):
        try:
            data = json.loads(p.read_text())
        except json.JSONDecodeError as e:
            raise BenchmarkResultsError(f"{p}: not valid JSON ({e}); rerun `make bench`") from None
        records.append(record_from_json(data, str(p)))
    return benchmarks_from_records(records)

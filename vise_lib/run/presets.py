"""Presets and stages: which notebook runs with which parameters.

A preset (``configs/<name>.yml``) holds one section per stage. A section whose stage has a
typed config (:data:`STAGE_CONFIGS`, subclasses of :class:`vise_lib.config.StageConfig`) is
validated when the preset loads, before any notebook runs (an unknown key stops the run
naming the key, the section and the closest valid key), and reaches the notebook as one
papermill parameter ``config`` (the validated section, every default filled in), plus
``run_dir`` (absolute path of ``runs/<preset>``) and ``preset``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path

import yaml

from vise_lib.config import StageConfig

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Stage:
    """One pipeline stage: a notebook and the preset section that parameterizes it."""

    name: str  # notebook stem, e.g. "00_world"
    section: str  # preset section, e.g. "world"
    title: str

    @property
    def notebook(self) -> str:
        return f"notebooks/{self.name}.ipynb"


STAGES: tuple[Stage, ...] = (
    Stage("00_world", "world", "The synthetic social world"),
    Stage("01_engagement_to_labels", "labels", "Engagement to pseudo labels"),
    Stage("02_pretrain", "pretrain", "Pretraining"),
    Stage("03_downstream", "downstream", "Transfer to downstream tasks"),
    Stage("04_ablations", "ablations", "Ablations"),
    Stage("05_summary", "summary", "Summary"),
)
# Real posts instead of the synthetic world: a preset lists it in its `stages` (see paper.yml).
INGEST = Stage("10_ingest", "ingest", "Your posts")
# The real-data transfer study (configs/transfer.yml, `vise evaluate`): backbones x datasets.
TRANSFER = Stage("20_transfer", "transfer", "Transfer on real datasets")
TRANSFER_SUMMARY = Stage("21_transfer_summary", "transfer_summary", "Real-data summary")
ALL_STAGES: tuple[Stage, ...] = (INGEST, *STAGES, TRANSFER, TRANSFER_SUMMARY)


# section -> "module:Class" of its typed config (imported when a preset loads).
STAGE_CONFIGS: dict[str, str] = {
    "world": "vise_lib.world.config:WorldConfig",
    "labels": "vise_lib.labels.config:LabelsConfig",
    "pretrain": "vise_lib.pretrain.stage_config:PretrainStageConfig",
    "downstream": "vise_lib.transfer.stage_config:DownstreamConfig",
    "ablations": "vise_lib.study.stage_configs:AblationsConfig",
    "summary": "vise_lib.study.stage_configs:SummaryConfig",
    "ingest": "vise_lib.engagement.config:IngestConfig",
    "transfer": "vise_lib.transfer.config:TransferConfig",
    "transfer_summary": "vise_lib.transfer.config:TransferSummaryConfig",
}


def stage_config(section: str) -> type[StageConfig] | None:
    """The typed config class of a preset section, or None for a section without one."""
    target = STAGE_CONFIGS.get(section)
    if target is None:
        return None
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def preset_path(preset: str, root: Path = REPO_ROOT) -> Path:
    """Path of a preset: a name in ``configs/`` or a path to a YAML file."""
    p = Path(preset)
    if p.suffix in (".yml", ".yaml"):
        return p.resolve()
    return root / "configs" / f"{preset}.yml"


def available_presets(root: Path = REPO_ROOT) -> list[str]:
    return sorted(p.stem for p in (root / "configs").glob("*.yml"))


def load_preset(preset: str, root: Path = REPO_ROOT) -> dict:
    """Load and check a preset: a mapping with one mapping per stage section."""
    path = preset_path(preset, root)
    if not path.is_file():
        raise ValueError(
            f"unknown preset {preset!r}: no file {path} (available: {', '.join(available_presets(root)) or 'none'})"
        )
    try:
        cfg = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ValueError(f"{path}: not valid YAML: {e}") from e
    if cfg is None:
        raise ValueError(f"{path} is empty: a preset names its stages' sections (see configs/smoke.yml)")
    if not isinstance(cfg, dict):
        raise ValueError(f"{path}: expected a mapping at the top level, got a {type(cfg).__name__}")
    known = {s.section for s in ALL_STAGES} | {"description", "stages"}
    unknown = set(cfg) - known
    if unknown:
        raise ValueError(f"{path}: unknown section(s) {sorted(unknown)}; expected {sorted(known)}")
    names = {s.name for s in ALL_STAGES}
    stages = cfg.setdefault("stages", [s.name for s in STAGES])
    if not isinstance(stages, list) or not stages or not set(stages) <= names:
        raise ValueError(f"{path}: stages must be a non-empty list drawn from {sorted(names)}, got {stages!r}")
    for s in ALL_STAGES:
        section = cfg.setdefault(s.section, {}) or {}
        if not isinstance(section, dict):
            raise ValueError(f"{path}: section {s.section!r} must be a mapping")
        typed = stage_config(s.section)
        if typed is not None:  # validate now, before any notebook runs
            section = typed.from_params(section, where=f"{path}: section {s.section!r}").to_params()
        cfg[s.section] = section
    return cfg


def preset_stages(cfg: dict) -> list[Stage]:
    """The stages a loaded preset runs, in its order."""
    by_name = {s.name: s for s in ALL_STAGES}
    return [by_name[n] for n in cfg["stages"]]


def stage_parameters(cfg: dict, stage: Stage, preset_name: str, run_dir: Path) -> dict:
    """The papermill parameters of one stage: ``run_dir``, ``preset`` and ``config`` (the typed,
    validated section) — or the section's keys, flat, for a stage without a typed config."""
    base = {"run_dir": str(run_dir), "preset": preset_name}
    if stage_config(stage.section) is not None:
        return {**base, "config": cfg[stage.section]}
    return {**base, **cfg[stage.section]}

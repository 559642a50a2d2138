"""Reading a stage's results file back: the stage's config, typed; the file's JSON, checked.

Every ``<Stage>Result.read(run_dir)`` reads its file through :func:`read_result`, so a missing,
unreadable, truncated or hand-edited file (its check file, :func:`vise_lib.io.write_check`, does
not match) stops with one message that names the file and the stage that writes it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from vise_lib.config import StageConfig
from vise_lib.io import PathArg, verify_check

C = TypeVar("C", bound=StageConfig)


def typed_config(cls: type[C], config: C | dict | None) -> C:
    """A stage's config as ``cls``: the typed object as it is, a preset section (dict) validated."""
    if isinstance(config, cls):
        return config
    if config is None or isinstance(config, dict):
        return cls.from_params(config)
    raise TypeError(f"expected a {cls.__name__} or a preset section (a mapping), got {type(config).__name__}")


def result_path(run_dir: PathArg, file: str, stage: str) -> Path:
    """``run_dir/file``, which ``stage`` writes; ``FileNotFoundError`` naming the stage to run when it is missing."""
    path = Path(run_dir) / file
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run the stage {stage} (vise run --stage {stage}) first")
    return path


def read_result(
    run_dir: PathArg, file: str, stage: str, keys: Iterable[str] = (), optional: Iterable[str] | None = None
) -> Any:
    """The JSON of ``run_dir/file``, written by ``stage`` (e.g. ``"03_downstream"``).

    A missing file raises ``FileNotFoundError``; one its check file does not vouch for, or that is not JSON, or (for an object) lacks
    one of ``keys``, or (when ``optional`` is given) holds a key that is neither in ``keys`` nor
    in ``optional``, raises ``ValueError``. Each names the file and the stage to run.
    """
    path = result_path(run_dir, file, stage)
    verify_check(path, stage)
    rerun = f"run the stage {stage} (vise run --stage {stage})"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is not valid JSON ({e}): {rerun} again") from None
    keys = list(keys)
    if keys and not isinstance(data, dict):
        raise ValueError(f"{path} holds {type(data).__name__}, not an object: {rerun} again")
    missing = [k for k in keys if k not in data]
    unknown = [] if optional is None else sorted(set(data) - set(keys) - set(optional))
    if missing:
        raise ValueError(f"{path} lacks {missing} (written by another version?): {rerun} again")
    if unknown:
        raise ValueError(f"{path} has unknown key(s) {unknown} (written by another version?): {rerun} again")
    return data


R = TypeVar("R", bound="ResultFile")


class ResultFile:
    """Base of a stage's typed results file whose JSON object holds exactly the dataclass's
    fields: :meth:`to_json` writes them, :meth:`read` reads ``run_dir/FILE`` (written by
    ``STAGE``) and checks its keys, :meth:`from_json` builds the result (override it to restore
    an order the sorted file lost)."""

    FILE: ClassVar[str]
    STAGE: ClassVar[str]

    def to_json(self) -> dict:
        return dataclasses.asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_json(cls: type[R], data: dict) -> R:
        return cls(**data)

    @classmethod
    def read(cls: type[R], run_dir: PathArg) -> R:
        names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
        return cls.from_json(read_result(run_dir, cls.FILE, cls.STAGE, names, optional=()))


def read_rows(run_dir: PathArg, file: str, stage: str, fields: Iterable[str]) -> list[dict]:
    """A results file that holds a list of rows (claims), each with every one of ``fields``;
    errors as :func:`read_result`'s."""
    data = read_result(run_dir, file, stage)
    path, rerun = Path(run_dir) / file, f"run the stage {stage} (vise run --stage {stage}) again"
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise ValueError(f"{path}: expected a list of objects: {rerun}")
    for i, r in enumerate(data):
        missing = [f for f in fields if f not in r]
        if missing:
            raise ValueError(f"{path}: row {i} lacks {missing}: {rerun}")
    return data

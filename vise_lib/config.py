"""Typed stage configs: the base every stage's parameters derive from.

A preset section (``configs/<preset>.yml``, one per stage) is read into the stage's config
class with :meth:`StageConfig.from_params` *before* any notebook runs: an unknown key stops
the run naming the key, the section and the closest valid key; a value of the wrong type
names the field. The notebook then receives the validated section as one parameter,
``config`` (a dict, every default filled in), and rebuilds the typed object from it.

Field types are read from the annotations: ``int``, ``float``, ``bool``, ``str``,
``list[...]``, ``dict`` and ``X | None``. Range rules belong in a subclass's
``__post_init__`` (call ``super().__post_init__()`` first).
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
import typing
from typing import Any, ClassVar, TypeVar

T = TypeVar("T", bound="StageConfig")


def closest(name: str, valid: list[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest valid name, or ``""`` when none is close."""
    match = difflib.get_close_matches(name, valid, n=1, cutoff=0.5)
    return f"; did you mean {match[0]!r}?" if match else ""


def _check(value: Any, kind: Any, name: str) -> Any:
    """``value`` checked (and normalized) against the annotation ``kind``."""
    origin, args = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        if value is None and type(None) in args:
            return None
        (inner,) = [a for a in args if a is not type(None)]
        return _check(value, inner, name)
    if kind is Any:
        return value
    if kind is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false, got {value!r}")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ValueError(f"{name} must be an integer, got {value!r}")
        return int(value)
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
        return float(value)
    if kind is str:
        if not isinstance(value, str):
            raise ValueError(f"{name} must be a string, got {value!r}")
        return value
    if origin is list or kind is list:
        if not isinstance(value, (list, tuple)):
            raise ValueError(f"{name} must be a list, got {value!r}")
        return [_check(v, args[0], f"{name}[{i}]") if args else v for i, v in enumerate(value)]
    if origin is dict or kind is dict:
        if not isinstance(value, dict):
            raise ValueError(f"{name} must be a mapping, got {value!r}")
        return dict(value)
    return value


@dataclasses.dataclass(frozen=True)
class StageConfig:
    """Base of the typed stage configs: validated on construction, built from a preset section."""

    section: ClassVar[str] = ""

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            where = f"{self.section or type(self).__name__}.{f.name}"
            object.__setattr__(self, f.name, _check(getattr(self, f.name), hints[f.name], where))

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def from_params(cls: type[T], params: dict | None, where: str = "") -> T:
        """Build from a preset section; unknown keys raise ``ValueError`` naming the closest key."""
        params = {} if params is None else params
        where = where or f"section {cls.section!r}"
        if not isinstance(params, dict):
            raise ValueError(f"{where}: expected a mapping, got {type(params).__name__}")
        names = cls.field_names()
        for key in params:
            if key not in names:
                raise ValueError(
                    f"{where}: unknown key {key!r}{closest(str(key), names)} (valid keys: {', '.join(names)})"
                )
        try:
            return cls(**params)
        except (TypeError, ValueError) as e:
            raise ValueError(f"{where}: {e}") from None

    def to_params(self) -> dict:
        """The config as a plain, JSON-ready dict (every field, defaults filled in)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

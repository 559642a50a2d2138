"""Fill a generated page's MyST template (``vise_lib/run/templates/<name>.md``) from a typed context.

The prose of the Performance, Scaling and Reproducibility pages lives in those templates
(Jinja2: ``{{ value | fmt(",.1f") }}``, ``{% if … %}``, ``{% for … %}``); Python computes the
numbers and small tables and passes them as one dataclass. Two filters format numbers:
``fmt`` (a :func:`format` spec) and ``duration`` (seconds as s, min, h or days). A name the
template uses and the context lacks is an error, not an empty string.
"""

from __future__ import annotations

import dataclasses
from functools import cache

import jinja2


def duration(seconds: float) -> str:
    """Seconds as the largest unit that fits: ``"3.6 days"``, ``"3.3 h"``, ``"45.5 min"``, ``"20.0 s"``."""
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:,.1f} {unit}"
    return f"{seconds:,.1f} s"


def fmt(value: float | str | None, spec: str = "", missing: str = "-") -> str:
    """``format(value, spec)``; ``missing`` for None (a figure not recorded)."""
    return missing if value is None else format(value, spec)


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("vise_lib.run", "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # markdown, not HTML
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["fmt"] = fmt
    env.filters["duration"] = duration
    return env


def render(template: str, context: object) -> str:
    """Template ``templates/<template>`` filled with the fields of the dataclass ``context``."""
    if not dataclasses.is_dataclass(context) or isinstance(context, type):
        raise TypeError(f"render({template!r}): the context must be a dataclass instance, got {type(context).__name__}")
    fields = {f.name: getattr(context, f.name) for f in dataclasses.fields(context)}
    return environment().get_template(template).render(**fields)

"""Parquet partitions of the post table: one :class:`Engagement` chunk per file, written atomically.

The Dask labels pass (:mod:`vise_lib.labels.dask_labels`) ingests each input file into such
partitions once, so the later phases read columns instead of re-parsing and re-validating
JSON. Columns: ``post_id``, ``image_index``, ``image`` (null when absent), ``comments``
(list of strings), ``caption``, ``n_comments``, ``shares``, ``timestamp`` and one
``reaction:<name>`` int64 column per reaction. :func:`read_partition` gives back the same
:class:`Engagement` (a reaction absent from the file counts 0); an unreadable file is a
:class:`PartitionError` naming it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from vise_lib.engagement.table import Engagement
from vise_lib.io import PathArg, atomic_write

REACTION_PREFIX = "reaction:"


class PartitionError(ValueError):
    """A partition file is missing, unreadable or not a post table (the message names it)."""


def write_partition(eng: Engagement, path: PathArg) -> Path:
    """Write ``eng`` as one Parquet file at ``path`` (atomically: a reader never sees half a file)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    columns = {
        "post_id": pa.array(eng.post_ids, pa.string()),
        "image_index": pa.array(eng.image_index, pa.int64()),
        "image": pa.array(eng.images, pa.string()),
        "comments": pa.array(eng.comments, pa.list_(pa.string())),
        "caption": pa.array(eng.captions, pa.string()),
        "n_comments": pa.array(eng.n_comments, pa.int64()),
        "shares": pa.array(eng.shares, pa.int64()),
        "timestamp": pa.array(eng.timestamp, pa.int64()),
    }
    for j, name in enumerate(eng.reaction_names):
        columns[REACTION_PREFIX + name] = pa.array(eng.reactions[:, j], pa.int64())
    table = pa.table(columns)
    return atomic_write(path, lambda fh: pq.write_table(table, fh))


def partition_reactions(path: PathArg) -> tuple[str, ...]:
    """The reaction names a partition file holds (from its schema)."""
    import pyarrow.parquet as pq

    try:
        names = pq.read_schema(path).names
    except Exception as e:  # pyarrow raises several types for a corrupt file
        raise PartitionError(f"{path}: not a readable post-table partition: {e}") from None
    return tuple(n[len(REACTION_PREFIX) :] for n in names if n.startswith(REACTION_PREFIX))


def read_partition(path: PathArg, reaction_names: Sequence[str] | None = None, rows: int | None = None) -> Engagement:
    """The :class:`Engagement` of one partition file, with the reaction columns ``reaction_names``
    (default: the file's own, in its order; a name the file lacks counts 0); ``rows``: only its
    first ``rows`` posts (the Python objects of the others are never built)."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
        if rows is not None:
            table = table.slice(0, rows)
        cols = table.to_pydict()
        own = [n[len(REACTION_PREFIX) :] for n in table.column_names if n.startswith(REACTION_PREFIX)]
        names = tuple(own if reaction_names is None else reaction_names)
        n = table.num_rows
        reactions = np.zeros((n, len(names)), np.int64)
        for j, name in enumerate(names):
            if name in own:
                reactions[:, j] = cols[REACTION_PREFIX + name]
        extra = [m for m in own if m not in names and any(cols[REACTION_PREFIX + m])]
        if extra:
            raise PartitionError(f"{path}: reactions {extra} are not among the columns {list(names)}")
        return Engagement(
            post_ids=cols["post_id"],
            image_index=np.asarray(cols["image_index"], np.int64),
            images=cols["image"],
            comments=cols["comments"],
            reactions=reactions,
            reaction_names=names,
            shares=np.asarray(cols["shares"], np.int64),
            timestamp=np.asarray(cols["timestamp"], np.int64),
            captions=cols["caption"],
            n_comments=np.asarray(cols["n_comments"], np.int64),
        )
    except PartitionError:
        raise
    except Exception as e:  # pyarrow raises several types for a corrupt or foreign file
        raise PartitionError(f"{path}: not a readable post-table partition: {type(e).__name__}: {e}") from None

"""Validation and streaming of engagement manifests: rows -> checked rows -> Engagement chunks.

Each record from :mod:`vise_lib.engagement.formats` is validated (:func:`parse_row`), checked for
duplicate post ids, and, with a data root, for an image path that stays inside the root and
exists (:mod:`vise_lib.engagement.data_root`). Failures become counted skips with the row number in the
:class:`~vise_lib.engagement.table.ReadReport`, or a :class:`~vise_lib.engagement.table.ManifestError` in
strict mode. Memory: one chunk of rows, the comments table if one is given, and 8 bytes per post
for the duplicate check (hashes of earlier chunks' ids; a 64-bit hash collision, about one in
10^19 per pair, would show up as a counted "duplicate post_id" skip, never a silent drop).

Counts (reactions, ``shares``, ``n_comments``, ``image_index``) must be whole numbers in
``[0, MAX_COUNT]`` (10^12) and ``timestamp`` in ``[0, MAX_TIMESTAMP]`` (10^13, so seconds or
milliseconds fit); ``1e30`` or ``10**30`` is a counted skip ("count out of range"), never an
overflow later. Numeric text (``"12"``) is a number, as in CSV. Comments that are exactly
``[deleted]`` or ``[removed]`` (Reddit's placeholders) are dropped and counted in the notes, as
the Pushshift reader does. A manifest with no kept row is an error naming the file; engagement
that is empty for every post (no comments, all reactions and shares zero) is reported as a note
and a warning, since φ(e) then cannot tell posts apart.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from vise_lib.engagement.data_root import DataRoot, ImagePathError
from vise_lib.engagement.formats import (
    DROPPED_COMMENTS,
    NOTE_DROPPED,
    NOTE_EMPTY_COMMENT,
    RowError,
    gather_reactions,
    iter_records,
    number,
    read_comments_table,
)
from vise_lib.engagement.table import Engagement, ManifestError, ReadReport
from vise_lib.io import PathArg

MAX_COUNT = 10**12
MAX_TIMESTAMP = 10**13


def _count(value, what: str, top: int = MAX_COUNT) -> int:
    if type(value) is int and 0 <= value <= top:  # the common case, fast
        return value
    value = number(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RowError("non-numeric count", f"{what} is not a number: {value!r}")
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value) or not value.is_integer()):
        raise RowError("NaN or fractional count", f"{what} is not a whole number: {value!r}")
    if value < 0:
        raise RowError("negative count", f"{what} is negative: {value!r}")
    if value > top:
        raise RowError("count out of range", f"{what} is {value!r}, above the largest accepted {top:.0e}")
    return int(value)


def parse_row(row, notes: Counter, reaction_columns=()) -> dict:
    """Validate one record; return the clean row or raise :class:`RowError` (reason = category)."""
    if isinstance(row, RowError):
        raise row
    if not isinstance(row, dict):
        raise RowError("not a JSON object", "row is not a JSON object")
    pid = row.get("post_id")
    if isinstance(pid, bool) or not isinstance(pid, (str, int)) or pid == "":
        raise RowError("missing post_id")
    has_index, has_path = row.get("image_index") is not None, isinstance(row.get("image"), str)
    if not (has_index or has_path):
        raise RowError("no image reference", "no image reference (image or image_index)")
    index = _count(row["image_index"], "image_index") if has_index and not has_path else -1
    comments = row.get("comments", [])
    if comments is None:
        comments = []
    if not isinstance(comments, list) or not all(isinstance(c, str) for c in comments):
        raise RowError("bad comments", "comments is not a list of strings")
    kept = [c for c in comments if c.strip() and c.strip() not in DROPPED_COMMENTS]
    if len(kept) < len(comments):
        n_placeholders = sum(c.strip() in DROPPED_COMMENTS for c in comments)
        if n_placeholders:
            notes[NOTE_DROPPED] += n_placeholders
        if len(comments) - len(kept) > n_placeholders:
            notes[NOTE_EMPTY_COMMENT] += len(comments) - len(kept) - n_placeholders
    caption = row.get("caption")
    if caption is not None and not isinstance(caption, str):
        raise RowError("bad caption", f"caption is not a string: {caption!r}")
    reactions = {str(k): _count(v, f"reaction {k!r}") for k, v in gather_reactions(row, reaction_columns).items()}
    n_comments = row.get("n_comments")
    out = {
        "post_id": str(pid),
        "image_index": index,
        "image": row["image"] if has_path else None,
        "comments": kept,
        "reactions": reactions,
        "shares": _count(row.get("shares", 0) or 0, "shares"),
        "timestamp": _count(row.get("timestamp", 0) or 0, "timestamp", MAX_TIMESTAMP),
    }
    if caption and caption.strip():
        out["caption"] = caption.strip()
    if n_comments is not None:
        out["n_comments"] = _count(n_comments, "n_comments")
    return out


class _SeenIds:
    """Post ids seen in earlier chunks, as sorted int64 hashes in a few merged levels."""

    def __init__(self):
        self.levels: list[np.ndarray] = []

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        hit = np.zeros(len(hashes), dtype=bool)
        for level in self.levels:
            i = np.minimum(np.searchsorted(level, hashes), len(level) - 1)
            hit |= level[i] == hashes
        return hit

    def add(self, hashes: np.ndarray) -> None:
        self.levels.append(np.sort(hashes))
        while len(self.levels) > 1 and len(self.levels[-2]) <= 2 * len(self.levels[-1]):
            last = self.levels.pop()
            self.levels[-1] = np.sort(np.concatenate([self.levels[-1], last]))


class ManifestReader:
    """Stream a manifest as :class:`Engagement` chunks, validating every row.

    Arguments as for :func:`read_manifest`. Iterate it for chunks of up to ``chunk_rows``
    posts; ``report`` fills in as it goes. Reaction columns are ``reaction_names`` when given;
    otherwise a first pass over the file collects every name seen (pass ``reaction_names`` to
    skip that pass). Reactions outside ``reaction_names`` are counted in ``report.notes``.
    The comments table, if given, is held in memory (one list per post).
    """

    def __init__(
        self,
        path: PathArg,
        strict: bool = False,
        reaction_names: Sequence[str] | None = None,
        *,
        comments: PathArg | None = None,
        data_root: PathArg | None = None,
        reaction_columns: Sequence[str] = (),
        chunk_rows: int = 50_000,
    ) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"engagement manifest not found: {self.path}")
        if chunk_rows < 1:
            raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
        self.strict, self.chunk_rows = strict, chunk_rows
        self.reaction_columns = tuple(reaction_columns or ())
        self.root = DataRoot(data_root) if data_root is not None else None
        self.comments_path = Path(comments) if comments is not None else None
        self.report = ReadReport(str(self.path))
        self.reaction_names = tuple(reaction_names) if reaction_names is not None else None

    def _fail(self, line: int, err: ValueError) -> None:
        reason = getattr(err, "reason", str(err))
        if self.strict:
            raise ManifestError(f"{self.path}:{line}: {err}") from None
        self.report.skip(line, reason, str(err))

    def _comment_table(self):
        if self.comments_path is None:
            return None
        table, skipped, examples = read_comments_table(self.comments_path, self.report.notes)
        if skipped and self.strict:
            raise ManifestError(examples[0][1])
        self.report.skipped.update(skipped)
        self.report.examples.extend(examples[: 20 - len(self.report.examples)])
        return table

    def row_chunks(self) -> Iterator[list[dict]]:
        """Yield lists of validated row dicts, each with its ``line`` (row number) added."""
        rep, seen, table = self.report, _SeenIds(), self._comment_table()
        records = iter_records(self.path, rep.notes, self.reaction_columns)
        done = False
        while not done:
            rows, errors, hashes, in_chunk = [], [], [], set()
            for line, rec in records:
                rep.n_rows += 1
                try:
                    row = parse_row(rec, rep.notes, self.reaction_columns)
                    if row["post_id"] in in_chunk:
                        raise RowError("duplicate post_id", f"duplicate post_id {row['post_id']!r}")
                    if self.root is not None and row["image"] is not None:
                        row["image"] = self.root.check_relative(row["image"])
                        self.root.resolve(row["image"])
                except (RowError, ImagePathError) as e:
                    errors.append((line, e))
                else:
                    in_chunk.add(row["post_id"])
                    rows.append((line, row))
                    hashes.append(hash(row["post_id"]))
                if len(rows) >= self.chunk_rows:
                    break
            else:
                done = True
            dup = seen.contains(np.array(hashes, dtype=np.int64))
            seen.add(np.array(hashes, dtype=np.int64))
            errors += [
                (line, RowError("duplicate post_id", f"duplicate post_id {r['post_id']!r} (seen earlier)"))
                for (line, r), d in zip(rows, dup, strict=False)
                if d
            ]
            for line, err in sorted(errors, key=lambda t: t[0]):
                self._fail(line, err)
            kept = [dict(r, line=line) for (line, r), d in zip(rows, dup, strict=False) if not d]
            if table is not None:
                for r in kept:
                    r["comments"] = r["comments"] + table.pop(r["post_id"], [])
            rep.n_kept += len(kept)
            if kept:
                yield kept
        if table:
            rep.notes["comments for posts not in the manifest (ignored)"] += sum(map(len, table.values()))
        if rep.n_kept == 0:
            raise ManifestError(
                f"{self.path}: no posts to read: " + ("the file has no rows" if rep.n_rows == 0 else rep.summary())
            )

    def _scan_names(self) -> tuple[str, ...]:
        names: dict[str, None] = {}
        for rec in iter_records(self.path, Counter(), self.reaction_columns):
            if isinstance(rec[1], dict):
                with contextlib.suppress(RowError):
                    names.update(dict.fromkeys(gather_reactions(rec[1], self.reaction_columns)))
        return tuple(names)

    def own_name_chunks(self) -> Iterator[Engagement]:
        """The chunks, each with the reaction columns its own rows name (sorted), without the
        first pass over the file that :meth:`__iter__` makes to give every chunk the same columns
        (for readers that store each chunk with its own columns, as the Dask partitions do)."""
        for rows in self.row_chunks():
            yield Engagement.from_rows(rows, sorted({k for r in rows for k in r["reactions"]}))

    def __iter__(self):
        names = self.reaction_names
        if names is None:
            names = self.reaction_names = self._scan_names()
        for rows in self.row_chunks():
            extra = sum(1 for r in rows if set(r["reactions"]) - set(names))
            if extra:
                self.report.notes["rows with reactions outside reaction_names (ignored)"] += extra
            yield Engagement.from_rows(rows, names)


def read_manifest(
    path: PathArg,
    strict: bool = False,
    reaction_names: tuple[str, ...] | None = None,
    *,
    comments: PathArg | None = None,
    data_root: PathArg | None = None,
    reaction_columns: Sequence[str] = (),
    chunk_rows: int = 50_000,
) -> tuple[Engagement, ReadReport]:
    """Read an engagement manifest (JSONL, JSONL.zst, CSV/TSV or Parquet) into memory.

    Invalid rows (broken JSON, missing id or image, negative / NaN / non-numeric counts,
    non-string comments, duplicate post ids; with ``data_root``: image paths that escape the
    root or do not exist) are skipped and counted in the report, or raise
    :class:`ManifestError` naming the file and line when ``strict``. Reaction columns are
    ``reaction_names`` if given, else every name seen, in first-seen order (absent = 0).
    ``comments`` is an optional separate comments table keyed by ``post_id``;
    ``reaction_columns`` names extra columns to read as reactions. For manifests larger than
    memory iterate a :class:`ManifestReader` instead.
    """
    reader = ManifestReader(
        path,
        strict,
        reaction_names,
        comments=comments,
        data_root=data_root,
        reaction_columns=reaction_columns,
        chunk_rows=chunk_rows,
    )
    rows = [r for chunk in reader.row_chunks() for r in chunk]
    names = list(reaction_names or [])
    if reaction_names is None:
        seen = set()
        for r in rows:
            new = [k for k in r["reactions"] if k not in seen]
            names += new
            seen.update(new)
    elif extra := sum(1 for r in rows if set(r["reactions"]) - set(names)):
        reader.report.notes["rows with reactions outside reaction_names (ignored)"] += extra
    eng = Engagement.from_rows(rows, names)
    check_engagement(eng, reader.report)
    return eng, reader.report


def check_engagement(eng: Engagement, report: ReadReport) -> None:
    """Note (in ``report.notes``) and warn when every post's engagement is empty: no comment,
    caption or comment count, and all reactions and shares zero."""
    if len(eng) and len(eng.zero_blocks()) == 3:
        msg = (
            "every post has zero engagement (no comments, all reactions and shares 0): every post gets "
            "the same φ(e), so the pseudo labels cannot separate them"
        )
        report.notes[msg] += len(eng)
        warnings.warn(f"{report.path}: {len(eng)} posts: {msg}", stacklevel=3)

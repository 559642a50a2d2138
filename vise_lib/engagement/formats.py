"""Manifest file formats: JSONL, CSV and Parquet rows -> one record schema, streamed.

Every format is read row by row (JSONL, CSV) or in record batches (Parquet) and each row is
turned into the JSONL record form that :mod:`vise_lib.engagement.table` validates::

    {"post_id", "image" | "image_index", "comments": [...], "reactions": {...}, "shares", "timestamp"}

Columns of a table (CSV or Parquet; JSONL objects may use them too):

* ``post_id`` (required); ``image`` (path relative to the data root) or ``image_index``;
* ``comments``: in CSV a JSON list of strings, a Python list of strings (what pandas writes)
  or plain text, one comment (:mod:`vise_lib.engagement.comment_cells`; empty cell = no
  comments); a list column in Parquet; or leave it out and give a separate comments table
  (:func:`read_comments_table`);
* reactions: every ``reaction_<name>`` column is reaction ``<name>``; ``reaction_columns=`` names
  further columns to use as reactions under their own names (e.g. ``["score"]`` or
  ``["like", "love"]``); a ``reactions`` column may hold a JSON object (CSV) or a struct (Parquet);
* ``shares``, ``timestamp`` (Unix seconds), ``n_comments``: optional counts;
* ``caption``: optional text, the poster's own words (read with the comments).

An empty CSV cell or a Parquet null in a count column is read as 0 and counted in the report's
notes; the text ``NaN``, a float NaN, a negative or a non-numeric value skips the row. Numeric
text is a number in every format: CSV ``12`` and JSONL ``"12"`` (or ``12``) all read as 12.
Row numbers: JSONL and CSV give the physical line (CSV header = line 1); Parquet gives the
1-based data row.

Counts are read strictly: ASCII digits with an optional sign, decimal point and exponent
(``12``, ``1e3``); ``1_000`` and ``1,234`` are not numbers (a skipped row, as any non-numeric
count). Every text value of every format has one length cap, :data:`CSV_FIELD_LIMIT` characters
(a longer one skips its row: "cell too long"). Blank lines and rows whose cells are all empty
are skipped and counted in the report's notes. A UTF-16 or UTF-32 file (a byte-order mark, or
a first line of NUL bytes) is refused naming the file and how to convert it; a line holding NUL
bytes (a UTF-16 fragment pasted into a UTF-8 file) is a skipped row ("NUL bytes").

Text repairs that keep the row, counted in the report's notes: a UTF-8 byte-order mark at the
start of the file (what Excel writes; also two, from a re-encoded file) is removed
(:class:`vise_lib.engagement.zst.LineStream`, which every text format is read through); invalid UTF-8 bytes become U+FFFD; a lone
UTF-16 surrogate from a JSON escape (``"\\udc80"``, half an emoji, as real dumps have) becomes
U+FFFD, since it cannot be written back as UTF-8.
"""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from pathlib import Path

from vise_lib.engagement.comment_cells import CommentCellError, parse_comments_cell
from vise_lib.engagement.zst import LineStream

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
CSV_SUFFIXES = (".csv", ".tsv")
PARQUET_SUFFIXES = (".parquet", ".pq")
PREFIX = "reaction_"
CSV_FIELD_LIMIT = 1 << 26  # 64 Mi characters per text value, every format; longer: a counted skip ("cell too long")
COUNT_KEYS = ("image_index", "shares", "timestamp", "n_comments")
NOTE_UTF8 = "non-UTF-8 bytes replaced by U+FFFD"
NOTE_EMPTY_CELL = "empty count cells read as 0"
NOTE_SURROGATE = "lone UTF-16 surrogates replaced by U+FFFD"
NOTE_BOM = "UTF-8 byte-order mark removed"
NOTE_EMPTY_COMMENT = "empty comments dropped"
NOTE_DROPPED = "[deleted]/[removed] comments dropped"
NOTE_BLANK = "blank lines skipped"
NOTE_ALL_EMPTY = "rows of empty cells skipped"
# byte-order marks of the encodings a manifest must not be in (UTF-32 first: FF FE 00 00 starts with FF FE)
WIDE_BOMS = (
    (b"\xff\xfe\x00\x00", "UTF-32-LE"),
    (b"\x00\x00\xfe\xff", "UTF-32-BE"),
    (b"\xff\xfe", "UTF-16-LE"),
    (b"\xfe\xff", "UTF-16-BE"),
)
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_NON_FINITE = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}
DROPPED_COMMENTS = ("[deleted]", "[removed]")  # Reddit's placeholders for a comment that is gone
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_STRICT, _LAX = (
    json.JSONDecoder(),
    json.JSONDecoder(strict=False),
)  # built once: json.loads(..., strict=) builds one a call


class RowError(ValueError):
    """A row is invalid; ``reason`` is the short category the report counts."""

    def __init__(self, reason: str, message: str | None = None):
        super().__init__(message or reason)
        self.reason = reason


def manifest_format(path) -> str:
    """``"jsonl"``, ``"csv"`` or ``"parquet"`` from the file name (``.zst`` allowed for JSONL)."""
    name = Path(path).name.lower()
    stem = name[:-4] if name.endswith(".zst") else name
    for fmt, suffixes in (("jsonl", JSONL_SUFFIXES), ("csv", CSV_SUFFIXES), ("parquet", PARQUET_SUFFIXES)):
        if stem.endswith(suffixes) and (fmt == "jsonl" or not name.endswith(".zst")):
            return fmt
    raise ValueError(f"{path}: unknown manifest format; use .jsonl (or .jsonl.zst), .csv or .parquet")


def _decode(raw: bytes, notes: Counter) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        notes[NOTE_UTF8] += 1
        return raw.decode("utf-8", errors="replace")


def repair_surrogates(obj, notes: Counter):
    """``obj`` (str, list, dict) with each lone UTF-16 surrogate replaced by U+FFFD; every
    repaired string counts once in ``notes``."""
    if isinstance(obj, str):
        try:
            obj.encode("utf-8")
            return obj
        except UnicodeEncodeError:
            notes[NOTE_SURROGATE] += 1
            return obj.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    if isinstance(obj, list):
        return [repair_surrogates(v, notes) for v in obj]
    if isinstance(obj, dict):
        return {repair_surrogates(k, notes): repair_surrogates(v, notes) for k, v in obj.items()}
    return obj


def loads_json(text: str, notes: Counter, strict: bool = True):
    """``json.loads`` whose strings hold no lone surrogate (repaired and counted, see above)."""
    obj = (_STRICT if strict else _LAX).decode(text)
    if _SURROGATE_ESCAPE.search(text):  # only a \ud800-\udfff escape can leave a lone surrogate
        obj = repair_surrogates(obj, notes)
    return obj


def check_encoding(path, first_line: bytes) -> None:
    """``ValueError`` naming ``path`` when its first line shows a UTF-16 or UTF-32 file (a
    byte-order mark, or at least a quarter NUL bytes): manifests are UTF-8."""
    for bom, name in WIDE_BOMS:
        if first_line.startswith(bom):
            raise ValueError(
                f"{path}: the file is {name} (byte-order mark {bom.hex(' ')}), not UTF-8: convert it "
                f"(iconv -f {name} -t UTF-8 {Path(path).name} > converted{Path(path).suffix}) and read that"
            )
    if first_line and first_line.count(0) * 4 >= len(first_line):
        raise ValueError(
            f"{path}: the first line is {100 * first_line.count(0) // len(first_line)}% NUL bytes: the file "
            f"looks UTF-16 or UTF-32 (without a byte-order mark), not UTF-8: convert it to UTF-8 and read that"
        )


def nul_row(raw: bytes | str) -> RowError:
    """The skip of a line holding NUL bytes."""
    return RowError("NUL bytes", f"the line holds NUL bytes (a UTF-16/32 fragment?): {raw[:60]!r}")


def longest_text(obj) -> int:
    """The length of the longest string in ``obj`` (str, list, dict keys and values)."""
    todo, top = [obj], 0
    while todo:
        v = todo.pop()
        if isinstance(v, str):
            top = max(top, len(v))
        elif isinstance(v, list):
            todo.extend(v)
        elif isinstance(v, dict):
            todo.extend(v.keys())
            todo.extend(v.values())
    return top


def too_long(n: int) -> RowError:
    return RowError("cell too long", f"a text value of {n} characters, above the limit of {CSV_FIELD_LIMIT}")


def _jsonl_rows(path, notes, reaction_columns):
    stream = LineStream(path)
    for lineno, raw in enumerate(stream, start=1):
        if lineno == 1:
            check_encoding(path, raw)
            if stream.bom:
                notes[NOTE_BOM] += 1
        if not raw.strip():
            notes[NOTE_BLANK] += 1
            continue
        if b"\x00" in raw:
            yield lineno, nul_row(raw)
            continue
        try:
            rec = loads_json(_decode(raw, notes), notes)
        except (ValueError, RecursionError) as e:  # JSONDecodeError, too deep, an integer of > 4300 digits
            yield lineno, RowError("invalid JSON", f"invalid JSON ({str(e)[:80]}): {raw[:60]!r}")
            continue
        if len(raw) > CSV_FIELD_LIMIT and (n := longest_text(rec)) > CSV_FIELD_LIMIT:
            yield lineno, too_long(n)
            continue
        yield lineno, rec


def _csv_rows(path, notes, reaction_columns):
    stream = LineStream(path)

    def lines():
        for raw in stream:
            if stream.lines == 1:
                check_encoding(path, raw)
                if stream.bom:
                    notes[NOTE_BOM] += 1
            yield _decode(raw, notes) + "\n"

    csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))  # a post's comments cell can be large
    reader = csv.reader(lines(), delimiter="\t" if str(path).lower().endswith(".tsv") else ",")
    try:
        header = next(reader, None)
    except csv.Error as e:
        raise ValueError(f"{path}: unreadable CSV header: {e}") from None
    if header is None:
        return
    header = [h.strip() for h in header]
    if "post_id" not in header:
        raise ValueError(f"{path}: the header has no post_id column (columns: {header})")
    _check_columns(path, header, reaction_columns)
    start = reader.line_num + 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as e:  # e.g. a cell above the field size limit; the reader goes on after it
            line, start = start, reader.line_num + 1
            if "field larger than field limit" in str(e):
                yield line, too_long(csv.field_size_limit() + 1)
            else:
                yield line, RowError("unreadable CSV row", f"unreadable CSV row: {e}")
            continue
        line, start = start, reader.line_num + 1
        if not cells or all(not c.strip() for c in cells):
            notes[NOTE_BLANK if not cells or cells == [""] else NOTE_ALL_EMPTY] += 1
            continue
        if any("\x00" in c for c in cells):
            yield line, nul_row(",".join(cells))
            continue
        if (n := max(map(len, cells))) > CSV_FIELD_LIMIT:  # the csv module's limit is global: may be larger
            yield line, too_long(n)
            continue
        if len(cells) != len(header):
            yield line, RowError("wrong number of cells", f"{len(cells)} cells, header has {len(header)}")
            continue
        yield line, _from_table(dict(zip(header, cells, strict=False)), notes, reaction_columns)


def _parquet_rows(path, notes, reaction_columns, batch_rows=8192):
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as e:  # pyarrow raises several types for a corrupt file
        raise ValueError(f"{path}: not a readable Parquet file: {e}") from None
    if "post_id" not in pf.schema_arrow.names:
        raise ValueError(f"{path}: no post_id column (columns: {pf.schema_arrow.names})")
    _check_columns(path, pf.schema_arrow.names, reaction_columns)
    row = 0
    try:
        for batch in pf.iter_batches(batch_size=batch_rows):
            big = batch.nbytes > CSV_FIELD_LIMIT  # only then can one text value be over the limit
            for rec in batch.to_pylist():
                row += 1
                if big and (n := longest_text(rec)) > CSV_FIELD_LIMIT:
                    yield row, too_long(n)
                    continue
                yield row, _from_table(rec, notes, reaction_columns)
    except OSError as e:
        raise ValueError(f"{path}: Parquet data unreadable after row {row}: {e}") from None


def _check_columns(path, columns, reaction_columns):
    missing = [c for c in reaction_columns if c not in columns]
    if missing:
        raise ValueError(f"{path}: reaction column(s) {missing} not in the columns {list(columns)}")


def number(value):
    """Numeric text -> int or float (``" 12 "`` -> 12, ``"1e3"`` -> 1000.0, ``"NaN"`` -> nan);
    anything else unchanged. Strict: ASCII digits only, no ``_`` or ``,`` group separators
    (Python's own ``int("1_000")`` is 1000; here it stays text, a non-numeric count)."""
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER.fullmatch(text):
            try:
                return int(text)
            except ValueError:
                return float(text)
        if text.lower() in _NON_FINITE:
            return float(text)
    return value


def _cell(value, notes: Counter):
    """A count cell: None/'' -> None (absent); numeric text -> number; other text kept."""
    if value is None or (isinstance(value, str) and not value.strip()):
        notes[NOTE_EMPTY_CELL] += 1
        return None
    return number(value)


def _from_table(rec: dict, notes: Counter, reaction_columns=()) -> dict | RowError:
    """A table row (text cells or typed values) -> the record schema (reactions still mixed in)."""
    out = dict(rec)
    if isinstance(out.get("post_id"), str):
        out["post_id"] = out["post_id"].strip()
    for key in COUNT_KEYS:
        if key in out:
            v = _cell(out[key], notes) if isinstance(out[key], (str, type(None))) else out[key]
            if v is None:
                del out[key]
            else:
                out[key] = v
    if isinstance(out.get("image"), str) and not out["image"].strip():
        del out["image"]
    c = out.get("comments")
    if isinstance(c, str):
        try:  # raw newlines ok in the JSON form
            out["comments"] = parse_comments_cell(c, notes, lambda t, n: loads_json(t, n, strict=False))
        except CommentCellError as e:
            return RowError("bad comments", str(e))
    r = out.get("reactions")
    if isinstance(r, str):
        try:
            out["reactions"] = loads_json(r, notes) if r.strip() else {}
        except (ValueError, RecursionError):
            return RowError("bad reactions", "reactions cell is not a JSON object")
    for key in [k for k in out if k.startswith(PREFIX) or k in reaction_columns]:
        out[key] = _cell(out[key], notes) if isinstance(out[key], (str, type(None))) else out[key]
    return out


def gather_reactions(rec: dict, reaction_columns=()) -> dict:
    """The reactions of a record: its ``reactions`` object, ``reaction_<name>`` keys and the
    ``reaction_columns`` keys, merged (absent/empty values dropped)."""
    reactions = rec.get("reactions", {}) or {}
    if not isinstance(reactions, dict):
        raise RowError("bad reactions", "reactions is not an object")
    reactions = dict(reactions)
    for key, value in rec.items():
        if key.startswith(PREFIX) and value is not None:
            reactions[key[len(PREFIX) :]] = value
    for key in reaction_columns:
        value = rec.get(key)
        if value is not None:
            reactions[key] = value
    return reactions


def iter_records(path, notes: Counter, reaction_columns=()):
    """Yield ``(row_number, record dict | RowError)`` for every non-blank row of a manifest.

    File-level problems (unknown format, no ``post_id`` column, unreadable Parquet) raise
    ``ValueError`` naming the file; row problems are yielded as :class:`RowError`. Text repairs
    and empty cells are counted in ``notes``.
    """
    fmt = manifest_format(path)
    rows = {"jsonl": _jsonl_rows, "csv": _csv_rows, "parquet": _parquet_rows}[fmt]
    return rows(path, notes, tuple(reaction_columns))


def read_comments_table(path, notes: Counter | None = None) -> tuple[dict[str, list[str]], Counter, list]:
    """A separate comments table (JSONL, CSV or Parquet; columns ``post_id`` and ``text``
    or ``body``) -> ``{post_id: [comment, ...]}`` in file order.

    Held in memory (one list of strings per post). Rows without a post id or text are
    counted and listed: returns ``(by_post, skipped Counter, [(row, reason)] first 20)``.
    Empty/whitespace comments and ``[deleted]``/``[removed]`` placeholders are dropped and counted
    in ``notes``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"comments table not found: {path}")
    notes = Counter() if notes is None else notes
    by_post: dict[str, list[str]] = {}
    skipped: Counter = Counter()
    examples: list[tuple[int, str]] = []

    def skip(row, reason):
        skipped[f"comments table: {reason}"] += 1
        if len(examples) < 20:
            examples.append((row, f"{path.name}:{row}: {reason}"))

    for row, rec in iter_records(path, notes, ()):
        if isinstance(rec, RowError):
            skip(row, str(rec))
            continue
        pid, text = rec.get("post_id"), rec.get("text", rec.get("body"))
        if not isinstance(pid, (str, int)) or isinstance(pid, bool) or pid == "":
            skip(row, "missing post_id")
        elif not isinstance(text, str):
            skip(row, "comment text is not a string")
        elif not text.strip():
            notes[NOTE_EMPTY_COMMENT] += 1
        elif text.strip() in DROPPED_COMMENTS:
            notes[NOTE_DROPPED] += 1
        else:
            by_post.setdefault(str(pid), []).append(text)
    return by_post, skipped, examples

"""Property-based fuzz of the manifest readers (issue 13): random bytes, random JSON rows and random CSV
cells never raise anything but a clear error naming the file; every row read is kept or skipped with a
reason (kept + skipped = rows read); what is kept can be built into a table and written back as UTF-8."""

import csv
import io
import json
import math
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from vise_lib.engagement.reader import ManifestReader

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
KEYS = [
    "post_id",
    "image",
    "image_index",
    "comments",
    "reactions",
    "shares",
    "timestamp",
    "caption",
    "n_comments",
    "reaction_like",
    "extra",
]
# text with lone surrogates (JSON escapes them; real dumps have them), emoji, control characters
TEXT = st.text(st.characters(codec=None), max_size=12) | st.sampled_from(
    ["[deleted]", "[removed]", "", " ", "NaN", "12", "1e30", "-3", "\udc80", "\ud83d", "😂", "../x.jpg"]
)
NUMBERS = (
    st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([0, 1, 10**12, 10**12 + 1, 1e30, 2**63, True])
)
SCALAR = st.none() | st.booleans() | NUMBERS | TEXT
VALUE = st.recursive(
    SCALAR, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8
)
COUNT_KEYS = ["image_index", "shares", "timestamp", "n_comments", "reaction_like"]
# near-valid rows (a valid post with one to three fields replaced) reach the table builder and the writer
NEAR_VALID = st.builds(
    lambda pid, changes: {"post_id": pid, "image": "x.jpg", "comments": ["ok"], "reactions": {"like": 1}, **changes},
    st.text(min_size=1, max_size=4) | st.integers(0, 5),
    st.dictionaries(st.sampled_from(KEYS), VALUE | NUMBERS | st.lists(TEXT, max_size=3), min_size=1, max_size=3)
    | st.dictionaries(st.sampled_from(COUNT_KEYS), NUMBERS | NUMBERS.map(str), min_size=1, max_size=2)
    | st.fixed_dictionaries({"comments": st.lists(TEXT, max_size=4)})
    | st.fixed_dictionaries({"reactions": st.dictionaries(TEXT, NUMBERS, max_size=3)}),
)
ROW = NEAR_VALID | st.dictionaries(st.sampled_from(KEYS), VALUE, max_size=len(KEYS)) | VALUE


def _check(path: Path, expected_rows: int | None = None):
    reader = ManifestReader(path, chunk_rows=7)
    refused = False
    try:
        for eng in reader:
            for i in range(len(eng)):
                json.dumps(eng.row(i), ensure_ascii=False).encode("utf-8")  # what ingest writes back
    except ValueError as e:  # a file-level error (e.g. a UTF-16 file): it must name the file
        assert str(path) in str(e), str(e)
        refused = True
    rep = reader.report
    assert rep.n_kept + sum(rep.skipped.values()) == rep.n_rows, rep.summary()
    assert all(isinstance(r, str) and r for r in rep.skipped)
    if expected_rows is not None and not refused:
        assert rep.n_rows == expected_rows, rep.summary()


def _nonblank_lines(data: bytes) -> int:
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    while lines and lines[0].startswith(b"\xef\xbb\xbf"):  # every leading BOM goes (engagement.zst)
        lines[0] = lines[0][3:]
    return sum(1 for line in lines if line.strip())


@SETTINGS
@given(
    data=st.binary(max_size=600)
    | st.lists(
        st.sampled_from(
            [
                b"{",
                b"}",
                b'"post_id"',
                b":",
                b",",
                b"\n",
                b'"a"',
                b"1",
                b"\xff",
                b"\xef\xbb\xbf",
                b"\r",
                b"\\ud800",
                b"\x00",
            ]
        ),
        max_size=60,
    ).map(b"".join)
)
@example(data=b"\xef\xbb\xbf\xef\xbb\xbf\n{}")  # two BOMs (a re-encoded file) before a row: found by CI
def test_random_bytes_as_jsonl(data):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m.jsonl"
        path.write_bytes(data)
        _check(path, _nonblank_lines(data))


@SETTINGS
@given(rows=st.lists(ROW, max_size=12))
def test_random_json_rows(rows):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m.jsonl"
        text = "".join(json.dumps(r) + "\n" for r in rows)  # ensure_ascii: lone surrogates become \udcxx
        path.write_text(text, encoding="utf-8")
        _check(path, len(rows))


CELL = TEXT | NUMBERS.map(str) | VALUE.map(json.dumps) | st.sampled_from(["", "[]", "{}", '["a", "b"]'])


@SETTINGS
@given(
    header=st.lists(st.sampled_from(KEYS), min_size=1, max_size=6, unique=True),
    rows=st.lists(st.lists(CELL, min_size=0, max_size=7), max_size=10),
    bom=st.booleans(),
)
def test_random_csv_cells(header, rows, bom):
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(rows)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m.csv"
        data = buf.getvalue().encode("utf-8", "surrogatepass")  # invalid UTF-8 where a lone surrogate was
        path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
        _check(path)


def test_float_counts_are_never_silently_rounded(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text(
        json.dumps({"post_id": "a", "image": "a.jpg", "shares": 2.5})
        + "\n"
        + json.dumps({"post_id": "b", "image": "b.jpg", "shares": 2.0})
        + "\n"
    )
    reader = ManifestReader(path)
    eng = next(iter(reader))
    assert eng.post_ids == ["b"] and not math.isnan(eng.shares[0]) and reader.report.skipped

"""Issue 28's ingest faults: blank and all-empty rows counted, one length cap for every format,
strict counts, UTF-16/UTF-32 files refused naming the file, NUL-bearing lines skipped with a reason."""

import json

import pytest

from vise_lib.engagement import formats
from vise_lib.engagement.formats import NOTE_ALL_EMPTY, NOTE_BLANK, number
from vise_lib.engagement.reader import read_manifest


def _row(i, **kw):
    return {"post_id": f"p{i}", "image_index": i, "comments": ["nice"], "reactions": {"like": 1}, **kw}


def _jsonl(path, rows, extra=b""):
    path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in rows) + extra)
    return path


def _csv(path, lines):
    path.write_text("post_id,image_index,comments,reaction_like,shares\n" + "".join(x + "\n" for x in lines))
    return path


def test_blank_lines_and_rows_of_empty_cells_are_counted_in_the_report(tmp_path):
    """The fault: 10^6 blank and 10^6 `,,,,` rows vanished from the report."""
    path = _csv(tmp_path / "m.csv", ['p1,1,"[]",1,0', "", ",,,,", "  ,, ,,", 'p2,2,"[]",1,0', ""])
    _, rep = read_manifest(path)
    assert rep.n_kept == 2 and rep.notes[NOTE_BLANK] == 2 and rep.notes[NOTE_ALL_EMPTY] == 2
    assert "2 blank lines skipped" in rep.summary() and "2 rows of empty cells skipped" in rep.summary()
    _, rep = read_manifest(_jsonl(tmp_path / "m.jsonl", [_row(1)], extra=b"\n  \n"))
    assert rep.n_kept == 1 and rep.notes[NOTE_BLANK] == 2


def test_one_length_cap_for_every_format(tmp_path, monkeypatch):
    """The fault: a 200 MB JSONL comment was kept while the CSV path capped it."""
    monkeypatch.setattr(formats, "CSV_FIELD_LIMIT", 50)
    long = "x" * 60
    _, rep = read_manifest(_jsonl(tmp_path / "m.jsonl", [_row(1), _row(2, comments=[long])]))
    assert rep.n_kept == 1 and rep.skipped["cell too long"] == 1
    path = _csv(tmp_path / "m.csv", ['p1,1,"[]",1,0', f'p2,2,"[""{long}""]",1,0'])
    _, rep = read_manifest(path)
    assert rep.n_kept == 1 and rep.skipped["cell too long"] == 1
    pd = pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    pd.DataFrame([_row(1), _row(2, comments=[long])]).to_parquet(tmp_path / "m.parquet")
    _, rep = read_manifest(tmp_path / "m.parquet")
    assert rep.n_kept == 1 and rep.skipped["cell too long"] == 1


@pytest.mark.parametrize("text", ["1_000", "1,234", "١٢", "0x10", "1 000", "12abc"])
def test_counts_are_parsed_strictly(text, tmp_path):
    """The fault: `1_000` was read as 1000 (Python's int accepts it), while `1,234` was refused."""
    assert number(text) == text
    _, rep = read_manifest(_csv(tmp_path / "m.csv", ['p1,1,"[]",1,0', f'p2,2,"[]",1,"{text}"']))
    assert rep.n_kept == 1 and rep.skipped["non-numeric count"] == 1


def test_numbers_still_read():
    assert [number(x) for x in (" 12 ", "-3", "1e3", "2.5", ".5", "+7")] == [12, -3, 1000.0, 2.5, 0.5, 7]
    assert number("NaN") != number("NaN")  # a float NaN: the row is then skipped as NaN, as before


@pytest.mark.parametrize("encoding, name", [("utf-16", "UTF-16-LE"), ("utf-32", "UTF-32-LE"), ("utf-16-be", None)])
@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_a_utf16_or_utf32_file_is_refused_naming_the_file_and_the_encoding(encoding, name, suffix, tmp_path):
    """The fault: a whole UTF-16 file said only "header has no post_id column"."""
    text = (
        "post_id,image_index\np1,1\n" if suffix == ".csv" else json.dumps(_row(1)) + "\n"
    )  # utf-16-be: no byte-order mark, NULs
    path = tmp_path / f"m{suffix}"
    path.write_bytes(text.encode(encoding))
    with pytest.raises(ValueError) as e:
        read_manifest(path)
    msg = str(e.value)
    assert str(path) in msg and "not UTF-8" in msg and (name is None or name in msg)


def test_a_nul_bearing_line_is_skipped_with_a_reason(tmp_path):
    """The fault: a UTF-16 line in a UTF-8 file left a post id "\\u0000u5"."""
    frag = json.dumps(_row(5)).encode("utf-16-le")
    _, rep = read_manifest(_jsonl(tmp_path / "m.jsonl", [_row(1)], extra=frag + b"\n"))
    assert rep.n_kept == 1 and rep.skipped["NUL bytes"] == 1
    assert [row for row, why in rep.examples if "NUL bytes" in why] == [2]  # the line, with its reason
    path = _csv(tmp_path / "m.csv", ['p1,1,"[]",1,0', 'p\x005,2,"[]",1,0'])
    _, rep = read_manifest(path)
    assert rep.n_kept == 1 and rep.skipped["NUL bytes"] == 1

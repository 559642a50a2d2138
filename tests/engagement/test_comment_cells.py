"""comments cells: plain text, a JSON list, a Python list (parsed, never evaluated), or a counted skip."""

import csv
from collections import Counter

import pytest

from vise_lib.engagement.comment_cells import CommentCellError, parse_comments_cell, python_string_list
from vise_lib.engagement.formats import loads_json
from vise_lib.engagement.reader import read_manifest


def parse(text):
    return parse_comments_cell(text, Counter(), loads_json)


@pytest.mark.parametrize(
    "cell, comments",
    [
        ("", []),
        ("   ", []),
        ("so cute", ["so cute"]),
        ("[sic] what a view", ["[sic] what a view"]),
        ("[deleted]", ["[deleted]"]),  # a placeholder, dropped later by the reader
        ('["so cute", "lol"]', ["so cute", "lol"]),
        ("[]", []),
        ("['so cute', \"it's lol\"]", ["so cute", "it's lol"]),  # pandas to_csv of a list column
        ("['a\\nb', 'ü 😂']", ["a\nb", "ü 😂"]),
    ],
)
def test_readable_forms(cell, comments):
    assert parse(cell) == comments


@pytest.mark.parametrize(
    "cell",
    [
        '["cut short',
        "['cut short', 'an",
        "[1, 2]",
        "['ok', 3]",
        "[lol]",
        "['a'] + ['b']",
        "[__import__('os').system('echo pwned')]",
        "[open('/etc/passwd').read()]",
        '[["nested"]]',
    ],
)
def test_unreadable_lists_raise_with_the_expected_form(cell):
    with pytest.raises(CommentCellError, match=r"plain text \(one comment\), a JSON list of strings"):
        parse(cell)


def test_python_lists_are_parsed_never_evaluated(monkeypatch):
    import builtins

    def no_eval(*a, **k):
        raise AssertionError("eval called")

    monkeypatch.setattr(builtins, "eval", no_eval)
    assert python_string_list("['x', 'y']") == ["x", "y"]
    with pytest.raises(CommentCellError):
        python_string_list("[print('hi')]")


def test_a_spreadsheet_and_a_pandas_export_read_with_a_counted_skip(tmp_path):
    path = tmp_path / "export.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["post_id", "image", "comments", "reaction_like"])
        w.writerow(["p1", "a.jpg", "what a view", 3])
        w.writerow(["p2", "b.jpg", "['so cute', \"it's lol\"]", 1])
        w.writerow(["p3", "c.jpg", '["json", "list"]', 0])
        w.writerow(["p4", "d.jpg", "['cut short", 2])
        w.writerow(["p5", "e.jpg", "", 2])
    eng, rep = read_manifest(path)
    assert eng.post_ids == ["p1", "p2", "p3", "p5"]
    assert eng.comments == [["what a view"], ["so cute", "it's lol"], ["json", "list"], []]
    assert rep.skipped == {"bad comments": 1}
    line, message = rep.examples[0]
    assert line == 5 and "['so cute', 'lol']" in message and "cut short" in message


def test_pandas_to_csv_round_trip(tmp_path):
    pd = pytest.importorskip("pandas")
    df = pd.DataFrame(
        {"post_id": ["a", "b"], "image": ["a.jpg", "b.jpg"], "comments": [["nice", 'say "hi"'], []], "shares": [1, 2]}
    )
    df.to_csv(tmp_path / "m.csv", index=False)
    eng, rep = read_manifest(tmp_path / "m.csv")
    assert eng.comments == [["nice", 'say "hi"'], []] and rep.n_kept == 2

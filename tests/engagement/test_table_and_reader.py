import numpy as np
import pytest
from conftest import make_post, write_manifest

from vise_lib.engagement.reader import read_manifest
from vise_lib.engagement.table import ManifestError


def test_reads_valid_rows(manifest_of):
    eng, rep = manifest_of([make_post(0), make_post(1, comments=[], reactions={"love": 2, "like": 1})])
    assert len(eng) == 2 and rep.n_kept == 2 and not rep.skipped
    assert eng.reaction_names == ("like", "haha", "love")
    np.testing.assert_array_equal(eng.reactions, [[3, 1, 0], [1, 0, 2]])
    assert eng.comments[1] == [] and eng.image_index.tolist() == [0, 1]


@pytest.mark.parametrize(
    "row, reason",
    [
        ('{"post_id": "x", "image_index": 0, ', "invalid JSON"),
        ({"image_index": 0}, "missing post_id"),
        ({"post_id": "x"}, "no image reference"),
        (make_post(7, reactions={"like": -1}), "negative"),
        (make_post(7, reactions={"like": "many"}), "not a number"),
        (make_post(7, reactions={"like": float("nan")}), "whole number"),
        (make_post(7, comments=[1, 2]), "comments is not a list of strings"),
        (make_post(0), "duplicate post_id"),
    ],
)
def test_bad_rows_are_counted_with_line_numbers(manifest_of, row, reason):
    eng, rep = manifest_of([make_post(0), row, make_post(2)])
    assert len(eng) == 2 and rep.n_rows == 3
    assert sum(rep.skipped.values()) == 1
    ((line, why),) = rep.examples
    assert line == 2 and reason in why
    assert "1 " in rep.summary() and "2 of 3" in rep.summary()


def test_strict_mode_names_file_and_line(tmp_path):
    path = write_manifest(tmp_path / "m.jsonl", [make_post(0), make_post(1, reactions={"sad": -3})])
    with pytest.raises(ManifestError, match=r"m\.jsonl:2: reaction 'sad' is negative"):
        read_manifest(path, strict=True)


def test_non_utf8_comment_is_decoded_with_replacement(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_bytes(b'{"post_id": "a", "image_index": 0, "comments": ["caf\xe9 ok"]}\n')
    eng, rep = read_manifest(path)
    assert rep.n_kept == 1 and eng.comments[0][0].startswith("caf")


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="manifest not found"):
        read_manifest(tmp_path / "nope.jsonl")


def test_non_utf8_and_empty_comments_are_counted_notes(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_bytes(
        b'{"post_id": "a", "image_index": 0, "comments": ["caf\xe9", "", "  ", "ok"]}\n'
        b'{"post_id": "b", "image_index": 1, "comments": []}\n'
    )
    eng, rep = read_manifest(path)
    assert eng.comments[0] == ["caf\ufffd", "ok"] and eng.comments[1] == []
    assert rep.notes == {"non-UTF-8 bytes replaced by U+FFFD": 1, "empty comments dropped": 2}
    assert "notes: " in rep.summary() and rep.to_dict()["notes"]["empty comments dropped"] == 2


def test_skips_are_counted_by_category_with_details_in_examples(manifest_of):
    rows = [
        make_post(0),
        make_post(1, reactions={"like": -1}),
        make_post(2, reactions={"haha": -5}),
        make_post(3, shares="x"),
        "not json at all",
        "[1, 2]",
    ]
    eng, rep = manifest_of(rows)
    assert len(eng) == 1
    assert rep.skipped == {"negative count": 2, "non-numeric count": 1, "invalid JSON": 1, "not a JSON object": 1}
    assert [line for line, _ in rep.examples] == [2, 3, 4, 5, 6]
    assert "reaction 'haha' is negative: -5" in rep.examples[1][1]


def test_given_reaction_names_count_the_rows_with_other_names(manifest_of):
    eng, rep = manifest_of([make_post(0), make_post(1, reactions={"wow": 2})], reaction_names=("like",))
    np.testing.assert_array_equal(eng.reactions, [[3], [0]])
    assert rep.notes["rows with reactions outside reaction_names (ignored)"] == 2


def test_engagement_concat_take_row(manifest_of):
    eng, _ = manifest_of([make_post(i) for i in range(5)])
    from vise_lib.engagement.table import Engagement

    both = Engagement.concat([eng.take([0, 1]), eng.take([2, 3, 4])])
    assert both.post_ids == eng.post_ids
    np.testing.assert_array_equal(both.reactions, eng.reactions)
    assert eng.take([4, 0]).post_ids == ["p00004", "p00000"]
    assert eng.row(1) == {
        "post_id": "p00001",
        "image_index": 1,
        "comments": ["lol", "so cute"],
        "reactions": {"like": 3, "haha": 1},
        "shares": 0,
        "timestamp": 1600000001,
    }
    with pytest.raises(ValueError, match="different reaction columns"):
        Engagement.concat([eng, Engagement.from_rows([], ("x",))])


def test_the_report_line_names_a_file_inside_the_run_folder_relative_to_it(tmp_path):
    from vise_lib.engagement.table import ReadReport

    report = ReadReport(str(tmp_path / "world" / "posts" / "manifest.jsonl"))
    report.n_rows, report.n_kept = 3, 3
    assert report.summary(root=tmp_path) == "world/posts/manifest.jsonl: 3 of 3 rows kept"
    assert report.summary().startswith(str(tmp_path))  # outside a run folder: the path as given
    assert report.summary(root=tmp_path / "elsewhere").startswith(str(tmp_path))

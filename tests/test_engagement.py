import numpy as np
import pytest

from conftest import make_post, write_manifest
from vise_lib.engagement import ManifestError, read_manifest


def test_reads_valid_rows(manifest_of):
    eng, rep = manifest_of([make_post(0), make_post(1, comments=[], reactions={"love": 2, "like": 1})])
    assert len(eng) == 2 and rep.n_kept == 2 and not rep.skipped
    assert eng.reaction_names == ("like", "haha", "love")
    np.testing.assert_array_equal(eng.reactions, [[3, 1, 0], [1, 0, 2]])
    assert eng.comments[1] == [] and eng.image_index.tolist() == [0, 1]


@pytest.mark.parametrize("row, reason", [
    ('{"post_id": "x", "image_index": 0, ', "invalid JSON"),
    ({"image_index": 0}, "missing post_id"),
    ({"post_id": "x"}, "no image reference"),
    (make_post(7, reactions={"like": -1}), "negative"),
    (make_post(7, reactions={"like": "many"}), "not a number"),
    (make_post(7, reactions={"like": float("nan")}), "whole number"),
    (make_post(7, comments=[1, 2]), "comments is not a list of strings"),
    (make_post(0), "duplicate post_id"),
])
def test_bad_rows_are_counted_with_line_numbers(manifest_of, row, reason):
    eng, rep = manifest_of([make_post(0), row, make_post(2)])
    assert len(eng) == 2 and rep.n_rows == 3
    assert sum(rep.skipped.values()) == 1
    (line, why), = rep.examples
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

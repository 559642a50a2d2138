"""CSV / Parquet / JSONL manifests give the same Engagement; comments tables; data-root checks."""

import csv
import json
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from vise_lib.engagement.reader import ManifestReader, read_manifest
from vise_lib.engagement.table import ManifestError

POSTS = [
    {
        "post_id": "a",
        "image": "x/a.jpg",
        "comments": ["nice", "wow 😂"],
        "reactions": {"like": 3, "sad": 1},
        "shares": 2,
        "timestamp": 100,
    },
    {
        "post_id": "b",
        "image": "x/b.jpg",
        "comments": [],
        "reactions": {"like": 0, "sad": 4},
        "shares": 0,
        "timestamp": 101,
    },
    {
        "post_id": "c",
        "image": "c.png",
        "comments": ["ok"],
        "reactions": {"like": 7, "sad": 0},
        "shares": 1,
        "timestamp": 102,
    },
]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def write_csv(path, rows, inline_comments=True):
    cols = (
        ["post_id", "image"]
        + (["comments"] if inline_comments else [])
        + ["reaction_like", "reaction_sad", "shares", "timestamp"]
    )
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for r in rows:
            cells = [r["post_id"], r["image"]] + (
                [json.dumps(r["comments"], ensure_ascii=False)] if inline_comments else []
            )
            w.writerow(cells + [r["reactions"]["like"], r["reactions"]["sad"], r["shares"], r["timestamp"]])
    return path


def write_parquet(path, rows):
    pq.write_table(
        pa.table(
            {
                "post_id": [r["post_id"] for r in rows],
                "image": [r["image"] for r in rows],
                "comments": [r["comments"] for r in rows],
                "reaction_like": [r["reactions"]["like"] for r in rows],
                "reaction_sad": [r["reactions"]["sad"] for r in rows],
                "shares": [r["shares"] for r in rows],
                "timestamp": [r["timestamp"] for r in rows],
            }
        ),
        path,
    )
    return path


def same(a, b):
    assert a.post_ids == b.post_ids and a.images == b.images and a.comments == b.comments
    assert a.reaction_names == b.reaction_names
    for k in ("reactions", "shares", "timestamp", "image_index"):
        np.testing.assert_array_equal(getattr(a, k), getattr(b, k))


def test_jsonl_csv_parquet_give_the_same_engagement(tmp_path):
    ref, _ = read_manifest(write_jsonl(tmp_path / "m.jsonl", POSTS))
    for path in (write_csv(tmp_path / "m.csv", POSTS), write_parquet(tmp_path / "m.parquet", POSTS)):
        eng, rep = read_manifest(path)
        assert rep.n_kept == 3 and not rep.skipped, rep.summary()
        same(eng, ref)
    assert ref.reaction_names == ("like", "sad") and ref.comments[0] == ["nice", "wow 😂"]


def test_comments_table_joins_by_post_id(tmp_path):
    m = write_csv(tmp_path / "m.csv", POSTS, inline_comments=False)
    table = tmp_path / "comments.csv"
    with open(table, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["post_id", "text"])
        w.writerows([["a", "nice"], ["c", "ok"], ["a", "wow 😂"], ["zzz", "orphan"], ["", "no id"], ["b", "  "]])
    eng, rep = read_manifest(m, comments=table)
    assert eng.comments == [["nice", "wow 😂"], [], ["ok"]]
    assert rep.skipped["comments table: missing post_id"] == 1
    assert rep.notes["empty comments dropped"] == 1
    assert rep.notes["comments for posts not in the manifest (ignored)"] == 1
    assert any("comments.csv:6" in why for _, why in rep.examples)


def test_reaction_columns_by_name(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("post_id,image,score,num_comments,title\np1,a.jpg,12,3,hello\np2,b.jpg,,5,x\n")
    eng, rep = read_manifest(path, reaction_columns=["score", "num_comments"])
    assert eng.reaction_names == ("score", "num_comments")
    np.testing.assert_array_equal(eng.reactions, [[12, 3], [0, 5]])
    assert rep.notes["empty count cells read as 0"] == 1
    with pytest.raises(ValueError, match=r"m\.csv: reaction column\(s\) \['ups'\] not in the columns"):
        read_manifest(path, reaction_columns=["ups"])


@pytest.mark.parametrize(
    "cell, reason",
    [
        ("NaN", "NaN or fractional count"),
        ("-2", "negative count"),
        ("lots", "non-numeric count"),
        ("2.5", "NaN or fractional count"),
    ],
)
def test_bad_csv_counts_are_counted_with_line_numbers(tmp_path, cell, reason):
    path = tmp_path / "m.csv"
    path.write_text(f"post_id,image,reaction_like\np1,a.jpg,1\np2,b.jpg,{cell}\np3,c.jpg,4\n")
    eng, rep = read_manifest(path)
    assert eng.post_ids == ["p1", "p3"] and rep.skipped == {reason: 1}
    assert rep.examples[0][0] == 3
    with pytest.raises(ManifestError, match=r"m\.csv:3: reaction 'like'"):
        read_manifest(path, strict=True)


def test_parquet_nan_and_null_counts(tmp_path):
    path = tmp_path / "m.parquet"
    pq.write_table(
        pa.table(
            {
                "post_id": ["a", "b", "c"],
                "image": ["a.jpg", "b.jpg", "c.jpg"],
                "reaction_like": pa.array([1.0, float("nan"), None], type=pa.float64()),
            }
        ),
        path,
    )
    eng, rep = read_manifest(path)
    assert eng.post_ids == ["a", "c"] and rep.skipped == {"NaN or fractional count": 1}
    assert rep.examples[0][0] == 2 and rep.notes["empty count cells read as 0"] == 1


def test_csv_quoted_multiline_comment_keeps_line_numbers(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text('post_id,image,comments\np1,a.jpg,"[""line one\nline two""]"\np2,b.jpg,"[""cut short"\n')
    eng, rep = read_manifest(path)
    assert eng.comments == [["line one\nline two"]]
    assert rep.skipped == {"bad comments": 1} and rep.examples[0][0] == 4
    assert "a JSON list of strings" in rep.examples[0][1] and "plain text (one comment)" in rep.examples[0][1]


def test_unknown_format_and_missing_post_id_column(tmp_path):
    (tmp_path / "m.xlsx").write_text("x")
    with pytest.raises(ValueError, match="unknown manifest format"):
        read_manifest(tmp_path / "m.xlsx")
    (tmp_path / "m.csv").write_text("id,image\n1,a.jpg\n")
    with pytest.raises(ValueError, match=r"m\.csv: the header has no post_id column"):
        read_manifest(tmp_path / "m.csv")
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(ValueError, match=r"bad\.parquet: not a readable Parquet file"):
        read_manifest(tmp_path / "bad.parquet")


def test_zstd_compressed_jsonl(tmp_path):
    import zstandard

    raw = "".join(json.dumps(r) + "\n" for r in POSTS).encode()
    (tmp_path / "m.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(raw))
    eng, _ = read_manifest(tmp_path / "m.jsonl.zst")
    assert eng.post_ids == ["a", "b", "c"]


# -- data root ------------------------------------------------------------------------------


@pytest.fixture
def root(tmp_path):
    r = tmp_path / "root"
    (r / "x").mkdir(parents=True)
    for name in ("x/a.jpg", "x/b.jpg", "c.png"):
        (r / name).write_bytes(b"img")
    (tmp_path / "outside.jpg").write_bytes(b"secret")
    os.symlink(tmp_path / "outside.jpg", r / "link.jpg")
    os.symlink(tmp_path, r / "linkdir")
    os.symlink(r / "x" / "a.jpg", r / "inside_link.jpg")
    return r


@pytest.mark.parametrize(
    "image, reason",
    [
        ("../outside.jpg", "image path escapes the data root"),
        ("x/../../outside.jpg", "image path escapes the data root"),
        ("/etc/passwd", "image path escapes the data root"),
        ("C:\\Windows\\win.ini", "image path escapes the data root"),
        ("link.jpg", "image path escapes the data root"),
        ("linkdir/outside.jpg", "image path escapes the data root"),
        ("x/nope.jpg", "image file missing"),
    ],
)
def test_image_paths_must_stay_inside_the_data_root(tmp_path, root, image, reason):
    rows = POSTS[:2] + [dict(POSTS[2], image=image)]
    eng, rep = read_manifest(write_jsonl(tmp_path / "m.jsonl", rows), data_root=root)
    assert eng.post_ids == ["a", "b"] and rep.skipped == {reason: 1}
    assert rep.examples[0][0] == 3
    with pytest.raises(ManifestError, match=r"m\.jsonl:3: " + reason):
        read_manifest(tmp_path / "m.jsonl", data_root=root, strict=True)


def test_symlink_inside_the_root_is_fine_and_paths_are_normalized(tmp_path, root):
    rows = [dict(POSTS[0], image="./inside_link.jpg"), dict(POSTS[1], image="x\\b.jpg")]
    eng, rep = read_manifest(write_jsonl(tmp_path / "m.jsonl", rows), data_root=root)
    assert rep.n_kept == 2 and eng.images == ["inside_link.jpg", "x/b.jpg"]


def test_streaming_chunks_match_the_whole_read_and_find_duplicates_across_chunks(tmp_path):
    rows = [
        dict(POSTS[0], post_id=f"p{i}", reactions={"like": i, ("sad" if i % 2 else "wow"): 1}) for i in range(25)
    ] + [dict(POSTS[0], post_id="p3")]
    path = write_jsonl(tmp_path / "m.jsonl", rows)
    whole, rep_whole = read_manifest(path)
    reader = ManifestReader(path, chunk_rows=4)
    chunks = list(reader)
    assert len(chunks) == 7 and all(len(c) <= 4 for c in chunks)
    assert reader.reaction_names == whole.reaction_names == ("like", "wow", "sad")
    assert sum(len(c) for c in chunks) == len(whole) == 25
    np.testing.assert_array_equal(np.concatenate([c.reactions for c in chunks]), whole.reactions)
    assert reader.report.skipped == rep_whole.skipped == {"duplicate post_id": 1}
    assert reader.report.examples[0][0] == 26

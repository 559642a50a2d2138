"""Issue 13's bad-input catalogue for manifests and dumps: each input gets a clear error naming the
file (and row), or a counted, reported skip or repair. The item number of the issue is in each name."""

import csv
import json
import os
import stat
import time

import numpy as np
import pytest
import zstandard
from conftest import make_post, write_manifest
from PIL import Image

from vise_lib.engagement.ingest import ingest
from vise_lib.engagement.pushshift import pushshift_to_manifest
from vise_lib.engagement.reader import MAX_COUNT, read_manifest
from vise_lib.engagement.table import ManifestError
from vise_lib.io import atomic_write_text, sweep_stale_temps, write_json
from vise_lib.labels.encoders.counts import CountEncoder
from vise_lib.labels.text import post_documents


def _images(root, names):
    root.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(np.full((8, 8, 3), 128, np.uint8))
    for n in names:
        (root / n).parent.mkdir(parents=True, exist_ok=True)
        img.save(root / n, format="PNG")
    return root


def _post(i, **kw):
    return {
        "post_id": f"p{i}",
        "image": f"p{i}.png",
        "comments": ["nice"],
        "reactions": {"like": 1},
        "shares": 0,
        "timestamp": 1600000000,
        **kw,
    }


def _temps(folder):
    return sorted(p.name for p in folder.rglob("*") if "tmp" in p.name)


# -- 1. lone surrogates ------------------------------------------------------------------------


def test_item1_lone_surrogates_are_repaired_and_counted_by_ingest(tmp_path):
    root = _images(tmp_path / "img", ["p0.png", "p1.png", "p2.png"])
    lines = [
        json.dumps(_post(0)),
        json.dumps(_post(1, comments=["bad \udc80 byte", "half \ud83d emoji"])),
        json.dumps(_post(2, comments=["a whole \ud83d\ude00 emoji"])),
    ]
    (tmp_path / "m.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = ingest(tmp_path / "m.jsonl", tmp_path / "out", root, decode=False)
    assert res["written"] == 3 and res["notes"]["lone UTF-16 surrogates replaced by U+FFFD"] == 2
    rows = [json.loads(x) for x in (tmp_path / "out/manifest.jsonl").read_text(encoding="utf-8").splitlines()]
    assert rows[1]["comments"] == ["bad \ufffd byte", "half \ufffd emoji"]
    assert rows[2]["comments"] == ["a whole \U0001f600 emoji"]  # a proper pair stays one emoji
    assert _temps(tmp_path / "out") == []


def test_item1_lone_surrogates_in_a_pushshift_dump_are_repaired_and_counted(tmp_path):
    root = _images(tmp_path / "img", ["pics/aa1.jpg"])
    c = zstandard.ZstdCompressor()
    rs = tmp_path / "RS.zst"
    rs.write_bytes(
        c.compress(
            json.dumps(
                {"id": "aa1", "subreddit": "pics", "url": "https://i.redd.it/aa1.jpg", "title": "x \udc80", "score": 3}
            ).encode()
            + b"\n"
        )
    )
    rc = tmp_path / "RC.zst"
    rc.write_bytes(
        c.compress(
            b"".join(json.dumps({"link_id": "t3_aa1", "body": b}).encode() + b"\n" for b in ("ok \ud83d", "fine"))
        )
    )
    out = tmp_path / "out" / "m.jsonl"
    rep = pushshift_to_manifest(rs, rc, root, out)
    row = json.loads(out.read_text(encoding="utf-8"))
    assert row["comments"] == ["ok \ufffd", "fine"]
    assert rep.comments["lone surrogates replaced"] == 1 and rep.submissions["lone surrogates replaced"] == 1
    assert _temps(tmp_path / "out") == []


# -- 2. absurd counts; JSONL "12" == CSV 12 -----------------------------------------------------

OUT_OF_RANGE = ("count out of range", "above the largest accepted")


@pytest.mark.parametrize(
    "field,raw,reason",
    [
        ({"reactions": {"like": 1e30}}, None, OUT_OF_RANGE),
        ({"reactions": {"like": 10**30}}, None, OUT_OF_RANGE),
        ({"shares": 1e20}, None, OUT_OF_RANGE),
        ({"shares": "1e30"}, None, OUT_OF_RANGE),
        ({"timestamp": 10**20}, None, OUT_OF_RANGE),
        ({"n_comments": 10**13}, None, OUT_OF_RANGE),
        ({"shares": 0}, ('"shares": 0', '"shares": 1e400'), ("NaN or fractional count", "not a whole number")),
        ({"shares": 0}, ('"shares": 0', '"shares": ' + "9" * 5000), ("invalid JSON", "invalid JSON")),  # > 4300 digits
    ],
)
def test_item2_absurd_counts_are_a_counted_skip_not_an_overflow(tmp_path, field, raw, reason):
    path = tmp_path / "m.jsonl"
    bad = json.dumps({**make_post(1), **field})
    rows = [json.dumps(make_post(0)), bad.replace(*raw) if raw else bad]
    path.write_text("\n".join(rows) + "\n")
    eng, rep = read_manifest(path)
    assert len(eng) == 1 and rep.skipped == {reason[0]: 1} and rep.examples[0][0] == 2
    with pytest.raises(ManifestError, match=rf"m\.jsonl:2: .*{reason[1]}"):
        read_manifest(path, strict=True)


def test_item2_count_at_the_limit_is_kept(manifest_of):
    eng, rep = manifest_of([make_post(0, reactions={"like": MAX_COUNT}, shares=MAX_COUNT)])
    assert int(eng.reactions[0, 0]) == MAX_COUNT and not rep.skipped


def test_item2_pushshift_absurd_score_skips_the_submission(tmp_path):
    root = _images(tmp_path / "img", ["pics/aa1.jpg", "pics/aa2.jpg"])
    rs = tmp_path / "RS.ndjson"
    rs.write_text(
        "".join(
            json.dumps({"id": i, "subreddit": "pics", "url": f"https://i.redd.it/{i}.jpg", "score": s}) + "\n"
            for i, s in (("aa1", "1e30"), ("aa2", 7))
        )
    )
    out = tmp_path / "m.jsonl"
    rep = pushshift_to_manifest(rs, [], root, out)
    assert rep.submissions["count out of range"] == 1 and rep.submissions["kept"] == 1
    assert any("RS.ndjson:1" in e and "score" in e for e in rep.examples)
    eng, _ = read_manifest(out, data_root=root)  # and the manifest it wrote reads back
    assert eng.post_ids == ["aa2"]


def test_item2_jsonl_numeric_text_and_csv_cells_agree(tmp_path):
    js = tmp_path / "m.jsonl"
    js.write_text(
        json.dumps(
            {"post_id": "a", "image": "a.jpg", "reactions": {"like": "12"}, "shares": " 3 ", "timestamp": "1600000000"}
        )
        + "\n"
    )
    cs = tmp_path / "m.csv"
    with open(cs, "w", newline="") as f:
        csv.writer(f).writerows(
            [["post_id", "image", "reaction_like", "shares", "timestamp"], ["a", "a.jpg", "12", " 3 ", "1600000000"]]
        )
    a, ra = read_manifest(js)
    b, rb = read_manifest(cs)
    assert not ra.skipped and not rb.skipped
    assert a.reactions.tolist() == b.reactions.tolist() == [[12]] and a.shares.tolist() == b.shares.tolist() == [3]
    _, bad = read_manifest(write_manifest(tmp_path / "n.jsonl", [make_post(0), {**make_post(1), "shares": "lots"}]))
    assert bad.skipped == {"non-numeric count": 1}


# -- 7. byte-order mark ----------------------------------------------------------------------------


def test_item7_utf8_bom_csv_and_jsonl_keep_every_row(tmp_path):
    cs = tmp_path / "excel.csv"
    cs.write_bytes("\ufeffpost_id,image,reaction_like\r\na,a.jpg,1\r\nb,b.jpg,2\r\n".encode("utf-8"))
    eng, rep = read_manifest(cs)
    assert eng.post_ids == ["a", "b"] and rep.notes["UTF-8 byte-order mark removed"] == 1
    js = tmp_path / "bom.jsonl"
    js.write_bytes(b"\xef\xbb\xbf" + "\n".join(json.dumps(make_post(i)) for i in range(2)).encode())
    eng, rep = read_manifest(js)
    assert len(eng) == 2 and not rep.skipped and rep.notes["UTF-8 byte-order mark removed"] == 1


@pytest.mark.parametrize("boms", [1, 2])
def test_item7_bom_manifests_ingest_every_row_and_every_reader_reads_them_alike(tmp_path, boms, capsys):
    """A 20-row CSV (image column first, CRLF: as Excel saves it) and a JSONL behind one UTF-8 BOM,
    or two (a file re-encoded with a BOM already in its text: the second one stuck to the first
    column's name, "\ufeffimage", and every row was skipped as having no image: exit 2, 0 of 20
    rows kept): vise ingest keeps all 20 rows, vise labels labels them, and every reader reads
    them as it reads the same file without the BOM."""
    from vise_lib.engagement.formats import read_comments_table
    from vise_lib.engagement.reader import ManifestReader
    from vise_lib.run.cli import main as vise_main

    n, bom = 20, b"\xef\xbb\xbf" * boms
    root = _images(tmp_path / "img", [f"p{i}.png" for i in range(n)])
    csv_text = "image,post_id,comments,reaction_like,reaction_haha,shares\r\n" + "".join(
        f'p{i}.png,p{i},"[""so cute {i}"", ""lol {i % 5}""]",{i % 4},{i % 3},{i}\r\n' for i in range(n)
    )
    jsonl_text = "".join(json.dumps(_post(i, comments=[f"so cute {i}", f"lol {i % 5}"])) + "\n" for i in range(n))
    for name, text in (("posts.csv", csv_text), ("posts.jsonl", jsonl_text)):
        plain, marked = tmp_path / "plain" / name, tmp_path / "bom" / name
        for path, data in ((plain, text.encode()), (marked, bom + text.encode())):
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(data)
        want, _ = read_manifest(plain, data_root=root)
        got, rep = read_manifest(marked, data_root=root)
        assert len(got) == n and not rep.skipped and rep.notes["UTF-8 byte-order mark removed"] == 1
        assert got.post_ids == want.post_ids and got.images == want.images and got.comments == want.comments
        assert got.reaction_names == want.reaction_names and (got.reactions == want.reactions).all()
        assert sum(len(c) for c in ManifestReader(marked, data_root=root, chunk_rows=7)) == n
        outs = {}
        for kind, path in (("plain", plain), ("bom", marked)):
            out = tmp_path / f"{kind}_{name}"
            assert (
                vise_main(["ingest", "--manifest", str(path), "--data-root", str(root), "--out", str(out / "in")]) == 0
            )
            assert f"{n} of {n} posts kept" in capsys.readouterr().out
            args = ["--manifest", str(path), "--data-root", str(root), "--out", str(out / "labels")]
            assert vise_main(["labels", *args, "--n-clusters", "3", "--svd-dim", "4", "--sync"]) == 0
            assert f"{n} of {n} rows kept" in capsys.readouterr().out
            with np.load(out / "labels" / "labels.npz") as z:
                outs[kind] = ((out / "in" / "manifest.jsonl").read_text(), z["post_id"].tolist(), z["label"].tolist())
        assert outs["bom"] == outs["plain"]
    table = "post_id,text\r\n" + "".join(f"p{i},comment {i}\r\n" for i in range(n))
    (tmp_path / "c.csv").write_bytes(bom + table.encode())
    (tmp_path / "c_plain.csv").write_bytes(table.encode())
    by_post, skipped, _ = read_comments_table(tmp_path / "c.csv")
    assert not skipped and by_post == read_comments_table(tmp_path / "c_plain.csv")[0] and len(by_post) == n


# -- 8. zero-byte .zst, empty manifest, all-zero engagement ----------------------------------------


def test_item8_zero_byte_zst_is_an_error_naming_the_file(tmp_path):
    (tmp_path / "RS_empty.zst").write_bytes(b"")
    (tmp_path / "img").mkdir()
    with pytest.raises(ValueError, match=r"RS_empty\.zst: empty file \(0 bytes\)"):
        pushshift_to_manifest(tmp_path / "RS_empty.zst", [], tmp_path / "img", tmp_path / "m.jsonl")
    (tmp_path / "m.jsonl.zst").write_bytes(b"")
    with pytest.raises(ValueError, match=r"m\.jsonl\.zst: empty file"):
        read_manifest(tmp_path / "m.jsonl.zst")
    assert not (tmp_path / "m.jsonl").exists()


def test_item8_empty_manifest_is_an_error_naming_the_file(tmp_path):
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(ManifestError, match=r"empty\.jsonl: no posts to read: the file has no rows"):
        read_manifest(tmp_path / "empty.jsonl")
    write_manifest(tmp_path / "bad.jsonl", ["{broken", {"post_id": "x"}])
    with pytest.raises(ManifestError, match=r"bad\.jsonl: no posts to read: .*0 of 2 rows kept.*invalid JSON"):
        read_manifest(tmp_path / "bad.jsonl")


def test_item8_all_zero_engagement_is_reported(manifest_of):
    rows = [make_post(i, comments=[], reactions={"like": 0}, shares=0) for i in range(5)]
    with pytest.warns(UserWarning, match="zero engagement"):
        eng, rep = manifest_of(rows)
    assert any("zero engagement" in n for n in rep.notes) and "zero engagement" in rep.summary()
    assert eng.zero_blocks() == ["comments", "reactions", "shares"]


# -- 9. temp files ------------------------------------------------------------------------------------


def test_item9_ingest_error_leaves_no_temp_and_stale_temps_are_swept(tmp_path):
    root = _images(tmp_path / "img", ["p0.png"])
    out = tmp_path / "out"
    out.mkdir()
    stale = [out / ".manifest.jsonl.tmp999999999", out / ".manifest.jsonl.999999999.abcd.tmp"]
    for s in stale:
        s.write_text("left by a killed run")
    write_manifest(tmp_path / "m.jsonl", [_post(0), {"post_id": "p1", "image": "missing.png"}])
    with pytest.raises(ManifestError, match=r"m\.jsonl:2"):
        ingest(tmp_path / "m.jsonl", out, root, decode=False, strict=True)
    assert _temps(out) == [] and not (out / "manifest.jsonl").exists()


def test_item9_sweep_keeps_a_live_writers_temp(tmp_path):
    target = tmp_path / "x.json"
    live = tmp_path / f".x.json.{os.getpid()}.abc.tmp"
    live.write_text("being written")
    old = tmp_path / ".x.json.abc.tmp"
    old.write_text("no pid")
    young = tmp_path / ".x.json.def.tmp"
    young.write_text("no pid, recent")
    os.utime(old, (time.time() - 3 * 86400,) * 2)
    assert sweep_stale_temps(target) == [old]
    assert live.exists() and young.exists()
    shards = [tmp_path / ".shard-000003.tar.tmp999999999", tmp_path / f".shard-000004.tar.tmp{os.getpid()}"]
    for s in shards:
        s.write_bytes(b"partial")
    assert sweep_stale_temps(tmp_path / "shard-*.tar") == shards[:1]  # a '*' sweeps several targets' temps
    assert shards[1].exists() and live.exists()


# -- 11. file modes -------------------------------------------------------------------------------------


def test_item11_atomic_outputs_get_0666_less_umask(tmp_path):
    old = os.umask(0o022)
    try:
        write_json(tmp_path / "a.json", {"a": 1})
        atomic_write_text(tmp_path / "b.txt", "b")
        os.umask(0o027)
        atomic_write_text(tmp_path / "c.txt", "c")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "b.txt").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "c.txt").stat().st_mode) == 0o640


# -- 12. [removed] / [deleted] -----------------------------------------------------------------------


def test_item12_deleted_and_removed_comments_are_dropped_and_counted(tmp_path, manifest_of):
    eng, rep = manifest_of(
        [make_post(0, comments=["[deleted]", "nice", " [removed] ", ""]), make_post(1, comments=["[removed]"])]
    )
    assert eng.comments == [["nice"], []]
    assert rep.notes["[deleted]/[removed] comments dropped"] == 3 and rep.notes["empty comments dropped"] == 1
    table = write_manifest(
        tmp_path / "c.jsonl", [{"post_id": "p00000", "text": "[deleted]"}, {"post_id": "p00000", "text": "ok"}]
    )
    eng, rep = read_manifest(write_manifest(tmp_path / "m2.jsonl", [make_post(0, comments=[])]), comments=table)
    assert eng.comments == [["ok"]] and rep.notes["[deleted]/[removed] comments dropped"] == 1


# -- issue 14: caption and n_comments ---------------------------------------------------------------


def test_caption_and_n_comments_count_only_export(tmp_path):
    cs = tmp_path / "counts.csv"
    with open(cs, "w", newline="") as f:
        csv.writer(f).writerows(
            [
                ["post_id", "image", "caption", "n_comments", "reaction_like", "shares"],
                ["a", "a.jpg", "my cat", "12", "30", "1"],
                ["b", "b.jpg", "", "", "2", "0"],
                ["c", "c.jpg", "sunset", "0", "5", "0"],
            ]
        )
    eng, _rep = read_manifest(cs)
    assert eng.captions == ["my cat", "", "sunset"] and eng.n_comments.tolist() == [12, -1, 0]
    assert eng.comment_counts().tolist() == [12, 0, 0]
    assert eng.texts() == [["my cat"], [], ["sunset"]]
    assert post_documents(eng) == ["my cat", "", "sunset"]  # what the comment encoders read
    z = CountEncoder(n_bins=8, bins="log2").transform(eng)
    assert z[0, 8 + 3] == 1 and z[1, 8] == 1  # log2(1 + 12) -> bin 3; no count -> bin 0
    rec = eng.row(0)
    assert rec["caption"] == "my cat" and rec["n_comments"] == 12
    again, _ = read_manifest(write_manifest(tmp_path / "rt.jsonl", [eng.row(i) for i in range(3)]))
    assert again.captions == eng.captions and again.n_comments.tolist() == eng.n_comments.tolist()
    # comment texts win over the count when both are given
    mixed, _ = read_manifest(write_manifest(tmp_path / "mix.jsonl", [{**make_post(0), "n_comments": 40}]))
    assert mixed.comment_counts().tolist() == [2]
    _, bad = read_manifest(write_manifest(tmp_path / "bad.jsonl", [make_post(0), {**make_post(1), "caption": 3}]))
    assert bad.skipped == {"bad caption": 1}

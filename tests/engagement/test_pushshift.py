"""A generated miniature Pushshift dump pair round-trips to the expected manifest."""

import json
import os

import pytest
import zstandard

from vise_lib.engagement.pushshift import is_image_post, main, pushshift_to_manifest, report_path
from vise_lib.engagement.reader import read_manifest
from vise_lib.engagement.zst import LineStream, TruncatedStreamError
from vise_lib.run.cli import main as vise_main


def sub(id_, sr="pics", url=None, **kw):
    return {
        "id": id_,
        "subreddit": sr,
        "url": url or f"https://i.redd.it/{id_}.jpg",
        "is_self": False,
        "score": 10,
        "num_comments": 2,
        "num_crossposts": 1,
        "created_utc": 1700000000,
        **kw,
    }


def com(link, body, **kw):
    return {"link_id": f"t3_{link}", "body": body, "id": "c" + link, **kw}


def zst(path, lines, frames=1):
    data = [(ln if isinstance(ln, bytes) else json.dumps(ln).encode()) + b"\n" for ln in lines]
    cut = max(1, len(data) // frames)
    c = zstandard.ZstdCompressor(level=3)
    path.write_bytes(b"".join(c.compress(b"".join(data[i : i + cut])) for i in range(0, len(data), cut)))
    return path


@pytest.fixture
def dumps(tmp_path):
    root = tmp_path / "images"
    for rel in ("pics/aa1.jpg", "pics/aa2.png", "pics/aa5.jpg", "aww/bb1.jpg", "pics/aa6.jpg"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"x")
    (tmp_path / "secret.jpg").write_bytes(b"x")
    os.symlink(tmp_path / "secret.jpg", root / "pics" / "aa7.jpg")
    subs = [
        sub("aa1", score=5, upvote_ratio=0.9),  # kept
        sub("aa2", url="https://example.com/photo.PNG?x=1", score=-3),  # kept, png, negative score
        sub("aa3"),  # image not downloaded
        sub("aa4", url="https://www.reddit.com/r/pics/comments/aa4/", is_self=True),  # self post
        b'{"id": "broken", ',  # invalid JSON
        sub("aa1"),  # duplicate id
        sub("../etc", sr="pics"),  # invalid id
        sub("aa5", url="https://youtube.com/watch?v=1"),  # not an image
        sub("bb1", sr="aww", post_hint="image", url="https://imgur.com/gallery/x"),  # kept by post_hint
        sub("aa6", created_utc="1700000123"),  # kept, string timestamp
        sub("aa7"),  # symlink out of the root
    ]
    coms = [
        com("aa1", "so good"),
        com("aa9", "other post"),
        com("aa1", "[deleted]"),
        com("aa2", "[removed]"),
        com("bb1", "cute!"),
        com("aa1", ""),
        b'{"link_id": "t3_aa1", broken',
        com("aa1", "second"),
        b'{"link_id":"t3_aa6","body":"caf\xe9"}',
    ]
    return tmp_path, root, zst(tmp_path / "RS_2023-01.zst", subs), zst(tmp_path / "RC_2023-01.zst", coms, frames=3)


EXPECTED = [
    {
        "post_id": "aa1",
        "image": "pics/aa1.jpg",
        "comments": ["so good", "second"],
        "reactions": {"score": 5, "num_comments": 2, "upvote_pct": 90},
        "shares": 1,
        "timestamp": 1700000000,
        "subreddit": "pics",
    },
    {
        "post_id": "aa2",
        "image": "pics/aa2.png",
        "comments": [],
        "reactions": {"score": 0, "num_comments": 2},
        "shares": 1,
        "timestamp": 1700000000,
        "subreddit": "pics",
    },
    {
        "post_id": "bb1",
        "image": "aww/bb1.jpg",
        "comments": ["cute!"],
        "reactions": {"score": 10, "num_comments": 2},
        "shares": 1,
        "timestamp": 1700000000,
        "subreddit": "aww",
    },
    {
        "post_id": "aa6",
        "image": "pics/aa6.jpg",
        "comments": ["caf\ufffd"],
        "reactions": {"score": 10, "num_comments": 2},
        "shares": 1,
        "timestamp": 1700000123,
        "subreddit": "pics",
    },
]


def test_dump_pair_round_trips_to_the_expected_manifest(dumps):
    tmp, root, rs, rc = dumps
    out = tmp / "out" / "manifest.jsonl"
    rep = pushshift_to_manifest(rs, rc, root, out)
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert rows == EXPECTED
    assert dict(rep.submissions) == {
        "lines": 11,
        "kept": 4,
        "invalid JSON": 1,
        "invalid id or subreddit": 1,
        "not an image post": 2,
        "image not downloaded": 1,
        "duplicate id": 1,
        "image path escapes the data root": 1,
        "negative score clipped to 0": 1,
    }
    assert dict(rep.comments) == {
        "lines": 9,
        "joined": 4,
        "for other posts": 1,
        "deleted or removed body": 2,
        "empty body": 1,
        "invalid JSON": 1,
        "non-UTF-8 bytes replaced": 1,
    }
    assert any("RS_2023-01.zst:5: invalid JSON" in e for e in rep.examples)
    saved = json.loads(report_path(out).read_text())
    assert saved["submissions"]["kept"] == 4
    eng, read_rep = read_manifest(out, data_root=root)
    assert read_rep.n_kept == 4 and not read_rep.skipped
    assert eng.reaction_names == ("score", "num_comments", "upvote_pct")


def test_flat_layout_reaction_choice_and_subreddit_filter(tmp_path):
    root = tmp_path / "img"
    root.mkdir()
    (root / "aa1.jpg").write_bytes(b"x")
    (root / "bb1.webp").write_bytes(b"x")
    rs = zst(tmp_path / "RS.zst", [sub("aa1"), sub("bb1", sr="aww", url="https://i.redd.it/bb1.webp")])
    out = tmp_path / "m.jsonl"
    rep = pushshift_to_manifest(rs, [], root, out, layout="flat", reactions=("score",), subreddits=["AWW"])
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["post_id"], r["image"], r["reactions"]) for r in rows] == [("bb1", "bb1.webp", {"score": 10})]
    assert rep.submissions["other subreddit"] == 1
    with pytest.raises(ValueError, match="unknown Pushshift reaction"):
        pushshift_to_manifest(rs, [], root, out, reactions=("ups",))


def test_truncated_dump_is_an_error_naming_the_file_or_a_reported_stop(dumps):
    tmp, root, rs, _rc = dumps
    big = zst(tmp / "RC_big.zst", [com("aa1", f"comment {i} " + "x" * 200) for i in range(3000)])
    data = big.read_bytes()
    big.write_bytes(data[: len(data) // 2])
    with pytest.raises(TruncatedStreamError, match=r"RC_big\.zst: compressed stream ends early .* complete lines"):
        pushshift_to_manifest(rs, big, root, tmp / "m.jsonl")
    assert not (tmp / "m.jsonl").exists()
    rep = pushshift_to_manifest(rs, big, root, tmp / "m.jsonl", allow_truncated=True)
    assert rep.truncated and "RC_big.zst: truncated" in rep.truncated[0]
    n = rep.comments["joined"]
    assert 0 < n < 3000
    stream = LineStream(big, allow_truncated=True)
    lines = list(stream)
    assert stream.truncated and all(line.endswith(b"}") for line in lines)  # partial last line dropped


def test_multi_frame_and_plain_streams_read_every_line(tmp_path):
    lines = [json.dumps({"i": i}).encode() for i in range(1000)]
    assert list(LineStream(zst(tmp_path / "a.zst", lines, frames=7))) == lines
    (tmp_path / "b.ndjson").write_bytes(b"\n".join(lines))  # no final newline
    assert list(LineStream(tmp_path / "b.ndjson")) == lines
    (tmp_path / "c.zst").write_bytes(b"this is not zstd at all")
    with pytest.raises(ValueError, match=r"c\.zst: not a valid zstandard stream"):
        list(LineStream(tmp_path / "c.zst"))


def test_image_post_rule():
    assert is_image_post({"url": "https://i.imgur.com/abc"})
    assert is_image_post({"url": "https://x.org/a/b.JPEG"})
    assert not is_image_post({"url": "https://x.org/a/b.jpg", "is_self": True})
    assert not is_image_post({"url": "https://v.redd.it/xyz"})
    assert not is_image_post({"url": None})


def test_command_line(dumps, capsys):
    tmp, root, rs, rc = dumps
    out = tmp / "cli.jsonl"
    assert main(["--submissions", str(rs), "--comments", str(rc), "--data-root", str(root), "--out", str(out)]) == 0
    assert "kept 4" in capsys.readouterr().out and len(out.read_text().splitlines()) == 4
    assert (
        vise_main(["pushshift", "--submissions", str(tmp / "missing.zst"), "--data-root", str(root), "--out", str(out)])
        == 2
    )
    assert "missing.zst" in capsys.readouterr().err

import numpy as np
import pytest
from conftest import make_post

from vise_lib.labels.encoders.counts import CountEncoder
from vise_lib.labels.signals import SIGNALS, SignalEncoder, encode_signals
from vise_lib.labels.text import MAX_CHARS, clean_comment, post_documents, text_issues

WORDS = {0: ["haha", "lol", "funny"], 1: ["sad", "cry", "sorry"]}


def rows(n=60):
    out = []
    for i in range(n):
        c = i % 2
        out.append(
            make_post(
                i,
                comments=[f"{WORDS[c][i % 3]} {WORDS[c][(i + 1) % 3]}"] if i % 5 else [],
                reactions={"haha": 10 * (1 - c) + 1, "sad": 10 * c + 1},
            )
        )
    return out


@pytest.mark.parametrize("signal", ["comments", "reactions", "both"])
def test_shapes_and_determinism(manifest_of, signal):
    eng, _ = manifest_of(rows())
    a = SignalEncoder(signal, dim=4, seed=0).fit_transform(eng)
    b = SignalEncoder(signal, dim=4, seed=0).fit_transform(eng)
    assert a.shape[0] == len(eng) and a.dtype == np.float32 and np.isfinite(a).all()
    np.testing.assert_array_equal(a, b)


def test_posts_without_comments_get_zero_comment_vector(manifest_of):
    eng, _ = manifest_of(rows())
    z = SignalEncoder("comments", dim=4).fit_transform(eng)
    empty = np.array([len(c) == 0 for c in eng.comments])
    assert empty.any() and np.all(z[empty] == 0)
    norms = np.linalg.norm(z[~empty], axis=1)  # L2-normalized, then the block's global scale
    np.testing.assert_allclose(norms, norms[0], rtol=1e-5)
    assert abs(np.linalg.norm(z, axis=1).mean() - 1) < 1e-5  # unit average norm


def test_all_zero_reactions_are_finite(manifest_of):
    r = rows()
    r[3]["reactions"] = {"haha": 0, "sad": 0}
    eng, _ = manifest_of(r)
    assert np.isfinite(SignalEncoder("reactions").fit_transform(eng)).all()


def test_comment_signal_separates_the_two_groups(manifest_of):
    eng, _ = manifest_of(rows())
    z = SignalEncoder("comments", dim=2).fit_transform(eng)
    has = np.array([len(c) > 0 for c in eng.comments])
    group = np.arange(len(eng)) % 2
    sim = z[has] @ z[has].T
    same = sim[group[has][:, None] == group[has][None, :]].mean()
    diff = sim[group[has][:, None] != group[has][None, :]].mean()
    assert same > diff + 0.3


def test_unknown_signal_rejected():
    with pytest.raises(ValueError, match="unknown signal"):
        SignalEncoder("likes")


# --- blocks, sharing, documented edge cases --------------------------------------------


@pytest.mark.parametrize("signal, width", [("reactions", 3), ("counts", 16), ("all", None)])
def test_block_widths(manifest_of, signal, width):
    eng, _ = manifest_of(rows())
    z = SignalEncoder(signal, dim=4).fit_transform(eng)
    if width:
        assert z.shape == (len(eng), width)  # 2 reactions + log total; 2 x 8 count bins
    else:
        assert z.shape[1] == 4 + 3 + 16


def test_count_bins_are_log2():
    from vise_lib.engagement.table import Engagement

    eng = Engagement(
        post_ids=list("abcd"),
        image_index=np.arange(4),
        images=[None] * 4,
        comments=[[], ["a"], ["a"] * 7, ["a"] * 2],
        reactions=np.zeros((4, 1), np.int64),
        reaction_names=("like",),
        shares=np.array([0, 1, 3, 1000]),
        timestamp=np.zeros(4),
    )
    z = CountEncoder(n_bins=4, bins="log2").transform(eng)
    np.testing.assert_array_equal(z[:, :4].argmax(1), [0, 1, 2, 3])  # shares 0, 1, 3, 1000 (clipped)
    np.testing.assert_array_equal(z[:, 4:].argmax(1), [0, 1, 3, 1])  # 0, 1, 7, 2 comments
    assert np.all(z.sum(1) == 2)


def test_encode_signals_shares_blocks_and_matches_separate_fits(manifest_of):
    eng, _ = manifest_of(rows())
    fitted = {}
    out = encode_signals(eng, ["both", "comments", "reactions"], dim=4, fitted=fitted)
    assert set(fitted) == {"comments", "reactions"}  # each block fit once
    for s in ("both", "comments", "reactions"):
        np.testing.assert_allclose(out[s][1], SignalEncoder(s, dim=4).fit_transform(eng), atol=1e-5)
        np.testing.assert_allclose(out[s][0].transform(eng), out[s][1], atol=1e-5)
    with pytest.raises(ValueError, match="unknown signal"):
        encode_signals(eng, ["likes"])
    assert set(SIGNALS) == {"comments", "reactions", "counts", "both", "all"}


def test_no_comment_text_anywhere_is_a_clear_error(manifest_of):
    eng, _ = manifest_of([make_post(i, comments=[]) for i in range(10)])
    with pytest.raises(ValueError, match="none of the 10 posts has comment text"):
        SignalEncoder("comments").fit(eng)
    assert np.isfinite(SignalEncoder("reactions").fit_transform(eng)).all()


def test_all_zero_reactions_everywhere(manifest_of):
    eng, _ = manifest_of([make_post(i, reactions={"like": 0, "sad": 0}) for i in range(10)])
    z = SignalEncoder("reactions").fit_transform(eng)
    assert np.isfinite(z).all() and np.all(z == 0)


def test_invalid_utf8_surrogates_and_long_comments(manifest_of, tmp_path):
    r = rows()
    r[1]["comments"] = ["lol " * 5000]  # 20,000 characters
    r[2]["comments"] = ["bad \udcff surrogate"]  # lone surrogate via JSON escape
    path = tmp_path / "m.jsonl"
    with open(path, "wb") as f:
        for i, row in enumerate(r):
            line = __import__("json").dumps(row).encode()
            if i == 3:  # raw invalid UTF-8 bytes
                line = line.replace(b"sad", b"s\xff\xfed")
            f.write(line + b"\n")
    from vise_lib.engagement.reader import read_manifest

    eng, rep = read_manifest(path)
    assert rep.n_kept == len(r)
    docs = post_documents(eng)
    assert len(docs[1]) == MAX_CHARS and "\ufffd" in docs[2] and "\ufffd" in docs[3]
    docs[2].encode("utf-8")  # encodable after cleaning
    issues = text_issues(eng)
    assert issues["comments_truncated"] == 1 and issues["comments_with_invalid_unicode"] == 2
    z = SignalEncoder("both", dim=4).fit_transform(eng)
    assert np.isfinite(z).all()
    assert clean_comment("x" * 10, 3) == "xxx"


def test_sentence_encoder_needs_a_local_model(manifest_of, tmp_path, monkeypatch):
    eng, _ = manifest_of(rows(20))
    with pytest.raises(FileNotFoundError, match="not a local directory"):
        SignalEncoder("comments", encoder="sentence-transformers", encoder_model=str(tmp_path / "nope")).fit(eng)
    with pytest.raises(ValueError, match="unknown comment encoder"):
        SignalEncoder("comments", encoder="bert")

    class FakeModel:  # stands in for a local model
        def __init__(self, path, device=None):
            self.path = path

        def encode(self, texts, batch_size=64, show_progress_bar=False):
            return np.array([[len(t), t.count("a") + 1.0, 1.0] for t in texts], dtype=np.float32)

    import sys
    import types

    monkeypatch.setitem(sys.modules, "sentence_transformers", types.SimpleNamespace(SentenceTransformer=FakeModel))
    z = SignalEncoder("comments", encoder="sentence-transformers", encoder_model=str(tmp_path)).fit_transform(eng)
    empty = np.array([len(c) == 0 for c in eng.comments])
    assert z.shape == (20, 3) and np.all(z[empty] == 0) and np.isfinite(z).all()
    np.testing.assert_allclose(np.linalg.norm(z[~empty], axis=1).std(), 0, atol=1e-5)


def _counts_only(shares, comments):
    from vise_lib.engagement.table import Engagement

    n = len(shares)
    return Engagement(
        post_ids=[str(i) for i in range(n)],
        image_index=np.arange(n),
        images=[None] * n,
        comments=[[] for _ in range(n)],
        reactions=np.ones((n, 1), np.int64),
        reaction_names=("like",),
        shares=np.asarray(shares, np.int64),
        timestamp=np.zeros(n, np.int64),
        n_comments=np.asarray(comments, np.int64),
    )


def test_quantile_count_bins_spread_heavy_tailed_counts():
    rng = np.random.default_rng(0)
    comments = np.minimum(rng.lognormal(9, 2.5, 2000).astype(np.int64), 765_000)  # median ~ 8k, up to 765k
    shares = rng.lognormal(2, 2, 2000).astype(np.int64)
    eng = _counts_only(shares, comments)
    fixed = np.bincount(CountEncoder(bins="log2").bin_index(eng)[:, 1], minlength=8)
    fitted = np.bincount(CountEncoder().fit(eng).bin_index(eng)[:, 1], minlength=8)
    assert fixed.max() > 0.8 * 2000  # the fixed log2 bins saturate: most posts in the last bin
    assert fitted.min() > 2000 / 8 * 0.8 and fitted.max() < 2000 / 8 * 1.2  # equal-mass bins
    # fitted on the training posts, applied to others: a zero count is bin 0, a huge one the last bin
    new = _counts_only([0, 10**9], [0, 10**9])
    b = CountEncoder().fit(eng).bin_index(new)
    np.testing.assert_array_equal(b, [[0, 0], [7, 7]])


def test_quantile_count_bins_merge_ties_and_keep_zero_in_bin_zero():
    eng = _counts_only([0] * 90 + [5] * 10, [0] * 50 + list(range(1, 51)))
    enc = CountEncoder().fit(eng)
    b = enc.bin_index(eng)
    assert set(b[:90, 0]) == {0} and len(set(b[90:, 0])) == 1 and b[90, 0] > 0  # shares: two bins
    assert set(b[:50, 1]) == {0} and len(set(b[50:, 1])) >= 4
    z = enc.transform(eng)
    assert z.shape == (100, 16) and np.all(z.sum(1) == 2)
    with pytest.raises(ValueError, match="unknown count binning"):
        CountEncoder(bins="linear")
    with pytest.raises(RuntimeError, match="fitted"):
        CountEncoder().transform(eng)


def test_text_issues_count_captions_and_comment_counts(manifest_of):
    posts = [make_post(0, comments=[]), make_post(1, comments=[]), make_post(2)]
    posts[0]["caption"] = "my cat"
    posts[1]["n_comments"] = 12
    eng, _ = manifest_of(posts)
    t = text_issues(eng)
    assert t["captions"] == 1 and t["comments"] == 2 and t["posts_without_comments"] == 2
    assert t["posts_without_text"] == 1 and t["posts_with_comment_count_only"] == 1

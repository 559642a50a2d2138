"""Character n-gram TF-IDF counted per distinct word equals scikit-learn's transform, bit for bit."""

import numpy as np
import pytest
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from vise_lib.engagement.table import Engagement
from vise_lib.labels.encoders.tfidf import TfidfEncoder
from vise_lib.labels.ngram_counts import WordwiseCharTfidf, char_wb_counts, char_wb_tfidf
from vise_lib.labels.text import has_comments, l2_rows, post_documents

DOCS = [
    "so cute 😂😂 lol",
    "",
    "LOL   so\tcute\nso CUTE",
    "İstanbul ΟΔΟΣ Straße ﬁne",  # lowercasing that changes length, final sigma, ligature
    "a b c",  # words shorter than the largest n-gram
    "unseen zzqx words only",
    "wow\u3000wow\x1cwow\u2028wow",  # unicode whitespace the analyzer splits on
    "\ufffd broken \ufffd bytes",
    "   ",
    "first! ever... the best, the worst?",
]


def _same(a, b):
    a, b = a.tocsr(), b.tocsr()
    assert a.shape == b.shape and a.dtype == b.dtype
    np.testing.assert_array_equal(a.indptr, b.indptr)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.data, b.data)


@pytest.mark.parametrize(
    "options",
    [
        {"ngram_range": (2, 4), "sublinear_tf": True, "dtype": np.float32},
        {"ngram_range": (1, 3), "sublinear_tf": False, "norm": None},
        {"ngram_range": (3, 5), "use_idf": False, "norm": "l1", "lowercase": False},
    ],
)
def test_char_wb_tfidf_equals_sklearn_transform(options):
    vec = TfidfVectorizer(analyzer="char_wb", **options).fit(DOCS[::2] + ["so cute", "the best ever"])
    _same(char_wb_tfidf(vec, DOCS), vec.transform(DOCS))
    counts = CountVectorizer(analyzer="char_wb", ngram_range=options["ngram_range"]).fit(DOCS)
    _same(char_wb_counts(counts, DOCS[::-1]), counts.transform(DOCS[::-1]))


@pytest.mark.parametrize(
    "options",
    [
        {"ngram_range": (2, 4), "sublinear_tf": True, "dtype": np.float32, "min_df": 2, "max_features": 40},
        {"ngram_range": (2, 4), "sublinear_tf": True, "dtype": np.float32, "min_df": 1},
        {"ngram_range": (1, 3), "max_df": 0.5, "norm": None, "lowercase": False},
    ],
)
def test_wordwise_fit_equals_sklearn_fit(options):
    rng = np.random.default_rng(0)
    words = DOCS + ["so", "cute", "lol", "the", "best", "worst", "aaaa", "abab"]
    corpus = DOCS + [" ".join(rng.choice(words, rng.integers(0, 8))) for _ in range(300)]
    ours, plain = WordwiseCharTfidf(analyzer="char_wb", **options), TfidfVectorizer(analyzer="char_wb", **options)
    _same(ours.fit_transform(corpus), plain.fit_transform(corpus))  # max_features 40: ties in counts
    assert ours.vocabulary_ == plain.vocabulary_
    np.testing.assert_array_equal(ours.idf_, plain.idf_)
    _same(ours.transform(DOCS[::-1]), plain.transform(DOCS[::-1]))
    with pytest.raises(ValueError, match="needs analyzer='char_wb'"):
        WordwiseCharTfidf(analyzer="word").fit(corpus)


def test_tfidf_encoder_transform_is_unchanged():
    rows = [
        {
            "post_id": f"p{i}",
            "image_index": i,
            "image": None,
            "comments": [DOCS[i % len(DOCS)], DOCS[(3 * i + 1) % len(DOCS)]] if i % 4 else [],
            "reactions": {"like": i % 3},
            "shares": 0,
            "timestamp": 0,
        }
        for i in range(60)
    ]
    eng = Engagement.from_rows(rows, ["like"])
    enc = TfidfEncoder(dim=8, min_df=1).fit(eng)
    docs = post_documents(eng)
    # scikit-learn's own char n-gram vectorizer, fitted as the encoder's was before it counted per word
    plain = TfidfVectorizer(**enc.char_.get_params()).fit(docs)
    assert isinstance(enc.char_, WordwiseCharTfidf) and enc.char_.vocabulary_ == plain.vocabulary_
    _same(char_wb_tfidf(enc.char_, docs), plain.transform(docs))
    # the encoder's transform as it was, with scikit-learn's own char n-gram transform
    x = sparse.hstack([enc.word_.transform(docs), plain.transform(docs)]).tocsr()
    ref = l2_rows(enc.svd_.transform(x).astype(np.float32))
    ref[~has_comments(eng)] = 0.0
    np.testing.assert_array_equal(enc.transform(eng), ref)


def test_char_wb_counts_needs_a_char_wb_vectorizer():
    with pytest.raises(ValueError, match="char_wb"):
        char_wb_counts(CountVectorizer().fit(DOCS), DOCS)

"""TF-IDF of character n-grams within words, counted once per distinct word of a chunk.

A fitted ``TfidfVectorizer(analyzer="char_wb")`` (:class:`vise_lib.labels.encoders.tfidf.TfidfEncoder`'s
``char_`` vectorizer) splits a document into words and takes the n-grams of each padded word; its
``transform`` walks every n-gram of every document in Python, which made it most of the
out-of-core φ(e) pass (``benchmarks/labels_ooc.py``). Since a document's n-grams are the union of
its words' n-grams, the counts are ``D @ W``: ``D`` counts each distinct word per document and
``W`` the vocabulary n-grams of each distinct word, computed once per chunk. The TF-IDF weighting
is then the vectorizer's own (sublinear tf, ``idf_``, L2 rows). The result equals
``vectorizer.transform(docs)`` exactly (tested in ``tests/labels/test_ngram_counts.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize


def char_wb_counts(vectorizer: TfidfVectorizer, docs: Sequence[str]) -> sparse.csr_matrix:
    """The raw n-gram counts ``CountVectorizer.transform`` gives for a fitted ``char_wb`` vectorizer."""
    if vectorizer.analyzer != "char_wb":
        raise ValueError(f"char_wb_counts needs analyzer='char_wb', got {vectorizer.analyzer!r}")
    preprocess, analyze, vocab = vectorizer.build_preprocessor(), vectorizer.build_analyzer(), vectorizer.vocabulary_
    word_ids: dict[str, int] = {}
    tokens: list[int] = []
    lengths = np.zeros(len(docs), np.int64)
    for i, doc in enumerate(docs):
        words = preprocess(doc).split()  # the analyzer's words: whitespace-split, preprocessed text
        tokens += [word_ids.setdefault(w, len(word_ids)) for w in words]
        lengths[i] = len(words)
    rows: list[int] = []
    cols: list[int] = []
    for j, word in enumerate(word_ids):
        grams = [vocab[g] for g in analyze(word) if g in vocab]
        cols += grams
        rows += [j] * len(grams)
    w = sparse.csr_matrix(
        (np.ones(len(cols), np.int64), (np.array(rows, np.int64), np.array(cols, np.int64))),
        shape=(len(word_ids), len(vocab)),
    )
    d = sparse.csr_matrix(
        (np.ones(len(tokens), np.int64), (np.repeat(np.arange(len(docs)), lengths), np.array(tokens, np.int64))),
        shape=(len(docs), len(word_ids)),
    )
    x = sparse.csr_matrix(d @ w, dtype=vectorizer.dtype)
    x.sort_indices()
    return x


def char_wb_tfidf(vectorizer: TfidfVectorizer, docs: Sequence[str]) -> sparse.csr_matrix:
    """``vectorizer.transform(docs)`` for a fitted ``char_wb`` TF-IDF vectorizer, counted per distinct word."""
    x = char_wb_counts(vectorizer, docs)
    if vectorizer.sublinear_tf:
        np.log(x.data, x.data)
        x.data += 1.0
    if vectorizer.use_idf:
        x.data *= vectorizer.idf_[x.indices]
    if vectorizer.norm is not None:
        x = normalize(x, norm=vectorizer.norm, copy=False)
    return x

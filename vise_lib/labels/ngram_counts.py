"""TF-IDF of character n-grams within words, counted once per distinct word of a chunk.

A fitted ``TfidfVectorizer(analyzer="char_wb")`` (:class:`vise_lib.labels.encoders.tfidf.TfidfEncoder`'s
``char_`` vectorizer) splits a document into words and takes the n-grams of each padded word; its
``transform`` walks every n-gram of every document in Python, which made it most of the
out-of-core φ(e) pass (``benchmarks/labels_ooc.py``). Since a document's n-grams are the union of
its words' n-grams, the counts are ``D @ W``: ``D`` counts each distinct word per document and
``W`` the vocabulary n-grams of each distinct word, computed once per chunk. The TF-IDF weighting
is then the vectorizer's own (sublinear tf, ``idf_``, L2 rows). The result equals
``vectorizer.transform(docs)`` exactly (tested in ``tests/labels/test_ngram_counts.py``).
:class:`WordwiseCharTfidf` counts the same way when it is *fitted* (the vocabulary is every
n-gram of the distinct words), so fitting φ(e) on a 200,000-post sample, the one serial task
of the labels pass, no longer walks every n-gram either (``benchmarks/tfidf_fit.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.feature_extraction import text as _sklearn_text
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize


def _word_counts(preprocess, docs: Sequence[str]) -> tuple[dict[str, int], sparse.csr_matrix]:
    """The distinct words of ``docs`` (the analyzer's: whitespace-split preprocessed text, by first
    appearance) and ``D``: how often each document holds each word."""
    word_ids: dict[str, int] = {}
    tokens: list[int] = []
    lengths = np.zeros(len(docs), np.int64)
    for i, doc in enumerate(docs):
        words = preprocess(doc).split()
        tokens += [word_ids.setdefault(w, len(word_ids)) for w in words]
        lengths[i] = len(words)
    d = sparse.csr_matrix(
        (np.ones(len(tokens), np.int64), (np.repeat(np.arange(len(docs)), lengths), np.array(tokens, np.int64))),
        shape=(len(docs), len(word_ids)),
    )
    return word_ids, d


def _wordwise_counts(analyze, preprocess, docs: Sequence[str], vocab: dict[str, int], grow: bool) -> sparse.csr_matrix:
    """``D @ W``: each document's n-gram counts, ``W`` holding each distinct word's n-grams (with
    their multiplicity) that are in ``vocab`` (``grow``: every n-gram, added to ``vocab`` in order
    of first appearance). int64 counts, shape ``(len(docs), len(vocab))``."""
    word_ids, d = _word_counts(preprocess, docs)
    rows: list[int] = []
    cols: list[int] = []
    for j, word in enumerate(word_ids):
        if grow:
            grams = [vocab.setdefault(g, len(vocab)) for g in analyze(word)]
        else:
            grams = [vocab[g] for g in analyze(word) if g in vocab]
        cols += grams
        rows += [j] * len(grams)
    w = sparse.csr_matrix(
        (np.ones(len(cols), np.int64), (np.array(rows, np.int64), np.array(cols, np.int64))),
        shape=(len(word_ids), len(vocab)),
    )
    return sparse.csr_matrix(d @ w)


def char_wb_counts(vectorizer: TfidfVectorizer, docs: Sequence[str]) -> sparse.csr_matrix:
    """The raw n-gram counts ``CountVectorizer.transform`` gives for a fitted ``char_wb`` vectorizer."""
    if vectorizer.analyzer != "char_wb":
        raise ValueError(f"char_wb_counts needs analyzer='char_wb', got {vectorizer.analyzer!r}")
    counts = _wordwise_counts(
        vectorizer.build_analyzer(), vectorizer.build_preprocessor(), docs, vectorizer.vocabulary_, grow=False
    )
    x = sparse.csr_matrix(counts, dtype=vectorizer.dtype)
    x.sort_indices()
    return x


class WordwiseCharTfidf(TfidfVectorizer):
    """``TfidfVectorizer(analyzer="char_wb")`` whose n-gram counting, in ``fit`` as in ``transform``,
    goes per distinct word (``D @ W``, see the module docstring) instead of walking every n-gram of
    every document in Python; scikit-learn's own code does the rest (sorting the vocabulary,
    ``min_df`` / ``max_df`` / ``max_features``, the IDF), so the vocabulary, ``idf_`` and every
    output equal the plain vectorizer's (tested). Only ``analyzer="char_wb"``."""

    def _count_vocab(self, raw_documents: Iterable[str], fixed_vocab: bool) -> tuple[dict[str, int], Any]:
        if self.analyzer != "char_wb":
            raise ValueError(f"WordwiseCharTfidf needs analyzer='char_wb', got {self.analyzer!r}")
        docs = list(raw_documents)
        vocab: dict[str, int] = self.vocabulary_ if fixed_vocab else {}
        counts = _wordwise_counts(self.build_analyzer(), self.build_preprocessor(), docs, vocab, grow=not fixed_vocab)
        if not fixed_vocab and not vocab:
            raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
        x = sparse.csr_array(counts, dtype=self.dtype)
        x.sort_indices()
        align = getattr(_sklearn_text, "_align_api_if_sparse", None)  # scikit-learn >= 1.8 (sparse arrays)
        return vocab, (align(x) if align is not None else sparse.csr_matrix(x))


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

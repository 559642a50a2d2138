"""φ(e) encoders: engagement -> numeric vectors, fit on training posts, applied to any.

Our choices (the paper's encoder is not public), each a parameter:

* ``comments``: a post's comments are joined into one document (the aggregation), embedded
  with TF-IDF over word 1-2-grams and character 2-4-grams (so typos still match), reduced with
  TruncatedSVD and L2-normalized. A post with no comments gets the zero vector: it carries no
  comment signal and sits at the origin, it is not dropped.
* ``reactions``: the reaction distribution (counts / total) plus log(1 + total reactions) and
  log(1 + shares), standardized on the training posts. A post with zero reactions gets an
  all-zero distribution.
* ``both``: the two blocks concatenated, each scaled to unit average norm so neither dominates.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

from .engagement import Engagement

SIGNALS = ("comments", "reactions", "both")


def post_documents(eng: Engagement) -> list[str]:
    """One text per post: its comments joined by newlines ('' when it has none)."""
    return ["\n".join(c) for c in eng.comments]


@dataclass
class CommentEncoder:
    """TF-IDF (word + char n-grams) -> TruncatedSVD -> L2."""

    dim: int = 64
    seed: int = 0
    min_df: int = 2
    max_features: int = 50_000

    def fit(self, eng: Engagement) -> "CommentEncoder":
        docs = post_documents(eng)
        self.word_ = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), min_df=self.min_df,
                                     max_features=self.max_features, sublinear_tf=True,
                                     token_pattern=r"(?u)\b\w+\b")
        self.char_ = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=self.min_df,
                                     max_features=self.max_features, sublinear_tf=True)
        x = self._tfidf(docs, fit=True)
        dim = max(1, min(self.dim, x.shape[1] - 1))
        self.svd_ = TruncatedSVD(n_components=dim, random_state=self.seed).fit(x)
        return self

    def _tfidf(self, docs: list[str], fit: bool = False):
        if fit:
            return sparse.hstack([self.word_.fit_transform(docs), self.char_.fit_transform(docs)]).tocsr()
        return sparse.hstack([self.word_.transform(docs), self.char_.transform(docs)]).tocsr()

    def tfidf(self, eng: Engagement):
        """The sparse word TF-IDF matrix (for top-terms diagnostics) and its vocabulary."""
        return self.word_.transform(post_documents(eng)), self.word_.get_feature_names_out()

    def transform(self, eng: Engagement) -> np.ndarray:
        z = self.svd_.transform(self._tfidf(post_documents(eng))).astype(np.float32)
        norms = np.linalg.norm(z, axis=1, keepdims=True)
        z = np.divide(z, norms, out=np.zeros_like(z), where=norms > 0)
        z[np.array([len(c) == 0 for c in eng.comments])] = 0.0
        return z


@dataclass
class ReactionEncoder:
    """Reaction distribution + log totals, standardized on the training posts."""

    def _raw(self, eng: Engagement) -> np.ndarray:
        counts = eng.reactions.astype(np.float64)
        total = counts.sum(axis=1, keepdims=True)
        dist = np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)
        return np.hstack([dist, np.log1p(total), np.log1p(eng.shares[:, None].astype(np.float64))])

    def fit(self, eng: Engagement) -> "ReactionEncoder":
        if eng.reactions.shape[1] == 0:
            raise ValueError("the engagement table has no reaction columns")
        raw = self._raw(eng)
        self.mean_, self.std_ = raw.mean(0), raw.std(0) + 1e-8
        return self

    def transform(self, eng: Engagement) -> np.ndarray:
        return ((self._raw(eng) - self.mean_) / self.std_).astype(np.float32)


class SignalEncoder:
    """φ(e) for one of :data:`SIGNALS`."""

    def __init__(self, signal: str = "both", dim: int = 64, seed: int = 0):
        if signal not in SIGNALS:
            raise ValueError(f"unknown signal {signal!r}; choose one of {SIGNALS}")
        self.signal = signal
        self.comments = CommentEncoder(dim=dim, seed=seed) if signal in ("comments", "both") else None
        self.reactions = ReactionEncoder() if signal in ("reactions", "both") else None

    def fit(self, eng: Engagement) -> "SignalEncoder":
        if len(eng) == 0:
            raise ValueError("cannot fit φ(e) on zero posts")
        self.scales_ = []
        for enc in (self.comments, self.reactions):
            if enc is not None:
                z = enc.fit(eng).transform(eng)
                self.scales_.append(1.0 / max(float(np.linalg.norm(z, axis=1).mean()), 1e-8))
        return self

    def transform(self, eng: Engagement) -> np.ndarray:
        blocks = [enc.transform(eng) for enc in (self.comments, self.reactions) if enc is not None]
        return np.hstack([b * s for b, s in zip(blocks, self.scales_)]).astype(np.float32)

    def fit_transform(self, eng: Engagement) -> np.ndarray:
        return self.fit(eng).transform(eng)

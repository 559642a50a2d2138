"""The default comment encoder: TF-IDF over word and character n-grams -> TruncatedSVD -> L2."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

from vise_lib.engagement.table import Engagement
from vise_lib.labels.ngram_counts import WordwiseCharTfidf, char_wb_tfidf
from vise_lib.labels.text import MAX_CHARS, has_comments, l2_rows, post_documents


@dataclass
class TfidfEncoder:
    """TF-IDF (word + char n-grams) -> TruncatedSVD -> L2; posts without comments -> 0."""

    dim: int = 64
    seed: int = 0
    min_df: int = 2
    max_features: int = 50_000
    max_chars: int = MAX_CHARS

    @classmethod
    def from_options(cls, dim: int, seed: int, model: str | None = None) -> TfidfEncoder:
        """The registry's constructor (``model`` is unused: TF-IDF is fit on the posts)."""
        return cls(dim=dim, seed=seed)

    def fit(self, eng: Engagement) -> TfidfEncoder:
        """Fit the vocabularies and the SVD on ``eng``'s posts."""
        self.fit_transform(eng)
        return self

    def fit_transform(self, eng: Engagement) -> np.ndarray:
        """Fit on ``eng`` and return its (N, dim) float32 vectors (one TF-IDF pass)."""
        docs = post_documents(eng, self.max_chars)
        if not any(docs):
            raise ValueError(
                f"none of the {len(docs)} posts has comment text: the comment "
                "encoder cannot be fit (use signal='reactions' or 'counts')"
            )
        min_df = self.min_df if sum(map(bool, docs)) >= 4 * self.min_df else 1
        common = {"min_df": min_df, "max_features": self.max_features, "sublinear_tf": True, "dtype": np.float32}
        self.word_ = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), token_pattern=r"(?u)\b\w+\b", **common)
        self.char_ = WordwiseCharTfidf(analyzer="char_wb", ngram_range=(2, 4), **common)
        self.word_tfidf_ = self.word_.fit_transform(docs)
        x = sparse.hstack([self.word_tfidf_, self.char_.fit_transform(docs)]).tocsr()
        dim = max(1, min(self.dim, x.shape[1] - 1))
        self.svd_ = TruncatedSVD(n_components=dim, random_state=self.seed)
        return self._finish(self.svd_.fit_transform(x), eng)

    def _finish(self, z: np.ndarray, eng: Engagement) -> np.ndarray:
        z = l2_rows(z.astype(np.float32))
        z[~has_comments(eng)] = 0.0
        return z

    def tfidf(self, eng: Engagement) -> tuple[sparse.csr_matrix, np.ndarray]:
        """The sparse word TF-IDF matrix (for top-terms diagnostics) and its vocabulary."""
        return self.word_.transform(post_documents(eng, self.max_chars)), self.word_.get_feature_names_out()

    def transform(self, eng: Engagement) -> np.ndarray:
        """(N, dim) float32 vectors of any posts, with the fitted vocabularies and SVD (the character
        n-grams counted once per distinct word: :func:`vise_lib.labels.ngram_counts.char_wb_tfidf`)."""
        docs = post_documents(eng, self.max_chars)
        x = sparse.hstack([self.word_.transform(docs), char_wb_tfidf(self.char_, docs)]).tocsr()
        return self._finish(self.svd_.transform(x), eng)

"""φ(e) encoders: engagement -> numeric vectors, fit on training posts, applied to any.

Our choices (the paper's encoder is not public), each a parameter. A *signal* is one block or
a concatenation of blocks (:data:`SIGNAL_BLOCKS`):

* ``comments`` block (``encoder="tfidf"``, the default): a post's comments are cleaned (see
  below) and joined into one document (the aggregation), embedded with TF-IDF over word
  1-2-grams and character 2-4-grams (so typos still match), reduced with TruncatedSVD and
  L2-normalized. With ``encoder="sentence-transformers"`` each comment is embedded by a local
  sentence-transformers model (``encoder_model`` = a directory; nothing is downloaded) and a
  post's vector is the L2-normalized mean of its comments' embeddings.
* ``reactions`` block: the reaction distribution (counts / total) plus log(1 + total
  reactions), standardized on the training posts.
* ``counts`` block: log-binned counts of shares and of comments, one-hot (bin
  ``min(floor(log2(1 + count)), n_bins - 1)``).
* signals ``both`` = comments + reactions, ``all`` = comments + reactions + counts. Each block
  is scaled to unit average norm on the training posts so no block dominates.

Posts without a signal of a kind (documented treatment, never dropped):

* no comments -> the all-zero comment vector (it sits at the origin of that block);
* all-zero reactions -> the all-zero distribution and log total 0, then standardized;
* zero shares / comments -> count bin 0.

Text cleaning: the manifest reader already decodes invalid UTF-8 bytes as U+FFFD; lone
surrogates (possible through JSON ``\\udcxx`` escapes) are replaced by U+FFFD too, and each
comment is truncated to ``max_chars`` characters (default 1000), so one huge comment cannot
dominate a post or the run time. :func:`text_issues` counts both for the stage report.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

from .engagement import Engagement

SIGNAL_BLOCKS = {"comments": ("comments",), "reactions": ("reactions",), "counts": ("counts",),
                 "both": ("comments", "reactions"), "all": ("comments", "reactions", "counts")}
SIGNALS = tuple(SIGNAL_BLOCKS)
ENCODERS = ("tfidf", "sentence-transformers")
MAX_CHARS = 1000


def clean_comment(text: str, max_chars: int = MAX_CHARS) -> str:
    """One comment as it is encoded: lone surrogates -> U+FFFD, cut to ``max_chars``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text[:max_chars]


def text_issues(eng: Engagement, max_chars: int = MAX_CHARS) -> dict[str, int]:
    """Counts of comments that were truncated or had invalid Unicode (U+FFFD / surrogates)."""
    out = {"comments": 0, "posts_without_comments": 0, "comments_truncated": 0,
           "comments_with_invalid_unicode": 0}
    for cs in eng.comments:
        out["comments"] += len(cs)
        out["posts_without_comments"] += not cs
        for c in cs:
            out["comments_truncated"] += len(c) > max_chars
            out["comments_with_invalid_unicode"] += "\ufffd" in clean_comment(c, len(c))
    return out


def post_documents(eng: Engagement, max_chars: int = MAX_CHARS) -> list[str]:
    """One text per post: its cleaned comments joined by newlines ('' when it has none)."""
    return ["\n".join(clean_comment(c, max_chars) for c in cs) for cs in eng.comments]


def _has_comments(eng: Engagement) -> np.ndarray:
    return np.array([len(c) > 0 for c in eng.comments], dtype=bool)


def _l2(z: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(z, axis=1, keepdims=True)
    return np.divide(z, norms, out=np.zeros_like(z), where=norms > 0)


@dataclass
class CommentEncoder:
    """TF-IDF (word + char n-grams) -> TruncatedSVD -> L2; posts without comments -> 0."""

    dim: int = 64
    seed: int = 0
    min_df: int = 2
    max_features: int = 50_000
    max_chars: int = MAX_CHARS

    def fit(self, eng: Engagement) -> "CommentEncoder":
        """Fit the vocabularies and the SVD on ``eng``'s posts."""
        self.fit_transform(eng)
        return self

    def fit_transform(self, eng: Engagement) -> np.ndarray:
        """Fit on ``eng`` and return its (N, dim) float32 vectors (one TF-IDF pass)."""
        docs = post_documents(eng, self.max_chars)
        if not any(docs):
            raise ValueError(f"none of the {len(docs)} posts has comment text: the comment "
                             "encoder cannot be fit (use signal='reactions' or 'counts')")
        min_df = self.min_df if sum(map(bool, docs)) >= 4 * self.min_df else 1
        self.word_ = TfidfVectorizer(analyzer="word", ngram_range=(1, 2), min_df=min_df,
                                     max_features=self.max_features, sublinear_tf=True,
                                     token_pattern=r"(?u)\b\w+\b", dtype=np.float32)
        self.char_ = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4), min_df=min_df,
                                     max_features=self.max_features, sublinear_tf=True,
                                     dtype=np.float32)
        self.word_tfidf_ = self.word_.fit_transform(docs)
        x = sparse.hstack([self.word_tfidf_, self.char_.fit_transform(docs)]).tocsr()
        dim = max(1, min(self.dim, x.shape[1] - 1))
        self.svd_ = TruncatedSVD(n_components=dim, random_state=self.seed)
        return self._finish(self.svd_.fit_transform(x), eng)

    def _finish(self, z: np.ndarray, eng: Engagement) -> np.ndarray:
        z = _l2(z.astype(np.float32))
        z[~_has_comments(eng)] = 0.0
        return z

    def tfidf(self, eng: Engagement):
        """The sparse word TF-IDF matrix (for top-terms diagnostics) and its vocabulary."""
        return self.word_.transform(post_documents(eng, self.max_chars)), self.word_.get_feature_names_out()

    def transform(self, eng: Engagement) -> np.ndarray:
        """(N, dim) float32 vectors of any posts, with the fitted vocabularies and SVD."""
        docs = post_documents(eng, self.max_chars)
        x = sparse.hstack([self.word_.transform(docs), self.char_.transform(docs)]).tocsr()
        return self._finish(self.svd_.transform(x), eng)


@dataclass
class ReactionEncoder:
    """Reaction distribution + log(1 + total), standardized on the training posts."""

    def _raw(self, eng: Engagement) -> np.ndarray:
        counts = eng.reactions.astype(np.float64)
        total = counts.sum(axis=1, keepdims=True)
        dist = np.divide(counts, total, out=np.zeros_like(counts), where=total > 0)
        return np.hstack([dist, np.log1p(total)])

    def fit(self, eng: Engagement) -> "ReactionEncoder":
        """Learn the per-column mean and standard deviation."""
        if eng.reactions.shape[1] == 0:
            raise ValueError("the engagement table has no reaction columns")
        raw = self._raw(eng)
        self.mean_, self.std_ = raw.mean(0), raw.std(0) + 1e-8
        return self

    def fit_transform(self, eng: Engagement) -> np.ndarray:
        """Fit on ``eng`` and return its vectors."""
        return self.fit(eng).transform(eng)

    def transform(self, eng: Engagement) -> np.ndarray:
        """(N, R + 1) float32 standardized vectors."""
        if eng.reactions.shape[1] != len(self.mean_) - 1:
            raise ValueError(f"expected {len(self.mean_) - 1} reaction columns, got {eng.reactions.shape[1]}")
        return ((self._raw(eng) - self.mean_) / self.std_).astype(np.float32)


@dataclass
class CountEncoder:
    """Log-binned shares and comment counts, one-hot: (N, 2 * n_bins)."""

    n_bins: int = 8

    def fit(self, eng: Engagement) -> "CountEncoder":
        """Nothing to learn (fixed log2 bins)."""
        return self

    def fit_transform(self, eng: Engagement) -> np.ndarray:
        """Same as :meth:`transform` (nothing to fit)."""
        return self.transform(eng)

    def transform(self, eng: Engagement) -> np.ndarray:
        """One-hot bins ``min(floor(log2(1 + count)), n_bins - 1)`` of shares and comments."""
        z = np.zeros((len(eng), 2 * self.n_bins), np.float32)
        n_comments = np.array([len(c) for c in eng.comments], dtype=np.int64)
        for j, counts in enumerate((eng.shares, n_comments)):
            b = np.minimum(np.floor(np.log2(1 + np.asarray(counts, np.float64))), self.n_bins - 1)
            z[np.arange(len(eng)), j * self.n_bins + b.astype(np.int64)] = 1.0
        return z


def make_block(name: str, dim: int = 64, seed: int = 0, encoder: str = "tfidf",
               encoder_model: str | None = None):
    """An unfitted encoder for one block (``comments``, ``reactions`` or ``counts``)."""
    if name == "comments":
        if encoder not in ENCODERS:
            raise ValueError(f"unknown comment encoder {encoder!r}; choose one of {ENCODERS}")
        if encoder == "sentence-transformers":
            from .text_encoders import SentenceEncoder
            return SentenceEncoder(encoder_model)
        return CommentEncoder(dim=dim, seed=seed)
    if name == "reactions":
        return ReactionEncoder()
    if name == "counts":
        return CountEncoder()
    raise ValueError(f"unknown block {name!r}")


def block_scale(z: np.ndarray) -> float:
    """The factor that gives a block unit average row norm (1 for an all-zero block)."""
    return 1.0 / max(float(np.linalg.norm(z, axis=1).mean()), 1e-8)


class SignalEncoder:
    """φ(e) for one of :data:`SIGNALS`: its blocks, each scaled to unit average norm."""

    def __init__(self, signal: str = "both", dim: int = 64, seed: int = 0, encoder: str = "tfidf",
                 encoder_model: str | None = None):
        if signal not in SIGNALS:
            raise ValueError(f"unknown signal {signal!r}; choose one of {SIGNALS}")
        self.signal = signal
        self.blocks = {b: make_block(b, dim, seed, encoder, encoder_model) for b in SIGNAL_BLOCKS[signal]}

    @classmethod
    def from_fitted(cls, signal: str, blocks: dict, scales: dict) -> "SignalEncoder":
        """Assemble an encoder from already fitted blocks (shared between signals)."""
        self = cls.__new__(cls)
        self.signal = signal
        self.blocks = {b: blocks[b] for b in SIGNAL_BLOCKS[signal]}
        self.scales_ = {b: scales[b] for b in SIGNAL_BLOCKS[signal]}
        return self

    @property
    def comments(self):
        """The fitted ``comments`` block encoder, or None when the signal has no such block."""
        return self.blocks.get("comments")

    @property
    def reactions(self):
        """The fitted ``reactions`` block encoder, or None when the signal has no such block."""
        return self.blocks.get("reactions")

    @property
    def counts(self):
        """The fitted ``counts`` block encoder, or None when the signal has no such block."""
        return self.blocks.get("counts")

    def fit(self, eng: Engagement) -> "SignalEncoder":
        """Fit every block on ``eng`` (the training posts)."""
        self.fit_transform(eng)
        return self

    def fit_transform(self, eng: Engagement) -> np.ndarray:
        """Fit on ``eng`` and return its φ(e), (N, d) float32."""
        if len(eng) == 0:
            raise ValueError("cannot fit φ(e) on zero posts")
        out, self.scales_ = [], {}
        for name, enc in self.blocks.items():
            z = enc.fit_transform(eng)
            self.scales_[name] = block_scale(z)
            out.append(z * self.scales_[name])
        return np.hstack(out).astype(np.float32)

    def transform(self, eng: Engagement) -> np.ndarray:
        """φ(e) of any posts with the fitted blocks and scales."""
        return np.hstack([enc.transform(eng) * self.scales_[n] for n, enc in self.blocks.items()]
                         ).astype(np.float32)


def encode_signals(eng: Engagement, signals, dim: int = 64, seed: int = 0, encoder: str = "tfidf",
                   encoder_model: str | None = None, fitted: dict | None = None
                   ) -> dict[str, tuple[SignalEncoder, np.ndarray]]:
    """Fit and apply several signals at once, each block fit only once.

    ``fitted`` (optional, mutated) maps block name -> (encoder, scale, scaled output) and lets a
    caller reuse blocks across calls. Returns signal -> (SignalEncoder, φ).
    """
    for s in signals:
        if s not in SIGNALS:
            raise ValueError(f"unknown signal {s!r}; choose one of {SIGNALS}")
    if len(eng) == 0:
        raise ValueError("cannot fit φ(e) on zero posts")
    fitted = {} if fitted is None else fitted
    for s in signals:
        for b in SIGNAL_BLOCKS[s]:
            if b not in fitted:
                enc = make_block(b, dim, seed, encoder, encoder_model)
                z = enc.fit_transform(eng)
                scale = block_scale(z)
                fitted[b] = (enc, scale, (z * scale).astype(np.float32))
    out = {}
    for s in signals:
        bs = SIGNAL_BLOCKS[s]
        enc = SignalEncoder.from_fitted(s, {b: fitted[b][0] for b in bs}, {b: fitted[b][1] for b in bs})
        out[s] = (enc, np.hstack([fitted[b][2] for b in bs]).astype(np.float32))
    return out

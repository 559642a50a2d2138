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
* ``counts`` block: binned counts of shares and of comments, one-hot; the bins are fitted on
  the training posts (equal-mass bins of ``log(1 + count)``), so heavy-tailed real counts
  spread over the bins (:mod:`vise_lib.labels.encoders.counts`).
* signals ``both`` = comments + reactions, ``all`` = comments + reactions + counts. Each block
  is scaled to unit average norm on the training posts so no block dominates.

Posts without a signal of a kind (documented treatment, never dropped):

* no comments -> the all-zero comment vector (it sits at the origin of that block);
* all-zero reactions -> the all-zero distribution and log total 0, then standardized;
* zero shares / comments -> count bin 0.

The one φ(e): both label paths, the in-memory stage
(:func:`vise_lib.labels.pseudo_labels.build_pseudo_labels`) and the out-of-core one
(:func:`vise_lib.labels.out_of_core.pseudo_labels_out_of_core`), fit φ(e) with
:func:`encode_signals` (``SignalEncoder.fit`` calls it) on an :class:`Engagement` that has every
column of the posts (captions and ``n_comments`` included), and apply it with
:meth:`SignalEncoder.transform`. ``tests/labels/test_out_of_core.py`` checks that the same posts
give the same φ(e) either way.

Text cleaning: the manifest reader already decodes invalid UTF-8 bytes as U+FFFD; lone
surrogates (possible through JSON ``\\udcxx`` escapes) are replaced by U+FFFD too, and each
comment is truncated to ``max_chars`` characters (default 1000), so one huge comment cannot
dominate a post or the run time. :func:`text_issues` counts both for the stage report.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vise_lib.engagement.table import Engagement
from vise_lib.labels.encoders import BlockEncoder, make_block

SIGNAL_BLOCKS = {
    "comments": ("comments",),
    "reactions": ("reactions",),
    "counts": ("counts",),
    "both": ("comments", "reactions"),
    "all": ("comments", "reactions", "counts"),
}
SIGNALS = tuple(SIGNAL_BLOCKS)


def block_scale(z: np.ndarray) -> float:
    """The factor that gives a block unit average row norm (1 for an all-zero block)."""
    return 1.0 / max(float(np.linalg.norm(z, axis=1).mean()), 1e-8)


class SignalEncoder:
    """φ(e) for one of :data:`SIGNALS`: its blocks, each scaled to unit average norm."""

    def __init__(
        self,
        signal: str = "both",
        dim: int = 64,
        seed: int = 0,
        encoder: str = "tfidf",
        encoder_model: str | None = None,
    ) -> None:
        if signal not in SIGNALS:
            raise ValueError(f"unknown signal {signal!r}; choose one of {SIGNALS}")
        self.signal = signal
        self.dim, self.seed, self.encoder, self.encoder_model = dim, seed, encoder, encoder_model
        self.blocks = {b: make_block(b, dim, seed, encoder, encoder_model) for b in SIGNAL_BLOCKS[signal]}

    @classmethod
    def from_fitted(cls, signal: str, blocks: dict[str, BlockEncoder], scales: dict[str, float]) -> SignalEncoder:
        """Assemble an encoder from already fitted blocks (shared between signals)."""
        self = cls.__new__(cls)
        self.signal = signal
        self.dim, self.seed, self.encoder, self.encoder_model = 64, 0, "tfidf", None  # refit: the defaults
        self.blocks = {b: blocks[b] for b in SIGNAL_BLOCKS[signal]}
        self.scales_ = {b: scales[b] for b in SIGNAL_BLOCKS[signal]}
        return self

    @property
    def comments(self) -> BlockEncoder | None:
        """The fitted ``comments`` block encoder, or None when the signal has no such block."""
        return self.blocks.get("comments")

    @property
    def reactions(self) -> BlockEncoder | None:
        """The fitted ``reactions`` block encoder, or None when the signal has no such block."""
        return self.blocks.get("reactions")

    @property
    def counts(self) -> BlockEncoder | None:
        """The fitted ``counts`` block encoder, or None when the signal has no such block."""
        return self.blocks.get("counts")

    def fit(self, eng: Engagement) -> SignalEncoder:
        """Fit every block on ``eng`` (the training posts)."""
        self.fit_transform(eng)
        return self

    def fit_transform(self, eng: Engagement) -> np.ndarray:
        """Fit on ``eng`` and return its φ(e), (N, d) float32."""
        fitted, phi = encode_signals(
            eng, [self.signal], dim=self.dim, seed=self.seed, encoder=self.encoder, encoder_model=self.encoder_model
        )[self.signal]
        self.blocks = fitted.blocks
        self.scales_: dict[str, float] = fitted.scales_
        return phi

    def transform(self, eng: Engagement) -> np.ndarray:
        """φ(e) of any posts with the fitted blocks and scales."""
        return np.hstack([enc.transform(eng) * self.scales_[n] for n, enc in self.blocks.items()]).astype(np.float32)


def encode_signals(
    eng: Engagement,
    signals: Sequence[str],
    dim: int = 64,
    seed: int = 0,
    encoder: str = "tfidf",
    encoder_model: str | None = None,
    fitted: dict[str, tuple[BlockEncoder, float, np.ndarray]] | None = None,
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
        sig = SignalEncoder.from_fitted(s, {b: fitted[b][0] for b in bs}, {b: fitted[b][1] for b in bs})
        out[s] = (sig, np.hstack([fitted[b][2] for b in bs]).astype(np.float32))
    return out

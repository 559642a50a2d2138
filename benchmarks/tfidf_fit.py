"""Benchmark: fitting the character n-gram TF-IDF of φ(e) — scikit-learn's counting vs per distinct word.

φ(e)'s comment encoder (:class:`vise_lib.labels.encoders.tfidf.TfidfEncoder`) fits a
``TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 4))`` on the fit sample (200,000 posts in
``vise labels`` and the Dask fit task: the one serial task of the labels pass). scikit-learn walks
every n-gram of every document in Python; :class:`vise_lib.labels.ngram_counts.WordwiseCharTfidf`
counts each distinct word's n-grams once (``D @ W``) and leaves the rest to scikit-learn. Both
fit the same posts (``benchmarks/ingest.py``'s generator) side by side in one run; their outputs,
vocabularies and IDF must be identical. Sizes can be lowered: ``python benchmarks/tfidf_fit.py 20000``.
Ends with exactly one line::

    BENCH tfidf_fit posts=<n> sklearn_s=... wordwise_s=... speedup=<sklearn / wordwise> identical=<0|1>
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ingest import make_manifest

SIZE = 200_000


def main(argv: list[str]) -> None:
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer

    from vise_lib.engagement.reader import ManifestReader
    from vise_lib.labels.ngram_counts import WordwiseCharTfidf
    from vise_lib.labels.text import post_documents

    n = int(argv[0]) if argv else SIZE
    with tempfile.TemporaryDirectory(prefix="vise-bench-tfidf-") as tmp:
        manifest = Path(tmp) / "manifest.jsonl"
        make_manifest(manifest, n)
        docs = post_documents(next(iter(ManifestReader(manifest, chunk_rows=n))))
    options = {
        "analyzer": "char_wb",
        "ngram_range": (2, 4),
        "min_df": 2,
        "max_features": 50_000,
        "sublinear_tf": True,
        "dtype": np.float32,
    }  # TfidfEncoder's settings
    seconds, fitted = {}, {}
    for name, cls in (("sklearn", TfidfVectorizer), ("wordwise", WordwiseCharTfidf)):
        t0 = time.perf_counter()
        vec = cls(**options)
        x = vec.fit_transform(docs)
        seconds[name], fitted[name] = time.perf_counter() - t0, (vec, x)
        print(f"  {name:>8}: {seconds[name]:6.1f} s for {n} posts", flush=True)
    (a, xa), (b, xb) = fitted["sklearn"], fitted["wordwise"]
    identical = (
        a.vocabulary_ == b.vocabulary_
        and np.array_equal(a.idf_, b.idf_)
        and xa.shape == xb.shape
        and (xa != xb).nnz == 0
    )
    print(
        f"BENCH tfidf_fit posts={n} sklearn_s={seconds['sklearn']:.2f} wordwise_s={seconds['wordwise']:.2f} "
        f"speedup={seconds['sklearn'] / seconds['wordwise']:.2f} identical={int(identical)}"
    )


if __name__ == "__main__":
    main(sys.argv[1:])

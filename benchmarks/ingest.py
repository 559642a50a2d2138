"""Benchmark: how fast is ingestion, and does its memory stay flat as the input grows 10×?

Two contenders, each at 1× and 10× input, each measured in its own subprocess (peak resident
memory from ``getrusage``, which includes the interpreter and numpy, ~the same for both sizes):

* manifest: a generated JSONL manifest of 20,000 (1×) / 200,000 (10×) posts streamed with
  ``ManifestReader`` (chunks of 10,000, every row validated, duplicate ids checked);
* pushshift: generated ``RS``/``RC`` zstandard dumps of 20,000 / 200,000 submissions with three
  comments each, of which the same 2,000 have a downloaded image (a real dump is much larger
  than the set of images one downloads), converted with ``pushshift_to_manifest``.

Ends with exactly one line::

    BENCH ingest posts_per_s=<manifest posts/s> pushshift_posts_per_s=<submissions/s>
          peak_mb_1x=<max of both at 1x> peak_mb_10x=<max of both at 10x> peak_ratio=<10x / 1x>
"""

from __future__ import annotations

import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

N_1X, KEPT_IMAGES, COMMENTS_PER_POST = 20_000, 2_000, 3
WORDS = [
    "cute",
    "lol",
    "wow",
    "sad",
    "angry",
    "love",
    "great",
    "awful",
    "first",
    "so",
    "much",
    "this",
    "is",
    "the",
    "best",
    "worst",
    "ever",
]


def make_manifest(path: Path, n: int) -> None:
    rng = random.Random(0)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            f.write(
                json.dumps(
                    {
                        "post_id": f"p{i:08d}",
                        "image": f"img/{i % 1000:03d}/{i:08d}.jpg",
                        "comments": [" ".join(rng.choices(WORDS, k=6)) for _ in range(rng.randint(0, 6))],
                        "reactions": {k: rng.randint(0, 50) for k in ("like", "love", "haha", "wow", "sad", "angry")},
                        "shares": rng.randint(0, 9),
                        "timestamp": 1600000000 + i,
                    }
                )
                + "\n"
            )


def make_dumps(tmp: Path, n: int) -> None:
    import zstandard

    rng = random.Random(1)
    cz = zstandard.ZstdCompressor(level=3)
    with open(tmp / "RS.zst", "wb") as fs, cz.stream_writer(fs) as w:
        for i in range(n):
            w.write(
                (
                    json.dumps(
                        {
                            "id": f"{i:x}",
                            "subreddit": "pics",
                            "url": f"https://i.redd.it/{i:x}.jpg",
                            "is_self": False,
                            "score": rng.randint(0, 500),
                            "num_comments": 3,
                            "upvote_ratio": 0.9,
                            "created_utc": 1600000000 + i,
                        }
                    )
                    + "\n"
                ).encode()
            )
    with open(tmp / "RC.zst", "wb") as fc, cz.stream_writer(fc) as w:
        for i in range(n * COMMENTS_PER_POST):
            w.write(
                (
                    json.dumps(
                        {
                            "id": f"c{i:x}",
                            "link_id": f"t3_{i // COMMENTS_PER_POST:x}",
                            "score": 1,
                            "body": " ".join(rng.choices(WORDS, k=8)),
                        }
                    )
                    + "\n"
                ).encode()
            )
    root = tmp / "images"
    root.mkdir(exist_ok=True)
    for i in range(KEPT_IMAGES):  # the same downloaded images at every size
        (root / f"{i * (n // KEPT_IMAGES):x}.jpg").write_bytes(b"x")


def child(kind: str, tmp: str) -> None:
    """Run one contender; print seconds, posts and peak RSS (MB) as JSON."""
    tmp = Path(tmp)
    t0 = time.perf_counter()
    if kind == "manifest":
        from vise_lib.engagement.reader import ManifestReader

        reader = ManifestReader(
            tmp / "manifest.jsonl", reaction_names=("like", "love", "haha", "wow", "sad", "angry"), chunk_rows=10_000
        )
        posts = sum(len(chunk) for chunk in reader)
        assert posts == reader.report.n_rows, reader.report.summary()
    else:
        from vise_lib.engagement.pushshift import pushshift_to_manifest

        rep = pushshift_to_manifest(tmp / "RS.zst", tmp / "RC.zst", tmp / "images", tmp / "out.jsonl", layout="flat")
        posts = rep.submissions["lines"]
        assert rep.submissions["kept"] == KEPT_IMAGES, rep.summary()
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "posts": posts, "peak_mb": peak}))


def measure(kind: str, tmp: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(tmp)], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    res = {}
    for scale in (1, 10):
        n = N_1X * scale
        with tempfile.TemporaryDirectory(prefix=f"vise-bench-ingest-{scale}x-") as tmp:
            tmp = Path(tmp)
            make_manifest(tmp / "manifest.jsonl", n)
            make_dumps(tmp, n)
            for kind in ("manifest", "pushshift"):
                r = res[kind, scale] = measure(kind, tmp)
                print(
                    f"{kind:9s} {scale:>2}x: {r['posts']:>7} posts in {r['seconds']:6.2f} s = "
                    f"{r['posts'] / r['seconds']:9.0f} posts/s, peak RSS {r['peak_mb']:.0f} MB"
                )
    rate = {k: res[k, 10]["posts"] / res[k, 10]["seconds"] for k in ("manifest", "pushshift")}
    p1 = max(res[k, 1]["peak_mb"] for k in ("manifest", "pushshift"))
    p10 = max(res[k, 10]["peak_mb"] for k in ("manifest", "pushshift"))
    print(
        f"BENCH ingest posts_per_s={rate['manifest']:.0f} pushshift_posts_per_s={rate['pushshift']:.0f} "
        f"peak_mb_1x={p1:.1f} peak_mb_10x={p10:.1f} peak_ratio={p10 / p1:.2f}"
    )


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
    else:
        main()

"""Ingest a manifest of real posts: validate every row and image, write a clean manifest (and shards).

:func:`ingest` streams a manifest (JSONL, CSV or Parquet; comments inline or in a separate
table) chunk by chunk with :class:`vise_lib.engagement.reader.ManifestReader`, checks that each
image path stays inside the data root and exists, decodes each image by content with
:func:`vise_lib.engagement.images.decode_image` (CMYK, palette, RGBA, 16-bit and GIF/PNG-named-.jpg files
decode to RGB; truncated, zero-byte and unreadable files are skipped), and writes into
``out_dir``:

* ``manifest.jsonl`` — the kept posts, normalized (the format the world writes, with ``image``),
  written atomically: an error (or ``strict`` stop) leaves no partial file and no temp file;
* ``report.json`` — rows read and kept, every skip counted by reason with the first 20 row
  numbers, and the counted repairs (``notes``);
* with ``shards=True``: ``shards/`` — WebDataset tar shards of the kept posts (:mod:`vise_lib.engagement.shards`).

Command line: ``python -m vise_lib.engagement.ingest --manifest posts.csv --data-root images/ --out ingested/``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from vise_lib.engagement.images import ImageError, decode_image
from vise_lib.engagement.reader import ManifestReader
from vise_lib.engagement.shards import FORMATS, ShardWriter
from vise_lib.engagement.table import ManifestError
from vise_lib.io import PathArg, atomic_write, write_json

NO_PATH = "image_index without an image path (ingest needs image files)"


def image_reason(err: ImageError) -> str:
    """The count key for an image that failed to decode: ``"image: <reason>"`` without details."""
    return "image: " + err.reason.split(" (")[0]


def ingest(
    manifest: PathArg,
    out_dir: PathArg,
    data_root: PathArg | None,
    comments: PathArg | None = None,
    reaction_columns: Sequence[str] = (),
    reaction_names: Sequence[str] | None = None,
    image_size: int | None = None,
    decode: bool = True,
    shards: bool = False,
    shard_size: int = 1000,
    image_format: str = "jpg",
    chunk_rows: int = 10_000,
    strict: bool = False,
) -> dict:
    """Validate ``manifest`` against ``data_root`` and write the clean outputs; returns the report dict.

    Skips (counted by reason, listed with row numbers in ``report.json``): every invalid row
    :func:`vise_lib.engagement.reader.read_manifest` skips, image paths that escape the data root or
    are missing, and images that do not decode (``decode=True``; with ``decode=False`` only the
    file's existence is checked). ``image_size`` resizes (shorter side) and centre-crops the
    images stored in shards; shards need ``decode=True``. ``strict`` raises on the first bad
    row or image instead, naming the file and row (it reads row by row, so it is slower).
    """
    if shards and not decode:
        raise ValueError("shards=True needs decode=True (shards store decoded images)")
    reader = ManifestReader(
        manifest,
        strict,
        reaction_names,
        comments=comments,
        data_root=data_root,
        reaction_columns=reaction_columns,
        chunk_rows=1 if strict else chunk_rows,
    )
    rep, root = reader.report, reader.root
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    writer = ShardWriter(out / "shards", shard_size, image_format) if shards else None
    counts = {"failed": 0, "written": 0}
    names: dict[str, None] = dict.fromkeys(reaction_names or ())

    def write_rows(f):  # atomic: on any error (bad row in strict mode, disk full) no partial manifest
        for rows in reader.row_chunks():
            for r in rows:
                line = r.pop("line")
                if r["image"] is None:
                    if strict:
                        raise ManifestError(f"{reader.path}:{line}: {NO_PATH}")
                    rep.skip(line, NO_PATH)
                    counts["failed"] += 1
                    continue
                if decode:
                    if root is None:  # the reader has no root only when data_root is None
                        raise ValueError(f"{reader.path}:{line}: decoding an image needs a data_root")
                    try:
                        img = decode_image(root.resolve(r["image"]), image_size)
                    except ImageError as e:
                        if strict:
                            raise ManifestError(f"{reader.path}:{line}: {e}") from None
                        rep.skip(line, image_reason(e), str(e))
                        counts["failed"] += 1
                        continue
                if reaction_names is None:
                    names.update(dict.fromkeys(r["reactions"]))
                rec = {k: v for k, v in r.items() if k != "image_index"}
                if reaction_names is not None:
                    rec["reactions"] = {k: r["reactions"].get(k, 0) for k in reaction_names}
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
                if writer is not None:
                    writer.add(img, rec)
                counts["written"] += 1

    atomic_write(out / "manifest.jsonl", write_rows, mode="w")
    n_images_failed, n_out = counts["failed"], counts["written"]
    rep.n_kept -= n_images_failed
    result = rep.to_dict()
    result.update(
        manifest=str(out / "manifest.jsonl"),
        data_root=str(root.root) if root else None,
        reaction_names=list(names),
        written=n_out,
    )
    if writer is not None:
        writer.close(reaction_names=list(names), skipped=[])
        result["shards"] = str(out / "shards")
    write_json(out / "report.json", result)
    return result


def main(argv: list[str] | None = None) -> int:
    """``python -m vise_lib.engagement.ingest --manifest M --data-root DIR --out OUT [--shards]``."""
    p = argparse.ArgumentParser(prog="vise ingest", description=__doc__.splitlines()[0])
    p.add_argument("--manifest", required=True, help="posts: .jsonl, .jsonl.zst, .csv, .tsv or .parquet")
    p.add_argument("--data-root", required=True, help="folder the manifest's image paths are relative to")
    p.add_argument("--out", dest="out_dir", required=True, help="output folder (manifest.jsonl, report.json, shards/)")
    p.add_argument("--comments", default=None, help="separate comments table (post_id, text)")
    p.add_argument(
        "--reaction-column",
        dest="reaction_columns",
        action="append",
        default=[],
        help="a column to read as a reaction count (repeatable); reaction_<name> columns are always read",
    )
    p.add_argument("--image-size", type=int, default=None, help="resize + centre-crop images in shards to this side")
    p.add_argument(
        "--no-decode", dest="decode", action="store_false", help="only check that image files exist (faster)"
    )
    p.add_argument("--shards", action="store_true", help="also write WebDataset shards")
    p.add_argument("--shard-size", type=int, default=1000, help="samples per shard")
    p.add_argument(
        "--image-format",
        choices=FORMATS,
        default="jpg",
        help="image encoding in shards (JPEG at shards.JPEG_QUALITY for photos; png is lossless)",
    )
    p.add_argument("--strict", action="store_true", help="stop at the first bad row or image")
    res = ingest(**vars(p.parse_args(argv)))  # every option's dest is one of ingest()'s parameters
    print(f"{res['path']}: {res['kept']} of {res['rows']} posts kept -> {res['manifest']}")
    for reason, n in sorted(res["skipped"].items(), key=lambda t: -t[1]):
        print(f"  skipped {n:>8}  {reason}")
    for note, n in res["notes"].items():
        print(f"  note    {n:>8}  {note}")
    return 0


if __name__ == "__main__":
    from vise_lib.tools import tool_main

    sys.exit(tool_main("ingest"))

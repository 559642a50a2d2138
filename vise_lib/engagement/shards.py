"""WebDataset tar shards: images + engagement JSON per sample, written and read in a stream.

Layout (the `webdataset <https://github.com/webdataset/webdataset>`_ convention, written with
``webdataset.ShardWriter``; the reader here uses only the standard library's ``tarfile``):
``out_dir`` holds ``shard-000000.tar``, ``shard-000001.tar``, … and ``shards.json`` (the index:
samples per shard, reaction names, image format, skipped posts). Each sample is two consecutive
tar members sharing a key, the sample's running number ``%09d``::

    000000042.jpg    the image (JPEG at quality JPEG_QUALITY, the default; or .png, lossless)
    000000042.json   the post's manifest record: post_id, image/image_index, comments,
                     reactions, shares, timestamp

Members carry fixed metadata (mtime 0, mode 0644), so the same input gives the same bytes.
Each shard is written to a temporary name and renamed when complete. ``webdataset.WebDataset``
reads these shards as they are (``sample["jpg"]``, ``sample["json"]``); pretraining streams
them with :mod:`vise_lib.pretrain.streaming`.

Images given as paths are decoded by content with :func:`vise_lib.engagement.images.decode_image` (CMYK,
palette, RGBA, 16-bit and misnamed files are converted to RGB; truncated, zero-byte and missing
files are skipped, counted and listed in the index) and re-encoded, so the shards only hold clean
RGB images.
"""

from __future__ import annotations

import argparse
import glob
import io
import itertools
import json
import os
import re
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from vise_lib.engagement.data_root import DataRoot, ImagePathError
from vise_lib.engagement.images import ImageError, decode_image
from vise_lib.engagement.table import Engagement
from vise_lib.io import atomic_write, read_json, sweep_stale_temps, write_json, write_npy_stream

FORMATS = ("jpg", "png")
JPEG_QUALITY = 90  # the default shard encoding for real photos: ~10x smaller than PNG, decoded fast in loader workers


def encode_image(array: np.ndarray, image_format: str = "jpg", quality: int = JPEG_QUALITY) -> bytes:
    """uint8 ``(H, W, 3)`` -> JPEG (at ``quality``) or PNG (lossless) bytes."""
    if image_format not in FORMATS:
        raise ValueError(f"image_format must be one of {FORMATS}, got {image_format!r}")
    buf = io.BytesIO()
    img = Image.fromarray(np.ascontiguousarray(array, dtype=np.uint8), "RGB")
    if image_format == "png":
        img.save(buf, format="PNG", compress_level=1)
    else:
        img.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


class ShardWriter:
    """Append samples; a new shard starts every ``shard_size`` samples. Use as a context manager.

    Writes through ``webdataset.ShardWriter`` (tar members with mtime 0 and mode 0644, so the same
    input gives the same bytes) into ``.shard-NNNNNN.tar.tmp<pid>``, renamed to
    ``shard-NNNNNN.tar`` when the shard is complete. On an error inside the ``with`` block the
    open temp shard is deleted; stale temp shards of dead writers are swept when a writer starts.
    """

    def __init__(self, out_dir, shard_size: int = 1000, image_format: str = "jpg", quality: int = JPEG_QUALITY):
        import webdataset  # the "scale" extra; only shard writing and streaming need it

        if shard_size < 1:
            raise ValueError(f"shard_size must be >= 1, got {shard_size}")
        if image_format not in FORMATS:
            raise ValueError(f"image_format must be one of {FORMATS}, got {image_format!r}")
        if not 1 <= quality <= 100:
            raise ValueError(f"quality must be in [1, 100], got {quality}")
        self.out = Path(out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        sweep_stale_temps(self.out / "shard-*.tar")
        self.shard_size, self.image_format, self.quality = shard_size, image_format, quality
        self.shards: list[dict] = []
        self.n = 0
        self._w = webdataset.ShardWriter(
            str(self.out / f".shard-%06d.tar.tmp{os.getpid()}"),
            maxcount=shard_size,
            maxsize=float("inf"),
            post=self._finished,
            verbose=0,
            mtime=0,  # an int: a float mtime makes tarfile add a pax header to every member
            mode=0o644,
            user="",
            group="",
            encoder=False,
            format=tarfile.USTAR_FORMAT,
        )

    def _finished(self, tmp_name: str) -> None:  # webdataset calls this when it closes a shard
        tmp = Path(tmp_name)
        os.replace(tmp, tmp.with_name(tmp.name[1:].rpartition(".tmp")[0]))

    def add(self, image: np.ndarray, record: dict) -> str:
        """Write one sample (uint8 ``(H, W, 3)`` image, JSON-ready record); returns its key."""
        if self.n % self.shard_size == 0:
            self.shards.append({"name": f"shard-{len(self.shards):06d}.tar", "n": 0})
        key = f"{self.n:09d}"
        self._w.write(
            {
                "__key__": key,
                self.image_format: encode_image(image, self.image_format, self.quality),
                "json": json.dumps(record, ensure_ascii=False).encode("utf-8"),
            }
        )
        self.n += 1
        self.shards[-1]["n"] += 1
        return key

    def close(self, **index) -> Path:
        """Finish the last shard and write ``shards.json`` (``index`` adds fields to it)."""
        self._w.close()
        return write_json(
            self.out / "shards.json",
            {"n_samples": self.n, "shards": self.shards, "image_format": self.image_format, **index},
        )

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is not None and getattr(self._w, "tarstream", None) is not None:
            self._w.tarstream.close()  # not finish(): that would rename the partial shard into place
            Path(self._w.fname).unlink(missing_ok=True)
            self._w.tarstream = None


def write_shards(
    engagement: Engagement,
    images_or_paths=None,
    out_dir=".",
    shard_size: int = 1000,
    image_format: str = "jpg",
    size: int | None = None,
    data_root=None,
    quality: int = JPEG_QUALITY,
) -> dict:
    """Write posts and their images as shards; returns the index (also saved as ``shards.json``).

    ``images_or_paths``: a uint8 ``(M, H, W, 3)`` array indexed by ``engagement.image_index``;
    or a list of image paths aligned with the posts; or ``None`` to use ``engagement.images``
    relative to ``data_root`` (checked to stay inside it). Paths are decoded by content
    (``size``: shorter side resized and centre-cropped); undecodable, missing or escaping images
    are skipped and listed in the index's ``skipped`` as ``[post_id, reason]``.
    """
    root = DataRoot(data_root) if data_root is not None else None
    if images_or_paths is None:
        if any(p is None for p in engagement.images):
            raise ValueError("posts without an image path: pass the image array or paths")
        images_or_paths = list(engagement.images)
    is_array = isinstance(images_or_paths, np.ndarray)
    if is_array and (images_or_paths.ndim != 4 or images_or_paths.dtype != np.uint8):
        raise ValueError(f"images must be uint8 (M, H, W, 3), got {images_or_paths.dtype} {images_or_paths.shape}")
    if (
        is_array
        and len(engagement)
        and (engagement.image_index.min() < 0 or engagement.image_index.max() >= len(images_or_paths))
    ):
        raise ValueError(f"image_index out of range for an image array of {len(images_or_paths)} rows")
    if not is_array and len(images_or_paths) != len(engagement):
        raise ValueError(f"{len(images_or_paths)} image paths for {len(engagement)} posts")
    skipped = []
    with ShardWriter(out_dir, shard_size, image_format, quality) as w:
        for i in range(len(engagement)):
            if is_array:
                w.add(images_or_paths[engagement.image_index[i]], engagement.row(i))
                continue
            path = images_or_paths[i]
            try:
                full = root.resolve(str(path)) if root is not None else path
                w.add(decode_image(full, size), engagement.row(i))
            except (ImageError, ImagePathError) as e:
                skipped.append([engagement.post_ids[i], str(e)])
        return read_json(w.close(reaction_names=list(engagement.reaction_names), skipped=skipped))


def shard_paths(source) -> list[Path]:
    """Shard files of a folder (from its ``shards.json``, else ``*.tar``), a glob pattern or a list."""
    if isinstance(source, (list, tuple)):
        paths = [Path(p) for p in source]
    elif Path(source).is_dir():
        idx = Path(source) / "shards.json"
        paths = (
            [Path(source) / s["name"] for s in read_json(idx)["shards"]]
            if idx.is_file()
            else sorted(Path(source).glob("*.tar"))
        )
    else:
        paths = [Path(p) for p in sorted(glob.glob(str(source)))]
    if not paths:
        raise FileNotFoundError(f"no shards found at {source}")
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"shard(s) missing: {missing[:5]}")
    return paths


def iter_shards(source, decode: bool = True, rank: int = 0, world_size: int = 1):
    """Yield ``{"key", "shard", "record", "image"}`` per sample, in shard order.

    ``image`` is a uint8 ``(H, W, 3)`` array (or the encoded bytes when ``decode=False``).
    With ``world_size > 1`` this process reads shards ``rank, rank + world_size, …`` (one way
    to split shards across torchrun workers). A truncated or malformed shard raises
    ``ValueError`` naming the shard and the last good key.
    """
    if not 0 <= rank < world_size:
        raise ValueError(f"rank must be in [0, world_size), got rank={rank} world_size={world_size}")
    paths = shard_paths(source)
    idx = Path(source) / "shards.json" if not isinstance(source, (list, tuple)) else None
    expected = {s["name"]: s["n"] for s in read_json(idx)["shards"]} if idx is not None and idx.is_file() else {}
    for shard in paths[rank::world_size]:
        n = 0
        for sample in _read_shard(shard, decode):
            n += 1
            yield sample
        if shard.name in expected and n != expected[shard.name]:
            raise ValueError(f"{shard}: {n} samples read, shards.json says {expected[shard.name]} (truncated?)")


def tar_members(shard) -> Iterator[dict]:
    """The regular files of one shard as ``{"fname", "data", "__url__"}``, in order: what
    ``webdataset``'s tar expander yields, which :func:`tar_samples` groups into samples. Headers are parsed here rather than by Python's ``tarfile`` (which decodes each
    512-byte header field by field): reading the benchmark's shards is ~3.5x faster (7 -> 2 ms a
    batch of 128 posts, a third of the loader worker's work per batch before; see
    ``benchmarks/shards.py``). USTAR as :class:`ShardWriter` writes it; pax ``path`` records and
    GNU long names are applied as ``tarfile`` does; links, folders and webdataset's ``__meta__``
    members are skipped. ``ValueError`` names the shard on a truncated file or a damaged header.
    """
    url = str(shard)
    with open(shard, "rb") as f:
        long_name = None
        while len(h := f.read(512)) == 512 and h != _ZERO_BLOCK:
            at = f.tell() - 512
            try:
                ok = sum(h) - sum(h[148:156]) + 8 * 32 == int(h[148:156].strip(b"\0 "), 8)
                size = int(h[124:136].strip(b"\0 ") or b"0", 8)
            except ValueError:
                ok = False
            if not ok:
                raise ValueError(f"{url}: damaged tar header at byte {at}")
            data = f.read(size)
            if len(data) < size:
                raise ValueError(f"{url}: truncated tar: member at byte {at} has {len(data)} of {size} bytes")
            f.seek(-size % 512, 1)
            kind = h[156:157]
            if kind == b"x":  # pax extended header: records "<len> <key>=<value>\n" for the next member
                try:
                    long_name = _pax_path(data) or long_name
                except ValueError:
                    raise ValueError(f"{url}: damaged pax header at byte {at}") from None
                continue
            if kind == b"L":  # GNU long name of the next member
                long_name = data.rstrip(b"\0").decode("utf-8", "surrogateescape")
                continue
            name = long_name or _ustar_name(h)
            long_name = None
            if kind in (b"0", b"\0", b"7") and not _META.match(name):
                yield {"fname": name, "data": data, "__url__": url}
        if len(h) % 512:
            raise ValueError(f"{url}: truncated tar: {len(h)} bytes after the last member")


_ZERO_BLOCK = bytes(512)
_META = re.compile(r"__[^/]*__($|/)")  # webdataset's skip_meta


def _ustar_name(h: bytes) -> str:
    name = h[:100].split(b"\0", 1)[0]
    if h[257:262] == b"ustar" and (prefix := h[345:500].split(b"\0", 1)[0]):
        name = prefix + b"/" + name
    return name.decode("utf-8", "surrogateescape")


def _pax_path(data: bytes) -> str | None:
    path, rest = None, data
    while rest:
        length = int(rest.partition(b" ")[0])  # ValueError when not a number
        if length <= 0:
            raise ValueError(f"pax record length {length}")
        record, rest = rest[:length], rest[length:]
        key, _, value = record.partition(b" ")[2].partition(b"=")
        if key == b"path":
            path = value[:-1].decode("utf-8", "surrogateescape")
    return path


def tar_samples(paths) -> Iterator[dict]:
    """The samples of the shards ``paths`` as ``webdataset.tarfile_to_samples`` gives them
    (``{"__key__", "__url__", <extension>: bytes, ...}``: webdataset's ``group_by_keys`` on the
    members of :func:`tar_members`, each shard's end marked so that no sample spans two)."""
    from webdataset.tariterators import group_by_keys  # the "scale" extra, as for writing shards

    return group_by_keys(m for p in paths for m in itertools.chain(tar_members(p), [{}]))


def _read_shard(shard: Path, decode: bool):
    if shard.stat().st_size % 512:
        raise ValueError(f"{shard}: size {shard.stat().st_size} is not a multiple of 512 bytes: truncated tar")
    samples, last = tar_samples([shard]), None
    while True:
        try:
            s = next(samples, None)
        except ValueError as e:  # truncated or damaged: the message names the shard
            raise ValueError(f"{e} (after sample {last})") from None
        except OSError as e:
            raise ValueError(f"{shard}: unreadable tar after sample {last} ({e})") from None
        if s is None:
            return
        key, parts = s["__key__"], sorted(k for k in s if not k.startswith("__"))
        if len(parts) != 2 or "json" not in parts:
            raise ValueError(f"{shard}: sample {key} is incomplete (has {parts})")
        img: bytes | np.ndarray = s[parts[parts[0] == "json"]]  # the part that is not the json
        if decode:
            img = decode_image(img, name=f"{shard}: sample {key}")  # an ImageError is a ValueError naming both
        yield {"key": key, "shard": shard.name, "record": json.loads(s["json"]), "image": img}
        last = key


def read_shards(source, rank: int = 0, world_size: int = 1) -> tuple[np.ndarray, Engagement]:
    """All samples in memory: images uint8 ``(N, H, W, 3)`` (same size required) and their
    :class:`Engagement`, whose ``image_index`` is the row in that array."""
    images: list[np.ndarray] = []
    rows, names = [], {}
    for s in iter_shards(source, True, rank, world_size):
        r = s["record"]
        names.update(dict.fromkeys(r.get("reactions", {})))
        rows.append(
            {
                "post_id": r["post_id"],
                "image_index": len(images),
                "image": r.get("image"),
                "comments": r.get("comments", []),
                "reactions": r.get("reactions", {}),
                "shares": r.get("shares", 0),
                "timestamp": r.get("timestamp", 0),
            }
        )
        images.append(s["image"])
    shapes = {im.shape for im in images}
    if len(shapes) > 1:
        raise ValueError(f"shards hold images of several sizes {sorted(shapes)[:4]}; write them with size=")
    arr = np.stack(images) if images else np.zeros((0, 0, 0, 3), np.uint8)
    return arr, Engagement.from_rows(rows, tuple(names))


def shards_to_npy(source, out_path) -> Path:
    """Stream the shards' images into one uint8 ``(N, H, W, 3)`` ``.npy`` (what
    ``python -m vise_lib.pretrain --images`` memory-maps), in sample order; memory stays one image.

    Needs the folder's ``shards.json`` (for N) and images of one size (write them with ``size=``).
    The sample order is the order of the ingested ``manifest.jsonl``. The array is written
    atomically (:func:`vise_lib.io.atomic_write`: a temp file next to ``out_path``, deleted on
    error; stale ones of dead runs swept first). At paper scale (224 px, ~150 KB a post) stream
    the shards instead (:mod:`vise_lib.pretrain.streaming`).
    """
    idx = Path(source) / "shards.json"
    if not idx.is_file():
        raise FileNotFoundError(f"{idx} is missing: shards_to_npy needs a shard folder written by this library")
    samples = iter_shards(source)
    first = next(samples, None)
    if first is None:
        raise ValueError(f"{source}: no samples")
    shape = first["image"].shape

    def images():
        for s in itertools.chain([first], samples):
            if s["image"].shape != shape:
                raise ValueError(
                    f"{s['shard']}: sample {s['key']} is {s['image'].shape}, not {shape}: "
                    f"write the shards with one image size"
                )
            yield s["image"][None]

    n = read_json(idx)["n_samples"]
    return atomic_write(out_path, lambda f: write_npy_stream(f, np.uint8, (n,) + shape, images()))


def main(argv: list[str] | None = None) -> int:
    """``python -m vise_lib.engagement.shards --shards DIR --to-npy images.npy``."""
    p = argparse.ArgumentParser(prog="vise shards", description="WebDataset shards -> images .npy")
    p.add_argument("--shards", required=True, help="shard folder (with shards.json)")
    p.add_argument("--to-npy", required=True, help="uint8 (N, H, W, 3) .npy to write")
    a = p.parse_args(argv)
    out = shards_to_npy(a.shards, a.to_npy)
    print(f"wrote {out} {np.load(out, mmap_mode='r').shape}")
    return 0


if __name__ == "__main__":
    from vise_lib.tools import tool_main

    sys.exit(tool_main("shards"))

"""WebDataset tar shards: images + engagement JSON per sample, written and read in a stream.

Layout (the `webdataset <https://github.com/webdataset/webdataset>`_ convention, written with
the standard library's ``tarfile`` so that reading needs no extra package): ``out_dir`` holds
``shard-000000.tar``, ``shard-000001.tar``, … and ``shards.json`` (the index: samples per shard,
reaction names, image format, skipped posts). Each sample is two consecutive tar members sharing
a key, the sample's running number ``%09d``::

    000000042.png    the image (PNG, lossless; or .jpg with image_format="jpg")
    000000042.json   the post's manifest record: post_id, image/image_index, comments,
                     reactions, shares, timestamp

Members carry fixed metadata (mtime 0, mode 0644), so the same input gives the same bytes.
Each shard is written to a temporary name and renamed when complete. ``webdataset.WebDataset``
reads these shards as they are (``sample["png"]``, ``sample["json"]``).

Images given as paths are decoded by content with :func:`vise_lib.engagement.images.decode_image` (CMYK,
palette, RGBA, 16-bit and misnamed files are converted to RGB; truncated, zero-byte and missing
files are skipped, counted and listed in the index) and re-encoded, so the shards only hold clean
RGB images.
"""

from __future__ import annotations

import argparse
import glob
import io
import json
import os
import sys
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

from vise_lib.engagement.data_root import DataRoot, ImagePathError
from vise_lib.engagement.table import Engagement
from vise_lib.engagement.images import ImageError, decode_image
from vise_lib.io import write_json

FORMATS = ("png", "jpg")


def encode_image(array: np.ndarray, image_format: str = "png", quality: int = 95) -> bytes:
    """uint8 ``(H, W, 3)`` -> PNG or JPEG bytes."""
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
    """Append samples; a new shard starts every ``shard_size`` samples. Use as a context manager."""

    def __init__(self, out_dir, shard_size: int = 1000, image_format: str = "png"):
        if shard_size < 1:
            raise ValueError(f"shard_size must be >= 1, got {shard_size}")
        if image_format not in FORMATS:
            raise ValueError(f"image_format must be one of {FORMATS}, got {image_format!r}")
        self.out = Path(out_dir)
        self.out.mkdir(parents=True, exist_ok=True)
        self.shard_size, self.image_format = shard_size, image_format
        self.shards: list[dict] = []
        self.n, self._tar, self._tmp = 0, None, None

    def _member(self, name: str, data: bytes) -> None:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode = len(data), 0, 0o644
        self._tar.addfile(info, io.BytesIO(data))

    def add(self, image: np.ndarray, record: dict) -> str:
        """Write one sample (uint8 ``(H, W, 3)`` image, JSON-ready record); returns its key."""
        if self._tar is None:
            name = f"shard-{len(self.shards):06d}.tar"
            self._tmp = self.out / f".{name}.tmp{os.getpid()}"
            self._tar = tarfile.open(self._tmp, "w", format=tarfile.USTAR_FORMAT)
            self.shards.append({"name": name, "n": 0})
        key = f"{self.n:09d}"
        self._member(f"{key}.{self.image_format}", encode_image(image, self.image_format))
        self._member(f"{key}.json", json.dumps(record, ensure_ascii=False).encode("utf-8"))
        self.n += 1
        self.shards[-1]["n"] += 1
        if self.shards[-1]["n"] >= self.shard_size:
            self._close_shard()
        return key

    def _close_shard(self) -> None:
        if self._tar is not None:
            self._tar.close()
            os.replace(self._tmp, self.out / self.shards[-1]["name"])
            self._tar = None

    def close(self, **index) -> Path:
        """Finish the last shard and write ``shards.json`` (``index`` adds fields to it)."""
        self._close_shard()
        return write_json(self.out / "shards.json", {"n_samples": self.n, "shards": self.shards,
                                                     "image_format": self.image_format, **index})

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if exc[0] is not None and self._tar is not None:
            self._tar.close()
            self._tmp.unlink(missing_ok=True)
            self._tar = None


def write_shards(engagement: Engagement, images_or_paths=None, out_dir=".", shard_size: int = 1000,
                 image_format: str = "png", size: int | None = None, data_root=None) -> dict:
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
    if is_array and len(engagement) and (engagement.image_index.min() < 0
                                         or engagement.image_index.max() >= len(images_or_paths)):
        raise ValueError(f"image_index out of range for an image array of {len(images_or_paths)} rows")
    if not is_array and len(images_or_paths) != len(engagement):
        raise ValueError(f"{len(images_or_paths)} image paths for {len(engagement)} posts")
    skipped = []
    with ShardWriter(out_dir, shard_size, image_format) as w:
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
        return _index(w.close(reaction_names=list(engagement.reaction_names), skipped=skipped))


def _index(path: Path) -> dict:
    return json.loads(path.read_text())


def shard_paths(source) -> list[Path]:
    """Shard files of a folder (from its ``shards.json``, else ``*.tar``), a glob pattern or a list."""
    if isinstance(source, (list, tuple)):
        paths = [Path(p) for p in source]
    elif Path(source).is_dir():
        idx = Path(source) / "shards.json"
        paths = ([Path(source) / s["name"] for s in _index(idx)["shards"]] if idx.is_file()
                 else sorted(Path(source).glob("*.tar")))
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
    expected = ({s["name"]: s["n"] for s in _index(idx)["shards"]} if idx is not None and idx.is_file() else {})
    for shard in paths[rank::world_size]:
        n = 0
        for sample in _read_shard(shard, decode):
            n += 1
            yield sample
        if shard.name in expected and n != expected[shard.name]:
            raise ValueError(f"{shard}: {n} samples read, shards.json says {expected[shard.name]} (truncated?)")


def _read_shard(shard: Path, decode: bool):
    key, parts, last = None, {}, None
    if shard.stat().st_size % 512:
        raise ValueError(f"{shard}: size {shard.stat().st_size} is not a multiple of 512 bytes: truncated tar")

    def sample():
        if set(parts) != {"json", "img"}:
            raise ValueError(f"{shard}: sample {key} is incomplete (has {sorted(parts)})")
        img = parts["img"]
        if decode:
            try:
                img = decode_image(img)
            except ImageError as e:
                raise ValueError(f"{shard}: sample {key}: {e.reason}") from None
        return {"key": key, "shard": shard.name, "record": json.loads(parts["json"]), "image": img}

    try:
        with tarfile.open(shard, "r:") as tar:
            for m in tar:
                if not m.isfile():
                    continue
                k, _, ext = m.name.partition(".")
                if k != key and key is not None:
                    yield sample()
                    last, parts = key, {}
                key = k
                parts["json" if ext == "json" else "img"] = tar.extractfile(m).read()
    except (tarfile.TarError, EOFError, OSError) as e:
        raise ValueError(f"{shard}: unreadable or truncated tar after sample {last} ({e})") from None
    if key is not None:
        yield sample()


def read_shards(source, rank: int = 0, world_size: int = 1) -> tuple[np.ndarray, Engagement]:
    """All samples in memory: images uint8 ``(N, H, W, 3)`` (same size required) and their
    :class:`Engagement`, whose ``image_index`` is the row in that array."""
    images, rows, names = [], [], {}
    for s in iter_shards(source, True, rank, world_size):
        r = s["record"]
        names.update(dict.fromkeys(r.get("reactions", {})))
        rows.append({"post_id": r["post_id"], "image_index": len(images), "image": r.get("image"),
                     "comments": r.get("comments", []), "reactions": r.get("reactions", {}),
                     "shares": r.get("shares", 0), "timestamp": r.get("timestamp", 0)})
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
    The sample order is the order of the ingested ``manifest.jsonl``.
    """
    idx = Path(source) / "shards.json"
    if not idx.is_file():
        raise FileNotFoundError(f"{idx} is missing: shards_to_npy needs a shard folder written by this library")
    n, out = _index(idx)["n_samples"], Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp, arr = out.with_name(f".{out.stem}.tmp{os.getpid()}.npy"), None
    for i, s in enumerate(iter_shards(source)):
        if arr is None:
            arr = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(n,) + s["image"].shape)
        if s["image"].shape != arr.shape[1:]:
            raise ValueError(f"{s['shard']}: sample {s['key']} is {s['image'].shape}, not {arr.shape[1:]}: "
                             f"write the shards with one image size")
        arr[i] = s["image"]
    if arr is None:
        raise ValueError(f"{source}: no samples")
    arr.flush()
    del arr
    os.replace(tmp, out)
    return out


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
    from vise_lib.run.cli import tool_main

    sys.exit(tool_main("shards"))

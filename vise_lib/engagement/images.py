"""Decoding image files into uint8 RGB arrays, by content (never by file extension).

Real datasets are messy: a GIF or PNG saved as ``.jpg``, palette images, CMYK JPEGs, RGBA PNGs,
16-bit grayscale scans, truncated downloads, zero-byte files. :func:`decode_image` opens every
file with PIL from its bytes, so the format is sniffed from the content, and turns every mode
into 8-bit RGB with one documented rule per mode:

==========================  =================================================================
mode                        becomes
==========================  =================================================================
``RGB``                     itself
``L``, ``1``, ``YCbCr``…    RGB by PIL's conversion (grey replicated to three channels)
``P`` (palette), ``PA``     RGBA through the palette (transparency kept), then as RGBA
``RGBA``, ``LA``, ``La``…   alpha-composited on a white background
``CMYK``                    RGB by PIL's conversion
``I;16*``, ``I``            16-bit values scaled to 8 bit (``v * 255 / 65535``, clipped)
``F``                       values clipped to ``[0, 1]`` (or ``[0, 255]`` when above 1), scaled
==========================  =================================================================

Animated images (GIF, WebP, APNG) give their first frame; an EXIF orientation tag is applied.
With ``size``, the shorter side is resized to ``size`` (bilinear, antialiased) and the centre
``size × size`` crop is kept. Anything that cannot be decoded raises :class:`ImageError` whose
message names the file and the reason; :func:`load_images` turns those into a counted, listed
skip.

This is the library's one image decoder: ingest, the shards, the pretraining loader
(:mod:`vise_lib.pretrain.streaming`) and the real-data transfer study
(:mod:`vise_lib.transfer.decode`) all call :func:`decode_image`. Files are read with a size bound
(:func:`read_bounded`: regular files of at most :data:`MAX_IMAGE_BYTES` only, so ``/dev/zero`` or a
FIFO is refused before any read), and PIL's decompression-bomb limit is an error. A JPEG decoded
at its own size (``size=None``, what the loader does with shard samples) goes through
``simplejpeg`` (libjpeg-turbo called directly: 3-4x PIL's rate on small images, where PIL's
per-image Python work dominates) when it is a grey or three-component (YCbCr, RGB) JPEG without
an APP1 (EXIF / XMP) segment that could carry an orientation; its pixels are PIL's (tested). Every other image, and
every JPEG ``simplejpeg`` refuses, goes through PIL.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import stat
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from vise_lib.engagement.data_root import MISSING

__all__ = ["MAX_IMAGE_BYTES", "TOO_LARGE", "ImageError", "decode_image", "load_images", "read_bounded"]

MAX_IMAGE_BYTES = 64 * 1024 * 1024  # an image file larger than this is refused, not read
TOO_LARGE = "image file too large"

_ALPHA_MODES = {"RGBA", "LA", "La", "RGBa", "PA"}
_SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N", "I")


class ImageError(ValueError):
    """An image that cannot be decoded; ``str(e)`` is ``"<path>: <reason>"``.

    Attributes:
        path: the file (or ``"<bytes>"`` / the ``name`` given for in-memory input).
        reason: why it failed, without the path.

    It crosses process boundaries intact (pickled with both parts), and a message alone,
    ``ImageError(message)``, is what torch's ``DataLoader`` builds to re-raise a loader worker's
    error: it stays an ``ImageError`` (a ``ValueError``: bad input, exit status 2 in the tools).
    """

    def __init__(self, path, reason: str | None = None):
        if reason is None:  # a message alone (see above)
            path, reason = "", str(path)
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}" if self.path else reason)

    def __reduce__(self):
        return type(self), (self.path, self.reason)


def _to_rgb(img: Image.Image) -> Image.Image:
    """Convert any PIL mode to 8-bit RGB (see the module docstring for the rules)."""
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("P", "PA"):
        img = img.convert("RGBA")  # palette transparency becomes alpha
        mode = "RGBA"
    if mode in _ALPHA_MODES:
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if mode in _SIXTEEN_BIT or mode.startswith("I;16"):
        arr = np.asarray(img).astype(np.float64)
        arr = np.clip(np.rint(arr * (255.0 / 65535.0)), 0, 255).astype(np.uint8)
        return Image.fromarray(arr, mode="L").convert("RGB")
    if mode == "F":
        arr = np.asarray(img).astype(np.float64)
        arr = np.nan_to_num(arr, nan=0.0, posinf=0.0, neginf=0.0)
        scale = 255.0 if arr.size and arr.max() <= 1.0 else 1.0
        arr = np.clip(np.rint(arr * scale), 0, 255).astype(np.uint8)
        return Image.fromarray(arr, mode="L").convert("RGB")
    return img.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV, RGBX ...


def _resize_crop(img: Image.Image, size: int) -> Image.Image:
    """Shorter side to ``size`` (bilinear, antialiased), then the centre ``size × size`` crop."""
    w, h = img.size
    if min(w, h) != size:
        if w <= h:
            nw, nh = size, max(size, int(h * size / w))
        else:
            nw, nh = max(size, int(w * size / h)), size
        img = img.resize((nw, nh), Image.Resampling.BILINEAR)
        w, h = nw, nh
    left, top = round((w - size) / 2.0), round((h - size) / 2.0)
    if (w, h) != (size, size):
        img = img.crop((left, top, left + size, top + size))
    return img


def read_bounded(path, limit: int = MAX_IMAGE_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; :class:`ImageError` otherwise.

    The file is opened without blocking (a FIFO does not hang), checked to be a regular file,
    and read at most ``limit + 1`` bytes, so a device such as ``/dev/zero`` is refused before
    any read and a file that grows while read cannot exceed the bound. Reasons: ``"image file
    missing"`` (also for a folder or another non-regular file, with the detail after a colon),
    ``"image file too large: ..."``, ``"cannot read file (...)"``.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise ImageError(path, MISSING) from None
    except OSError as e:
        raise ImageError(path, f"cannot read file ({e.strerror or e})") from None
    chunks: list[bytes] = []
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise ImageError(path, f"{MISSING}: is a directory, not an image file")
        if not stat.S_ISREG(st.st_mode):
            raise ImageError(path, f"{MISSING}: not a regular file")
        if st.st_size > limit:
            raise ImageError(path, f"{TOO_LARGE}: {st.st_size} bytes > {limit}")
        left = limit + 1
        while left > 0 and (chunk := os.read(fd, left)):
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as e:
        raise ImageError(path, f"cannot read file ({e.strerror or e})") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise ImageError(path, f"{TOO_LARGE}: more than {limit} bytes")
    return data


@functools.cache
def _simplejpeg():
    try:
        import simplejpeg  # the "scale" extra; PIL decodes every JPEG without it
    except ImportError:
        return None
    return simplejpeg


# What a JPEG marker byte (after 0xFF) means to the header walk of _plain_jpeg_frame: 0 a
# segment with a length (skipped), 1 the start of scan (header done), 2 APP1 or a marker that
# does not belong in a header (stop: PIL decides), 3 a fill byte, 4 a marker without a length
# (TEM, RSTn), 5 a start of frame (SOF0-SOF15 but DHT, JPG and DAC).
_MARKER = bytearray(256)
_MARKER[0xDA] = 1
for _m in (0xE1, 0x00, 0xD8, 0xD9):
    _MARKER[_m] = 2
_MARKER[0xFF] = 3
for _m in (0x01, *range(0xD0, 0xD8)):
    _MARKER[_m] = 4
for _m in range(0xC0, 0xD0):
    _MARKER[_m] = 0 if _m in (0xC4, 0xC8, 0xCC) else 5


def _plain_jpeg_frame(data: bytes) -> tuple[int, int, int] | None:
    """``(height, width, components)`` of a JPEG whose header segments, up to its first scan,
    parse and hold no APP1 segment (EXIF or XMP: where PIL finds an orientation tag); ``None``
    otherwise. A walk over the segments, not a search of the file: its cost does not grow with
    the image (8 segments in a PIL-written JPEG)."""
    i, end, frame = 2, len(data) - 9, None
    while i < end and data[i] == 0xFF:
        kind = _MARKER[data[i + 1]]
        if not kind:
            i += 2 + ((data[i + 2] << 8) | data[i + 3])
        elif kind == 5:
            frame = ((data[i + 5] << 8) | data[i + 6], (data[i + 7] << 8) | data[i + 8], data[i + 9])
            i += 2 + ((data[i + 2] << 8) | data[i + 3])
        elif kind == 1:
            return frame
        elif kind == 2:
            return None
        else:
            i += 1 if kind == 3 else 2
    return None  # not the layout we expect: PIL decides


def _fast_jpeg(data: bytes) -> np.ndarray | None:
    """``simplejpeg``'s RGB decoding of a plain JPEG (module docstring), or ``None`` for PIL."""
    sj = _simplejpeg()
    if sj is None or data[:3] != b"\xff\xd8\xff":  # a JPEG's start-of-image marker
        return None
    frame = _plain_jpeg_frame(data)
    if frame is None or frame[2] not in (1, 3):  # an orientation may apply; CMYK: PIL converts it its own way
        return None
    if Image.MAX_IMAGE_PIXELS is not None and frame[0] * frame[1] > Image.MAX_IMAGE_PIXELS:
        return None  # a decompression bomb: PIL names it
    try:
        return sj.decode_jpeg(data, colorspace="RGB")
    except ValueError:  # damaged data (simplejpeg is strict), an unusual colour space: PIL decides
        return None


def decode_image(source, size: int | None = None, *, name: str | None = None) -> np.ndarray:
    """Decode one image by its content into a uint8 ``(H, W, 3)`` RGB array.

    Args:
        source: a path (``str`` / ``os.PathLike``, read by :func:`read_bounded`) or the file's
            ``bytes``.
        size: if given, resize the shorter side to ``size`` and centre-crop to
            ``size × size``; otherwise keep the native resolution.
        name: what error messages call in-memory ``bytes`` (default ``"<bytes>"``), e.g. a
            shard sample ``"<shard>: sample <key>"``.

    Raises:
        ImageError: missing, non-regular, too large, zero-byte, truncated, corrupt or
            unrecognised files (the message is ``"<path>: <reason>"``).
        ValueError: ``size`` is not a positive int, or ``source`` is of an unsupported type.
    """
    if size is not None and (isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1):
        raise ValueError(f"size must be a positive int or None, got {size!r}")
    if isinstance(source, (bytes, bytearray, memoryview)):
        name, data = name or "<bytes>", bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        name, data = os.fspath(source), read_bounded(source)
    else:
        raise ValueError(f"source must be a path or bytes, got {type(source).__name__}")
    if not data:
        raise ImageError(name, "empty (zero-byte) file")
    if size is None and (fast := _fast_jpeg(data)) is not None:
        return fast
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                img.seek(0)  # first frame of animated images
                if size is not None and img.format == "JPEG":
                    img.draft("RGB", (size, size))  # DCT-domain downscale, keeps shorter side >= size
                img.load()
                with contextlib.suppress(Exception):  # a broken EXIF block: keep the pixels as stored
                    img = ImageOps.exif_transpose(img)
                rgb = _to_rgb(img)
                if size is not None:
                    rgb = _resize_crop(rgb, int(size))
                arr = np.asarray(rgb, dtype=np.uint8)
    except Image.UnidentifiedImageError:
        raise ImageError(name, "not a recognised image format") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageError(name, f"too large to decode safely ({e})") from None
    except Exception as e:  # truncated / corrupt data: OSError, SyntaxError, ValueError, EOFError ...
        msg = str(e).splitlines()[0] if str(e) else ""
        raise ImageError(name, f"corrupt or truncated image ({type(e).__name__}: {msg})") from None
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ImageError(name, f"decoded to an unexpected shape {arr.shape}")
    return np.ascontiguousarray(arr)


def load_images(
    paths: Sequence, size: int, root=None, progress: bool = False
) -> tuple[np.ndarray, np.ndarray, list[tuple[str, str]]]:
    """Decode many images at ``size × size``, skipping (and listing) those that fail.

    Args:
        paths: file paths (``str`` / ``os.PathLike``), relative to ``root`` if it is given.
        size: output side (shorter side resized, centre crop), see :func:`decode_image`.
        root: optional folder the paths are relative to.
        progress: print a short progress line to stderr every ~10 % (off in notebooks).

    Returns:
        ``(images, kept, skipped)``: uint8 ``(N_kept, size, size, 3)``; int64 indices into
        ``paths`` of the kept images, in order; ``[(path, reason), ...]`` for every skipped
        file, with ``path`` as given in ``paths``.
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise ValueError(f"size must be a positive int, got {size!r}")
    paths = list(paths)
    base = Path(root) if root is not None else None
    out = np.empty((len(paths), size, size, 3), dtype=np.uint8)
    kept: list[int] = []
    skipped: list[tuple[str, str]] = []
    step = max(1, len(paths) // 10)
    for i, p in enumerate(paths):
        full = base / p if base is not None else p
        try:
            out[len(kept)] = decode_image(full, size)
            kept.append(i)
        except ImageError as e:
            skipped.append((str(p), e.reason))
        if progress and ((i + 1) % step == 0 or i + 1 == len(paths)):
            print(f"decoded {i + 1}/{len(paths)} images ({len(skipped)} skipped)", file=sys.stderr, flush=True)
    images = out[: len(kept)].copy() if len(kept) < len(paths) else out
    return images, np.asarray(kept, dtype=np.int64), skipped

"""Stream the lines of a plain or zstandard-compressed NDJSON file, never loading it whole.

Pushshift dumps (``RS_*.zst``, ``RC_*.zst``) are zstandard frames compressed with a long window
(up to 2 GiB), so the decompressor is created with ``max_window_size=2**31``. Data is read in
64 KiB compressed blocks and split into lines; only one block and one partial line are held.

A truncated file (download cut short) is detected: the last zstandard frame does not end. We
raise :class:`TruncatedStreamError` naming the file, the number of complete lines delivered and
the compressed bytes read; with ``allow_truncated=True`` the complete lines are delivered, the
partial last line is dropped, and ``stream.truncated`` is set so the caller can report the stop
(the Pushshift reader counts it in its report).

A zero-byte ``.zst`` file is an error (a failed download, not an empty dump). A UTF-8
byte-order mark at the start of the file is removed from the first line (``stream.bom`` says so),
and so is every further one right behind it: a file that already held a BOM in its text and was
saved again as UTF-8 "with BOM" (Excel's CSV read as plain UTF-8, then written with
``utf-8-sig``) starts with two, and a second one left in place sticks to the first CSV column's
name (``"\ufeffimage"``: the column is missing from every row) or the first JSON line. This is the
one place the manifest readers (:mod:`vise_lib.engagement.formats`: JSONL, CSV, comments
tables; ``vise ingest``, ``vise labels``) and the Pushshift reader get their lines from.
"""

from __future__ import annotations

from pathlib import Path

BOM = b"\xef\xbb\xbf"
BLOCK = 1 << 20
ZBLOCK = 1 << 16  # compressed block: text compresses 10-30x, so this bounds one output burst
MAX_WINDOW = 1 << 31


class TruncatedStreamError(ValueError):
    """A compressed file ends in the middle of a zstandard frame."""


class LineStream:
    """Iterate the raw ``bytes`` lines (without the newline) of ``path``.

    ``.zst`` files are decompressed on the fly; anything else is read as plain bytes.
    After iteration: ``lines`` (complete lines delivered), ``bytes_read`` (file bytes consumed),
    ``truncated`` (True when ``allow_truncated`` swallowed a truncation) and ``bom`` (True when
    byte-order marks were removed from the first line).
    """

    def __init__(self, path, allow_truncated: bool = False):
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"file not found: {self.path}")
        self.allow_truncated = allow_truncated
        self.compressed = self.path.suffix == ".zst"
        self.lines = 0
        self.bytes_read = 0
        self.truncated = False
        self.bom = False

    def _blocks(self):
        with open(self.path, "rb") as f:
            if not self.compressed:
                while block := f.read(BLOCK):
                    self.bytes_read += len(block)
                    yield block
                return
            import zstandard

            if self.path.stat().st_size == 0:
                raise ValueError(
                    f"{self.path}: empty file (0 bytes), not a zstandard stream; "
                    f"the download probably failed: re-download it"
                )
            dctx = zstandard.ZstdDecompressor(max_window_size=MAX_WINDOW)
            obj, started = dctx.decompressobj(), False
            while block := f.read(ZBLOCK):
                self.bytes_read += len(block)
                while block:
                    try:
                        out = obj.decompress(block)
                    except zstandard.ZstdError as e:
                        raise ValueError(
                            f"{self.path}: not a valid zstandard stream after "
                            f"{self.lines} lines ({self.bytes_read} bytes read): {e}"
                        ) from None
                    started = True
                    if out:
                        yield out
                    if obj.eof:  # frame finished: the rest (if any) starts the next frame
                        block, obj, started = obj.unused_data, dctx.decompressobj(), False
                    else:
                        block = b""
            if started and not obj.eof:
                self._truncated()

    def _truncated(self):
        msg = (
            f"{self.path}: compressed stream ends early (the file is truncated) after "
            f"{self.lines} complete lines, {self.bytes_read} bytes read; re-download it, or "
            f"accept the complete lines with allow_truncated / --allow-truncated"
        )
        if not self.allow_truncated:
            raise TruncatedStreamError(msg)
        self.truncated = True

    def _first(self, line: bytes) -> bytes:
        while line.startswith(BOM):  # one, or several from a re-encoding (module docstring)
            self.bom = True
            line = line[len(BOM) :]
        return line

    def __iter__(self):
        tail = b""
        for block in self._blocks():
            parts = (tail + block).split(b"\n")
            tail = parts.pop()
            for line in parts:
                self.lines += 1
                yield self._first(line) if self.lines == 1 else line
        if tail and not self.truncated:  # a final line without newline is complete in a plain file
            self.lines += 1
            yield self._first(tail) if self.lines == 1 else tail

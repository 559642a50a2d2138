"""A ``comments`` cell of a table (CSV, or a text column in Parquet) -> a list of comment strings.

Three forms are read, whatever tool wrote the table:

* a JSON list of strings, ``["so cute", "lol"]`` (what this project writes);
* a Python list of strings, ``['so cute', "it's lol"]`` (what pandas ``to_csv`` writes for a
  list column): parsed from its syntax tree, accepted only when it is a list whose every item
  is a string literal, so nothing in the cell is ever evaluated;
* plain text, ``so cute``: one comment (what a spreadsheet export has).

An empty cell is no comments. A cell that looks like a list (it starts with ``[`` and ends
with ``]``, or starts with ``["`` or ``['``, as a list cut short does) but is neither list form,
or is a list of something other than strings, raises :class:`CommentCellError` whose message
shows the expected forms; the reader counts it as a ``bad comments`` skip. A cell that is
exactly a Reddit placeholder (``[deleted]``, ``[removed]``) is plain text, which the reader
then drops as a placeholder.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from collections.abc import Callable

EXPECTED = (
    'a comments cell is plain text (one comment), a JSON list of strings ["so cute", "lol"] '
    "or a Python list of strings ['so cute', 'lol']"
)
PLACEHOLDERS = ("[deleted]", "[removed]")
_LIST_START = re.compile(r"\[\s*[\"']")
MAX_PYTHON_LIST_CHARS = 1 << 24  # a Python-list cell is parsed into a syntax tree; beyond this it is a skip


class CommentCellError(ValueError):
    """A comments cell that is none of the readable forms (the message shows them)."""


def looks_like_list(text: str) -> bool:
    """Whether a (stripped) cell is meant as a list: ``[...]`` or a list cut short (``["…``)."""
    if text in PLACEHOLDERS:
        return False
    return (text.startswith("[") and text.endswith("]")) or bool(_LIST_START.match(text))


def python_string_list(text: str) -> list[str]:
    """The strings of a Python list literal of string literals; anything else raises
    :class:`CommentCellError` (the cell is parsed, never evaluated)."""
    if len(text) > MAX_PYTHON_LIST_CHARS:
        raise CommentCellError(f"comments cell of {len(text)} characters is too long to read as a Python list")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise CommentCellError("not a Python list") from None
    node = tree.body
    if not isinstance(node, ast.List):
        raise CommentCellError("not a list")
    out = []
    for item in node.elts:
        if not (isinstance(item, ast.Constant) and isinstance(item.value, str)):
            raise CommentCellError("a list item is not a string")
        out.append(item.value)
    return out


def parse_comments_cell(text: str, notes: Counter, loads_json: Callable[[str, Counter], object]) -> list[str]:
    """The comments of one cell (see the module docstring); ``loads_json(text, notes)`` reads the
    JSON form (the manifest reader's, which repairs lone surrogates and counts them in ``notes``)."""
    cell = text.strip()
    if not cell:
        return []
    if not looks_like_list(cell):
        return [text]
    try:
        value = loads_json(cell, notes)
    except (ValueError, RecursionError):
        try:
            value = python_string_list(cell)
        except CommentCellError as e:
            raise CommentCellError(f"{EXPECTED}; this one is a list that cannot be read ({e}): {cell[:60]!r}") from None
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise CommentCellError(f"{EXPECTED}; this one is a list of something else: {cell[:60]!r}")
    return value

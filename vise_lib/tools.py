"""The real-data and training tools and their one error-exit path (a floor of the library).

Each tool is a module with a ``main(argv)``; ``vise NAME ...`` and ``python -m MODULE`` both run
it through :func:`tool_main`. Bad input raises ``ValueError`` / ``FileNotFoundError`` (or
``RuntimeError`` for a failed stage or book build) and :func:`guard` prints it as one line
``PROG: error: ...`` with exit status 2 (1 for a failed stage); a traceback never reaches the
user for bad input. This module imports nothing of ``vise_lib`` at import time, so any stage's
module can end with ``sys.exit(tool_main(NAME))`` without importing a layer above it.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

# `vise NAME ...` runs MODULE.main([...]) (see the book's "Using your own data").
TOOLS = {
    "train": ("vise_lib.pretrain.cli", "pretrain a backbone on images + labels (also under torchrun)"),
    "pushshift": ("vise_lib.engagement.pushshift", "Reddit RS/RC dumps + local images -> engagement manifest"),
    "ingest": ("vise_lib.engagement.ingest", "validate a manifest and its images; write report and shards"),
    "labels": ("vise_lib.labels.dask_labels", "φ(e) + k-means pseudo labels as Dask tasks (or --single-process)"),
    "shards": ("vise_lib.engagement.shards", "WebDataset shards -> arrays for the pretraining engine"),
}
INPUT_ERRORS = (ValueError, FileNotFoundError, NotADirectoryError, PermissionError)


def guard(prog: str, fn: Callable[[], object]) -> int:
    """Run ``fn``; bad input becomes one ``PROG: error: ...`` line on stderr and exit status 2."""
    try:
        rc = fn()
    except RuntimeError as e:  # a failed stage (StageFailed) or book build
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1
    except INPUT_ERRORS as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    return rc if isinstance(rc, int) else 0


def tool_main(name: str, argv: list[str] | None = None) -> int:
    """``vise NAME argv...`` (also what ``python -m MODULE`` runs)."""
    module = importlib.import_module(TOOLS[name][0])
    return guard(f"vise {name}", lambda: module.main(sys.argv[1:] if argv is None else argv))

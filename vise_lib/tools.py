"""The real-data and training tools and their one error-exit path (a floor of the library).

Each tool is a module with a ``main(argv)``; ``vise NAME ...`` and ``python -m MODULE`` both run
it through :func:`tool_main`. Bad input raises ``ValueError`` / ``FileNotFoundError`` (or
``RuntimeError`` for a failed stage or book build) and :func:`guard` prints it as one line
``PROG: error: ...`` with exit status 2 (1 for a failed stage); a traceback never reaches the
user for bad input. The operating system's refusals take the same exit: a full disk, a
read-only file system, a denied permission (any ``OSError``) is one line naming the path and
what to do, exit status 2; Ctrl-C (``KeyboardInterrupt``) is one line saying the command
resumes when run again, exit status 130. This module imports nothing of ``vise_lib`` at import time, so any stage's
module can end with ``sys.exit(tool_main(NAME))`` without importing a layer above it.
"""

from __future__ import annotations

import errno
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

# what to do about the operating system's refusals (errno -> advice)
OS_ADVICE = {
    errno.ENOSPC: "the disk is full: free space (or use another --out) and run the same command again; "
    "it resumes where it stopped",
    errno.EDQUOT: "the disk quota is used up: free space (or use another --out) and run the same command again",
    errno.EROFS: "the file system is read-only: use a writable --out (or remount it) and run the command again",
    errno.EACCES: "permission denied: make it writable/readable for this user, or use another --out",
    errno.EPERM: "operation not permitted: make it writable/readable for this user, or use another --out",
}
INTERRUPTED = 130  # the shell's status for a command ended by SIGINT


def os_error_line(e: OSError) -> str:
    """One line for an ``OSError``: the path (or paths) it names, what went wrong, what to do."""
    where = " -> ".join(str(f) for f in (e.filename, e.filename2) if f is not None)
    what = e.strerror or str(e)
    advice = OS_ADVICE.get(e.errno or -1, "")
    return f"{where + ': ' if where else ''}{what}" + (f" ({advice})" if advice else "")


def guard(prog: str, fn: Callable[[], object]) -> int:
    """Run ``fn``; bad input becomes one ``PROG: error: ...`` line on stderr and exit status 2
    (1 for a failed stage or book build); an ``OSError`` one line naming its path and what to do
    (:func:`os_error_line`), exit status 2; Ctrl-C one line, exit status 130."""
    try:
        rc = fn()
    except KeyboardInterrupt:
        print(
            f"\n{prog}: interrupted: run the same command again to resume (finished stages are kept, "
            "pretraining continues from its last checkpoint)",
            file=sys.stderr,
        )
        return INTERRUPTED
    except RuntimeError as e:  # a failed stage (StageFailed) or book build
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 1
    except (FileNotFoundError, NotADirectoryError) as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # disk full, read-only, permission denied, ...
        print(f"{prog}: error: {os_error_line(e)}", file=sys.stderr)
        return 2
    except INPUT_ERRORS as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    return rc if isinstance(rc, int) else 0


def tool_main(name: str, argv: list[str] | None = None) -> int:
    """``vise NAME argv...`` (also what ``python -m MODULE`` runs)."""
    module = importlib.import_module(TOOLS[name][0])
    return guard(f"vise {name}", lambda: module.main(sys.argv[1:] if argv is None else argv))

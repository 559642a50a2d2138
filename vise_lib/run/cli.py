"""The ``vise`` command: one entry point, one subcommand per job, one error-exit path.

``vise run`` executes the study (see :mod:`vise_lib.run.pipeline`); the other subcommands are
the real-data and training tools, each a module with a ``main(argv)``. Bad input raises
``ValueError`` / ``FileNotFoundError`` (or ``RuntimeError`` for a failed stage or book build) and
is printed here as one line ``vise NAME: error: ...`` with exit status 2 (1 for a failed
stage); a traceback never reaches the user for bad input.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable

from vise_lib.run.presets import ALL_STAGES, available_presets

# `vise NAME ...` runs MODULE.main([...]) (see the book's "Using your own data").
TOOLS = {
    "train": ("vise_lib.pretrain.cli", "pretrain a backbone on images + labels (also under torchrun)"),
    "pushshift": ("vise_lib.engagement.pushshift", "Reddit RS/RC dumps + local images -> engagement manifest"),
    "ingest": ("vise_lib.engagement.ingest", "validate a manifest and its images; write report and shards"),
    "labels": ("vise_lib.labels.out_of_core", "out-of-core φ(e) + k-means pseudo labels for large manifests"),
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vise", description="VisE companion: run the study and build the book.")
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="execute the stage notebooks with papermill and build the book")
    r.add_argument("--preset", default="default",
                   help=f"preset name ({', '.join(available_presets())}) or a path to a YAML preset")
    r.add_argument("--stage", action="append", choices=[s.name for s in ALL_STAGES],
                   help="run only this stage (repeatable); cached stages are still skipped")
    r.add_argument("--force", action="store_true", help="re-execute stages even when cached")
    r.add_argument("--no-book", action="store_true", help="do not build the book")
    r.add_argument("--strict", action="store_true", help="treat Sphinx warnings as errors")
    for name, (_, text) in TOOLS.items():
        sub.add_parser(name, help=text, add_help=False)
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in TOOLS:
        return tool_main(argv[0], argv[1:])
    args = parser.parse_args(argv)

    from vise_lib.run.pipeline import run

    return guard("vise", lambda: run(args.preset, stages=args.stage, force=args.force,
                                     book=not args.no_book, strict=args.strict) and 0)


if __name__ == "__main__":
    sys.exit(main())

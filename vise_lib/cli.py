"""The ``vise`` command."""

from __future__ import annotations

import argparse
import sys

from .config import STAGES, available_presets


# Real-data tools: `vise NAME ...` forwards to `python -m MODULE ...` (see "Using your own data").
TOOLS = {
    "pushshift": ("vise_lib.pushshift", "Reddit RS/RC dumps + local images -> engagement manifest"),
    "ingest": ("vise_lib.ingest", "validate a manifest and its images; write report and shards"),
    "labels": ("vise_lib.out_of_core", "out-of-core φ(e) + k-means pseudo labels for large manifests"),
    "shards": ("vise_lib.shards", "WebDataset shards -> arrays for the pretraining engine"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vise", description="VisE companion: run the study and build the book.")
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="execute the stage notebooks with papermill and build the book")
    r.add_argument("--preset", default="default",
                   help=f"preset name ({', '.join(available_presets())}) or a path to a YAML preset")
    r.add_argument("--stage", action="append", choices=[s.name for s in STAGES],
                   help="run only this stage (repeatable); cached stages are still skipped")
    r.add_argument("--force", action="store_true", help="re-execute stages even when cached")
    r.add_argument("--no-book", action="store_true", help="do not build the book")
    r.add_argument("--strict", action="store_true", help="treat Sphinx warnings as errors")
    for name, (module, text) in TOOLS.items():
        sub.add_parser(name, help=text, add_help=False)
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in TOOLS:
        import importlib

        return importlib.import_module(TOOLS[argv[0]][0]).main(argv[1:]) or 0
    args = parser.parse_args(argv)

    from .pipeline import StageFailed, run

    try:
        run(args.preset, stages=args.stage, force=args.force, book=not args.no_book, strict=args.strict)
    except (StageFailed, ValueError, RuntimeError) as e:
        print(f"vise: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

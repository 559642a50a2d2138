"""The ``vise`` command: one entry point, one subcommand per job, one error-exit path.

``vise run`` executes the study (see :mod:`vise_lib.run.pipeline`); ``vise evaluate`` runs the
transfer study on local data; the other subcommands are the real-data and training tools of
:mod:`vise_lib.tools`, whose :func:`~vise_lib.tools.guard` turns bad input into one line
``vise NAME: error: ...`` with exit status 2 (1 for a failed stage).
"""

from __future__ import annotations

import argparse
import sys

from vise_lib.run.presets import ALL_STAGES, available_presets
from vise_lib.tools import TOOLS, guard, tool_main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vise", description="VisE companion: run the study and build the book.")
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="execute the stage notebooks with papermill and build the book")
    r.add_argument(
        "--preset", default="default", help=f"preset name ({', '.join(available_presets())}) or a path to a YAML preset"
    )
    r.add_argument(
        "--stage",
        action="append",
        choices=[s.name for s in ALL_STAGES],
        help="run only this stage (repeatable); cached stages are still skipped",
    )
    r.add_argument("--force", action="store_true", help="re-execute stages even when cached")
    r.add_argument("--no-book", action="store_true", help="do not build the book")
    r.add_argument("--strict", action="store_true", help="treat Sphinx warnings as errors")
    r.add_argument(
        "--out",
        metavar="DIR",
        help="write runs/, the executed notebooks and the built book under DIR instead of the checkout",
    )
    add_evaluate_parser(sub)
    for name, (_, text) in TOOLS.items():
        sub.add_parser(name, help=text, add_help=False)
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in TOOLS:
        return tool_main(argv[0], argv[1:])
    args = parser.parse_args(argv)

    if args.command == "evaluate":
        return guard("vise evaluate", lambda: evaluate_command(args))
    from vise_lib.run.pipeline import run

    return guard(
        "vise",
        lambda: (
            run(
                args.preset,
                stages=args.stage,
                force=args.force,
                book=not args.no_book,
                strict=args.strict,
                out_root=args.out,
            )
            and 0
        ),
    )


def add_evaluate_parser(sub) -> None:
    """``vise evaluate``: backbones x datasets on real data (the ``transfer`` preset's stages)."""
    e = sub.add_parser(
        "evaluate",
        help="evaluate backbones on local datasets (linear probe) and build the book",
        description="Backbones x datasets under one linear-probe protocol: writes "
        "DIR/downstream/scores.csv, DIR/summary/claims.json and the book under DIR.",
    )
    e.add_argument(
        "--backbone",
        action="append",
        default=[],
        metavar="NAME=SPEC",
        help="a checkpoint path, torchvision:<arch>/<WEIGHTS> (local torch hub cache only) or "
        "random:<arch>[/<width>[x<blocks>]] (repeatable)",
    )
    e.add_argument(
        "--dataset",
        action="append",
        default=[],
        metavar="NAME=PATH[:FORMAT]",
        help="a local dataset; FORMAT guessed from the folder when omitted (repeatable)",
    )
    e.add_argument(
        "--group",
        action="append",
        default=[],
        metavar="NAME=subjective|object",
        help="state a dataset's summary group, which words its claims (default: the format's; a generic "
        "ImageFolder or CSV has none, and its claims are worded neutrally)",
    )
    e.add_argument(
        "--data-root",
        action="append",
        default=[],
        metavar="[NAME=]DIR",
        help="folder a CSV dataset's image paths are relative to and must stay inside (default: the CSV's "
        "folder); NAME= for one dataset, a plain DIR for every CSV dataset (repeatable)",
    )
    e.add_argument("--out", required=True, metavar="DIR", help="output folder (results, executed notebooks, book)")
    e.add_argument("--image-size", type=int, help="decoded image side (default 224)")
    e.add_argument("--seeds", type=int, nargs="+", help="probe seeds (default 0 1 2)")
    e.add_argument(
        "--preset",
        help="a preset (name or YAML) whose transfer section gives the defaults; "
        "--backbone / --dataset replace its lists",
    )
    e.add_argument("--reference", help="backbone every other one is compared with (default: the ImageNet one)")
    e.add_argument(
        "--allow-download",
        action="store_true",
        help="let torch.hub download torchvision weights missing from the local cache",
    )
    e.add_argument("--force", action="store_true", help="re-execute the stages even when cached")
    e.add_argument("--no-book", action="store_true", help="do not build the book")
    e.add_argument("--strict", action="store_true", help="treat Sphinx warnings as errors")


def evaluate_command(args) -> int:
    """Write a preset for the flags under ``--out``, run its two stages there, print the headline table."""
    from pathlib import Path

    import yaml

    from vise_lib.io import atomic_write_text
    from vise_lib.run.pipeline import run
    from vise_lib.run.presets import TRANSFER, TRANSFER_SUMMARY, load_preset
    from vise_lib.stages.transfer import TransferResult
    from vise_lib.transfer.config import TransferConfig
    from vise_lib.transfer.report import claims_table, headline_table
    from vise_lib.transfer.specs import parse_assignments
    from vise_lib.verdicts.results import read_claims

    out = Path(args.out).resolve()
    section = dict(load_preset(args.preset)["transfer"]) if args.preset else {}
    if args.backbone:
        section["backbones"] = parse_assignments(args.backbone, "--backbone")
    if args.dataset:
        section["datasets"] = parse_assignments(args.dataset, "--dataset")
    groups = parse_assignments(args.group, "--group")
    datasets = TransferConfig.from_params({"datasets": section.get("datasets", {})}).dataset_specs()
    roots = data_roots(args.data_root, datasets)
    unknown = sorted(set(groups) - set(datasets))
    if unknown:
        raise ValueError(f"--group names unknown dataset(s) {unknown}; datasets: {list(datasets)}")
    # paths on the command line are relative to where the user is, not to the notebooks' folder
    section["datasets"] = {
        n: {
            **d,
            "path": str(Path(d["path"]).expanduser().resolve()),
            "group": groups.get(n, d["group"]),
            "data_root": _absolute(roots.get(n, d["data_root"])),
        }
        for n, d in datasets.items()
    }
    section["backbones"] = {n: _absolute_spec(s) for n, s in section.get("backbones", {}).items()}
    for key, value in (("image_size", args.image_size), ("seeds", args.seeds), ("reference", args.reference)):
        if value is not None:
            section[key] = value
    section["allow_download"] = bool(args.allow_download or section.get("allow_download", False))
    section["results_dir"] = str(out)
    if not section.get("backbones") or not section.get("datasets"):
        raise ValueError(
            "name at least one --backbone NAME=SPEC and one --dataset NAME=PATH[:FORMAT] "
            "(or a --preset whose transfer section lists them)"
        )
    TransferConfig.from_params(section)  # every error before any notebook runs
    preset = {
        "description": "vise evaluate: backbones x datasets on local data",
        "stages": [TRANSFER.name, TRANSFER_SUMMARY.name],
        "transfer": section,
        "transfer_summary": {"results_dir": str(out)},
    }
    path = out / "transfer.yml"
    atomic_write_text(path, yaml.safe_dump(preset, sort_keys=False))
    run(str(path), force=args.force, book=not args.no_book, strict=args.strict, out_root=out)
    results = TransferResult.read(out)
    print(headline_table(results.to_json()).to_string())
    claims = claims_table(read_claims(out / "summary" / "claims.json"))
    if not claims.empty:
        print(claims.to_string(index=False))
    print(f"[vise] scores: {out / 'downstream' / 'scores.csv'}\n[vise] claims: {out / 'summary' / 'claims.json'}")
    return 0


def data_roots(items: list[str], datasets: dict) -> dict[str, str]:
    """``--data-root`` values -> ``{dataset: DIR}``: ``NAME=DIR`` for the dataset NAME, a plain
    ``DIR`` for every CSV dataset (a ``.csv`` path or ``:csv`` format)."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if sep and name in datasets:
            out[name] = value
            continue
        if sep and "/" not in name and "\\" not in name:
            raise ValueError(f"--data-root {item!r}: {name!r} is not a dataset; datasets: {list(datasets)}")
        csvs = [n for n, d in datasets.items() if d["format"] == "csv" or str(d["path"]).lower().endswith(".csv")]
        if not csvs:
            raise ValueError(f"--data-root {item!r}: no CSV dataset to apply it to; datasets: {list(datasets)}")
        out.update(dict.fromkeys(csvs, item))
    return out


def _absolute(path: str | None) -> str | None:
    from pathlib import Path

    return None if path is None else str(Path(path).expanduser().resolve())


def _absolute_spec(spec):
    """A backbone spec with its checkpoint path made absolute (relative to where the user is)."""
    from pathlib import Path

    from vise_lib.transfer.specs import SPEC_PREFIXES

    if isinstance(spec, dict):
        return {**spec, "path": str(Path(str(spec["path"])).expanduser().resolve())} if "path" in spec else spec
    return spec if str(spec).startswith(SPEC_PREFIXES) else str(Path(spec).expanduser().resolve())


if __name__ == "__main__":
    sys.exit(main())

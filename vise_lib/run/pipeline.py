"""Run the study: execute the stage notebooks with papermill, then build the book.

Each stage is skipped when its cache key is unchanged. The key hashes the notebook source,
the stage's parameters, the library's source and the key of the stage before it, so changing
one parameter reruns that stage and everything downstream of it, and nothing upstream.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from vise_lib.run import book_pages
from vise_lib.io import atomic_write_text
from vise_lib.run.presets import REPO_ROOT, Stage, load_preset, preset_path, preset_stages, stage_parameters

KERNEL_NAME = "vise-venv"


class StageFailed(RuntimeError):
    """A notebook raised: the message names the notebook and the failing cell."""


@dataclass
class StageResult:
    stage: str
    status: str  # "ran" | "cached" | "failed"
    seconds: float


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def library_hash(root: Path = REPO_ROOT) -> str:
    """Hash of the whole package's source (every subpackage): a code change invalidates every stage."""
    h = hashlib.sha256()
    pkg = root / "vise_lib"
    for p in sorted(pkg.rglob("*.py")):
        h.update(p.relative_to(pkg).as_posix().encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def stage_key(stage: Stage, params: dict, upstream_key: str, lib_hash: str, root: Path = REPO_ROOT) -> str:
    nb = (root / stage.notebook).read_bytes()
    blob = json.dumps(
        {"nb": _sha(nb), "params": params, "up": upstream_key, "lib": lib_hash}, sort_keys=True
    )
    return _sha(blob.encode())


def ensure_kernel(name: str = KERNEL_NAME) -> str:
    """Make sure this interpreter is registered as the jupyter kernel ``name``."""
    from jupyter_client.kernelspec import KernelSpecManager

    if name not in KernelSpecManager().find_kernel_specs():
        from ipykernel.kernelspec import install

        install(kernel_name=name, display_name="VisE companion (.venv)", prefix=sys.prefix)
    return name


def execute_stage(stage: Stage, params: dict, out_nb: Path, root: Path = REPO_ROOT,
                  expected_seconds: float | None = None) -> None:
    """Execute one notebook with papermill (explicit kernel and working directory).

    On a terminal a progress bar counts the executed cells (with the last run's duration as
    the estimate, when there is one); elsewhere (CI logs) it stays silent. The kernel talks to
    papermill over IPC sockets in a private temporary folder, not TCP, and logs only critical
    messages to the terminal (the notebook's own output goes into the notebook).
    """
    import tempfile

    import papermill as pm
    from jupyter_client.manager import KernelManager
    from papermill.exceptions import PapermillExecutionError

    out_nb.parent.mkdir(parents=True, exist_ok=True)
    desc = stage.name + (f" (last run {expected_seconds:.0f} s)" if expected_seconds else "")
    with tempfile.TemporaryDirectory(prefix="vise-kernel-") as ipc:
        km = KernelManager(kernel_name=ensure_kernel(), transport="ipc", ip=str(Path(ipc) / "k"))
        try:
            pm.execute_notebook(
                str(root / stage.notebook),
                str(out_nb),
                parameters=params,
                kernel_name=km.kernel_name,
                km=km,
                extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
                cwd=str(out_nb.parent),
                progress_bar={"desc": desc, "leave": False, "disable": None},
                log_output=False,
            )
        except PapermillExecutionError as e:
            first_line = (e.source or "").strip().splitlines()[:1]
            raise StageFailed(
                f"stage {stage.name} failed in {stage.notebook}, cell {e.cell_index} "
                f"(execution count {e.exec_count}{': ' + first_line[0] if first_line else ''}): "
                f"{e.ename}: {e.evalue}\n  executed notebook with the traceback: {out_nb}"
            ) from None


def book_toc(root: Path, gen: Path) -> str:
    """The root ``_toc.yml`` without the generated pages this preset did not produce."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    have = {p.stem for p in gen.iterdir()} if gen.is_dir() else set()

    def keep(entry: dict) -> bool:
        f = entry.get("file", "")
        return not f.startswith("book/_generated/") or Path(f).name in have

    for part in toc.get("parts", []):
        part["chapters"] = [c for c in part.get("chapters", []) if keep(c)]
    toc["parts"] = [p for p in toc.get("parts", []) if p["chapters"]]
    return yaml.safe_dump(toc, sort_keys=False)


def stage_book_source(preset: str, root: Path = REPO_ROOT, out_root: Path | None = None) -> Path:
    """Lay out the book source of one preset under ``_build/<preset>/src``.

    The repository's ``_config.yml``, ``_toc.yml`` (less the generated pages this preset did
    not produce) and ``book/`` pages are copied (keeping modification times, so Sphinx
    rebuilds only what changed) next to the preset's executed notebooks and generated pages,
    which land in ``book/_generated/``. Every preset thus builds the same book from its own
    notebooks, and presets never overwrite each other.
    """
    out_root = out_root or root
    src = out_root / "_build" / preset / "src"
    gen = out_root / "book" / "_generated" / preset
    wanted: dict[Path, Path] = {src / "_config.yml": root / "_config.yml"}
    for f in (root / "book").rglob("*"):
        rel = f.relative_to(root)
        if f.is_file() and "_generated" not in rel.parts:
            wanted[src / rel] = f
    for nb in [*gen.glob("*.ipynb"), *gen.glob("*.md")]:
        wanted[src / "book" / "_generated" / nb.name] = nb
    for dst, origin in wanted.items():
        dst.parent.mkdir(parents=True, exist_ok=True)
        if not dst.exists() or dst.stat().st_mtime != origin.stat().st_mtime:
            shutil.copy2(origin, dst)
    toc = book_toc(root, gen)
    if not (src / "_toc.yml").exists() or (src / "_toc.yml").read_text() != toc:
        atomic_write_text(src / "_toc.yml", toc)
    wanted[src / "_toc.yml"] = root / "_toc.yml"
    for f in list(src.rglob("*")):
        if f.is_file() and "_build" not in f.relative_to(src).parts and f not in wanted:
            f.unlink()
    return src


def build_book(preset: str, strict: bool = False, root: Path = REPO_ROOT, out_root: Path | None = None) -> Path:
    """Build the jupyter-book (1.x, ``execute_notebooks: off``) for a preset; returns index.html."""
    jb = Path(sys.executable).with_name("jupyter-book")
    exe = [str(jb)] if jb.exists() else [shutil.which("jupyter-book") or "jupyter-book"]
    out = (out_root or root) / "_build" / preset
    cmd = exe + ["build", str(stage_book_source(preset, root, out_root)), "--path-output", str(out)]
    if strict:
        cmd += ["-W", "--keep-going"]
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-40:])
        raise RuntimeError(f"jupyter-book build failed for preset {preset!r}:\n{tail}")
    index = out / "_build" / "html" / "index.html"
    if not index.exists():
        raise RuntimeError(f"jupyter-book reported success but {index} is missing")
    return index


def run(preset: str = "default", stages: list[str] | None = None, force: bool = False,
        book: bool = True, strict: bool = False, root: Path = REPO_ROOT, out_root: Path | None = None,
        echo=print) -> list[StageResult]:
    """Execute the preset's stages in order (skipping cached ones) and build the book.

    ``root`` holds the notebooks, presets and book pages; ``out_root`` (default: ``root``)
    receives ``runs/<preset>/``, ``book/_generated/<preset>/`` and ``_build/<preset>/``.
    """
    cfg = load_preset(preset, root)
    plan = preset_stages(cfg)
    name = preset_path(preset, root).stem
    out_root = Path(out_root or root)
    run_dir = (out_root / "runs" / name).resolve()
    gen_dir = out_root / "book" / "_generated" / name
    state_dir = run_dir / ".pipeline"
    lib = library_hash(root)
    wanted = set(stages or [s.name for s in plan])
    unknown = wanted - {s.name for s in plan}
    if unknown:
        raise ValueError(f"unknown stage(s) {sorted(unknown)}; this preset's stages are {[s.name for s in plan]}")

    results: list[StageResult] = []
    upstream = ""
    for stage in plan:
        params = stage_parameters(cfg, stage, name, run_dir)
        key = stage_key(stage, params, upstream, lib, root)
        upstream = key
        out_nb = gen_dir / f"{stage.name}.ipynb"
        state = state_dir / f"{stage.name}.json"
        cached = (not force and out_nb.exists() and state.exists()
                  and json.loads(state.read_text()).get("key") == key)
        if cached or stage.name not in wanted:
            results.append(StageResult(stage.name, "cached" if cached else "skipped", 0.0))
            continue
        echo(f"[vise] {stage.name}: executing {stage.notebook} -> {out_nb}")
        previous = json.loads(state.read_text()).get("seconds") if state.exists() else None
        state.unlink(missing_ok=True)
        t0 = time.perf_counter()
        try:
            execute_stage(stage, params, out_nb, root, expected_seconds=previous)
        except StageFailed:
            results.append(StageResult(stage.name, "failed", time.perf_counter() - t0))
            echo(timing_table(results))
            raise
        dt = time.perf_counter() - t0
        atomic_write_text(state, json.dumps({"key": key, "seconds": dt, "params": params}, indent=1))
        results.append(StageResult(stage.name, "ran", dt))

    states = {s.name: json.loads((state_dir / f"{s.name}.json").read_text())
              for s in plan if (state_dir / f"{s.name}.json").exists()}
    atomic_write_text(gen_dir / "reproducibility.md", book_pages.reproducibility_page(name, plan, states, results))
    atomic_write_text(gen_dir / "performance.md", book_pages.performance_page(
        name, plan, states, results, book_pages.load_benchmarks(root)))
    if book:
        t0 = time.perf_counter()
        index = build_book(name, strict=strict, root=root, out_root=out_root)
        results.append(StageResult("book", "built", time.perf_counter() - t0))
        echo(timing_table(results))
        echo(f"[vise] book: {index}")
    else:
        echo(timing_table(results))
    atomic_write_text(run_dir / "pipeline.json", json.dumps(
        [r.__dict__ for r in results], indent=1))
    return results


def timing_table(results: list[StageResult]) -> str:
    rows = [f"{'stage':<28} {'status':<8} {'seconds':>8}"]
    rows += [f"{r.stage:<28} {r.status:<8} {r.seconds:>8.1f}" for r in results]
    rows.append(f"{'total':<28} {'':<8} {sum(r.seconds for r in results):>8.1f}")
    return "\n".join(rows)
